//! The live presence view's cost: heap bytes per member it holds, and the
//! time to apply one event next to the time to decode it.
//! `cargo bench -p presence-tests --bench view` prints a table.

#[path = "../../server/support/counting_alloc.rs"]
mod counting_alloc;

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::Instant;

use counting_alloc::LIVE_BYTES;
use pubnub_presence::{Config, HereNowResult, MergeForBench, PresenceEvent, PubNub};

fn snapshot(pubnub: &PubNub, members: usize, with_state: bool) -> HereNowResult {
    let uuids: Vec<serde_json::Value> = (0..members)
        .map(|i| {
            let uuid = format!("user-{i:08}-4b1e-9c7a-{i:012}");
            if with_state {
                serde_json::json!({"uuid": uuid, "state": {"mood": "happy", "level": i % 100}})
            } else {
                serde_json::json!(uuid)
            }
        })
        .collect();
    let body = serde_json::json!({"status": 200, "occupancy": members, "uuids": uuids}).to_string();
    pubnub.here_now().channels("lobby").include_state(with_state).decode_response(200, body).unwrap()
}

fn answer(events: usize) -> String {
    let items: Vec<String> = (0..events)
        .map(|i| {
            let action = if i % 2 == 0 { "join" } else { "leave" };
            format!(
                r#"{{"a":"5","f":0,"p":{{"t":"1757970403679{i:04}","r":23}},"k":"demo","c":"lobby-pnpres","d":{{"action":"{action}","uuid":"new-{}","timestamp":1757969438,"occupancy":1}},"b":"lobby-pnpres"}}"#,
                i / 2
            )
        })
        .collect();
    format!(r#"{{"t":{{"t":"17579704036791392","r":43}},"m":[{}]}}"#, items.join(","))
}

fn main() {
    let pubnub = PubNub::new(Config::new("demo").user_id("bench"));
    println!("## Presence view: memory per member\n");
    println!("| members | state | view heap | per member |");
    println!("|---:|---|---:|---:|");
    for (members, with_state) in [(1_000, false), (10_000, false), (10_000, true)] {
        let snapshot = snapshot(&pubnub, members, with_state);
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        let view = MergeForBench::new(&snapshot);
        let held = LIVE_BYTES.load(Ordering::Relaxed) - before;
        drop(snapshot);
        println!(
            "| {members} | {} | {:.1} KiB | {} B |",
            if with_state { "`{\"mood\",\"level\"}`" } else { "none" },
            held as f64 / 1024.0,
            held / members
        );
        black_box(view);
    }

    println!("\n## Presence view: apply vs decode, per event (100-event answers, median of 200)\n");
    let body = answer(100);
    let builder = pubnub.presence_events().channels("lobby");
    let events: Vec<PresenceEvent> =
        builder.decode_response(200, &body).unwrap().items.into_iter().map(|i| i.unwrap().item).collect();
    let (mut decode, mut apply) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let start = Instant::now();
        black_box(builder.decode_response(200, black_box(body.as_bytes())).unwrap());
        decode.push(start.elapsed().as_secs_f64() * 1e9 / 100.0);
        let mut view = MergeForBench::new(&snapshot(&pubnub, 0, false));
        let start = Instant::now();
        for event in &events {
            black_box(view.apply(black_box(event)));
        }
        apply.push(start.elapsed().as_secs_f64() * 1e9 / 100.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (decode, apply) = (median(&mut decode), median(&mut apply));
    println!("| step | ns per event |");
    println!("|---|---:|");
    println!("| decode (subscribe answer → PresenceEvent) | {decode:.0} |");
    println!("| apply (PresenceEvent → view + change) | {apply:.0} |");
    println!("| apply / decode | {:.2}× |", apply / decode);
}
