//! 1,000 subscribers long-poll one channel's presence while 200 users join
//! and leave: every subscriber sees every event exactly once and in order,
//! and afterwards no poll is held and no task is left.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use presence_server::ServerConfig;

const SUBSCRIBERS: usize = 1_000;
const USERS: usize = 200;
/// Events made before the generator waits for every subscriber to catch up:
/// below the 100 events a channel keeps, so no subscriber can fall out of
/// the history (what happens past it is documented, not tested here).
const ROUND: usize = 50;

async fn subscriber(t: Arc<TestServer>, id: usize, seen_count: Arc<AtomicUsize>) -> Vec<(String, String, u64)> {
    let names = "hall-pnpres";
    let base = format!("/v2/subscribe/load/{names}/0?uuid=watcher-{id}");
    let handshake = t.get(&base).await.json();
    let mut cursor = handshake["t"]["t"].as_str().unwrap().to_owned();
    let mut seen = Vec::new();
    loop {
        let r = t.get(&format!("{base}&tt={cursor}&tr=1")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.json();
        cursor = body["t"]["t"].as_str().unwrap().to_owned();
        for event in body["m"].as_array().unwrap() {
            let action = event["d"]["action"].as_str().unwrap().to_owned();
            let uuid = event["d"]["uuid"].as_str().unwrap().to_owned();
            let tt: u64 = event["p"]["t"].as_str().unwrap().parse().unwrap();
            if uuid == "done" {
                return seen;
            }
            seen.push((action, uuid, tt));
        }
        publish(&seen_count, seen.len());
    }
}

/// Records that this subscriber has seen `n` events (the slowest one gates the generator).
fn publish(slot: &AtomicUsize, n: usize) {
    slot.store(n, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_subscribers_see_every_event_once_in_order() {
    // Every join and leave goes out on its own (no interval mode for 200 users).
    let config = ServerConfig::default().with_interval_mode(USERS, Duration::from_secs(10));
    let t = Arc::new(TestServer::start_with(config).await);
    let baseline_tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let progress: Vec<Arc<AtomicUsize>> = (0..SUBSCRIBERS).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let tasks: Vec<_> =
        (0..SUBSCRIBERS).map(|id| tokio::spawn(subscriber(Arc::clone(&t), id, Arc::clone(&progress[id])))).collect();
    // Every subscriber is holding a poll before anything happens.
    while t.server.held_polls() < SUBSCRIBERS {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // 200 users join, then leave, in rounds; the expected sequence is the order of the calls.
    let mut expected: Vec<(String, String)> = Vec::new();
    let plan: Vec<(&str, usize)> = (0..USERS).map(|u| ("join", u)).chain((0..USERS).map(|u| ("leave", u))).collect();
    for round in plan.chunks(ROUND) {
        for (action, user) in round {
            let uuid = format!("user-{user:03}");
            let path = if *action == "join" { "heartbeat?heartbeat=300&" } else { "leave?" };
            let r = t.get(&format!("/v2/presence/sub-key/load/channel/hall/{path}uuid={uuid}")).await;
            assert_eq!(r.status, 200);
            expected.push(((*action).to_owned(), uuid));
        }
        while progress.iter().any(|p| p.load(Ordering::SeqCst) < expected.len()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // One last join tells every subscriber to stop.
    t.heartbeat("load", "hall", "done", "").await;

    for task in tasks {
        let seen = task.await.unwrap();
        let actions: Vec<(String, String)> = seen.iter().map(|(a, u, _)| (a.clone(), u.clone())).collect();
        assert_eq!(actions, expected, "every event exactly once, in order");
        assert!(seen.windows(2).all(|w| w[0].2 < w[1].2), "timetokens increase");
    }
    assert_eq!(t.server.held_polls(), 0);
    // Stop the clients, then the server (which waits for its connections to
    // close): every task started for the subscribers must be gone.
    let t = Arc::try_unwrap(t).ok().expect("all subscribers ended");
    drop(t.client);
    t.server.shutdown().await;
    let handle = tokio::runtime::Handle::current();
    let mut alive = handle.metrics().num_alive_tasks();
    for _ in 0..600 {
        if alive <= baseline_tasks {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        alive = handle.metrics().num_alive_tasks();
    }
    assert!(alive <= baseline_tasks, "{alive} tasks alive, {baseline_tasks} before the subscribers");
}
