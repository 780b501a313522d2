//! The live dashboard: one self-contained page (`dashboard.html`, embedded in
//! the binary) at `/`, and the list of subscribe keys in use at
//! `/dashboard/keys`, the one thing PubNub's protocol cannot tell it.
//! Everything else the page shows it reads through the protocol itself
//! (here_now, channel groups, subscribe on `-pnpres`), like any client.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Response, StatusCode, header};

use crate::Inner;

/// The page, as shipped: HTML, CSS and plain JavaScript, no build step.
const PAGE: &str = include_str!("dashboard.html");

/// The dashboard's answer to a `GET`/`HEAD` of its paths, or `None` (the
/// protocol's routes, or the dashboard is off).
pub(crate) fn serve(inner: &Inner, method: &Method, path: &str) -> Option<Response<Body>> {
    if !inner.config.dashboard || !(method == Method::GET || method == Method::HEAD) {
        return None;
    }
    let (content_type, body) = match path {
        "/" => ("text/html; charset=utf-8", PAGE.to_owned()),
        "/dashboard/keys" => {
            let mut body = String::from("{\"subscribe_keys\":");
            crate::json::write_str_array(&mut body, inner.store.sub_keys().iter().map(String::as_str));
            body.push('}');
            ("application/json", body)
        }
        _ => return None,
    };
    let mut response = Response::new(if method == Method::HEAD { Body::empty() } else { Body::from(body) });
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(response)
}
