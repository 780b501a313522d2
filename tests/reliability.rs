//! Fault injection: a raw local HTTP server drops connections, answers 503
//! then 200, 429 with Retry-After, stalls a body past the timeout, sends HTML
//! or cuts the body short. Each scenario asserts the number of attempts and
//! the final outcome.

use std::time::Duration;

use presence_tests::{Fault, FaultServer};
use pubnub_presence::{Config, Error, PubNub, RetryPolicy, TimeoutKind};

const OK_BODY: &str = r#"{"status": 200, "message": "OK", "payload": {"channels": ["lobby"]}, "service": "Presence"}"#;
const UNAVAILABLE: &str = r#"{"status": 503, "message": "Service Unavailable", "error": 1, "service": "Presence"}"#;

/// Fast backoff so tests don't wait: 1 ms, 2 ms… capped at 10 ms.
fn fast(retries: u32) -> RetryPolicy {
    RetryPolicy::exponential(retries).initial_delay(Duration::from_millis(1)).max_delay(Duration::from_millis(10))
}

fn client(server: &FaultServer, policy: RetryPolicy) -> PubNub {
    PubNub::new(Config::new("demo").user_id("me").origin(server.url()).retry_policy(policy))
}

#[tokio::test]
async fn dropped_connection_then_success_is_retried() {
    let server = FaultServer::start(vec![Fault::Drop, Fault::respond(200, OK_BODY)]).await;
    let result = client(&server, fast(2)).where_now().await.unwrap();
    assert_eq!(result.channels, ["lobby"]);
    assert_eq!(server.attempts(), 2);
}

