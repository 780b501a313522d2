//! The dashboard's routes: the page at `/`, the subscribe keys in use at
//! `/dashboard/keys`, occupancy over time at `/dashboard/occupancy`, and
//! none of them with `--no-dashboard`. (The page itself is tested in a real
//! browser: tests/dashboard_browser.rs.)

mod common;

use std::time::Duration;

use common::{T0_MS, TestServer};
use presence_server::ServerConfig;
use serde_json::json;

impl TestServer {
    async fn server_keys(&self) -> Vec<serde_json::Value> {
        self.get("/dashboard/keys").await.json()["subscribe_keys"].as_array().unwrap().clone()
    }

    /// Waits (the reaper runs on its own task) until `channel` of `demo` has `n` occupants.
    async fn until_occupancy(&self, channel: &str, n: u64) {
        for _ in 0..200 {
            let here = self.get(&format!("/v2/presence/sub-key/demo/channel/{channel}?disable_uuids=1")).await;
            if here.json()["occupancy"] == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{channel} never had {n} occupants");
    }
}

#[tokio::test]
async fn the_page_and_the_keys_in_use() {
    let t = TestServer::start().await;
    let page = t.get("/").await;
    assert_eq!((page.status, page.content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.body.contains("<title>Presence dashboard</title>"));
    assert!(!page.body.contains("http://") && !page.body.contains("https://"), "no CDN, nothing off this server");

    assert_eq!(t.get("/dashboard/keys").await.json(), serde_json::json!({"subscribe_keys": [], "data_file": null}));
    t.heartbeat("sub-b", "lobby", "alice", "").await;
    t.heartbeat("sub-a", "den", "bob", "").await;
    assert_eq!(t.get("/dashboard/keys").await.json()["subscribe_keys"], serde_json::json!(["sub-a", "sub-b"]));
}

#[tokio::test]
async fn no_dashboard_means_no_page() {
    let t = TestServer::start_with(ServerConfig::default().with_dashboard(false)).await;
    let page = t.get("/").await;
    assert_eq!(page.status, 404);
    assert_eq!(page.body, r#"{"error":1,"message":"Not Found","service":"Presence","status":404}"#);
    assert_eq!(t.get("/dashboard/keys").await.status, 404);
    assert_eq!(t.get("/dashboard/occupancy?sub_key=demo").await.status, 404);
    // The protocol is unaffected.
    t.heartbeat("demo", "lobby", "alice", "").await;
}

#[tokio::test]
async fn occupancy_over_the_last_ten_minutes() {
    let t = TestServer::start().await;
    let empty = t.get("/dashboard/occupancy?sub_key=demo").await;
    assert_eq!((empty.status, empty.content_type.as_str()), (200, "application/json"));
    assert_eq!(empty.json(), json!({"window_ms": 600_000, "now_ms": T0_MS, "channels": {}}));
    assert!(t.server_keys().await.is_empty(), "asking does not create the key");

    t.heartbeat("demo", "lobby", "alice", "&heartbeat=60").await;
    t.clock.advance(Duration::from_secs(5));
    t.heartbeat("demo", "lobby,den", "bob", "&heartbeat=60").await;
    t.heartbeat("demo", "lobby", "bob", "&heartbeat=60").await; // no change, no point
    t.clock.advance(Duration::from_secs(5));
    assert_eq!(t.get("/v2/presence/sub-key/demo/channel/den/leave?uuid=bob").await.status, 200);
    let at = |s: u64| T0_MS + s * 1000;
    assert_eq!(
        t.get("/dashboard/occupancy?sub_key=demo").await.json(),
        json!({"window_ms": 600_000, "now_ms": at(10), "channels": {
            "den": [[at(5), 1], [at(10), 0]],
            "lobby": [[at(0), 1], [at(5), 2]],
        }})
    );

    // A timeout counts at its expiry. Ten minutes on, the line of lobby
    // starts with the last point before the window; den, empty since before
    // it, is no longer listed, and lobby neither once it has been empty for
    // the whole window.
    t.clock.advance(Duration::from_secs(60));
    t.until_occupancy("lobby", 0).await;
    t.clock.advance(Duration::from_secs(550));
    assert_eq!(
        t.get("/dashboard/occupancy?sub_key=demo").await.json(),
        json!({"window_ms": 600_000, "now_ms": at(620), "channels": {
            "lobby": [[at(5), 2], [at(60), 1], [at(65), 0]],
        }})
    );
    t.clock.advance(Duration::from_secs(60));
    assert_eq!(t.get("/dashboard/occupancy?sub_key=demo").await.json()["channels"], json!({}));
    assert_eq!(t.get("/dashboard/occupancy?sub_key=other").await.json()["channels"], json!({}));
}
