//! Presence-event benchmark (not a test): event latency through the subscribe
//! long-poll, and the cost of many held polls.
//!
//! ```text
//! cargo bench -p presence-server --bench events               # full run (~1 min)
//! BENCH_QUICK=1 cargo bench -p presence-server --bench events # fewer rounds, 2,000 polls
//! BENCH_DATA_DIR=/tmp/d cargo bench -p presence-server --bench events # with --data-dir
//! ```
//!
//! (a) Event latency: watchers hold polls on `hall-pnpres`; the bench sends a
//!     heartbeat for a new uuid and times, for every watcher, from just before
//!     the heartbeat is sent to its poll's answer arriving. The watchers run
//!     in this process, on the same cores as the server, so their own work is
//!     inside the figure: once as minimal raw-socket HTTP/1.1 clients (one
//!     write, one read, a JSON parse: close to the server's own latency), once
//!     as reqwest clients (what an application's HTTP stack adds).
//! (b) Held polls: a child process (this binary, `BENCH_ROLE=holder`) opens
//!     N raw TCP connections and sends one subscribe poll on each; once the
//!     server holds them all, the server process's live heap (counting
//!     allocator; the child's memory is not in it) grows by the figure given
//!     per held poll. Meanwhile here_now requests/s are measured in-process.
//!
//! Every loop is bounded in count and time; traffic stays on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use presence_server::{PresenceServer, ServerConfig};

#[path = "../support/counting_alloc.rs"]
mod counting_alloc;
#[path = "../support/data_dir.rs"]
mod data_dir;
#[path = "../support/http_client.rs"]
mod http_client;
use counting_alloc::LIVE_BYTES;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    if std::env::var("BENCH_ROLE").as_deref() == Ok("holder") {
        runtime.block_on(holder());
        return;
    }
    let quick = std::env::var("BENCH_QUICK").is_ok();
    runtime.block_on(bench(quick));
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn bench(quick: bool) {
    http_client::install_crypto_provider();
    println!(
        "presence-server events benchmark ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| measure | watchers / polls | events | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (client, watchers, rounds) in [
        (Watcher::RawSocket, 1usize, if quick { 50 } else { 300 }),
        (Watcher::RawSocket, 1_000, if quick { 5 } else { 30 }),
        (Watcher::Reqwest, 1, if quick { 50 } else { 300 }),
        (Watcher::Reqwest, 1_000, if quick { 5 } else { 30 }),
    ] {
        let latencies = event_latency(client, watchers, rounds).await;
        println!(
            "| event latency (heartbeat → poll answered), ms, {} watchers | {watchers} | {rounds} | {:.2} | {:.2} | {:.2} |",
            client.label(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(f64::NAN)
        );
    }
    let polls = if quick { 2_000 } else { 10_000 };
    held_polls(polls).await;
}

/// How a watcher speaks HTTP.
#[derive(Clone, Copy)]
enum Watcher {
    /// One keep-alive socket, the request written by hand, the answer read
    /// up to its `content-length`.
    RawSocket,
    /// A `reqwest::Client`, as an application would poll.
    Reqwest,
}

impl Watcher {
    fn label(self) -> &'static str {
        match self {
            Watcher::RawSocket => "raw-socket",
            Watcher::Reqwest => "reqwest",
        }
    }
}

