//! What a routed request carries ([`Request`]) and what its parameters mean:
//! the acting uuid, the announced presence timeout, per-channel state, here_now
//! paging, channel-group names. Shared by the endpoint handlers
//! (`handlers.rs`) and subscribe (`subscribe.rs`); each helper answers `Err`
//! with the error reply for a bad value.

use std::collections::HashMap;
use std::sync::RwLock;

use serde_json::Value;

use crate::config::MAX_STATE_DEPTH;
use crate::json::depth;
use crate::reply::Reply;
use crate::routing::{Query, decode_path};
use crate::state::ServerState;
use crate::store::{HereNowOpts, Keyspace};

/// Highest accepted here_now `limit`.
const MAX_LIMIT: usize = 1000;

/// A routed, authorised request, as its handler needs it.
pub(crate) struct Request<'a> {
    pub(crate) server: &'a ServerState,
    /// The keyspace of the request's subscribe key.
    pub(crate) keyspace: &'a RwLock<Keyspace>,
    /// The channels named in the path (decoded, deduplicated).
    pub(crate) channels: Vec<String>,
    /// The `channel-group=` list.
    pub(crate) groups: Vec<String>,
    pub(crate) query: Query,
    /// The clock when the request arrived.
    pub(crate) now: u64,
    /// A `reset` fault matched: a subscribe poll that would be held is
    /// held a moment, then answered (and its connection reset).
    pub(crate) reset_when_held: bool,
}

impl Request<'_> {
    /// `Err` (a 400) when the request names neither a channel nor a group.
    pub(crate) fn require_names(&self) -> Result<(), Reply> {
        if self.channels.is_empty() && self.groups.is_empty() {
            return Err(Reply::bad_request("Missing channel or channel group"));
        }
        Ok(())
    }
}

/// A uuid from the path (get/set state, where_now); `Err` when empty.
pub(crate) fn path_uuid(raw: &str) -> Result<String, Reply> {
    let uuid = decode_path(raw);
    if uuid.is_empty() {
        return Err(Reply::bad_request("Missing uuid"));
    }
    Ok(uuid)
}

/// A channel-group name from the path. A `,` is refused: group names travel
/// in comma-separated `channel-group=` lists, where it would split the name.
pub(crate) fn group_name(raw: &str) -> Result<String, Reply> {
    let group = decode_path(raw);
    if group.is_empty() {
        return Err(Reply::registry_error("Channel group missing"));
    }
    if group.contains(',') {
        return Err(Reply::registry_error("Channel group names must not contain ','"));
    }
    Ok(group)
}

/// The acting user (`uuid=`), if the request names one.
pub(crate) fn actor_uuid(query: &Query) -> Option<String> {
    query.get("uuid").filter(|u| !u.is_empty()).map(str::to_owned)
}

/// Parses a `state` parameter that must be a JSON object nested at most
/// `max_depth` levels (per-channel state given on heartbeat is one level more).
pub(crate) fn parse_object(raw: &str, max_depth: usize) -> Result<serde_json::Map<String, Value>, Reply> {
    match serde_json::from_str::<Value>(raw) {
        Ok(value @ Value::Object(_)) if depth(&value) > max_depth => {
            Err(Reply::bad_request(&format!("State is nested too deeply: at most {MAX_STATE_DEPTH} levels")))
        }
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Reply::bad_request("State must be a JSON object")),
        Err(_) => Err(Reply::bad_request("Invalid JSON specified.")),
    }
}

/// The presence timeout the request announces (`heartbeat=`, in seconds),
/// clamped to the configured bounds; `None` when it announces none.
pub(crate) fn announced_timeout(server: &ServerState, query: &Query) -> Result<Option<u64>, Reply> {
    match query.get("heartbeat").map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(secs) => Ok(Some(clamped_timeout(server, secs))),
            Err(_) => Err(Reply::bad_request("Invalid heartbeat value")),
        },
    }
}

/// The configured default presence timeout, clamped like an announced one.
pub(crate) fn default_timeout(server: &ServerState) -> u64 {
    clamped_timeout(server, server.config.presence_timeout.as_secs())
}

/// `secs` within the configured bounds, in milliseconds.
fn clamped_timeout(server: &ServerState, secs: u64) -> u64 {
    let cfg = &server.config;
    let min = cfg.min_presence_timeout.as_secs();
    secs.clamp(min, cfg.max_presence_timeout.as_secs().max(min)).saturating_mul(1000)
}

/// The request's `state` (keyed by channel or group name) per channel: a
/// group's entry applies to each of its channels, a channel's own entry wins.
pub(crate) fn states_by_channel(
    ks: &Keyspace,
    query: &Query,
    channels: &[String],
    groups: &[String],
) -> Result<HashMap<String, Value>, Reply> {
    let per_name = match query.get("state").map(str::trim) {
        // One level more than a state: the entries are states.
        Some(raw) if !raw.is_empty() => parse_object(raw, MAX_STATE_DEPTH + 1)?,
        _ => return Ok(HashMap::new()),
    };
    let mut states: HashMap<String, Value> = HashMap::new();
    for group in groups {
        if let Some(state) = per_name.get(group) {
            for channel in ks.expand(&[], std::slice::from_ref(group)) {
                states.insert(channel, state.clone());
            }
        }
    }
    for channel in channels {
        if let Some(state) = per_name.get(channel) {
            states.insert(channel.clone(), state.clone());
        }
    }
    if states.values().any(|v| !v.is_object()) {
        return Err(Reply::bad_request("State must be a JSON object"));
    }
    Ok(states)
}

pub(crate) fn here_now_opts(query: &Query) -> Result<HereNowOpts, Reply> {
    let limit = match query.get("limit").map(str::trim) {
        None | Some("") => MAX_LIMIT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (0..=MAX_LIMIT as i64).contains(&n) => n as usize,
            _ => {
                return Err(Reply::bad_request("Invalid limit: must be between 0 and 1000"));
            }
        },
    };
    let offset = match query.get("offset").map(str::trim) {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => {
                return Err(Reply::bad_request("Invalid offset: must be a non-negative integer"));
            }
        },
    };
    Ok(HereNowOpts {
        include_uuids: !query.flag(&["disable_uuids", "disable-uuids"]) && limit > 0,
        include_state: query.flag(&["state"]),
        limit,
        offset,
    })
}
