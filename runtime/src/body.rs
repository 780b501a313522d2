//! Turning an HTTP response into either an [`Error`] or a result.
//!
//! Operations with a result decode through [`parse_envelope`]: one typed
//! serde pass from body bytes to the envelope the generator emitted for the
//! shape. Operations without one check the answer with [`acknowledgement`].

use crate::Error;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

/// Checks an answer that carries no result (heartbeat, leave, channel-group
/// changes): `Ok` for a 2xx JSON object that reports no error. HTTP status
/// ≥ 400 is an [`Error::Api`]; so is a 2xx whose JSON carries a truthy
/// `error` or a `status` ≥ 400. A 2xx that is not a JSON object is an
/// [`Error::Decode`] keeping the body.
pub fn acknowledgement(http_status: u16, body: &[u8]) -> Result<(), Error> {
    classify(http_status, body).map(drop)
}

/// Like [`acknowledgement`]; on success returns the body as text.
fn classify(http_status: u16, body: &[u8]) -> Result<String, Error> {
    if !(200..300).contains(&http_status) {
        return Err(error_response(http_status, body));
    }
    // Parsed from the lossy text: a stray invalid byte in, say, a message
    // must not hide that the body reports an error.
    let text = text_of(body);
    let json: Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(err) => return Err(Error::decode(format!("body is not valid JSON ({err})"), &text)),
    };
    // Every Presence body is an object; `null`, `[]` or `"ok"` from a proxy is not an answer.
    if !json.is_object() {
        return Err(Error::decode("body is JSON but not an object", &text));
    }
    let body_status = json.get("status").and_then(status_number);
    let error_flag = json.get("error").is_some_and(is_truthy);
    if let Some(status) = reported_error(http_status, body_status, error_flag) {
        return Err(api_error(status, Some(&json), text));
    }
    Ok(text)
}

/// The error a non-2xx response amounts to (its body may be JSON, HTML or empty).
pub fn error_response(http_status: u16, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    api_error(http_status, parsed.as_ref(), text_of(body))
}

/// The body as text for errors and logs; invalid UTF-8 becomes U+FFFD.
fn text_of(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// The status to report when a 2xx body says it is an error: its own
/// `status` when that is ≥ 400, else the HTTP status. `None` for a success.
fn reported_error(http_status: u16, body_status: Option<u64>, error_flag: bool) -> Option<u16> {
    let body_status = body_status.unwrap_or(200);
    (body_status >= 400 || error_flag)
        .then(|| u16::try_from(body_status).ok().filter(|s| *s >= 400).unwrap_or(http_status))
}

/// Error fields any PubNub body may carry, read by [`parse_envelope`].
pub trait ErrorFields {
    /// The body's `status`, when it is a number.
    fn status(&self) -> Option<u64>;
    /// Whether the body's `error` is truthy (`true`, `1`, `"1"`, …).
    fn error(&self) -> bool;
}

/// A body's `status` field: its value when it is an unsigned number or a
/// string of digits (`"403"`); any other JSON is accepted and ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireStatus(pub Option<u64>);

/// A body's `error` field as a truthiness: any JSON is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireFlag(pub bool);

impl<'de> Deserialize<'de> for WireStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(WireStatus(status_number(&value)))
    }
}

impl<'de> Deserialize<'de> for WireFlag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(WireFlag(is_truthy(&value)))
    }
}

/// Decodes a 2xx body straight from its bytes into a generated envelope
/// type `E`: one UTF-8 check of the whole body, then one serde pass with no
/// intermediate `Value`. An error status, or error fields in the body, give
/// [`Error::Api`]; a body that is not `E` gives the error
/// [`acknowledgement`] finds, or an [`Error::Decode`] with serde's message.
pub fn parse_envelope<E: DeserializeOwned + ErrorFields>(http_status: u16, body: &[u8]) -> Result<E, Error> {
    if !(200..300).contains(&http_status) {
        return Err(error_response(http_status, body));
    }
    LAST_LIST_LEN.set(0);
    // serde's derived structs also accept a JSON array; a Presence body is always an object.
    let is_object = body.trim_ascii_start().starts_with(b"{");
    // One UTF-8 check of the whole body (fast on ASCII) lets serde skip the
    // per-string check `from_slice` would make: a quarter of the decode time
    // for a list of short user ids. Invalid UTF-8 goes the checking way.
    let parsed = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str::<E>(text),
        Err(_) => serde_json::from_slice::<E>(body),
    };
    match parsed {
        Ok(envelope) if is_object => match reported_error(http_status, envelope.status(), envelope.error()) {
            Some(status) => Err(error_response(status, body)),
            None => Ok(envelope),
        },
        // Not the expected shape: the slow path says whether it is an error
        // body, not JSON, not an object, or JSON of another shape.
        Ok(_) => Err(classify(http_status, body).err().unwrap_or_else(|| Error::decode("body is not an object", ""))),
        Err(shape_error) => match classify(http_status, body) {
            Err(err) => Err(err),
            Ok(text) => Err(Error::decode(format!("body does not have the expected shape: {shape_error}"), &text)),
        },
    }
}

