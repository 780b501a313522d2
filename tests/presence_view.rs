//! The live presence view against the local server: a seeded, reproducible
//! random walk of joins, leaves, timeouts, state changes, interval-mode
//! crossings and reconnects over several channels and a group. After each
//! step settles, the view must equal the server's here_now (members and
//! state). `VIEW_SEED` and `VIEW_STEPS` change the walk: 300 steps by
//! default (three forced reconnects), `VIEW_STEPS=2000` or more for a soak run.

use std::collections::BTreeMap;
use std::time::Duration;

use presence_server::ServerConfig;
use presence_tests::{World, until};
use pubnub_presence::{LeaveReason, PresenceChange, PresenceView, PubNub};
use serde_json::{Value, json};

type Members = BTreeMap<String, BTreeMap<String, Option<Value>>>;

const CHANNELS: [&str; 3] = ["c0", "c1", "c2"];
const GROUPED: [&str; 2] = ["g0", "g1"];
const USERS: usize = 8;
/// More than this many occupants puts a channel in interval mode.
const ANNOUNCE_MAX: usize = 3;
const INTERVAL: Duration = Duration::from_secs(10);
/// Presence timeout the users announce: several steps of silence.
const TIMEOUT_SECS: u32 = 45;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// A client of `world`; the view's uses a short long-poll timeout, so that
/// while the server's clock stands still its polls time out and it
/// reconnects (and re-synchronises) again and again: forced reconnects.
fn client(world: &World, user: &str, long_poll: Duration) -> PubNub {
    PubNub::new(world.config(user).long_poll_timeout(long_poll))
}

/// The server for the walk: interval mode above `ANNOUNCE_MAX`.
async fn world() -> World {
    World::start("sub-view", ServerConfig::default().with_interval_mode(ANNOUNCE_MAX, INTERVAL)).await
}

/// The server's truth: here_now over the view's channels and group, with state.
async fn truth(pubnub: &PubNub) -> Members {
    let answer =
        pubnub.here_now().channels(CHANNELS).channel_groups("grp").include_state(true).all_pages().await.unwrap();
    let mut members = Members::new();
    for (name, channel) in answer.channels {
        if !channel.occupants.is_empty() {
            let entry = members.entry(name).or_default();
            for occupant in channel.occupants {
                entry.insert(occupant.uuid, occupant.state);
            }
        }
    }
    members
}

fn seen(view: &PresenceView) -> Members {
    view.snapshot().into_iter().filter(|(_, members)| !members.is_empty()).collect()
}

