//! Raw-HTTP tests of the subscribe long-poll and its presence events
//! (docs/PROTOCOL.md §9), driven by the manual clock: no test sleeps.

mod common;

use std::time::Duration;

use common::*;
use presence_server::ServerConfig;
use serde_json::{Value, json};

const SUB: &str = "/v2/subscribe/demo";

impl TestServer {
    /// One long-poll from `poll`'s cursor: the events, and the cursor moves on.
    async fn next(&self, names: &str, query: &str, poll: &mut Poll) -> Vec<Value> {
        let r = self.get(&format!("{SUB}/{names}/0?{query}&tt={}&tr=1", poll.cursor)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.content_type, PRESENCE_CT);
        let body = r.json();
        poll.cursor = body["t"]["t"].as_str().expect("t.t is a string").to_owned();
        body["m"].as_array().expect("m is an array").clone()
    }
}

fn actions(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e["d"]["action"].as_str().unwrap().to_owned(), e["d"]["uuid"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[tokio::test]
async fn handshake_answers_at_once_with_a_17_digit_cursor_and_no_events() {
    let t = TestServer::start().await;
    for query in [
        "uuid=a",
        "uuid=a&tt=0",
        "uuid=a&tt=0&ee=&on-demand=1&filter-expr=x&l_pub=1",
        "uuid=a&t=%7B%22r%22:0,%22t%22:0%7D",
    ] {
        let r = t.get(&format!("{SUB}/lobby-pnpres/0?{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(r.content_type, PRESENCE_CT);
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        let body = r.json();
        let tt = body["t"]["t"].as_str().unwrap();
        assert_eq!(tt.len(), 17, "{tt}");
        assert!(tt.parse::<u64>().unwrap() >= T0_MS * 10_000);
        assert_eq!(body["t"]["r"], 1);
        assert_eq!(r.body, format!(r#"{{"t":{{"t":"{tt}","r":1}},"m":[]}}"#));
    }
}

#[tokio::test]
async fn a_held_poll_is_released_by_a_join_with_the_service_envelope() {
    let t = TestServer::start().await;
    let mut poll = t.handshake("lobby,lobby-pnpres", "uuid=watcher&heartbeat=60").await;
    let own = t.next("lobby,lobby-pnpres", "uuid=watcher&heartbeat=60", &mut poll).await;
    assert_eq!(actions(&own), [("join".into(), "watcher".into())]);
    assert_eq!(own[0]["d"]["occupancy"], 1, "-pnpres names do not count");

    let (events, ()) = tokio::join!(t.next("lobby,lobby-pnpres", "uuid=watcher", &mut poll), async {
        t.heartbeat("demo", "lobby", "alice", "&heartbeat=60").await;
    });
    let event = &events[0];
    let keys: Vec<&str> = event.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["a", "b", "c", "d", "f", "k", "p", "u"], "sorted by serde_json; never `e`");
    assert_eq!(event["a"], "5");
    assert_eq!(event["f"], 0);
    assert_eq!(event["k"], "demo");
    assert_eq!(event["c"], "lobby-pnpres");
    assert_eq!(event["b"], "lobby-pnpres");
    assert_eq!(event["p"]["r"], 1);
    let d = &event["d"];
    assert_eq!(
        (d["action"].as_str(), d["uuid"].as_str(), d["occupancy"].as_u64()),
        (Some("join"), Some("alice"), Some(2))
    );
    assert_eq!(d["timestamp"], T0_MS / 1000);
    assert_eq!(d["precise_timestamp"], T0_MS);
    assert_eq!(event["u"]["pn_uuid"], "alice");
    assert_eq!(event["u"]["pn_channel"], "lobby");
    // The cursor moves to the last event's timetoken; events are after the cursor they were asked from.
    assert_eq!(poll.cursor, event["p"]["t"].as_str().unwrap());
}

#[tokio::test]
async fn leave_and_state_change_events() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "lobby", "alice", "&heartbeat=60").await;
    let mut poll = t.handshake("lobby-pnpres", "uuid=watcher").await;
    let r = t
        .get("/v2/presence/sub-key/demo/channel/lobby/uuid/alice/data?uuid=alice&state=%7B%22mood%22%3A%22busy%22%7D")
        .await;
    assert_eq!(r.status, 200);
    // Python leaves with the -pnpres name too: answered, ignored.
    let r = t.get("/v2/presence/sub-key/demo/channel/lobby,lobby-pnpres/leave?uuid=alice").await;
    assert_eq!(r.body, LEAVE_OK);
    let events = t.next("lobby-pnpres", "uuid=watcher", &mut poll).await;
    assert_eq!(actions(&events), [("state-change".into(), "alice".into()), ("leave".into(), "alice".into())]);
    assert_eq!(events[0]["d"]["data"], json!({"mood": "busy"}));
    assert_eq!(events[0]["d"]["occupancy"], 1);
    assert_eq!(events[1]["d"]["occupancy"], 0);
    assert!(events[1]["d"].get("data").is_none());
    // One channel and no group: `c` is the name asked for, so `b` is left out.
    assert!(events.iter().all(|e| e.get("b").is_none()), "{events:?}");
}

#[tokio::test]
async fn timeout_fires_when_the_clock_passes_it_with_no_request() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "lobby", "alice", "&heartbeat=20").await;
    let mut poll = t.handshake("lobby-pnpres", "uuid=watcher").await;
    let (events, ()) = tokio::join!(t.next("lobby-pnpres", "uuid=watcher", &mut poll), async {
        // Once the poll waits, only the clock (through the reaper) can release it.
        t.until_held(1).await;
        t.clock.advance(Duration::from_secs(20));
    });
    assert_eq!(actions(&events), [("timeout".into(), "alice".into())]);
    assert_eq!(events[0]["d"]["data"], json!({}), "the 2025 service sends the dropped state as {{}}");
    assert_eq!(events[0]["d"]["occupancy"], 0);
    let here = t.get("/v2/presence/sub-key/demo/channel/lobby").await.json();
    assert_eq!(here["occupancy"], 0);
}

#[tokio::test]
async fn the_reaper_fires_timeouts_that_nobody_polls_for() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "lobby", "alice", "&heartbeat=20").await;
    let poll = t.handshake("lobby-pnpres", "uuid=watcher").await;
    t.clock.advance(Duration::from_secs(25));
    // No request reaches the keyspace, yet the timeout is recorded at its deadline.
    let mut poll = poll;
    let events = t.next("lobby-pnpres", "uuid=watcher", &mut poll).await;
    assert_eq!(events[0]["d"]["timestamp"], T0_MS / 1000 + 20, "stamped at the deadline, not when read");
}

