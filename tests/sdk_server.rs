//! The generated SDK against the local presence server, over real HTTP:
//! every operation, names that need encoding, paging, expiry driven by an
//! injected clock, and request signing.

use std::collections::BTreeMap;
use std::time::Duration;

use presence_server::{PresenceServer, ServerConfig};
use presence_tests::World;
use pubnub_presence::{Config, Error, PubNub};
use serde_json::json;

fn uuids(result: &pubnub_presence::HereNowResult, channel: &str) -> Vec<String> {
    let mut list: Vec<String> = result.channels[channel].occupants.iter().map(|o| o.uuid.clone()).collect();
    list.sort();
    list
}

#[tokio::test]
async fn heartbeat_here_now_where_now_leave() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    let (alice, bob) = (world.client("alice"), world.client("bob"));
    alice.heartbeat().channels(["lobby", "game"]).await.unwrap();
    bob.heartbeat().channels("lobby").await.unwrap();

    let lobby = alice.here_now().channels("lobby").await.unwrap();
    assert_eq!((lobby.total_channels, lobby.total_occupancy), (1, 2));
    assert_eq!(uuids(&lobby, "lobby"), ["alice", "bob"]);

    let both = alice.here_now().channels(["lobby", "game"]).await.unwrap();
    assert_eq!((both.total_channels, both.total_occupancy), (2, 3));
    assert_eq!(uuids(&both, "game"), ["alice"]);

    let global = bob.here_now().await.unwrap();
    assert_eq!(global.total_occupancy, 3);

    let counts = alice.here_now().channels("lobby").include_uuids(false).await.unwrap();
    assert_eq!(counts.channels["lobby"].occupancy, 2);
    assert!(counts.channels["lobby"].occupants.is_empty());

    let mut channels = bob.where_now().uuid("alice").await.unwrap().channels;
    channels.sort();
    assert_eq!(channels, ["game", "lobby"]);

    alice.leave().channels(["lobby", "game"]).await.unwrap();
    assert!(bob.where_now().uuid("alice").await.unwrap().channels.is_empty());
    assert_eq!(uuids(&bob.here_now().channels("lobby").await.unwrap(), "lobby"), ["bob"]);
}

#[tokio::test]
async fn state_round_trips_through_set_get_heartbeat_and_here_now() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    let alice = world.client("alice");
    alice.heartbeat().channels(["a", "b"]).state(json!({"b": {"from": "heartbeat"}})).await.unwrap();
    let set = alice.set_state().channels("a").state(json!({"mood": "happy", "n": 1})).await.unwrap();
    assert_eq!(set.state, json!({"mood": "happy", "n": 1}));

    let one = alice.get_state().channels("a").await.unwrap();
    assert_eq!(one.channels, BTreeMap::from([("a".to_owned(), json!({"mood": "happy", "n": 1}))]));
    let many = world.client("bob").get_state().channels(["a", "b"]).uuid("alice").await.unwrap();
    assert_eq!(many.channels["b"], json!({"from": "heartbeat"}));

    let here = alice.here_now().channels(["a", "b"]).include_state(true).await.unwrap();
    assert_eq!(here.channels["a"].occupants[0].state, Some(json!({"mood": "happy", "n": 1})));
}

#[tokio::test]
async fn names_with_spaces_commas_slashes_and_unicode_survive_the_round_trip() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    let names = ["a b", "c,d", "e/f", "ünï😀", "x?y&z=1", "100%"];
    let user = "user with spaces/ü";
    let client = world.client(user);
    client.heartbeat().channels(names).await.unwrap();
    let here = client.here_now().channels(names).await.unwrap();
    let mut got: Vec<&str> = here.channels.keys().map(String::as_str).collect();
    got.sort();
    let mut want = names.to_vec();
    want.sort();
    assert_eq!(got, want);
    for name in names {
        assert_eq!(uuids(&here, name), [user]);
    }
    client.set_state().channels("c,d").state(json!({"k": "ü"})).await.unwrap();
    assert_eq!(client.get_state().channels("c,d").await.unwrap().channels["c,d"], json!({"k": "ü"}));
}

