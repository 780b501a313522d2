//! For each recorded presence event (`tests/recorded/presence_event_*.json`,
//! real PubNub answers; docs/PROTOCOL.md §9.6), brings the server into the same situation —
//! the same subscribe request, the same user doing the same thing — and
//! checks that the envelope it sends has the recording's keys with the same
//! value types (timetokens and times aside).
//!
//! The server sends the 2025 form: recordings from before 2020 lack `u` and
//! `d.precise_timestamp` (2020 lacks `u.pn_precise_timestamp`, and 2016 a
//! timeout's `"data":{}`), the only keys allowed in addition.

mod common;
#[path = "../../tests/recorded/files.rs"]
mod recorded;

use std::time::Duration;

use common::*;
use presence_server::ServerConfig;
use serde_json::Value;

struct Recording {
    name: String,
    channels: String,
    query: Vec<(String, String)>,
    event: Value,
}

fn load(path: &std::path::Path) -> Recording {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let url = file["request"]["url"].as_str().unwrap();
    let path_and_query = &url[url.find("/v2/subscribe/").unwrap()..];
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let channels = path.split('/').nth(4).unwrap().to_owned();
    let query =
        query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let body: Value = serde_json::from_str(file["response"]["body"].as_str().unwrap()).unwrap();
    Recording { name: file["case"].as_str().unwrap().to_owned(), channels, query, event: body["m"][0].clone() }
}

