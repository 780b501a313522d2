//! Heartbeat requests per interval from one client with many `join()`
//! handles: all handles of a client share one presence and one heartbeat
//! loop, so the goal is one request per interval whatever their number.
//! `cargo bench -p presence-tests --bench join_heartbeats` prints a table.
//!
//! The client talks to a small HTTP responder on loopback that answers every
//! request with PubNub's heartbeat/leave acknowledgement and counts the
//! heartbeat requests it receives: what is measured is what goes on the wire.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pubnub_presence::{Config, PubNub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CHANNELS: usize = 10;
const INTERVAL: Duration = Duration::from_millis(100);
const INTERVALS: u32 = 30;

/// Answers every request (keep-alive, GET heads only) with `200 OK` and
/// counts the heartbeat ones.
async fn responder(heartbeats: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let heartbeats = Arc::clone(&heartbeats);
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&pending[..end]).into_owned();
                        pending.drain(..end + 4);
                        if head.split(' ').nth(1).is_some_and(|target| target.contains("/heartbeat?")) {
                            heartbeats.fetch_add(1, Ordering::SeqCst);
                        }
                        let body = r#"{"message":"OK","service":"Presence","status":200}"#;
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/javascript\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    url
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("## join(): heartbeat requests per interval\n");
    println!("One client, handles spread over {CHANNELS} channels (handle i joins channel i mod {CHANNELS} and");
    println!(
        "channel (i + 1) mod {CHANNELS}), heartbeat interval {} ms, counted over {INTERVALS} intervals.\n",
        INTERVAL.as_millis()
    );
    println!("| handles | heartbeat requests | intervals | requests per interval |");
    println!("|---:|---:|---:|---:|");
    for handles in [1usize, 10, 100] {
        let heartbeats = Arc::new(AtomicUsize::new(0));
        let url = responder(Arc::clone(&heartbeats)).await;
        let pubnub = PubNub::new(Config::new("bench").user_id("bench-user").origin(url));
        let mut held = Vec::new();
        for i in 0..handles {
            let channels = [format!("ch-{}", i % CHANNELS), format!("ch-{}", (i + 1) % CHANNELS)];
            let presence = pubnub
                .join()
                .channels(channels)
                .timeout(Duration::from_secs(20))
                .heartbeat_interval(INTERVAL)
                .await
                .expect("join");
            held.push(presence);
        }
        // Count only the background loop: the joins' own first heartbeats are done.
        let before = heartbeats.load(Ordering::SeqCst);
        tokio::time::sleep(INTERVAL * INTERVALS).await;
        let sent = heartbeats.load(Ordering::SeqCst) - before;
        println!("| {handles} | {sent} | {INTERVALS} | {:.2} |", sent as f64 / f64::from(INTERVALS));
        drop(held);
    }
}