#[tokio::test]
async fn subscribing_makes_present_and_state_rides_on_the_join() {
    let t = TestServer::start().await;
    let mut watcher = t.handshake("lobby-pnpres", "uuid=watcher").await;
    t.handshake("lobby", "uuid=alice&heartbeat=30&state=%7B%22lobby%22%3A%7B%22mood%22%3A%22happy%22%7D%7D").await;
    let events = t.next("lobby-pnpres", "uuid=watcher", &mut watcher).await;
    assert_eq!(actions(&events), [("join".into(), "alice".into())]);
    assert_eq!(events[0]["d"]["data"], json!({"mood": "happy"}));
    // A subscribe without `heartbeat=` (JS) keeps the announced 30 s.
    t.get(&format!("{SUB}/lobby/0?uuid=alice")).await;
    t.clock.advance(Duration::from_secs(30));
    let events = t.next("lobby-pnpres", "uuid=watcher", &mut watcher).await;
    assert_eq!(actions(&events), [("timeout".into(), "alice".into())]);
}

#[tokio::test]
async fn a_handshake_racing_its_own_heartbeat_still_sees_its_join() {
    let t = TestServer::start().await;
    // JS sends /heartbeat and the handshake together; here the heartbeat wins.
    t.heartbeat("demo", "lobby", "js-user", "&heartbeat=300").await;
    let mut poll = t.handshake("lobby,lobby-pnpres", "uuid=js-user&ee=").await;
    let events = t.next("lobby,lobby-pnpres", "uuid=js-user&ee=", &mut poll).await;
    assert_eq!(actions(&events), [("join".into(), "js-user".into())]);
}

#[tokio::test]
async fn a_re_handshake_does_not_deliver_a_join_again() {
    let t = TestServer::start().await;
    let mut poll = t.handshake("lobby,lobby-pnpres", "uuid=py").await;
    let events = t.next("lobby,lobby-pnpres", "uuid=py", &mut poll).await;
    assert_eq!(actions(&events), [("join".into(), "py".into())]);
    // Python's loop re-handshakes (tt=0) when its channels change; its join came already.
    let mut poll = t.handshake("lobby,lobby-pnpres,game", "uuid=py").await;
    t.heartbeat("demo", "lobby", "alice", "").await;
    let events = t.next("lobby,lobby-pnpres,game", "uuid=py", &mut poll).await;
    assert_eq!(actions(&events), [("join".into(), "alice".into())], "py's own join is not sent again");
}

