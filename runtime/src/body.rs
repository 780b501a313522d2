//! Turning an HTTP response into either an [`Error`] or a JSON body that
//! generated decoders read fields from.

use crate::Error;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A successful response body: the raw text and its parsed JSON.
#[derive(Debug, Clone)]
pub struct Body {
    text: String,
    json: Value,
}

impl Body {
    /// Classifies a response. HTTP status ≥ 400 is an [`Error::Api`]; so is a
    /// 2xx whose JSON carries a truthy `error` or a `status` ≥ 400. A 2xx that
    /// is not JSON is an [`Error::Decode`] keeping the body.
    pub fn from_response(http_status: u16, text: String) -> Result<Body, Error> {
        let parsed: Result<Value, _> = serde_json::from_str(&text);
        if !(200..300).contains(&http_status) {
            return Err(api_error(http_status, parsed.ok().as_ref(), text));
        }
        let json = match parsed {
            Ok(json) => json,
            Err(err) => return Err(Error::decode(format!("body is not valid JSON ({err})"), &text)),
        };
        let body_status = json.get("status").and_then(Value::as_u64).unwrap_or(200);
        if body_status >= 400 || json.get("error").is_some_and(is_truthy) {
            let status = u16::try_from(body_status).ok().filter(|s| *s >= 400).unwrap_or(http_status);
            return Err(api_error(status, Some(&json), text));
        }
        Ok(Body { text, json })
    }

    /// The raw body text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Deserializes the value at a dotted `path` (`""` is the whole body).
    /// A missing value is a decode error naming the path.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        match self.lookup(path) {
            Some(value) => self.convert(path, value),
            None => Err(Error::decode(format!("missing field `{path}`"), &self.text)),
        }
    }

    /// Like [`Body::get`], but a missing or `null` value gives `T::default()`.
    pub fn get_or_default<T: DeserializeOwned + Default>(&self, path: &str) -> Result<T, Error> {
        match self.lookup(path) {
            Some(Value::Null) | None => Ok(T::default()),
            Some(value) => self.convert(path, value),
        }
    }

    fn lookup(&self, path: &str) -> Option<&Value> {
        if path.is_empty() {
            return Some(&self.json);
        }
        path.split('.').try_fold(&self.json, |value, key| value.get(key))
    }

    fn convert<T: DeserializeOwned>(&self, path: &str, value: &Value) -> Result<T, Error> {
        T::deserialize(value).map_err(|err| {
            let at = if path.is_empty() { "body".to_owned() } else { format!("`{path}`") };
            Error::decode(format!("{at}: {err}"), &self.text)
        })
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
}
