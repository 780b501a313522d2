//! SDK benchmarks (issue: performance). Prints tables; no timed asserts.
//!
//! `cargo bench -p presence-tests --bench sdk` (set `BENCH_SECS` to change the
//! duration of each throughput round, default 1; `BENCH_ONLY=decode|events|requests`
//! to run one table).
//!
//! 1. Decode: body bytes → `HereNowResult`, next to
//!    `serde_json::from_slice::<Value>` of the same bytes (the floor to beat).
//! 2. Request overhead: here_now calls per second against the local presence
//!    server over loopback, SDK next to a hand-written reqwest + serde_json loop.
//!
//! `BENCH_PROFILE=hand|hand-timeout|sdk` (with `BENCH_CALLS`) runs one client
//! alone and `BENCH_PROFILE=decode:N` one decode case, for perf or callgrind;
//! `bench/instructions.sh` uses them to count instructions per call.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use presence_server::{PresenceServer, ServerConfig};
use pubnub_presence::{Config, PubNub, RetryPolicy};
use serde_json::{Value, json};

/// Rounds per request-overhead cell.
const ROUNDS: usize = 9;

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

/// The decode cases: name, body, and the request that expects that body.
fn decode_cases(pubnub: &PubNub) -> Vec<(&'static str, String, pubnub_presence::HereNow)> {
    let single = pubnub.here_now().channels("lobby").include_state(true);
    let multi_names: Vec<String> = (0..100).map(|c| format!("channel-{c:03}")).collect();
    let multi = pubnub.here_now().channels(multi_names);
    vec![
        ("1 channel × 1 occupant, state", single_channel_body(1), single.clone()),
        ("1 channel × 100 occupants, state", single_channel_body(100), single.clone()),
        ("1 channel × 10,000 occupants, state", single_channel_body(10_000), single),
        ("100 channels × 100 occupants", multi_channel_body(100, 100), multi),
    ]
}

// Not inlined, so that a profiler (`BENCH_PROFILE=decode:N`) can attribute
// each side's cost to one function.
#[inline(never)]
fn parse_with_value(body: &[u8]) {
    black_box(serde_json::from_slice::<Value>(black_box(body)).unwrap());
}

#[inline(never)]
fn decode_with_sdk(builder: &pubnub_presence::HereNow, body: &[u8]) {
    black_box(builder.decode_response(200, black_box(body)).unwrap());
}

fn decode_table() {
    let pubnub = PubNub::new(Config::new("demo").user_id("bench"));
    println!("## Decode: body bytes → HereNowResult vs serde_json::Value (µs, median [min–max])\n");
    println!("| body | bytes | serde_json::Value | SDK decode | SDK / Value |");
    println!("|---|---:|---:|---:|---:|");
    for (name, body, builder) in decode_cases(&pubnub) {
        let samples = if body.len() > 100_000 { 100 } else { 2_000 };
        compare_decoders(name, body.as_bytes(), samples, |body| decode_with_sdk(&builder, body));
    }
    println!();
}