#[tokio::test]
async fn group_presence_names_the_member_channel_and_the_group() {
    let t = TestServer::start().await;
    t.get("/v1/channel-registration/sub-key/demo/channel-group/friends?add=ch-a,ch-b").await;
    let query = "uuid=watcher&channel-group=friends-pnpres";
    let mut poll = t.handshake(",", query).await;
    t.heartbeat("demo", "ch-b", "bob", "").await;
    let events = t.next(",", query, &mut poll).await;
    assert_eq!(events[0]["c"], "ch-b-pnpres");
    assert_eq!(events[0]["b"], "friends-pnpres");
    // Subscribing to the group itself makes the uuid present on every member.
    t.handshake(",", "uuid=carol&channel-group=friends").await;
    let events = t.next(",", query, &mut poll).await;
    let channels: Vec<&str> = events.iter().map(|e| e["c"].as_str().unwrap()).collect();
    assert_eq!(channels, ["ch-a-pnpres", "ch-b-pnpres"]);
    // A held group poll ends early, empty, when the members change.
    let (events, ()) = tokio::join!(t.next(",", query, &mut poll), async {
        t.until_held(1).await;
        t.get("/v1/channel-registration/sub-key/demo/channel-group/friends?add=ch-c").await;
    });
    assert!(events.is_empty(), "{events:?}");

    // So does a poll that is present through a group (no `-pnpres`): the next
    // poll makes it present on the new member.
    let mut carol = t.handshake(",", "uuid=carol&channel-group=friends").await;
    let (events, ()) = tokio::join!(t.next(",", "uuid=carol&channel-group=friends", &mut carol), async {
        t.until_held(1).await;
        t.get("/v1/channel-registration/sub-key/demo/channel-group/friends?add=ch-d").await;
    });
    assert!(events.is_empty());
    t.get(&format!("{SUB}/,/0?uuid=carol&channel-group=friends&tt=0")).await;
    let here = t.get("/v2/presence/sub-key/demo/channel/ch-d").await.json();
    assert_eq!(here["uuids"], json!(["carol"]));
}

