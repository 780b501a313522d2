//! Replies as PubNub sends them: status, content type, the JSON error
//! shapes of each service, and the headers every response carries.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};

use crate::json::{write_str, write_str_array};

pub(crate) const CT_PRESENCE: &str = "text/javascript; charset=\"UTF-8\"";
pub(crate) const CT_ACCESS_MANAGER: &str = "text/javascript; charset=UTF-8";

/// An HTTP response in the making: status, content type and body.
pub(crate) struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

impl Reply {
    pub(crate) fn ok(body: String) -> Self {
        Self { status: StatusCode::OK, content_type: CT_PRESENCE, body }
    }

    /// `{"error":1,"message":…,"service":…,"status":…}`.
    pub(crate) fn error(status: StatusCode, service: &str, message: &str) -> Self {
        let mut body = String::from("{\"error\":1,\"message\":");
        write_str(&mut body, message);
        body.push_str(",\"service\":");
        write_str(&mut body, service);
        body.push_str(&format!(",\"status\":{}}}", status.as_u16()));
        Self { status, content_type: CT_PRESENCE, body }
    }

    pub(crate) fn bad_request(message: &str) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "Presence", message)
    }

    pub(crate) fn registry_error(message: &str) -> Self {
        let mut body = String::from("{\"error\":true,\"message\":");
        write_str(&mut body, message);
        body.push_str(",\"service\":\"channel-registry\",\"status\":400}");
        Self { status: StatusCode::BAD_REQUEST, content_type: CT_PRESENCE, body }
    }

    /// Access Manager 403 (field order and trailing newline as recorded).
    pub(crate) fn forbidden(channels: &[String], groups: &[String]) -> Self {
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
            let prefixed: Vec<String> =
                groups.iter().map(|g| if g.contains(':') { g.clone() } else { format!(":{g}") }).collect();
            write_str_array(&mut body, prefixed.iter().map(String::as_str));
        }
        body.push_str("},\"error\":true,\"service\":\"Access Manager\",\"status\":403}\n");
        Self { status: StatusCode::FORBIDDEN, content_type: CT_ACCESS_MANAGER, body }
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
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        add_common_headers(h);
        resp
    }
}

/// CORS and cache headers every PubNub presence response carries.
pub(crate) fn add_common_headers(h: &mut axum::http::HeaderMap) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("OPTIONS, GET, POST"));
    h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("*"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

pub(crate) fn registry_ok() -> String {
    r#"{"error":false,"message":"OK","service":"channel-registry","status":200}"#.to_owned()
}
