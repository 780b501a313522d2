//! The server's presence against a small reference model, on the manual clock.
//!
//! Random steps (heartbeats, subscribe handshakes, held polls, hang-ups,
//! leaves and clock moves, over several uuids and channels) are applied both
//! to the server, over plain HTTP, and to [`Model`]: a uuid is present on a
//! channel until its last heartbeat or subscribe request plus its timeout; a
//! held poll neither extends nor shortens that, however it ends. After every
//! step, here_now and where_now must equal the model, and the events a
//! watcher received must be exactly the model's: a join when presence
//! starts, and exactly one leave or timeout when it ends, the timeout stamped
//! at the deadline itself and delivered by the reaper with no request.
//!
//! `PRESENCE_MODEL_CASES` sets the number of random runs (default 24).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use presence_server::{Clock, ServerConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const UUIDS: [&str; 3] = ["u0", "u1", "u2"];
const CHANNELS: [&str; 3] = ["c0", "c1", "c2"];
/// The server's default presence timeout in this test (a request without `heartbeat=`).
const DEFAULT_TIMEOUT_S: u64 = 30;
/// A channel that only carries the barrier joins; its events are not modelled.
const BARRIER: &str = "barrier";

#[derive(Debug, Clone)]
enum Step {
    Heartbeat {
        uuid: usize,
        channels: Vec<usize>,
        timeout: Option<u64>,
    },
    Handshake {
        uuid: usize,
        channels: Vec<usize>,
        timeout: Option<u64>,
    },
    /// A subscribe poll that the server holds (it counts as a request when it arrives).
    HoldPoll {
        uuid: usize,
        channels: Vec<usize>,
        timeout: Option<u64>,
    },
    /// The oldest open held poll's client goes away without a leave.
    HangUp,
    Leave {
        uuid: usize,
        channels: Vec<usize>,
    },
    /// The clock moves this many milliseconds.
    Advance {
        ms: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let uuid = 0..UUIDS.len();
    let channels = proptest::sample::subsequence((0..CHANNELS.len()).collect::<Vec<_>>(), 1..=CHANNELS.len());
    let timeout = proptest::option::of(prop_oneof![Just(5u64), Just(8), Just(13)]);
    prop_oneof![
        3 => (uuid.clone(), channels.clone(), timeout.clone())
            .prop_map(|(uuid, channels, timeout)| Step::Heartbeat { uuid, channels, timeout }),
        2 => (uuid.clone(), channels.clone(), timeout.clone())
            .prop_map(|(uuid, channels, timeout)| Step::Handshake { uuid, channels, timeout }),
        2 => (uuid.clone(), channels.clone(), timeout)
            .prop_map(|(uuid, channels, timeout)| Step::HoldPoll { uuid, channels, timeout }),
        2 => Just(Step::HangUp),
        1 => (uuid, channels).prop_map(|(uuid, channels)| Step::Leave { uuid, channels }),
        // Short moves, long ones past every timeout, and ones landing on a deadline's millisecond.
        4 => prop_oneof![0u64..3_000, 3_000u64..20_000, Just(1_000), Just(5_000)].prop_map(|ms| Step::Advance { ms }),
    ]
}

/// One event as the watcher saw it, or as the model expects it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    channel: String,
    action: String,
    uuid: String,
    /// The event's time: its timetoken in milliseconds.
    at_ms: u64,
    occupancy: u64,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    expires_ms: u64,
    timeout_ms: u64,
}

/// The reference: records by (channel, uuid), and the events they imply.
#[derive(Default)]
struct Model {
    now_ms: u64,
    records: BTreeMap<(String, String), Record>,
    expected: Vec<Seen>,
}

impl Model {
    fn occupancy(&self, channel: &str) -> u64 {
        self.records.keys().filter(|(c, _)| c == channel).count() as u64
    }

    fn event(&mut self, channel: &str, action: &str, uuid: &str, at_ms: u64) {
        let occupancy = self.occupancy(channel);
        self.expected.push(Seen {
            channel: channel.into(),
            action: action.into(),
            uuid: uuid.into(),
            at_ms,
            occupancy,
        });
    }

    /// Every presence whose deadline is at or before `now` times out, in
    /// deadline order (ties by channel, then uuid), stamped at its deadline.
    fn expire(&mut self, now: u64) {
        let mut due: Vec<(u64, String, String)> = self
            .records
            .iter()
            .filter(|(_, r)| r.expires_ms <= now)
            .map(|((c, u), r)| (r.expires_ms, c.clone(), u.clone()))
            .collect();
        due.sort();
        for (at, channel, uuid) in due {
            self.records.remove(&(channel.clone(), uuid.clone()));
            self.event(&channel, "timeout", &uuid, at);
        }
    }

