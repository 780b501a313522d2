//! One function per parameter kind of the spec (codegen's `ir::ParamKind`):
//! each checks a builder's value and encodes it for the wire, returning
//! `None` when the parameter is not sent. Generated `build_request` bodies
//! only choose which function a parameter goes through; the rules and the
//! encodings live here, once.
//!
//! A new kind of parameter is a variant in codegen's `ParamKind` (and a
//! `DefaultValue` one if it takes a literal default), one function here, and
//! the places the compiler then points at: the spec type's parsing and
//! default in `ir/params.rs`, the setter and field in `emit/operation.rs`,
//! the binding in `emit/request.rs`, and how a change of it counts in
//! `diff.rs` (measured once: 7 hand-written files, about 120 lines with
//! bounds, diagnostics and docs).

use serde_json::Value;

use crate::Error;
use crate::encoding;
use crate::validate;
pub use crate::validate::{NameKind, PresenceNames};

/// A list of names (`names`, `group_names`): each checked against its kind's
/// rules and, where presence is made (the spec's `refuse_presence_names`),
/// refused when it names a presence channel; then followed by `suffix` (the
/// spec's `suffix`, e.g. `-pnpres`; usually empty) and percent-encoded on its
/// own, joined with a literal `,`. Not sent when the list is empty.
pub fn names(
    parameter: &'static str,
    names: &[String],
    kind: NameKind,
    presence: PresenceNames,
    suffix: &str,
) -> Result<Option<String>, Error> {
    validate::names(parameter, names, kind)?;
    validate::presence_names(parameter, names, kind, presence)?;
    if names.is_empty() {
        return Ok(None);
    }
    if suffix.is_empty() {
        return Ok(Some(encoding::query_names(names)));
    }
    let suffixed: Vec<String> = names.iter().map(|name| format!("{name}{suffix}")).collect();
    Ok(Some(encoding::query_names(&suffixed)))
}

/// One name (`name`, `group_name`, `uuid`), checked and percent-encoded.
pub fn name<'a>(
    parameter: &'static str,
    name: impl Into<Option<&'a str>>,
    kind: NameKind,
) -> Result<Option<String>, Error> {
    let Some(name) = name.into() else { return Ok(None) };
    validate::name(parameter, name, kind)?;
    Ok(Some(encoding::component(name)))
}

/// A `bool` sent as `1` when it equals `send_when` (`flag_if_true`,
/// `flag_if_false`) and left out otherwise.
pub fn flag(value: bool, send_when: bool) -> Option<String> {
    (value == send_when).then(|| "1".to_owned())
}

/// A `u32` within `min..=max`, in decimal.
pub fn integer(
    parameter: &'static str,
    value: impl Into<Option<u32>>,
    min: u32,
    max: u32,
) -> Result<Option<String>, Error> {
    let Some(value) = value.into() else { return Ok(None) };
    if max == u32::MAX {
        validate::at_least(parameter, u64::from(value), u64::from(min))?;
    } else {
        validate::range(parameter, u64::from(value), u64::from(min), u64::from(max))?;
    }
    Ok(Some(value.to_string()))
}

/// A JSON object (`json_object`), or an object whose every value is one
/// (`json_object_of_objects`, state per channel), sent as compact JSON,
/// percent-encoded. The setter kept the serialisation outcome so that its
/// failure is reported here, naming the parameter.
pub fn json_object<'a>(
    parameter: &'static str,
    value: impl Into<Option<&'a Result<Value, String>>>,
    of_objects: bool,
) -> Result<Option<String>, Error> {
    let Some(outcome) = value.into() else { return Ok(None) };
    let value = validate::serialized(parameter, outcome)?;
    if of_objects {
        validate::json_object_of_objects(parameter, value)?;
    } else {
        validate::json_object(parameter, value)?;
    }
    Ok(Some(encoding::component(&value.to_string())))
}

/// A parameter the spec marks `required`, once encoded: still `Some`, so it
/// flows on like any other; an unset value or empty list is the error.
pub fn require(parameter: &'static str, encoded: Option<String>) -> Result<Option<String>, Error> {
    validate::required(parameter, encoded).map(Some)
}

/// An encoded value placed in a path: a list with no names is the literal
/// `,` the API expects (a name in a path is always present: required or
/// defaulted).
pub fn path_segment(encoded: Option<String>) -> String {
    encoded.unwrap_or_else(|| ",".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_encodes_or_leaves_out_its_value() {
        let names = vec!["a b".to_owned(), "c,d".to_owned()];
        let allowed = PresenceNames::Allowed;
        assert_eq!(
            super::names("channels", &names, NameKind::Channel, allowed, "").unwrap().as_deref(),
            Some("a%20b,c%2Cd")
        );
        assert_eq!(
            super::names("channels", &names, NameKind::Channel, allowed, "-pnpres").unwrap().as_deref(),
            Some("a%20b-pnpres,c%2Cd-pnpres")
        );
        assert_eq!(super::names("channels", &[], NameKind::Channel, allowed, "").unwrap(), None);
        assert!(super::names("add", &names, NameKind::ListedChannel, allowed, "").is_err());
        let presence = vec!["room-pnpres".to_owned()];
        assert!(super::names("channels", &presence, NameKind::Channel, allowed, "").is_ok());
        assert!(super::names("channels", &presence, NameKind::Channel, PresenceNames::Refused, "").is_err());
        assert_eq!(name("uuid", "é", NameKind::Uuid).unwrap().as_deref(), Some("%C3%A9"));
        assert_eq!(name("uuid", None, NameKind::Uuid).unwrap(), None);
        assert_eq!(flag(true, true).as_deref(), Some("1"));
        assert_eq!(flag(true, false), None);
        assert_eq!(integer("limit", 7, 0, 10).unwrap().as_deref(), Some("7"));
        assert_eq!(integer("offset", None, 0, u32::MAX).unwrap(), None);
        let error = integer("limit", 11, 0, 10).unwrap_err();
        assert!(error.to_string().contains("limit"), "{error}");
        let state = Ok(json!({"mood": "a b"}));
        assert_eq!(json_object("state", &state, false).unwrap().as_deref(), Some("%7B%22mood%22%3A%22a%20b%22%7D"));
        assert!(json_object("state", &state, true).is_err(), "a string is not a per-channel object");
        assert_eq!(path_segment(None), ",");
        assert!(validate::required::<&str>("uuid", None).unwrap_err().to_string().contains("uuid"));
    }
}