#[tokio::test]
async fn channel_groups_expand_everywhere() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    let admin = world.client("admin");
    admin.add_channel_to_channel_group().channel_group("games").channels(["g1", "g2", "g 3"]).await.unwrap();
    admin.remove_channel_from_channel_group().channel_group("games").channels("g2").await.unwrap();
    let mut listed = admin.list_channels_in_channel_group().channel_group("games").await.unwrap().channels;
    listed.sort();
    assert_eq!(listed, ["g 3", "g1"]);

    let player = world.client("player");
    player.heartbeat().channel_groups("games").await.unwrap();
    let here = admin.here_now().channel_groups("games").await.unwrap();
    assert_eq!(here.total_occupancy, 2);
    assert_eq!(uuids(&here, "g 3"), ["player"]);
    player.set_state().channel_groups("games").state(json!({"ready": true})).await.unwrap();
    let state = admin.get_state().channel_groups("games").uuid("player").await.unwrap();
    assert_eq!(state.channels["g1"], json!({"ready": true}));

    player.leave().channel_groups("games").await.unwrap();
    assert_eq!(admin.here_now().channel_groups("games").await.unwrap().total_occupancy, 0);
    admin.remove_channel_group().channel_group("games").await.unwrap();
    assert!(admin.list_channels_in_channel_group().channel_group("games").await.unwrap().channels.is_empty());
}

#[tokio::test]
async fn paging_with_limit_and_offset() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    for i in 0..5 {
        world.client(&format!("user-{i}")).heartbeat().channels("big").await.unwrap();
    }
    let viewer = world.client("viewer");
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let page = viewer.here_now().channels("big").limit(2).offset(offset).await.unwrap();
        assert_eq!(page.total_occupancy, 5, "occupancy counts everyone whatever the page");
        seen.extend(page.channels["big"].occupants.iter().map(|o| o.uuid.clone()));
    }
    seen.sort();
    assert_eq!(seen, ["user-0", "user-1", "user-2", "user-3", "user-4"]);
}

#[tokio::test]
async fn users_expire_when_the_injected_clock_passes_their_heartbeat() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    let (quick, slow) = (world.client("quick"), world.client("slow"));
    quick.heartbeat().channels("room").heartbeat(30).await.unwrap();
    slow.heartbeat().channels("room").heartbeat(300).await.unwrap();
    world.clock.advance(Duration::from_secs(29));
    assert_eq!(slow.here_now().channels("room").await.unwrap().total_occupancy, 2);
    world.clock.advance(Duration::from_secs(2));
    assert_eq!(uuids(&slow.here_now().channels("room").await.unwrap(), "room"), ["slow"]);
    world.clock.advance(Duration::from_secs(300));
    assert_eq!(slow.here_now().channels("room").await.unwrap().total_occupancy, 0);
}

#[tokio::test]
async fn subscribe_keys_are_separate_namespaces() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    world.client("alice").heartbeat().channels("shared").await.unwrap();
    let other = PubNub::new(Config::new("another-key").user_id("bob").origin(world.server.url()));
    assert_eq!(other.here_now().channels("shared").await.unwrap().total_occupancy, 0);
}

#[tokio::test]
async fn signed_requests_are_accepted_and_wrong_secrets_rejected() {
    let config = ServerConfig::default().with_publish_key("pub-key").with_secret_key("right-secret");
    let server = PresenceServer::start(config).await.unwrap();
    let signed = |secret: &str| {
        PubNub::new(
            Config::new("demo")
                .user_id("u")
                .origin(server.url())
                .publish_key("pub-key")
                .secret_key(secret)
                .auth_key("a b,c"),
        )
    };
    signed("right-secret").heartbeat().channels(["x y", "z,w"]).channel_groups("g").await.unwrap();
    let here = signed("right-secret").here_now().channels(["x y", "z,w"]).include_state(true).await.unwrap();
    assert_eq!(here.total_occupancy, 2);

    let err = signed("wrong-secret").here_now().channels("x y").await.unwrap_err();
    match &err {
        Error::Api { status: 403, service, .. } => assert_eq!(service.as_deref(), Some("Access Manager")),
        other => panic!("expected an Access Manager 403, got {other:?}"),
    }
    let unsigned = PubNub::new(Config::new("demo").user_id("u").origin(server.url()));
    assert_eq!(unsigned.where_now().await.unwrap_err().status(), Some(403));
}

