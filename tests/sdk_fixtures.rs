//! End to end over real HTTP against a scripted local server: for each
//! operation and option, the exact request the SDK sends and the result it
//! decodes from every response shape of docs/PROTOCOL.md (fixtures in `fixtures/`).

use std::collections::BTreeMap;

use presence_tests::{Reply, ScriptedServer, fixture};
use pubnub_presence::{Error, HereNowResult};
use serde_json::json;

/// `(uuid, state)` pairs of a here_now channel.
fn occupants(result: &HereNowResult, channel: &str) -> Vec<(String, Option<serde_json::Value>)> {
    result.channels[channel].occupants.iter().map(|o| (o.uuid.clone(), o.state.clone())).collect()
}

#[tokio::test]
async fn here_now_single_channel_flat_shape_becomes_a_one_entry_map() {
    let server = ScriptedServer::start().await;
    server.reply(Reply::fixture("here_now_single.json"));
    let result = server.client("me").here_now().channels("lobby").await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/channel/lobby?limit=1000");
    assert_eq!((result.total_channels, result.total_occupancy), (1, 2));
    assert_eq!(result.channels.keys().collect::<Vec<_>>(), ["lobby"]);
    assert_eq!(result.channels["lobby"].channel_name, "lobby");
    assert_eq!(result.channels["lobby"].occupancy, 2);
    assert_eq!(occupants(&result, "lobby"), [("alice".into(), None), ("bob".into(), None)]);
}

#[tokio::test]
async fn here_now_single_channel_empty_occupancy_only_and_with_state() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");

    server.reply(Reply::fixture("here_now_single_empty.json"));
    let result = pubnub.here_now().channels("empty").await.unwrap();
    assert_eq!((result.total_occupancy, result.channels["empty"].occupants.len()), (0, 0));
    server.take_request();

    server.reply(Reply::fixture("here_now_single_occupancy_only.json"));
    let result = pubnub.here_now().channels("c").include_uuids(false).await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/channel/c?disable_uuids=1&limit=1000");
    assert_eq!(result.channels["c"].occupancy, 3);
    assert!(result.channels["c"].occupants.is_empty());

    server.reply(Reply::fixture("here_now_single_with_state.json"));
    let result = pubnub.here_now().channels("c").include_state(true).limit(2).offset(4).await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/channel/c?state=1&limit=2&offset=4");
    assert_eq!(
        occupants(&result, "c"),
        [("alice".into(), Some(json!({"mood": "happy", "level": [1, 2]}))), ("bob".into(), None)]
    );
}

#[tokio::test]
async fn here_now_multi_channel_names_are_encoded_one_by_one() {
    let server = ScriptedServer::start().await;
    server.reply(Reply::fixture("here_now_multi.json"));
    let result = server.client("me").here_now().channels(["room 1", "room,2", "a/b", "ünï😀"]).await.unwrap();
    assert_eq!(
        server.take_request(),
        "/v2/presence/sub-key/demo/channel/room%201,room%2C2,a%2Fb,%C3%BCn%C3%AF%F0%9F%98%80?limit=1000"
    );
    assert_eq!((result.total_channels, result.total_occupancy), (2, 3));
    assert_eq!(result.channels["room,2"].channel_name, "room,2");
    assert_eq!(occupants(&result, "room 1"), [("alice".into(), None), ("bob".into(), None)]);
}

#[tokio::test]
async fn here_now_groups_use_the_comma_path_and_payload_shape() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");

    server.reply(Reply::fixture("here_now_group_with_state.json"));
    let result = pubnub.here_now().channel_groups(["cg 1", "cg2"]).include_state(true).await.unwrap();
    assert_eq!(
        server.take_request(),
        "/v2/presence/sub-key/demo/channel/,?channel-group=cg%201,cg2&state=1&limit=1000"
    );
    assert_eq!(occupants(&result, "c1"), [("alice".into(), Some(json!({"team": "red"})))]);
    assert_eq!(occupants(&result, "c2"), [("bob".into(), None)]);

    // One channel plus a group is the payload shape too.
    server.reply(Reply::fixture("here_now_group_occupancy_only.json"));
    let result = pubnub.here_now().channels("c3").channel_groups("g").include_uuids(false).await.unwrap();
    assert_eq!(
        server.take_request(),
        "/v2/presence/sub-key/demo/channel/c3?channel-group=g&disable_uuids=1&limit=1000"
    );
    assert_eq!((result.total_occupancy, result.channels["c3"].occupancy), (4, 4));
}

