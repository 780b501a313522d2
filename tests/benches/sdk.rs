//! SDK benchmarks (issue: performance). Prints tables; no timed asserts.
//!
//! `cargo bench -p presence-tests --bench sdk` (set `BENCH_SECS` to change the
//! duration of each throughput round, default 1; `BENCH_ONLY=decode|requests`
//! to run one table).
//!
//! 1. Decode: body bytes → `HereNowResult`, next to
//!    `serde_json::from_slice::<Value>` of the same bytes (the floor to beat).
//! 2. Request overhead: here_now calls per second against the local presence
//!    server over loopback, SDK next to a hand-written reqwest + serde_json loop.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use presence_server::{PresenceServer, ServerConfig};
use pubnub_presence::{Config, PubNub, RetryPolicy};
use serde_json::{Value, json};

/// Median, min and max of `samples` runs of `f`, in microseconds.
fn measure(samples: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

/// Rounds per request-overhead cell.
const ROUNDS: usize = 5;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn single_channel_body(occupants: usize) -> String {
    let uuids: Vec<Value> = (0..occupants)
        .map(|i| json!({"uuid": format!("user-{i:05}"), "state": {"mood": "happy", "level": i, "tags": ["a", "b"]}}))
        .collect();
    json!({"status": 200, "message": "OK", "service": "Presence", "occupancy": occupants, "uuids": uuids}).to_string()
}

fn multi_channel_body(channels: usize, occupants: usize) -> String {
    let map: serde_json::Map<String, Value> = (0..channels)
        .map(|c| {
            let uuids: Vec<String> = (0..occupants).map(|i| format!("user-{c:03}-{i:03}")).collect();
            (format!("channel-{c:03}"), json!({"occupancy": occupants, "uuids": uuids}))
        })
        .collect();
    json!({"status": 200, "message": "OK", "service": "Presence",
           "payload": {"channels": map, "total_channels": channels, "total_occupancy": channels * occupants}})
    .to_string()
}

fn decode_table() {
    let pubnub = PubNub::new(Config::new("demo").user_id("bench"));
    let single = pubnub.here_now().channels("lobby").include_state(true);
    let multi_names: Vec<String> = (0..100).map(|c| format!("channel-{c:03}")).collect();
    let multi = pubnub.here_now().channels(multi_names);
    let cases: Vec<(&str, String, &pubnub_presence::HereNow)> = vec![
        ("1 channel × 1 occupant, state", single_channel_body(1), &single),
        ("1 channel × 100 occupants, state", single_channel_body(100), &single),
        ("1 channel × 10,000 occupants, state", single_channel_body(10_000), &single),
        ("100 channels × 100 occupants", multi_channel_body(100, 100), &multi),
    ];
    println!("## Decode: body bytes → HereNowResult vs serde_json::Value (µs, median [min–max])\n");
    println!("| body | bytes | serde_json::Value | SDK decode | SDK / Value |");
    println!("|---|---:|---:|---:|---:|");
    for (name, body, builder) in cases {
        let samples = if body.len() > 100_000 { 60 } else { 2_000 };
        // Both start from the body bytes; the SDK takes an owned String (as reqwest hands it over).
        let value = measure(samples, || {
            black_box(serde_json::from_slice::<Value>(black_box(body.as_bytes())).unwrap());
        });
        let sdk = measure(samples, || {
            let text = String::from_utf8(black_box(body.as_bytes()).to_vec()).unwrap();
            black_box(builder.decode_response(200, text).unwrap());
        });
        println!(
            "| {name} | {} | {:.1} [{:.1}–{:.1}] | {:.1} [{:.1}–{:.1}] | {:.2}× |",
            body.len(), value.0, value.1, value.2, sdk.0, sdk.1, sdk.2, sdk.0 / value.0
        );
    }
    println!();
}

async fn run_for(secs: f64, in_flight: usize, call: Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (stop, done, call) = (stop.clone(), done.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                call().await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn request_table(secs: f64) {
    let server = PresenceServer::start(ServerConfig::default()).await.unwrap();
    let sdk = PubNub::new(Config::new("demo").user_id("bench").origin(server.url()).retry_policy(RetryPolicy::none()));
    for i in 0..10 {
        PubNub::new(Config::new("demo").user_id(format!("user-{i}")).origin(server.url())).heartbeat().channels("lobby").await.unwrap();
    }
    // The hand-written client sends the identical request the SDK sends.
    let path = sdk.here_now().channels("lobby").build_request().unwrap();
    let url = format!("{}{}", server.url(), sdk_runtime_path(&sdk, &path));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plain = reqwest::Client::new();

    println!("## Request overhead: here_now (10 occupants) over loopback, calls/s, median of {ROUNDS} interleaved rounds of {secs} s\n");
    println!("| in flight | hand-written reqwest + serde_json | same, with a 10 s request timeout | SDK (10 s timeout, its default) | SDK / hand-written | SDK / hand-written with timeout |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for in_flight in [1, 64] {
        // Rounds alternate the three clients so drift in the machine's speed
        // hits all of them alike; each cell reports the median round.
        let mut hand_rounds = [Vec::new(), Vec::new()];
        let mut sdk_rounds = Vec::new();
        for _ in 0..ROUNDS {
            for (slot, timeout) in [(0, None), (1, Some(Duration::from_secs(10)))] {
                let (client, url) = (plain.clone(), url.clone());
                let rate = run_for(secs, in_flight, Arc::new(move || {
                    let (client, url) = (client.clone(), url.clone());
                    Box::pin(async move {
                        let mut request = client.get(&url);
                        if let Some(timeout) = timeout {
                            request = request.timeout(timeout);
                        }
                        let response = request.send().await.unwrap();
                        assert!(response.status().is_success());
                        let bytes = response.bytes().await.unwrap();
                        let value: Value = serde_json::from_slice(&bytes).unwrap();
                        black_box(value["occupancy"].as_u64().unwrap());
                    })
                }))
                .await;
                hand_rounds[slot].push(rate);
            }
            let client = sdk.clone();
            let rate = run_for(secs, in_flight, Arc::new(move || {
                let client = client.clone();
                Box::pin(async move {
                    black_box(client.here_now().channels("lobby").await.unwrap());
                })
            }))
            .await;
            sdk_rounds.push(rate);
        }
        let hand = [median(&mut hand_rounds[0]), median(&mut hand_rounds[1])];
        let ours = median(&mut sdk_rounds);
        println!(
            "| {in_flight} | {:.0} | {:.0} | {ours:.0} | {:.2}× | {:.2}× |",
            hand[0], hand[1], ours / hand[0], ours / hand[1]
        );
    }
    println!();
    server.shutdown().await;
}

/// Path and query exactly as the SDK sends them (common parameters included).
fn sdk_runtime_path(sdk: &PubNub, request: &pubnub_presence::runtime::request::Request) -> String {
    pubnub_presence::runtime::Client::new(sdk.config().clone()).path_and_query(request).unwrap()
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    // `BENCH_ONLY=decode` or `BENCH_ONLY=requests` runs one table.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "decode" {
        decode_table();
    }
    if only.is_empty() || only == "requests" {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        runtime.block_on(request_table(secs));
    }
}
