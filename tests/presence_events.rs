//! Presence events end to end: the generated SDK's `presence_events()`
//! stream and `join()` handle against the local presence server, over real
//! HTTP, with the server's clock driven by hand (timeouts and intervals
//! happen when the test says, never by waiting).

use std::time::Duration;

use presence_server::ServerConfig;
use presence_tests::World;
use presence_tests::{until, until_async, watch};
use pubnub_presence::{Config, Error, PresenceEvent, PubNub};
use serde_json::json;
use tokio::sync::mpsc;

async fn next(rx: &mut mpsc::UnboundedReceiver<Result<PresenceEvent, Error>>) -> PresenceEvent {
    let item = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("an event within 10 s");
    item.expect("the stream goes on").expect("an event, not an error")
}

#[tokio::test]
async fn a_watcher_sees_join_state_change_leave_and_timeout_on_channels_and_groups() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let (alice, bob, carol) = (world.client("alice"), world.client("bob"), world.client("carol"));
    alice.add_channel_to_channel_group().channel_group("friends").channels("den").await.unwrap();
    let mut events = watch(alice.presence_events().channels("lobby").channel_groups("friends"));
    world.until_held(1).await;

    bob.heartbeat().channels("lobby").await.unwrap();
    let PresenceEvent::Join(join) = next(&mut events).await else { panic!("expected bob's join") };
    assert_eq!((join.uuid.as_str(), join.channel.as_str(), join.occupancy), ("bob", "lobby", 1));
    assert_eq!(join.subscription, None, "the channel itself was watched");
    assert!(join.timetoken > 0 && join.timestamp > 0 && join.precise_timestamp.is_some());

    bob.set_state().channels("lobby").state(json!({"mood": "busy"})).await.unwrap();
    let PresenceEvent::StateChange(change) = next(&mut events).await else { panic!("expected a state change") };
    assert_eq!((change.uuid.as_str(), change.state), ("bob", Some(json!({"mood": "busy"}))));

    bob.leave().channels("lobby").await.unwrap();
    let PresenceEvent::Leave(leave) = next(&mut events).await else { panic!("expected bob's leave") };
    assert_eq!((leave.uuid.as_str(), leave.channel.as_str(), leave.occupancy), ("bob", "lobby", 0));

    carol.heartbeat().channels("den").heartbeat(20).await.unwrap();
    let PresenceEvent::Join(join) = next(&mut events).await else { panic!("expected carol's join") };
    assert_eq!((join.uuid.as_str(), join.channel.as_str()), ("carol", "den"));
    assert_eq!(join.subscription.as_deref(), Some("friends"), "matched through the group");

    world.clock.advance(Duration::from_secs(21));
    let PresenceEvent::Timeout(timeout) = next(&mut events).await else { panic!("expected carol's timeout") };
    assert_eq!((timeout.uuid.as_str(), timeout.channel.as_str(), timeout.occupancy), ("carol", "den", 0));
    assert_eq!(timeout.subscription.as_deref(), Some("friends"));
    assert!(events.try_recv().is_err(), "nothing else happened");
}

#[tokio::test]
async fn a_join_handle_keeps_the_user_present_across_timeouts_and_dropping_it_leaves() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let (watcher, dave) = (world.client("watcher"), world.client("dave"));
    let mut events = watch(watcher.presence_events().channels("lobby"));
    world.until_held(1).await;

    let presence = dave
        .join()
        .channels("lobby")
        .state(json!({"mood": "happy"}))
        .timeout(Duration::from_secs(20))
        .heartbeat_interval(Duration::from_millis(20))
        .await
        .unwrap();
    let PresenceEvent::Join(join) = next(&mut events).await else { panic!("expected dave's join") };
    assert_eq!(join.uuid, "dave");

    // Four rounds of 15 s (60 s of server time, three presence timeouts),
    // each ending only after heartbeats the server saw after the advance.
    for _ in 0..4 {
        let sent = presence.heartbeats();
        world.clock.advance(Duration::from_secs(15));
        until(|| presence.heartbeats() >= sent + 2, "two more heartbeats").await;
    }
    let lobby = watcher.here_now().channels("lobby").include_state(true).await.unwrap();
    let occupants = &lobby.channels["lobby"].occupants;
    assert_eq!(occupants.len(), 1);
    assert_eq!(occupants[0].state, Some(json!({"mood": "happy"})), "heartbeats carry the state");

    presence.set_state("lobby", json!({"mood": "busy"})).await.unwrap();
    let PresenceEvent::StateChange(change) = next(&mut events).await else { panic!("expected a state change") };
    assert_eq!(change.state, Some(json!({"mood": "busy"})));
    let sent = presence.heartbeats();
    until(|| presence.heartbeats() >= sent + 2, "heartbeats after set_state").await;
    let state = watcher.get_state().channels("lobby").uuid("dave").await.unwrap();
    assert_eq!(state.channels["lobby"], json!({"mood": "busy"}), "a heartbeat never undoes set_state");

    drop(presence);
    let PresenceEvent::Leave(leave) = next(&mut events).await else { panic!("expected dave's leave") };
    assert_eq!((leave.uuid.as_str(), leave.occupancy), ("dave", 0));
    assert!(events.try_recv().is_err(), "no timeout, no second join: {:?}", events.try_recv());
}

