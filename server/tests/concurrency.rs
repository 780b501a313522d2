//! 1,000 simulated clients heartbeating, setting state and leaving concurrently; afterwards
//! here_now and where_now must agree with what every client did.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const CLIENTS: usize = 1_000;
const ROOMS: usize = 10;

fn room(i: usize) -> String {
    format!("room-{}", i % ROOMS)
}

/// What client `i` is expected to be present on at the end.
fn expected_channels(i: usize) -> BTreeSet<String> {
    let mut set = BTreeSet::from([room(i)]);
    if i % 4 != 0 {
        set.insert("all".to_owned());
    }
    if i % 7 == 0 {
        set.insert("extra".to_owned());
    }
    set
}

async fn get_ok(t: &Arc<TestServer>, gate: &Semaphore, path: String) -> String {
    let _permit = gate.acquire().await.expect("semaphore open");
    let r = t.get(&path).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_clients_heartbeat_and_leave_concurrently() {
    let t = Arc::new(TestServer::start().await);
    // Bound in-flight requests (and so sockets) while all 1,000 clients run interleaved.
    let gate = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let t = Arc::clone(&t);
        let gate = Arc::clone(&gate);
        tasks.push(tokio::spawn(async move {
            let uuid = format!("client-{i:04}");
            let r = room(i);
            // {"room-N":{"n":i}}
            let state = format!("%7B%22{r}%22%3A%7B%22n%22%3A{i}%7D%7D");
            let body = get_ok(
                &t,
                &gate,
                format!("/v2/presence/sub-key/load/channel/{r},all/heartbeat?uuid={uuid}&heartbeat=120&state={state}"),
            )
            .await;
            assert_eq!(body, HEARTBEAT_OK);
            if i % 4 == 0 {
                let body = get_ok(&t, &gate, format!("/v2/presence/sub-key/load/channel/all/leave?uuid={uuid}")).await;
                assert_eq!(body, LEAVE_OK);
            }
            if i % 5 == 0 {
                get_ok(
                    &t,
                    &gate,
                    format!(
                        "/v2/presence/sub-key/load/channel/{r}/uuid/{uuid}/data?uuid={uuid}&state=%7B%22n%22%3A{}%7D",
                        i * 10
                    ),
                )
                .await;
            }
            if i % 7 == 0 {
                get_ok(&t, &gate, format!("/v2/presence/sub-key/load/channel/extra/heartbeat?uuid={uuid}")).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }

    // Totals per channel.
    let expect_all = (0..CLIENTS).filter(|i| i % 4 != 0).count();
    let expect_extra = (0..CLIENTS).filter(|i| i % 7 == 0).count();
    let global: Value = t.get("/v2/presence/sub-key/load?disable_uuids=1").await.json();
    let mut channels = serde_json::Map::new();
    channels.insert("all".into(), json!({"occupancy": expect_all}));
    channels.insert("extra".into(), json!({"occupancy": expect_extra}));
    for r in 0..ROOMS {
        channels.insert(format!("room-{r}"), json!({"occupancy": CLIENTS / ROOMS}));
    }
    assert_eq!(
        global["payload"],
        json!({
            "channels": channels,
            "total_channels": ROOMS + 2,
            "total_occupancy": CLIENTS + expect_all + expect_extra,
        })
    );

    // Exact membership and state of every room.
    for r in 0..ROOMS {
        let v: Value = t.get(&format!("/v2/presence/sub-key/load/channel/room-{r}?state=1")).await.json();
        let expected: Vec<Value> = (0..CLIENTS)
            .filter(|i| i % ROOMS == r)
            .map(|i| {
                let n = if i % 5 == 0 { i * 10 } else { i };
                json!({"state": {"n": n}, "uuid": format!("client-{i:04}")})
            })
            .collect();
        assert_eq!(v["occupancy"], CLIENTS / ROOMS);
        assert_eq!(v["uuids"], Value::Array(expected), "room-{r}");
    }
    let all: Value = t.get("/v2/presence/sub-key/load/channel/all").await.json();
    let listed: BTreeSet<String> =
        all["uuids"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_owned()).collect();
    let wanted: BTreeSet<String> = (0..CLIENTS).filter(|i| i % 4 != 0).map(|i| format!("client-{i:04}")).collect();
    assert_eq!(listed, wanted);

    // where_now for every client, concurrently.
    let mut checks = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let t = Arc::clone(&t);
        let gate = Arc::clone(&gate);
        checks.push(tokio::spawn(async move {
            let body = get_ok(&t, &gate, format!("/v2/presence/sub-key/load/uuid/client-{i:04}")).await;
            let v: Value = serde_json::from_str(&body).unwrap();
            let got: BTreeSet<String> =
                v["payload"]["channels"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
            assert_eq!(got, expected_channels(i), "client-{i:04}");
        }));
    }
    for c in checks {
        c.await.expect("where_now task");
    }

    // Everybody times out together once the clock passes the 300 s default (the "extra"
    // heartbeats); the 120 s ones are gone first.
    t.clock.advance(Duration::from_secs(120));
    let v: Value = t.get("/v2/presence/sub-key/load?disable_uuids=1").await.json();
    assert_eq!(
        v["payload"],
        json!({"channels": {"extra": {"occupancy": expect_extra}}, "total_channels": 1, "total_occupancy": expect_extra})
    );
    t.clock.advance(Duration::from_secs(180));
    let v: Value = t.get("/v2/presence/sub-key/load").await.json();
    assert_eq!(v["payload"]["total_occupancy"], 0);
}
