//! Input rules checked by generated builders before any network I/O.

use crate::Error;
use serde_json::Value;

/// Longest channel or group name the API accepts, in bytes.
pub const MAX_NAME_BYTES: usize = 2048;
/// Longest user id (uuid) the API accepts, in bytes.
pub const MAX_UUID_BYTES: usize = 92;
/// Deepest nesting of a state object: `{"a": 1}` is 1 level, `{"a": {"b": 1}}`
/// is 2. Every response that embeds a state within this limit decodes
/// (a decoder stops at 128 levels for the whole body); the local presence
/// server holds the same line.
pub const MAX_STATE_DEPTH: usize = 32;

/// A value that must be present: the value, or the error naming it.
pub fn required<T>(parameter: &'static str, value: Option<T>) -> Result<T, Error> {
    value.ok_or_else(|| Error::invalid(parameter, "is required"))
}

/// At least one of the given lists must be non-empty.
pub fn required_one_of(parameters: &[(&'static str, bool)]) -> Result<(), Error> {
    if parameters.iter().any(|(_, present)| *present) {
        return Ok(());
    }
    let names: Vec<&str> = parameters.iter().map(|(name, _)| *name).collect();
    Err(Error::invalid(parameters[0].0, format!("at least one of `{}` must be given", names.join("`, `"))))
}

/// What a name names, which decides the rules it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameKind {
    /// A channel name in a URL path, where a `,` inside it travels as `%2C`
    /// and the server splits the list on literal `,` only.
    Channel,
    /// A channel name in a comma-separated query list (`add=a,b`): a `,`
    /// inside it would split it in two.
    ListedChannel,
    /// A channel-group name. Never a `,`: groups travel in comma-separated
    /// `channel-group=` lists, where the server splits on `,` and `%2C` alike,
    /// so such a group could be created but never asked about.
    ChannelGroup,
    /// A user id.
    Uuid,
}

impl NameKind {
    /// Longest name of this kind the API accepts, in bytes.
    pub const fn max_bytes(self) -> usize {
        match self {
            NameKind::Channel | NameKind::ListedChannel | NameKind::ChannelGroup => MAX_NAME_BYTES,
            NameKind::Uuid => MAX_UUID_BYTES,
        }
    }

    /// Whether a `,` can travel inside such a name unambiguously.
    pub const fn allows_comma(self) -> bool {
        matches!(self, NameKind::Channel | NameKind::Uuid)
    }
}

/// What a presence channel's name ends in: `lobby-pnpres` carries the
/// presence events of `lobby` (and `g-pnpres` those of group `g`'s channels).
pub const PRESENCE_SUFFIX: &str = "-pnpres";

/// Whether a name may end in [`PRESENCE_SUFFIX`]: the spec's
/// `refuse_presence_names` on a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PresenceNames {
    /// Asking about or watching a name: a presence channel is asked about
    /// like any other (here_now, where_now, get_state, presence events).
    Allowed,
    /// Where presence is made (heartbeat, set_state, leave): the server gives
    /// a presence channel no presence, so such a name would be accepted and
    /// do nothing.
    Refused,
}

/// Where presence is made ([`PresenceNames::Refused`]), no name ends in
/// [`PRESENCE_SUFFIX`]: `room-pnpres` names `room`'s presence channel, on
/// which no one is ever present.
pub fn presence_names(
    parameter: &'static str,
    names: &[String],
    kind: NameKind,
    presence: PresenceNames,
) -> Result<(), Error> {
    if presence == PresenceNames::Allowed {
        return Ok(());
    }
    let Some((value, base)) = names.iter().find_map(|n| n.strip_suffix(PRESENCE_SUFFIX).map(|base| (n, base))) else {
        return Ok(());
    };
    let what = match kind {
        NameKind::ChannelGroup => "the presence channels of a channel group",
        _ => "a presence channel",
    };
    let instead = if base.is_empty() {
        "no one is ever present on it".to_owned()
    } else {
        format!("presence is made on `{base}`")
    };
    Err(Error::invalid(parameter, format!("`{value}` ends in `{PRESENCE_SUFFIX}`, which names {what}: {instead}")))
}

