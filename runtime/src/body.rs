//! Turning an HTTP response into either an [`Error`] or a JSON body that
//! generated decoders read fields from.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

use crate::Error;
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// A successful response body: the raw text and an index of its top-level
/// keys. Values are deserialized straight from the text into the wanted
/// type when asked for, never through an intermediate `serde_json::Value`.
#[derive(Debug, Clone)]
pub struct Body {
    text: String,
    /// Byte ranges of the top-level object's values, by key; `None` when the
    /// body is JSON but not an object.
    top: Option<Vec<Entry>>,
}

/// Keys of a JSON object with the byte ranges of their values.
type Index = Vec<(Key, Range<usize>)>;

/// An object key: where it is in the body, or its text when it had escapes.
#[derive(Debug, Clone)]
enum Key {
    At(Range<usize>),
    Unescaped(String),
}

impl Key {
    fn is(&self, text: &str, wanted: &str) -> bool {
        match self {
            Key::At(range) => &text[range.clone()] == wanted,
            Key::Unescaped(key) => key == wanted,
        }
    }
}

/// One top-level key: where its value is, and (once asked for) the index of
/// that value's own keys, so `payload.a` and `payload.b` scan `payload` once.
#[derive(Debug, Clone)]
struct Entry {
    key: Key,
    range: Range<usize>,
    nested: OnceCell<Option<Index>>,
}

impl Body {
    /// Classifies a response. HTTP status ≥ 400 is an [`Error::Api`]; so is a
    /// 2xx whose JSON carries a truthy `error` or a `status` ≥ 400. A 2xx that
    /// is not JSON is an [`Error::Decode`] keeping the body.
    pub fn from_response(http_status: u16, text: String) -> Result<Body, Error> {
        if !(200..300).contains(&http_status) {
            let parsed: Option<Value> = serde_json::from_str(&text).ok();
            return Err(api_error(http_status, parsed.as_ref(), text));
        }
        let top = match index_object(&text, 0..text.len()) {
            Ok(index) => Some(index.into_iter().map(|(key, range)| Entry { key, range, nested: OnceCell::new() }).collect()),
            // Every Presence body is an object; `null`, `[]` or `"ok"` from a proxy is not an answer.
            Err(_) => match serde_json::from_str::<&RawValue>(&text) {
                Ok(_) => return Err(Error::decode("body is JSON but not an object", &text)),
                Err(err) => return Err(Error::decode(format!("body is not valid JSON ({err})"), &text)),
            },
        };
        let body = Body { text, top };
        let body_status = body.raw("status").and_then(|raw| serde_json::from_str::<u64>(raw).ok()).unwrap_or(200);
        let error_flag = body.raw("error").is_some_and(|raw| match raw {
            "false" | "0" | "null" | "\"\"" | "\"0\"" => false,
            "true" | "1" | "\"1\"" => true,
            other => serde_json::from_str::<Value>(other).is_ok_and(|v| is_truthy(&v)),
        });
        if body_status >= 400 || error_flag {
            let status = u16::try_from(body_status).ok().filter(|s| *s >= 400).unwrap_or(http_status);
            let parsed: Option<Value> = serde_json::from_str(&body.text).ok();
            return Err(api_error(status, parsed.as_ref(), body.text));
        }
        Ok(body)
    }

