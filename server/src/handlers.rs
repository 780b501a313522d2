//! What each endpoint does: check the request, change or read the keyspace,
//! answer (PROTOCOL.md §1, §2, §8; subscribe is in `subscribe.rs`).
//! Handlers return `Result<Reply, Reply>` so that `?` ends a request with its
//! error reply.

use std::collections::HashMap;

use http::{Method, StatusCode};
use serde_json::Value;

use crate::Inner;
use crate::bodies::{here_now_multi_body, here_now_single_body, write_state};
use crate::json::{write_str, write_str_array, write_value};
use crate::reply::{Reply, registry_ok};
use crate::routing::{Query, Route, decode_path, route, split_list, split_path_names};
use crate::signature::{self, SignedRequest};
use crate::store::{ChannelOccupancy, HereNowOpts, Keyspace, Timeout};

/// Longest accepted request target (path + query), in bytes.
pub(crate) const MAX_URI_LEN: usize = 32 * 1024;

/// Highest accepted here_now `limit`.
const MAX_LIMIT: usize = 1000;

/// Handles one request. Never panics on bad input; every failure becomes a PubNub-shaped reply.
pub(crate) async fn handle(inner: &Inner, method: &Method, path: &str, raw_query: &str) -> Reply {
    if path.len() + raw_query.len() + 1 > MAX_URI_LEN {
        return Reply::bad_request("Request URI Too Long");
    }
    if matches!(path, "/time/0" | "/time/0/") {
        // `[<timetoken>]`: SDKs probe it before reconnecting (PROTOCOL.md §9.3).
        let now = inner.store.shared.timetokens.cursor(inner.clock.now_millis());
        return Reply::ok(format!("[{now}]"));
    }
    let Some(route) = route(path) else {
        return Reply::error(StatusCode::NOT_FOUND, "Presence", "Not Found");
    };
    if method != Method::GET && method != Method::HEAD {
        return Reply::error(StatusCode::METHOD_NOT_ALLOWED, "Presence", "Method Not Allowed");
    }
    let sub = decode_path(route.sub_key());
    if sub.is_empty() {
        return Reply::bad_request("Missing subscribe key");
    }
    let query = Query::parse(raw_query);
    let channels = route.channel_segment().map(split_path_names).unwrap_or_default();
    let groups = query.list("channel-group");
    let now = inner.clock.now_millis();

    if let Some(secret) = inner.config.secret_key.as_deref() {
        let req =
            SignedRequest { method: method.as_str(), raw_path: path, raw_query: &query.raw, sub_key: &sub, body: "" };
        let tolerance = inner.config.signature_tolerance.as_secs();
        if let Err(e) = signature::verify(secret, &inner.config.publish_key, &req, now / 1000, tolerance) {
            tracing::debug!(reason = ?e, "signature rejected");
            return Reply::forbidden(&channels, &groups);
        }
    }

    let ks_lock = inner.store.keyspace(&sub);
    let changes_presence = route.changes_presence_when_answered();
    let reply = respond(inner, route, &ks_lock, channels, groups, &query, now).await;
    if changes_presence {
        // The write may have added a presence deadline sooner than the reaper's.
        inner.schedule(read(&ks_lock).next_deadline());
    }
    reply.unwrap_or_else(|error| error)
}

