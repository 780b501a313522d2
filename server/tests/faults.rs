//! Fault injection (`/dev/faults`, `ServerConfig::with_faults`), the request
//! log (`/dev/requests`), `/metrics`, and when the `/dev/*` endpoints are served.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use presence_server::signature::{parse_query, sign_v2};
use presence_server::{Clock, FaultSet, ServerConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a raw request got back.
#[derive(Debug, PartialEq)]
enum Wire {
    /// An answer (the whole bytes received, head and body).
    Answer(String),
    /// The server closed the connection without a byte (FIN).
    Closed,
    /// The connection was reset (RST).
    Reset,
}

/// Sends one `GET` on a fresh connection and reads until the server closes it
/// (`Connection: close`), so a dropped or reset answer shows.
async fn raw_get(addr: SocketAddr, path_and_query: &str) -> Wire {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path_and_query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await.expect("no answer in 10 s") {
            Ok(0) if got.is_empty() => return Wire::Closed,
            Ok(0) => return Wire::Answer(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && got.is_empty() => return Wire::Reset,
            Err(e) => panic!("read failed: {e} after {} bytes", got.len()),
        }
    }
}

/// The answer to a `PUT`.
struct Put {
    status: u16,
    body: String,
}

impl Put {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn put_faults(t: &TestServer, body: &str) -> Put {
    let url = format!("{}/dev/faults", t.server.url());
    let resp = t.client.put(url).body(body.to_owned()).send().await.unwrap();
    Put { status: resp.status().as_u16(), body: resp.text().await.unwrap() }
}

async fn set_faults(t: &TestServer, rules: Value) {
    let r = put_faults(t, &rules.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn faults(t: &TestServer) -> Value {
    let r = t.get("/dev/faults").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn occupants(t: &TestServer, channel: &str) -> Value {
    t.get(&format!("/v2/presence/sub-key/demo/channel/{channel}")).await.json()["uuids"].clone()
}

const HERE_NOW_LOBBY: &str = "/v2/presence/sub-key/demo/channel/lobby";

#[tokio::test]
async fn a_status_effect_answers_in_the_error_shape_without_acting() {
    let t = TestServer::start().await;
    set_faults(
        &t,
        json!({"rules": [{"endpoint": "heartbeat", "effect": {"status": 503}},
                         {"endpoint": "here_now", "channel": "busy*", "effect": {"status": 429, "retry_after": 0}}]}),
    )
    .await;
    let r = t.get("/v2/presence/sub-key/demo/channel/lobby/heartbeat?uuid=alice").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.content_type, PRESENCE_CT);
    let body = r.json();
    assert_eq!(
        (body["error"].clone(), body["service"].clone(), body["status"].clone()),
        (json!(1), json!("Presence"), json!(503))
    );
    assert!(body["message"].as_str().unwrap().contains("injected fault, rule 0"), "{body}");
    assert!(r.headers.get("retry-after").is_none());
    assert_eq!(occupants(&t, "lobby").await, json!([]), "a refused heartbeat does not act");

    let r = t.get("/v2/presence/sub-key/demo/channel/busy-1").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["retry-after"], "0");
    assert_eq!(t.get(HERE_NOW_LOBBY).await.status, 200, "the channel glob does not match lobby");
}

/// Waits until rule `rule` of the rules in force has fired `n` times.
async fn until_injected(t: &TestServer, rule: usize, n: u64) {
    for _ in 0..2_000 {
        if faults(t).await["rules"][rule]["injected"] == json!(n) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("rule {rule} never fired {n} times: {}", faults(t).await);
}

#[tokio::test]
async fn a_delay_effect_waits_on_the_server_clock_then_acts_at_the_time_it_proceeds() {
    let t = TestServer::start().await;
    let mut poll = t.handshake("lobby-pnpres", "uuid=watcher").await;
    set_faults(&t, json!({"rules": [{"endpoint": "heartbeat", "count": 1, "effect": {"delay_ms": 5000}}]})).await;
    let addr = t.server.local_addr();
    let slow = tokio::spawn(async move {
        raw_get(addr, "/v2/presence/sub-key/demo/channel/lobby/heartbeat?uuid=alice&heartbeat=60").await
    });
    until_injected(&t, 0, 1).await;
    // A delay holds no lock: other requests are answered meanwhile, and the
    // delayed heartbeat has not acted yet.
    assert_eq!(occupants(&t, "lobby").await, json!([]));
    t.clock.advance(Duration::from_millis(5000));
    let Wire::Answer(answer) = slow.await.unwrap() else { panic!("the delayed heartbeat got no answer") };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(occupants(&t, "lobby").await, json!(["alice"]));

    // The join is stamped when the heartbeat proceeded, not when it arrived.
    let r = t.get(&format!("/v2/subscribe/demo/lobby-pnpres/0?uuid=watcher&tt={}&tr=1", poll.cursor)).await;
    let events = r.json()["m"].clone();
    assert_eq!(events[0]["d"]["action"], "join", "{events}");
    let joined_ms = events[0]["p"]["t"].as_str().unwrap().parse::<u64>().unwrap() / 10_000;
    assert_eq!(joined_ms, T0_MS + 5000);
    poll.cursor = r.json()["t"]["t"].as_str().unwrap().to_owned();
    // And its presence deadline runs from then: 60 s after the delay, not after arrival.
    t.clock.advance(Duration::from_secs(59));
    assert_eq!(occupants(&t, "lobby").await, json!(["alice"]), "timed out from the arrival time");
    t.clock.advance(Duration::from_secs(1));
    let r = t.get(&format!("/v2/subscribe/demo/lobby-pnpres/0?uuid=watcher&tt={}&tr=1", poll.cursor)).await;
    assert_eq!(r.json()["m"][0]["d"]["action"], "timeout", "{}", r.body);

    let log: Value = t.get("/dev/requests").await.json();
    let delayed = log["requests"].as_array().unwrap().iter().find(|e| e["fault"].is_string()).unwrap().clone();
    assert_eq!(delayed["fault"], "delay 5000 ms");
}

#[tokio::test]
async fn a_delay_draws_its_jitter_within_the_bound() {
    let t = TestServer::start().await;
    set_faults(
        &t,
        json!({"rules": [{"endpoint": "here_now", "count": 1, "effect": {"delay_ms": 200, "jitter_ms": 50}}]}),
    )
    .await;
    let addr = t.server.local_addr();
    let slow = tokio::spawn(async move { raw_get(addr, HERE_NOW_LOBBY).await });
    until_injected(&t, 0, 1).await;
    t.clock.advance(Duration::from_millis(250));
    assert!(matches!(slow.await.unwrap(), Wire::Answer(a) if a.starts_with("HTTP/1.1 200")));
    let log: Value = t.get("/dev/requests").await.json();
    let fault = log["requests"].as_array().unwrap().iter().find_map(|e| e["fault"].as_str()).unwrap().to_owned();
    let ms: u64 = fault.strip_prefix("delay ").and_then(|f| f.strip_suffix(" ms")).unwrap().parse().unwrap();
    assert!((200..=250).contains(&ms), "{fault}");
}

#[tokio::test]
async fn drop_answer_acts_then_closes_without_answering() {
    let t = TestServer::start().await;
    set_faults(&t, json!({"rules": [{"endpoint": "heartbeat", "uuid": "alice", "effect": "drop_answer"}]})).await;
    let addr = t.server.local_addr();
    assert_eq!(raw_get(addr, "/v2/presence/sub-key/demo/channel/lobby/heartbeat?uuid=alice").await, Wire::Closed);
    assert_eq!(occupants(&t, "lobby").await, json!(["alice"]), "the dropped heartbeat took effect");
    t.heartbeat("demo", "lobby", "bob", "").await;
}

#[tokio::test]
async fn reset_acts_then_resets_and_a_subscribe_poll_is_reset_while_held() {
    let t = TestServer::start().await;
    let addr = t.server.local_addr();
    set_faults(&t, json!({"rules": [{"endpoint": "heartbeat", "effect": "reset"}]})).await;
    assert_eq!(raw_get(addr, "/v2/presence/sub-key/demo/channel/lobby/heartbeat?uuid=alice").await, Wire::Reset);
    assert_eq!(occupants(&t, "lobby").await, json!(["alice"]));

    let poll = t.handshake("lobby-pnpres", "uuid=watcher").await;
    set_faults(&t, json!({"rules": [{"endpoint": "subscribe", "uuid": "watcher", "effect": "reset"}]})).await;
    let started = Instant::now();
    let target = format!("/v2/subscribe/demo/lobby-pnpres/0?uuid=watcher&tt={}&tr=1", poll.cursor);
    assert_eq!(raw_get(addr, &target).await, Wire::Reset);
    assert!(started.elapsed() >= Duration::from_millis(100), "held a moment first: {:?}", started.elapsed());
    assert_eq!(t.server.held_polls(), 0);
}

#[tokio::test]
async fn garbage_is_a_200_that_is_not_json() {
    let t = TestServer::start().await;
    set_faults(&t, json!({"rules": [{"endpoint": "here_now", "effect": "garbage"}]})).await;
    let r = t.get(HERE_NOW_LOBBY).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.body).is_err(), "{}", r.body);
}

#[tokio::test]
async fn a_dropped_subscribe_answer_comes_again_from_the_same_cursor() {
    let t = TestServer::start().await;
    let addr = t.server.local_addr();
    let poll = t.handshake("lobby-pnpres", "uuid=watcher").await;
    t.heartbeat("demo", "lobby", "alice", "").await;
    set_faults(&t, json!({"rules": [{"endpoint": "subscribe", "count": 1, "effect": "drop_answer"}]})).await;
    let target = format!("/v2/subscribe/demo/lobby-pnpres/0?uuid=watcher&tt={}&tr=1", poll.cursor);
    assert_eq!(raw_get(addr, &target).await, Wire::Closed);
    let again = t.get(&target).await.json();
    let actions: Vec<(String, String)> = again["m"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["d"]["action"].as_str().unwrap().to_owned(), m["d"]["uuid"].as_str().unwrap().to_owned()))
        .collect();
    assert!(actions.contains(&("join".to_owned(), "alice".to_owned())), "{again}");
    assert_eq!(faults(&t).await["rules"][0]["injected"], 1);
}

#[tokio::test]
async fn count_fires_on_the_first_matches_and_rate_by_probability() {
    let t = TestServer::start().await;
    set_faults(&t, json!({"rules": [{"endpoint": "here_now", "count": 2, "effect": {"status": 500}}]})).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(t.get(HERE_NOW_LOBBY).await.status);
    }
    assert_eq!(statuses, [500, 500, 200, 200, 200]);
    let got = faults(&t).await;
    assert_eq!((got["rules"][0]["matched"].clone(), got["rules"][0]["injected"].clone()), (json!(5), json!(2)));

    for (rate, expected) in [(0.0, 0), (1.0, 20)] {
        set_faults(&t, json!({"rules": [{"endpoint": "all", "rate": rate, "effect": {"status": 500}}]})).await;
        for _ in 0..20 {
            t.get(HERE_NOW_LOBBY).await;
        }
        assert_eq!(faults(&t).await["rules"][0]["injected"], expected, "rate {rate}");
    }
    set_faults(&t, json!({"rules": [{"endpoint": "all", "rate": 0.3, "effect": {"status": 500}}]})).await;
    for _ in 0..400 {
        t.get(HERE_NOW_LOBBY).await;
    }
    let injected = faults(&t).await["rules"][0]["injected"].as_u64().unwrap();
    assert!((80..=160).contains(&injected), "{injected} of 400 at rate 0.3");
}