/// Same keys (extras only where the 2025 form adds them) and same JSON types.
fn same_shape(path: &str, ours: &Value, recorded: &Value, problems: &mut Vec<String>) {
    match (ours, recorded) {
        (Value::Object(ours), Value::Object(recorded)) => {
            for (key, value) in recorded {
                match ours.get(key) {
                    Some(mine) => same_shape(&format!("{path}.{key}"), mine, value, problems),
                    None => problems.push(format!("{path}.{key} missing")),
                }
            }
            for key in ours.keys().filter(|k| !recorded.contains_key(*k)) {
                let timeout = ours.get("action").and_then(Value::as_str) == Some("timeout");
                let allowed = matches!(
                    (path, key.as_str()),
                    ("", "u") | (".d", "precise_timestamp") | (".u", "pn_precise_timestamp")
                ) || (timeout && path == ".d" && key == "data");
                if !allowed {
                    problems.push(format!("{path}.{key} not in the recording"));
                }
            }
        }
        (Value::Array(ours), Value::Array(recorded)) => {
            if let (Some(mine), Some(theirs)) = (ours.first(), recorded.first()) {
                same_shape(&format!("{path}[0]"), mine, theirs, problems);
            }
        }
        (ours, recorded) => {
            let kind = |v: &Value| match v {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_u64() => "unsigned",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            if kind(ours) != kind(recorded) {
                problems.push(format!("{path}: {} here, {} recorded", kind(ours), kind(recorded)));
            }
        }
    }
}

/// Plays the recording's situation and returns the server's event.
async fn reenact(rec: &Recording) -> Value {
    let d = &rec.event["d"];
    let action = d["action"].as_str().unwrap();
    // Polls with nothing to deliver answer at once, so the test can drain them.
    let config = ServerConfig::default().with_long_poll_timeout(Duration::ZERO);
    let config = if action == "interval" { config.with_interval_mode(0, Duration::from_secs(10)) } else { config };
    let t = TestServer::start_with(config).await;
    let sub = rec.event["k"].as_str().unwrap();
    let channel = rec.event["c"].as_str().unwrap().trim_end_matches("-pnpres");
    let group = rec.query.iter().find(|(k, _)| k == "channel-group").map(|(_, v)| v.replace("%2C", ","));
    if let Some(groups) = &group {
        for g in groups.split(',').map(|g| g.trim_end_matches("-pnpres")) {
            t.get(&format!("/v1/channel-registration/sub-key/{sub}/channel-group/{g}?add={channel}")).await;
        }
    }
    // The recorded subscribe, as a handshake (the recorded cursor is PubNub's).
    let query: Vec<String> = rec
        .query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "tt" | "tr" | "t"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let query = query.join("&");
    let handshake = t.get(&format!("/v2/subscribe/{sub}/{}/0?{query}", rec.channels)).await.json();
    let mut cursor = handshake["t"]["t"].as_str().unwrap().to_owned();
    let hb =
        |uuid: &str, extra: &str| format!("/v2/presence/sub-key/{sub}/channel/{channel}/heartbeat?uuid={uuid}{extra}");
    let uuid = d["uuid"].as_str().unwrap_or("someone");
    match action {
        "join" => {
            t.get(&hb(uuid, "")).await;
        }
        "leave" => {
            t.get(&hb(uuid, "")).await;
            t.get(&format!("/v2/presence/sub-key/{sub}/channel/{channel}/leave?uuid={uuid}")).await;
        }
        "timeout" => {
            t.get(&hb(uuid, "&heartbeat=20")).await;
            t.clock.advance(Duration::from_secs(320));
        }
        "state-change" => {
            t.get(&hb(uuid, "")).await;
            let state: String = d["data"].to_string().bytes().map(|b| format!("%{b:02X}")).collect();
            t.get(&format!("/v2/presence/sub-key/{sub}/channel/{channel}/uuid/{uuid}/data?uuid={uuid}&state={state}"))
                .await;
        }
        "interval" => {
            let list = |key: &str| -> Vec<String> {
                d[key].as_array().into_iter().flatten().map(|u| u.as_str().unwrap().to_owned()).collect()
            };
            let (joins, leaves) = (list("join"), list("leave"));
            let occupancy = d["occupancy"].as_u64().unwrap() as usize;
            // First period: everyone but the recorded joiners, and the recorded leavers.
            let already = occupancy.saturating_sub(joins.len());
            for i in 0..already {
                t.get(&hb(&format!("present-{i}"), "")).await;
            }
            for u in &leaves {
                t.get(&hb(u, "")).await;
            }
            t.clock.advance(Duration::from_secs(10));
            // Second period: the recorded deltas.
            for u in &joins {
                t.get(&hb(u, "")).await;
            }
            for u in &leaves {
                t.get(&format!("/v2/presence/sub-key/{sub}/channel/{channel}/leave?uuid={u}")).await;
            }
            t.clock.advance(Duration::from_secs(10));
        }
        other => panic!("{}: no reenactment for `{other}`", rec.name),
    }
    // Poll until the event of the recorded kind arrives (the last such one).
    let mut found = None;
    loop {
        let r = t.get(&format!("/v2/subscribe/{sub}/{}/0?{query}&tt={cursor}", rec.channels)).await.json();
        let events = r["m"].as_array().unwrap().clone();
        if events.is_empty() {
            break;
        }
        cursor = r["t"]["t"].as_str().unwrap().to_owned();
        for event in events {
            if event["d"]["action"] == action && event["c"] == rec.event["c"] {
                found = Some(event);
            }
        }
        if found.is_some() && action != "interval" {
            break;
        }
    }
    found.unwrap_or_else(|| panic!("{}: the server sent no `{action}` event on {}", rec.name, rec.event["c"]))
}

#[tokio::test]
async fn every_recorded_presence_event_has_its_shape_reproduced() {
    let files = recorded::starting_with("presence_event_");
    assert!(
        files.len() >= 12,
        "expected the recorded presence events in {}, found {}",
        recorded::dir().display(),
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let rec = load(path);
        let ours = reenact(&rec).await;
        let mut problems = Vec::new();
        same_shape("", &ours, &rec.event, &mut problems);
        println!(
            "{:<48} {}",
            rec.name,
            if problems.is_empty() { "same shape".to_owned() } else { problems.join("; ") }
        );
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  ours:     {ours}\n  recorded: {}",
                rec.name,
                problems.join("; "),
                rec.event
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{} recorded presence events reproduced", files.len());
}
