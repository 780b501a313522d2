//! Shared helpers for the raw-HTTP protocol tests.
#![allow(dead_code)]

use presence_server::{ManualClock, PresenceServer, ServerConfig};

/// Fixed start time for manual clocks (2023-11-14T22:13:20Z).
pub const T0_MS: u64 = 1_700_000_000_000;

pub struct TestServer {
    pub server: PresenceServer,
    pub clock: ManualClock,
    pub client: reqwest::Client,
}

/// A started subscription: its last cursor.
pub struct Poll {
    pub cursor: String,
}

/// One HTTP response, as seen on the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ServerConfig::default()).await
    }

    pub async fn start_with(config: ServerConfig) -> Self {
        let clock = ManualClock::new(T0_MS);
        let server = PresenceServer::start(config.with_clock(clock.clone())).await.expect("server starts");
        Self { server, clock, client: plain_http_client() }
    }

    /// GET `path_and_query` (sent exactly as given, no re-encoding).
    pub async fn get(&self, path_and_query: &str) -> Response {
        self.request(reqwest::Method::GET, path_and_query).await
    }

    pub async fn request(&self, method: reqwest::Method, path_and_query: &str) -> Response {
        let url = format!("{}{}", self.server.url(), path_and_query);
        let resp = self.client.request(method, url).send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body = resp.text().await.expect("body read");
        Response { status, content_type, headers, body }
    }

    /// Handshakes on `names` (channel segment) of `demo` with `query`;
    /// returns the cursor.
    pub async fn handshake(&self, names: &str, query: &str) -> Poll {
        let r = self.get(&format!("/v2/subscribe/demo/{names}/0?{query}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.json();
        assert_eq!(body["m"], serde_json::json!([]), "a handshake carries no events");
        Poll { cursor: body["t"]["t"].as_str().expect("t.t is a string").to_owned() }
    }

    /// Waits until the server holds exactly `n` subscribe polls.
    pub async fn until_held(&self, n: usize) {
        held::until_held(&self.server, &format!("{n} held polls"), |held| held == n).await;
    }

    /// GET and assert a 200 with exactly `expected` as body.
    pub async fn expect_body(&self, path_and_query: &str, expected: &str) {
        let r = self.get(path_and_query).await;
        assert_eq!(r.status, 200, "GET {path_and_query}: {}", r.body);
        assert_eq!(r.body, expected, "GET {path_and_query}");
    }

    pub async fn heartbeat(&self, sub: &str, channels: &str, uuid: &str, extra: &str) {
        let r = self.get(&format!("/v2/presence/sub-key/{sub}/channel/{channels}/heartbeat?uuid={uuid}{extra}")).await;
        assert_eq!(r.status, 200, "heartbeat {channels} {uuid}: {}", r.body);
        assert_eq!(r.body, HEARTBEAT_OK);
    }
}

pub const HEARTBEAT_OK: &str = r#"{"message":"OK","service":"Presence","status":200}"#;
pub const LEAVE_OK: &str = r#"{"action":"leave","message":"OK","service":"Presence","status":200}"#;
pub const REGISTRY_OK: &str = r#"{"error":false,"message":"OK","service":"channel-registry","status":200}"#;
pub const PRESENCE_CT: &str = "text/javascript; charset=\"UTF-8\"";

#[path = "../../support/held.rs"]
mod held;
#[path = "../../support/http_client.rs"]
mod http_client;

/// A plain-HTTP reqwest client (with the crypto provider it needs here).
pub fn plain_http_client() -> reqwest::Client {
    http_client::install_crypto_provider();
    reqwest::Client::new()
}
