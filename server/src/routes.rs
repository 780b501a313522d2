//! Request routing, parameter parsing and response bodies (PROTOCOL.md §1, §2, §8).
//!
//! Routing is done on the raw (still percent-encoded) path so that channel lists can be split
//! on literal `,` before each name is decoded (`%2C` stays part of a name).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::Value;

use crate::Inner;
use crate::json::{write_str, write_str_array, write_value};
use crate::signature::{self, SignedRequest};
use crate::store::{ChannelOccupancy, HereNowOpts, Keyspace, Timeout};

/// Longest accepted request target (path + query), in bytes.
pub(crate) const MAX_URI_LEN: usize = 32 * 1024;

/// Highest accepted here_now `limit`.
const MAX_LIMIT: usize = 1000;

const CT_PRESENCE: &str = "text/javascript; charset=\"UTF-8\"";
const CT_ACCESS_MANAGER: &str = "text/javascript; charset=UTF-8";

/// An HTTP response in the making: status, content type and body.
pub(crate) struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

impl Reply {
    pub(crate) fn ok(body: String) -> Self {
        Self {
            status: StatusCode::OK,
            content_type: CT_PRESENCE,
            body,
        }
    }

    /// `{"error":1,"message":…,"service":…,"status":…}`.
    pub(crate) fn error(status: StatusCode, service: &str, message: &str) -> Self {
        let mut body = String::from("{\"error\":1,\"message\":");
        write_str(&mut body, message);
        body.push_str(",\"service\":");
        write_str(&mut body, service);
        body.push_str(&format!(",\"status\":{}}}", status.as_u16()));
        Self {
            status,
            content_type: CT_PRESENCE,
            body,
        }
    }

    pub(crate) fn bad_request(message: &str) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "Presence", message)
    }

    fn registry_error(message: &str) -> Self {
        let mut body = String::from("{\"error\":true,\"message\":");
        write_str(&mut body, message);
        body.push_str(",\"service\":\"channel-registry\",\"status\":400}");
        Self {
            status: StatusCode::BAD_REQUEST,
            content_type: CT_PRESENCE,
            body,
        }
    }

    /// Access Manager 403 (field order and trailing newline as recorded).
    fn forbidden(channels: &[String], groups: &[String]) -> Self {
        let mut body = String::from("{\"message\":\"Forbidden\",\"payload\":{");
        let mut first = true;
        if !channels.is_empty() {
            body.push_str("\"channels\":");
            write_str_array(&mut body, channels.iter().map(String::as_str));
            first = false;
        }
        if !groups.is_empty() {
            if !first {
                body.push(',');
            }
            body.push_str("\"channel-groups\":");
            let prefixed: Vec<String> = groups
                .iter()
                .map(|g| {
                    if g.contains(':') {
                        g.clone()
                    } else {
                        format!(":{g}")
                    }
                })
                .collect();
            write_str_array(&mut body, prefixed.iter().map(String::as_str));
        }
        body.push_str("},\"error\":true,\"service\":\"Access Manager\",\"status\":403}\n");
        Self {
            status: StatusCode::FORBIDDEN,
            content_type: CT_ACCESS_MANAGER,
            body,
        }
    }

    /// The HTTP status of this reply.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// Converts to an HTTP response with PubNub's headers.
    pub(crate) fn into_response(self) -> Response<Body> {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        add_common_headers(h);
        resp
    }
}

/// CORS and cache headers every PubNub presence response carries.
pub(crate) fn add_common_headers(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("OPTIONS, GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// Decoded query parameters (first occurrence of a key wins).
pub(crate) struct Query {
    raw: String,
    params: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: &str) -> Self {
        Self {
            raw: raw.to_owned(),
            params: signature::parse_query(raw),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, keys: &[&str]) -> bool {
        keys.iter()
            .find_map(|k| self.get(k))
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "True"))
    }

    /// A comma-separated list parameter (value already decoded, so `%2C` separates too).
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        self.get(key).map(split_list).unwrap_or_default()
    }
}

