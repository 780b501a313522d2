//! The main job: who is online, end to end, with no account, keys or network.
//!
//! Starts the local presence server in-process (with a clock we control),
//! points two SDK clients at it and walks through every operation: heartbeat,
//! here_now, state, where_now, channel groups, leave, and expiry, while a
//! watcher task prints the presence events (join, state-change, leave,
//! timeout) as they happen.
//!
//! Run with `cargo run --example quickstart`.

use std::time::Duration;

use presence_server::{ManualClock, PresenceServer, ServerConfig};
use pubnub_presence::{Config, Error, PresenceEvent, PubNub};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The server's clock only moves when we say so: expiry without sleeping.
    let clock = ManualClock::starting_now();
    let server = PresenceServer::start(ServerConfig::default().with_clock(clock.clone())).await?;
    println!("local presence server at {}", server.url());

    let client = |user: &str| PubNub::new(Config::new("demo").user_id(user).origin(server.url()));
    let (alice, bob) = (client("alice"), client("bob"));

    // A watcher: presence events on `lobby`, printed as they arrive. Watching
    // does not make `watcher` present.
    let mut events = client("watcher").presence_events().channels("lobby").subscribe();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let line = match event {
                Ok(PresenceEvent::Join(e)) => format!("{} joined {} ({} here)", e.uuid, e.channel, e.occupancy),
                Ok(PresenceEvent::Leave(e)) => format!("{} left {} ({} here)", e.uuid, e.channel, e.occupancy),
                Ok(PresenceEvent::Timeout(e)) => {
                    format!("{} timed out of {} ({} here)", e.uuid, e.channel, e.occupancy)
                }
                Ok(PresenceEvent::StateChange(e)) => {
                    format!("{} is now {} on {}", e.uuid, e.state.unwrap_or_default(), e.channel)
                }
                Ok(other) => format!("{other:?}"),
                Err(err) => format!("error: {err}"),
            };
            println!("  [event] {line}");
            if seen_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait until the watcher is long-polling, so it sees everything from here
    // on. (The view below needs no such wait: it handshakes before its snapshot.)
    while server.held_polls() == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    // A live member list of `lobby`: snapshot + events, always current.
    let mut lobby_view = client("viewer").presence_view().channels("lobby").include_state(true).await?;

    // Heartbeats make users present; a state can travel with the heartbeat.
    alice.heartbeat().channels(["lobby", "game-1"]).heartbeat(60).await?;
    bob.heartbeat().channels("lobby").state(json!({"lobby": {"mood": "curious"}})).await?;
    alice.set_state().channels("lobby").state(json!({"mood": "happy", "level": 7})).await?;

    // The view catches up from the events (reads never touch the network).
    while lobby_view.occupancy("lobby") < 2 || lobby_view.members("lobby").iter().any(|m| m.state.is_none()) {
        tokio::time::timeout(Duration::from_secs(10), lobby_view.changes().next()).await?;
    }
    println!("\npresence_view(lobby): {} members", lobby_view.occupancy("lobby"));
    for member in lobby_view.members("lobby") {
        println!("  {:<6} state {}", member.uuid, member.state.unwrap_or_default());
    }

    let lobby = alice.here_now().channels("lobby").include_state(true).await?;
    println!("\nhere_now(lobby): {} present", lobby.total_occupancy);
    for occupant in &lobby.channels["lobby"].occupants {
        println!("  {:<6} state {}", occupant.uuid, occupant.state.clone().unwrap_or_default());
    }
    assert_eq!(lobby.total_occupancy, 2);

    let counts = alice.here_now().channels(["lobby", "game-1"]).include_uuids(false).await?;
    let occupancy: Vec<String> =
        counts.channels.values().map(|c| format!("{}={}", c.channel_name, c.occupancy)).collect();
    println!("\nhere_now(occupancy only): {}", occupancy.join(", "));

    let everywhere = alice.here_now().await?;
    println!("\nhere_now(global): {} users on {} channels", everywhere.total_occupancy, everywhere.total_channels);
    for (name, channel) in &everywhere.channels {
        let who: Vec<&str> = channel.occupants.iter().map(|o| o.uuid.as_str()).collect();
        println!("  {name:<7} {who:?}");
    }

    let me = bob.where_now().await?;
    let alice_is = bob.where_now().uuid("alice").await?;
    println!("\nwhere_now(self = bob): {:?}", me.channels);
    println!("where_now(alice): {:?}", alice_is.channels);

    let state = bob.get_state().channels(["lobby", "game-1"]).uuid("alice").await?;
    println!("get_state(alice): {}", json!(state.channels));

    // Channel groups: a named set of channels, usable wherever channels are.
    alice.add_channel_to_channel_group().channel_group("games").channels(["game-1", "game-2"]).await?;
    let games = alice.list_channels_in_channel_group().channel_group("games").await?;
    bob.heartbeat().channel_groups("games").heartbeat(60).await?;
    let in_games = alice.here_now().channel_groups("games").await?;
    println!("\ngroup `games` = {:?}", games.channels);
    for (name, channel) in &in_games.channels {
        let who: Vec<&str> = channel.occupants.iter().map(|o| o.uuid.as_str()).collect();
        println!("  here_now(group) {name:<7} {who:?}");
    }

    // Leaving is immediate; silence expires after the heartbeat interval.
    bob.leave().channels("lobby").channel_groups("games").await?;
    println!("\nbob left: lobby has {}", alice.here_now().channels("lobby").await?.total_occupancy);
    clock.advance(Duration::from_secs(61));
    let after = alice.here_now().await?;
    println!("61 s later: {} users online anywhere", after.total_occupancy);
    assert_eq!(after.total_occupancy, 0);

    // The watcher saw lobby's story: two joins, a state change, a leave, a timeout.
    for _ in 0..5 {
        tokio::time::timeout(Duration::from_secs(10), seen.recv()).await?.ok_or("the watcher stopped")?;
    }

    while lobby_view.occupancy("lobby") > 0 {
        tokio::time::timeout(Duration::from_secs(10), lobby_view.changes().next()).await?;
    }
    println!("presence_view(lobby) after they came and went: {} members", lobby_view.occupancy("lobby"));
    drop(lobby_view);

    // Bad input is refused before any I/O, naming the parameter.
    match alice.here_now().channels("lobby").limit(5000).await {
        Err(err @ Error::InvalidInput { .. }) => println!("\nrejected locally: {err}"),
        other => panic!("expected an input error, got {other:?}"),
    }

    alice.remove_channel_group().channel_group("games").await?;
    server.shutdown().await;
    Ok(())
}
