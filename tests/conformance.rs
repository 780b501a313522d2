//! Replays PubNub's real recorded answers (`tests/recorded/*.json`, see its
//! README; docs/PROTOCOL.md §6 and §9.10 say what each shows) through the SDK.
//! For a request/response recording, the SDK makes the equivalent call against
//! a local server that answers with the recorded status and body; the test
//! checks the request matches the recorded one and the result (or error)
//! matches the body. A subscribe recording is decoded by the presence-events
//! decoder and compared event by event. Every recorded answer is checked:
//! `cargo test -p presence-tests --test conformance -- --nocapture` prints the count.

#[path = "recorded/files.rs"]
mod recorded;

use std::collections::BTreeMap;

use presence_tests::{Reply, ScriptedServer};
use pubnub_presence::{Error, PresenceEvent, PubNub};
use pubnub_presence_runtime::encoding;
use serde_json::{Value, json};

/// A recorded request, decoded.
struct Recorded {
    name: String,
    path: Vec<String>,
    query: BTreeMap<String, String>,
    status: u16,
    content_type: String,
    body: String,
    json: Value,
}

fn load(path: &std::path::Path) -> Recorded {
    let text = std::fs::read_to_string(path).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let url = file["request"]["url_as_sent"].as_str().or(file["request"]["url"].as_str()).unwrap();
    let after_host = &url[url.find("://").map(|i| i + 3).unwrap_or(0)..];
    let path_and_query = &after_host[after_host.find('/').unwrap()..];
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_owned(), encoding::decode(&v.replace('+', "%20")))
        })
        .collect();
    let response = &file["response"];
    let headers = response["headers"].as_object().unwrap();
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("text/javascript")
        .to_owned();
    Recorded {
        name: file["case"].as_str().unwrap().to_owned(),
        path: path.split('/').map(str::to_owned).collect(),
        query,
        status: response["status"].as_u64().unwrap() as u16,
        content_type,
        body: response["body"].as_str().unwrap().to_owned(),
        json: response["body_json"].clone(),
    }
}

/// Names in a path segment: split on the literal `,`, then decode each.
fn names(segment: &str) -> Vec<String> {
    segment.split(',').filter(|s| !s.is_empty()).map(encoding::decode).collect()
}