    /// The raw body text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Deserializes the value at a dotted `path` (`""` is the whole body).
    /// A missing value is a decode error naming the path.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        match self.raw(path) {
            Some(raw) => self.convert(path, raw),
            None => Err(Error::decode(format!("missing field `{path}`"), &self.text)),
        }
    }

    /// Like [`Body::get`], but a missing or `null` value gives `T::default()`.
    pub fn get_or_default<T: DeserializeOwned + Default>(&self, path: &str) -> Result<T, Error> {
        match self.raw(path) {
            Some("null") | None => Ok(T::default()),
            Some(raw) => self.convert(path, raw),
        }
    }

    /// The JSON text of the value at `path`, if present.
    fn raw(&self, path: &str) -> Option<&str> {
        if path.is_empty() {
            return Some(&self.text);
        }
        let mut keys = path.split('.');
        let first = keys.next()?;
        // `rev`: with duplicate keys the last one wins, as in serde_json.
        let entry = self.top.as_ref()?.iter().rev().find(|entry| entry.key.is(&self.text, first))?;
        let Some(second) = keys.next() else { return Some(&self.text[entry.range.clone()]) };
        let nested = entry.nested.get_or_init(|| index_object(&self.text, entry.range.clone()).ok());
        let mut range = nested.as_ref()?.iter().rev().find(|(k, _)| k.is(&self.text, second))?.1.clone();
        for key in keys {
            // Deeper levels (no decoder uses them today) are indexed each time.
            let index = index_object(&self.text, range).ok()?;
            range = index.into_iter().rev().find(|(k, _)| k.is(&self.text, key))?.1;
        }
        Some(&self.text[range])
    }

    fn convert<T: DeserializeOwned>(&self, path: &str, raw: &str) -> Result<T, Error> {
        serde_json::from_str(raw).map_err(|err| {
            let at = if path.is_empty() { "body".to_owned() } else { format!("`{path}`") };
            Error::decode(format!("{at}: {err}"), &self.text)
        })
    }
}

/// Keys of the JSON object in `text[range]` with the byte ranges of their
/// values. Scans without building values (keys are borrowed unless escaped);
/// fails when it is not an object.
fn index_object(text: &str, range: Range<usize>) -> Result<Index, serde_json::Error> {
    let entries: Entries<'_> = serde_json::from_str(&text[range])?;
    let base = text.as_ptr() as usize;
    // Borrowed keys and raw values point into `text`: their offsets locate them.
    let at = |s: &str| {
        let start = s.as_ptr() as usize - base;
        start..start + s.len()
    };
    Ok(entries
        .0
        .into_iter()
        .map(|(key, raw)| {
            let key = match key {
                Cow::Borrowed(k) => Key::At(at(k)),
                Cow::Owned(k) => Key::Unescaped(k),
            };
            (key, at(raw.get()))
        })
        .collect())
}

/// A JSON object's entries in order, keys borrowed where possible.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;

        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(KeyText(key)) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// A map key, borrowed from the input when it has no escapes.
struct KeyText<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyText<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a string key")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, key: &'de str) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Cow::Borrowed(key)))
            }

            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Cow::Owned(key.to_owned())))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Error fields any PubNub body may carry, read by [`parse_envelope`].
pub trait ErrorFields {
    /// The body's `status`, when it is a number.
    fn status(&self) -> Option<u64>;
    /// Whether the body's `error` is truthy (`true`, `1`, `"1"`, …).
    fn error(&self) -> bool;
}

/// A body's `status` field: its value when it is an unsigned number; any
/// other JSON is accepted and ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireStatus(pub Option<u64>);

/// A body's `error` field as a truthiness: any JSON is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireFlag(pub bool);

impl<'de> Deserialize<'de> for WireStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(WireStatus(value.as_u64()))
    }
}

impl<'de> Deserialize<'de> for WireFlag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(WireFlag(is_truthy(&value)))
    }
}

/// Decodes a 2xx body straight into a generated envelope type `E` in one
/// pass. An error status, or error fields in the body, give [`Error::Api`];
/// a body that is not `E` gives the error [`Body::from_response`] finds, or
/// an [`Error::Decode`] with serde's message.
pub fn parse_envelope<E: DeserializeOwned + ErrorFields>(http_status: u16, text: String) -> Result<E, Error> {
    if !(200..300).contains(&http_status) {
        return Err(Body::from_response(http_status, text).err().unwrap_or_else(|| Error::decode("unexpected status", "")));
    }
    // serde's derived structs also accept a JSON array; a Presence body is always an object.
    let is_object = text.trim_start().starts_with('{');
    match serde_json::from_str::<E>(&text) {
        Ok(envelope) if is_object => {
            let body_status = envelope.status().unwrap_or(200);
            if body_status >= 400 || envelope.error() {
                let status = u16::try_from(body_status).ok().filter(|s| *s >= 400).unwrap_or(http_status);
                let parsed: Option<Value> = serde_json::from_str(&text).ok();
                return Err(api_error(status, parsed.as_ref(), text));
            }
            Ok(envelope)
        }
        Ok(_) => Err(Body::from_response(http_status, text).err().unwrap_or_else(|| Error::decode("body is not an object", ""))),
        // The slow path only runs for bodies that are not the expected shape.
        Err(shape_error) => match Body::from_response(http_status, text) {
            Err(err) => Err(err),
            Ok(body) => Err(Error::decode(format!("body does not have the expected shape: {shape_error}"), body.text())),
        },
    }
}

fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty() && s != "0" && s != "false",
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn api_error(status: u16, json: Option<&Value>, text: String) -> Error {
    let str_at = |path: &[&str]| {
        let mut value = json?;
        for key in path {
            value = value.get(key)?;
        }
        value.as_str().map(str::to_owned)
    };
    let message = str_at(&["message"])
        .or_else(|| str_at(&["error", "message"]))
        .or_else(|| str_at(&["error_message"]))
        .or_else(|| str_at(&["error"]))
        .unwrap_or_else(|| excerpt(&text));
    Error::Api { status, message, service: str_at(&["service"]), body: text }
}

/// First line of a non-JSON body (an HTML error page, say), at most 200 chars.
fn excerpt(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "empty response body".to_owned();
    }
    let line = trimmed.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_manager_403_is_an_api_error() {
        let body = "{\"message\":\"Forbidden\",\"payload\":{\"channels\":[\"demo\"]},\"error\":true,\"service\":\"Access Manager\",\"status\":403}\n";
        match Body::from_response(403, body.to_owned()) {
            Err(Error::Api { status: 403, message, service, .. }) => {
                assert_eq!(message, "Forbidden");
                assert_eq!(service.as_deref(), Some("Access Manager"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_inside_a_200_is_an_api_error_with_the_body_status() {
        let body = r#"{"status": 402, "error": 1, "message": "Not enabled", "service": "Presence"}"#;
        let err = Body::from_response(200, body.to_owned()).unwrap_err();
        assert_eq!(err.status(), Some(402));
    }

    #[test]
    fn html_and_truncated_bodies() {
        let err = Body::from_response(502, "<html><body>Bad Gateway</body></html>".to_owned()).unwrap_err();
        assert!(matches!(&err, Error::Api { status: 502, message, service: None, .. } if message.contains("Bad Gateway")));
        assert!(err.is_retryable());
        let err = Body::from_response(200, "{\"status\": 200, \"payl".to_owned()).unwrap_err();
        assert!(matches!(err, Error::Decode { ref body, .. } if body.ends_with("payl")));
    }

    #[test]
    fn paths_and_defaults() {
        let body = Body::from_response(200, r#"{"payload":{"channels":["a"]}}"#.to_owned()).unwrap();
        assert_eq!(body.get::<Vec<String>>("payload.channels").unwrap(), ["a"]);
        assert_eq!(body.get_or_default::<Vec<String>>("payload.nothing").unwrap(), Vec::<String>::new());
        let err = body.get::<u64>("occupancy").unwrap_err();
        assert!(err.to_string().contains("missing field `occupancy`"), "{err}");
    }

    #[test]
    fn escaped_and_duplicate_keys() {
        let body = Body::from_response(200, r#"{"p\u0061yload":{"a":1},"x":1,"x":2,"status":200}"#.to_owned()).unwrap();
        assert_eq!(body.get::<u64>("payload.a").unwrap(), 1);
        assert_eq!(body.get::<u64>("x").unwrap(), 2, "last duplicate wins, as in serde_json::Value");
        for not_an_object in ["[1, 2]", "null", "\"ok\"", "0"] {
            let err = Body::from_response(200, not_an_object.to_owned()).unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{not_an_object}: {err:?}");
        }
        assert!(Body::from_response(200, r#"{"error": "1"}"#.to_owned()).is_err());
        assert!(Body::from_response(200, r#"{"error": false, "status": 200}"#.to_owned()).is_ok());
    }
}
