//! Percent-encoding of names, uuids and query values (docs/PROTOCOL.md §3).
//!
//! Each name is encoded on its own and names are joined with a literal `,`,
//! so a `,` *inside* a name travels as `%2C` and the server can split lists.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Bytes left as-is on the wire: RFC 3986 unreserved `A-Z a-z 0-9 - _ . ~`.
const WIRE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Bytes left as-is when signing: `A-Z a-z 0-9 - _ .` (note: `~` is encoded).
const CANONICAL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Encodes one path segment or query value: `a b/c` → `a%20b%2Fc`.
pub fn component(value: &str) -> String {
    utf8_percent_encode(value, WIRE).to_string()
}

/// Encodes a list of names for a path segment: each name encoded, joined with
/// `,`; an empty list is the literal `,` the API expects.
pub fn path_names(names: &[String]) -> String {
    if names.is_empty() { ",".to_owned() } else { query_names(names) }
}

/// Encodes a list of names for a query value: each name encoded, joined with `,`.
pub fn query_names(names: &[String]) -> String {
    let encoded: Vec<String> = names.iter().map(|n| component(n)).collect();
    encoded.join(",")
}

/// The canonical encoding used in the string to sign (docs/PROTOCOL.md §4).
pub fn canonical(value: &str) -> String {
    utf8_percent_encode(value, CANONICAL).to_string()
}

/// Decodes a percent-encoded value (lossy on invalid UTF-8).
pub fn decode(value: &str) -> String {
    percent_decode_str(value).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_one_by_one_and_joined_with_a_literal_comma() {
        let names = vec!["a b".to_owned(), "x,y".to_owned(), "s/l".to_owned(), "é~".to_owned()];
        assert_eq!(path_names(&names), "a%20b,x%2Cy,s%2Fl,%C3%A9~");
        assert_eq!(path_names(&[]), ",");
        assert_eq!(query_names(&[]), "");
    }

    #[test]
    fn canonical_encoding_escapes_tilde_and_uses_uppercase_hex() {
        assert_eq!(canonical("PubNub-JS-Nodejs/such~*,"), "PubNub-JS-Nodejs%2Fsuch%7E%2A%2C");
        assert_eq!(decode("a%20b%2Cc"), "a b,c");
    }
}