async fn firing_sequence(t: &TestServer, seed: u64) -> Vec<bool> {
    set_faults(t, json!({"seed": seed, "rules": [{"endpoint": "here_now", "rate": 0.5, "effect": {"status": 503}}]}))
        .await;
    let mut fired = Vec::new();
    for _ in 0..40 {
        fired.push(t.get(HERE_NOW_LOBBY).await.status == 503);
    }
    fired
}

#[tokio::test]
async fn a_seed_gives_the_same_firing_sequence() {
    let t = TestServer::start().await;
    let first = firing_sequence(&t, 7).await;
    assert_eq!(firing_sequence(&t, 7).await, first);
    let other = TestServer::start().await;
    assert_eq!(firing_sequence(&other, 7).await, first, "another server, same seed");
    assert_ne!(firing_sequence(&t, 8).await, first);
    assert!(first.iter().any(|f| *f) && first.iter().any(|f| !*f));
}

#[tokio::test]
async fn the_rules_read_back_as_given_with_their_counts_and_delete_clears_them() {
    let t = TestServer::start().await;
    let rule = json!({"endpoint": "subscribe", "uuid": "app-1", "rate": 0.15, "effect": {"status": 503}});
    let r = put_faults(&t, &json!({"seed": 7, "rules": [rule]}).to_string()).await;
    assert_eq!(r.status, 200);
    let mut expected = rule.clone();
    expected["matched"] = json!(0);
    expected["injected"] = json!(0);
    assert_eq!(r.json(), json!({"seed": 7, "rules": [expected]}));
    assert_eq!(faults(&t).await, json!({"seed": 7, "rules": [expected]}));
    let r = t.request(reqwest::Method::DELETE, "/dev/faults").await;
    assert_eq!((r.status, r.json()), (200, json!({"seed": 0, "rules": []})));
}