thread_local! {
    /// Length of the last [`HintedVec`] decoded on this thread, reset by
    /// [`parse_envelope`] so that hints never cross responses.
    static LAST_LIST_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Most items a [`HintedVec`] reserves up front.
const MAX_LIST_HINT: usize = 4096;

/// A decoded JSON array of result items that reserves room for as many items
/// as the previous such list in the same body had.
///
/// JSON gives no length up front, so a plain `Vec` grows by doubling and
/// copies its (56-byte) items about once more; in a here_now body the
/// channels' occupant lists tend to have similar lengths. Over-reserved room
/// is given back, so the result holds no more than twice its items.
#[derive(Debug, Clone, PartialEq)]
pub struct HintedVec<T>(pub Vec<T>);

impl<T> Default for HintedVec<T> {
    fn default() -> Self {
        HintedVec(Vec::new())
    }
}

impl<T> IntoIterator for HintedVec<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for HintedVec<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T>(std::marker::PhantomData<fn() -> T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for SeqVisitor<T> {
            type Value = HintedVec<T>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let hint = LAST_LIST_LEN.get().min(MAX_LIST_HINT);
                let mut items = Vec::with_capacity(hint);
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                LAST_LIST_LEN.set(items.len());
                // Give back room the hint over-reserved (plain growth never
                // leaves more than twice the items).
                if hint > 2 * items.len() {
                    items.shrink_to_fit();
                }
                Ok(HintedVec(items))
            }
        }
        deserializer.deserialize_seq(SeqVisitor(std::marker::PhantomData))
    }
}

/// A `status` as a number: `403` or `"403"` (some services quote it).
fn status_number(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        other => other.as_u64(),
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
        match classify(403, body.as_bytes()) {
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
        let err = classify(200, body.as_bytes()).unwrap_err();
        assert_eq!(err.status(), Some(402));
    }

    #[test]
    fn html_and_truncated_bodies() {
        let err = classify(502, "<html><body>Bad Gateway</body></html>".as_bytes()).unwrap_err();
        assert!(
            matches!(&err, Error::Api { status: 502, message, service: None, .. } if message.contains("Bad Gateway"))
        );
        assert!(err.is_retryable());
        let err = classify(200, "{\"status\": 200, \"payl".as_bytes()).unwrap_err();
        assert!(matches!(err, Error::Decode { ref body, .. } if body.ends_with("payl")));
    }

    /// A hand-written envelope, as the generator would emit one.
    #[derive(Debug)]
    struct Named {
        status: WireStatus,
        name: String,
    }

    impl<'de> Deserialize<'de> for Named {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let value = Value::deserialize(deserializer)?;
            let name =
                value.get("name").and_then(Value::as_str).ok_or_else(|| serde::de::Error::missing_field("name"))?;
            Ok(Named { status: WireStatus(value.get("status").and_then(Value::as_u64)), name: name.to_owned() })
        }
    }

    impl ErrorFields for Named {
        fn status(&self) -> Option<u64> {
            self.status.0
        }
        fn error(&self) -> bool {
            false
        }
    }

    #[test]
    fn envelopes_decode_from_bytes_utf8_or_not() {
        let named: Named = parse_envelope(200, "{\"name\": \"zoë\"}".as_bytes()).unwrap();
        assert_eq!(named.name, "zoë");
        let err = parse_envelope::<Named>(200, b"{\"name\": \"\xff\"}").unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        let err = parse_envelope::<Named>(200, b"{\"name\": \"x\", \"status\": 403, \"note\": \"\xff\"}").unwrap_err();
        assert!(matches!(err, Error::Api { status: 403, .. }), "{err:?}");
    }

    #[test]
    fn hinted_lists_keep_every_item_and_little_spare_room() {
        let long: Vec<u32> = (0..100).collect();
        let json = format!("[{}, [1], [], [1, 2, 3]]", serde_json::to_string(&long).unwrap());
        let lists: Vec<HintedVec<u32>> = serde_json::from_str(&json).unwrap();
        let lens: Vec<usize> = lists.iter().map(|list| list.0.len()).collect();
        assert_eq!(lens, [100, 1, 0, 3]);
        assert_eq!(lists[0].0, long);
        assert_eq!(lists[3].0, [1, 2, 3]);
        for list in &lists {
            assert!(
                list.0.capacity() <= 2 * list.0.len().max(4),
                "{} items, room for {}",
                list.0.len(),
                list.0.capacity()
            );
        }
        let err = serde_json::from_str::<HintedVec<u32>>("{}").unwrap_err();
        assert!(err.to_string().contains("a JSON array"), "{err}");
    }

    #[test]
    fn acknowledgements_are_json_objects_without_error_fields() {
        assert!(acknowledgement(200, r#"{"status": 200, "message": "OK", "service": "Presence"}"#.as_bytes()).is_ok());
        for not_an_object in ["[1, 2]", "null", "\"ok\"", "0"] {
            let err = acknowledgement(200, not_an_object.as_bytes()).unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{not_an_object}: {err:?}");
        }
        assert!(acknowledgement(200, r#"{"error": "1"}"#.as_bytes()).is_err());
        assert!(acknowledgement(200, r#"{"error": false, "status": 200}"#.as_bytes()).is_ok());
        // Escaped keys and duplicates are read as serde_json::Value reads them (last one wins).
        assert!(acknowledgement(200, r#"{"st\u0061tus": 200, "status": 403}"#.as_bytes()).is_err());
        assert!(acknowledgement(200, r#"{"status": 403, "status": 200}"#.as_bytes()).is_ok());
    }
}