/// The answer of a routed, authorised request (`Err` for an error reply).
async fn respond(
    inner: &Inner,
    route: Route<'_>,
    ks_lock: &std::sync::RwLock<Keyspace>,
    channels: Vec<String>,
    groups: Vec<String>,
    query: &Query,
    now: u64,
) -> Result<Reply, Reply> {
    let reply = match route {
        Route::Subscribe { .. } => {
            let sub = crate::subscribe::Subscription { channels, groups, query };
            return crate::subscribe::subscribe(inner, sub, ks_lock).await;
        }
        Route::HereNowGlobal { .. } => {
            let opts = match here_now_opts(query) {
                Ok(o) => o,
                Err(r) => return Err(r),
            };
            let ks = read(ks_lock);
            let result = ks.here_now_global(opts, now);
            drop(ks);
            Reply::ok(here_now_multi_body(&result, opts))
        }
        Route::HereNow { .. } => {
            let opts = match here_now_opts(query) {
                Ok(o) => o,
                Err(r) => return Err(r),
            };
            let ks = read(ks_lock);
            if channels.len() == 1 && groups.is_empty() {
                let result = ks.here_now(&channels, opts, now);
                drop(ks);
                Reply::ok(here_now_single_body(&result[0], opts))
            } else {
                let all = ks.expand(&channels, &groups);
                let result = ks.here_now(&all, opts, now);
                drop(ks);
                let occupied: Vec<ChannelOccupancy> = result.into_iter().filter(|c| c.occupancy > 0).collect();
                Reply::ok(here_now_multi_body(&occupied, opts))
            }
        }
        Route::Heartbeat { .. } => {
            let Some(uuid) = actor_uuid(query) else {
                return Err(Reply::bad_request("Missing uuid"));
            };
            if channels.is_empty() && groups.is_empty() {
                return Err(Reply::bad_request("Missing channel or channel group"));
            }
            // A heartbeat without `heartbeat=` announces the default timeout.
            let timeout_ms = announced_timeout(inner, query)?.unwrap_or_else(|| default_timeout(inner));
            let mut ks = write(ks_lock);
            let states = states_by_channel(&ks, query, &channels, &groups)?;
            let all = ks.expand(&channels, &groups);
            ks.heartbeat(&uuid, &all, Timeout::Given(timeout_ms), &states, now);
            drop(ks);
            Reply::ok(r#"{"message":"OK","service":"Presence","status":200}"#.to_owned())
        }
        Route::Leave { .. } => {
            let Some(uuid) = actor_uuid(query) else {
                return Err(Reply::bad_request("Missing uuid"));
            };
            if channels.is_empty() && groups.is_empty() {
                return Err(Reply::bad_request("Missing channel or channel group"));
            }
            let mut ks = write(ks_lock);
            let all = ks.expand(&channels, &groups);
            ks.leave(&uuid, &all, now);
            drop(ks);
            Reply::ok(r#"{"action":"leave","message":"OK","service":"Presence","status":200}"#.to_owned())
        }
        Route::SetState { uuid, .. } => {
            let uuid = decode_path(uuid);
            if uuid.is_empty() {
                return Err(Reply::bad_request("Missing uuid"));
            }
            if channels.is_empty() && groups.is_empty() {
                return Err(Reply::bad_request("Missing channel or channel group"));
            }
            let state = match query.get("state") {
                None => return Err(Reply::bad_request("No state specified.")),
                Some(raw) => match parse_object(raw, crate::MAX_STATE_DEPTH) {
                    Ok(map) => Value::Object(map),
                    Err(r) => return Err(r),
                },
            };
            let ttl = inner.config.presence_timeout.as_millis();
            let ttl = u64::try_from(ttl).unwrap_or(u64::MAX);
            let mut ks = write(ks_lock);
            let all = ks.expand(&channels, &groups);
            ks.set_state(&uuid, &all, &state, ttl, now);
            drop(ks);
            let mut body = String::from("{\"message\":\"OK\",\"payload\":");
            write_value(&mut body, &state);
            body.push_str(",\"service\":\"Presence\",\"status\":200}");
            Reply::ok(body)
        }
        Route::GetState { uuid, .. } => {
            let uuid = decode_path(uuid);
            if uuid.is_empty() {
                return Err(Reply::bad_request("Missing uuid"));
            }
            let ks = read(ks_lock);
            let single = channels.len() == 1 && groups.is_empty();
            let all = ks.expand(&channels, &groups);
            let states = ks.get_state(&uuid, &all, now);
            drop(ks);
            let mut body = String::new();
            if single {
                body.push_str("{\"channel\":");
                write_str(&mut body, &states[0].0);
                body.push_str(",\"message\":\"OK\",\"payload\":");
                write_state(&mut body, states[0].1.as_deref());
            } else {
                body.push_str("{\"message\":\"OK\",\"payload\":{\"channels\":{");
                for (i, (ch, st)) in states.iter().enumerate() {
                    if i > 0 {
                        body.push(',');
                    }
                    write_str(&mut body, ch);
                    body.push(':');
                    write_state(&mut body, st.as_deref());
                }
                body.push_str("}}");
            }
            body.push_str(",\"service\":\"Presence\",\"status\":200,\"uuid\":");
            write_str(&mut body, &uuid);
            body.push('}');
            Reply::ok(body)
        }
        Route::WhereNow { uuid, .. } => {
            let uuid = decode_path(uuid);
            if uuid.is_empty() {
                return Err(Reply::bad_request("Missing uuid"));
            }
            let chans = read(ks_lock).where_now(&uuid, now);
            let mut body = String::from("{\"message\":\"OK\",\"payload\":{\"channels\":");
            write_str_array(&mut body, chans.iter().map(String::as_str));
            body.push_str("},\"service\":\"Presence\",\"status\":200}");
            Reply::ok(body)
        }
        Route::GroupListAll { .. } => {
            let names = read(ks_lock).group_names();
            let mut body = String::from("{\"error\":false,\"payload\":{\"groups\":");
            write_str_array(&mut body, names.iter().map(String::as_str));
            body.push_str("},\"service\":\"channel-registry\",\"status\":200}");
            Reply::ok(body)
        }
        Route::Group { group, .. } => {
            let group = match group_name(group) {
                Ok(group) => group,
                Err(reply) => return Err(reply),
            };
            let add = query.get("add");
            let remove = query.get("remove");
            if add.is_none() && remove.is_none() {
                let chans = read(ks_lock).group_list(&group);
                let mut body = String::from("{\"error\":false,\"payload\":{\"channels\":");
                write_str_array(&mut body, chans.iter().map(String::as_str));
                body.push_str(",\"group\":");
                write_str(&mut body, &group);
                body.push_str("},\"service\":\"channel-registry\",\"status\":200}");
                return Ok(Reply::ok(body));
            }
            let add = add.map(split_list).unwrap_or_default();
            let remove = remove.map(split_list).unwrap_or_default();
            if add.is_empty() && remove.is_empty() {
                return Err(Reply::registry_error("Channels missing"));
            }
            let mut ks = write(ks_lock);
            if !add.is_empty() {
                ks.group_add(&group, &add);
            }
            if !remove.is_empty() {
                ks.group_remove(&group, &remove);
            }
            drop(ks);
            Reply::ok(registry_ok())
        }
        Route::GroupDelete { group, .. } => {
            let group = match group_name(group) {
                Ok(group) => group,
                Err(reply) => return Err(reply),
            };
            write(ks_lock).group_delete(&group);
            Reply::ok(registry_ok())
        }
    };
    Ok(reply)
}

/// A channel-group name from the path. A `,` is refused: group names travel
/// in comma-separated `channel-group=` lists, where it would split the name.
fn group_name(raw: &str) -> Result<String, Reply> {
    let group = decode_path(raw);
    if group.is_empty() {
        return Err(Reply::registry_error("Channel group missing"));
    }
    if group.contains(',') {
        return Err(Reply::registry_error("Channel group names must not contain ','"));
    }
    Ok(group)
}

/// A duration in whole milliseconds (saturating).
pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn read(lock: &std::sync::RwLock<Keyspace>) -> std::sync::RwLockReadGuard<'_, Keyspace> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write(lock: &std::sync::RwLock<Keyspace>) -> std::sync::RwLockWriteGuard<'_, Keyspace> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// The acting user (`uuid=`), if the request names one.
pub(crate) fn actor_uuid(query: &Query) -> Option<String> {
    query.get("uuid").filter(|u| !u.is_empty()).map(str::to_owned)
}

/// Parses a `state` parameter that must be a JSON object nested at most
/// `max_depth` levels (per-channel state given on heartbeat is one level more).
pub(crate) fn parse_object(raw: &str, max_depth: usize) -> Result<serde_json::Map<String, Value>, Reply> {
    match serde_json::from_str::<Value>(raw) {
        Ok(value @ Value::Object(_)) if crate::json::depth(&value) > max_depth => {
            Err(Reply::bad_request(&format!("State is nested too deeply: at most {} levels", crate::MAX_STATE_DEPTH)))
        }
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Reply::bad_request("State must be a JSON object")),
        Err(_) => Err(Reply::bad_request("Invalid JSON specified.")),
    }
}

/// The presence timeout the request announces (`heartbeat=`, in seconds),
/// clamped to the configured bounds; `None` when it announces none.
pub(crate) fn announced_timeout(inner: &Inner, query: &Query) -> Result<Option<u64>, Reply> {
    match query.get("heartbeat").map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(secs) => Ok(Some(clamped_timeout(inner, secs))),
            Err(_) => Err(Reply::bad_request("Invalid heartbeat value")),
        },
    }
}

/// The configured default presence timeout, clamped like an announced one.
pub(crate) fn default_timeout(inner: &Inner) -> u64 {
    clamped_timeout(inner, inner.config.presence_timeout.as_secs())
}

/// `secs` within the configured bounds, in milliseconds.
fn clamped_timeout(inner: &Inner, secs: u64) -> u64 {
    let cfg = &inner.config;
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
        Some(raw) if !raw.is_empty() => parse_object(raw, crate::MAX_STATE_DEPTH + 1)?,
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

fn here_now_opts(query: &Query) -> Result<HereNowOpts, Reply> {
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
