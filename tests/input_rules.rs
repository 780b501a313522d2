//! Input rules that hold for every operation before any network I/O, each
//! proved against a local server that counts the connections it accepts:
//!
//! 1. A request URL over 32 KiB is an `InvalidInput` naming the parameter
//!    that made it long (names in the path or in the query, state, a config
//!    value), from `build_request()` as from `.await`, for every operation and
//!    for `join()`, `presence_view()` and `presence_events()`.
//! 2. Where presence is made (heartbeat, set_state, leave, so `join()`), a
//!    name ending in `-pnpres` (a presence channel, where no one is ever
//!    present) is refused; queries and presence events still send it.

use presence_tests::{Fault, FaultServer};
use pubnub_presence::{Config, Error, PubNub, RetryPolicy};
use serde_json::json;

/// 32 KiB, as the README promises.
const LIMIT: usize = 32 * 1024;

/// A client of `server` that never retries (each request is one connection).
fn client_of(server: &FaultServer) -> PubNub {
    PubNub::new(Config::new("demo").user_id("me").origin(server.url()).retry_policy(RetryPolicy::none()))
}

/// 20 distinct names of 2,000 bytes each: 40,019 bytes once joined.
fn long_names() -> Vec<String> {
    (0..20).map(|i| format!("{i:0>2000}")).collect()
}

/// The parameter and rule of an `InvalidInput`, or a panic naming what came instead.
fn invalid<T: std::fmt::Debug>(result: Result<T, Error>) -> (&'static str, String) {
    match result {
        Err(Error::InvalidInput { parameter, rule }) => (parameter, rule),
        other => {
            let shown: String = format!("{other:?}").chars().take(300).collect();
            panic!("expected InvalidInput, got {shown}…")
        }
    }
}