#[tokio::test]
async fn service_unavailable_then_success_is_retried() {
    let server = FaultServer::start(vec![
        Fault::respond(503, UNAVAILABLE),
        Fault::respond(503, UNAVAILABLE),
        Fault::respond(200, OK_BODY),
    ])
    .await;
    client(&server, fast(2)).where_now().await.unwrap();
    assert_eq!(server.attempts(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_policy_limit_with_the_last_error() {
    let server = FaultServer::start(vec![Fault::respond(503, UNAVAILABLE); 5]).await;
    let err = client(&server, fast(2)).where_now().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.attempts(), 3, "1 attempt + 2 retries");

    let server = FaultServer::start(vec![Fault::respond(503, UNAVAILABLE); 5]).await;
    client(&server, RetryPolicy::none()).where_now().await.unwrap_err();
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let throttled = Fault::Respond {
        status: 429,
        headers: vec![("Retry-After".into(), "0".into())],
        body: r#"{"status":429,"error":true,"message":"Too many requests."}"#.into(),
    };
    let server = FaultServer::start(vec![throttled, Fault::respond(200, OK_BODY)]).await;
    // Backoff alone would wait a minute; Retry-After: 0 says go now.
    let policy = RetryPolicy::exponential(1).initial_delay(Duration::from_secs(60)).max_delay(Duration::from_secs(60));
    let result = tokio::time::timeout(Duration::from_secs(30), client(&server, policy).where_now()).await;
    assert!(result.expect("Retry-After was not honoured").is_ok());
    assert_eq!(server.attempts(), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    // A date in the past means "now"; ignoring it would fall back to a minute of backoff.
    let throttled = Fault::Respond {
        status: 503,
        headers: vec![("Retry-After".into(), "Wed, 21 Oct 2015 07:28:00 GMT".into())],
        body: UNAVAILABLE.into(),
    };
    let server = FaultServer::start(vec![throttled, Fault::respond(200, OK_BODY)]).await;
    let policy = RetryPolicy::exponential(1).initial_delay(Duration::from_secs(60)).max_delay(Duration::from_secs(60));
    let result = tokio::time::timeout(Duration::from_secs(30), client(&server, policy).where_now()).await;
    assert!(result.expect("an HTTP-date Retry-After was not honoured").is_ok());
    assert_eq!(server.attempts(), 2);
}

#[tokio::test]
async fn a_5xx_reported_inside_a_200_is_retried_like_an_http_5xx() {
    let server = FaultServer::start(vec![Fault::respond(200, UNAVAILABLE), Fault::respond(200, OK_BODY)]).await;
    let result = client(&server, fast(2)).where_now().await.unwrap();
    assert_eq!(result.channels, ["lobby"]);
    assert_eq!(server.attempts(), 2);

    // Same for operations without a result, and the last error is kept when retries run out.
    let server = FaultServer::start(vec![Fault::respond(200, UNAVAILABLE); 3]).await;
    let err = client(&server, fast(2)).leave().channels("a").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.attempts(), 3);

    // A 4xx inside a 200 is not retried.
    let forbidden = r#"{"status": 403, "error": true, "message": "Forbidden", "service": "Access Manager"}"#;
    let server = FaultServer::start(vec![Fault::respond(200, forbidden), Fault::respond(200, OK_BODY)]).await;
    assert_eq!(client(&server, fast(2)).where_now().await.unwrap_err().status(), Some(403));
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let bad = r#"{"status": 400, "error": 1, "message": "Invalid JSON specified.", "service": "Presence"}"#;
    let server = FaultServer::start(vec![Fault::respond(400, bad), Fault::respond(200, OK_BODY)]).await;
    let err = client(&server, fast(2)).where_now().await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn a_stalled_body_trips_the_request_timeout() {
    let server = FaultServer::start(vec![Fault::Stall { body_prefix: "{\"status\": 200, ".into() }; 2]).await;
    let config = Config::new("demo")
        .user_id("me")
        .origin(server.url())
        .retry_policy(fast(1))
        .request_timeout(Duration::from_millis(300));
    let err = PubNub::new(config).where_now().await.unwrap_err();
    match &err {
        Error::Timeout { kind: TimeoutKind::Request, timeout } => assert_eq!(*timeout, Duration::from_millis(300)),
        other => panic!("expected a request timeout, got {other:?}"),
    }
    assert!(err.to_string().starts_with("request timed out after 300ms"), "{err}");
    assert!(err.is_retryable());
    assert_eq!(server.attempts(), 2, "timeouts are retried");
}

#[tokio::test]
async fn an_html_200_is_a_decode_error_and_not_retried() {
    let html = "<html><body>Captive portal: please log in</body></html>";
    let server = FaultServer::start(vec![Fault::respond(200, html), Fault::respond(200, OK_BODY)]).await;
    let err = client(&server, fast(2)).where_now().await.unwrap_err();
    match &err {
        Error::Decode { body, .. } => assert_eq!(body, html),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn a_body_cut_short_is_a_retryable_transport_error() {
    let server = FaultServer::start(vec![Fault::CutBody { body_prefix: "{\"status\": 200, \"pay".into() }; 3]).await;
    let err = client(&server, fast(2)).where_now().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(server.attempts(), 3);
}

#[tokio::test]
async fn a_truncated_json_body_is_a_decode_error_keeping_the_body() {
    let server = FaultServer::start(vec![Fault::respond(200, "{\"status\": 200, \"payload\": {\"chan")]).await;
    let err = client(&server, fast(2)).where_now().await.unwrap_err();
    assert!(matches!(&err, Error::Decode { body, .. } if body.ends_with("chan")), "{err:?}");
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn a_5xx_html_page_is_retried() {
    let html =
        Fault::Respond { status: 502, headers: Vec::new(), body: "<html><body>502 Bad Gateway</body></html>".into() };
    let server = FaultServer::start(vec![html, Fault::respond(200, OK_BODY)]).await;
    client(&server, fast(2)).where_now().await.unwrap();
    assert_eq!(server.attempts(), 2);
}

#[tokio::test]
async fn every_attempt_is_signed() {
    let server = FaultServer::start(vec![Fault::respond(503, UNAVAILABLE), Fault::respond(200, OK_BODY)]).await;
    let config = Config::new("demo")
        .user_id("me")
        .origin(server.url())
        .retry_policy(fast(2))
        .publish_key("pub")
        .secret_key("sec-key-for-test");
    PubNub::new(config).where_now().await.unwrap();
    let targets = server.targets();
    assert_eq!(targets.len(), 2);
    for target in targets {
        assert!(target.contains("&timestamp=") && target.contains("&signature=v2."), "{target}");
    }
}

#[tokio::test]
async fn a_bad_origin_is_an_input_error_and_not_retried() {
    let config = Config::new("demo").user_id("me").origin("http://exa mple.com").retry_policy(fast(2));
    let err = PubNub::new(config).where_now().await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { parameter: "origin", .. }), "{err:?}");
}

#[tokio::test]
async fn non_object_bodies_are_not_acknowledgements() {
    for body in ["null", "[]", "\"OK\"", "0"] {
        let server = FaultServer::start(vec![Fault::respond(200, body)]).await;
        let pubnub = client(&server, fast(2));
        let err = pubnub.leave().channels("c").await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err:?}");
        let server = FaultServer::start(vec![Fault::respond(200, body)]).await;
        let err = client(&server, fast(2)).where_now().await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err:?}");
    }
}
