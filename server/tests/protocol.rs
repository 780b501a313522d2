//! Raw-HTTP protocol tests: exact bodies and headers for every endpoint (docs/PROTOCOL.md §1, §2, §8).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const HN: &str = "/v2/presence/sub-key/demo";

#[tokio::test]
async fn here_now_single_channel_empty_has_flat_shape_and_pubnub_headers() {
    let t = TestServer::start().await;
    let r = t.get(&format!("{HN}/channel/lobby?uuid=me")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"message":"OK","occupancy":0,"service":"Presence","status":200,"uuids":[]}"#);
    assert_eq!(r.content_type, PRESENCE_CT);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    assert_eq!(r.headers["access-control-allow-methods"], "OPTIONS, GET, POST");
    assert_eq!(r.headers["cache-control"], "no-cache");
}

#[tokio::test]
async fn here_now_single_channel_lists_uuids_in_stable_order() {
    let t = TestServer::start().await;
    for u in ["Kim", "Earline", "Glen"] {
        t.heartbeat("demo", "room-1", u, "&heartbeat=60").await;
    }
    t.expect_body(
        &format!("{HN}/channel/room-1?disable_uuids=0&limit=1000&uuid=Serhii&state=0"),
        r#"{"message":"OK","occupancy":3,"service":"Presence","status":200,"uuids":["Earline","Glen","Kim"]}"#,
    )
    .await;
}

#[tokio::test]
async fn here_now_state1_objects_carry_state_only_when_set() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "room-1", "alice", "").await;
    t.heartbeat("demo", "room-1", "bob", "").await;
    t.expect_body(
        &format!("{HN}/channel/room-1/uuid/bob/data?uuid=bob&state=%7B%22mood%22%3A%5B%22happy%22%5D%7D"),
        r#"{"message":"OK","payload":{"mood":["happy"]},"service":"Presence","status":200}"#,
    )
    .await;
    t.expect_body(
        &format!("{HN}/channel/room-1?uuid=x&state=1"),
        r#"{"message":"OK","occupancy":2,"service":"Presence","status":200,"uuids":[{"uuid":"alice"},{"state":{"mood":["happy"]},"uuid":"bob"}]}"#,
    )
    .await;
}

#[tokio::test]
async fn here_now_disable_uuids_drops_the_uuids_key_both_spellings() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "room-1", "alice", "").await;
    let flat = r#"{"message":"OK","occupancy":1,"service":"Presence","status":200}"#;
    t.expect_body(&format!("{HN}/channel/room-1?disable_uuids=1"), flat).await;
    t.expect_body(&format!("{HN}/channel/room-1?disable-uuids=1&state=0"), flat).await;
    // limit=0 means counts only as well
    t.expect_body(&format!("{HN}/channel/room-1?limit=0&state=1"), flat).await;
}

#[tokio::test]
async fn here_now_multi_channel_uses_payload_channels_and_totals() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "ch-a,ch-b", "u1", "").await;
    t.heartbeat("demo", "ch-b", "u2", "").await;
    t.expect_body(
        &format!("{HN}/channel/ch-a,ch-b,ch-empty?uuid=u1"),
        r#"{"message":"OK","payload":{"channels":{"ch-a":{"occupancy":1,"uuids":["u1"]},"ch-b":{"occupancy":2,"uuids":["u1","u2"]}},"total_channels":2,"total_occupancy":3},"service":"Presence","status":200}"#,
    )
    .await;
    // nobody anywhere -> empty map
    t.expect_body(
        &format!("{HN}/channel/x,y"),
        r#"{"message":"OK","payload":{"channels":{},"total_channels":0,"total_occupancy":0},"service":"Presence","status":200}"#,
    )
    .await;
}