#[tokio::test]
async fn busy_channels_send_interval_events_with_deltas() {
    let world =
        World::start("sub-events", ServerConfig::default().with_interval_mode(1, Duration::from_secs(10))).await;
    let watcher = world.client("watcher");
    let mut events = watch(watcher.presence_events().channels("arena"));
    world.until_held(1).await;
    for user in ["u1", "u2", "u3"] {
        world.client(user).heartbeat().channels("arena").await.unwrap();
    }
    world.clock.advance(Duration::from_secs(10));
    let mut joined = Vec::new();
    // The first join may come as a plain event (one occupant is not above
    // announce max); the rest arrive as interval deltas.
    loop {
        match next(&mut events).await {
            PresenceEvent::Join(join) => joined.push(join.uuid),
            PresenceEvent::Interval(interval) => {
                assert_eq!((interval.channel.as_str(), interval.occupancy), ("arena", 3));
                assert!(!interval.here_now_refresh);
                joined.extend(interval.joined);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    joined.sort();
    assert_eq!(joined, ["u1", "u2", "u3"]);
}

#[tokio::test]
async fn join_refuses_a_short_timeout_naming_it_before_any_request() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let err = world.client("x").join().channels("lobby").timeout(Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { parameter: "timeout", .. }), "{err:?}");
    let here = world.client("y").here_now().channels("lobby").await.unwrap();
    assert_eq!(here.total_occupancy, 0, "nothing was sent");
}

#[tokio::test]
async fn bad_input_is_the_only_item_and_nothing_is_sent() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let pubnub = world.client("x");
    let mut none = pubnub.presence_events().subscribe();
    let err = none.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::InvalidInput { parameter: "channels", .. }), "{err:?}");
    assert!(none.next().await.is_none());
    let mut bad = pubnub.presence_events().channel_groups("a,b").subscribe();
    assert!(matches!(bad.next().await, Some(Err(Error::InvalidInput { parameter: "channel_groups", .. }))));
    assert_eq!(world.server.held_polls(), 0);
}

/// A join item as the server sends it.
fn join_item(uuid: &str, p_t: &str) -> String {
    format!(
        r#"{{"a":"5","f":0,"p":{{"t":"{p_t}","r":2}},"k":"demo","c":"lobby-pnpres","d":{{"action":"join","uuid":"{uuid}","timestamp":1757969438,"occupancy":1}},"b":"lobby-pnpres"}}"#
    )
}

