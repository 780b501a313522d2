//! `--data-dir` (groups, states and presence across restarts), a `kill -9`
//! under load, snapshots (`/dev/snapshot`, `--import`, `--export-on-exit`),
//! and the errors of bad stores and snapshots.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use presence_server::{ManualClock, PresenceServer, ServerConfig, Snapshot};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A directory of its own under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("presence-persistence-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(config: ServerConfig, clock: &ManualClock) -> TestServer {
    let server = PresenceServer::start(config.with_clock(clock.clone())).await.expect("server starts");
    TestServer { server, clock: clock.clone(), client: plain_http_client() }
}

async fn start_in(dir: &TempDir, clock: &ManualClock) -> TestServer {
    start(ServerConfig::default().with_data_dir(dir.path()), clock).await
}

const GROUP: &str = "/v1/channel-registration/sub-key/demo/channel-group";

impl TestServer {
    async fn ok(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()
    }

    async fn group(&self, group: &str) -> Value {
        self.ok(&format!("{GROUP}/{group}")).await["payload"]["channels"].clone()
    }

    async fn state(&self, channel: &str, uuid: &str) -> Value {
        self.ok(&format!("/v2/presence/sub-key/demo/channel/{channel}/uuid/{uuid}")).await["payload"].clone()
    }

    async fn occupants(&self, channel: &str) -> Value {
        self.ok(&format!("/v2/presence/sub-key/demo/channel/{channel}")).await["uuids"].clone()
    }

    async fn events_after(&self, channel: &str, cursor: &str) -> Vec<(String, String, u64)> {
        let body = self.ok(&format!("/v2/subscribe/demo/{channel}-pnpres/0?uuid=watcher&tt={cursor}&tr=1")).await;
        body["m"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let at = e["p"]["t"].as_str().unwrap().parse::<u64>().unwrap() / 10_000;
                (e["d"]["action"].as_str().unwrap().to_owned(), e["d"]["uuid"].as_str().unwrap().to_owned(), at)
            })
            .collect()
    }
}

#[tokio::test]
async fn a_restart_keeps_groups_and_state() {
    let dir = TempDir::new();
    let clock = ManualClock::new(T0_MS);
    let t = start_in(&dir, &clock).await;
    t.ok(&format!("{GROUP}/friends?add=den,lobby")).await;
    t.ok(&format!("{GROUP}/gone?add=x")).await;
    t.ok(&format!("{GROUP}/gone/remove")).await;
    t.heartbeat("demo", "lobby", "alice", "&heartbeat=300").await;
    t.ok("/v2/presence/sub-key/demo/channel/lobby/uuid/alice/data?uuid=alice&state=%7B%22mood%22%3A%22ok%22%7D").await;
    // State kept for a uuid that is not present (set_state alone).
    t.ok("/v2/presence/sub-key/demo/channel/den/uuid/bob/data?uuid=bob&state=%7B%22n%22%3A1%7D").await;
    assert!(t.server.data_file().unwrap().starts_with(dir.path()));
    // The dashboard says where the data lives.
    let keys = t.ok("/dashboard/keys").await;
    assert_eq!(keys["data_file"], json!(dir.path().join("presence.redb").display().to_string()));
    t.server.shutdown().await;

    let t = start_in(&dir, &clock).await;
    assert_eq!(t.group("friends").await, json!(["den", "lobby"]));
    assert_eq!(t.ok(GROUP).await["payload"]["groups"], json!(["friends"]), "the deleted group stays deleted");
    assert_eq!(t.state("lobby", "alice").await, json!({"mood": "ok"}));
    assert_eq!(t.state("den", "bob").await, json!({"n": 1}));
    assert_eq!(t.occupants("lobby").await, json!(["alice"]));
    assert_eq!(t.occupants("den").await, json!([]), "state alone does not make bob present");
}

#[tokio::test]
async fn presence_survives_a_restart_with_its_deadlines_and_expires_on_time_across_one() {
    let dir = TempDir::new();
    let clock = ManualClock::new(T0_MS);
    let t = start_in(&dir, &clock).await;
    let cursor = t.handshake("lobby-pnpres", "uuid=watcher").await.cursor;
    t.heartbeat("demo", "lobby", "bob", "&heartbeat=60").await;
    t.heartbeat("demo", "lobby", "carol", "&heartbeat=10").await;
    t.server.shutdown().await;

    // Down for 30 s: carol's deadline (T0 + 10 s) passes, bob's (T0 + 60 s) does not.
    clock.advance(Duration::from_secs(30));
    let t = start_in(&dir, &clock).await;
    assert_eq!(t.occupants("lobby").await, json!(["bob"]));
    // carol timed out at start, her event stamped at her deadline: a watcher
    // that polls from its cursor of before the restart gets it.
    let events = t.events_after("lobby", &cursor).await;
    assert!(events.contains(&("timeout".to_owned(), "carol".to_owned(), T0_MS + 10_000)), "{events:?}");

    clock.advance(Duration::from_secs(29));
    assert_eq!(t.occupants("lobby").await, json!(["bob"]), "bob's deadline is T0 + 60 s");
    clock.advance(Duration::from_secs(1));
    assert_eq!(t.occupants("lobby").await, json!([]));
    let events = t.events_after("lobby", &cursor).await;
    assert!(events.contains(&("timeout".to_owned(), "bob".to_owned(), T0_MS + 60_000)), "{events:?}");
}

