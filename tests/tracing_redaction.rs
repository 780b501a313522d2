//! Logs carry one span per request with the operation and attempts, and no
//! secrets. Alone in its own test binary: tracing caches per-callsite
//! interest process-wide, so a subscriber must not race other tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use presence_tests::{Fault, FaultServer};
use pubnub_presence::{Config, PubNub, RetryPolicy};

const OK_BODY: &str = r#"{"status": 200, "message": "OK", "payload": {"channels": ["lobby"]}, "service": "Presence"}"#;
const UNAVAILABLE: &str = r#"{"status": 503, "message": "Service Unavailable", "error": 1, "service": "Presence"}"#;

/// A `MakeWriter` collecting formatted log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_request_is_traced_without_secrets() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber in this binary");

    let server = FaultServer::start(vec![Fault::respond(503, UNAVAILABLE), Fault::respond(200, OK_BODY)]).await;
    let config = Config::new("demo")
        .user_id("me")
        .origin(server.url())
        .retry_policy(RetryPolicy::exponential(2).initial_delay(Duration::from_millis(1)))
        .auth_key("AUTH-SECRET-123")
        .publish_key("pub")
        .secret_key("SECRET-KEY-456");
    let debug = format!("{config:?}");
    let pubnub = PubNub::new(config);
    pubnub.where_now().await.unwrap();

    // A presence-events subscription: its span names the presence channels,
    // and a poll, an answer and a reconnect are each logged.
    server.push(Fault::respond(200, r#"{"t":{"t":"100","r":1},"m":[]}"#));
    server.push(Fault::respond(503, UNAVAILABLE));
    server.push(Fault::respond(403, r#"{"status":403,"error":true,"message":"Forbidden","service":"Access Manager"}"#));
    let mut events = pubnub.presence_events().channels("lobby").subscribe();
    let last = events.next().await.expect("the 403 ends the stream");
    assert_eq!(last.unwrap_err().status(), Some(403));

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("presence_request{operation=\"where_now\""), "{text}");
    assert!(text.contains("attempt=1") && text.contains("status=503"), "{text}");
    assert!(text.contains("attempt=2") && text.contains("elapsed_ms"), "{text}");
    assert!(text.contains("auth=[redacted]") && text.contains("signature=[redacted]"), "{text}");
    assert!(text.contains("presence_subscription{path=/v2/subscribe/demo/lobby-pnpres/0}"), "{text}");
    assert!(text.contains("poll") && text.contains("answer") && text.contains("reconnecting"), "{text}");
    assert!(text.contains("subscription ended"), "{text}");
    for secret in ["AUTH-SECRET-123", "SECRET-KEY-456"] {
        assert!(!text.contains(secret), "secret in logs: {text}");
        assert!(!debug.contains(secret), "secret in Debug: {debug}");
    }
}
