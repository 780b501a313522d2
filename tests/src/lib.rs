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
