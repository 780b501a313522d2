//! Regressions for the wrong answers a probe of the public API found (issue
//! 10): each test failed before its fix. Scripted answers where the wire
//! shape matters, the local presence server where both sides must agree.

use presence_server::{PresenceServer, ServerConfig};
use presence_tests::{Fault, FaultServer, Reply, ScriptedServer};
use pubnub_presence::{Config, Error, PubNub, RetryPolicy};
use serde_json::{Value, json};

async fn local_server() -> PresenceServer {
    PresenceServer::start(ServerConfig::default()).await.expect("start the local presence server")
}

fn client_of(server: &PresenceServer, user: &str) -> PubNub {
    PubNub::new(Config::new("probe").user_id(user).origin(server.url()))
}

fn is_decode(result: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::Decode { .. }))
}

fn invalid_parameter<T: std::fmt::Debug>(result: Result<T, Error>) -> (&'static str, String) {
    match result {
        Err(Error::InvalidInput { parameter, rule }) => (parameter, rule),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

/// A JSON object nested `depth` levels deep: `{"d":{"d":…{"v":1}}}`.
fn nested_state(depth: usize) -> Value {
    let mut state = json!({"v": 1});
    for _ in 1..depth {
        state = json!({ "d": state });
    }
    state
}

// 1. A required field of a shape must be present.

#[tokio::test]
async fn get_state_over_several_channels_without_payload_channels_is_a_decode_error() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");
    let single_shaped = r#"{"status": 200, "message": "OK", "payload": {"mood": "happy"}, "uuid": "me", "channel": "a", "service": "Presence"}"#;
    let no_payload = r#"{"status": 200, "message": "OK", "service": "Presence", "uuid": "me"}"#;
    for body in [single_shaped, no_payload] {
        server.reply(Reply::new(200, body));
        let result = pubnub.get_state().channels(["a", "b"]).await;
        assert!(is_decode(&result), "{body}: {result:?}");
    }
}

#[test]
fn every_shape_requires_the_containers_the_server_always_sends() {
    let pubnub = PubNub::new(Config::new("demo").user_id("me"));
    let no_payload = r#"{"status": 200, "message": "OK", "service": "Presence"}"#;
    assert!(is_decode(&pubnub.where_now().decode_response(200, no_payload)));
    assert!(is_decode(&pubnub.here_now().channels(["a", "b"]).decode_response(200, no_payload)));
    assert!(is_decode(&pubnub.get_state().channels(["a", "b"]).decode_response(200, no_payload)));
    assert!(is_decode(&pubnub.get_state().channels("a").decode_response(200, no_payload)));
    assert!(is_decode(&pubnub.set_state().channels("a").state(json!({})).decode_response(200, no_payload)));
    let list = pubnub.list_channels_in_channel_group().channel_group("g");
    assert!(is_decode(
        &list.decode_response(200, r#"{"status": 200, "payload": {"group": "g"}, "service": "channel-registry"}"#)
    ));
    let totals_only =
        r#"{"status": 200, "payload": {"total_channels": 0, "total_occupancy": 0}, "service": "Presence"}"#;
    assert!(is_decode(&pubnub.here_now().channels(["a", "b"]).decode_response(200, totals_only)));
    // What the server really omits stays optional: `uuids` with disable_uuids.
    let counts = r#"{"status": 200, "payload": {"channels": {"a": {"occupancy": 2}}, "total_channels": 1, "total_occupancy": 2}, "service": "Presence"}"#;
    let result = pubnub.here_now().channels(["a", "b"]).include_uuids(false).decode_response(200, counts).unwrap();
    assert_eq!(result.channels["a"].occupancy, 2);
}

// 2. Names given twice are sent once, and the expected shape follows.

#[tokio::test]
async fn the_same_channel_named_twice_is_asked_about_once() {
    let server = local_server().await;
    let pubnub = client_of(&server, "u1");
    pubnub.heartbeat().channels("load").await.unwrap();
    pubnub.set_state().channels("s").state(json!({"mood": "happy"})).await.unwrap();

    let request = pubnub.here_now().channels(["load", "load"]).build_request().unwrap();
    assert_eq!(request.path(), "/v2/presence/sub-key/probe/channel/load");
    let here = pubnub.here_now().channels(["load", "load"]).await.unwrap();
    assert_eq!((here.total_channels, here.total_occupancy), (1, 1));
    assert_eq!(here.channels["load"].occupants[0].uuid, "u1");

    let state = pubnub.get_state().channels(["s", "s"]).await.unwrap();
    assert_eq!(state.channels["s"], json!({"mood": "happy"}));

    // First-seen order is kept (no sorting), everywhere.
    let request =
        pubnub.heartbeat().channels(["b", "a", "b"]).channel_groups(["g2", "g1", "g2"]).build_request().unwrap();
    assert_eq!(request.path(), "/v2/presence/sub-key/probe/channel/b,a/heartbeat");
    assert!(request.query().iter().any(|(k, v)| *k == "channel-group" && v == "g2,g1"), "{:?}", request.query());
    server.shutdown().await;
}

// 3. Names the wire cannot carry are rejected before any I/O.

#[test]
fn group_names_and_listed_names_cannot_hold_a_comma() {
    let pubnub = PubNub::new(Config::new("demo").user_id("me"));
    let (parameter, rule) =
        invalid_parameter(pubnub.add_channel_to_channel_group().channel_group("x,y").channels("a").build_request());
    assert_eq!(parameter, "channel_group");
    assert!(rule.contains("`,`"), "{rule}");
    let (parameter, _) = invalid_parameter(pubnub.here_now().channel_groups("x,y").build_request());
    assert_eq!(parameter, "channel_groups");
    let (parameter, _) =
        invalid_parameter(pubnub.add_channel_to_channel_group().channel_group("g").channels("a,b").build_request());
    assert_eq!(parameter, "channels");
    let (parameter, _) = invalid_parameter(pubnub.leave().channel_groups(["ok", "not,ok"]).build_request());
    assert_eq!(parameter, "channel_groups");
    for op in [
        pubnub.list_channels_in_channel_group().channel_group("x,y").build_request().map(drop),
        pubnub.remove_channel_group().channel_group("x,y").build_request().map(drop),
    ] {
        assert_eq!(invalid_parameter(op).0, "channel_group");
    }
    // A channel name in a path travels as `%2C`, unambiguously.
    let request = pubnub.here_now().channels(["c,d", "e"]).build_request().unwrap();
    assert_eq!(request.path(), "/v2/presence/sub-key/demo/channel/c%2Cd,e");
}

#[tokio::test]
async fn the_server_rejects_a_group_name_with_a_comma() {
    let server = local_server().await;
    let url = format!("{}/v1/channel-registration/sub-key/probe/channel-group/x%2Cy?add=a&uuid=u", server.url());
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], 400);
    assert!(body["message"].as_str().unwrap().contains(','), "{body}");
    server.shutdown().await;
}

