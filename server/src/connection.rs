//! The server's HTTP/1.1 connections.
//!
//! Every endpoint of the protocol is a `GET` (or `HEAD`, or a CORS `OPTIONS`)
//! with an empty body, and its answer depends only on the method and the
//! request target (docs/PROTOCOL.md §0); the one body the server reads is a
//! `PUT /dev/faults`'s JSON rule set (up to 64 KiB). So the server speaks that much HTTP/1.1
//! itself: `httparse` (hyper's parser) reads each request head, the answer is
//! written in one piece, and keep-alive, pipelining and HTTP/1.0 work as
//! clients expect. What no PubNub client sends is refused plainly, in the
//! Presence error shape, and the connection closed: a malformed head (400),
//! a chunked request body (501), a body over 64 KiB (413), a head over
//! 64 KiB or 64 headers (431), a request still incomplete 30 s after its
//! first byte (408). A client that hangs up ends its request (a held poll
//! frees its slot at once).
//!
//! Why not hyper: a held subscribe poll would keep hyper's per-connection
//! read and write buffers (8 KiB each) for the whole long-poll. Here a
//! connection keeps no buffer between requests, so 10,000 held polls cost
//! what their poll state costs (docs/BENCHMARKS.md, heap per held poll).

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::faults::Effect;
use crate::reply::Reply;
use crate::request_log::{Record, redact};
use crate::state::ServerState;
use crate::{dashboard, dev, dispatch, metrics};

/// Longest request head (request line and headers) read; the request target
/// alone may be 32 KiB ([`dispatch::MAX_URI_LEN`]).
const MAX_HEAD: usize = 64 * 1024;

/// Most headers one request may carry.
const MAX_HEADERS: usize = 64;

/// Largest request body read (only `PUT /dev/faults` takes one; others are discarded).
const MAX_BODY: usize = 64 * 1024;

/// Most bytes one read takes; SDK requests are a few hundred bytes, longer
/// ones take several reads.
const READ_CHUNK: usize = 4096;

/// How long a request may take to arrive once its first byte has (a client
/// that stops halfway is answered 408 and closed). Waiting for the first
/// byte has no bound: an idle keep-alive connection costs ~2 KiB.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long writing one answer may take (a client that stops reading must
/// not hold a task, or a shutdown, forever).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// After a refusal, how long (and how many bytes) the client's unread input
/// is drained before closing ([`Connection::linger`]).
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

/// Accepts connections until the server stops ([`Shutdown`](crate::shutdown::Shutdown)),
/// then lets each connection end (idle ones close at once, in-flight requests
/// are answered first) and returns when all have.
pub(crate) async fn serve(listener: TcpListener, server: Arc<ServerState>) -> io::Result<()> {
    // Every connection holds a sender; `recv` returns `None` once all are gone.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            () = server.shutdown.triggered() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let connection = Connection { stream, buf: Vec::new() };
                    let (server, alive) = (Arc::clone(&server), alive_tx.clone());
                    tokio::spawn(async move {
                        connection.run(&server).await;
                        drop(alive);
                    });
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
        }
    }
    drop(listener);
    drop(alive_tx);
    let _ = alive_rx.recv().await;
    Ok(())
}

/// Errors of one incoming connection that say nothing about the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// One request head, owned (the read buffer is free to go while it is answered).
#[derive(Debug, PartialEq)]
struct Head {
    method: Method,
    /// Path and query, in origin form (`/v2/...?uuid=a`).
    target: String,
    keep_alive: bool,
    body_len: usize,
    expect_continue: bool,
    /// The body, when the request is one that takes it (`PUT /dev/faults`).
    body: Vec<u8>,
}

/// Why a request could not be read.
#[derive(Debug)]
enum Refused {
    /// The connection failed or closed mid-request: nothing to answer.
    Gone,
    /// Answer with this reply, then close (the stream cannot be trusted to
    /// be at a request boundary any more).
    Answer(Reply),
}

impl From<io::Error> for Refused {
    fn from(_: io::Error) -> Self {
        Refused::Gone
    }
}

struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet used: part of a head, or a pipelined request.
    buf: Vec<u8>,
}

