//! The live dashboard: one self-contained page (`dashboard.html`, embedded in
//! the binary) at `/`, and the two things PubNub's protocol cannot tell it:
//! the subscribe keys in use at `/dashboard/keys`, and a key's occupancy
//! over the last ten minutes at `/dashboard/occupancy?sub_key=<key>`.
//! Everything else the page shows it reads through the protocol itself
//! (here_now, channel groups, subscribe on `-pnpres`), like any client, and
//! the fault rules and request log through the server's `/dev/` endpoints.

use http::Method;

use crate::json::{write_str, write_str_array};
use crate::reply::Reply;
use crate::routing::Query;
use crate::state::ServerState;
use crate::store::{OccupancyHistory, read};

/// The page, as shipped: HTML, CSS and plain JavaScript, no build step.
const PAGE: &str = include_str!("dashboard.html");

/// The dashboard's answer to a `GET`/`HEAD` of its paths (`query` is the raw
/// query string), or `None` (the protocol's routes, or the dashboard is off).
pub(crate) fn serve(server: &ServerState, method: &Method, path: &str, query: &str) -> Option<Reply> {
    if !server.config.dashboard || !(method == Method::GET || method == Method::HEAD) {
        return None;
    }
    let (content_type, body) = match path {
        "/" => ("text/html; charset=utf-8", PAGE.to_owned()),
        "/dashboard/keys" => {
            // `{"subscribe_keys":[…],"data_file":"…/presence.redb"}` (`null`: in memory).
            let mut body = String::from("{\"subscribe_keys\":");
            write_str_array(&mut body, server.store.sub_keys().iter().map(String::as_str));
            body.push_str(",\"data_file\":");
            match &server.journal {
                Some(journal) => write_str(&mut body, &journal.path().display().to_string()),
                None => body.push_str("null"),
            }
            body.push('}');
            ("application/json", body)
        }
        "/dashboard/occupancy" => {
            // `{"window_ms":600000,"now_ms":…,"channels":{"lobby":[[t_ms,occupancy],…],…}}`;
            // a key not in use has no channels (and is not created).
            let query = Query::parse(query);
            let now = server.clock.now_millis();
            let keyspace = query.get("sub_key").and_then(|key| server.store.existing(key));
            let body = match keyspace {
                Some(keyspace) => read(&keyspace).occupancy_history.to_json(now),
                None => OccupancyHistory::default().to_json(now),
            };
            ("application/json", body)
        }
        _ => return None,
    };
    Some(Reply::page(content_type, body))
}