#[tokio::test]
async fn a_snapshot_round_trips_and_an_import_gives_the_same_here_now_and_groups() {
    let clock = ManualClock::new(T0_MS);
    let t = start(ServerConfig::default(), &clock).await;
    t.ok(&format!("{GROUP}/friends?add=den,lobby")).await;
    t.heartbeat("demo", "lobby", "alice", "&heartbeat=120").await;
    t.heartbeat("demo", "den", "bob", "&heartbeat=60").await;
    t.ok("/v2/presence/sub-key/demo/channel/lobby/uuid/alice/data?uuid=alice&state=%7B%22mood%22%3A%22ok%22%7D").await;
    clock.advance(Duration::from_secs(20));
    let text = t.get("/dev/snapshot").await.body;
    let snapshot: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(snapshot["version"], 1);
    assert_eq!(snapshot["keyspaces"]["demo"]["groups"], json!({"friends": ["den", "lobby"]}));
    let alice = snapshot["keyspaces"]["demo"]["presence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["uuid"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(
        alice,
        json!({"channel": "lobby", "uuid": "alice", "present": true, "timeout_ms": 120_000,
               "remaining_ms": 100_000, "state": {"mood": "ok"}})
    );
    let here_before = t.ok("/v2/presence/sub-key/demo?state=1").await;

    // Another server, another time: the same here_now and groups, the same time to live.
    let later = ManualClock::new(T0_MS + 3_600_000);
    let u = start(ServerConfig::default().with_import(Snapshot::from_json(&text).unwrap()), &later).await;
    assert_eq!(u.ok("/v2/presence/sub-key/demo?state=1").await, here_before);
    assert_eq!(u.group("friends").await, json!(["den", "lobby"]));
    later.advance(Duration::from_secs(40));
    assert_eq!(u.occupants("den").await, json!([]), "bob had 40 s left");
    assert_eq!(u.occupants("lobby").await, json!(["alice"]));
}

#[tokio::test]
async fn export_on_exit_writes_the_snapshot_an_import_reads() {
    let dir = TempDir::new();
    let file = dir.path().join("exported.json");
    let clock = ManualClock::new(T0_MS);
    let t = start(ServerConfig::default().with_export_on_exit(&file), &clock).await;
    t.ok(&format!("{GROUP}/friends?add=den")).await;
    t.heartbeat("demo", "den", "bob", "&heartbeat=60").await;
    t.server.shutdown().await;
    let snapshot = Snapshot::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(snapshot.counts(), (1, 1));
}