#[tokio::test]
async fn bad_rules_are_refused_naming_the_field() {
    let t = TestServer::start().await;
    set_faults(&t, json!({"rules": [{"endpoint": "leave", "effect": "reset"}]})).await;
    let cases = [
        (
            r#"{"rules":[{"endpoint":"all","effect":"reset"},{"endpoint":"all","rate":1.5,"effect":"reset"}]}"#,
            "rules[1].rate: must be between 0 and 1, got 1.5",
        ),
        (r#"{"rules":[{"endpoint":"publish","effect":"reset"}]}"#, "rules[0].endpoint: unknown endpoint"),
        (r#"{"rules":[{"endpoint":"all","effect":"melt"}]}"#, "rules[0].effect: unknown effect"),
        (r#"{"rules":[{"endpoint":"all","rate":0.1,"count":3,"effect":"reset"}]}"#, "rules[0].count:"),
        (r#"{"rules":[{"endpoint":"all","when":"now","effect":"reset"}]}"#, "rules[0].when: unknown field"),
        (r#"{"rules":[{"endpoint":"all","effect":{"status":99}}]}"#, "rules[0].effect.status:"),
        ("{not json", "invalid JSON"),
    ];
    for (body, message) in cases {
        let r = put_faults(&t, body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let got = r.json()["message"].as_str().unwrap().to_owned();
        assert!(got.starts_with(message), "{body}: {got}");
    }
    assert_eq!(faults(&t).await["rules"][0]["endpoint"], "leave", "a refused set changes nothing");
    // The same messages for a --faults file / ServerConfig::with_faults.
    assert_eq!(FaultSet::from_json(cases[0].0).unwrap_err(), "rules[1].rate: must be between 0 and 1, got 1.5");
    // Bodies past 64 KiB are refused before they are read.
    let r = put_faults(&t, &" ".repeat(64 * 1024 + 1)).await;
    assert_eq!(r.status, 413);
}

#[tokio::test]
async fn rules_from_the_config_are_in_force_at_start() {
    let set =
        FaultSet::from_json(r#"{"seed":1,"rules":[{"endpoint":"where_now","uuid":"bob","effect":{"status":502}}]}"#)
            .unwrap();
    let t = TestServer::start_with(ServerConfig::default().with_faults(set)).await;
    assert_eq!(t.get("/v2/presence/sub-key/demo/uuid/bob").await.status, 502);
    assert_eq!(t.get("/v2/presence/sub-key/demo/uuid/alice").await.status, 200);
}

#[test]
fn dev_endpoints_are_on_by_default_only_on_loopback() {
    let on = |listen: &str, setting: Option<bool>| {
        let mut config = ServerConfig::default().with_listen(listen.parse().unwrap());
        config.dev_endpoints = setting;
        config.dev_endpoints_enabled()
    };
    assert!(on("127.0.0.1:8090", None));
    assert!(on("[::1]:8090", None));
    assert!(!on("0.0.0.0:8090", None));
    assert!(!on("192.168.1.5:8090", None));
    assert!(on("0.0.0.0:8090", Some(true)));
    assert!(!on("127.0.0.1:8090", Some(false)));
    assert!(
        ServerConfig::default()
            .with_listen("0.0.0.0:1".parse().unwrap())
            .with_dev_endpoints(true)
            .dev_endpoints_enabled()
    );
}

#[tokio::test]
async fn dev_endpoints_turned_off_are_not_found_and_metrics_stay() {
    let t = TestServer::start_with(ServerConfig::default().with_dev_endpoints(false)).await;
    assert_eq!(t.get("/dev/faults").await.status, 404);
    assert_eq!(t.get("/dev/requests").await.status, 404);
    assert_eq!(put_faults(&t, r#"{"rules":[]}"#).await.status, 404);
    assert_eq!(t.get("/metrics").await.status, 200);
}

#[tokio::test]
async fn with_a_secret_key_dev_endpoints_need_a_signature() {
    const SECRET: &str = "sec";
    let t = TestServer::start_with(ServerConfig::default().with_secret_key(SECRET).with_publish_key("pub")).await;
    let sign = |method: &str, path: &str, body: &str| {
        let query = format!("timestamp={}", t.clock.now_millis() / 1000);
        let sig = sign_v2(SECRET, "pub", method, path, &parse_query(&query), body);
        format!("{path}?{query}&signature={sig}")
    };
    assert_eq!(t.get("/dev/faults").await.status, 403);
    assert_eq!(t.get("/dev/requests").await.status, 403);
    assert_eq!(t.get(&sign("GET", "/dev/faults", "")).await.status, 200);
    assert_eq!(t.get(&sign("GET", "/dev/requests", "")).await.status, 200);
    let body = r#"{"rules":[{"endpoint":"here_now","effect":"garbage"}]}"#;
    let url = format!("{}{}", t.server.url(), sign("PUT", "/dev/faults", body));
    let resp = t.client.put(url).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let bad = format!("{}/dev/faults?timestamp=1700000000&signature=v2.AAAA", t.server.url());
    assert_eq!(t.client.put(bad).body(body).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn the_request_log_redacts_credentials_and_reads_after_a_seq() {
    let t = TestServer::start().await;
    t.heartbeat("demo", "lobby", "alice", "&auth=TOKEN&signature=v2.SIG&timestamp=1").await;
    set_faults(&t, json!({"rules": [{"endpoint": "here_now", "effect": {"status": 503}}]})).await;
    t.get(HERE_NOW_LOBBY).await;
    t.get("/v2/presence/sub-key/demo/uuid/alice").await;
    t.get("/metrics").await;
    t.get("/").await;
    let log = t.get("/dev/requests").await.json();
    assert_eq!(log["capacity"], 1000);
    let entries = log["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "dev, metrics and the dashboard are not logged: {log}");
    let hb = &entries[0];
    assert_eq!(
        hb["path"],
        "/v2/presence/sub-key/demo/channel/lobby/heartbeat?uuid=alice&auth=***&signature=***&timestamp=1"
    );
    assert_eq!(
        (hb["method"].clone(), hb["endpoint"].clone(), hb["uuid"].clone()),
        (json!("GET"), json!("heartbeat"), json!("alice"))
    );
    assert_eq!(
        (hb["channels"].clone(), hb["status"].clone(), hb["fault"].clone()),
        (json!(["lobby"]), json!(200), Value::Null)
    );
    assert_eq!(hb["time_ms"], T0_MS);
    assert!(hb["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        (entries[1]["status"].clone(), entries[1]["fault"].clone(), entries[1]["uuid"].clone()),
        (json!(503), json!("status 503"), Value::Null)
    );
    assert_eq!((entries[2]["endpoint"].clone(), entries[2]["uuid"].clone()), (json!("where_now"), json!("alice")));
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first: {seqs:?}");
    let newer = t.get(&format!("/dev/requests?after={}", seqs[1])).await.json();
    assert_eq!(newer["requests"].as_array().unwrap().len(), 1);
    assert_eq!(newer["requests"][0]["seq"], seqs[2]);
    assert_eq!(t.get("/dev/requests?after=x").await.status, 400);

    let small = TestServer::start_with(ServerConfig::default().with_request_log(2)).await;
    for _ in 0..3 {
        small.get(HERE_NOW_LOBBY).await;
    }
    let log = small.get("/dev/requests").await.json();
    assert_eq!((log["capacity"].clone(), log["requests"].as_array().unwrap().len()), (json!(2), 2));
    assert_eq!(log["requests"][0]["seq"], 2);
}

/// Parses Prometheus text: `name{labels} value` lines (comments skipped) into
/// `"name{labels}" -> value`, labels sorted by name.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
        let key = match series.split_once('{') {
            None => series.to_owned(),
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').unwrap_or_else(|| panic!("bad labels {line:?}"));
                let mut pairs: Vec<(String, String)> = labels
                    .split(',')
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("bad label {pair:?}"));
                        (k.to_owned(), v.trim_matches('"').to_owned())
                    })
                    .collect();
                pairs.sort();
                let labels: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{name}{{{}}}", labels.join(","))
            }
        };
        out.insert(key, value.parse().unwrap_or_else(|_| panic!("bad value {line:?}")));
    }
    out
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let t = TestServer::start_with(ServerConfig::default().with_presence_timeout(Duration::from_secs(60))).await;
    let poll = t.handshake("lobby-pnpres", "").await;
    t.heartbeat("demo", "lobby", "alice", "").await;
    t.heartbeat("demo", "lobby,hall", "bob", "").await;
    t.heartbeat("other", "lobby", "carol", "&heartbeat=10").await;
    t.get("/v2/presence/sub-key/demo/channel/lobby/uuid/bob/data?state=%7B%22a%22%3A1%7D").await;
    t.get("/v2/presence/sub-key/demo/channel/hall/leave?uuid=bob").await;
    t.clock.advance(Duration::from_secs(11)); // carol times out, when the reaper sees the clock
    tokio::time::timeout(Duration::from_secs(10), async {
        while !t.get("/metrics").await.body.contains("presence_events_total{action=\"timeout\"} 1") {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("carol's timeout is recorded");
    set_faults(
        &t,
        json!({"rules": [{"endpoint": "here_now", "count": 2, "effect": {"status": 503}},
                                      {"endpoint": "here_now", "effect": "garbage"}]}),
    )
    .await;
    for _ in 0..3 {
        t.get(HERE_NOW_LOBBY).await;
    }
    t.get("/nowhere").await;
    let addr = t.server.local_addr();
    let target = format!("/v2/subscribe/demo/quiet-pnpres/0?tt={}&tr=1", poll.cursor);
    let held = tokio::spawn(async move { raw_get(addr, &target).await });
    t.until_held(1).await;

    let r = t.get("/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    for name in
        ["presence_requests_total", "presence_held_polls", "presence_events_total", "presence_faults_injected_total"]
    {
        assert!(r.body.contains(&format!("# HELP {name} ")), "{name}");
        assert!(r.body.contains(&format!("# TYPE {name} ")), "{name}");
    }
    let m = parse_prometheus(&r.body);
    let get = |key: &str| m.get(key).copied().unwrap_or_else(|| panic!("no {key} in\n{}", r.body));
    assert_eq!(get("presence_requests_total{endpoint=heartbeat,status=200}"), 3.0);
    assert_eq!(get("presence_requests_total{endpoint=set_state,status=200}"), 1.0);
    assert_eq!(get("presence_requests_total{endpoint=leave,status=200}"), 1.0);
    assert_eq!(get("presence_requests_total{endpoint=subscribe,status=200}"), 1.0, "the held poll is not answered yet");
    assert_eq!(get("presence_requests_total{endpoint=here_now,status=503}"), 2.0);
    assert_eq!(get("presence_requests_total{endpoint=here_now,status=200}"), 1.0);
    assert_eq!(get("presence_requests_total{endpoint=unknown,status=404}"), 1.0);
    assert_eq!(get("presence_held_polls"), 1.0);
    assert_eq!(get("presence_events_total{action=join}"), 4.0);
    assert_eq!(get("presence_events_total{action=leave}"), 1.0);
    assert_eq!(get("presence_events_total{action=timeout}"), 1.0);
    assert_eq!(get("presence_events_total{action=state-change}"), 1.0);
    assert_eq!(get("presence_events_total{action=interval}"), 0.0);
    assert_eq!(get("presence_present_uuids"), 2.0, "alice and bob on demo");
    assert_eq!(get("presence_channels"), 1.0, "demo's lobby");
    assert_eq!(get("presence_faults_injected_total{effect=status,rule=0}"), 2.0);
    assert_eq!(get("presence_faults_injected_total{effect=garbage,rule=1}"), 1.0);
    held.abort();
}

/// The binary refuses to start with a bad `--faults` file, with the message
/// the HTTP endpoint gives for the same rules.
#[test]
fn a_bad_faults_file_stops_start_up_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("presence-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("faults.json");
    std::fs::write(&file, r#"{"seed": 1, "rules": [{"endpoint": "subscribe", "rate": 1.5, "effect": "reset"}]}"#)
        .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_presence-server"))
        .args(["--listen", "127.0.0.1:0", "--faults"])
        .arg(&file)
        .output()
        .expect("the binary runs");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!output.status.success(), "it must not start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rules[0].rate: must be between 0 and 1, got 1.5"), "{stderr}");
}
