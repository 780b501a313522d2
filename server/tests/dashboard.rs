//! The dashboard's routes: the page at `/`, the subscribe keys in use at
//! `/dashboard/keys`, and neither with `--no-dashboard`. (The page itself is
//! tested in a real browser: tests/dashboard_browser.rs.)

mod common;

use common::TestServer;
use presence_server::ServerConfig;

#[tokio::test]
async fn the_page_and_the_keys_in_use() {
    let t = TestServer::start().await;
    let page = t.get("/").await;
    assert_eq!((page.status, page.content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.body.contains("<title>Presence dashboard</title>"));
    assert!(!page.body.contains("http://") && !page.body.contains("https://"), "no CDN, nothing off this server");

    assert_eq!(t.get("/dashboard/keys").await.json(), serde_json::json!({"subscribe_keys": []}));
    t.heartbeat("sub-b", "lobby", "alice", "").await;
    t.heartbeat("sub-a", "den", "bob", "").await;
    assert_eq!(t.get("/dashboard/keys").await.json(), serde_json::json!({"subscribe_keys": ["sub-a", "sub-b"]}));
}

#[tokio::test]
async fn no_dashboard_means_no_page() {
    let t = TestServer::start_with(ServerConfig::default().with_dashboard(false)).await;
    let page = t.get("/").await;
    assert_eq!(page.status, 404);
    assert_eq!(page.body, r#"{"error":1,"message":"Not Found","service":"Presence","status":404}"#);
    assert_eq!(t.get("/dashboard/keys").await.status, 404);
    // The protocol is unaffected.
    t.heartbeat("demo", "lobby", "alice", "").await;
}