fn split_list(v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in v.split(',') {
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

/// Splits a raw path segment on literal `,` and percent-decodes each name.
fn split_path_names(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in raw.split(',') {
        if part.is_empty() {
            continue;
        }
        let name = decode_path(part);
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn decode_path(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Recognised endpoints.
enum Route<'a> {
    HereNowGlobal {
        sub: &'a str,
    },
    HereNow {
        sub: &'a str,
        ch: &'a str,
    },
    Heartbeat {
        sub: &'a str,
        ch: &'a str,
    },
    Leave {
        sub: &'a str,
        ch: &'a str,
    },
    GetState {
        sub: &'a str,
        ch: &'a str,
        uuid: &'a str,
    },
    SetState {
        sub: &'a str,
        ch: &'a str,
        uuid: &'a str,
    },
    WhereNow {
        sub: &'a str,
        uuid: &'a str,
    },
    GroupListAll {
        sub: &'a str,
    },
    Group {
        sub: &'a str,
        group: &'a str,
    },
    GroupDelete {
        sub: &'a str,
        group: &'a str,
    },
    Subscribe {
        sub: &'a str,
        ch: &'a str,
    },
}

impl Route<'_> {
    fn sub_key(&self) -> &str {
        match self {
            Route::HereNowGlobal { sub }
            | Route::HereNow { sub, .. }
            | Route::Heartbeat { sub, .. }
            | Route::Leave { sub, .. }
            | Route::GetState { sub, .. }
            | Route::SetState { sub, .. }
            | Route::WhereNow { sub, .. }
            | Route::GroupListAll { sub }
            | Route::Group { sub, .. }
            | Route::GroupDelete { sub, .. }
            | Route::Subscribe { sub, .. } => sub,
        }
    }

    /// The raw channel segment, when the route has one.
    fn channel_segment(&self) -> Option<&str> {
        match self {
            Route::HereNow { ch, .. }
            | Route::Heartbeat { ch, .. }
            | Route::Leave { ch, .. }
            | Route::GetState { ch, .. }
            | Route::SetState { ch, .. }
            | Route::Subscribe { ch, .. } => Some(ch),
            _ => None,
        }
    }
}

fn is_sub_key(s: &str) -> bool {
    s == "sub-key" || s == "sub_key"
}

fn route(path: &str) -> Option<Route<'_>> {
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    match segs.as_slice() {
        ["v2", "presence", sk, sub] if is_sub_key(sk) => Some(Route::HereNowGlobal { sub }),
        ["v2", "presence", sk, sub, ""] if is_sub_key(sk) => Some(Route::HereNowGlobal { sub }),
        ["v2", "presence", sk, sub, "channel", ch] if is_sub_key(sk) => {
            Some(Route::HereNow { sub, ch })
        }
        ["v2", "presence", sk, sub, "channel", ch, "heartbeat"] if is_sub_key(sk) => {
            Some(Route::Heartbeat { sub, ch })
        }
        ["v2", "presence", sk, sub, "channel", ch, "leave"] if is_sub_key(sk) => {
            Some(Route::Leave { sub, ch })
        }
        ["v2", "presence", sk, sub, "channel", ch, "uuid", uuid] if is_sub_key(sk) => {
            Some(Route::GetState { sub, ch, uuid })
        }
        [
            "v2",
            "presence",
            sk,
            sub,
            "channel",
            ch,
            "uuid",
            uuid,
            "data",
        ] if is_sub_key(sk) => Some(Route::SetState { sub, ch, uuid }),
        ["v2", "subscribe", sub, ch, "0"] => Some(Route::Subscribe { sub, ch }),
        ["v2", "presence", sk, sub, "uuid", uuid] if is_sub_key(sk) => {
            Some(Route::WhereNow { sub, uuid })
        }
        ["v1", "channel-registration", sk, sub, "channel-group"] if is_sub_key(sk) => {
            Some(Route::GroupListAll { sub })
        }
        [
            "v1",
            "channel-registration",
            sk,
            sub,
            "channel-group",
            group,
        ] if is_sub_key(sk) => Some(Route::Group { sub, group }),
        [
            "v1",
            "channel-registration",
            sk,
            sub,
            "channel-group",
            group,
            "remove",
        ] if is_sub_key(sk) => Some(Route::GroupDelete { sub, group }),
        _ => None,
    }
}

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
        return Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Presence",
            "Method Not Allowed",
        );
    }
    let sub = decode_path(route.sub_key());
    if sub.is_empty() {
        return Reply::bad_request("Missing subscribe key");
    }
    let query = Query::parse(raw_query);
    let channels = route
        .channel_segment()
        .map(split_path_names)
        .unwrap_or_default();
    let groups = query.list("channel-group");
    let now = inner.clock.now_millis();

    if let Some(secret) = inner.config.secret_key.as_deref() {
        let req = SignedRequest {
            method: method.as_str(),
            raw_path: path,
            raw_query: &query.raw,
            sub_key: &sub,
            body: "",
        };
        let tolerance = inner.config.signature_tolerance.as_secs();
        if let Err(e) = signature::verify(
            secret,
            &inner.config.publish_key,
            &req,
            now / 1000,
            tolerance,
        ) {
            tracing::debug!(reason = ?e, "signature rejected");
            return Reply::forbidden(&channels, &groups);
        }
    }

    let ks_lock = inner.store.keyspace(&sub);
    let reply = respond(inner, route, &ks_lock, channels, groups, &query, now).await;
    // A write may have added a presence deadline sooner than the reaper's.
    let next = read(&ks_lock).next_deadline();
    inner.schedule(next);
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
                let occupied: Vec<ChannelOccupancy> =
                    result.into_iter().filter(|c| c.occupancy > 0).collect();
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
            let timeout_ms = match heartbeat_timeout(inner, query) {
                Ok(t) => t,
                Err(r) => return Err(r),
            };
            let per_name = match query.get("state") {
                Some(raw) if !raw.trim().is_empty() => match parse_object(raw, crate::MAX_STATE_DEPTH + 1) {
                    Ok(map) => map,
                    Err(r) => return Err(r),
                },
                _ => serde_json::Map::new(),
            };
            let mut ks = write(ks_lock);
            // Per-channel state: a group's entry applies to each of its channels, a channel's
            // own entry wins.
            let mut states: HashMap<String, Value> = HashMap::new();
            for g in &groups {
                if let Some(st) = per_name.get(g) {
                    for ch in ks.expand(&[], std::slice::from_ref(g)) {
                        states.insert(ch, st.clone());
                    }
                }
            }
            for ch in &channels {
                if let Some(st) = per_name.get(ch) {
                    states.insert(ch.clone(), st.clone());
                }
            }
            if states.values().any(|v| !v.is_object()) {
                return Err(Reply::bad_request("State must be a JSON object"));
            }
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
            Reply::ok(
                r#"{"action":"leave","message":"OK","service":"Presence","status":200}"#.to_owned(),
            )
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