#[tokio::test]
async fn server_side_errors_reach_the_caller_as_api_errors() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    // A URL over the server's 32 KiB limit is refused by the SDK before I/O, naming what made it long…
    let long: Vec<String> = (0..40).map(|i| format!("{i:0>1000}")).collect();
    let err = world.client("u").heartbeat().channels(long).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { parameter: "channels", .. }), "{err:?}");
    // …and an unknown path on the server is a PubNub-shaped 404 (read through a raw request).
    let raw = reqwest_free_get(&world.server.origin(), "/v2/presence/sub-key/demo/nonsense").await;
    assert!(raw.starts_with("HTTP/1.1 404"), "{raw}");
}

/// Minimal HTTP/1.1 GET over a TcpStream, so this test needs no extra client.
async fn reqwest_free_get(origin: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(origin).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {origin}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn here_now_pages_through_thousands_of_occupants() {
    let world = World::start("sub-e2e", ServerConfig::default()).await;
    // 2,500 users on `crowd` (25 requests at a time over one plain HTTP client), 3 on `small`.
    let http = presence_tests::plain_http_client();
    let users: Vec<String> = (0..2_500).map(|i| format!("user-{i:04}")).collect();
    for chunk in users.chunks(25) {
        let calls = chunk.iter().map(|uuid| {
            let url = format!("{}/v2/presence/sub-key/sub-e2e/channel/crowd/heartbeat?uuid={uuid}", world.server.url());
            let http = http.clone();
            async move { http.get(url).send().await.map(|r| r.status()) }
        });
        for status in futures_join_all(calls).await {
            assert!(status.unwrap().is_success());
        }
    }
    for uuid in ["a", "b", "c"] {
        world.client(uuid).heartbeat().channels("small").await.unwrap();
    }
    let pubnub = world.client("reader");

    // One page: the server's cap of 1,000 per channel.
    let first = pubnub.here_now().channels(["crowd", "small"]).await.unwrap();
    assert_eq!(first.channels["crowd"].occupants.len(), 1_000);

    let mut pages = pubnub.here_now().channels(["crowd", "small"]).include_state(true).pages();
    let mut sizes = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        sizes.push(page.channels.get("crowd").map_or(0, |c| c.occupants.len()));
    }
    assert_eq!(sizes, [1_000, 1_000, 500], "limit 1000: three pages");

    let all = pubnub.here_now().channels(["crowd", "small"]).include_state(true).all_pages().await.unwrap();
    let crowd: Vec<&str> = all.channels["crowd"].occupants.iter().map(|o| o.uuid.as_str()).collect();
    assert_eq!(crowd.len(), 2_500);
    let distinct: std::collections::BTreeSet<&str> = crowd.iter().copied().collect();
    assert_eq!(distinct.len(), 2_500, "every uuid exactly once");
    assert!(users.iter().all(|u| distinct.contains(u.as_str())));
    assert_eq!(all.channels["small"].occupants.len(), 3);
    assert_eq!((all.total_channels, all.total_occupancy), (2, 2_503));

    // Smaller pages, and a page size of 0 (counts only) is a single page.
    let all = pubnub.here_now().channels("crowd").limit(700).all_pages().await.unwrap();
    assert_eq!(all.channels["crowd"].occupants.len(), 2_500);
    let mut counts = pubnub.here_now().channels("crowd").limit(0).pages();
    assert_eq!(counts.next().await.unwrap().unwrap().channels["crowd"].occupancy, 2_500);
    assert!(counts.next().await.is_none());
}

/// Runs the futures concurrently (no extra crate for one helper).
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}
