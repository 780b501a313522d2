//! `IntoNames`: lets setters take one name or many.

/// Anything a setter accepts as "one or more names": a `&str`, a `String`, an
/// array, a slice or a `Vec` of either.
///
/// ```
/// use pubnub_presence_runtime::IntoNames;
///
/// assert_eq!("a".into_names(), ["a"]);
/// assert_eq!(["a", "b"].into_names(), ["a", "b"]);
/// assert_eq!(vec![String::from("a")].into_names(), ["a"]);
/// assert_eq!((&["a", "b"][..]).into_names(), ["a", "b"]);
/// ```
pub trait IntoNames {
    /// Converts into the list of names, in order.
    fn into_names(self) -> Vec<String>;
}

impl IntoNames for &str {
    fn into_names(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl IntoNames for String {
    fn into_names(self) -> Vec<String> {
        vec![self]
    }
}

impl IntoNames for &String {
    fn into_names(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<S: Into<String>> IntoNames for Vec<S> {
    fn into_names(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<S: Into<String>, const N: usize> IntoNames for [S; N] {
    fn into_names(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<S: AsRef<str>, const N: usize> IntoNames for &[S; N] {
    fn into_names(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_owned()).collect()
    }
}

impl<S: AsRef<str>> IntoNames for &[S] {
    fn into_names(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_owned()).collect()
    }
}

impl<S: AsRef<str>> IntoNames for &Vec<S> {
    fn into_names(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_owned()).collect()
    }
}
