//! Test support, in one place for every test and bench of this crate: the
//! local presence server with a manual clock and SDK clients pointed at it
//! ([`World`]); a raw HTTP server that records every request the SDK sends
//! and plays one canned answer or fault per request, in order
//! ([`FaultServer`]), and a friendlier face for canned replies
//! ([`ScriptedServer`]); waiting on a condition ([`until`], [`until_async`]);
//! and a plain HTTP client ([`plain_http_client`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use presence_server::{ManualClock, PresenceServer, ServerConfig};
use pubnub_presence::{Config, PubNub};

/// The local presence server on an ephemeral port, with a manual clock (so
/// timeouts and intervals happen when a test says, never by waiting), and
/// SDK clients pointed at it on one subscribe key.
pub struct World {
    pub server: PresenceServer,
    pub clock: ManualClock,
    sub_key: &'static str,
}

impl World {
    /// Starts the server with `config` (its clock replaced by a manual one
    /// that starts at the wall clock's time, so signed requests' timestamps fit).
    pub async fn start(sub_key: &'static str, config: ServerConfig) -> Self {
        let clock = ManualClock::starting_now();
        let server = PresenceServer::start(config.with_clock(clock.clone())).await.expect("the server starts");
        World { server, clock, sub_key }
    }

    /// A client of user `user`.
    pub fn client(&self, user: &str) -> PubNub {
        PubNub::new(self.config(user))
    }

    /// The configuration [`World::client`] uses, to change before building a client.
    pub fn config(&self, user: &str) -> Config {
        Config::new(self.sub_key).user_id(user).origin(self.server.url())
    }

    /// Waits (bounded) until the server holds at least `n` subscribe polls:
    /// the watchers have handshaken and are long-polling, so anything from
    /// now on reaches them.
    pub async fn until_held(&self, n: usize) {
        held::until_held(&self.server, "the watchers to be long-polling", |held| held >= n).await;
    }
}

/// Runs a presence-event subscription in a task and hands its items over a
/// channel, so a test can wait for the next one with a deadline.
pub fn watch(
    events: pubnub_presence::PresenceEvents,
) -> tokio::sync::mpsc::UnboundedReceiver<Result<pubnub_presence::PresenceEvent, pubnub_presence::Error>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut stream = events.subscribe();
    tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            if tx.send(item).is_err() {
                break;
            }
        }
    });
    rx
}

/// A plain-HTTP reqwest client for talking to servers directly. Installs the
/// ring crypto provider first: in a workspace build reqwest is compiled with
/// `rustls-no-provider` (for the SDK), and building a client without a
/// provider would panic.
pub fn plain_http_client() -> reqwest::Client {
    http_client::install_crypto_provider();
    reqwest::Client::new()
}

// The one place the workspace's tests and benches install the provider.
#[path = "../../server/support/held.rs"]
mod held;
#[path = "../../server/support/http_client.rs"]
mod http_client;

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

/// A scripted server on an ephemeral port: each request gets the next queued
/// [`Reply`] (a 418 when none is queued); stops when dropped. A thin layer over
/// [`FaultServer`], which does the HTTP.
pub struct ScriptedServer {
    inner: FaultServer,
}

impl ScriptedServer {
    /// Starts the server on 127.0.0.1 with an OS-assigned port.
    pub async fn start() -> Self {
        ScriptedServer { inner: FaultServer::start(Vec::new()).await }
    }

    /// Queues the reply for the next request.
    pub fn reply(&self, reply: Reply) {
        self.inner.push(Fault::Respond {
            status: reply.status,
            headers: vec![("Content-Type".to_owned(), reply.content_type)],
            body: reply.body,
        });
    }

    /// Path and query of every request received since the last [`ScriptedServer::take_request`].
    pub fn requests(&self) -> Vec<String> {
        self.inner.targets()
    }

    /// The path and query of the only request since the last call, with the
    /// client's own `uuid` and `pnsdk` parameters removed for readability.
    pub fn take_request(&self) -> String {
        let requests = self.inner.take_targets();
        assert_eq!(requests.len(), 1, "expected exactly one request, got {requests:?}");
        strip_common(&requests[0])
    }

    /// A client for this server acting as `user_id`.
    pub fn client(&self, user_id: &str) -> PubNub {
        PubNub::new(self.config(user_id))
    }

    /// A config for this server acting as `user_id` (subscribe key `demo`).
    pub fn config(&self, user_id: &str) -> Config {
        Config::new("demo").user_id(user_id).origin(self.inner.url())
    }
}

/// Removes `uuid=…` and `pnsdk=…` (added to every request by the client).
pub fn strip_common(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else { return path_and_query.to_owned() };
    let kept: Vec<&str> = query.split('&').filter(|kv| !kv.starts_with("uuid=") && !kv.starts_with("pnsdk=")).collect();
    if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
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
/// request (one request per connection) and counts the connections and requests.
pub struct FaultServer {
    addr: SocketAddr,
    connections: Arc<std::sync::atomic::AtomicUsize>,
    attempts: Arc<std::sync::atomic::AtomicUsize>,
    faults: Arc<Mutex<VecDeque<Fault>>>,
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
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let accepted = connections.clone();
        let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = attempts.clone();
        let faults = Arc::new(Mutex::new(VecDeque::from(faults)));
        let queue = faults.clone();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let faults = queue.clone();
                let counter = counter.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut stream = stream;
                    let Some(target) = read_request_head(&mut stream).await else { return };
                    seen.lock().expect("lock").push(target);
                    counter.fetch_add(1, Ordering::SeqCst);
                    let fault = faults
                        .lock()
                        .expect("lock")
                        .pop_front()
                        .unwrap_or_else(|| Fault::respond(418, "unexpected extra request"));
                    play(stream, fault).await;
                });
            }
        });
        FaultServer { addr, connections, attempts, faults, targets, task }
    }

    /// Connections accepted so far, whether or not a request followed.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Requests received so far.
    pub fn attempts(&self) -> usize {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Queues one more fault, played after those already queued.
    pub fn push(&self, fault: Fault) {
        self.faults.lock().expect("lock").push_back(fault);
    }

    /// The path and query of each request received, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().expect("lock").clone()
    }

    /// Like [`FaultServer::targets`], and forgets them.
    pub fn take_targets(&self) -> Vec<String> {
        std::mem::take(&mut *self.targets.lock().expect("lock"))
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
        let mut text = format!("HTTP/1.1 {status} X\r\nContent-Length: {length}\r\nConnection: close\r\n");
        if !extra.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
            text.push_str("Content-Type: text/javascript; charset=\"UTF-8\"\r\n");
        }
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
            let _ =
                stream.write_all(format!("{}{body_prefix}", head(200, body_prefix.len() + 100, &[])).as_bytes()).await;
            // Wait until the client hangs up: no timer on this side, so nothing to race.
            let mut sink = [0u8; 64];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Fault::CutBody { body_prefix } => {
            let _ =
                stream.write_all(format!("{}{body_prefix}", head(200, body_prefix.len() + 100, &[])).as_bytes()).await;
        }
    }
}

/// Polls `ready` until true; panics after 10 s (a deadline, not a timing assumption).
pub async fn until(mut ready: impl FnMut() -> bool, what: &str) {
    until_async(|| std::future::ready(ready()), what).await;
}

/// [`until`] for a condition that must itself await (a request to the
/// server, say): polls it every 5 ms; panics after 10 s.
pub async fn until_async<F: std::future::Future<Output = bool>>(mut ready: impl FnMut() -> F, what: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ready().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
