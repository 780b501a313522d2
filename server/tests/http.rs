//! The server's HTTP/1.1 on raw sockets: keep-alive, pipelining, HEAD,
//! HTTP/1.0, bodies, refusals, a client hanging up on a held poll, and
//! shutdown closing idle connections.

mod common;

use std::time::Duration;

use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Bytes read and not yet returned as a response.
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Conn {
    async fn open(t: &TestServer) -> Conn {
        Conn { stream: TcpStream::connect(t.server.local_addr()).await.unwrap(), pending: Vec::new() }
    }

    async fn send(&mut self, bytes: &str) {
        self.stream.write_all(bytes.as_bytes()).await.unwrap();
    }

    /// Reads one response; `with_body` false for the answer to a HEAD.
    async fn response(&mut self, with_body: bool) -> Raw {
        let (status, headers, head_len) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut slots);
            if let httparse::Status::Complete(len) = parsed.parse(&self.pending).unwrap() {
                let headers = parsed
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), String::from_utf8(h.value.to_vec()).unwrap()))
                    .collect::<Vec<_>>();
                break (parsed.code.unwrap(), headers, len);
            }
            self.fill().await;
        };
        self.pending.drain(..head_len);
        let mut raw = Raw { status, headers, body: String::new() };
        if with_body {
            let len: usize = raw.header("content-length").unwrap().parse().unwrap();
            while self.pending.len() < len {
                self.fill().await;
            }
            raw.body = String::from_utf8(self.pending.drain(..len).collect()).unwrap();
        }
        raw
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
            .await
            .expect("the server answers")
            .unwrap();
        assert!(n > 0, "the server closed the connection mid-response");
        self.pending.extend_from_slice(&chunk[..n]);
    }

    /// Whether the server closed the connection (after anything still unread).
    async fn closed_by_server(&mut self) -> bool {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), self.stream.read_to_end(&mut rest)).await;
        matches!(read, Ok(Ok(_))) && rest.is_empty() && self.pending.is_empty()
    }
}

/// Opens a connection and sends a poll on `lobby-pnpres` (then `pipelined`),
/// and returns once the server holds it.
async fn hold_poll(t: &TestServer, pipelined: &str) -> Conn {
    let cursor = t.handshake("lobby-pnpres", "uuid=w").await.cursor;
    let mut c = Conn::open(t).await;
    c.send(&format!("GET /v2/subscribe/demo/lobby-pnpres/0?uuid=w&tt={cursor} HTTP/1.1\r\n\r\n{pipelined}")).await;
    t.until_held(1).await;
    c
}

const TIME: &str = "GET /time/0 HTTP/1.1\r\nHost: t\r\n\r\n";
const WHERE: &str = "GET /v2/presence/sub-key/demo/uuid/alice HTTP/1.1\r\nHost: t\r\n\r\n";
const WHERE_BODY: &str = r#"{"message":"OK","payload":{"channels":[]},"service":"Presence","status":200}"#;

#[tokio::test]
async fn one_connection_carries_many_requests_and_pipelined_ones_in_order() {
    let t = TestServer::start().await;
    let mut c = Conn::open(&t).await;
    c.send(TIME).await;
    let first = c.response(true).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("connection"), Some("keep-alive"));
    assert_eq!(first.header("access-control-allow-origin"), Some("*"));
    assert_eq!(first.header("content-type"), Some(r#"text/javascript; charset="UTF-8""#));
    assert!(first.header("date").is_some_and(|d| d.ends_with(" GMT")), "{first:?}");
    assert!(first.body.starts_with('[') && first.body.ends_with(']'), "{}", first.body);
    // Two requests in one write are answered one after the other.
    c.send(&format!("{WHERE}{TIME}")).await;
    let (second, third) = (c.response(true).await, c.response(true).await);
    assert_eq!(second.body, WHERE_BODY);
    assert!(third.body.starts_with('['), "{}", third.body);
}

#[tokio::test]
async fn head_says_the_length_and_sends_no_body() {
    let t = TestServer::start().await;
    let mut c = Conn::open(&t).await;
    c.send(&WHERE.replacen("GET", "HEAD", 1)).await;
    let head = c.response(false).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(WHERE_BODY.len().to_string().as_str()));
    // Had a body been sent, it would be read here as the next response.
    c.send(TIME).await;
    assert_eq!(c.response(true).await.status, 200);
}

