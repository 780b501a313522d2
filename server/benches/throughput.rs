//! Presence server benchmark (not a test): throughput and latency over loopback.
//!
//! ```text
//! cargo bench -p presence-server --bench throughput            # full run (~40 s)
//! BENCH_SECS=1 cargo bench -p presence-server --bench throughput   # shorter phases
//! BENCH_DATA_DIR=/tmp/d cargo bench -p presence-server --bench throughput   # with --data-dir
//! ```
//!
//! The server runs in-process on an ephemeral loopback port; the load generator (reqwest,
//! keep-alive connection pool) runs in the same process and shares the machine's cores, so
//! figures are a lower bound for the server alone. Every loop is bounded in time and count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use presence_server::PresenceServer;

#[path = "../support/counting_alloc.rs"]
mod counting_alloc;
#[path = "../support/data_dir.rs"]
mod data_dir;
#[path = "../support/http_client.rs"]
mod http_client;
use counting_alloc::LIVE_BYTES;

const MAX_REQUESTS_PER_PHASE: u64 = 2_000_000;

struct PhaseResult {
    requests: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl PhaseResult {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let mut v = self.latencies_us.clone();
        v.sort_unstable();
        let idx = ((v.len() - 1) as f64 * p).round() as usize;
        v[idx] as f64 / 1000.0
    }
}

/// Runs `concurrency` workers issuing GETs built by `path(worker, n)` for `secs` seconds.
async fn run_phase(
    client: &reqwest::Client,
    base: &str,
    concurrency: usize,
    secs: f64,
    path: Arc<dyn Fn(usize, u64) -> String + Send + Sync>,
) -> PhaseResult {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let base = base.to_owned();
        let stop = Arc::clone(&stop);
        let total = Arc::clone(&total);
        let path = Arc::clone(&path);
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && total.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS_PER_PHASE {
                let url = format!("{base}{}", path(w, n));
                let t0 = Instant::now();
                let resp = client.get(url).send().await.expect("request");
                let status = resp.status();
                let body = resp.bytes().await.expect("body");
                assert!(status.is_success(), "{status}: {body:?}");
                lat.push(t0.elapsed().as_micros() as u64);
                n += 1;
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    for w in workers {
        latencies_us.extend(w.await.expect("worker"));
    }
    PhaseResult { requests: latencies_us.len() as u64, elapsed: started.elapsed(), latencies_us }
}

fn row(name: &str, concurrency: usize, r: &PhaseResult) {
    println!(
        "| {name:<38} | {concurrency:>5} | {:>9.0} | {:>8.2} | {:>8.2} |",
        r.rps(),
        r.percentile(0.50),
        r.percentile(0.99)
    );
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(bench(secs));
}

async fn bench(secs: f64) {
    let server = PresenceServer::start(data_dir::server_config()).await.expect("server");
    let base = server.url();
    http_client::install_crypto_provider();
    let client = reqwest::Client::builder().pool_max_idle_per_host(512).build().expect("client");

    println!(
        "presence-server benchmark: {} s per phase, {} cores, server and load generator in one process over loopback\n",
        secs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| {:<38} | {:>5} | {:>9} | {:>8} | {:>8} |", "workload", "conc.", "req/s", "p50 ms", "p99 ms");
    println!("|{:-<40}|{:->7}|{:->11}|{:->10}|{:->10}|", "", "", "", "", "");

    // Heartbeats: each worker is its own uuid, rotating over 100 channels.
    for c in [1usize, 8, 64, 256] {
        let r = run_phase(
            &client,
            &base,
            c,
            secs,
            Arc::new(|w, n| {
                format!("/v2/presence/sub-key/bench/channel/hb-{}/heartbeat?uuid=w{w}&heartbeat=300", n % 100)
            }),
        )
        .await;
        row("heartbeat (1 channel)", c, &r);
    }

    // here_now on a 10-occupant channel.
    for i in 0..10 {
        client
            .get(format!("{base}/v2/presence/sub-key/bench/channel/small/heartbeat?uuid=s{i}"))
            .send()
            .await
            .expect("seed");
    }
    for c in [1usize, 8, 64, 256] {
        let r = run_phase(
            &client,
            &base,
            c,
            secs,
            Arc::new(|_, _| "/v2/presence/sub-key/bench/channel/small?uuid=q".to_owned()),
        )
        .await;
        row("here_now (10 occupants)", c, &r);
    }

    // 10,000 occupants with state on one channel (fresh sub key), measuring memory.
    let live_before = LIVE_BYTES.load(Ordering::Relaxed);
    let fill_started = Instant::now();
    let fill = run_fill(&client, &base, 10_000).await;
    let fill_secs = fill_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let live_after = LIVE_BYTES.load(Ordering::Relaxed);
    let per_occupant = (live_after.saturating_sub(live_before)) as f64 / 10_000.0;

    let body_len = client
        .get(format!("{base}/v2/presence/sub-key/big/channel/crowd?state=1"))
        .send()
        .await
        .expect("here_now")
        .bytes()
        .await
        .expect("body")
        .len();
    for (name, query, conc) in [
        ("here_now 10k occupants, state=1", "state=1", 1usize),
        ("here_now 10k occupants, state=1", "state=1", 8),
        ("here_now 10k occupants (uuids only)", "", 1),
        ("here_now 10k occupants, disable_uuids", "disable_uuids=1", 1),
    ] {
        let q = query.to_owned();
        let r = run_phase(
            &client,
            &base,
            conc,
            secs,
            Arc::new(move |_, _| format!("/v2/presence/sub-key/big/channel/crowd?limit=1000&{q}")),
        )
        .await;
        row(name, conc, &r);
    }

    println!();
    println!(
        "10,000 occupants with state filled in {:.2} s ({:.0} heartbeats/s at concurrency 64)",
        fill_secs,
        fill as f64 / fill_secs
    );
    println!("here_now state=1 page (limit=1000) body: {} bytes", body_len);
    println!(
        "memory per occupant (with ~40-byte state, uuid ~12 bytes): {:.0} bytes (heap delta {} KiB for 10,000)",
        per_occupant,
        (live_after.saturating_sub(live_before)) / 1024
    );
    server.shutdown().await;
}

/// Heartbeats `n` distinct uuids (with per-channel state) into `big/crowd`, 64 at a time.
async fn run_fill(client: &reqwest::Client, base: &str, n: usize) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..64 {
        let client = client.clone();
        let base = base.to_owned();
        let next = Arc::clone(&next);
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                // {"crowd":{"name":"user-i","level":i,"tags":["a","b"]}}
                let url = format!(
                    "{base}/v2/presence/sub-key/big/channel/crowd/heartbeat?uuid=user-{i:06}&state=%7B%22crowd%22%3A%7B%22name%22%3A%22user-{i:06}%22%2C%22level%22%3A{i}%2C%22tags%22%3A%5B%22a%22%2C%22b%22%5D%7D%7D"
                );
                let resp = client.get(url).send().await.expect("fill");
                assert!(resp.status().is_success());
                resp.bytes().await.expect("body");
            }
        }));
    }
    for w in workers {
        w.await.expect("fill worker");
    }
    n
}