/// Longest request URL the API accepts, in bytes: scheme, host, path and
/// query, common parameters and signature included.
pub const MAX_URL_BYTES: usize = 32 * 1024;

/// A request URL of `total` bytes (scheme, host, path and query) is within
/// [`MAX_URL_BYTES`]. Past it, the error
/// names the largest of `sources` (a builder parameter or config value, and
/// the bytes of the URL it accounts for): the value that made the URL long;
/// `request` when the rest of the URL, which no value accounts for, is larger.
pub fn url_length(total: usize, sources: impl IntoIterator<Item = (&'static str, usize)>) -> Result<(), Error> {
    let max = MAX_URL_BYTES;
    if total <= max {
        return Ok(());
    }
    // The first of equals wins, so the report does not depend on ties' order.
    let mut largest: Option<(&'static str, usize)> = None;
    let mut accounted = 0usize;
    for (parameter, bytes) in sources {
        accounted = accounted.saturating_add(bytes);
        if largest.is_none_or(|(_, most)| bytes > most) {
            largest = Some((parameter, bytes));
        }
    }
    let rest = total.saturating_sub(accounted);
    let advice = "send fewer or shorter names, or smaller state";
    Err(match largest {
        Some((parameter, bytes)) if bytes > 0 && bytes >= rest => Error::invalid(
            parameter,
            format!(
                "the request URL would be {total} bytes, {bytes} of them for this value; the API accepts at most {max} ({advice})"
            ),
        ),
        _ => Error::invalid(
            "request",
            format!("the request URL would be {total} bytes; the API accepts at most {max} ({advice})"),
        ),
    })
}

/// Every name follows the rules of its kind (see [`name`]).
pub fn names(parameter: &'static str, names: &[String], kind: NameKind) -> Result<(), Error> {
    for value in names {
        name(parameter, value, kind)?;
    }
    Ok(())
}

/// A name is non-empty, within its kind's length, and holds a `,` only
/// where its kind can carry one.
pub fn name(parameter: &'static str, value: &str, kind: NameKind) -> Result<(), Error> {
    text(parameter, value, kind.max_bytes())?;
    if !kind.allows_comma() && value.contains(',') {
        let why = match kind {
            NameKind::ChannelGroup => "channel-group names travel in comma-separated lists",
            _ => "names in this list are separated by commas on the wire",
        };
        return Err(Error::invalid(parameter, format!("`{value}` must not contain `,` ({why})")));
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
        return Err(Error::invalid(
            parameter,
            format!("must not be `{value}` (it cannot travel as a URL path segment)"),
        ));
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

/// `value` is a JSON object (`{...}`), as the API stores state per user,
/// nested at most [`MAX_STATE_DEPTH`] levels.
pub fn json_object(parameter: &'static str, value: &Value) -> Result<(), Error> {
    object(parameter, value)?;
    let depth = depth(value);
    if depth > MAX_STATE_DEPTH {
        return Err(Error::invalid(
            parameter,
            format!("is nested {depth} levels deep; state may be nested at most {MAX_STATE_DEPTH}"),
        ));
    }
    Ok(())
}

/// Each value of the object is itself a state: a JSON object within
/// [`MAX_STATE_DEPTH`] (per-channel state).
pub fn json_object_of_objects(parameter: &'static str, value: &Value) -> Result<(), Error> {
    for (key, inner) in object(parameter, value)? {
        json_object(parameter, inner).map_err(|err| match err {
            Error::InvalidInput { parameter, rule } => Error::invalid(parameter, format!("entry `{key}` {rule}")),
            other => other,
        })?;
    }
    Ok(())
}

/// `value` as a JSON object, or the error naming what it is instead.
fn object<'a>(parameter: &'static str, value: &'a Value) -> Result<&'a serde_json::Map<String, Value>, Error> {
    value.as_object().ok_or_else(|| Error::invalid(parameter, format!("must be a JSON object, got {}", kind(value))))
}

/// Levels of arrays and objects: `1` is 0, `{}` is 1, `{"a": [1]}` is 2.
/// Iterative, so no input can exhaust the stack.
fn depth(value: &Value) -> usize {
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

/// `value` is at least `min`.
pub fn at_least(parameter: &'static str, value: u64, min: u64) -> Result<(), Error> {
    if value >= min { Ok(()) } else { Err(Error::invalid(parameter, format!("must be at least {min}, got {value}"))) }
}

/// A value given to a setter serialized to JSON (serialization errors, such
/// as a map with non-string keys, are reported here, before any I/O).
pub fn serialized<'a>(parameter: &'static str, outcome: &'a Result<Value, String>) -> Result<&'a Value, Error> {
    outcome.as_ref().map_err(|err| Error::invalid(parameter, format!("could not be serialized to JSON: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!({"a": [1]})), 2);
        assert_eq!(depth(&json!({"a": 1, "b": {"c": {"d": []}}})), 4);
    }

    #[test]
    fn per_channel_state_names_the_entry_at_fault() {
        let mut deep = json!(1);
        for _ in 0..=MAX_STATE_DEPTH {
            deep = json!({ "d": deep });
        }
        let err = json_object_of_objects("state", &json!({"lobby": {"ok": 1}, "game": deep})).unwrap_err();
        assert!(err.to_string().contains("entry `game` is nested 33 levels deep"), "{err}");
        let err = json_object_of_objects("state", &json!({"lobby": 1})).unwrap_err();
        assert!(err.to_string().contains("entry `lobby` must be a JSON object, got a number"), "{err}");
    }

    #[test]
    fn presence_channel_names_are_refused_only_where_presence_is_made() {
        let names = |list: &[&str]| list.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let room = names(&["lobby", "room-pnpres"]);
        assert!(presence_names("channels", &room, NameKind::Channel, PresenceNames::Allowed).is_ok());
        let err = presence_names("channels", &room, NameKind::Channel, PresenceNames::Refused).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { parameter: "channels", rule }
                if rule == "`room-pnpres` ends in `-pnpres`, which names a presence channel: presence is made on `room`"),
            "{err}"
        );
        let err =
            presence_names("channel_groups", &names(&["-pnpres"]), NameKind::ChannelGroup, PresenceNames::Refused)
                .unwrap_err();
        assert!(err.to_string().contains("no one is ever present"), "{err}");
        // Only the suffix counts: in the middle, or without its dash, it is an ordinary name.
        let ordinary = names(&["a-pnpres-b", "pnpres", "room-pnpre", "room-PNPRES"]);
        assert!(presence_names("channels", &ordinary, NameKind::Channel, PresenceNames::Refused).is_ok());
    }

    #[test]
    fn an_overlong_url_names_its_largest_source() {
        let max = MAX_URL_BYTES;
        assert!(url_length(max, [("channels", max)]).is_ok());
        let err =
            url_length(max + 1, [("subscribe_key", 4), ("channels", 9), ("state", max - 20), ("uuid", 3)]).unwrap_err();
        let Error::InvalidInput { parameter, rule } = &err else { panic!("{err:?}") };
        assert_eq!(*parameter, "state");
        assert_eq!(
            *rule,
            format!(
                "the request URL would be {} bytes, {} of them for this value; the API accepts at most {max} (send fewer or shorter names, or smaller state)",
                max + 1,
                max - 20
            )
        );
        // Ties go to the first; a URL that no value makes long is the request's own.
        assert!(matches!(
            url_length(max + 1, [("a", max / 2), ("b", max / 2)]),
            Err(Error::InvalidInput { parameter: "a", .. })
        ));
        assert!(matches!(url_length(max + 1, [("uuid", 6)]), Err(Error::InvalidInput { parameter: "request", .. })));
        assert!(matches!(url_length(max + 1, []), Err(Error::InvalidInput { parameter: "request", .. })));
    }

    #[test]
    fn commas_only_where_the_wire_carries_them() {
        assert!(name("channels", "a,b", NameKind::Channel).is_ok());
        assert!(name("uuid", "a,b", NameKind::Uuid).is_ok());
        assert!(name("channels", "a,b", NameKind::ListedChannel).is_err());
        let err = name("channel_group", "x,y", NameKind::ChannelGroup).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { parameter: "channel_group", rule } if rule.contains("`,`")),
            "{err}"
        );
    }
}