#[tokio::test]
async fn http_1_0_and_connection_close_end_the_connection_after_the_answer() {
    let t = TestServer::start().await;
    for request in ["GET /time/0 HTTP/1.0\r\n\r\n", "GET /time/0 HTTP/1.1\r\nConnection: close\r\n\r\n"] {
        let mut c = Conn::open(&t).await;
        c.send(request).await;
        let r = c.response(true).await;
        assert_eq!((r.status, r.header("connection")), (200, Some("close")), "{request:?}");
        assert!(c.closed_by_server().await, "{request:?}");
    }
    // HTTP/1.0 keep-alive, when asked for.
    let mut c = Conn::open(&t).await;
    c.send("GET /time/0 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").await;
    assert_eq!(c.response(true).await.header("connection"), Some("keep-alive"));
    c.send(TIME).await;
    assert_eq!(c.response(true).await.status, 200);
}

#[tokio::test]
async fn a_request_body_is_skipped_and_the_connection_goes_on() {
    let t = TestServer::start().await;
    let mut c = Conn::open(&t).await;
    c.send("POST /v2/presence/sub-key/demo/uuid/alice HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").await;
    let r = c.response(true).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body, r#"{"error":1,"message":"Method Not Allowed","service":"Presence","status":405}"#);
    c.send(WHERE).await;
    assert_eq!(c.response(true).await.status, 200);
    // A client that waits for `100 Continue` before its body gets it.
    c.send("POST /time/0 HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n").await;
    let interim = c.response(false).await;
    assert_eq!(interim.status, 100);
    // The body is skipped: the next request's answer is the next thing read.
    c.send(&format!("abc{WHERE}")).await;
    assert_eq!(c.response(true).await.status, 200);
    assert_eq!(c.response(true).await.body, WHERE_BODY);
}

#[tokio::test]
async fn requests_it_cannot_frame_are_refused_and_the_connection_closed() {
    let t = TestServer::start().await;
    let huge_head = format!("GET /time/0 HTTP/1.1\r\nX-Big: {}\r\n\r\n", "h".repeat(70 * 1024));
    for (request, status) in [
        ("POST /time/0 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 501),
        ("GET /time/0 HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        ("BAD\0REQUEST\r\n\r\n", 400),
        (huge_head.as_str(), 431),
    ] {
        let mut c = Conn::open(&t).await;
        c.send(request).await;
        let r = c.response(true).await;
        assert_eq!(r.status, status, "{:.60?}", request);
        assert_eq!(r.header("connection"), Some("close"));
        assert!(r.body.starts_with(r#"{"error":1,"message":"#), "{}", r.body);
        assert!(c.closed_by_server().await, "{:.60?}", request);
    }
}

#[tokio::test]
async fn a_client_hanging_up_frees_its_held_poll() {
    let t = TestServer::start().await;
    let c = hold_poll(&t, "").await;
    drop(c);
    t.until_held(0).await;
}

#[tokio::test(start_paused = true)]
async fn a_request_that_stops_halfway_gets_a_408_after_30_seconds() {
    let t = TestServer::start().await;
    let mut c = Conn::open(&t).await;
    c.send("GET /time/0 HTTP/1.1\r\nHost: t\r\n").await;
    let started = tokio::time::Instant::now();
    // No timeout on this read: paused time jumps straight to the server's.
    let mut answer = String::new();
    c.stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert_eq!(started.elapsed().as_secs(), 30);
}

#[tokio::test]
async fn a_poll_keeps_what_its_client_pipelines_and_still_sees_it_hang_up() {
    let t = TestServer::start().await;
    let mut c = hold_poll(&t, TIME).await;
    // Answered in order: the poll (released by a join), then the pipelined request.
    t.heartbeat("demo", "lobby", "alice", "").await;
    assert!(c.response(true).await.body.contains(r#""action":"join""#));
    assert!(c.response(true).await.body.starts_with('['));
    drop(c);
    let c = hold_poll(&t, TIME).await;
    drop(c);
    t.until_held(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_answers_held_polls() {
    let t = TestServer::start().await;
    let mut idle = Conn::open(&t).await;
    idle.send(TIME).await;
    idle.response(true).await;
    let mut held = hold_poll(&t, "").await;
    tokio::time::timeout(Duration::from_secs(10), t.server.shutdown()).await.expect("shutdown ends");
    assert!(idle.closed_by_server().await);
    let answer = held.response(true).await;
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(answer.body.ends_with(r#""m":[]}"#), "{}", answer.body);
    assert!(held.closed_by_server().await);
}