impl Connection {
    /// Answers requests until the client closes, asks to close, or the server stops.
    async fn run(mut self, server: &ServerState) {
        let _ = self.stream.set_nodelay(true);
        loop {
            if server.shutdown.is_triggered() {
                return;
            }
            let read = tokio::select! {
                read = self.read_request() => read,
                // Shutting down: an idle connection (or a half-sent head) just closes.
                () = server.shutdown.triggered() => return,
            };
            let head = match read {
                Ok(Some(head)) => head,
                Ok(None) | Err(Refused::Gone) => return,
                Err(Refused::Answer(reply)) => {
                    if self.write(&reply, false, false).await.is_ok() {
                        self.linger().await;
                    }
                    return;
                }
            };
            if self.buf.is_empty() {
                // A held poll keeps no read buffer.
                self.buf = Vec::new();
            }
            let (reply, delivery) = {
                let answering = answer(server, &head);
                tokio::pin!(answering);
                tokio::select! {
                    biased;
                    answered = &mut answering => answered,
                    // The client hung up: drop its request (a held poll frees its slot).
                    () = hung_up(&self.stream, &mut self.buf) => return,
                }
            };
            match delivery {
                Delivery::Answer => {}
                // Closed without an answer (a FIN).
                Delivery::Drop => return,
                Delivery::Reset => {
                    // SO_LINGER 0: closing sends a RST.
                    let _ = self.stream.set_zero_linger();
                    return;
                }
            }
            // The shutdown signal is set before held polls are woken to
            // answer, so their answers already say `close`.
            let keep_alive = head.keep_alive && !server.shutdown.is_triggered();
            if self.write(&reply, head.method == Method::HEAD, keep_alive).await.is_err() || !keep_alive {
                return;
            }
        }
    }

    /// Reads the next request: its head, then its body (discarded). `None`
    /// when the client closed the connection between requests.
    async fn read_request(&mut self) -> Result<Option<Head>, Refused> {
        if self.buf.is_empty() && read_into(&self.stream, &mut self.buf).await? == 0 {
            return Ok(None);
        }
        // From its first byte, the request has READ_TIMEOUT to arrive.
        let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
        let head = loop {
            if let Some((head, len)) = parse_head(&self.buf)? {
                self.buf.drain(..len);
                break head;
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(Refused::Answer(Reply::error_status(
                    http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "Request Header Fields Too Large",
                )));
            }
            self.read_more_by(deadline).await?;
        };
        if head.body_len > 0 {
            if head.expect_continue {
                self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
            }
            // Reads the body (buffered bytes first); keeps it only for a
            // request that takes one.
            let keep = head.method == Method::PUT && head.target.split('?').next() == Some("/dev/faults");
            let mut head = head;
            let mut len = head.body_len;
            loop {
                let buffered = len.min(self.buf.len());
                if keep {
                    head.body.extend_from_slice(&self.buf[..buffered]);
                }
                self.buf.drain(..buffered);
                len -= buffered;
                if len == 0 {
                    break;
                }
                self.read_more_by(deadline).await?;
            }
            return Ok(Some(head));
        }
        Ok(Some(head))
    }

    /// Reads more of a started request. A timer is set only here, when the
    /// request did not come in one read: the usual request needs none.
    async fn read_more_by(&mut self, deadline: tokio::time::Instant) -> Result<(), Refused> {
        match tokio::time::timeout_at(deadline, read_into(&self.stream, &mut self.buf)).await {
            Ok(Ok(0) | Err(_)) => Err(Refused::Gone),
            Ok(Ok(_)) => Ok(()),
            Err(_) => Err(Refused::Answer(Reply::error_status(http::StatusCode::REQUEST_TIMEOUT, "Request Timeout"))),
        }
    }

    /// Writes one answer; without keep-alive, then closes the connection.
    async fn write(&mut self, reply: &Reply, head_only: bool, keep_alive: bool) -> io::Result<()> {
        let mut out = Vec::with_capacity(512 + if head_only { 0 } else { reply.body().len() });
        reply.write_http(&mut out, head_only, keep_alive);
        // Usually the socket takes it all at once: no timer needed.
        let written = match self.stream.try_write(&out) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        if written < out.len() {
            let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading");
            tokio::time::timeout(WRITE_TIMEOUT, self.stream.write_all(&out[written..]))
                .await
                .map_err(|_| timed_out())??;
        }
        if !keep_alive {
            self.stream.shutdown().await?;
        }
        Ok(())
    }