    /// A heartbeat or subscribe request: present until now + its timeout; a
    /// request without one keeps the timeout announced before (subscribe) or
    /// takes the default (heartbeat).
    fn request(&mut self, uuid: &str, channels: &[&str], timeout: Option<u64>, keeps_timeout: bool) {
        self.expire(self.now_ms);
        for channel in channels {
            let key = (channel.to_string(), uuid.to_owned());
            let previous = self.records.get(&key).copied();
            let timeout_ms = match (timeout, previous) {
                (Some(s), _) => s * 1000,
                (None, Some(r)) if keeps_timeout => r.timeout_ms,
                (None, _) => DEFAULT_TIMEOUT_S * 1000,
            };
            self.records.insert(key, Record { expires_ms: self.now_ms + timeout_ms, timeout_ms });
            if previous.is_none() {
                self.event(channel, "join", uuid, self.now_ms);
            }
        }
    }

    fn leave(&mut self, uuid: &str, channels: &[&str]) {
        self.expire(self.now_ms);
        for channel in channels {
            if self.records.remove(&(channel.to_string(), uuid.to_owned())).is_some() {
                self.event(channel, "leave", uuid, self.now_ms);
            }
        }
    }

    fn where_now(&self, uuid: &str) -> BTreeSet<String> {
        self.records.keys().filter(|(_, u)| u == uuid).map(|(c, _)| c.clone()).collect()
    }

    fn here_now(&self, channel: &str) -> BTreeSet<String> {
        self.records.keys().filter(|(c, _)| c == channel).map(|(_, u)| u.clone()).collect()
    }
}

/// The server side of a run: a watcher of every channel's presence, and the
/// held polls still open.
struct Run {
    t: TestServer,
    watcher_cursor: String,
    held: Vec<TcpStream>,
    seen: Vec<Seen>,
    barriers: u32,
}