/// Per (watcher, event) latency in ms, sorted.
async fn event_latency(kind: Watcher, watchers: usize, rounds: usize) -> Vec<f64> {
    // No interval mode: every join is its own event.
    let config = data_dir::server_config().with_interval_mode(usize::MAX, Duration::from_secs(10));
    // The server runs on its own runtime (2 worker threads, as the binary
    // does), like a separate process: the watchers' tasks do not queue in
    // its run queues, the OS shares the cores between the two.
    let server_runtime =
        tokio::runtime::Builder::new_multi_thread().thread_name("server").enable_all().build().expect("server runtime");
    let server = server_runtime.spawn(PresenceServer::start(config)).await.unwrap().expect("server");
    let base = server.url();
    let client = reqwest::Client::new();
    let handshake: serde_json::Value = serde_json::from_str(
        &client
            .get(format!("{base}/v2/subscribe/bench/hall-pnpres/0?uuid=w"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let start_cursor = handshake["t"]["t"].as_str().unwrap().to_owned();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let mut tasks = Vec::new();
    for id in 0..watchers {
        let client = client.clone();
        let base = base.clone();
        let tx = tx.clone();
        let mut cursor = start_cursor.clone();
        let addr = server.local_addr();
        tasks.push(tokio::spawn(async move {
            let mut seen = 0;
            let mut socket = match kind {
                Watcher::RawSocket => Some(RawClient::connect(addr).await),
                Watcher::Reqwest => None,
            };
            while seen < rounds {
                let target = format!("/v2/subscribe/bench/hall-pnpres/0?uuid=w{id}&tt={cursor}&tr=1");
                let body = match socket.as_mut() {
                    Some(socket) => socket.get(&target).await,
                    None => client.get(format!("{base}{target}")).send().await.unwrap().bytes().await.unwrap().to_vec(),
                };
                let arrived = Instant::now();
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                cursor = json["t"]["t"].as_str().unwrap().to_owned();
                for _ in json["m"].as_array().unwrap() {
                    let _ = tx.send((seen, arrived));
                    seen += 1;
                }
            }
        }));
    }
    drop(tx);
    let mut latencies = Vec::with_capacity(watchers * rounds);
    for round in 0..rounds {
        while server.held_polls() < watchers {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let t0 = Instant::now();
        let r = client
            .get(format!("{base}/v2/presence/sub-key/bench/channel/hall/heartbeat?uuid=u{round}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        for _ in 0..watchers {
            let (event, arrived) = rx.recv().await.expect("every watcher answers");
            assert_eq!(event, round, "one event per round");
            latencies.push(arrived.duration_since(t0).as_secs_f64() * 1000.0);
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    server_runtime.spawn(server.shutdown()).await.unwrap();
    server_runtime.shutdown_background();
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// A keep-alive HTTP/1.1 connection that sends GETs and reads the answers.
struct RawClient {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    async fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        RawClient { stream, buf: Vec::with_capacity(1024) }
    }

    /// GETs `target` and returns the body of a 200.
    async fn get(&mut self, target: &str) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(format!("GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes()).await.unwrap();
        self.buf.clear();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response.parse(&self.buf).unwrap() {
                assert_eq!(response.code, Some(200));
                let length = response.headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-length")).unwrap();
                let length: usize = std::str::from_utf8(length.value).unwrap().parse().unwrap();
                if self.buf.len() >= head + length {
                    return self.buf[head..head + length].to_vec();
                }
            }
            self.buf.reserve(1024);
            assert!(self.stream.read_buf(&mut self.buf).await.unwrap() > 0, "server closed the connection");
        }
    }
}

/// (b): heap per held poll, and here_now throughput while they are held.
async fn held_polls(polls: usize) {
    let server = PresenceServer::start(ServerConfig::default()).await.expect("server");
    let base = server.url();
    let client = reqwest::Client::new();
    // Warm up: one channel with an occupant, one handshake, one here_now, so
    // lazily built structures are not counted per poll.
    client.get(format!("{base}/v2/presence/sub-key/bench/channel/hall/heartbeat?uuid=someone")).send().await.unwrap();
    let handshake = client
        .get(format!("{base}/v2/subscribe/bench/hall-pnpres/0?uuid=w"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&handshake).unwrap();
    let cursor = json["t"]["t"].as_str().unwrap().to_owned();
    let here_now = format!("{base}/v2/presence/sub-key/bench/channel/hall");
    client.get(&here_now).send().await.unwrap().text().await.unwrap();

    let before = LIVE_BYTES.load(Ordering::SeqCst);
    let exe = std::env::current_exe().expect("own path");
    let mut child = std::process::Command::new(exe)
        .env("BENCH_ROLE", "holder")
        .env("BENCH_ADDR", server.local_addr().to_string())
        .env("BENCH_CURSOR", &cursor)
        .env("BENCH_POLLS", polls.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the holder process");
    let opened = Instant::now();
    if std::env::var("BENCH_IDLE").is_ok() {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let idle = LIVE_BYTES.load(Ordering::SeqCst).saturating_sub(before) as f64 / polls as f64;
        println!("idle connections only: {idle:.0} B each");
        let _ = child.kill();
        let _ = child.wait();
        return;
    }
    while server.held_polls() < polls {
        assert!(opened.elapsed() < Duration::from_secs(120), "only {} of {polls} polls held", server.held_polls());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let held_in = opened.elapsed();
    let after = LIVE_BYTES.load(Ordering::SeqCst);
    let per_poll = after.saturating_sub(before) as f64 / polls as f64;

    // here_now requests/s while the polls are held (4 workers, 3 s).
    let done = Instant::now() + Duration::from_secs(3);
    let count = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, count) = (client.clone(), here_now.clone(), Arc::clone(&count));
            tokio::spawn(async move {
                while Instant::now() < done {
                    client.get(&url).send().await.unwrap().bytes().await.unwrap();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    for w in workers {
        w.await.unwrap();
    }
    let rps = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let still_held = server.held_polls();
    let _ = child.kill();
    let _ = child.wait();

    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| held subscribe polls | {polls} (held after {:.1} s; {still_held} still held after the load) |",
        held_in.as_secs_f64()
    );
    println!(
        "| server heap per held poll (connection, request, poll state) | {per_poll:.0} B ({:.2} KiB) |",
        per_poll / 1024.0
    );
    println!("| here_now requests/s while they are held (4 keep-alive clients) | {rps:.0} |");
    server.shutdown().await;
}

/// The child process: opens `BENCH_POLLS` connections, sends one poll on
/// each and keeps them open until killed.
async fn holder() {
    use tokio::io::AsyncWriteExt;
    let addr: std::net::SocketAddr = std::env::var("BENCH_ADDR").unwrap().parse().unwrap();
    let cursor = std::env::var("BENCH_CURSOR").unwrap();
    let polls: usize = std::env::var("BENCH_POLLS").unwrap().parse().unwrap();
    let mut streams = Vec::with_capacity(polls);
    for i in 0..polls {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        if std::env::var("BENCH_IDLE").is_err() {
            let request = format!(
                "GET /v2/subscribe/bench/hall-pnpres/0?uuid=holder-{i}&tt={cursor}&tr=1 HTTP/1.1\r\nHost: bench\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.expect("send");
        }
        streams.push(stream);
    }
    // Held until the parent kills this process (bounded by the parent's own timeouts).
    tokio::time::sleep(Duration::from_secs(600)).await;
    drop(streams);
}