#[tokio::test]
async fn events_queued_between_polls_come_together_in_order() {
    let t = TestServer::start().await;
    let mut poll = t.handshake("a-pnpres,b-pnpres", "uuid=watcher").await;
    t.heartbeat("demo", "a", "u1", "").await;
    t.heartbeat("demo", "b", "u2", "").await;
    t.heartbeat("demo", "a", "u3", "").await;
    t.get("/v2/presence/sub-key/demo/channel/a/leave?uuid=u1").await;
    let events = t.next("a-pnpres,b-pnpres", "uuid=watcher", &mut poll).await;
    assert_eq!(
        actions(&events),
        [("join", "u1"), ("join", "u2"), ("join", "u3"), ("leave", "u1")].map(|(a, u)| (a.to_owned(), u.to_owned()))
    );
    let tts: Vec<u64> = events.iter().map(|e| e["p"]["t"].as_str().unwrap().parse().unwrap()).collect();
    assert!(tts.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(poll.cursor, tts[3].to_string());
    assert_eq!(events[1]["b"], "b-pnpres");
}

#[tokio::test]
async fn an_idle_poll_ends_at_the_bound_with_the_same_cursor() {
    let t = TestServer::start_with(ServerConfig::default().with_long_poll_timeout(Duration::from_secs(280))).await;
    let mut poll = t.handshake("lobby-pnpres", "uuid=watcher").await;
    let sent = poll.cursor.clone();
    let (events, ()) = tokio::join!(t.next("lobby-pnpres", "uuid=watcher", &mut poll), async {
        t.until_held(1).await;
        t.clock.advance(Duration::from_secs(280));
    });
    assert!(events.is_empty());
    assert_eq!(poll.cursor, sent);
}

#[tokio::test]
async fn interval_mode_sends_deltas_then_here_now_refresh() {
    let config = ServerConfig::default().with_interval_mode(2, Duration::from_secs(10));
    let t = TestServer::start_with(config).await;
    let mut poll = t.handshake("hall-pnpres", "uuid=watcher").await;
    for u in ["u1", "u2", "u3", "u4"] {
        t.heartbeat("demo", "hall", u, "").await;
    }
    t.get("/v2/presence/sub-key/demo/channel/hall/uuid/u4/data?uuid=u4&state=%7B%22k%22%3A1%7D").await;
    let events = t.next("hall-pnpres", "uuid=watcher", &mut poll).await;
    assert_eq!(
        actions(&events),
        [("join", "u1"), ("join", "u2"), ("state-change", "u4")].map(|(a, u)| (a.to_owned(), u.to_owned())),
        "above announce_max joins become deltas; state-change still goes out"
    );
    t.clock.advance(Duration::from_secs(10));
    let events = t.next("hall-pnpres", "uuid=watcher", &mut poll).await;
    let d = &events[0]["d"];
    assert_eq!(d["action"], "interval");
    assert_eq!(d["occupancy"], 4);
    assert_eq!(d["join"], json!(["u3", "u4"]));
    assert!(d.get("uuid").is_none() && d.get("leave").is_none());

    // A delta too big to send (~30 KB) becomes here_now_refresh.
    let long = "x".repeat(88);
    for i in 0..400 {
        t.heartbeat("demo", "hall", &format!("{long}{i:04}"), "").await;
    }
    t.clock.advance(Duration::from_secs(10));
    let events = t.next("hall-pnpres", "uuid=watcher", &mut poll).await;
    let d = &events[0]["d"];
    assert_eq!(
        (d["action"].as_str(), d["occupancy"].as_u64(), d["here_now_refresh"].as_bool()),
        (Some("interval"), Some(404), Some(true))
    );
    assert!(d.get("join").is_none());
}

#[tokio::test]
async fn time_answers_a_timetoken() {
    let t = TestServer::start().await;
    let r = t.get("/time/0").await;
    assert_eq!(r.status, 200);
    let tt = r.json()[0].as_u64().unwrap();
    assert!(tt >= T0_MS * 10_000 && tt.to_string().len() == 17);
}

#[tokio::test]
async fn malformed_subscribes_are_pubnub_shaped_400s() {
    let t = TestServer::start().await;
    for (query, names, message) in [
        ("uuid=a&tt=abc", "lobby", "Invalid timetoken"),
        ("uuid=a&t=%7Bnot", "lobby", "Invalid timetoken"),
        ("uuid=a&state=%7Bnot", "lobby", "Invalid JSON specified."),
        ("uuid=a&state=%5B1%5D", "lobby", "State must be a JSON object"),
        ("uuid=a", ",", "Missing channel or channel group"),
    ] {
        let r = t.get(&format!("{SUB}/{names}/0?{query}")).await;
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(r.body, format!(r#"{{"error":1,"message":"{message}","service":"Presence","status":400}}"#));
    }
    let many: Vec<String> = (0..1001).map(|i| format!("c{i}")).collect();
    let r = t.get(&format!("{SUB}/{}/0?uuid=a", many.join(","))).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("at most 1000"), "{}", r.body);
}

#[tokio::test]
async fn held_polls_past_the_limit_get_a_429() {
    let t = TestServer::start_with(ServerConfig::default().with_max_held_polls(1)).await;
    let mut first = t.handshake("lobby-pnpres", "uuid=w1").await;
    let cursor = first.cursor.clone();
    let held = t.next("lobby-pnpres", "uuid=w1", &mut first);
    tokio::pin!(held);
    let second = async {
        t.until_held(1).await;
        t.get(&format!("{SUB}/lobby-pnpres/0?uuid=w2&tt={cursor}")).await
    };
    let r = tokio::select! {
        r = second => r,
        _ = &mut held => panic!("the first poll ended though nothing happened"),
    };
    assert_eq!(r.status, 429);
    assert_eq!(
        r.body,
        r#"{"error":1,"message":"Too many held subscribe requests: at most 1","service":"Presence","status":429}"#
    );
    // The slot frees when the held poll ends.
    t.heartbeat("demo", "lobby", "x", "").await;
    assert_eq!(held.await.len(), 1);
    assert_eq!(t.server.held_polls(), 0);
}

#[tokio::test]
async fn signed_subscribes_are_checked_like_every_request() {
    let t = TestServer::start_with(ServerConfig::default().with_secret_key("sec").with_publish_key("pub")).await;
    let r = t.get(&format!("{SUB}/lobby-pnpres/0?uuid=a&channel-group=g&timestamp=1&signature=v2.bad")).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        "{\"message\":\"Forbidden\",\"payload\":{\"channels\":[\"lobby-pnpres\"],\"channel-groups\":[\":g\"]},\"error\":true,\"service\":\"Access Manager\",\"status\":403}\n"
    );
}

#[tokio::test]
async fn shutdown_releases_held_polls_at_once() {
    let t = TestServer::start().await;
    let poll = t.handshake("lobby-pnpres", "uuid=w").await;
    let url = format!("{}{SUB}/lobby-pnpres/0?uuid=w&tt={}", t.server.url(), poll.cursor);
    let client = t.client.clone();
    let held = tokio::spawn(async move { client.get(url).send().await.unwrap().text().await.unwrap() });
    t.until_held(1).await;
    t.server.shutdown().await;
    let body = held.await.unwrap();
    assert!(body.ends_with(r#""m":[]}"#), "{body}");
}