/// Times `serde_json::Value` and the SDK decoding `body`, `samples` each,
/// and prints the table row.
fn compare_decoders(label: &str, body: &[u8], samples: usize, sdk_decode: impl Fn(&[u8])) {
    // Both start from the body bytes (and drop what they built). Each
    // decoder runs in blocks of back-to-back samples, so each is measured
    // in its own steady state (interleaving single calls measured each in
    // the heap the other one left behind); blocks alternate so drift in
    // the machine's speed hits both alike.
    const BLOCKS: usize = 5;
    let (mut value, mut sdk) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for _ in 0..BLOCKS {
        for _ in 0..samples / BLOCKS {
            let start = Instant::now();
            parse_with_value(body);
            value.push(start.elapsed().as_secs_f64() * 1e6);
        }
        for _ in 0..samples / BLOCKS {
            let start = Instant::now();
            sdk_decode(body);
            sdk.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    let (value, sdk) = (summary(&value), summary(&sdk));
    println!(
        "| {label} | {} | {:.1} [{:.1}–{:.1}] | {:.1} [{:.1}–{:.1}] | {:.2}× |",
        body.len(),
        value.0,
        value.1,
        value.2,
        sdk.0,
        sdk.1,
        sdk.2,
        sdk.0 / value.0
    );
}

/// A subscribe answer with `events` presence events (a mix of the five actions, 2025 shapes).
fn events_body(events: usize) -> String {
    let items: Vec<String> = (0..events)
        .map(|i| {
            let d = match i % 5 {
                0 => format!(r#"{{"action":"join","uuid":"user-{i}","timestamp":1757969438,"precise_timestamp":1757969438505,"occupancy":{i}}}"#),
                1 => format!(r#"{{"action":"leave","uuid":"user-{i}","timestamp":1757969438,"precise_timestamp":1757969438505,"occupancy":{i}}}"#),
                2 => format!(r#"{{"action":"timeout","uuid":"user-{i}","timestamp":1757969438,"precise_timestamp":1757969438505,"data":{{}},"occupancy":{i}}}"#),
                3 => format!(r#"{{"action":"state-change","uuid":"user-{i}","timestamp":1757969438,"data":{{"mood":"busy","level":{i}}},"occupancy":{i}}}"#),
                _ => format!(r#"{{"action":"interval","timestamp":1757969438,"occupancy":{i},"join":["a-{i}","b-{i}"],"leave":["c-{i}"]}}"#),
            };
            format!(
                r#"{{"a":"5","f":0,"p":{{"t":"1757970403679{i:04}","r":23}},"k":"demo","c":"lobby-pnpres","u":{{"pn_action":"join","pn_channel":"lobby","pn_ispresence":1}},"d":{d},"b":"lobby-pnpres"}}"#
            )
        })
        .collect();
    format!(r#"{{"t":{{"t":"17579704036791392","r":43}},"m":[{}]}}"#, items.join(","))
}

fn events_table() {
    let pubnub = PubNub::new(Config::new("demo").user_id("bench"));
    let builder = pubnub.presence_events().channels("lobby");
    println!("## Decode: subscribe answer → presence events vs serde_json::Value (µs, median [min–max])\n");
    println!("| answer | bytes | serde_json::Value | SDK decode | SDK / Value |");
    println!("|---|---:|---:|---:|---:|");
    for events in [1, 100] {
        let body = events_body(events);
        let answer = builder.decode_response(200, body.as_bytes()).unwrap();
        assert!(answer.items.iter().all(Result::is_ok), "every event decodes");
        compare_decoders(&format!("{events} event(s)"), body.as_bytes(), 2_000, |body| {
            black_box(builder.decode_response(200, black_box(body)).unwrap());
        });
    }
    println!();
}

/// `BENCH_PROFILE=decode:N`: decode case N (0–3) `BENCH_CALLS` times (default
/// 20) each way, for `valgrind --tool=callgrind` to count instructions per
/// call of `parse_with_value` and `decode_with_sdk`.
fn profile_decode(case: usize) {
    let pubnub = PubNub::new(Config::new("demo").user_id("bench"));
    let calls: usize = std::env::var("BENCH_CALLS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let (name, body, builder) = decode_cases(&pubnub).into_iter().nth(case).expect("decode case is 0–3");
    for _ in 0..calls {
        parse_with_value(body.as_bytes());
        decode_with_sdk(&builder, body.as_bytes());
    }
    println!("{name}: {calls} decodes each way");
}

/// CPU time the calling thread has used so far, from the kernel's scheduler
/// statistics (Linux; `None` elsewhere).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// One round: `in_flight` tasks call `call` for `secs` seconds on the
/// (current-thread) runtime. Returns calls per second and this thread's CPU
/// microseconds per call.
async fn run_for(
    secs: f64,
    in_flight: usize,
    call: Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>,
) -> (f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let (start, cpu_start) = (Instant::now(), thread_cpu());
    for _ in 0..in_flight {
        let (stop, done, call) = (stop.clone(), done.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                call().await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let calls = done.load(Ordering::Relaxed) as f64;
    let cpu_us = match (cpu_start, thread_cpu()) {
        (Some(before), Some(after)) => (after - before).as_secs_f64() * 1e6 / calls,
        _ => f64::NAN,
    };
    (calls / start.elapsed().as_secs_f64(), cpu_us)
}

/// Runs the presence server on a thread (and core) of its own, so the client
/// thread's CPU time is the client's alone. Returns its URL and a stopper.
fn spawn_server() -> (String, impl FnOnce()) {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let server = PresenceServer::start(ServerConfig::default()).await.unwrap();
            url_tx.send(server.url()).unwrap();
            let _ = stop_rx.await;
            server.shutdown().await;
        });
    });
    let url = url_rx.recv().unwrap();
    (url, move || {
        let _ = stop_tx.send(());
        thread.join().unwrap();
    })
}

type Call = Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

fn hand_written(client: &reqwest::Client, url: &str, timeout: Option<Duration>) -> Call {
    let (client, url) = (client.clone(), url.to_owned());
    Arc::new(move || {
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
    })
}

fn through_sdk(sdk: &PubNub) -> Call {
    let sdk = sdk.clone();
    Arc::new(move || {
        let sdk = sdk.clone();
        Box::pin(async move {
            black_box(sdk.here_now().channels("lobby").await.unwrap());
        })
    })
}

fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    let mid = median(&mut sorted);
    (mid, sorted[0], sorted[sorted.len() - 1])
}

/// The benchmark's fixture: the server on its own thread with 10 occupants in
/// `lobby`, the client-side runtime, and the clients to compare (SDK last).
struct RequestBench {
    runtime: tokio::runtime::Runtime,
    /// (key for `BENCH_PROFILE`, description, client)
    clients: Vec<(&'static str, &'static str, Call)>,
    stop_server: Box<dyn FnOnce()>,
}

fn request_bench() -> RequestBench {
    let (server_url, stop_server) = spawn_server();
    // The client side: one thread, so its CPU time is measurable per call.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sdk = PubNub::new(Config::new("demo").user_id("bench").origin(&server_url).retry_policy(RetryPolicy::none()));
    runtime.block_on(async {
        for i in 0..10 {
            PubNub::new(Config::new("demo").user_id(format!("user-{i}")).origin(&server_url))
                .heartbeat()
                .channels("lobby")
                .await
                .unwrap();
        }
    });
    // The hand-written client sends the identical request the SDK sends.
    let path = sdk.here_now().channels("lobby").build_request().unwrap();
    let url = format!("{server_url}{}", sdk_runtime_path(&sdk, &path));
    let plain = presence_tests::plain_http_client();
    let sdk_shared = PubNub::new(sdk.config().clone().http_client(plain.clone()));
    let clients = vec![
        ("hand", "hand-written reqwest + serde_json", hand_written(&plain, &url, None)),
        (
            "hand-timeout",
            "hand-written, with a 10 s request timeout",
            hand_written(&plain, &url, Some(Duration::from_secs(10))),
        ),
        ("sdk-shared", "SDK on the hand-written loop's reqwest::Client", through_sdk(&sdk_shared)),
        ("sdk", "SDK (10 s request timeout, its default)", through_sdk(&sdk)),
    ];
    RequestBench { runtime, clients, stop_server: Box::new(stop_server) }
}

/// `BENCH_PROFILE=hand|hand-timeout|sdk`: one client alone for `BENCH_CALLS` sequential
/// calls, to run under `perf` or `valgrind --tool=callgrind`.
fn profile_one(which: &str) {
    let bench = request_bench();
    let calls: usize = std::env::var("BENCH_CALLS").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let Some((_, name, call)) = bench.clients.iter().find(|(key, _, _)| *key == which) else {
        panic!("BENCH_PROFILE must be one of hand, hand-timeout, sdk");
    };
    let cpu_start = thread_cpu();
    bench.runtime.block_on(async {
        for _ in 0..calls {
            call().await;
        }
    });
    if let (Some(before), Some(after)) = (cpu_start, thread_cpu()) {
        println!(
            "{name}: {calls} calls, client CPU {:.1} µs per call",
            (after - before).as_secs_f64() * 1e6 / calls as f64
        );
    }
    (bench.stop_server)();
}

fn request_table(secs: f64) {
    let RequestBench { runtime, clients, stop_server } = request_bench();
    println!(
        "## Request overhead: here_now (10 occupants) over loopback, {ROUNDS} interleaved rounds of {secs} s per client\n"
    );
    println!(
        "Server on its own thread; all clients on one current-thread runtime. Median [min–max] over the rounds.\n"
    );
    println!("| in flight | client | calls/s | client CPU µs per call | SDK calls/s ÷ this client's, same round |");
    println!("|---:|---|---:|---:|---:|");
    for in_flight in [1, 64] {
        // Rounds alternate the clients, each round starting with a different
        // one, so drift in the shared machine's speed and position in the
        // round hit all of them alike; ratios pair each SDK run with the other
        // client's run of the same round.
        let mut rates = vec![Vec::new(); clients.len()];
        let mut cpu = vec![Vec::new(); clients.len()];
        runtime.block_on(async {
            for round in 0..ROUNDS {
                for offset in 0..clients.len() {
                    let slot = (round + offset) % clients.len();
                    let (rate, cpu_us) = run_for(secs, in_flight, clients[slot].2.clone()).await;
                    rates[slot].push(rate);
                    cpu[slot].push(cpu_us);
                }
            }
        });
        let sdk_slot = clients.len() - 1;
        for (slot, (_, name, _)) in clients.iter().enumerate() {
            let (rate, rate_min, rate_max) = summary(&rates[slot]);
            let (cpu_us, cpu_min, cpu_max) = summary(&cpu[slot]);
            let ratio = if slot == sdk_slot {
                "—".to_owned()
            } else {
                let ratios: Vec<f64> =
                    rates[sdk_slot].iter().zip(&rates[slot]).map(|(ours, theirs)| ours / theirs).collect();
                let (mid, low, high) = summary(&ratios);
                format!("**{mid:.2}×** [{low:.2}–{high:.2}]")
            };
            println!(
                "| {in_flight} | {name} | {rate:.0} [{rate_min:.0}–{rate_max:.0}] | {cpu_us:.1} [{cpu_min:.1}–{cpu_max:.1}] | {ratio} |"
            );
        }
    }
    println!();
    stop_server();
}

/// Path and query exactly as the SDK sends them (common parameters included).
fn sdk_runtime_path(sdk: &PubNub, request: &pubnub_presence::Request) -> String {
    pubnub_presence_runtime::Client::new(sdk.config().clone()).path_and_query(request).unwrap()
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    // `BENCH_ONLY=decode`, `events` or `requests` runs one table.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if let Ok(which) = std::env::var("BENCH_PROFILE") {
        match which.strip_prefix("decode:") {
            Some(case) => profile_decode(case.parse().expect("BENCH_PROFILE=decode:N")),
            None => profile_one(&which),
        }
        return;
    }
    if only.is_empty() || only == "decode" {
        decode_table();
    }
    if only.is_empty() || only == "events" {
        events_table();
    }
    if only.is_empty() || only == "requests" {
        request_table(secs);
    }
}
