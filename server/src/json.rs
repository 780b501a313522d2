//! Minimal JSON writer for response bodies.
//!
//! Responses are written by hand (not through `serde_json::to_string`) so that the byte
//! layout is fixed regardless of which `serde_json` features the rest of the workspace turns
//! on: compact, envelope keys in alphabetical order (PubNub's 2025 wire form), and every
//! non-ASCII character escaped as `\uXXXX` like the real service does.

use serde_json::Value;

/// Appends `s` as a JSON string literal (ASCII only; non-ASCII as `\uXXXX` escapes).
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) >= 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    push_u_escape(out, *unit);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_u_escape(out: &mut String, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[usize::from((unit >> shift) & 15)] as char);
    }
}

/// Levels of arrays and objects: `1` is 0, `{}` is 1, `{"a": [1]}` is 2.
/// Iterative, so no input can exhaust the stack.
pub(crate) fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 1usize)];
    while let Some((value, level)) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items.iter().map(|item| (item, level + 1))),
            Value::Object(map) => pending.extend(map.values().map(|item| (item, level + 1))),
            _ => continue,
        }
        deepest = deepest.max(level);
    }
    deepest
}

/// Appends an arbitrary JSON value (object keys in the map's iteration order).
pub(crate) fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Appends `["a","b",…]`.
pub(crate) fn write_str_array<'a>(out: &mut String, items: impl IntoIterator<Item = &'a str>) {
    out.push('[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, s);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_service() {
        let mut out = String::new();
        write_str(&mut out, "a\"\\\nŻÓŁ😀\u{1}");
        assert_eq!(out, r#""a\"\\\n\u017b\u00d3\u0141\ud83d\ude00\u0001""#);
    }

    #[test]
    fn values_round_trip() {
        let v: Value = serde_json::from_str(r#"{"a":[1,2.5,-3,true,null,"x"],"b":{"c":"ü"}}"#).unwrap();
        let mut out = String::new();
        write_value(&mut out, &v);
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
        assert!(out.is_ascii());
    }
}