#[tokio::test]
async fn here_now_global_and_nobody_present() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");

    server.reply(Reply::fixture("here_now_global.json"));
    let result = pubnub.here_now().await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo?limit=1000");
    assert_eq!(result.channels.keys().collect::<Vec<_>>(), ["game", "lobby"]);
    assert_eq!(result.total_occupancy, 3);

    server.reply(Reply::fixture("here_now_nobody.json"));
    let result = pubnub.here_now().channels(["a", "b"]).await.unwrap();
    assert_eq!((result.total_channels, result.total_occupancy, result.channels.len()), (0, 0, 0));
}

#[tokio::test]
async fn where_now_defaults_to_own_uuid_and_requires_the_payload() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me myself");

    server.reply(Reply::fixture("where_now.json"));
    let result = pubnub.where_now().await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/uuid/me%20myself");
    assert_eq!(result.channels, ["game", "lobby"]);

    server.reply(Reply::fixture("where_now_no_payload.json"));
    // No `payload.channels` is not "nowhere": the server always sends the list.
    let result = pubnub.where_now().uuid("other/ü").await;
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/uuid/other%2F%C3%BC");
    assert!(matches!(result, Err(Error::Decode { .. })), "{result:?}");
}

#[tokio::test]
async fn set_state_sends_compact_json_and_returns_the_echo() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");

    server.reply(Reply::fixture("set_state.json"));
    let result = pubnub.set_state().channels(["ch1", "ch 2"]).state(json!({"age": 20, "name": "Ada"})).await.unwrap();
    assert_eq!(
        server.take_request(),
        "/v2/presence/sub-key/demo/channel/ch1,ch%202/uuid/me/data?state=%7B%22age%22%3A20%2C%22name%22%3A%22Ada%22%7D"
    );
    assert_eq!(result.state, json!({"age": 20, "name": "Ada"}));

    server.reply(Reply::fixture("set_state.json"));
    pubnub.set_state().channel_groups("cg").uuid("someone").state(json!({})).await.unwrap();
    assert_eq!(
        server.take_request(),
        "/v2/presence/sub-key/demo/channel/,/uuid/someone/data?channel-group=cg&state=%7B%7D"
    );
}

#[tokio::test]
async fn get_state_single_and_multi_shapes_give_the_same_map() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("alice");

    server.reply(Reply::fixture("get_state_single.json"));
    let result = pubnub.get_state().channels("ch1").await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/channel/ch1/uuid/alice");
    assert_eq!(result.channels, BTreeMap::from([("ch1".to_owned(), json!({"age": 20, "name": "Ada"}))]));

    server.reply(Reply::fixture("get_state_single_none.json"));
    let result = pubnub.get_state().channels("ch1").await.unwrap();
    assert_eq!(result.channels["ch1"], json!({}));
    server.take_request();

    server.reply(Reply::fixture("get_state_multi.json"));
    let result = pubnub.get_state().channels(vec!["ch1", "ch2"]).channel_groups("cg").uuid("alice").await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/channel/ch1,ch2/uuid/alice?channel-group=cg");
    assert_eq!(result.channels, BTreeMap::from([("ch1".into(), json!({"age": 20})), ("ch2".into(), json!({}))]));
}

#[tokio::test]
async fn heartbeat_dedups_in_first_seen_order_and_sends_state_per_channel() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");

    server.reply(Reply::fixture("heartbeat_ack.json"));
    pubnub.heartbeat().channels(["b", "a", "b"]).await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/channel/b,a/heartbeat?heartbeat=300");

    server.reply(Reply::fixture("heartbeat_ack.json"));
    pubnub
        .heartbeat()
        .channels("a")
        .channel_groups(["g2", "g1"])
        .heartbeat(60)
        .state(json!({"a": {"mood": "ok"}}))
        .await
        .unwrap();
    assert_eq!(
        server.take_request(),
        "/v2/presence/sub-key/demo/channel/a/heartbeat?channel-group=g2,g1&heartbeat=60&state=%7B%22a%22%3A%7B%22mood%22%3A%22ok%22%7D%7D"
    );
}

