//! Input rules checked by generated builders before any network I/O.

use crate::Error;
use serde_json::Value;

/// Longest channel or group name the API accepts, in bytes.
pub const MAX_NAME_BYTES: usize = 2048;
/// Longest user id (uuid) the API accepts, in bytes.
pub const MAX_UUID_BYTES: usize = 92;

/// At least one of the given lists must be non-empty.
pub fn required_one_of(parameters: &[(&'static str, bool)]) -> Result<(), Error> {
    if parameters.iter().any(|(_, present)| *present) {
        return Ok(());
    }
    let names: Vec<&str> = parameters.iter().map(|(name, _)| *name).collect();
    Err(Error::invalid(parameters[0].0, format!("at least one of `{}` must be given", names.join("`, `"))))
}

/// Every name is non-empty and at most `max_bytes` long.
pub fn names(parameter: &'static str, names: &[String], max_bytes: usize) -> Result<(), Error> {
    for name in names {
        text(parameter, name, max_bytes)?;
    }
    Ok(())
}

/// A single text value is non-empty and at most `max_bytes` long.
pub fn text(parameter: &'static str, value: &str, max_bytes: usize) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(parameter, "must not be empty"));
    }
    // URL parsers drop `.` and `..` path segments (even as `%2E`), which would
    // silently send the request to another endpoint.
    if value == "." || value == ".." {
        return Err(Error::invalid(parameter, format!("must not be `{value}` (it cannot travel as a URL path segment)")));
    }
    if value.len() > max_bytes {
        return Err(Error::invalid(parameter, format!("must be at most {max_bytes} bytes, got {}", value.len())));
    }
    Ok(())
}

/// `value` lies in `min..=max`.
pub fn range(parameter: &'static str, value: u64, min: u64, max: u64) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(parameter, format!("must be between {min} and {max}, got {value}")))
    }
}

/// `value` is a JSON object (`{...}`), as the API stores state per user.
pub fn json_object(parameter: &'static str, value: &Value) -> Result<(), Error> {
    if value.is_object() {
        Ok(())
    } else {
        Err(Error::invalid(parameter, format!("must be a JSON object, got {}", kind(value))))
    }
}

/// Each value of the object is itself a JSON object (per-channel state).
pub fn json_object_of_objects(parameter: &'static str, value: &Value) -> Result<(), Error> {
    json_object(parameter, value)?;
    for (key, inner) in value.as_object().into_iter().flatten() {
        if !inner.is_object() {
            return Err(Error::invalid(parameter, format!("entry `{key}` must be a JSON object, got {}", kind(inner))));
        }
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A required parameter was set.
pub fn required<T>(parameter: &'static str, value: Option<T>) -> Result<T, Error> {
    value.ok_or_else(|| Error::invalid(parameter, "is required"))
}

/// `value` is at least `min`.
pub fn at_least(parameter: &'static str, value: u64, min: u64) -> Result<(), Error> {
    if value >= min { Ok(()) } else { Err(Error::invalid(parameter, format!("must be at least {min}, got {value}"))) }
}

/// A value given to a setter serialized to JSON (serialization errors, such
/// as a map with non-string keys, are reported here, before any I/O).
pub fn serialized<'a>(parameter: &'static str, outcome: &'a Result<Value, String>) -> Result<&'a Value, Error> {
    outcome.as_ref().map_err(|err| Error::invalid(parameter, format!("could not be serialized to JSON: {err}")))
}