// 4. One nesting limit for state, on both sides; states within it decode everywhere.

#[tokio::test]
async fn state_at_the_nesting_limit_round_trips_and_deeper_is_rejected() {
    let limit = pubnub_presence_runtime::validate::MAX_STATE_DEPTH;
    assert_eq!(limit, presence_server::MAX_STATE_DEPTH, "SDK and server hold one line");
    let server = local_server().await;
    let pubnub = client_of(&server, "deep");
    let deepest = nested_state(limit);
    let echoed = pubnub.set_state().channels("deep").state(deepest.clone()).await.unwrap();
    assert_eq!(echoed.state, deepest);
    pubnub.heartbeat().channels(["deep", "other"]).state(json!({ "other": deepest })).await.unwrap();
    let here = pubnub.here_now().channels(["deep", "other"]).include_state(true).await.unwrap();
    assert_eq!(here.channels["deep"].occupants[0].state.as_ref(), Some(&deepest));
    let single = pubnub.here_now().channels("deep").include_state(true).await.unwrap();
    assert_eq!(single.channels["deep"].occupants[0].state.as_ref(), Some(&deepest));
    let read = pubnub.get_state().channels(["deep", "other"]).await.unwrap();
    assert_eq!(read.channels["other"], deepest);

    let too_deep = nested_state(limit + 1);
    let (parameter, rule) =
        invalid_parameter(pubnub.set_state().channels("deep").state(too_deep.clone()).build_request());
    assert_eq!(parameter, "state");
    assert!(rule.contains(&limit.to_string()), "{rule}");
    let (parameter, _) =
        invalid_parameter(pubnub.heartbeat().channels("deep").state(json!({ "deep": too_deep })).build_request());
    assert_eq!(parameter, "state");

    // The server holds the same line for clients that skip the check.
    let encoded: String = too_deep.to_string().bytes().map(|b| format!("%{b:02X}")).collect();
    let url =
        format!("{}/v2/presence/sub-key/probe/channel/deep/uuid/deep/data?state={encoded}&uuid=deep", server.url());
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(body["message"].as_str().unwrap().contains("nested"), "{body}");
    server.shutdown().await;
}

// 5. A numeric string `status` is a status.

#[test]
fn an_error_status_given_as_a_string_is_an_api_error() {
    let pubnub = PubNub::new(Config::new("demo").user_id("me"));
    let body = r#"{"status": "403", "error": true, "message": "Forbidden", "service": "Access Manager"}"#;
    let err = pubnub.where_now().decode_response(200, body).unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    let err = pubnub.leave().channels("a").decode_response(200, r#"{"status": "503", "message": "busy"}"#).unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");
}

// 6. Redirects are not followed.

#[tokio::test]
async fn a_redirect_is_an_error_naming_the_location_and_is_not_followed() {
    let server = FaultServer::start(vec![Fault::Respond {
        status: 302,
        headers: vec![("Location".into(), "http://127.0.0.1:9/elsewhere?uuid=me&auth=SECRET".into())],
        body: String::new(),
    }])
    .await;
    let pubnub =
        PubNub::new(Config::new("demo").user_id("me").origin(server.url()).retry_policy(RetryPolicy::exponential(3)));
    let err = pubnub.where_now().await.unwrap_err();
    match &err {
        Error::Api { status: 302, message, .. } => {
            assert!(message.contains("http://127.0.0.1:9/elsewhere"), "{message}");
            assert!(!message.contains("SECRET"), "credentials echoed in a Location stay out of errors: {message}");
        }
        other => panic!("expected a 302 Api error, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(server.attempts(), 1);
}

// 7 is in tests/reliability.rs (5xx inside a 200, Retry-After as an HTTP date).

#[tokio::test]
async fn a_config_problem_is_reported_by_every_request_before_io_without_panicking() {
    // Nothing listens on port 1: a request that reached the network would be a Transport error.
    let pubnub =
        PubNub::new(Config::new("").user_id("me").origin("http://127.0.0.1:1").retry_policy(RetryPolicy::none()));
    assert_eq!(invalid_parameter(pubnub.where_now().await).0, "subscribe_key");
    assert_eq!(invalid_parameter(pubnub.heartbeat().channels("a").await).0, "subscribe_key");
    let signed = PubNub::new(Config::new("demo").user_id("me").secret_key("s").origin("http://127.0.0.1:1"));
    assert_eq!(invalid_parameter(signed.leave().channels("a").await).0, "publish_key");
}