/// Waits until the view equals the server's here_now; panics with both after 10 s.
async fn settle(view: &PresenceView, observer: &PubNub, step: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let expected = truth(observer).await;
        if seen(view) == expected && view.sync_complete() {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("step {step} ({what}): the view diverged\n view: {:?}\n here_now: {expected:?}", seen(view));
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_equals_here_now_after_every_step_of_a_random_walk() {
    let seed: u64 = std::env::var("VIEW_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED);
    let steps: usize = std::env::var("VIEW_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let world = world().await;
    let observer = client(&world, "observer", Duration::from_secs(300));
    observer.add_channel_to_channel_group().channel_group("grp").channels(GROUPED).await.unwrap();
    let users: Vec<PubNub> = (0..USERS).map(|i| client(&world, &format!("u{i}"), Duration::from_secs(300))).collect();
    let all: Vec<&str> = CHANNELS.iter().chain(&GROUPED).copied().collect();

    // Events while the view starts: users join, change state and leave
    // concurrently with its handshake and snapshot.
    let racing = {
        let users = users.clone();
        let all = all.clone();
        tokio::spawn(async move {
            for (i, user) in users.iter().enumerate() {
                let channel = all[i % all.len()];
                user.heartbeat().channels(channel).heartbeat(TIMEOUT_SECS).await.unwrap();
                user.set_state().channels(channel).state(json!({"n": i})).await.unwrap();
                if i % 3 == 0 {
                    user.leave().channels(channel).await.unwrap();
                }
            }
        })
    };
    let view = client(&world, "viewer", Duration::from_millis(250))
        .presence_view()
        .channels(CHANNELS)
        .channel_groups("grp")
        .include_state(true)
        .await
        .unwrap();
    racing.await.unwrap();
    world.clock.advance(INTERVAL);
    settle(&view, &observer, 0, "start-up race").await;

    let mut rng = Rng(seed | 1);
    let mut counts = BTreeMap::<&str, usize>::new();
    for step in 1..=steps {
        let user = &users[rng.below(USERS)];
        let channel = all[rng.below(all.len())];
        let what = match rng.below(10) {
            0..=3 => {
                user.heartbeat().channels(channel).heartbeat(TIMEOUT_SECS).await.unwrap();
                "join"
            }
            4 | 5 => {
                user.leave().channels(channel).await.unwrap();
                "leave"
            }
            6 | 7 => {
                let mood = ["busy", "happy", "away"][rng.below(3)];
                let state = json!({"step": step, "mood": mood});
                user.set_state().channels(channel).state(state).await.unwrap();
                "state"
            }
            8 => {
                // Heartbeats with state: a join carrying state, or a state change.
                let state = json!({ channel: {"via": "heartbeat", "step": step} });
                user.heartbeat().channels(channel).heartbeat(TIMEOUT_SECS).state(state).await.unwrap();
                "heartbeat with state"
            }
            _ => "quiet",
        };
        if step % 100 == 0 {
            // Forced reconnect: the server's clock stands still, so the view's
            // 250 ms long-poll times out and it reconnects (and re-synchronises).
            tokio::time::sleep(Duration::from_millis(400)).await;
            *counts.entry("reconnect").or_default() += 1;
        }
        *counts.entry(what).or_default() += 1;
        // Every step lets the interval pass: interval-mode channels report,
        // and users who stay quiet long enough time out.
        world.clock.advance(INTERVAL);
        settle(&view, &observer, step, what).await;
    }
    println!("{steps} steps (seed {seed:#x}): {counts:?}");
    assert!(counts.len() >= 4, "the walk exercised every kind of step: {counts:?}");
}

async fn next(view: &mut PresenceView) -> PresenceChange {
    tokio::time::timeout(Duration::from_secs(10), view.changes().next()).await.unwrap().unwrap().unwrap()
}

#[tokio::test]
async fn changes_report_joins_leaves_timeouts_and_state_and_dropping_the_view_ends_them() {
    let world = world().await;
    let (alice, bob) =
        (client(&world, "alice", Duration::from_secs(300)), client(&world, "bob", Duration::from_secs(300)));
    alice.heartbeat().channels("c0").heartbeat(20).await.unwrap();
    let mut view = client(&world, "viewer", Duration::from_secs(300))
        .presence_view()
        .channels("c0")
        .include_state(true)
        .await
        .unwrap();
    assert!(view.sync_complete());
    assert_eq!(view.occupancy("c0"), 1);
    assert!(view.is_present("c0", "alice"));

    bob.heartbeat().channels("c0").heartbeat(60).await.unwrap();
    assert_eq!(next(&mut view).await, PresenceChange::Joined { channel: "c0".into(), uuid: "bob".into() });
    assert_eq!(view.occupancy("c0"), 2);
    bob.set_state().channels("c0").state(json!({"mood": "busy"})).await.unwrap();
    let PresenceChange::Updated { uuid, state, .. } = next(&mut view).await else { panic!() };
    assert_eq!((uuid.as_str(), state), ("bob", Some(json!({"mood": "busy"}))));
    assert_eq!(view.members("c0").iter().find(|m| m.uuid == "bob").unwrap().state, Some(json!({"mood": "busy"})));
    world.clock.advance(Duration::from_secs(21));
    assert_eq!(
        next(&mut view).await,
        PresenceChange::Left { channel: "c0".into(), uuid: "alice".into(), reason: LeaveReason::Timeout }
    );
    bob.leave().channels("c0").await.unwrap();
    assert_eq!(
        next(&mut view).await,
        PresenceChange::Left { channel: "c0".into(), uuid: "bob".into(), reason: LeaveReason::Leave }
    );
    assert_eq!(view.occupancy("c0"), 0);

    until(|| world.server.held_polls() > 0, "the view's long-poll").await;
    drop(view);
    until(|| world.server.held_polls() == 0, "dropping the view to end its long-poll").await;
}

/// In interval mode many users join in one event, which carries no state:
/// the view reads their states (set before they joined) and matches here_now.
#[tokio::test]
async fn joiners_in_one_interval_event_get_their_state() {
    let world = world().await;
    let viewer = client(&world, "viewer", Duration::from_secs(300));
    let mut view = viewer.presence_view().channels("hall").include_state(true).await.unwrap();
    // Changes queue from here on and nobody drains them: merging must not wait on a reader.
    let _ = view.changes();
    let users: Vec<PubNub> = (0..6).map(|i| client(&world, &format!("p{i}"), Duration::from_secs(300))).collect();
    for (i, user) in users.iter().enumerate() {
        // State first, presence after: PubNub's join then carries no state.
        user.set_state().channels("hall").state(json!({"seat": i})).await.unwrap();
    }
    for user in &users {
        user.heartbeat().channels("hall").heartbeat(TIMEOUT_SECS).await.unwrap();
    }
    world.clock.advance(INTERVAL);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while view.members("hall").iter().filter(|m| m.state.is_some()).count() < 6 {
        assert!(tokio::time::Instant::now() < deadline, "the view has {:?}", view.members("hall"));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let truth = viewer.here_now().channels("hall").include_state(true).await.unwrap();
    let expected: BTreeMap<String, Option<Value>> =
        truth.channels["hall"].occupants.iter().map(|o| (o.uuid.clone(), o.state.clone())).collect();
    assert_eq!(view.snapshot()["hall"], expected);
}

#[tokio::test]
async fn a_reader_reads_members_while_changes_are_awaited_and_keeps_the_last_after_the_view_drops() {
    let world = world().await;
    let bob = client(&world, "bob", Duration::from_secs(300));
    let mut view = client(&world, "viewer", Duration::from_secs(300)).presence_view().channels("c0").await.unwrap();
    let reader = view.reader();
    assert_eq!(reader.occupancy("c0"), 0);
    // While `changes()` is borrowed and awaited, the reader sees the member arrive.
    let waiting = tokio::spawn(async move {
        let change = next(&mut view).await;
        (view, change)
    });
    bob.heartbeat().channels("c0").heartbeat(60).await.unwrap();
    until(|| reader.is_present("c0", "bob"), "the reader to see bob").await;
    let (view, change) = waiting.await.unwrap();
    assert_eq!(change, PresenceChange::Joined { channel: "c0".into(), uuid: "bob".into() });
    assert_eq!((reader.occupancy("c0"), reader.members("c0")[0].uuid.as_str()), (1, "bob"));
    assert!(reader.sync_complete());
    drop(view);
    assert_eq!(reader.snapshot()["c0"].len(), 1, "the last members stay readable");
}
