//! Replies as PubNub sends them: status, content type, the JSON error
//! shapes of each service, the headers every response carries, and their
//! HTTP/1.1 wire form.

use http::StatusCode;

use crate::json::{write_str, write_str_array};

pub(crate) const CT_PRESENCE: &str = "text/javascript; charset=\"UTF-8\"";
pub(crate) const CT_ACCESS_MANAGER: &str = "text/javascript; charset=UTF-8";

/// An HTTP response in the making: status, content type and body.
#[derive(Debug)]
pub(crate) struct Reply {
    status: StatusCode,
    /// `None` for an answer without a body (a CORS preflight).
    content_type: Option<&'static str>,
    /// Whether the CORS headers of the protocol's answers go along (the
    /// dashboard's own pages do without).
    cors: bool,
    /// A `Retry-After` header, in seconds (an injected fault's).
    retry_after: Option<u64>,
    body: String,
}

impl Reply {
    pub(crate) fn ok(body: String) -> Self {
        Self::presence(StatusCode::OK, CT_PRESENCE, body)
    }

    fn presence(status: StatusCode, content_type: &'static str, body: String) -> Self {
        Self { status, content_type: Some(content_type), cors: true, retry_after: None, body }
    }

    /// A page of the dashboard (same-origin: no CORS headers).
    pub(crate) fn page(content_type: &'static str, body: String) -> Self {
        Self { status: StatusCode::OK, content_type: Some(content_type), cors: false, retry_after: None, body }
    }

    /// The answer to a CORS preflight (`OPTIONS`): the headers, no body.
    pub(crate) fn preflight() -> Self {
        Self { status: StatusCode::OK, content_type: None, cors: true, retry_after: None, body: String::new() }
    }

    /// `{"error":1,"message":…,"service":…,"status":…}`.
    pub(crate) fn error(status: StatusCode, service: &str, message: &str) -> Self {
        let mut body = String::from("{\"error\":1,\"message\":");
        write_str(&mut body, message);
        body.push_str(",\"service\":");
        write_str(&mut body, service);
        body.push_str(&format!(",\"status\":{}}}", status.as_u16()));
        Self::presence(status, CT_PRESENCE, body)
    }

    /// Adds a `Retry-After: secs` header.
    pub(crate) fn with_retry_after(mut self, secs: Option<u64>) -> Self {
        self.retry_after = secs;
        self
    }

    /// A 200 whose body is not JSON (an injected `garbage` fault): what a
    /// captive portal or a misrouted proxy answers.
    pub(crate) fn garbage() -> Self {
        let body = "<html><body><h1>200 OK</h1><p>injected garbage: this is not JSON</p></body></html>".to_owned();
        Self::presence(StatusCode::OK, "text/html; charset=utf-8", body)
    }

    /// An error of HTTP itself (a malformed request, say), in the Presence
    /// service's error shape.
    pub(crate) fn error_status(status: StatusCode, message: &str) -> Self {
        Self::error(status, "Presence", message)
    }

    /// A 404 for a path the server does not serve.
    pub(crate) fn not_found() -> Self {
        Reply::error(StatusCode::NOT_FOUND, "Presence", "Not Found")
    }

    /// A 405 for a method the path does not take.
    pub(crate) fn method_not_allowed() -> Self {
        Reply::error(StatusCode::METHOD_NOT_ALLOWED, "Presence", "Method Not Allowed")
    }

    pub(crate) fn bad_request(message: &str) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "Presence", message)
    }

    pub(crate) fn registry_error(message: &str) -> Self {
        let mut body = String::from("{\"error\":true,\"message\":");
        write_str(&mut body, message);
        body.push_str(",\"service\":\"channel-registry\",\"status\":400}");
        Self::presence(StatusCode::BAD_REQUEST, CT_PRESENCE, body)
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
        Self::presence(StatusCode::FORBIDDEN, CT_ACCESS_MANAGER, body)
    }

    /// The HTTP status of this reply.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The body (what a `GET` of the same target would carry).
    pub(crate) fn body(&self) -> &str {
        &self.body
    }

    /// Appends the HTTP/1.1 response: status line, headers (PubNub's, as
    /// recorded: §0), and the body unless `head_only` (an answer to `HEAD`
    /// still says the body's length).
    pub(crate) fn write_http(&self, out: &mut Vec<u8>, head_only: bool, keep_alive: bool) {
        use std::io::Write;
        let reason = self.status.canonical_reason().unwrap_or("");
        // Writing to a Vec cannot fail.
        let _ = write!(out, "HTTP/1.1 {} {reason}\r\n", self.status.as_u16());
        if let Some(content_type) = self.content_type {
            let _ = write!(out, "content-type: {content_type}\r\n");
        }
        let _ = write!(out, "content-length: {}\r\n", self.body.len());
        if self.cors {
            out.extend_from_slice(CORS_HEADERS.as_bytes());
        }
        if let Some(secs) = self.retry_after {
            let _ = write!(out, "retry-after: {secs}\r\n");
        }
        out.extend_from_slice(b"cache-control: no-cache\r\n");
        let connection: &[u8] = if keep_alive { b"connection: keep-alive\r\n" } else { b"connection: close\r\n" };
        out.extend_from_slice(connection);
        let _ = write!(out, "date: {}\r\n\r\n", httpdate::fmt_http_date(std::time::SystemTime::now()));
        if !head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
    }
}

/// The CORS headers every PubNub presence response carries (2025 recordings).
const CORS_HEADERS: &str = "access-control-allow-origin: *\r\n\
    access-control-allow-methods: OPTIONS, GET, POST\r\n\
    access-control-allow-credentials: true\r\n\
    access-control-expose-headers: *\r\n";

pub(crate) fn registry_ok() -> String {
    r#"{"error":false,"message":"OK","service":"channel-registry","status":200}"#.to_owned()
}