fn groups(rec: &Recorded) -> Vec<String> {
    rec.query
        .get("channel-group")
        .map(|v| v.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// What the SDK returned, as JSON, for comparison with the body.
enum Outcome {
    Ok(Value),
    Err(Error),
}

async fn replay(rec: &Recorded, server: &ScriptedServer) -> Option<Outcome> {
    let p: Vec<&str> = rec.path.iter().map(String::as_str).collect();
    let user = rec.query.get("uuid").cloned().unwrap_or_else(|| "recorded-user".into());
    let sub_key = encoding::decode(p.get(4).copied().unwrap_or_default());
    let mut config = server.config(&user).subscribe_key(sub_key);
    if let Some(auth) = rec.query.get("auth") {
        config = config.auth_key(auth.clone());
    }
    let pubnub = PubNub::new(config);
    let flag = |k: &str| rec.query.get(k).map(String::as_str);
    let result: Result<Value, Error> = match p.as_slice() {
        ["", "v1", "channel-registration", "sub-key", _, "channel-group", group] => {
            let group = encoding::decode(group);
            if let Some(add) = flag("add") {
                pubnub
                    .add_channel_to_channel_group()
                    .channel_group(group)
                    .channels(add.split(',').collect::<Vec<_>>())
                    .await
                    .map(|()| json!(null))
            } else if let Some(remove) = flag("remove") {
                pubnub
                    .remove_channel_from_channel_group()
                    .channel_group(group)
                    .channels(remove.split(',').collect::<Vec<_>>())
                    .await
                    .map(|()| json!(null))
            } else {
                pubnub.list_channels_in_channel_group().channel_group(group).await.map(|r| json!(r.channels))
            }
        }
        ["", "v1", "channel-registration", "sub-key", _, "channel-group", group, "remove"] => {
            pubnub.remove_channel_group().channel_group(encoding::decode(group)).await.map(|()| json!(null))
        }
        ["", "v2", "presence", "sub-key" | "sub_key", _]
        | ["", "v2", "presence", "sub-key" | "sub_key", _, "channel", _] => {
            let mut b = pubnub.here_now().channel_groups(groups(rec));
            if let Some(ch) = p.get(6) {
                b = b.channels(names(ch));
            }
            if flag("disable_uuids") == Some("1") {
                b = b.include_uuids(false);
            }
            if flag("state") == Some("1") {
                b = b.include_state(true);
            }
            if let Some(limit) = flag("limit") {
                b = b.limit(limit.parse().unwrap());
            }
            b.await.map(|r| {
                let channels: BTreeMap<String, Value> = r
                    .channels
                    .iter()
                    .map(|(name, c)| {
                        assert_eq!(&c.channel_name, name);
                        let occupants: Vec<Value> =
                            c.occupants.iter().map(|o| json!({"uuid": o.uuid, "state": o.state})).collect();
                        (name.clone(), json!({"occupancy": c.occupancy, "occupants": occupants}))
                    })
                    .collect();
                json!({"total_channels": r.total_channels, "total_occupancy": r.total_occupancy, "channels": channels})
            })
        }
        ["", "v2", "presence", "sub-key" | "sub_key", _, "uuid", uuid] => {
            pubnub.where_now().uuid(encoding::decode(uuid)).await.map(|r| json!(r.channels))
        }
        ["", "v2", "presence", "sub-key" | "sub_key", _, "channel", ch, "uuid", uuid] => pubnub
            .get_state()
            .channels(names(ch))
            .channel_groups(groups(rec))
            .uuid(encoding::decode(uuid))
            .await
            .map(|r| json!(r.channels)),
        ["", "v2", "presence", "sub-key" | "sub_key", _, "channel", ch, "uuid", uuid, "data"] => {
            let state: Value = serde_json::from_str(flag("state").unwrap()).unwrap();
            pubnub
                .set_state()
                .channels(names(ch))
                .channel_groups(groups(rec))
                .uuid(encoding::decode(uuid))
                .state(state)
                .await
                .map(|r| r.state)
        }
        ["", "v2", "presence", "sub-key" | "sub_key", _, "channel", ch, "heartbeat"] => {
            let mut b = pubnub.heartbeat().channels(names(ch)).channel_groups(groups(rec));
            if let Some(Ok(seconds)) = flag("heartbeat").map(str::parse) {
                b = b.heartbeat(seconds);
            }
            b.await.map(|()| json!(null))
        }
        ["", "v2", "presence", "sub-key" | "sub_key", _, "channel", ch, "leave"] => {
            pubnub.leave().channels(names(ch)).channel_groups(groups(rec)).await.map(|()| json!(null))
        }
        _ => return None,
    };
    Some(match result {
        Ok(value) => Outcome::Ok(value),
        Err(err) => Outcome::Err(err),
    })
}

/// What the body says the result should be, in the same JSON form as `replay`.
fn expected(rec: &Recorded, requested_channels: usize, has_groups: bool) -> Value {
    let body = &rec.json;
    let p: Vec<&str> = rec.path.iter().map(String::as_str).collect();
    let occupants = |uuids: Option<&Value>| -> Value {
        let list = uuids.and_then(Value::as_array).cloned().unwrap_or_default();
        Value::Array(
            list.iter()
                .map(|u| match u {
                    Value::String(s) => json!({"uuid": s, "state": null}),
                    obj => json!({"uuid": obj["uuid"], "state": obj.get("state").cloned().unwrap_or(Value::Null)}),
                })
                .collect(),
        )
    };
    match p.as_slice() {
        [.., "channel-group", _] if body.get("payload").is_some() => body["payload"]["channels"].clone(),
        ["", "v1", ..] => json!(null),
        [.., "uuid", _] if p[5] == "uuid" => body.get("payload").map(|p| p["channels"].clone()).unwrap_or(json!([])),
        [.., "uuid", _] => {
            if requested_channels == 1 && !has_groups {
                let channel = encoding::decode(p[6]);
                json!({ channel: body["payload"] })
            } else {
                body["payload"]["channels"].clone()
            }
        }
        [.., "data"] => body["payload"].clone(),
        [.., "heartbeat"] | [.., "leave"] => json!(null),
        _ => {
            if requested_channels == 1 && !has_groups {
                let channel = names(p[6]).remove(0);
                json!({
                    "total_channels": 1,
                    "total_occupancy": body["occupancy"],
                    "channels": { channel: {"occupancy": body["occupancy"], "occupants": occupants(body.get("uuids"))} },
                })
            } else {
                let channels: BTreeMap<String, Value> = body["payload"]["channels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| {
                        (k.clone(), json!({"occupancy": v["occupancy"], "occupants": occupants(v.get("uuids"))}))
                    })
                    .collect();
                json!({
                    "total_channels": body["payload"]["total_channels"],
                    "total_occupancy": body["payload"]["total_occupancy"],
                    "channels": channels,
                })
            }
        }
    }
}

/// The decoded path segments and endpoint parameters the SDK sent.
fn check_request(rec: &Recorded, sent: &str) {
    let (path, query) = sent.split_once('?').unwrap_or((sent, ""));
    let normalize = |segments: Vec<String>| -> Vec<Vec<String>> {
        segments.iter().map(|s| if s == "sub_key" { vec!["sub-key".to_owned()] } else { names(s) }).collect()
    };
    let sent_path = normalize(path.split('/').map(str::to_owned).collect());
    assert_eq!(sent_path, normalize(rec.path.clone()), "{}: path differs (sent {sent})", rec.name);
    let sent_query: BTreeMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), encoding::decode(v)))
        .collect();
    for key in ["channel-group", "add", "remove", "limit", "offset"] {
        if let Some(value) = rec.query.get(key) {
            assert_eq!(sent_query.get(key), Some(value), "{}: `{key}` differs (sent {sent})", rec.name);
        }
    }
    for (key, on) in [("disable_uuids", "1"), ("state", "1")] {
        assert_eq!(
            sent_query.get(key).map(String::as_str) == Some(on),
            rec.query.get(key).map(String::as_str) == Some(on),
            "{}: `{key}`",
            rec.name
        );
    }
    if rec.path.last().is_some_and(|s| s == "data") {
        let sent_state: Value = serde_json::from_str(&sent_query["state"]).unwrap();
        let recorded_state: Value = serde_json::from_str(&rec.query["state"]).unwrap();
        assert_eq!(sent_state, recorded_state, "{}: state differs", rec.name);
    }
    if let Some(heartbeat) = rec.query.get("heartbeat").filter(|h| !h.is_empty()) {
        assert_eq!(sent_query.get("heartbeat"), Some(heartbeat), "{}", rec.name);
    }
}

