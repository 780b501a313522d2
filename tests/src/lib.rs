//! Test support: a scripted HTTP server that records every request the SDK
//! sends and answers with canned responses, one per request, in order.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use pubnub_presence::{Config, PubNub};

/// One canned answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` header.
    pub content_type: String,
    /// Body bytes as text.
    pub body: String,
}

impl Reply {
    /// A JSON-ish reply with PubNub's content type.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Reply { status, content_type: "text/javascript; charset=\"UTF-8\"".to_owned(), body: body.into() }
    }

    /// Reads `tests/fixtures/<name>` as a 200 reply.
    pub fn fixture(name: &str) -> Self {
        Reply::new(200, fixture(name))
    }
}

/// Contents of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[derive(Default)]
struct Shared {
    replies: VecDeque<Reply>,
    requests: Vec<String>,
}

/// A scripted server on an ephemeral port; stops when dropped.
pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts the server on 127.0.0.1 with an OS-assigned port.
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = axum::Router::new().fallback(answer).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ScriptedServer { addr, shared, task }
    }

    /// Queues the reply for the next request.
    pub fn reply(&self, reply: Reply) {
        self.shared.lock().expect("lock").replies.push_back(reply);
    }

    /// Path and query of every request received so far.
    pub fn requests(&self) -> Vec<String> {
        self.shared.lock().expect("lock").requests.clone()
    }

    /// The path and query of the only request since the last call, with the
    /// client's own `uuid` and `pnsdk` parameters removed for readability.
    pub fn take_request(&self) -> String {
        let mut shared = self.shared.lock().expect("lock");
        assert_eq!(shared.requests.len(), 1, "expected exactly one request, got {:?}", shared.requests);
        let request = shared.requests.remove(0);
        strip_common(&request)
    }

    /// A client for this server acting as `user_id`.
    pub fn client(&self, user_id: &str) -> PubNub {
        PubNub::new(self.config(user_id))
    }

    /// A config for this server acting as `user_id` (subscribe key `demo`).
    pub fn config(&self, user_id: &str) -> Config {
        Config::new("demo").user_id(user_id).origin(self.addr.to_string()).secure(false)
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Removes `uuid=…` and `pnsdk=…` (added to every request by the client).
pub fn strip_common(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else { return path_and_query.to_owned() };
    let kept: Vec<&str> =
        query.split('&').filter(|kv| !kv.starts_with("uuid=") && !kv.starts_with("pnsdk=")).collect();
    if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
}

async fn answer(State(shared): State<Arc<Mutex<Shared>>>, uri: Uri) -> Response {
    let reply = {
        let mut shared = shared.lock().expect("lock");
        shared.requests.push(uri.path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_default());
        shared.replies.pop_front()
    };
    match reply {
        Some(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, [(header::CONTENT_TYPE, reply.content_type)], reply.body).into_response()
        }
        None => (StatusCode::IM_A_TEAPOT, "no reply scripted for this request").into_response(),
    }
}

/// The README's Rust examples, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

/// What the fault-injecting server does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Reads the request, then closes the connection without answering.
    Drop,
    /// Answers normally (`Connection: close`).
    Respond {
        /// HTTP status.
        status: u16,
        /// Extra headers, e.g. `Retry-After`.
        headers: Vec<(String, String)>,
        /// Body text.
        body: String,
    },
    /// Sends the headers and the first part of the body, then waits for the
    /// client to give up (it never finishes the body).
    Stall {
        /// The part of the body that is sent.
        body_prefix: String,
    },
    /// Declares a longer body than it sends, then closes the connection.
    CutBody {
        /// The part of the body that is sent.
        body_prefix: String,
    },
}

impl Fault {
    /// A plain response with PubNub's content type.
    pub fn respond(status: u16, body: impl Into<String>) -> Self {
        Fault::Respond { status, headers: Vec::new(), body: body.into() }
    }
}

/// A raw HTTP/1.1 server on an ephemeral port that plays one [`Fault`] per
/// request (one request per connection) and counts the requests.
pub struct FaultServer {
    addr: SocketAddr,
    attempts: Arc<std::sync::atomic::AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultServer {
    /// Starts the server; `faults` are played in order, then every further
    /// request gets a 418 so an unexpected retry is visible.
    pub async fn start(faults: Vec<Fault>) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local address");
        let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = attempts.clone();
        let faults = Arc::new(Mutex::new(VecDeque::from(faults)));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let faults = faults.clone();
                let counter = counter.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut stream = stream;
                    let Some(target) = read_request_head(&mut stream).await else { return };
                    seen.lock().expect("lock").push(target);
                    counter.fetch_add(1, Ordering::SeqCst);
                    let fault = faults.lock().expect("lock").pop_front().unwrap_or_else(|| Fault::respond(418, "unexpected extra request"));
                    play(stream, fault).await;
                });
            }
        });
        FaultServer { addr, attempts, targets, task }
    }

    /// Requests received so far.
    pub fn attempts(&self) -> usize {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The path and query of each request received, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().expect("lock").clone()
    }

    /// Base URL, e.g. `http://127.0.0.1:40000`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the request head; returns the request target (path and query).
async fn read_request_head(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
    Some(line.split(' ').nth(1).unwrap_or_default().to_owned())
}

async fn play(mut stream: tokio::net::TcpStream, fault: Fault) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = |status: u16, length: usize, extra: &[(String, String)]| {
        let mut text = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: text/javascript; charset=\"UTF-8\"\r\nContent-Length: {length}\r\nConnection: close\r\n"
        );
        for (name, value) in extra {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        text
    };
    match fault {
        Fault::Drop => {}
        Fault::Respond { status, headers, body } => {
            let _ = stream.write_all(format!("{}{body}", head(status, body.len(), &headers)).as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Fault::Stall { body_prefix } => {
            let _ = stream.write_all(format!("{}{body_prefix}", head(200, body_prefix.len() + 100, &[])).as_bytes()).await;
            // Wait until the client hangs up: no timer on this side, so nothing to race.
            let mut sink = [0u8; 64];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Fault::CutBody { body_prefix } => {
            let _ = stream.write_all(format!("{}{body_prefix}", head(200, body_prefix.len() + 100, &[])).as_bytes()).await;
        }
    }
}
