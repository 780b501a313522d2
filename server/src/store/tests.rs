//! Unit tests of the keyspace: expiry, paging, events, interval mode.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::*;

fn opts() -> HereNowOpts {
    HereNowOpts { include_uuids: true, include_state: true, limit: 1000, offset: 0 }
}

fn chans(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn heartbeat_expires_and_drops_state() {
    let mut ks = Keyspace::default();
    let st: HashMap<String, Value> = HashMap::from([("a".to_string(), serde_json::json!({"k": 1}))]);
    ks.heartbeat("u1", &chans(&["a", "b"]), Timeout::Given(10_000), &st, 0);
    assert_eq!(ks.where_now("u1", 9_999), chans(&["a", "b"]));
    assert!(ks.where_now("u1", 10_000).is_empty());
    // a new heartbeat after expiry starts without the old state
    ks.heartbeat("u1", &chans(&["a"]), Timeout::Given(10_000), &HashMap::new(), 20_000);
    assert!(ks.get_state("u1", &chans(&["a"]), 20_001)[0].1.is_none());
    ks.fire_due(40_000);
    assert!(ks.channels.is_empty());
    assert!(ks.by_uuid.is_empty());
}

#[test]
fn paging_reports_full_occupancy() {
    let mut ks = Keyspace::default();
    for u in ["c", "a", "b", "d"] {
        ks.heartbeat(u, &chans(&["x"]), Timeout::Given(1_000), &HashMap::new(), 0);
    }
    let mut o = opts();
    o.limit = 2;
    o.offset = 1;
    let r = ks.here_now(&chans(&["x"]), o, 1);
    assert_eq!(r[0].occupancy, 4);
    let names: Vec<_> = r[0].page.iter().map(|p| &*p.0).collect();
    assert_eq!(names, ["b", "c"]);
}

#[test]
fn leave_removes_record_and_index() {
    let mut ks = Keyspace::default();
    ks.heartbeat("u", &chans(&["x", "y"]), Timeout::Given(1_000), &HashMap::new(), 0);
    ks.leave("u", &chans(&["x"]), 1);
    assert_eq!(ks.where_now("u", 2), chans(&["y"]));
    ks.leave("u", &chans(&["y"]), 1);
    assert!(ks.by_uuid.is_empty() && ks.channels.is_empty());
}

fn actions(ks: &Keyspace, channel: &str) -> Vec<(&'static str, Option<String>)> {
    ks.events.since(channel, 0).map(|e| (e.action.as_str(), e.uuid.as_deref().map(str::to_owned))).collect()
}

#[test]
fn join_once_then_leave_and_timeout_by_the_clock() {
    let mut ks = Keyspace::default();
    ks.heartbeat("a", &chans(&["x"]), Timeout::Given(10_000), &HashMap::new(), 0);
    ks.heartbeat("a", &chans(&["x", "x-pnpres"]), Timeout::Given(10_000), &HashMap::new(), 5_000);
    ks.heartbeat("b", &chans(&["x"]), Timeout::KeepOr(10_000), &HashMap::new(), 5_000);
    ks.leave("b", &chans(&["x"]), 6_000);
    assert_eq!(ks.next_deadline(), Some(15_000));
    ks.fire_due(14_999);
    assert_eq!(actions(&ks, "x").len(), 3);
    ks.fire_due(15_000);
    let seen = actions(&ks, "x");
    let expected = [("join", "a"), ("join", "b"), ("leave", "b"), ("timeout", "a")];
    assert_eq!(seen, expected.map(|(a, u)| (a, Some(u.to_owned()))));
    assert!(ks.channels.is_empty() && ks.expiries.is_empty() && ks.by_uuid.is_empty());
    assert_eq!(actions(&ks, "x-pnpres"), [], "presence names never make anyone present");
}

#[test]
fn state_changes_of_present_users_only() {
    let mut ks = Keyspace::default();
    let state = |v: Value| HashMap::from([("x".to_owned(), v)]);
    ks.set_state("a", &chans(&["x"]), &serde_json::json!({"k": 1}), 60_000, 0);
    assert_eq!(actions(&ks, "x"), [], "not present: state is stored silently");
    ks.heartbeat("a", &chans(&["x"]), Timeout::Given(60_000), &state(serde_json::json!({"k": 2})), 1);
    ks.heartbeat("a", &chans(&["x"]), Timeout::Given(60_000), &state(serde_json::json!({"k": 2})), 2);
    ks.heartbeat("a", &chans(&["x"]), Timeout::Given(60_000), &state(serde_json::json!({"k": 3})), 3);
    ks.set_state("a", &chans(&["x"]), &serde_json::json!({}), 60_000, 4);
    let seen: Vec<&str> = actions(&ks, "x").into_iter().map(|(a, _)| a).collect();
    assert_eq!(seen, ["join", "state-change", "state-change"]);
}

#[test]
fn a_subscribe_without_a_timeout_keeps_the_announced_one() {
    let mut ks = Keyspace::default();
    ks.heartbeat("a", &chans(&["x"]), Timeout::Given(60_000), &HashMap::new(), 0);
    ks.heartbeat("a", &chans(&["x"]), Timeout::KeepOr(300_000), &HashMap::new(), 10_000);
    assert_eq!(ks.expiries.first().map(|(at, ..)| *at), Some(70_000));
}

#[test]
fn interval_mode_above_announce_max() {
    let shared = KeyspaceSettings { announce_max: 2, interval_ms: 10_000, ..KeyspaceSettings::default() };
    let mut ks = Keyspace::new("demo", Arc::new(shared));
    for (i, u) in ["a", "b", "c", "d"].iter().enumerate() {
        ks.heartbeat(u, &chans(&["x"]), Timeout::Given(300_000), &HashMap::new(), i as u64);
    }
    ks.leave("a", &chans(&["x"]), 5);
    assert_eq!(actions(&ks, "x").len(), 2, "joins of a and b announced, then deltas");
    ks.fire_due(10_002);
    let events: Vec<_> = ks.events.since("x", 0).collect();
    let mut last = String::new();
    events.last().unwrap().write(&mut last, None);
    assert!(
        last.contains(r#""action":"interval""#) && last.contains(r#""occupancy":3,"join":["c","d"],"leave":["a"]"#),
        "{last}"
    );
    // Still crowded: another (empty) interval event 10 s later; then back to single events.
    ks.fire_due(20_002);
    assert_eq!(ks.events.since("x", 0).count(), 4);
    ks.leave("b", &chans(&["x"]), 20_003);
    ks.fire_due(30_002);
    ks.leave("c", &chans(&["x"]), 30_003);
    let seen: Vec<&str> = actions(&ks, "x").into_iter().map(|(a, _)| a).collect();
    assert_eq!(seen, ["join", "join", "interval", "interval", "interval", "leave"]);
}

#[test]
fn a_late_clock_counts_each_timeout_in_its_own_interval() {
    let shared = KeyspaceSettings { announce_max: 0, interval_ms: 10_000, ..KeyspaceSettings::default() };
    let mut ks = Keyspace::new("demo", Arc::new(shared));
    ks.heartbeat("a", &chans(&["x"]), Timeout::Given(300_000), &HashMap::new(), 0);
    ks.heartbeat("b", &chans(&["x"]), Timeout::Given(12_000), &HashMap::new(), 0);
    ks.heartbeat("c", &chans(&["x"]), Timeout::Given(25_000), &HashMap::new(), 0);
    ks.fire_due(30_000); // one jump past three interval ends and both timeouts
    let rendered: Vec<String> = ks
        .events
        .since("x", 0)
        .map(|e| {
            let mut out = String::new();
            e.write(&mut out, None);
            out
        })
        .collect();
    assert_eq!(rendered.len(), 3, "{rendered:#?}");
    assert!(rendered[0].contains(r#""join":["a","b","c"]"#) && !rendered[0].contains("timeout\":["), "{}", rendered[0]);
    assert!(
        rendered[1].contains(r#""timestamp":20,"#) && rendered[1].contains(r#""timeout":["b"]"#),
        "{}",
        rendered[1]
    );
    assert!(
        rendered[2].contains(r#""timestamp":30,"#) && rendered[2].contains(r#""timeout":["c"]"#),
        "{}",
        rendered[2]
    );
}

fn history(ks: &Keyspace, now: u64) -> Vec<(String, Vec<(u64, u32)>)> {
    ks.occupancy_history.window(now).into_iter().map(|(name, points)| (name.to_owned(), points)).collect()
}

#[test]
fn occupancy_history_records_joins_leaves_and_timeouts_only() {
    let mut ks = Keyspace::default();
    ks.heartbeat("a", &chans(&["x", "y"]), Timeout::Given(10_000), &HashMap::new(), 1_000);
    ks.heartbeat("b", &chans(&["x"]), Timeout::Given(60_000), &HashMap::new(), 2_000);
    // Heartbeats and state changes that change no occupancy record nothing.
    ks.heartbeat("b", &chans(&["x"]), Timeout::Given(60_000), &HashMap::new(), 3_000);
    let st = HashMap::from([("x".to_string(), serde_json::json!({"k": 1}))]);
    ks.heartbeat("b", &chans(&["x"]), Timeout::Given(60_000), &st, 3_500);
    ks.set_state("c", &chans(&["x"]), &serde_json::json!({"k": 2}), 60_000, 3_600);
    ks.leave("b", &chans(&["x"]), 4_000);
    ks.fire_due(20_000); // a times out at 11,000 (its expiry, not the late clock)
    let expected = vec![
        ("x".to_owned(), vec![(1_000, 1), (2_000, 2), (4_000, 1), (11_000, 0)]),
        ("y".to_owned(), vec![(1_000, 1), (11_000, 0)]),
    ];
    assert_eq!(history(&ks, 20_000), expected);
    // Presence names never count; changes within one millisecond are one point.
    ks.heartbeat("c", &chans(&["z", "z-pnpres"]), Timeout::Given(60_000), &HashMap::new(), 30_000);
    ks.heartbeat("d", &chans(&["z"]), Timeout::Given(60_000), &HashMap::new(), 30_000);
    assert_eq!(history(&ks, 30_000)[2], ("z".to_owned(), vec![(30_000, 2)]));
}

#[test]
fn occupancy_history_keeps_ten_minutes_and_the_point_before() {
    const MIN: u64 = 60_000;
    let mut ks = Keyspace::default();
    ks.heartbeat("a", &chans(&["gone"]), Timeout::Given(MIN), &HashMap::new(), 0);
    for (i, uuid) in ["a", "b", "c"].into_iter().enumerate() {
        ks.heartbeat(uuid, &chans(&["x"]), Timeout::Given(60 * MIN), &HashMap::new(), i as u64 * MIN);
    }
    // At 12 min the window starts at 2 min: the 1-min point goes, the 2-min one
    // (the last one before) stays, so the line starts at 3.
    assert_eq!(history(&ks, 12 * MIN), [("x".to_owned(), vec![(2 * MIN, 3)])]);
    assert_eq!(history(&ks, 11 * MIN), [("x".to_owned(), vec![(MIN, 2), (2 * MIN, 3)])]);
    // "gone" emptied at 1 min: listed while someone was in it in the window, not after.
    assert_eq!(history(&ks, 11 * MIN - 1)[0], ("gone".to_owned(), vec![(0, 1), (MIN, 0)]));
    // Pruning (once a minute, from fire_due) drops the old points and channels.
    ks.fire_due(12 * MIN);
    assert_eq!(ks.occupancy_history.channel_count(), 1);
    // A record drops what its own channel no longer needs.
    ks.leave("c", &chans(&["x"]), 30 * MIN);
    assert_eq!(history(&ks, 30 * MIN), [("x".to_owned(), vec![(2 * MIN, 3), (30 * MIN, 2)])]);
    ks.leave("b", &chans(&["x"]), 41 * MIN);
    assert_eq!(history(&ks, 41 * MIN), [("x".to_owned(), vec![(30 * MIN, 2), (41 * MIN, 1)])]);
}

#[test]
fn occupancy_history_is_bounded_per_channel() {
    let mut ks = Keyspace::default();
    let points = u64::try_from(super::occupancy::MAX_POINTS).unwrap();
    for t in 0..points + 10 {
        let uuid = format!("u{t}");
        ks.heartbeat(&uuid, &chans(&["x"]), Timeout::Given(3_600_000), &HashMap::new(), t);
    }
    let window = &history(&ks, points + 10)[0].1;
    assert_eq!(window.len(), super::occupancy::MAX_POINTS);
    assert_eq!(window.first(), Some(&(10, 11)));
    assert_eq!(window.last(), Some(&(points + 9, u32::try_from(points).unwrap() + 10)));
}