fn answer(t: &str, items: &[String]) -> String {
    format!(r#"{{"t":{{"t":"{t}","r":1}},"m":[{}]}}"#, items.join(","))
}

/// Every fault of a long-poll, in one scripted session: the stream reconnects
/// from its cursor after each transient one, reports a garbage body as an
/// error item and goes on, keeps an event older than the cursor, yields a
/// redelivered event once, and ends with the 403.
#[tokio::test]
async fn the_stream_reconnects_from_its_cursor_through_every_transient_fault() {
    use presence_tests::{Fault, FaultServer};
    let server = FaultServer::start(vec![
        Fault::respond(200, answer("100", &[])),
        Fault::Drop,
        Fault::respond(503, r#"{"status":503,"error":true,"message":"Service Unavailable"}"#),
        Fault::Respond {
            status: 429,
            headers: vec![("Retry-After".to_owned(), "0".to_owned())],
            body: r#"{"status":429,"error":true,"message":"Too Many Requests"}"#.to_owned(),
        },
        Fault::Stall { body_prefix: r#"{"t":"#.to_owned() },
        Fault::respond(200, "<html>captive portal</html>"),
        Fault::respond(200, answer("200", &[join_item("old", "50")])),
        Fault::respond(200, answer("300", &[join_item("old", "50"), join_item("new", "250")])),
        Fault::respond(
            403,
            r#"{"message":"Forbidden","payload":{"channels":["lobby"]},"error":true,"service":"Access Manager","status":403}"#,
        ),
    ])
    .await;
    let fast = pubnub_presence::RetryPolicy::exponential(3)
        .initial_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .jitter(false);
    let pubnub = PubNub::new(
        Config::new("demo")
            .user_id("watcher")
            .origin(server.url())
            .retry_policy(fast)
            .long_poll_timeout(Duration::from_millis(300)),
    );
    let mut stream = pubnub.presence_events().channels("lobby").subscribe();
    let mut items = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("bounded") {
        items.push(item);
    }
    let [garbage, old, new, forbidden] = items.try_into().unwrap_or_else(|items: Vec<_>| panic!("{items:#?}"));
    assert!(matches!(garbage, Err(Error::Decode { .. })), "{garbage:?}");
    let Ok(PresenceEvent::Join(old)) = old else { panic!("{old:?}") };
    assert_eq!((old.uuid.as_str(), old.timetoken), ("old", 50), "older than the cursor, and kept");
    let Ok(PresenceEvent::Join(new)) = new else { panic!("{new:?}") };
    assert_eq!(new.uuid, "new", "the redelivered `old` was skipped");
    let forbidden = forbidden.unwrap_err();
    assert_eq!(forbidden.status(), Some(403));
    let Error::Api { body, .. } = &forbidden else { panic!("{forbidden:?}") };
    assert!(body.contains(r#""channels":["lobby"]"#), "the 403 names the channels");

    let cursors: Vec<String> = server
        .targets()
        .iter()
        .map(|target| {
            let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
            let pick = |key: &str| query.split('&').find_map(|kv| kv.strip_prefix(key)).unwrap_or("-").to_owned();
            format!("{}/{}", pick("tt="), pick("tr="))
        })
        .collect();
    assert!(
        server.targets().iter().all(|t| t.starts_with("/v2/subscribe/demo/lobby-pnpres/0?")),
        "{:?}",
        server.targets()
    );
    assert_eq!(cursors, ["0/-", "100/1", "100/1", "100/1", "100/1", "100/1", "100/1", "200/1", "300/1"]);
}

/// A join on `lobby` by a fresh uuid, then the watcher's events up to it:
/// every event sent before it has then been seen, so an unexpected one
/// (a leave, a second join, a state flap) cannot hide.
async fn events_until_barrier(
    world: &World,
    events: &mut mpsc::UnboundedReceiver<Result<PresenceEvent, Error>>,
    barrier: &str,
) -> Vec<PresenceEvent> {
    world.client(barrier).heartbeat().channels("lobby").await.unwrap();
    let mut seen = Vec::new();
    loop {
        match next(events).await {
            PresenceEvent::Join(join) if join.uuid == barrier => return seen,
            other => seen.push(other),
        }
    }
}

/// Each event as `action uuid channel`, for readable assertions.
fn summary(events: &[PresenceEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| match event {
            PresenceEvent::Join(e) => format!("join {} {}", e.uuid, e.channel),
            PresenceEvent::Leave(e) => format!("leave {} {}", e.uuid, e.channel),
            PresenceEvent::Timeout(e) => format!("timeout {} {}", e.uuid, e.channel),
            PresenceEvent::StateChange(e) => {
                format!("state-change {} {} {}", e.uuid, e.channel, e.state.clone().unwrap_or_default())
            }
            other => format!("{other:?}"),
        })
        .collect()
}

/// Heartbeat rounds across three presence timeouts of server time, each
/// ending only after heartbeats the server saw after the clock moved.
async fn heartbeat_rounds(world: &World, presence: &pubnub_presence::Presence) {
    for _ in 0..4 {
        let sent = presence.heartbeats();
        world.clock.advance(Duration::from_secs(15));
        until(|| presence.heartbeats() >= sent + 2, "two more heartbeats").await;
    }
}

#[tokio::test]
async fn overlapping_join_handles_leave_only_what_no_other_handle_holds() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let (watcher, erin) = (world.client("watcher"), world.client("erin"));
    let mut events = watch(watcher.presence_events().channels(["lobby", "game"]));
    world.until_held(1).await;

    let fast = Duration::from_millis(20);
    let both = erin.join().channels(["lobby", "game"]).timeout(Duration::from_secs(20)).heartbeat_interval(fast).await;
    let lobby_only = erin.join().channels("lobby").timeout(Duration::from_secs(20)).heartbeat_interval(fast).await;
    let (both, lobby_only) = (both.unwrap(), lobby_only.unwrap());
    assert_eq!(
        summary(&events_until_barrier(&world, &mut events, "barrier-1").await),
        ["join erin lobby", "join erin game"]
    );

    both.leave().await.unwrap();
    heartbeat_rounds(&world, &lobby_only).await;
    assert_eq!(
        summary(&events_until_barrier(&world, &mut events, "barrier-2").await),
        ["leave erin game"],
        "erin never leaves the lobby another handle holds, so she never joins it again"
    );
    let here = watcher.where_now().uuid("erin").await.unwrap();
    assert_eq!(here.channels, ["lobby"]);

    drop(lobby_only);
    assert_eq!(summary(&events_until_barrier(&world, &mut events, "barrier-3").await), ["leave erin lobby"]);
}

#[tokio::test]
async fn handles_with_different_states_share_the_latest_one_and_never_flap() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let (watcher, frank) = (world.client("watcher"), world.client("frank"));
    let mut events = watch(watcher.presence_events().channels("lobby"));
    world.until_held(1).await;

    let join = |role: &str| {
        frank
            .join()
            .channels("lobby")
            .state(json!({ "role": role }))
            .timeout(Duration::from_secs(20))
            .heartbeat_interval(Duration::from_millis(20))
    };
    let a = join("a").await.unwrap();
    let b = join("b").await.unwrap();
    heartbeat_rounds(&world, &a).await;
    assert_eq!(
        summary(&events_until_barrier(&world, &mut events, "barrier-1").await),
        ["join frank lobby", r#"state-change frank lobby {"role":"b"}"#],
        "the latest state set wins, and every heartbeat carries it"
    );

    a.set_state("lobby", json!({"role": "c"})).await.unwrap();
    heartbeat_rounds(&world, &b).await;
    assert_eq!(
        summary(&events_until_barrier(&world, &mut events, "barrier-2").await),
        [r#"state-change frank lobby {"role":"c"}"#]
    );
    let state = watcher.get_state().channels("lobby").uuid("frank").await.unwrap();
    assert_eq!(state.channels["lobby"], json!({"role": "c"}));

    let err = a.set_state("elsewhere", json!({"role": "d"})).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { parameter: "channel", .. }), "{err:?}");
    a.leave().await.unwrap();
    b.leave().await.unwrap();
    assert_eq!(summary(&events_until_barrier(&world, &mut events, "barrier-3").await), ["leave frank lobby"]);
}

#[tokio::test]
async fn handles_joined_and_dropped_concurrently_from_many_tasks_keep_presence_right() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let (watcher, gina) = (world.client("watcher"), world.client("gina"));
    let mut events = watch(watcher.presence_events().channels("lobby"));
    world.until_held(1).await;

    // 40 tasks join the lobby and a room of their own at once; the odd ones
    // drop their handle (or leave) at once, the even ones keep it.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let gina = gina.clone();
            tokio::spawn(async move {
                let room = format!("room-{i}");
                let presence = gina
                    .join()
                    .channels(["lobby".to_owned(), room])
                    .timeout(Duration::from_secs(20))
                    .heartbeat_interval(Duration::from_millis(20))
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
                match i % 4 {
                    1 => drop(presence),
                    3 => presence.leave().await.unwrap(),
                    _ => return Some(presence),
                }
                None
            })
        })
        .collect();
    let mut kept = Vec::new();
    for task in tasks {
        kept.extend(task.await.unwrap());
    }
    let expected: Vec<String> = std::iter::once("lobby".to_owned())
        .chain((0..40).filter(|i| i % 2 == 0).map(|i| format!("room-{i}")))
        .collect();
    let mut expected = expected;
    expected.sort();
    let where_now = || async {
        let mut channels = watcher.where_now().uuid("gina").await.unwrap().channels;
        channels.sort();
        channels
    };
    until_async(|| async { where_now().await == expected }, "the dropped handles' rooms left, the kept ones held")
        .await;
    heartbeat_rounds(&world, &kept[0]).await;
    assert_eq!(summary(&events_until_barrier(&world, &mut events, "barrier-1").await), ["join gina lobby"]);

    let leaving: Vec<_> = kept
        .into_iter()
        .enumerate()
        .map(|(i, presence)| {
            tokio::spawn(async move {
                if i % 2 == 0 {
                    drop(presence);
                } else {
                    presence.leave().await.unwrap();
                }
            })
        })
        .collect();
    for task in leaving {
        task.await.unwrap();
    }
    let PresenceEvent::Leave(leave) = next(&mut events).await else { panic!("expected gina's leave") };
    assert_eq!((leave.uuid.as_str(), leave.occupancy), ("gina", 1), "barrier-1 stays in the lobby");
    let rest = events_until_barrier(&world, &mut events, "barrier-2").await;
    assert_eq!(summary(&rest), Vec::<String>::new(), "one leave, when the last handle went");
    until_async(|| async { where_now().await.is_empty() }, "gina gone from every channel").await;
}

