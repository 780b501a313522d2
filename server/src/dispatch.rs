//! Request dispatch: checks what every request needs (length, route, method,
//! subscribe key, signature: docs/PROTOCOL.md §1, §4), then hands it to its
//! handler in `handlers.rs` or `subscribe.rs`, and tells the reaper about
//! presence deadlines a write added.

use http::{Method, StatusCode};

use crate::params::Request;
use crate::reply::Reply;
use crate::routing::{Query, Route, decode_path, route, split_path_names};
use crate::signature::{self, SignedRequest};
use crate::state::ServerState;
use crate::store::read;
use crate::{handlers, subscribe};

/// Longest accepted request target (path + query), in bytes.
pub(crate) const MAX_URI_LEN: usize = 32 * 1024;

/// Handles one request. Never panics on bad input; every failure becomes a PubNub-shaped reply.
pub(crate) async fn handle(server: &ServerState, method: &Method, path: &str, raw_query: &str) -> Reply {
    if path.len() + raw_query.len() + 1 > MAX_URI_LEN {
        return Reply::bad_request("Request URI Too Long");
    }
    if matches!(path, "/time/0" | "/time/0/") {
        // `[<timetoken>]`: SDKs probe it before reconnecting (docs/PROTOCOL.md §9.3).
        let now = server.store.settings.timetokens.cursor(server.clock.now_millis());
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
    let now = server.clock.now_millis();

    if let Some(secret) = server.config.secret_key.as_deref() {
        let req =
            SignedRequest { method: method.as_str(), raw_path: path, raw_query: &query.raw, sub_key: &sub, body: "" };
        let tolerance = server.config.signature_tolerance.as_secs();
        if let Err(e) = signature::verify(secret, &server.config.publish_key, &req, now / 1000, tolerance) {
            tracing::debug!(reason = ?e, "signature rejected");
            return Reply::forbidden(&channels, &groups);
        }
    }

    let keyspace = server.store.keyspace(&sub);
    let changes_presence = route.changes_presence_when_answered();
    let req = Request { server, keyspace: &keyspace, channels, groups, query, now };
    let reply = to_handler(route, &req).await;
    if changes_presence {
        // The write may have added a presence deadline sooner than the reaper's.
        server.schedule(read(&keyspace).next_deadline());
    }
    reply.unwrap_or_else(|error| error)
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
