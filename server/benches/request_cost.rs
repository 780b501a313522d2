//! The server's cost per request as a fixed amount of work (not a test): one
//! thread runs the server and a minimal client that sends `BENCH_CALLS`
//! sequential requests of one kind on one keep-alive connection. On one
//! thread the interleaving is the same on every run, so under
//! `valgrind --tool=callgrind` the instruction count repeats to a few in a
//! hundred thousand, and two builds can be compared to well under 1 %
//! (`bench/server_instructions.sh` does it; wall-clock req/s on this shared
//! 2-core machine moves by ±20 % between runs). A client on a thread of its
//! own would race the server for each next request and move the server's
//! count by ~2 %.
//!
//! ```text
//! BENCH_REQUEST=here_now BENCH_CALLS=2000 cargo bench -p presence-server --bench request_cost
//! ```
//!
//! Kinds (`BENCH_REQUEST`): `heartbeat` (one channel, one uuid), `here_now`
//! (a channel of 10 occupants), `get_state`, `handshake` (a subscribe with
//! `tt=0`). The clock is a `ManualClock`, so no timer fires during the run and
//! every run does the same work. The client ([`Client::call`]) writes
//! requests by hand and reads each answer by its `content-length`;
//! callgrind's inclusive count of `Client::call` is its share, which the
//! script subtracts.

use std::time::{Duration, Instant};

use presence_server::{ManualClock, PresenceServer, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client on one kept-alive connection, its buffers reused.
struct Client {
    stream: TcpStream,
    request: Vec<u8>,
    answer: Vec<u8>,
    chunk: Box<[u8]>,
}

impl Client {
    /// One request; returns the answer's status.
    async fn call(&mut self, target: &str) -> u16 {
        self.request.clear();
        self.request.extend_from_slice(b"GET ");
        self.request.extend_from_slice(target.as_bytes());
        self.request.extend_from_slice(b" HTTP/1.1\r\nHost: bench\r\n\r\n");
        self.stream.write_all(&self.request).await.expect("write");
        self.answer.clear();
        loop {
            let n = self.stream.read(&mut self.chunk).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            self.answer.extend_from_slice(&self.chunk[..n]);
            let Some(head_end) = self.answer.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = std::str::from_utf8(&self.answer[..head_end]).expect("head is UTF-8");
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
                })
                .expect("a content-length");
            if self.answer.len() >= head_end + 4 + length {
                return head[9..12].parse().expect("a status");
            }
        }
    }
}

/// Seeds a channel of 10 occupants, then sends `calls` requests to `target`;
/// returns the time the requests took.
async fn run_client(server: &PresenceServer, target: &str, calls: usize) -> Duration {
    let stream = TcpStream::connect(server.local_addr()).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut client =
        Client { stream, request: Vec::new(), answer: Vec::new(), chunk: vec![0; 8192].into_boxed_slice() };
    for user in 0..10 {
        let seed = format!("/v2/presence/sub-key/demo/channel/hall/heartbeat?uuid=user-{user}&heartbeat=300");
        assert_eq!(client.call(&seed).await, 200);
    }
    let started = Instant::now();
    for _ in 0..calls {
        let status = client.call(target).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&client.answer));
    }
    started.elapsed()
}

fn main() {
    let kind = std::env::var("BENCH_REQUEST").unwrap_or_else(|_| "here_now".to_owned());
    let calls: usize = std::env::var("BENCH_CALLS").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let target = match kind.as_str() {
        "heartbeat" => "/v2/presence/sub-key/demo/channel/lobby/heartbeat?uuid=alice&heartbeat=300",
        "here_now" => "/v2/presence/sub-key/demo/channel/hall",
        "get_state" => "/v2/presence/sub-key/demo/channel/hall/uuid/user-1",
        "handshake" => "/v2/subscribe/demo/lobby/0?uuid=watcher&tt=0",
        other => panic!("BENCH_REQUEST must be heartbeat, here_now, get_state or handshake, not {other}"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let elapsed = runtime.block_on(async {
        let config = ServerConfig::default()
            .with_listen("127.0.0.1:0".parse().expect("address"))
            .with_clock(ManualClock::new(1_700_000_000_000));
        let server = PresenceServer::start(config).await.expect("server starts");
        run_client(&server, target, calls).await
    });
    println!(
        "{kind}: {calls} calls in {:.1} ms ({:.0} calls/s, server and client on one thread)",
        elapsed.as_secs_f64() * 1e3,
        calls as f64 / elapsed.as_secs_f64()
    );
}