    /// After a refusal the client may still be sending: drain a little of
    /// it, so that closing sends a FIN (the client reads the refusal) rather
    /// than a reset (which may destroy it).
    async fn linger(&mut self) {
        self.buf.clear();
        let _ = tokio::time::timeout(LINGER, async {
            let mut drained = 0;
            while drained < LINGER_BYTES {
                match read_into(&self.stream, &mut self.buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
                self.buf.clear();
            }
        })
        .await;
    }
}

/// Appends what the client sent next to `buf`; 0 at the end of the stream.
/// Room is made in `buf` only once the socket is readable, so an idle
/// connection holds no buffer, and bytes are read straight into the spare
/// capacity (a zeroed stack chunk cost ~4,000 instructions a read, a fifth of
/// a request's). Cancel-safe: bytes are appended only by the read that
/// returns them.
async fn read_into(stream: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        buf.reserve(READ_CHUNK);
        match stream.try_read_buf(buf) {
            Ok(n) => return Ok(n),
            // Readiness can be stale; wait again, holding no buffer if none was needed.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if buf.is_empty() {
                    *buf = Vec::new();
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Parses a request head from the start of `buf`: `None` when more bytes are
/// needed, else the head and its length in bytes.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Refused> {
    let bad = |message: &str| Refused::Answer(Reply::error_status(http::StatusCode::BAD_REQUEST, message));
    if buf.is_empty() {
        return Ok(None);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refused::Answer(Reply::error_status(
                http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "Request Header Fields Too Large",
            )));
        }
        Err(_) => return Err(bad("Bad Request")),
    };
    let method =
        request.method.and_then(|m| Method::from_bytes(m.as_bytes()).ok()).ok_or_else(|| bad("Bad Request"))?;
    let target = origin_form(request.path.unwrap_or_default()).ok_or_else(|| bad("Bad Request"))?;
    let http11 = request.version == Some(1);
    let mut keep_alive = http11;
    let mut body_len: Option<usize> = None;
    let mut expect_continue = false;
    for header in request.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or_default();
        if header.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && !http11 {
                    keep_alive = true;
                }
            }
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let digits = value.trim();
            // Digits only: `usize::from_str` would also take `+5`.
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("Bad Content-Length"));
            }
            let len: usize = digits.parse().map_err(|_| bad("Bad Content-Length"))?;
            if body_len.is_some_and(|earlier| earlier != len) {
                return Err(bad("Bad Content-Length"));
            }
            body_len = Some(len);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Without decoding it the next request's start is unknown.
            return Err(Refused::Answer(Reply::error_status(
                http::StatusCode::NOT_IMPLEMENTED,
                "Transfer-Encoding is not supported: no endpoint takes a request body",
            )));
        } else if header.name.eq_ignore_ascii_case("expect") {
            // HTTP/1.0 clients know no interim answers.
            expect_continue = http11 && value.trim().eq_ignore_ascii_case("100-continue");
        }
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > MAX_BODY {
        return Err(Refused::Answer(Reply::error_status(http::StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large")));
    }
    Ok(Some((Head { method, target, keep_alive, body_len, expect_continue, body: Vec::new() }, len)))
}

/// The request target as `/path?query`: origin form as sent, absolute form
/// (`http://host/path`, as proxies send) with scheme and authority removed,
/// `*` (an `OPTIONS *`) as is.
fn origin_form(target: &str) -> Option<String> {
    if target.starts_with('/') || target == "*" {
        return Some(target.to_owned());
    }
    let rest = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://"))?;
    Some(match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('/') => rest[at..].to_owned(),
        Some(at) => format!("/{}", &rest[at..]),
        None => "/".to_owned(),
    })
}

/// Resolves when the client closed its side (or the socket failed). What it
/// sends meanwhile (a pipelined request) is kept in `buf` for later, up to a
/// head's worth; past that the client is not watched any more.
async fn hung_up(stream: &TcpStream, buf: &mut Vec<u8>) {
    while buf.len() < MAX_HEAD {
        if matches!(read_into(stream, buf).await, Ok(0) | Err(_)) {
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// How an answer reaches the client (an injected fault may keep it from it).
enum Delivery {
    Answer,
    /// Close the connection without answering.
    Drop,
    /// Reset the connection.
    Reset,
}

/// The answer to one request, logged at debug level (credentials hidden);
/// protocol requests are also recorded in the request log and `/metrics`.
async fn answer(server: &ServerState, head: &Head) -> (Reply, Delivery) {
    let (method, target) = (&head.method, head.target.as_str());
    let started = Instant::now();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut delivery = Delivery::Answer;
    let reply = if method == Method::OPTIONS {
        Reply::preflight()
    } else if path == "/metrics" && (method == Method::GET || method == Method::HEAD) {
        Reply::page(metrics::CONTENT_TYPE, metrics::render(server))
    } else if server.dev_endpoints && path.starts_with("/dev/") {
        dev::handle(server, method, path, query, &head.body)
    } else if let Some(page) = dashboard::serve(server, method, path, query) {
        page
    } else {
        let handled = dispatch::handle(server, method, path, query).await;
        let status = handled.reply.status().as_u16();
        server.request_counts.count(handled.endpoint, status);
        delivery = match handled.fault.map(|f| f.effect) {
            Some(Effect::DropAnswer) => Delivery::Drop,
            Some(Effect::Reset) => Delivery::Reset,
            _ => Delivery::Answer,
        };
        if !(path == "/" || path.starts_with("/dashboard/")) {
            server.request_log.record(Record {
                time_ms: server.clock.now_millis(),
                method,
                target,
                endpoint: handled.endpoint,
                status,
                duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                fault: handled.fault.map(|f| f.label()),
            });
        }
        handled.reply
    };
    tracing::debug!(
        "{} {} -> {} ({} us)",
        method,
        truncate(&redact(target, "[redacted]"), 512),
        reply.status().as_u16(),
        started.elapsed().as_micros()
    );
    (reply, delivery)
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Head {
        match parse_head(raw.as_bytes()) {
            Ok(Some((head, len))) => {
                assert_eq!(len, raw.find("\r\n\r\n").unwrap() + 4);
                head
            }
            Ok(None) => panic!("incomplete: {raw:?}"),
            Err(e) => panic!("refused {raw:?}: {e:?}"),
        }
    }

    fn refusal(raw: &str) -> u16 {
        match parse_head(raw.as_bytes()) {
            Err(Refused::Answer(reply)) => reply.status().as_u16(),
            other => panic!("{raw:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        assert!(head("GET / HTTP/1.1\r\nHost: x\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n").keep_alive);
    }

    #[test]
    fn heads_need_all_their_bytes() {
        for partial in ["G", "GET /time/0 HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r"] {
            assert!(matches!(parse_head(partial.as_bytes()), Ok(None)), "{partial:?}");
        }
    }

    #[test]
    fn bodies_are_measured_and_bad_framing_refused() {
        let h = head("POST /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
        assert_eq!((h.method, h.body_len, h.expect_continue), (Method::POST, 5, true));
        assert_eq!(refusal("POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
        assert_eq!(refusal("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
        assert_eq!(refusal("POST /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n"), 400);
        assert!(!head("POST /x HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").expect_continue);
        assert_eq!(refusal("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 501);
        assert_eq!(refusal(&format!("POST /x HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1)), 413);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(refusal(&format!("GET / HTTP/1.1\r\n{many}\r\n")), 431);
        assert_eq!(refusal("GET\0 / HTTP/1.1\r\n\r\n"), 400);
    }

    #[test]
    fn targets_become_origin_form() {
        assert_eq!(head("GET /time/0?uuid=a HTTP/1.1\r\n\r\n").target, "/time/0?uuid=a");
        assert_eq!(head("GET http://127.0.0.1:8090/time/0?x=1 HTTP/1.1\r\n\r\n").target, "/time/0?x=1");
        assert_eq!(head("GET http://h?x=1 HTTP/1.1\r\n\r\n").target, "/?x=1");
        assert_eq!(head("GET http://h HTTP/1.1\r\n\r\n").target, "/");
        assert_eq!(head("OPTIONS * HTTP/1.1\r\n\r\n").target, "*");
        assert_eq!(refusal("GET ftp://h/x HTTP/1.1\r\n\r\n"), 400);
        // A target that is not UTF-8 is a 400, not a panic.
        assert!(matches!(parse_head(b"GET /\xff HTTP/1.1\r\n\r\n"), Err(Refused::Answer(r)) if r.status() == 400));
    }

    proptest::proptest! {
        /// Whatever a client sends, reading a head answers, refuses or asks
        /// for more; it never panics.
        #[test]
        fn any_bytes_are_read_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_head(&bytes);
        }

        /// A well-formed request, cut anywhere, is incomplete until its last
        /// byte, then yields its target and its exact length.
        #[test]
        fn heads_parse_whole_and_only_whole(
            path in "/[a-z0-9%,/._-]{0,40}",
            query in "[a-z0-9=&%._-]{0,40}",
            headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,30}"), 0..8),
            pipelined in "[ -~]{0,20}",
        ) {
            let mut request = format!("GET {path}?{query} HTTP/1.1\r\n");
            for (name, value) in &headers {
                if !["connection", "content-length", "transfer-encoding", "expect"].contains(&name.to_ascii_lowercase().as_str()) {
                    request.push_str(&format!("{name}: {}\r\n", value.trim()));
                }
            }
            request.push_str("\r\n");
            let whole = request.len();
            request.push_str(&pipelined);
            for cut in 0..whole {
                proptest::prop_assert!(matches!(parse_head(&request.as_bytes()[..cut]), Ok(None)), "complete at {cut}");
            }
            let Ok(Some((head, len))) = parse_head(request.as_bytes()) else {
                return Err(proptest::test_runner::TestCaseError::fail(format!("not parsed: {request:?}")));
            };
            proptest::prop_assert_eq!(len, whole);
            proptest::prop_assert_eq!(head.target, format!("{path}?{query}"));
            proptest::prop_assert!(head.keep_alive);
        }
    }

    #[test]
    fn request_logs_hide_credentials() {
        assert_eq!(
            redact("/v2/presence/sub-key/k/channel/a?uuid=u&auth=SECRET&signature=v2.SIG&timestamp=1", "[redacted]"),
            "/v2/presence/sub-key/k/channel/a?uuid=u&auth=[redacted]&signature=[redacted]&timestamp=1"
        );
    }
}
