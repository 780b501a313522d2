//! `IntoNames`: lets setters take one name or many.

/// Anything a setter accepts as "one or more names": a `&str`, a `String`, an
/// array, a slice or a `Vec` of either.
///
/// A name given twice is kept once, where it first appeared: the request
/// then names exactly the channels (or groups) the answer will describe, so
/// `["lobby", "lobby"]` is asked and answered as one channel.
///
/// ```
/// use pubnub_presence_runtime::IntoNames;
///
/// assert_eq!("a".into_names(), ["a"]);
/// assert_eq!(["a", "b"].into_names(), ["a", "b"]);
/// assert_eq!(["b", "a", "b"].into_names(), ["b", "a"]);
/// assert_eq!(vec![String::from("a")].into_names(), ["a"]);
/// assert_eq!((&["a", "b"][..]).into_names(), ["a", "b"]);
/// ```
pub trait IntoNames {
    /// Converts into the list of distinct names, in first-seen order.
    fn into_names(self) -> Vec<String>;
}

/// Drops repeated names, keeping each where it first appeared.
fn distinct(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names.filter(|name| seen.insert(name.clone())).collect()
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
        distinct(self.into_iter().map(Into::into))
    }
}

impl<S: Into<String>, const N: usize> IntoNames for [S; N] {
    fn into_names(self) -> Vec<String> {
        distinct(self.into_iter().map(Into::into))
    }
}

impl<S: AsRef<str>, const N: usize> IntoNames for &[S; N] {
    fn into_names(self) -> Vec<String> {
        distinct(self.iter().map(|s| s.as_ref().to_owned()))
    }
}

impl<S: AsRef<str>> IntoNames for &[S] {
    fn into_names(self) -> Vec<String> {
        distinct(self.iter().map(|s| s.as_ref().to_owned()))
    }
}

impl<S: AsRef<str>> IntoNames for &Vec<S> {
    fn into_names(self) -> Vec<String> {
        distinct(self.iter().map(|s| s.as_ref().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_keep_first_seen_order_without_repeats() {
        let names: Vec<String> = (0..100).chain(0..100).chain([7, 150, 7]).map(|n| format!("ch{n}")).collect();
        let distinct = names.into_names();
        let expected: Vec<String> = (0..100).chain([150]).map(|n| format!("ch{n}")).collect();
        assert_eq!(distinct, expected);
    }
}