#[tokio::test]
async fn here_now_channel_groups_expand_in_every_query_layout() {
    let t = TestServer::start().await;
    let reg = "/v1/channel-registration/sub-key/demo/channel-group";
    t.expect_body(&format!("{reg}/cg1?add=room-1,room-2"), REGISTRY_OK).await;
    t.expect_body(&format!("{reg}/cg2?add=room-3"), REGISTRY_OK).await;
    t.heartbeat("demo", "room-1", "Kim", "").await;
    t.heartbeat("demo", "room-3", "Glen", "").await;
    let both = r#"{"message":"OK","payload":{"channels":{"room-1":{"occupancy":1,"uuids":["Kim"]},"room-3":{"occupancy":1,"uuids":["Glen"]}},"total_channels":2,"total_occupancy":2},"service":"Presence","status":200}"#;
    // raw commas (python, go, objc), encoded commas (js), extra unknown params
    t.expect_body(&format!("{HN}/channel/,?channel-group=cg1,cg2&uuid=u"), both).await;
    t.expect_body(
        &format!("{HN}/channel/,?channel-group=cg1%2Ccg2&uuid=u&pnsdk=PubNub-JS-Nodejs%2F9.0&requestid=abc&ee=1&l_pres=0.1&whatever=1"),
        both,
    )
    .await;
    // one channel plus a group -> payload shape, not flat
    t.expect_body(
        &format!("{HN}/channel/room-3?channel-group=cg2"),
        r#"{"message":"OK","payload":{"channels":{"room-3":{"occupancy":1,"uuids":["Glen"]}},"total_channels":1,"total_occupancy":1},"service":"Presence","status":200}"#,
    )
    .await;
    // disable_uuids with a group
    t.expect_body(
        &format!("{HN}/channel/,?disable_uuids=1&limit=1000&channel-group=cg1&state=0"),
        r#"{"message":"OK","payload":{"channels":{"room-1":{"occupancy":1}},"total_channels":1,"total_occupancy":1},"service":"Presence","status":200}"#,
    )
    .await;
}

#[tokio::test]
async fn here_now_global_lists_only_occupied_channels_on_both_path_spellings() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "a,b", "u1", "").await;
    t.heartbeat("demo", "b", "u2", "").await;
    t.heartbeat("other-key", "c", "u3", "").await;
    let expected = r#"{"message":"OK","payload":{"channels":{"a":{"occupancy":1,"uuids":["u1"]},"b":{"occupancy":2,"uuids":["u1","u2"]}},"total_channels":2,"total_occupancy":3},"service":"Presence","status":200}"#;
    t.expect_body(&format!("{HN}?uuid=u1"), expected).await;
    t.expect_body("/v2/presence/sub_key/demo?uuid=u1&limit=1000", expected).await;
    t.expect_body(
        "/v2/presence/sub-key/demo?disable_uuids=1&uuid=u&state=0",
        r#"{"message":"OK","payload":{"channels":{"a":{"occupancy":1},"b":{"occupancy":2}},"total_channels":2,"total_occupancy":3},"service":"Presence","status":200}"#,
    )
    .await;
}