#[test]
fn bad_snapshots_are_refused_whole_naming_the_problem() {
    let cases = [
        ("{", "not JSON"),
        (r#"{"version": 1, "keyspaces": {"demo": {"groups": {"g": ["a"]}, "presence": [{"channel": "a""#, "not JSON"),
        (r#"{"version": 2}"#, "version: 2 is newer than this server reads (1)"),
        (r#"{"keyspaces": {}}"#, "version: missing"),
        (r#"{"version": 1, "extra": 1}"#, "extra: unknown field"),
        (
            r#"{"version": 1, "keyspaces": {"demo": {"groups": {"g": "a"}}}}"#,
            "keyspaces.demo.groups.g: expected a list",
        ),
        (
            r#"{"version": 1, "keyspaces": {"demo": {"presence": [{"channel": "a", "uuid": "u", "timeout_ms": 1, "remaining_ms": -5}]}}}"#,
            "keyspaces.demo.presence[0].remaining_ms: expected a whole number",
        ),
        (
            r#"{"version": 1, "keyspaces": {"demo": {"presence": [{"channel": "", "uuid": "u", "timeout_ms": 1, "remaining_ms": 5}]}}}"#,
            "keyspaces.demo.presence[0].channel: expected a non-empty string",
        ),
        (
            r#"{"version": 1, "keyspaces": {"demo": {"presence": [{"channel": "a", "uuid": "u", "timeout_ms": 1, "remaining_ms": 5, "state": [1]}]}}}"#,
            "keyspaces.demo.presence[0].state: expected an object or null",
        ),
    ];
    for (text, expected) in cases {
        let err = Snapshot::from_json(text).expect_err(text);
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[tokio::test]
async fn bad_truncated_or_newer_stores_give_a_clear_error_and_no_panic() {
    let clock = ManualClock::new(T0_MS);
    // A store of a newer schema.
    let dir = TempDir::new();
    let t = start_in(&dir, &clock).await;
    let file = t.server.data_file().unwrap();
    t.server.shutdown().await;
    {
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("meta")).unwrap().insert("schema", 99).unwrap();
        txn.commit().unwrap();
    }
    let err = PresenceServer::start(ServerConfig::default().with_data_dir(dir.path())).await.unwrap_err().to_string();
    assert!(err.contains("newer presence-server (schema 99; this one reads up to 1)"), "{err}");
    assert!(err.contains("presence.redb"), "the error names the file: {err}");

    // Truncated, and not a database at all.
    let dir = TempDir::new();
    let t = start_in(&dir, &clock).await;
    t.ok(&format!("{GROUP}/friends?add=den")).await;
    let file = t.server.data_file().unwrap();
    t.server.shutdown().await;
    let bytes = std::fs::read(&file).unwrap();
    for broken in [bytes[..bytes.len() / 3].to_vec(), b"not a database, just text".repeat(100)] {
        std::fs::write(&file, &broken).unwrap();
        let err =
            PresenceServer::start(ServerConfig::default().with_data_dir(dir.path())).await.unwrap_err().to_string();
        assert!(err.contains("cannot open the store") && err.contains("presence.redb"), "{err}");
    }
}

/// The server binary, started on an ephemeral port; its address from its start-up line.
struct Binary {
    child: tokio::process::Child,
    url: String,
    first_line: String,
}

async fn binary(args: &[&str]) -> Binary {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_presence-server"))
        .args(["--listen", "127.0.0.1:0", "--no-dashboard"])
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
    let url = line.split("listening on ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap().to_owned();
    // Keep reading so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Binary { child, url, first_line: line }
}

#[tokio::test]
async fn the_start_up_line_says_where_the_data_lives() {
    let memory = binary(&[]).await;
    assert!(memory.first_line.contains("data in memory"), "{}", memory.first_line);
    let dir = TempDir::new();
    let disk = binary(&["--data-dir", dir.path().to_str().unwrap()]).await;
    assert!(disk.first_line.contains(&format!("data kept in {}", dir.path().join("presence.redb").display())));
    drop((memory, disk));
}

#[tokio::test]
async fn a_bad_import_file_stops_start_up_naming_the_problem() {
    let dir = TempDir::new();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, r#"{"version": 1, "keyspaces": {"demo": {"groups": {"g": [""]}}}}"#).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_presence-server"))
        .args(["--listen", "127.0.0.1:0", "--import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keyspaces.demo.groups.g[0]: expected a channel name"), "{stderr}");
}

/// `kill -9` while heartbeats (~1,000/s), group changes and state changes
/// run: after a restart the store opens, and every change that was
/// acknowledged is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_under_load_loses_no_acknowledged_group_or_state_change() {
    let dir = TempDir::new();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let mut server = binary(&["--data-dir", &data_dir]).await;
    let client = plain_http_client();
    let url = server.url.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));

    // Heartbeats: 1,000 a second, 50 uuids over 5 channels.
    let heartbeats = {
        let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            let mut sent = 0u64;
            while !stop.load(Ordering::SeqCst) && sent < 20_000 {
                tick.tick().await;
                let path = format!(
                    "{url}/v2/presence/sub-key/demo/channel/c{}/heartbeat?uuid=u{}&heartbeat=60",
                    sent % 5,
                    sent % 50
                );
                let _ = client.get(path).send().await;
                sent += 1;
            }
            sent
        })
    };
    // Group and state changes, each recorded once acknowledged.
    let changes = {
        let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut added, mut states) = (Vec::new(), Vec::new());
            for i in 0..100_000u64 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let group = format!("{url}{GROUP}/g{}?add=ch{i}", i % 4);
                if matches!(client.get(group).send().await, Ok(r) if r.status() == 200) {
                    added.push((i % 4, format!("ch{i}")));
                }
                let state = format!(
                    "{url}/v2/presence/sub-key/demo/channel/s{}/uuid/w{}/data?uuid=w{}&state=%7B%22n%22%3A{i}%7D",
                    i % 3,
                    i % 3,
                    i % 3
                );
                if matches!(client.get(state).send().await, Ok(r) if r.status() == 200) {
                    states.push((i % 3, i));
                }
            }
            (added, states)
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.start_kill().unwrap(); // SIGKILL
    server.child.wait().await.unwrap();
    stop.store(true, Ordering::SeqCst);
    let sent = heartbeats.await.unwrap();
    let (added, states) = changes.await.unwrap();
    assert!(
        sent > 500 && added.len() > 20 && states.len() > 20,
        "load: {sent} heartbeats, {} group and {} state changes",
        added.len(),
        states.len()
    );

    let server = binary(&["--data-dir", &data_dir]).await;
    let get = |path: String| {
        let client = client.clone();
        async move { serde_json::from_str::<Value>(&client.get(path).send().await.unwrap().text().await.unwrap()).unwrap() }
    };
    for g in 0..4 {
        let listed = get(format!("{}{GROUP}/g{g}", server.url)).await["payload"]["channels"].clone();
        let listed: Vec<&str> = listed.as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        for (_, channel) in added.iter().filter(|(group, _)| *group == g) {
            assert!(listed.contains(&channel.as_str()), "g{g} lost the acknowledged {channel}");
        }
    }
    for w in 0..3 {
        let Some(last) = states.iter().filter(|(who, _)| *who == w).map(|(_, n)| *n).max() else { continue };
        let state = get(format!("{}/v2/presence/sub-key/demo/channel/s{w}/uuid/w{w}", server.url)).await;
        let n = state["payload"]["n"].as_u64().unwrap_or_else(|| panic!("w{w} lost its state: {state}"));
        // The last acknowledged one, or one sent after it whose answer the kill cut off.
        assert!(n >= last, "w{w}: state n={n} is older than the acknowledged n={last}");
    }
}