/// Every recorded answer is checked, each by the check for its kind.
#[tokio::test]
async fn every_recorded_answer_decodes_correctly() {
    let files = recorded::all();
    let requests = request_response_answers(&files).await;
    let subscribes = subscribe_answers(&files);
    assert_eq!(
        requests.len(),
        31,
        "expected the 31 request/response recordings of docs/PROTOCOL.md §6, checked {requests:?}"
    );
    assert_eq!(
        subscribes.len(),
        19,
        "expected the 19 subscribe recordings of docs/PROTOCOL.md §9.10, checked {subscribes:?}"
    );
    assert_eq!(
        requests.len() + subscribes.len(),
        files.len(),
        "every file in {} is checked",
        recorded::dir().display()
    );
    println!(
        "conformance: {} recorded answers checked ({} request/response, {} subscribe)",
        files.len(),
        requests.len(),
        subscribes.len()
    );
}

/// Replays every request/response recording (all but subscribe answers);
/// returns the names checked.
async fn request_response_answers(files: &[std::path::PathBuf]) -> Vec<String> {
    let mut checked = Vec::new();
    for path in files {
        let rec = load(path);
        if rec.path.iter().any(|s| s == "subscribe") {
            continue; // `subscribe_answers` checks these.
        }
        let server = ScriptedServer::start().await;
        server.reply(Reply { status: rec.status, content_type: rec.content_type.clone(), body: rec.body.clone() });
        let outcome =
            replay(&rec, &server).await.unwrap_or_else(|| panic!("{}: unrecognised request {:?}", rec.name, rec.path));
        let sent = server.requests();
        assert_eq!(sent.len(), 1, "{}: expected one request", rec.name);
        check_request(&rec, &sent[0]);
        match outcome {
            Outcome::Ok(value) => {
                assert!(rec.status < 400, "{}: HTTP {} must be an error", rec.name, rec.status);
                let channels = rec.path.get(6).map(|s| names(s).len()).unwrap_or(0);
                assert_eq!(value, expected(&rec, channels, !groups(&rec).is_empty()), "{}", rec.name);
            }
            Outcome::Err(err) => {
                assert!(rec.status >= 400, "{}: unexpected error {err:?}", rec.name);
                match &err {
                    Error::Api { status, message, service, .. } => {
                        assert_eq!(*status, rec.status, "{}", rec.name);
                        assert_eq!(message, rec.json["message"].as_str().unwrap(), "{}", rec.name);
                        assert_eq!(service.as_deref(), rec.json["service"].as_str(), "{}", rec.name);
                    }
                    other => panic!("{}: expected an API error, got {other:?}", rec.name),
                }
            }
        }
        checked.push(rec.name);
    }
    checked
}