#[tokio::test]
async fn here_now_paging_keeps_full_occupancy_and_stable_order() {
    let t = TestServer::start().await;
    for i in 0..5 {
        t.heartbeat("demo", "big", &format!("user-{i}"), "").await;
    }
    let page = |offset: usize| format!("{HN}/channel/big?limit=2&offset={offset}");
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let v = t.get(&page(offset)).await.json();
        assert_eq!(v["occupancy"], 5);
        for u in v["uuids"].as_array().unwrap() {
            seen.push(u.as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen, ["user-0", "user-1", "user-2", "user-3", "user-4"]);
    t.expect_body(&page(9), r#"{"message":"OK","occupancy":5,"service":"Presence","status":200,"uuids":[]}"#).await;
    // multi-channel: per-channel paging, totals are full counts
    t.heartbeat("demo", "small", "solo", "").await;
    let v = t.get(&format!("{HN}/channel/big,small?limit=1&offset=1")).await.json();
    assert_eq!(
        v["payload"],
        json!({"channels": {"big": {"occupancy": 5, "uuids": ["user-1"]},
                            "small": {"occupancy": 1, "uuids": []}},
               "total_channels": 2, "total_occupancy": 6})
    );
}

#[tokio::test]
async fn here_now_rejects_out_of_range_paging() {
    let t = TestServer::start().await;
    for (q, msg) in [
        ("limit=1001", "Invalid limit: must be between 0 and 1000"),
        ("limit=-1", "Invalid limit: must be between 0 and 1000"),
        ("limit=abc", "Invalid limit: must be between 0 and 1000"),
        ("offset=-1", "Invalid offset: must be a non-negative integer"),
    ] {
        let r = t.get(&format!("{HN}/channel/a?{q}")).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.content_type, PRESENCE_CT);
        assert_eq!(r.body, format!(r#"{{"error":1,"message":"{msg}","service":"Presence","status":400}}"#), "{q}");
        // global too
        assert_eq!(t.get(&format!("{HN}?{q}")).await.status, 400, "global {q}");
    }
    assert_eq!(t.get(&format!("{HN}/channel/a?limit=1000&offset=0")).await.status, 200);
}

#[tokio::test]
async fn where_now_for_self_other_and_nobody() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "test-channel2,test-channel1,test-channel3", "Serhii", "").await;
    t.heartbeat("demo", "test-channel1", "Kim", "").await;
    t.expect_body(
        &format!("{HN}/uuid/Serhii?uuid=Serhii"),
        r#"{"message":"OK","payload":{"channels":["test-channel1","test-channel2","test-channel3"]},"service":"Presence","status":200}"#,
    )
    .await;
    t.expect_body(
        &format!("{HN}/uuid/Kim?uuid=Serhii"),
        r#"{"message":"OK","payload":{"channels":["test-channel1"]},"service":"Presence","status":200}"#,
    )
    .await;
    t.expect_body(
        "/v2/presence/sub_key/demo/uuid/ghost",
        r#"{"message":"OK","payload":{"channels":[]},"service":"Presence","status":200}"#,
    )
    .await;
    let r = t.get(&format!("{HN}/uuid/?uuid=x")).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn set_state_echoes_and_get_state_single_vs_multi_shapes() {
    let t = TestServer::start().await;
    let st = "%7B%22count%22%3A%205%2C%20%22name%22%3A%20%22Alex%22%7D"; // python json.dumps spacing
    let echo = r#"{"message":"OK","payload":{"count":5,"name":"Alex"},"service":"Presence","status":200}"#;
    t.expect_body(&format!("{HN}/channel/s1/uuid/alex/data?uuid=alex&state={st}"), echo).await;
    t.expect_body(&format!("{HN}/channel/s2,s3/uuid/alex/data?uuid=alex&state={st}"), echo).await;
    // '+' in a query value is a space (VCR-style encoding)
    t.expect_body(
        &format!("{HN}/channel/s4/uuid/alex/data?state=%7B%22count%22%3A+5%2C+%22name%22%3A+%22Alex%22%7D"),
        echo,
    )
    .await;
    t.expect_body(
        &format!("{HN}/channel/s1/uuid/alex?uuid=alex"),
        r#"{"channel":"s1","message":"OK","payload":{"count":5,"name":"Alex"},"service":"Presence","status":200,"uuid":"alex"}"#,
    )
    .await;
    t.expect_body(
        &format!("{HN}/channel/s1,s2/uuid/alex?uuid=alex"),
        r#"{"message":"OK","payload":{"channels":{"s1":{"count":5,"name":"Alex"},"s2":{"count":5,"name":"Alex"}}},"service":"Presence","status":200,"uuid":"alex"}"#,
    )
    .await;
    // no state -> {} (sub_key spelling)
    t.expect_body(
        "/v2/presence/sub_key/demo/channel/nothing/uuid/whatever?uuid=me",
        r#"{"channel":"nothing","message":"OK","payload":{},"service":"Presence","status":200,"uuid":"whatever"}"#,
    )
    .await;
}

#[tokio::test]
async fn state_through_channel_groups() {
    let t = TestServer::start().await;
    let reg = "/v1/channel-registration/sub-key/demo/channel-group";
    t.expect_body(&format!("{reg}/grp?add=g1,g2"), REGISTRY_OK).await;
    t.expect_body(
        &format!(
            "{HN}/channel/,/uuid/Serhii/data?channel-group=grp&uuid=Serhii&state=%7B%22users-state%22:%5B%22v%22%5D%7D"
        ),
        r#"{"message":"OK","payload":{"users-state":["v"]},"service":"Presence","status":200}"#,
    )
    .await;
    t.expect_body(
        &format!("{HN}/channel/,/uuid/Serhii?channel-group=grp&uuid=Serhii"),
        r#"{"message":"OK","payload":{"channels":{"g1":{"users-state":["v"]},"g2":{"users-state":["v"]}}},"service":"Presence","status":200,"uuid":"Serhii"}"#,
    )
    .await;
}

#[tokio::test]
async fn bad_state_gets_pubnub_shaped_400() {
    let t = TestServer::start().await;
    let cases = [
        ("state=%7Bnope", "Invalid JSON specified."),
        ("state=%5B1%2C2%5D", "State must be a JSON object"),
        ("state=42", "State must be a JSON object"),
        ("uuid=u", "No state specified."),
    ];
    for (q, msg) in cases {
        let r = t.get(&format!("{HN}/channel/c/uuid/u/data?{q}")).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body, format!(r#"{{"error":1,"message":"{msg}","service":"Presence","status":400}}"#));
    }
    // heartbeat state must be an object of objects
    let r = t.get(&format!("{HN}/channel/c/heartbeat?uuid=u&state=%5B%5D")).await;
    assert_eq!(r.status, 400);
    let r = t.get(&format!("{HN}/channel/c/heartbeat?uuid=u&state=%7B%22c%22%3A3%7D")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, r#"{"error":1,"message":"State must be a JSON object","service":"Presence","status":400}"#);
    // and nothing was recorded by the rejected heartbeats
    t.expect_body(
        &format!("{HN}/channel/c"),
        r#"{"message":"OK","occupancy":0,"service":"Presence","status":200,"uuids":[]}"#,
    )
    .await;
}

#[tokio::test]
async fn heartbeat_validation_and_empty_heartbeat_param() {
    let t = TestServer::start().await;
    // ruby sends heartbeat= (empty): accepted with the default timeout
    t.heartbeat("demo", "c", "ruby", "&heartbeat=&auth=a&pnsdk=PubNub-Ruby%2F4.1.0").await;
    for (path, msg) in [
        (format!("{HN}/channel/c/heartbeat?heartbeat=60"), "Missing uuid"),
        (format!("{HN}/channel/c/heartbeat?uuid="), "Missing uuid"),
        (format!("{HN}/channel/,/heartbeat?uuid=u"), "Missing channel or channel group"),
        (format!("{HN}/channel/c/heartbeat?uuid=u&heartbeat=soon"), "Invalid heartbeat value"),
        (format!("{HN}/channel/c/leave"), "Missing uuid"),
    ] {
        let r = t.get(&path).await;
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.body, format!(r#"{{"error":1,"message":"{msg}","service":"Presence","status":400}}"#));
    }
}

#[tokio::test]
async fn heartbeat_state_is_per_channel_and_groups_apply_to_members() {
    let t = TestServer::start().await;
    let reg = "/v1/channel-registration/sub-key/demo/channel-group";
    t.expect_body(&format!("{reg}/team?add=t1,t2"), REGISTRY_OK).await;
    // {"a":{"age":20},"team":{"role":"dev"}}
    let state = "%7B%22a%22%3A%7B%22age%22%3A20%7D%2C%22team%22%3A%7B%22role%22%3A%22dev%22%7D%7D";
    t.heartbeat("demo", "a,b", "u", &format!("&channel-group=team&heartbeat=300&state={state}")).await;
    let v = t.get(&format!("{HN}/channel/a,b?channel-group=team&state=1")).await.json();
    assert_eq!(
        v["payload"]["channels"],
        json!({
            "a": {"occupancy": 1, "uuids": [{"state": {"age": 20}, "uuid": "u"}]},
            "b": {"occupancy": 1, "uuids": [{"uuid": "u"}]},
            "t1": {"occupancy": 1, "uuids": [{"state": {"role": "dev"}, "uuid": "u"}]},
            "t2": {"occupancy": 1, "uuids": [{"state": {"role": "dev"}, "uuid": "u"}]},
        })
    );
    // a heartbeat without state keeps the existing state
    t.heartbeat("demo", "a", "u", "").await;
    t.expect_body(
        &format!("{HN}/channel/a/uuid/u"),
        r#"{"channel":"a","message":"OK","payload":{"age":20},"service":"Presence","status":200,"uuid":"u"}"#,
    )
    .await;
}

#[tokio::test]
async fn leave_removes_immediately_and_drops_state() {
    let t = TestServer::start().await;
    let reg = "/v1/channel-registration/sub-key/demo/channel-group";
    t.expect_body(&format!("{reg}/lg?add=l3"), REGISTRY_OK).await;
    t.heartbeat("demo", "l1,l2,l3", "Kim", "&state=%7B%22l1%22%3A%7B%22x%22%3A1%7D%7D").await;
    t.expect_body("/v2/presence/sub_key/demo/channel/l1,l2/leave?uuid=Kim&pnsdk=PubNub-ObjC-iOS%2F4.x.x", LEAVE_OK)
        .await;
    t.expect_body(
        &format!("{HN}/uuid/Kim"),
        r#"{"message":"OK","payload":{"channels":["l3"]},"service":"Presence","status":200}"#,
    )
    .await;
    t.expect_body(
        &format!("{HN}/channel/l1/uuid/Kim"),
        r#"{"channel":"l1","message":"OK","payload":{},"service":"Presence","status":200,"uuid":"Kim"}"#,
    )
    .await;
    // group-only leave (kotlin style: channel-group always present)
    t.expect_body(&format!("{HN}/channel/,/leave?channel-group=lg&uuid=Kim"), LEAVE_OK).await;
    t.expect_body(
        &format!("{HN}/uuid/Kim"),
        r#"{"message":"OK","payload":{"channels":[]},"service":"Presence","status":200}"#,
    )
    .await;
    // duplicate names and unknown channels are fine
    t.expect_body(&format!("{HN}/channel/demo,demo/leave?uuid=Kim&channel-group=,"), LEAVE_OK).await;
}

#[tokio::test]
async fn presence_expires_with_the_injected_clock() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "room", "short", "&heartbeat=60&state=%7B%22room%22%3A%7B%22k%22%3A1%7D%7D").await;
    t.heartbeat("demo", "room", "default", "").await; // 300 s
    // Below PubNub's SDK minimum of 20 s, honoured as the service does (a recorded heartbeat=8).
    t.heartbeat("demo", "room", "eight", "&heartbeat=8").await;
    t.heartbeat("demo", "room", "zero", "&heartbeat=0").await; // raised to 1 s

    let occupants = |v: serde_json::Value| v["uuids"].clone();
    let url = format!("{HN}/channel/room");
    t.clock.advance(Duration::from_millis(999));
    assert_eq!(occupants(t.get(&url).await.json()), json!(["default", "eight", "short", "zero"]));
    t.clock.advance(Duration::from_millis(1)); // 1 s
    assert_eq!(occupants(t.get(&url).await.json()), json!(["default", "eight", "short"]));
    t.clock.advance(Duration::from_millis(6_999)); // 7.999 s
    assert_eq!(occupants(t.get(&url).await.json()), json!(["default", "eight", "short"]));
    t.clock.advance(Duration::from_millis(1)); // 8 s
    assert_eq!(occupants(t.get(&url).await.json()), json!(["default", "short"]));
    t.clock.advance(Duration::from_millis(51_999)); // 59.999 s
    assert_eq!(occupants(t.get(&url).await.json()), json!(["default", "short"]));
    t.clock.advance(Duration::from_millis(1)); // 60 s
    assert_eq!(occupants(t.get(&url).await.json()), json!(["default"]));
    // short's state was dropped with it
    t.expect_body(
        &format!("{HN}/channel/room/uuid/short"),
        r#"{"channel":"room","message":"OK","payload":{},"service":"Presence","status":200,"uuid":"short"}"#,
    )
    .await;
    t.expect_body(
        &format!("{HN}/uuid/short"),
        r#"{"message":"OK","payload":{"channels":[]},"service":"Presence","status":200}"#,
    )
    .await;
    // a heartbeat keeps "default" alive past its first deadline
    t.heartbeat("demo", "room", "default", "").await; // at 60 s, now until 360 s
    t.clock.advance(Duration::from_secs(299));
    assert_eq!(occupants(t.get(&url).await.json()), json!(["default"]));
    t.clock.advance(Duration::from_secs(1));
    t.expect_body(&url, r#"{"message":"OK","occupancy":0,"service":"Presence","status":200,"uuids":[]}"#).await;
    t.expect_body(
        HN,
        r#"{"message":"OK","payload":{"channels":{},"total_channels":0,"total_occupancy":0},"service":"Presence","status":200}"#,
    )
    .await;
}

#[tokio::test]
async fn subscribe_keys_are_isolated() {
    let t = TestServer::start().await;
    t.heartbeat("key-a", "shared", "alice", "").await;
    t.heartbeat("key-b", "shared", "bob", "").await;
    t.expect_body(
        "/v2/presence/sub-key/key-a/channel/shared",
        r#"{"message":"OK","occupancy":1,"service":"Presence","status":200,"uuids":["alice"]}"#,
    )
    .await;
    t.expect_body(
        "/v2/presence/sub-key/key-b/channel/shared",
        r#"{"message":"OK","occupancy":1,"service":"Presence","status":200,"uuids":["bob"]}"#,
    )
    .await;
    t.expect_body(
        "/v2/presence/sub-key/key-b/uuid/alice",
        r#"{"message":"OK","payload":{"channels":[]},"service":"Presence","status":200}"#,
    )
    .await;
    let reg = "/v1/channel-registration/sub-key";
    t.expect_body(&format!("{reg}/key-a/channel-group/g?add=x"), REGISTRY_OK).await;
    t.expect_body(
        &format!("{reg}/key-b/channel-group/g"),
        r#"{"error":false,"payload":{"channels":[],"group":"g"},"service":"channel-registry","status":200}"#,
    )
    .await;
}

#[tokio::test]
async fn names_are_percent_decoded_per_name_and_escaped_in_json() {
    let t = TestServer::start().await;
    // "a,b" is one channel (encoded comma), "c d" another; literal comma separates them
    t.heartbeat("demo", "a%2Cb,c%20d", "user%20one", "").await;
    t.expect_body(
        &format!("{HN}/uuid/user%20one"),
        r#"{"message":"OK","payload":{"channels":["a,b","c d"]},"service":"Presence","status":200}"#,
    )
    .await;
    t.expect_body(
        &format!("{HN}/channel/a%2Cb"),
        r#"{"message":"OK","occupancy":1,"service":"Presence","status":200,"uuids":["user one"]}"#,
    )
    .await;
    // non-ASCII and punctuation, echoed with \u escapes like the real service
    let ch = "a!@%23$%25%5E&*()%C5%BB%C3%93%C5%81%5B%5D%7B%7D%22%22%3C%3E%3F%3F~%60Z";
    let st = "%7B%22something%22%3A%22%C5%BB%C3%93%C5%81%22%7D";
    t.expect_body(
        &format!("{HN}/channel/{ch}/uuid/{ch}/data?state={st}"),
        r#"{"message":"OK","payload":{"something":"\u017b\u00d3\u0141"},"service":"Presence","status":200}"#,
    )
    .await;
    t.expect_body(
        &format!("/v2/presence/sub_key/demo/channel/{ch}/uuid/{ch}?uuid=x"),
        r#"{"channel":"a!@#$%^&*()\u017b\u00d3\u0141[]{}\"\"<>??~`Z","message":"OK","payload":{"something":"\u017b\u00d3\u0141"},"service":"Presence","status":200,"uuid":"a!@#$%^&*()\u017b\u00d3\u0141[]{}\"\"<>??~`Z"}"#,
    )
    .await;
}

#[tokio::test]
async fn channel_group_registration_add_list_remove_delete() {
    let t = TestServer::start().await;
    let cg = "/v1/channel-registration/sub-key/demo/channel-group/my-cg";
    t.expect_body(
        cg,
        r#"{"error":false,"payload":{"channels":[],"group":"my-cg"},"service":"channel-registry","status":200}"#,
    )
    .await;
    t.expect_body(&format!("{cg}?add=ch1,ch2&uuid=u"), REGISTRY_OK).await;
    t.expect_body(&format!("{cg}?add=ch3%2Cch1"), REGISTRY_OK).await;
    t.expect_body(
        &format!("{cg}?uuid=u"),
        r#"{"error":false,"payload":{"channels":["ch1","ch2","ch3"],"group":"my-cg"},"service":"channel-registry","status":200}"#,
    )
    .await;
    t.expect_body(&format!("{cg}?remove=ch2"), REGISTRY_OK).await;
    t.expect_body(
        "/v1/channel-registration/sub_key/demo/channel-group/my-cg",
        r#"{"error":false,"payload":{"channels":["ch1","ch3"],"group":"my-cg"},"service":"channel-registry","status":200}"#,
    )
    .await;
    t.expect_body(
        "/v1/channel-registration/sub-key/demo/channel-group",
        r#"{"error":false,"payload":{"groups":["my-cg"]},"service":"channel-registry","status":200}"#,
    )
    .await;
    t.expect_body(&format!("{cg}/remove"), REGISTRY_OK).await;
    t.expect_body(
        cg,
        r#"{"error":false,"payload":{"channels":[],"group":"my-cg"},"service":"channel-registry","status":200}"#,
    )
    .await;
    let r = t.get(&format!("{cg}?add=")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, r#"{"error":true,"message":"Channels missing","service":"channel-registry","status":400}"#);
}

#[tokio::test]
async fn unknown_paths_long_urls_and_methods() {
    let t = TestServer::start().await;
    // `/` is the dashboard (tests/dashboard.rs), a 404 like these with --no-dashboard.
    for path in [
        "/v2/presence",
        "/v2/presence/sub-key/demo/channel/a/bogus",
        "/v2/presence/sub-kei/demo",
        "/v2/subscribe/demo/a/1",
    ] {
        let r = t.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body, r#"{"error":1,"message":"Not Found","service":"Presence","status":404}"#);
        assert_eq!(r.content_type, PRESENCE_CT);
    }
    // a request target over 32 KiB (state travels in the URL) is refused with a 400
    let huge = "x".repeat(33 * 1024);
    let r = t.get(&format!("{HN}/channel/a/uuid/u/data?state=%7B%22k%22%3A%22{huge}%22%7D")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, r#"{"error":1,"message":"Request URI Too Long","service":"Presence","status":400}"#);
    // just under the limit is fine
    let big = "y".repeat(30 * 1024);
    let r = t.get(&format!("{HN}/channel/a/uuid/u/data?state=%7B%22k%22%3A%22{big}%22%7D")).await;
    assert_eq!(r.status, 200);
    // CORS preflight
    let r = t.request(reqwest::Method::OPTIONS, &format!("{HN}/channel/a")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    let r = t.request(reqwest::Method::DELETE, &format!("{HN}/channel/a")).await;
    assert_eq!(r.status, 405);
}