fn registry_ok() -> String {
    r#"{"error":false,"message":"OK","service":"channel-registry","status":200}"#.to_owned()
}

pub(crate) fn read(lock: &std::sync::RwLock<Keyspace>) -> std::sync::RwLockReadGuard<'_, Keyspace> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write(lock: &std::sync::RwLock<Keyspace>) -> std::sync::RwLockWriteGuard<'_, Keyspace> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

fn actor_uuid(query: &Query) -> Option<String> {
    query
        .get("uuid")
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
}

fn write_state(body: &mut String, state: Option<&str>) {
    body.push_str(state.unwrap_or("{}"));
}

/// Parses a `state` parameter that must be a JSON object nested at most
/// `max_depth` levels (per-channel state given on heartbeat is one level more).
pub(crate) fn parse_object(raw: &str, max_depth: usize) -> Result<serde_json::Map<String, Value>, Reply> {
    match serde_json::from_str::<Value>(raw) {
        Ok(value @ Value::Object(_)) if crate::json::depth(&value) > max_depth => Err(Reply::bad_request(&format!(
            "State is nested too deeply: at most {} levels",
            crate::MAX_STATE_DEPTH
        ))),
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Reply::bad_request("State must be a JSON object")),
        Err(_) => Err(Reply::bad_request("Invalid JSON specified.")),
    }
}

