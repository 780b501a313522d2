//! The live dashboard: one self-contained page (`dashboard.html`, embedded in
//! the binary) at `/`, and the list of subscribe keys in use at
//! `/dashboard/keys`, the one thing PubNub's protocol cannot tell it.
//! Everything else the page shows it reads through the protocol itself
//! (here_now, channel groups, subscribe on `-pnpres`), like any client.

use http::Method;

use crate::json::write_str_array;
use crate::reply::Reply;
use crate::state::ServerState;

/// The page, as shipped: HTML, CSS and plain JavaScript, no build step.
const PAGE: &str = include_str!("dashboard.html");

/// The dashboard's answer to a `GET`/`HEAD` of its paths, or `None` (the
/// protocol's routes, or the dashboard is off).
pub(crate) fn serve(server: &ServerState, method: &Method, path: &str) -> Option<Reply> {
    if !server.config.dashboard || !(method == Method::GET || method == Method::HEAD) {
        return None;
    }
    let (content_type, body) = match path {
        "/" => ("text/html; charset=utf-8", PAGE.to_owned()),
        "/dashboard/keys" => {
            let mut body = String::from("{\"subscribe_keys\":");
            write_str_array(&mut body, server.store.sub_keys().iter().map(String::as_str));
            body.push('}');
            ("application/json", body)
        }
        _ => return None,
    };
    Some(Reply::page(content_type, body))
}