/// The fields every presence event carries, and the action-specific ones, as
/// the SDK decoded them: compared with the recorded item field by field.
fn event_json(event: &PresenceEvent) -> Value {
    // The common fields, the action and the action's own fields.
    macro_rules! common {
        ($e:expr, $action:expr) => {
            json!({"action": $action, "channel": $e.channel, "subscription": $e.subscription, "timetoken": $e.timetoken,
                   "timestamp": $e.timestamp, "precise_timestamp": $e.precise_timestamp, "occupancy": $e.occupancy})
        };
    }
    let (mut value, own) = match event {
        PresenceEvent::Join(e) => (common!(e, "join"), json!({"uuid": e.uuid, "state": e.state})),
        PresenceEvent::Leave(e) => (common!(e, "leave"), json!({"uuid": e.uuid, "state": e.state})),
        PresenceEvent::Timeout(e) => (common!(e, "timeout"), json!({"uuid": e.uuid, "state": e.state})),
        PresenceEvent::StateChange(e) => (common!(e, "state-change"), json!({"uuid": e.uuid, "state": e.state})),
        PresenceEvent::Interval(e) => (
            common!(e, "interval"),
            json!({"joined": e.joined, "left": e.left, "timed_out": e.timed_out, "here_now_refresh": e.here_now_refresh}),
        ),
        other => panic!("no recording holds an unknown action: {other:?}"),
    };
    let object = value.as_object_mut().unwrap();
    object.extend(own.as_object().unwrap().clone());
    object.retain(|_, v| !v.is_null());
    value
}

/// What the recorded item says the event is (docs/PROTOCOL.md §9.9's mapping),
/// derived from the JSON independently of the SDK's decoder.
fn expected_event(item: &Value) -> Value {
    let c = item["c"].as_str().unwrap();
    let strip = |s: &str| s.strip_suffix("-pnpres").unwrap_or(s).to_owned();
    let subscription = item["b"].as_str().filter(|b| *b != c).map(strip);
    let d = &item["d"];
    let action = d["action"].as_str().unwrap();
    let mut value = json!({
        "action": action, "channel": strip(c), "subscription": subscription,
        "timetoken": item["p"]["t"].as_str().unwrap().parse::<u64>().unwrap(),
        "timestamp": d["timestamp"], "precise_timestamp": d["precise_timestamp"], "occupancy": d["occupancy"],
    });
    if action == "interval" {
        for (wire, field) in [("join", "joined"), ("leave", "left"), ("timeout", "timed_out")] {
            value[field] = if d[wire].is_null() { json!([]) } else { d[wire].clone() };
        }
        value["here_now_refresh"] = json!(d["here_now_refresh"].as_bool().unwrap_or(false));
    } else {
        value["uuid"] = d["uuid"].clone();
        value["state"] = d["data"].clone();
    }
    value.as_object_mut().unwrap().retain(|_, v| !v.is_null());
    value
}

/// Every recorded subscribe answer (docs/PROTOCOL.md §9.10) decodes through the
/// presence-events decoder: the cursor as sent, each event of the right
/// kind with every field as the recording says, and the 403 as an error
/// naming the channel. Returns the names checked.
fn subscribe_answers(files: &[std::path::PathBuf]) -> Vec<String> {
    let pubnub = PubNub::new(pubnub_presence::Config::new("demo").user_id("conformance"));
    let (mut checked, mut events) = (Vec::new(), 0);
    for path in files {
        let rec = load(path);
        if !rec.path.iter().any(|s| s == "subscribe") {
            continue;
        }
        let answer = pubnub.presence_events().channels("x").decode_response(rec.status, rec.body.as_bytes());
        if rec.status >= 400 {
            let err = answer.expect_err(&rec.name);
            assert_eq!(err.status(), Some(rec.status), "{}", rec.name);
            assert!(err.to_string().contains("Forbidden"), "{}: {err}", rec.name);
            let Error::Api { body, .. } = &err else { panic!("{}: {err:?}", rec.name) };
            assert!(body.contains("not-permitted-channel"), "{}: the 403 names the channel", rec.name);
            checked.push(rec.name);
            continue;
        }
        let answer = answer.unwrap_or_else(|err| panic!("{}: {err:?}", rec.name));
        assert_eq!(answer.cursor.timetoken, rec.json["t"]["t"].as_str().unwrap(), "{}", rec.name);
        assert_eq!(u64::from(answer.cursor.region), rec.json["t"]["r"].as_u64().unwrap(), "{}", rec.name);
        let items = rec.json["m"].as_array().unwrap();
        assert_eq!(answer.items.len(), items.len(), "{}", rec.name);
        for (decoded, item) in answer.items.iter().zip(items) {
            let decoded = decoded.as_ref().unwrap_or_else(|err| panic!("{}: {err:?}", rec.name));
            assert_eq!(event_json(&decoded.item), expected_event(item), "{}", rec.name);
            events += 1;
        }
        checked.push(rec.name);
    }
    let event_files = recorded::starting_with("presence_event_").len();
    assert_eq!(events, event_files, "one event in each of the {event_files} presence_event_* recordings");
    checked
}