pub(crate) fn heartbeat_timeout(inner: &Inner, query: &Query) -> Result<u64, Reply> {
    let cfg = &inner.config;
    let secs = match query.get("heartbeat").map(str::trim) {
        None | Some("") => cfg.presence_timeout.as_secs(),
        Some(v) => match v.parse::<u64>() {
            Ok(s) => s,
            Err(_) => return Err(Reply::bad_request("Invalid heartbeat value")),
        },
    };
    let secs = secs.clamp(
        cfg.min_presence_timeout.as_secs(),
        cfg.max_presence_timeout
            .as_secs()
            .max(cfg.min_presence_timeout.as_secs()),
    );
    Ok(secs.saturating_mul(1000))
}

fn here_now_opts(query: &Query) -> Result<HereNowOpts, Reply> {
    let limit = match query.get("limit").map(str::trim) {
        None | Some("") => MAX_LIMIT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (0..=MAX_LIMIT as i64).contains(&n) => n as usize,
            _ => {
                return Err(Reply::bad_request(
                    "Invalid limit: must be between 0 and 1000",
                ));
            }
        },
    };
    let offset = match query.get("offset").map(str::trim) {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => {
                return Err(Reply::bad_request(
                    "Invalid offset: must be a non-negative integer",
                ));
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

/// Writes `,"uuids":[…]` (or nothing when uuids are not wanted).
fn write_uuids(body: &mut String, c: &ChannelOccupancy, opts: HereNowOpts) {
    if !opts.include_uuids {
        return;
    }
    body.push_str(",\"uuids\":[");
    for (i, (uuid, state)) in c.page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        if opts.include_state {
            body.push('{');
            if let Some(st) = state {
                body.push_str("\"state\":");
                body.push_str(st);
                body.push(',');
            }
            body.push_str("\"uuid\":");
            write_str(body, uuid);
            body.push('}');
        } else {
            write_str(body, uuid);
        }
    }
    body.push(']');
}

fn here_now_single_body(c: &ChannelOccupancy, opts: HereNowOpts) -> String {
    let mut body = format!(
        "{{\"message\":\"OK\",\"occupancy\":{},\"service\":\"Presence\",\"status\":200",
        c.occupancy
    );
    write_uuids(&mut body, c, opts);
    body.push('}');
    body
}

fn here_now_multi_body(channels: &[ChannelOccupancy], opts: HereNowOpts) -> String {
    let mut body = String::from("{\"message\":\"OK\",\"payload\":{\"channels\":{");
    let mut total = 0usize;
    for (i, c) in channels.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        total += c.occupancy;
        write_str(&mut body, &c.name);
        body.push_str(&format!(":{{\"occupancy\":{}", c.occupancy));
        write_uuids(&mut body, c, opts);
        body.push('}');
    }
    body.push_str(&format!(
        "}},\"total_channels\":{},\"total_occupancy\":{}}},\"service\":\"Presence\",\"status\":200}}",
        channels.len(),
        total
    ));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_split_on_literal_commas_only() {
        assert_eq!(split_path_names("a,b%2Cc,%20d"), ["a", "b,c", " d"]);
        assert!(split_path_names(",").is_empty());
        assert_eq!(split_path_names("x,x,y"), ["x", "y"]);
    }

    #[test]
    fn routes_both_sub_key_spellings() {
        assert!(matches!(
            route("/v2/presence/sub_key/demo/channel/a/leave"),
            Some(Route::Leave {
                sub: "demo",
                ch: "a"
            })
        ));
        assert!(matches!(
            route("/v2/presence/sub-key/demo/uuid/u"),
            Some(Route::WhereNow {
                sub: "demo",
                uuid: "u"
            })
        ));
        assert!(route("/v2/presence/sub-key/demo/channel/a/bogus").is_none());
        assert!(route("v2/presence/sub-key/demo").is_none());
    }
}