/// One poll of the watcher from `cursor`: the next cursor and the events.
async fn watcher_poll(t: &TestServer, cursor: &str, seen: &[Seen]) -> (String, Vec<Seen>) {
    let watched: Vec<String> = CHANNELS.iter().chain([&BARRIER]).map(|c| format!("{c}-pnpres")).collect();
    let path = format!("/v2/subscribe/demo/{}/0?tt={cursor}&tr=1", watched.join(","));
    let reply = tokio::time::timeout(Duration::from_secs(10), t.get(&path))
        .await
        .unwrap_or_else(|_| panic!("an expected event never came; seen so far: {seen:#?}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let events = body["m"]
        .as_array()
        .expect("m")
        .iter()
        .map(|message| {
            let d = &message["d"];
            let timetoken: u64 = message["p"]["t"].as_str().expect("p.t").parse().expect("p.t is digits");
            Seen {
                channel: message["c"].as_str().expect("c").trim_end_matches("-pnpres").to_owned(),
                action: d["action"].as_str().expect("action").to_owned(),
                uuid: d["uuid"].as_str().unwrap_or_default().to_owned(),
                at_ms: timetoken / 10_000,
                occupancy: d["occupancy"].as_u64().expect("occupancy"),
            }
        })
        .collect();
    (body["t"]["t"].as_str().expect("t.t").to_owned(), events)
}

fn names(channels: &[usize]) -> Vec<&'static str> {
    channels.iter().map(|&i| CHANNELS[i]).collect()
}

fn heartbeat_param(timeout: Option<u64>) -> String {
    timeout.map(|s| format!("&heartbeat={s}")).unwrap_or_default()
}

impl Run {
    async fn start() -> Run {
        let config = ServerConfig::default()
            .with_presence_timeout(Duration::from_secs(DEFAULT_TIMEOUT_S))
            // Held polls stay held until their client hangs up.
            .with_long_poll_timeout(Duration::from_secs(24 * 3600))
            // Every barrier is a join: the barrier channel never turns to interval events.
            .with_interval_mode(usize::MAX, Duration::from_secs(10));
        let t = TestServer::start_with(config).await;
        let watched: Vec<String> = CHANNELS.iter().chain([&BARRIER]).map(|c| format!("{c}-pnpres")).collect();
        // No uuid: the watcher only watches.
        let cursor = t.handshake(&watched.join(","), "").await.cursor;
        Run { t, watcher_cursor: cursor, held: Vec::new(), seen: Vec::new(), barriers: 0 }
    }

    /// One watcher poll from its cursor; the events it brings, in order.
    async fn poll_watcher(&mut self) {
        let (cursor, seen) = watcher_poll(&self.t, &self.watcher_cursor, &self.seen).await;
        self.watcher_cursor = cursor;
        self.seen.extend(seen);
    }

    /// The modelled events seen so far (barrier joins are dropped).
    fn modelled(&self) -> Vec<Seen> {
        self.seen.iter().filter(|s| s.channel != BARRIER).cloned().collect()
    }

    /// Polls until the watcher has seen `count` modelled events.
    async fn until_seen(&mut self, count: usize) {
        while self.modelled().len() < count {
            self.poll_watcher().await;
        }
    }

    /// A join on the barrier channel, then polls until the watcher sees it:
    /// every event sent before it has then been seen, so nothing extra hides.
    async fn barrier(&mut self) {
        self.barriers += 1;
        let uuid = format!("barrier-{}", self.barriers);
        self.t.heartbeat("demo", BARRIER, &uuid, "&heartbeat=320").await;
        while !self.seen.iter().any(|s| s.channel == BARRIER && s.uuid == uuid && s.action == "join") {
            self.poll_watcher().await;
        }
    }

    async fn subscribe_held(&mut self, uuid: &str, channels: &[&str], timeout: Option<u64>) {
        let mut stream = TcpStream::connect(self.t.server.local_addr()).await.expect("connect");
        // A cursor far ahead: no event is after it, so the poll is held.
        let request = format!(
            "GET /v2/subscribe/demo/{}/0?uuid={uuid}&tt=99999999999999999&tr=1{} HTTP/1.1\r\nHost: t\r\n\r\n",
            channels.join(","),
            heartbeat_param(timeout)
        );
        stream.write_all(request.as_bytes()).await.expect("send");
        self.held.push(stream);
        self.t.until_held(self.held.len()).await;
    }

    /// The one modelled presence (its join seen) is still there 1 ms before
    /// `deadline_ms` on the clock, and times out exactly at it, with no request.
    async fn times_out_at(&mut self, deadline_ms: u64) {
        let now = self.t.clock.now_millis();
        self.t.clock.advance(Duration::from_millis(deadline_ms - 1 - now));
        self.barrier().await;
        assert_eq!(self.modelled().len(), 1, "only the join 1 ms before the deadline: {:?}", self.seen);
        self.t.clock.advance(Duration::from_millis(1));
        self.until_seen(2).await;
        let timeout = &self.modelled()[1];
        assert_eq!((timeout.action.as_str(), timeout.at_ms), ("timeout", deadline_ms));
    }

    async fn hang_up(&mut self) {
        if self.held.is_empty() {
            return;
        }
        drop(self.held.remove(0));
        self.t.until_held(self.held.len()).await;
    }
}

async fn check(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let mut run = Run::start().await;
    let mut model = Model { now_ms: T0_MS, ..Model::default() };
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Heartbeat { uuid, channels, timeout } => {
                let names = names(channels);
                model.request(UUIDS[*uuid], &names, *timeout, false);
                run.t.heartbeat("demo", &names.join(","), UUIDS[*uuid], &heartbeat_param(*timeout)).await;
            }
            Step::Handshake { uuid, channels, timeout } => {
                let names = names(channels);
                model.request(UUIDS[*uuid], &names, *timeout, true);
                let query = format!("uuid={}{}", UUIDS[*uuid], heartbeat_param(*timeout));
                run.t.handshake(&names.join(","), &query).await;
            }
            Step::HoldPoll { uuid, channels, timeout } => {
                let names = names(channels);
                model.request(UUIDS[*uuid], &names, *timeout, true);
                run.subscribe_held(UUIDS[*uuid], &names, *timeout).await;
            }
            Step::HangUp => run.hang_up().await,
            Step::Leave { uuid, channels } => {
                let names = names(channels);
                model.leave(UUIDS[*uuid], &names);
                let path = format!("/v2/presence/sub-key/demo/channel/{}/leave?uuid={}", names.join(","), UUIDS[*uuid]);
                let reply = run.t.get(&path).await;
                prop_assert_eq!(reply.status, 200, "{}", reply.body);
            }
            Step::Advance { ms } => {
                model.now_ms += ms;
                model.expire(model.now_ms);
                // The watcher's poll is held (the barrier took every earlier
                // event) when the clock moves: the timeouts reach it with no
                // request, before the barrier heartbeat (which would also fire them).
                let held_before = run.held.len();
                let poll = watcher_poll(&run.t, &run.watcher_cursor, &run.seen);
                let advance = async {
                    run.t.until_held(held_before + 1).await;
                    run.t.clock.advance(Duration::from_millis(*ms));
                };
                let expects_events = model.expected.len() > run.modelled().len();
                if expects_events {
                    let ((cursor, seen), ()) = tokio::join!(poll, advance);
                    run.watcher_cursor = cursor;
                    run.seen.extend(seen);
                    run.until_seen(model.expected.len()).await;
                } else {
                    run.t.clock.advance(Duration::from_millis(*ms));
                }
            }
        }
        run.barrier().await;
        let context = format!("after step {i} {step:?} of {steps:#?}");
        prop_assert_eq!(run.modelled(), model.expected.clone(), "events {}", context);
        for uuid in UUIDS {
            let reply = run.t.get(&format!("/v2/presence/sub-key/demo/uuid/{uuid}")).await;
            let channels: BTreeSet<String> = reply.json()["payload"]["channels"]
                .as_array()
                .expect("payload.channels")
                .iter()
                .map(|c| c.as_str().expect("a name").to_owned())
                .collect();
            prop_assert_eq!(channels, model.where_now(uuid), "where_now {} {}", uuid, context);
        }
        for channel in CHANNELS {
            let reply = run.t.get(&format!("/v2/presence/sub-key/demo/channel/{channel}")).await;
            let uuids: BTreeSet<String> = reply.json()["uuids"]
                .as_array()
                .expect("uuids")
                .iter()
                .map(|u: &Value| u.as_str().expect("a uuid").to_owned())
                .collect();
            prop_assert_eq!(uuids, model.here_now(channel), "here_now {} {}", channel, context);
        }
    }
    run.t.server.shutdown().await;
    Ok(())
}