/// The URL rule names the limit and a size over it.
fn assert_url_rule(what: &str, rule: &str) {
    let size: usize = rule
        .strip_prefix("the request URL would be ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("{what}: no size in {rule:?}"));
    assert!(size > LIMIT, "{what}: {size} is within the limit: {rule}");
    assert!(rule.contains(&format!("at most {LIMIT}")), "{what}: the limit is not named: {rule}");
}

/// Checks one operation: `build_request()` and sending both give the error
/// naming `parameter`, and nothing reaches the server.
macro_rules! refused {
    ($server:expr, $parameter:expr, $builder:expr) => {{
        let what = stringify!($builder);
        let (parameter, rule) = invalid($builder.build_request());
        assert_eq!(parameter, $parameter, "{what}: {rule}");
        assert_url_rule(what, &rule);
        let (parameter, sent_rule) = invalid($builder.await);
        assert_eq!((parameter, &sent_rule), ($parameter, &rule), "{what}");
        assert_eq!($server.connections(), 0, "{what} reached the server");
    }};
}

// 1. The 32 KiB URL limit.

#[tokio::test]
async fn names_in_the_path_that_make_the_url_too_long_are_named_before_io() {
    let server = FaultServer::start(Vec::new()).await;
    let pubnub = client_of(&server);
    let long = long_names();
    refused!(server, "channels", pubnub.here_now().channels(long.clone()));
    refused!(server, "channels", pubnub.here_now().channels(long.clone()).include_state(true).limit(10));
    refused!(server, "channels", pubnub.heartbeat().channels(long.clone()));
    refused!(server, "channels", pubnub.leave().channels(long.clone()));
    refused!(server, "channels", pubnub.set_state().channels(long.clone()).state(json!({"mood": "ok"})));
    refused!(server, "channels", pubnub.get_state().channels(long.clone()));
    // Paging sends the same request page after page: the first is refused.
    let (parameter, _) = invalid(pubnub.here_now().channels(long.clone()).all_pages().await);
    assert_eq!(parameter, "channels");
    let mut pages = pubnub.here_now().channels(long.clone()).pages();
    assert_eq!(invalid(pages.next().await.expect("one item")).0, "channels");
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn names_in_the_query_that_make_the_url_too_long_are_named_before_io() {
    let server = FaultServer::start(Vec::new()).await;
    let pubnub = client_of(&server);
    let long = long_names();
    refused!(server, "channel_groups", pubnub.here_now().channel_groups(long.clone()));
    refused!(server, "channel_groups", pubnub.heartbeat().channel_groups(long.clone()));
    refused!(server, "channel_groups", pubnub.leave().channel_groups(long.clone()));
    refused!(server, "channel_groups", pubnub.set_state().channel_groups(long.clone()).state(json!({})));
    refused!(server, "channel_groups", pubnub.get_state().channel_groups(long.clone()));
    // `add=` and `remove=`: the builder's `channels`, listed in the query.
    refused!(server, "channels", pubnub.add_channel_to_channel_group().channel_group("g").channels(long.clone()));
    refused!(server, "channels", pubnub.remove_channel_from_channel_group().channel_group("g").channels(long.clone()));
}

#[tokio::test]
async fn state_that_makes_the_url_too_long_is_named_before_io() {
    let server = FaultServer::start(Vec::new()).await;
    let pubnub = client_of(&server);
    // 34,000 bytes of JSON: under the limit as text, over it once in the URL.
    let big = json!({"bio": "x".repeat(34_000)});
    refused!(server, "state", pubnub.set_state().channels("lobby").state(big.clone()));
    refused!(server, "state", pubnub.set_state().channel_groups("friends").state(big.clone()));
    refused!(server, "state", pubnub.heartbeat().channels("lobby").state(json!({ "lobby": big })));
    // Percent-encoding counts: 6,000 `é` are 12,000 bytes of text and 36,000 in the URL.
    refused!(server, "state", pubnub.set_state().channels("lobby").state(json!({"bio": "é".repeat(6_000)})));
}

#[tokio::test]
async fn the_error_names_the_largest_part_and_a_config_value_can_be_it() {
    let server = FaultServer::start(Vec::new()).await;
    let pubnub = client_of(&server);
    // Channels take 18,000 bytes, groups 24,000: the groups made the URL long.
    let channels: Vec<String> = (0..9).map(|i| format!("{i:0>2000}")).collect();
    let groups: Vec<String> = (0..12).map(|i| format!("g{i:0>1999}")).collect();
    refused!(server, "channel_groups", pubnub.here_now().channels(channels.clone()).channel_groups(groups.clone()));
    refused!(server, "channels", pubnub.leave().channels(groups.clone()).channel_groups(channels.clone()));

    // Operations with no list to make long still hold the line: a long auth key is named.
    let token = PubNub::new(
        Config::new("demo")
            .user_id("me")
            .auth_key("t".repeat(LIMIT))
            .origin(server.url())
            .retry_policy(RetryPolicy::none()),
    );
    refused!(server, "auth_key", token.where_now());
    refused!(server, "auth_key", token.where_now().uuid("someone"));
    refused!(server, "auth_key", token.list_channels_in_channel_group().channel_group("g"));
    refused!(server, "auth_key", token.remove_channel_group().channel_group("g"));
    refused!(server, "auth_key", token.here_now());
}

#[tokio::test]
async fn a_signed_request_counts_its_signature() {
    let server = FaultServer::start(Vec::new()).await;
    let signed =
        |pubnub: &PubNub, filler: usize| pubnub.set_state().channels("c").state(json!({"f": "x".repeat(filler)}));
    let plain = client_of(&server);
    let signing = PubNub::new(
        Config::new("demo")
            .user_id("me")
            .publish_key("pub")
            .secret_key("sec")
            .origin(server.url())
            .retry_policy(RetryPolicy::none()),
    );
    // The largest state that fits unsigned…
    let filler = (LIMIT - 500..LIMIT)
        .find(|&filler| signed(&plain, filler + 1).build_request().is_err())
        .expect("a state of 32 KiB does not fit");
    assert!(signed(&plain, filler).build_request().is_ok());
    // …is too long once `timestamp` and `signature` are added.
    refused!(server, "state", signed(&signing, filler));
}

#[tokio::test]
async fn join_presence_view_and_presence_events_refuse_an_overlong_url_before_io() {
    let server = FaultServer::start(Vec::new()).await;
    let pubnub = client_of(&server);
    let long = long_names();
    assert_eq!(invalid(pubnub.join().channels(long.clone()).await).0, "channels");
    assert_eq!(invalid(pubnub.join().channel_groups(long.clone()).await).0, "channel_groups");
    assert_eq!(invalid(pubnub.presence_view().channels(long.clone()).await).0, "channels");
    let (parameter, rule) = invalid(pubnub.presence_events().channel_groups(long.clone()).build_request());
    assert_eq!(parameter, "channel_groups");
    assert_url_rule("presence_events", &rule);
    let mut events = pubnub.presence_events().channels(long).subscribe();
    assert_eq!(invalid(events.next().await.expect("the error is the stream's item")).0, "channels");
    assert!(events.next().await.is_none(), "an invalid subscription ends");
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn twenty_copies_of_one_long_name_are_one_name_and_fit() {
    // A name given twice is sent once: 20 copies of a 2,000-byte name are a
    // 2 KB URL, which the server answers. (20 *distinct* names are refused above.)
    let server = FaultServer::start(vec![Fault::respond(200, r#"{"status": 200, "occupancy": 0, "uuids": []}"#)]).await;
    let pubnub = client_of(&server);
    let copies = vec!["x".repeat(2_000); 20];
    let request = pubnub.here_now().channels(copies.clone()).build_request().unwrap();
    assert_eq!(request.path().len(), "/v2/presence/sub-key/demo/channel/".len() + 2_000);
    let here = pubnub.here_now().channels(copies).await.unwrap();
    assert_eq!(here.total_channels, 1);
    assert_eq!(server.connections(), 1);
}

// 2. `-pnpres` names where presence is made.

const PRESENCE_NAMES: [&str; 2] = ["-pnpres", "room-pnpres"];

/// An operation, the list given the presence name, and what building and sending gave.
type Case = (&'static str, &'static str, Result<(), Error>, Result<(), Error>);

#[tokio::test]
async fn presence_is_not_made_on_presence_channels() {
    let server = FaultServer::start(Vec::new()).await;
    let pubnub = client_of(&server);
    for name in PRESENCE_NAMES {
        // With an ordinary name beside it, in either list.
        let names = ["lobby", name];
        let cases: Vec<Case> = vec![
            (
                "heartbeat",
                "channels",
                pubnub.heartbeat().channels(names).build_request().map(drop),
                pubnub.heartbeat().channels(names).await,
            ),
            (
                "heartbeat",
                "channel_groups",
                pubnub.heartbeat().channel_groups(names).build_request().map(drop),
                pubnub.heartbeat().channel_groups(names).await,
            ),
            (
                "set_state",
                "channels",
                pubnub.set_state().channels(names).state(json!({})).build_request().map(drop),
                pubnub.set_state().channels(names).state(json!({})).await.map(drop),
            ),
            (
                "set_state",
                "channel_groups",
                pubnub.set_state().channel_groups(names).state(json!({})).build_request().map(drop),
                pubnub.set_state().channel_groups(names).state(json!({})).await.map(drop),
            ),
            (
                "leave",
                "channels",
                pubnub.leave().channels(names).build_request().map(drop),
                pubnub.leave().channels(names).await,
            ),
            (
                "leave",
                "channel_groups",
                pubnub.leave().channel_groups(names).build_request().map(drop),
                pubnub.leave().channel_groups(names).await,
            ),
        ];
        for (operation, expected, built, sent) in cases {
            let what = format!("{operation}().{expected}({names:?})");
            let (parameter, rule) = invalid(built);
            assert_eq!(parameter, expected, "{what}: {rule}");
            assert!(rule.starts_with(&format!("`{name}` ends in `-pnpres`")), "{what}: {rule}");
            if name == "room-pnpres" {
                assert!(rule.ends_with("presence is made on `room`"), "{what}: {rule}");
            }
            assert_eq!(invalid(sent), (expected, rule), "{what}");
        }
    }
    // Only the suffix counts: these are ordinary names.
    for name in ["pnpres", "room-pnpres-2", "room_pnpres"] {
        pubnub.heartbeat().channels(name).channel_groups(name).build_request().unwrap();
    }
    assert_eq!(server.connections(), 0, "nothing was sent");
}

#[tokio::test]
async fn join_refuses_presence_channels_before_io() {
    let server = FaultServer::start(Vec::new()).await;
    let pubnub = client_of(&server);
    for name in PRESENCE_NAMES {
        assert_eq!(invalid(pubnub.join().channels(["lobby", name]).await).0, "channels");
        assert_eq!(invalid(pubnub.join().channel_groups(name).await).0, "channel_groups");
        assert_eq!(invalid(pubnub.join().channels(name).state(json!({"mood": "ok"})).await).0, "channels");
    }
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn queries_and_presence_events_still_ask_about_presence_channels() {
    let here_now = r#"{"status": 200, "payload": {"channels": {}, "total_channels": 0, "total_occupancy": 0}, "service": "Presence"}"#;
    let get_state = r#"{"status": 200, "payload": {"channels": {}}, "service": "Presence"}"#;
    let where_now = r#"{"status": 200, "payload": {"channels": []}, "service": "Presence"}"#;
    let bad_request = r#"{"status": 400, "error": true, "message": "Invalid", "service": "Presence"}"#;
    for name in PRESENCE_NAMES {
        let server = FaultServer::start(vec![
            Fault::respond(200, here_now),
            Fault::respond(200, here_now),
            Fault::respond(200, get_state),
            Fault::respond(200, get_state),
            Fault::respond(200, where_now),
            Fault::respond(400, bad_request),
        ])
        .await;
        let pubnub = client_of(&server);
        let names = ["lobby", name];
        pubnub.here_now().channels(names).await.unwrap();
        pubnub.here_now().channel_groups(names).await.unwrap();
        pubnub.get_state().channels(names).await.unwrap();
        pubnub.get_state().channel_groups(names).await.unwrap();
        pubnub.where_now().uuid(name).await.unwrap();
        let mut events = pubnub.presence_events().channels(name).subscribe();
        assert_eq!(events.next().await.expect("the 400 ends the stream").unwrap_err().status(), Some(400));

        let targets = server.targets();
        assert_eq!(targets.len(), 6, "{targets:?}");
        // `-` is unreserved: the names travel as they are.
        for (target, wanted) in targets.iter().zip([
            format!("/channel/lobby,{name}?"),
            format!("channel-group=lobby,{name}&"),
            format!("/channel/lobby,{name}/uuid/me?"),
            format!("channel-group=lobby,{name}&"),
            format!("/uuid/{name}?"),
            format!("/{name}-pnpres/0?"),
        ]) {
            assert!(target.contains(&wanted), "{target} lacks {wanted}");
        }
    }
}

#[test]
fn the_rule_reads_as_documented() {
    let pubnub = PubNub::new(Config::new("demo").user_id("me"));
    let err = pubnub.leave().channel_groups("room-pnpres").build_request().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid parameter `channel_groups`: `room-pnpres` ends in `-pnpres`, which names the presence channels of a \
         channel group: presence is made on `room`"
    );
    let err = pubnub.heartbeat().channels(long_names()).build_request().unwrap_err();
    let shown = err.to_string();
    assert!(shown.starts_with("invalid parameter `channels`: the request URL would be "), "{shown}");
    assert!(shown.contains(&format!("the API accepts at most {LIMIT}")), "{shown}");
}