#[tokio::test]
async fn leave_and_channel_group_management() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");

    server.reply(Reply::fixture("leave_ack.json"));
    pubnub.leave().channel_groups("friends").await.unwrap();
    assert_eq!(server.take_request(), "/v2/presence/sub-key/demo/channel/,/leave?channel-group=friends");

    server.reply(Reply::fixture("channel_group_ack.json"));
    pubnub.add_channel_to_channel_group().channel_group("my group").channels(["x y", "z"]).await.unwrap();
    assert_eq!(server.take_request(), "/v1/channel-registration/sub-key/demo/channel-group/my%20group?add=x%20y,z");

    server.reply(Reply::fixture("channel_group_ack.json"));
    pubnub.remove_channel_from_channel_group().channel_group("g").channels("z").await.unwrap();
    assert_eq!(server.take_request(), "/v1/channel-registration/sub-key/demo/channel-group/g?remove=z");

    server.reply(Reply::fixture("channel_group_list.json"));
    let list = pubnub.list_channels_in_channel_group().channel_group("friends").await.unwrap();
    assert_eq!(server.take_request(), "/v1/channel-registration/sub-key/demo/channel-group/friends");
    assert_eq!(list.channels, ["alice-status", "bob-status"]);

    server.reply(Reply::fixture("channel_group_list_empty.json"));
    let list = pubnub.list_channels_in_channel_group().channel_group("nobody").await.unwrap();
    assert!(list.channels.is_empty());
    server.take_request();

    server.reply(Reply::fixture("channel_group_ack.json"));
    pubnub.remove_channel_group().channel_group("g").await.unwrap();
    assert_eq!(server.take_request(), "/v1/channel-registration/sub-key/demo/channel-group/g/remove");
}

#[tokio::test]
async fn auth_and_signature_are_added_to_every_request() {
    let server = ScriptedServer::start().await;
    let pubnub = pubnub_presence::PubNub::new(
        server.config("me").auth_key("tok en").publish_key("pub").secret_key("SECRET-KEY-never-on-the-wire"),
    );
    server.reply(Reply::fixture("heartbeat_ack.json"));
    pubnub.heartbeat().channels("a").await.unwrap();
    let sent = server.requests().remove(0);
    let (path, query) = sent.split_once('?').unwrap();
    assert_eq!(path, "/v2/presence/sub-key/demo/channel/a/heartbeat");
    let keys: Vec<&str> = query.split('&').map(|kv| kv.split('=').next().unwrap()).collect();
    assert_eq!(keys, ["heartbeat", "uuid", "pnsdk", "auth", "timestamp", "signature"]);
    assert!(query.contains("auth=tok%20en"));
    assert!(query.contains("signature=v2."), "{query}");
    assert!(!sent.contains("SECRET-KEY"), "the secret key must never be sent: {sent}");
}

/// Runs one here_now against a scripted reply and returns the error.
async fn error_for(reply: Reply) -> Error {
    let server = ScriptedServer::start().await;
    server.reply(reply);
    // No retries here: each reply is asserted on its own (retries: reliability.rs).
    let pubnub = pubnub_presence::PubNub::new(server.config("me").retry_policy(pubnub_presence::RetryPolicy::none()));
    let err = pubnub.here_now().channels(["a", "b"]).await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    err
}

