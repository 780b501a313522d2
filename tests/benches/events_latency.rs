//! End-to-end presence event latency on loopback: from the moment a client
//! sends the heartbeat (or leave) that causes an event, to the moment each
//! watcher's `presence_events()` stream yields it. Real clock, real HTTP.
//! `cargo bench -p presence-tests --bench events_latency` prints a table.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use presence_server::{PresenceServer, ServerConfig};
use pubnub_presence::{Config, PresenceEvent, PubNub};

const EVENTS: usize = 200;

/// Who, what, when: a cause sent or an event received.
type Log = Arc<Mutex<Vec<(String, &'static str, Instant)>>>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(watchers: usize) -> Vec<f64> {
    let server = PresenceServer::start(ServerConfig::default()).await.unwrap();
    let http = presence_tests::plain_http_client();
    let client =
        |user: &str| PubNub::new(Config::new("bench").user_id(user).origin(server.url()).http_client(http.clone()));
    // When each event's cause was sent, by (uuid, action); and every arrival.
    let sent: Log = Arc::default();
    let arrived: Log = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..watchers {
        let mut stream = client(&format!("watcher-{w}")).presence_events().channels("lobby").subscribe();
        let arrived = Arc::clone(&arrived);
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(event)) = stream.next().await {
                let now = Instant::now();
                let (uuid, action) = match event {
                    PresenceEvent::Join(e) => (e.uuid, "join"),
                    PresenceEvent::Leave(e) => (e.uuid, "leave"),
                    _ => continue,
                };
                arrived.lock().unwrap().push((uuid, action, now));
            }
        }));
    }
    while server.held_polls() < watchers {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for i in 0..EVENTS / 2 {
        let uuid = format!("user-{i}");
        let user = client(&uuid);
        for action in ["join", "leave"] {
            sent.lock().unwrap().push((uuid.clone(), action, Instant::now()));
            if action == "join" {
                user.heartbeat().channels("lobby").await.unwrap();
            } else {
                user.leave().channels("lobby").await.unwrap();
            }
            // One event in flight at a time: each latency is measured alone.
            let expected = sent.lock().unwrap().len() * watchers;
            let deadline = Instant::now() + Duration::from_secs(10);
            while arrived.lock().unwrap().len() < expected {
                assert!(Instant::now() < deadline, "events did not arrive");
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
    }
    for task in tasks {
        task.abort();
    }
    let sent = sent.lock().unwrap();
    let mut latencies: Vec<f64> = arrived
        .lock()
        .unwrap()
        .iter()
        .map(|(uuid, action, at)| {
            let (_, _, from) = sent.iter().find(|(u, a, _)| u == uuid && a == action).expect("a cause");
            at.duration_since(*from).as_secs_f64() * 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("## Presence events end to end: cause sent → stream item (ms, loopback, {EVENTS} events)\n");
    println!("| watchers | p50 | p99 | max |");
    println!("|---:|---:|---:|---:|");
    for watchers in [1, 10, 100] {
        let latencies = runtime.block_on(run(watchers));
        println!(
            "| {watchers} | {:.2} | {:.2} | {:.2} |",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default()
        );
    }
}