async fn commits(client: &reqwest::Client, url: &str) -> u64 {
    let text = client.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix("presence_store_commits_total ")).map_or(0, |n| n.parse().unwrap())
}

/// A heartbeat with `state=` is on disk once answered; a plain heartbeat
/// reaches it with the next periodic flush, with no other request.
#[tokio::test]
async fn a_heartbeats_state_is_kept_at_once_and_its_presence_by_the_periodic_flush() {
    let dir = TempDir::new();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let client = plain_http_client();
    let mut server = binary(&["--data-dir", &data_dir]).await;
    let with_state = "/v2/presence/sub-key/demo/channel/lobby/heartbeat?uuid=ann&heartbeat=300&state=%7B%22lobby%22%3A%7B%22m%22%3A1%7D%7D";
    assert_eq!(client.get(format!("{}{with_state}", server.url)).send().await.unwrap().status(), 200);
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    let mut server = binary(&["--data-dir", &data_dir]).await;
    let state =
        client.get(format!("{}/v2/presence/sub-key/demo/channel/lobby/uuid/ann", server.url)).send().await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&state.text().await.unwrap()).unwrap()["payload"], json!({"m": 1}));

    let before = commits(&client, &server.url).await;
    let plain = "/v2/presence/sub-key/demo/channel/den/heartbeat?uuid=ben&heartbeat=300";
    assert_eq!(client.get(format!("{}{plain}", server.url)).send().await.unwrap().status(), 200);
    // The flush runs on its own (every FLUSH_INTERVAL): wait for its commit, a condition, not a time.
    let mut waited = 0;
    while commits(&client, &server.url).await == before {
        assert!(waited < 3_000, "no periodic commit within 30 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    let server = binary(&["--data-dir", &data_dir]).await;
    let here = client.get(format!("{}/v2/presence/sub-key/demo/channel/den", server.url)).send().await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&here.text().await.unwrap()).unwrap()["uuids"], json!(["ben"]));
}

/// Names are kept whole, whatever they hold (a NUL, a quote, non-ASCII): the
/// store's keys are JSON arrays, not names joined by a separator.
#[tokio::test]
async fn names_with_any_characters_survive_a_restart() {
    let dir = TempDir::new();
    let clock = ManualClock::new(T0_MS);
    let t = start_in(&dir, &clock).await;
    t.heartbeat("demo", "a%00b%22%C3%A9", "u%00v", "&heartbeat=300").await;
    t.ok(&format!("{GROUP}/g%00h?add=x%00y")).await;
    t.server.shutdown().await;
    let t = start_in(&dir, &clock).await;
    assert_eq!(t.occupants("a%00b%22%C3%A9").await, json!(["u\u{0}v"]));
    assert_eq!(t.group("g%00h").await, json!(["x\u{0}y"]));
}
