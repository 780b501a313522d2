//! Request dispatch: checks what every request needs (length, route, method,
//! subscribe key, signature: docs/PROTOCOL.md §1, §4), then hands it to its
//! handler in `handlers.rs` or `subscribe.rs`, and tells the reaper about
//! presence deadlines a write added.

use http::{Method, StatusCode};

use crate::faults::{Effect, Endpoint, Injected, Target};
use crate::params::Request;
use crate::reply::Reply;
use crate::routing::{Query, Route, decode_path, route, split_path_names};
use crate::signature::SignedRequest;
use crate::state::ServerState;
use crate::store::{read, write};
use crate::{handlers, subscribe};

/// Longest accepted request target (path + query), in bytes.
pub(crate) const MAX_URI_LEN: usize = 32 * 1024;

/// A handled protocol request: its reply, which endpoint it was for, and
/// the fault injected into it, if any (the connection drops or resets for
/// `drop_answer` and `reset`).
pub(crate) struct Handled {
    pub(crate) reply: Reply,
    pub(crate) endpoint: Endpoint,
    pub(crate) fault: Option<Injected>,
}

/// Handles one request. Never panics on bad input; every failure becomes a PubNub-shaped reply.
pub(crate) async fn handle(server: &ServerState, method: &Method, path: &str, raw_query: &str) -> Handled {
    let plain = |endpoint, reply| Handled { reply, endpoint, fault: None };
    if path.len() + raw_query.len() + 1 > MAX_URI_LEN {
        return plain(Endpoint::Unknown, Reply::bad_request("Request URI Too Long"));
    }
    if matches!(path, "/time/0" | "/time/0/") {
        // `[<timetoken>]`: SDKs probe it before reconnecting (docs/PROTOCOL.md §9.3).
        let now = server.store.settings.timetokens.cursor(server.clock.now_millis());
        return plain(Endpoint::Time, Reply::ok(format!("[{now}]")));
    }
    let Some(route) = route(path) else {
        return plain(Endpoint::Unknown, Reply::not_found());
    };
    let endpoint = route.endpoint();
    match routed(server, method, path, raw_query, route).await {
        Ok((reply, fault)) => Handled { reply, endpoint, fault },
        Err(reply) => plain(endpoint, reply),
    }
}

/// The answer to a routed request, with the fault injected into it.
async fn routed(
    server: &ServerState,
    method: &Method,
    path: &str,
    raw_query: &str,
    route: Route<'_>,
) -> Result<(Reply, Option<Injected>), Reply> {
    if method != Method::GET && method != Method::HEAD {
        return Err(Reply::method_not_allowed());
    }
    let sub = decode_path(route.sub_key());
    if sub.is_empty() {
        return Err(Reply::bad_request("Missing subscribe key"));
    }
    let query = Query::parse(raw_query);
    let channels = route.channel_segment().map(split_path_names).unwrap_or_default();
    let groups = query.list("channel-group");
    let mut now = server.clock.now_millis();

    let req = SignedRequest { method: method.as_str(), raw_path: path, raw_query: &query.raw, sub_key: &sub, body: "" };
    if let Err(e) = server.check_signature(&req, now) {
        tracing::debug!(reason = ?e, "signature rejected");
        return Err(Reply::forbidden(&channels, &groups));
    }

    let fault = if server.faults.any() {
        let uuid = route.subject_uuid(&query);
        let target = Target { endpoint: route.endpoint(), names: &channels, groups: &groups, uuid: uuid.as_deref() };
        server.faults.decide(&target)
    } else {
        None
    };
    match fault.map(|f| f.effect) {
        Some(Effect::Status { status, retry_after }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let message = format!(
                "{} (injected fault, rule {})",
                status.canonical_reason().unwrap_or("Injected fault"),
                fault.map_or(0, |f| f.rule)
            );
            return Ok((Reply::error(status, "Presence", &message).with_retry_after(retry_after), fault));
        }
        // No lock is held here. The request then acts at the time it is
        // answered, not the time it arrived: its presence deadline and events
        // are stamped after the delay, as a slow network would have them.
        // The delay runs on the server's clock (a `ManualClock` test moves it on).
        Some(Effect::Delay { ms, .. }) => {
            let until = now.saturating_add(ms);
            while server.clock.now_millis() < until {
                server.clock.wait_until(until).await;
            }
            now = server.clock.now_millis();
        }
        _ => {}
    }

    let keyspace = server.store.keyspace(&sub);
    let changes_presence = route.changes_presence_when_answered();
    let durable = server.journal.is_some() && route.changes_durably(&query);
    let reset_when_held = fault.is_some_and(|f| f.effect == Effect::Reset);
    let req = Request { server, keyspace: &keyspace, channels, groups, query, now, reset_when_held };
    let reply = to_handler(route, &req).await;
    if changes_presence {
        // The write may have added a presence deadline sooner than the reaper's.
        server.schedule(read(&keyspace).next_deadline());
    }
    if durable && let Some(journal) = &server.journal {
        // On disk before it is acknowledged: a crash from now on loses nothing it answered.
        journal.record(&sub, write(&keyspace).take_changes());
        if let Err(e) = journal.commit().await {
            tracing::error!("a change could not be stored: {e}");
            return Ok((
                Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "Presence", "Could not store the change"),
                fault,
            ));
        }
    }
    let reply = reply.unwrap_or_else(|error| error);
    if fault.is_some_and(|f| f.effect == Effect::Garbage) {
        return Ok((Reply::garbage(), fault));
    }
    Ok((reply, fault))
}

/// The answer of a routed, authorised request (`Err` for an error reply).
async fn to_handler(route: Route<'_>, req: &Request<'_>) -> Result<Reply, Reply> {
    match route {
        Route::Subscribe { .. } => subscribe::subscribe(req).await,
        Route::HereNowGlobal { .. } => handlers::here_now_global(req),
        Route::HereNow { .. } => handlers::here_now(req),
        Route::Heartbeat { .. } => handlers::heartbeat(req),
        Route::Leave { .. } => handlers::leave(req),
        Route::SetState { uuid, .. } => handlers::set_state(req, uuid),
        Route::GetState { uuid, .. } => handlers::get_state(req, uuid),
        Route::WhereNow { uuid, .. } => handlers::where_now(req, uuid),
        Route::GroupListAll { .. } => handlers::group_list_all(req),
        Route::Group { group, .. } => handlers::group(req, group),
        Route::GroupDelete { group, .. } => handlers::group_delete(req, group),
    }
}