#[tokio::test]
async fn a_leave_cancelled_half_way_still_leaves() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let (watcher, hal) = (world.client("watcher"), world.client("hal"));
    let mut events = watch(watcher.presence_events().channels("lobby"));
    world.until_held(1).await;
    let presence = hal.join().channels("lobby").await.unwrap();
    assert_eq!(summary(&events_until_barrier(&world, &mut events, "barrier-1").await), ["join hal lobby"]);

    // Polled once (it cannot have had its answer yet), then dropped: the
    // handle's drop finishes the leave.
    let mut leave = Box::pin(presence.leave());
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(leave.as_mut().poll(cx))).await;
    assert!(first.is_pending(), "one poll cannot have had the server's answer");
    drop(leave);
    let PresenceEvent::Leave(leave) = next(&mut events).await else { panic!("expected hal's leave") };
    assert_eq!(leave.uuid, "hal");
}

#[tokio::test]
async fn cancel_poll_ends_the_long_poll_and_the_next_poll_resumes_from_the_same_cursor() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let (watcher, erin) = (world.client("watcher"), world.client("erin"));
    let mut events = watcher.presence_events().channels("lobby").subscribe();
    // Waiting for an event that does not come: the poll is held, then the caller gives up.
    tokio::select! {
        () = world.until_held(1) => {}
        item = events.next() => panic!("no event was due: {item:?}"),
    }
    assert_eq!(world.server.held_polls(), 1, "dropping next() keeps the poll in the subscription");
    events.cancel_poll();
    until(|| world.server.held_polls() == 0, "the cancelled poll to be released").await;
    // What happened meanwhile comes with the next poll, from the same cursor.
    erin.heartbeat().channels("lobby").await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(10), events.next()).await.expect("an event within 10 s");
    let Some(Ok(PresenceEvent::Join(join))) = item else { panic!("expected erin's join, got {item:?}") };
    assert_eq!(join.uuid, "erin");
}