#[test]
fn presence_and_its_events_follow_the_reference_model() {
    let cases = std::env::var("PRESENCE_MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let mut runner = TestRunner::new(Config { cases, max_shrink_iters: 64, ..Config::default() });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runner
        .run(&proptest::collection::vec(step(), 1..40), |steps| runtime.block_on(check(steps)))
        .unwrap_or_else(|failure| panic!("{failure}"));
}

/// The simplest case, fixed: heartbeats with `heartbeat=10` at t=0
/// and t=6 s, then nothing; the timeout comes at t=16 s, not one timeout later.
#[tokio::test]
async fn a_refreshed_presence_times_out_at_the_last_heartbeat_plus_its_timeout() {
    let mut run = Run::start().await;
    run.t.heartbeat("demo", "c0", "alice", "&heartbeat=10").await;
    run.t.clock.advance(Duration::from_secs(6));
    run.t.heartbeat("demo", "c0", "alice", "&heartbeat=10").await;
    run.times_out_at(T0_MS + 16_000).await;
}

/// A subscriber with `heartbeat=8` holds a poll and heartbeats every 3 s,
/// then hangs up with no leave: its timeout comes 8 s after its last request.
#[tokio::test]
async fn an_abrupt_stop_times_out_its_timeout_after_the_last_request() {
    let mut run = Run::start().await;
    run.t.handshake("c0", "uuid=bob&heartbeat=8").await;
    run.subscribe_held("bob", &["c0"], Some(8)).await;
    for _ in 0..4 {
        run.t.clock.advance(Duration::from_secs(3));
        run.t.heartbeat("demo", "c0", "bob", "&heartbeat=8").await;
    }
    let last_request = T0_MS + 12_000;
    run.hang_up().await;
    run.times_out_at(last_request + 8_000).await;
}

/// A handshake plus one held poll and no heartbeats: the poll, held for 12 s
/// and then closed, does not keep the uuid present past its 8 s.
#[tokio::test]
async fn a_held_poll_does_not_keep_a_uuid_present() {
    let mut run = Run::start().await;
    run.t.handshake("c0", "uuid=carol&heartbeat=8").await;
    run.subscribe_held("carol", &["c0"], Some(8)).await;
    run.t.clock.advance(Duration::from_secs(12));
    run.until_seen(2).await;
    let timeout = &run.modelled()[1];
    assert_eq!((timeout.action.as_str(), timeout.at_ms), ("timeout", T0_MS + 8_000), "while the poll is held");
    run.hang_up().await;
    run.barrier().await;
    assert_eq!(run.modelled().len(), 2, "the hang-up adds nothing: {:?}", run.seen);
}
