//! The SDK's `presence_events()` against the local server's own fault
//! injection (`PUT /dev/faults`): about a third of one watcher's polls fail
//! (503, 429 with `Retry-After: 0`, a dropped answer, a reset connection, a
//! body that is not JSON), a second watcher has no faults, and both must see
//! every event of a known sequence exactly once.

use std::collections::HashMap;
use std::time::Duration;

use presence_server::ServerConfig;
use presence_tests::{World, plain_http_client, until, watch};
use pubnub_presence::{Error, PresenceEvent, RetryPolicy};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// `(action, uuid)` of the events a watcher received, and how many error items it saw.
struct Seen {
    events: Vec<(String, String)>,
    errors: usize,
}

/// Takes items until `last` (an `(action, uuid)`) has arrived.
async fn until_seen(rx: &mut mpsc::UnboundedReceiver<Result<PresenceEvent, Error>>, last: (&str, &str)) -> Seen {
    let mut seen = Seen { events: Vec::new(), errors: 0 };
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let item = rx.recv().await.expect("the stream goes on");
            let event = match item {
                Ok(PresenceEvent::Join(e)) => ("join".to_owned(), e.uuid),
                Ok(PresenceEvent::Leave(e)) => ("leave".to_owned(), e.uuid),
                Ok(other) => panic!("unexpected event {other:?}"),
                Err(Error::Decode { .. }) => {
                    // A `garbage` answer is reported, and the stream goes on.
                    seen.errors += 1;
                    continue;
                }
                Err(other) => panic!("the stream failed: {other}"),
            };
            let done = (event.0.as_str(), event.1.as_str()) == last;
            seen.events.push(event);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{last:?} did not arrive in 60 s; got {} events", seen.events.len()));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_events_deliver_every_event_exactly_once_through_injected_faults() {
    let world = World::start("sub-faults", ServerConfig::default()).await;
    let http = plain_http_client();
    let rules = json!({"seed": 23, "rules": [
        {"endpoint": "subscribe", "uuid": "faulty-watcher", "rate": 0.08, "effect": {"status": 503}},
        {"endpoint": "subscribe", "uuid": "faulty-watcher", "rate": 0.08, "effect": {"status": 429, "retry_after": 0}},
        {"endpoint": "subscribe", "uuid": "faulty-watcher", "rate": 0.08, "effect": "drop_answer"},
        {"endpoint": "subscribe", "uuid": "faulty-watcher", "rate": 0.08, "effect": "reset"},
        {"endpoint": "subscribe", "uuid": "faulty-watcher", "rate": 0.08, "effect": "garbage"},
    ]});
    let put = http.put(format!("{}/dev/faults", world.server.url())).body(rules.to_string()).send().await.unwrap();
    assert_eq!(put.status(), 200);

    let quick = RetryPolicy::exponential(u32::MAX)
        .initial_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .jitter(false);
    let faulty = pubnub_presence::PubNub::new(world.config("faulty-watcher").retry_policy(quick.clone()));
    let steady = pubnub_presence::PubNub::new(world.config("steady-watcher").retry_policy(quick));
    let mut faulty_rx = watch(faulty.presence_events().channels("lobby"));
    let mut steady_rx = watch(steady.presence_events().channels("lobby"));
    world.until_held(2).await;

    // 40 events: 20 users each join and leave, one after the other.
    let actor = world.client("actor");
    let mut expected = Vec::new();
    for i in 0..20 {
        let user = world.client(&format!("user-{i:02}"));
        user.heartbeat().channels("lobby").await.unwrap();
        user.leave().channels("lobby").await.unwrap();
        expected.push(("join".to_owned(), format!("user-{i:02}")));
        expected.push(("leave".to_owned(), format!("user-{i:02}")));
        // Both watchers long-poll again between the pairs, so many polls are made.
        until(|| world.server.held_polls() == 2, "both watchers long-polling").await;
    }
    // A last event after all the others: anything redelivered comes before it.
    actor.heartbeat().channels("lobby").await.unwrap();
    expected.push(("join".to_owned(), "actor".to_owned()));

    for (name, rx) in [("faulty", &mut faulty_rx), ("steady", &mut steady_rx)] {
        let seen = until_seen(rx, ("join", "actor")).await;
        let mut counts: HashMap<&(String, String), usize> = HashMap::new();
        for event in &seen.events {
            *counts.entry(event).or_default() += 1;
        }
        let missing: Vec<_> = expected.iter().filter(|e| !counts.contains_key(e)).collect();
        let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(missing.is_empty(), "{name}: missing {missing:?}");
        assert!(duplicated.is_empty(), "{name}: duplicated {duplicated:?}");
        assert_eq!(seen.events.len(), expected.len(), "{name}: nothing else");
        let mut sorted = seen.events.clone();
        sorted.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(sorted, want, "{name}");
        if name == "steady" {
            assert_eq!(seen.errors, 0, "the steady watcher saw no fault");
        }
    }

    let body = http.get(format!("{}/dev/faults", world.server.url())).send().await.unwrap().text().await.unwrap();
    let faults: Value = serde_json::from_str(&body).unwrap();
    let rules = faults["rules"].as_array().unwrap();
    let injected: u64 = rules.iter().map(|r| r["injected"].as_u64().unwrap()).sum();
    let polls = rules[0]["matched"].as_u64().unwrap();
    eprintln!(
        "faulty watcher: {polls} polls, {injected} failed ({:?} by effect)",
        rules.iter().map(|r| r["injected"].as_u64().unwrap()).collect::<Vec<_>>()
    );
    assert!(injected > 0 && polls > injected, "{faults}");
}