#[tokio::test]
async fn take_ready_gives_what_an_answer_carried_and_never_polls() {
    let world = World::start("sub-events", ServerConfig::default()).await;
    let watcher = world.client("watcher");
    let mut events = watcher.presence_events().channels("lobby").subscribe();
    assert!(events.take_ready().is_none(), "nothing is received before the first poll");
    assert_eq!(world.server.held_polls(), 0, "take_ready sends no request");
    // The handshake, then a poll held by the server.
    tokio::select! {
        () = world.until_held(1) => {}
        item = events.next() => panic!("no event was due: {item:?}"),
    }
    // Three joins while no poll is open: the next poll, from the same
    // cursor, gets all three in one answer; next() gives the first, and
    // take_ready the other two.
    events.cancel_poll();
    until(|| world.server.held_polls() == 0, "the cancelled poll to be released").await;
    for uuid in ["a", "b", "c"] {
        world.client(uuid).heartbeat().channels("lobby").await.unwrap();
    }
    let item = tokio::time::timeout(Duration::from_secs(10), events.next()).await.expect("an event within 10 s");
    let Some(Ok(PresenceEvent::Join(first))) = item else { panic!("expected a join, got {item:?}") };
    let mut ready = Vec::new();
    while let Some(item) = events.take_ready() {
        let Ok(PresenceEvent::Join(join)) = item else { panic!("expected a join, got {item:?}") };
        ready.push(join.uuid);
    }
    assert_eq!(ready.len(), 2, "the answer's other two joins are ready: {ready:?}");
    let mut uuids: Vec<String> = ready.into_iter().chain([first.uuid]).collect();
    uuids.sort();
    assert_eq!(uuids, ["a", "b", "c"]);
    assert!(format!("{events:?}").contains("polling: false"), "taking the ready items started no poll: {events:?}");
}