#[tokio::test]
async fn error_bodies_decode_to_the_right_error() {
    let err = error_for(Reply::new(403, fixture("error_403_access_manager.json"))).await;
    match &err {
        Error::Api { status: 403, message, service, body } => {
            assert_eq!(message, "Forbidden");
            assert_eq!(service.as_deref(), Some("Access Manager"));
            assert!(body.contains("secret"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());

    let err = error_for(Reply::new(400, fixture("error_400_invalid_json.json"))).await;
    assert!(matches!(&err, Error::Api { status: 400, message, .. } if message == "Invalid JSON specified."), "{err:?}");

    let err = error_for(Reply::new(503, fixture("error_503.json"))).await;
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());

    let err = error_for(Reply { status: 502, content_type: "text/html".into(), body: fixture("error_502.html") }).await;
    assert!(
        matches!(&err, Error::Api { status: 502, service: None, message, .. } if message.contains("502 Bad Gateway")),
        "{err:?}"
    );
    assert!(err.is_retryable());

    // An error reported inside an HTTP 200 is still an error.
    let err = error_for(Reply::new(200, fixture("error_in_200.json"))).await;
    assert!(matches!(&err, Error::Api { status: 402, .. }), "{err:?}");

    let err = error_for(Reply::new(200, fixture("truncated.json"))).await;
    match &err {
        Error::Decode { body, .. } => assert_eq!(body, &fixture("truncated.json")),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("not valid JSON"), "{err}");

    // A 200 of the wrong shape names the missing field.
    let err = error_for(Reply::new(200, r#"{"status": 200, "payload": {"channels": {}}}"#)).await;
    assert!(err.to_string().contains("missing field `total_channels`"), "{err}");
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");
    let cases: Vec<(Error, &str, &str)> = vec![
        (pubnub.here_now().limit(1001).await.unwrap_err(), "limit", "between 0 and 1000, got 1001"),
        (pubnub.here_now().channels(["ok", ""]).await.unwrap_err(), "channels", "must not be empty"),
        (pubnub.here_now().channels("x".repeat(2049)).await.unwrap_err(), "channels", "at most 2048 bytes"),
        (pubnub.where_now().uuid("u".repeat(93)).await.unwrap_err(), "uuid", "at most 92 bytes"),
        (pubnub.set_state().channels("c").await.unwrap_err(), "state", "is required"),
        (pubnub.set_state().channels("c").state(json!([1])).await.unwrap_err(), "state", "JSON object, got an array"),
        (
            pubnub.set_state().state(json!({})).await.unwrap_err(),
            "channels",
            "at least one of `channels`, `channel_groups`",
        ),
        (pubnub.get_state().await.unwrap_err(), "channels", "at least one of"),
        (pubnub.heartbeat().channels("c").heartbeat(5).await.unwrap_err(), "heartbeat", "at least 20, got 5"),
        (
            pubnub.heartbeat().channels("c").state(json!({"c": 1})).await.unwrap_err(),
            "state",
            "entry `c` must be a JSON object",
        ),
        (pubnub.leave().await.unwrap_err(), "channels", "at least one of"),
        (pubnub.add_channel_to_channel_group().channels("c").await.unwrap_err(), "channel_group", "is required"),
        (pubnub.add_channel_to_channel_group().channel_group("g").await.unwrap_err(), "channels", "at least one of"),
        (server.client("").where_now().uuid("x").await.unwrap_err(), "user_id", "must not be empty"),
        (pubnub.where_now().uuid("").await.unwrap_err(), "uuid", "must not be empty"),
        (pubnub.leave().channels(".").await.unwrap_err(), "channels", "must not be `.`"),
        (pubnub.where_now().uuid("..").await.unwrap_err(), "uuid", "must not be `..`"),
        (pubnub.here_now().channel_groups(["g", ""]).await.unwrap_err(), "channel_groups", "must not be empty"),
        (pubnub.here_now().channel_groups("g".repeat(2049)).await.unwrap_err(), "channel_groups", "at most 2048 bytes"),
        (
            pubnub.remove_channel_from_channel_group().channel_group("g").await.unwrap_err(),
            "channels",
            "at least one of",
        ),
        (
            pubnub_presence::PubNub::new(server.config("me").secret_key("s")).where_now().await.unwrap_err(),
            "publish_key",
            "is required",
        ),
    ];
    for (err, parameter, rule) in cases {
        match &err {
            Error::InvalidInput { parameter: p, rule: r } => {
                assert_eq!(*p, parameter, "{err}");
                assert!(r.contains(rule), "{err} should mention {rule:?}");
                assert!(err.to_string().contains(parameter));
            }
            other => panic!("expected InvalidInput for {parameter}, got {other:?}"),
        }
    }
    assert!(server.requests().is_empty(), "no request may be sent: {:?}", server.requests());
}

#[tokio::test]
async fn unreachable_server_is_a_retryable_transport_error() {
    // Port 0 never accepts connections: refused at once, no port to race for.
    let config = pubnub_presence::Config::new("demo")
        .user_id("me")
        .origin("http://127.0.0.1:0")
        .auth_key("SECRET-AUTH")
        .retry_policy(pubnub_presence::RetryPolicy::none());
    let err = pubnub_presence::PubNub::new(config).here_now().channels("a").await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(!format!("{err} {err:?}").contains("SECRET-AUTH"), "credentials leaked: {err:?}");
}

#[tokio::test]
async fn state_can_be_any_serializable_type() {
    #[derive(serde::Serialize)]
    struct Mood {
        mood: &'static str,
        level: u8,
    }
    let server = ScriptedServer::start().await;
    let pubnub = server.client("me");
    server.reply(Reply::fixture("set_state.json"));
    pubnub.set_state().channels("c").state(Mood { mood: "calm", level: 3 }).await.unwrap();
    // serde_json's map keeps keys sorted: the wire form is stable whatever the field order.
    assert_eq!(
        server.take_request(),
        "/v2/presence/sub-key/demo/channel/c/uuid/me/data?state=%7B%22level%22%3A3%2C%22mood%22%3A%22calm%22%7D"
    );

    server.reply(Reply::fixture("heartbeat_ack.json"));
    let per_channel = BTreeMap::from([("c", Mood { mood: "busy", level: 1 })]);
    pubnub.heartbeat().channels("c").state(per_channel).await.unwrap();
    assert!(server.take_request().ends_with("state=%7B%22c%22%3A%7B%22level%22%3A1%2C%22mood%22%3A%22busy%22%7D%7D"));

    // A value JSON cannot represent is an input error, before any request.
    let not_json = BTreeMap::from([((1, 2), "tuple keys")]);
    let err = pubnub.set_state().channels("c").state(not_json).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { parameter: "state", rule } if rule.contains("serialized")), "{err:?}");
    assert!(server.requests().is_empty());
}
