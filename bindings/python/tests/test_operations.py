"""Every operation end to end against the local server: here_now (one
channel, several, with state, occupancy only, through channel groups),
where_now, set_state / get_state, heartbeat, leave, and the four
channel-group calls; through both ``.future()`` (an envelope) and
``.result()`` (the result, or a raised error)."""

import pubnub_presence
from pubnub_presence import (
    PubNubAsyncio,
    PNChannelGroupsListResult,
    PNConfiguration,
    PNGetStateResult,
    PNHereNowChannelData,
    PNHereNowOccupantData,
    PNHereNowOccupantsData,
    PNHereNowResult,
    PNSetStateResult,
    PNWhereNowResult,
)

from _support import raw_heartbeat


def by_name(result):
    """here_now's channels as ``{name: channel data}`` (the list's order is not the point)."""
    return {ch.channel_name: ch for ch in result.channels}


def uuids(channel_data):
    return sorted(o.uuid for o in channel_data.occupants)


async def test_results_are_the_seeds_classes(pubnub):
    alice = pubnub("alice")
    await alice.heartbeat().channels("lobby").result()
    here = await alice.here_now().channels("lobby").result()
    assert isinstance(here, PNHereNowResult)
    (lobby,) = here.channels
    assert isinstance(lobby, PNHereNowChannelData)
    (occupant,) = lobby.occupants
    # The seed's SDK names the class PNHereNowOccupantsData; its docs also say PNHereNowOccupantData.
    assert PNHereNowOccupantData is PNHereNowOccupantsData
    assert isinstance(occupant, PNHereNowOccupantData)
    assert "PNHereNowOccupantData" in pubnub_presence.__all__
    assert isinstance(await alice.where_now().result(), PNWhereNowResult)
    assert isinstance(await alice.set_state().channels("lobby").state({"a": 1}).result(), PNSetStateResult)
    assert isinstance(await alice.get_state().channels("lobby").result(), PNGetStateResult)
    await alice.add_channel_to_channel_group().channel_group("g").channels("lobby").result()
    assert isinstance(await alice.list_channels_in_channel_group().channel_group("g").result(), PNChannelGroupsListResult)


async def test_server_config_points_at_the_local_server(server):
    config = server.config("alice")
    assert isinstance(config, PNConfiguration)
    assert config.user_id == "alice" and config.uuid == "alice"
    assert config.subscribe_key == "demo" == server.subscribe_key
    assert config.origin == server.origin
    assert server.url == f"http://{server.origin}"
    assert config.ssl is False
    assert server.origin.startswith("127.0.0.1:") and int(server.origin.rsplit(":", 1)[1]) > 0


async def test_a_hand_built_configuration_works_like_the_seeds(server):
    config = PNConfiguration()
    assert config.origin == "ps.pndsn.com" and config.ssl is True and config.presence_timeout is None
    config.subscribe_key = "demo"
    config.publish_key = "demo"
    config.uuid = "hand-built"  # the seed's older name of user_id
    assert config.user_id == "hand-built"
    config.origin = server.origin
    config.ssl = False
    pubnub = PubNubAsyncio(config)
    try:
        await pubnub.heartbeat().channels("lobby").result()
        result = await pubnub.where_now().result()
        assert result.channels == ["lobby"]
    finally:
        await pubnub.stop()


async def test_heartbeat_makes_the_user_present_and_here_now_shows_it(pubnub):
    alice = pubnub("alice")
    assert await alice.heartbeat().channels(["lobby"]).heartbeat(60).result() is None

    envelope = await alice.here_now().channels("lobby").include_uuids(True).future()
    assert not envelope.status.is_error()
    assert envelope.status.status_code == 200
    result = envelope.result
    assert result.total_channels == 1
    assert result.total_occupancy == 1
    [lobby] = result.channels
    assert lobby.channel_name == "lobby"
    assert lobby.occupancy == 1
    assert uuids(lobby) == ["alice"]


async def test_here_now_of_one_channel_nobody_is_on(pubnub):
    result = await pubnub("alice").here_now().channels("empty-room").result()
    assert result.total_occupancy == 0
    channels = by_name(result)
    if "empty-room" in channels:  # one channel: its entry, with nobody in it
        assert channels["empty-room"].occupancy == 0
        assert channels["empty-room"].occupants == []


async def test_here_now_of_several_channels(pubnub):
    alice, bob = pubnub("alice"), pubnub("bob")
    await alice.heartbeat().channels(["a", "b"]).result()
    await bob.heartbeat().channels(("b",)).result()

    result = await alice.here_now().channels(["a", "b"]).include_uuids(True).result()
    assert result.total_channels == 2
    assert result.total_occupancy == 3
    channels = by_name(result)
    assert set(channels) == {"a", "b"}
    assert (channels["a"].occupancy, uuids(channels["a"])) == (1, ["alice"])
    assert (channels["b"].occupancy, uuids(channels["b"])) == (2, ["alice", "bob"])


async def test_here_now_include_state(pubnub):
    alice, bob = pubnub("alice"), pubnub("bob")
    await alice.heartbeat().channels(["a", "b"]).result()
    await bob.heartbeat().channels(["a"]).result()
    await bob.set_state().channels(["a"]).state({"mood": "ok", "n": 2}).result()

    result = await alice.here_now().channels(["a", "b"]).include_state(True).result()
    a = by_name(result)["a"]
    states = {o.uuid: o.state for o in a.occupants}
    assert states["bob"] == {"mood": "ok", "n": 2}
    assert states["alice"] in (None, {}), "alice set no state"


async def test_here_now_without_uuids_still_counts(pubnub):
    alice, bob = pubnub("alice"), pubnub("bob")
    await alice.heartbeat().channels(["a"]).result()
    await bob.heartbeat().channels(["a"]).result()

    one = await alice.here_now().channels(["a"]).include_uuids(False).result()
    [a] = one.channels
    assert a.occupancy == 2 and a.occupants == []
    assert one.total_occupancy == 2

    many = await alice.here_now().channels(["a", "b"]).include_uuids(False).result()
    assert many.total_occupancy == 2
    assert by_name(many)["a"].occupancy == 2
    assert by_name(many)["a"].occupants == []


async def test_here_now_limit_and_offset_page_the_occupants(pubnub):
    users = [pubnub(f"user-{i}") for i in range(5)]
    for user in users:
        await user.heartbeat().channels("big").result()
    first = await users[0].here_now().channels("big").limit(2).offset(0).result()
    second = await users[0].here_now().channels("big").limit(2).offset(2).result()
    [big1], [big2] = first.channels, second.channels
    assert big1.occupancy == big2.occupancy == 5, "occupancy counts everyone, whatever the page"
    assert len(big1.occupants) == 2 and len(big2.occupants) == 2
    assert not set(uuids(big1)) & set(uuids(big2))


async def test_here_now_through_a_channel_group(pubnub):
    alice, bob = pubnub("alice"), pubnub("bob")
    await alice.add_channel_to_channel_group().channels(["den", "hall"]).channel_group("friends").result()
    await alice.heartbeat().channels(["den"]).result()
    await bob.heartbeat().channels(["hall", "elsewhere"]).result()

    result = await alice.here_now().channel_groups(["friends"]).include_uuids(True).result()
    channels = by_name(result)
    assert set(channels) <= {"den", "hall"}, "a group lists its member channels, by their own names"
    assert uuids(channels["den"]) == ["alice"]
    assert uuids(channels["hall"]) == ["bob"]
    assert result.total_occupancy == 2

    # A channel plus a group: the multi-channel answer.
    mixed = await alice.here_now().channels("elsewhere").channel_groups("friends").result()
    assert set(by_name(mixed)) == {"den", "hall", "elsewhere"}
    assert mixed.total_occupancy == 3


async def test_where_now(pubnub, server):
    alice, bob = pubnub("alice"), pubnub("bob")
    await alice.heartbeat().channels(["a", "b"]).result()

    result = await bob.where_now().uuid("alice").result()
    assert sorted(result.channels) == ["a", "b"]
    own = await alice.where_now().result()  # defaults to the configured user
    assert sorted(own.channels) == ["a", "b"]
    nowhere = await alice.where_now().uuid("nobody").result()
    assert nowhere.channels == []

    # Someone made present by plain HTTP is found the same way.
    await raw_heartbeat(server, ["c"], "carol")
    assert (await bob.where_now().uuid("carol").future()).result.channels == ["c"]


async def test_set_state_then_get_state_round_trip(pubnub):
    alice, bob = pubnub("alice"), pubnub("bob")
    await alice.heartbeat().channels(["a", "b"]).result()
    state = {"mood": "ok", "age": 20, "tags": ["x", "y"], "nested": {"deep": True}, "ratio": 0.5}

    envelope = await alice.set_state().channels(["a", "b"]).state(state).future()
    assert not envelope.status.is_error()
    assert envelope.result.state == state

    # Several channels: a dict keyed by channel.
    got = await bob.get_state().channels(["a", "b"]).uuid("alice").result()
    assert got.channels == {"a": state, "b": state}

    # One channel: still a dict with that channel's entry.
    one = await alice.get_state().channels("a").result()  # uuid defaults to the configured user
    assert one.channels == {"a": state}

    # The state shows in here_now too.
    here = await bob.here_now().channels(["a"]).include_state(True).result()
    [a] = here.channels
    assert [(o.uuid, o.state) for o in a.occupants] == [("alice", state)]


async def test_set_state_for_another_uuid_and_through_a_group(pubnub):
    alice = pubnub("alice")
    await alice.add_channel_to_channel_group().channels(["den"]).channel_group("friends").result()
    await pubnub("bob").heartbeat().channels(["den"]).result()
    await alice.set_state().channel_groups(["friends"]).state({"via": "group"}).uuid("bob").result()
    got = await alice.get_state().channel_groups(["friends"]).uuid("bob").result()
    assert got.channels["den"] == {"via": "group"}


async def test_heartbeat_with_state_and_a_group(pubnub):
    alice = pubnub("alice")
    await alice.add_channel_to_channel_group().channels(["den"]).channel_group("friends").result()
    await alice.heartbeat().channels(["lobby"]).channel_groups(["friends"]).heartbeat(60).state(
        {"lobby": {"mood": "hi"}}
    ).result()
    here = await alice.here_now().channels(["lobby", "den"]).include_state(True).result()
    channels = by_name(here)
    assert uuids(channels["lobby"]) == ["alice"]
    assert uuids(channels["den"]) == ["alice"], "a group heartbeat makes the user present on its members"
    assert channels["lobby"].occupants[0].state == {"mood": "hi"}


async def test_leave_removes_the_user(pubnub):
    alice, bob = pubnub("alice"), pubnub("bob")
    await alice.heartbeat().channels(["a", "b"]).result()
    assert await alice.leave().channels(["a"]).result() is None

    assert (await bob.where_now().uuid("alice").result()).channels == ["b"]
    here = await bob.here_now().channels(["a", "b"]).result()
    channels = by_name(here)
    assert "alice" not in (uuids(channels["a"]) if "a" in channels else [])
    assert uuids(channels["b"]) == ["alice"]
    assert here.total_occupancy == 1

    envelope = await alice.leave().channels(["b"]).future()
    assert not envelope.status.is_error() and envelope.result is None
    assert (await bob.where_now().uuid("alice").result()).channels == []


async def test_leave_through_a_channel_group(pubnub):
    alice = pubnub("alice")
    await alice.add_channel_to_channel_group().channels(["den", "hall"]).channel_group("friends").result()
    await alice.heartbeat().channel_groups(["friends"]).result()
    assert sorted((await alice.where_now().result()).channels) == ["den", "hall"]
    await alice.leave().channel_groups("friends").result()
    assert (await alice.where_now().result()).channels == []


async def test_the_four_channel_group_operations(pubnub):
    alice = pubnub("alice")

    envelope = await alice.add_channel_to_channel_group().channels(["ch1", "ch2", "ch3"]).channel_group("cg1").future()
    assert not envelope.status.is_error() and envelope.result is None

    listed = await alice.list_channels_in_channel_group().channel_group("cg1").result()
    assert sorted(listed.channels) == ["ch1", "ch2", "ch3"]

    assert await alice.remove_channel_from_channel_group().channels(["ch2"]).channel_group("cg1").result() is None
    listed = await alice.list_channels_in_channel_group().channel_group("cg1").result()
    assert sorted(listed.channels) == ["ch1", "ch3"]

    assert await alice.remove_channel_group().channel_group("cg1").result() is None
    listed = await alice.list_channels_in_channel_group().channel_group("cg1").result()
    assert listed.channels == []

    never = await alice.list_channels_in_channel_group().channel_group("never-made").result()
    assert never.channels == []


async def test_names_setters_take_a_str_a_list_or_a_tuple_and_duplicates_count_once(pubnub):
    alice = pubnub("alice")
    await alice.heartbeat().channels("x").result()
    for names in ("x", ["x"], ("x",), ["x", "x"]):
        result = await alice.here_now().channels(names).result()
        assert result.total_channels == 1 and result.total_occupancy == 1, names


async def test_two_clients_are_independent_and_stop_is_clean(server):
    one = PubNubAsyncio(server.config("one"))
    two = PubNubAsyncio(server.config("two"))
    try:
        await one.heartbeat().channels("room").result()
        await two.heartbeat().channels("room").result()
    finally:
        await one.stop()
    # `two` still works after `one` stopped.
    result = await two.here_now().channels("room").result()
    assert result.total_occupancy == 2
    await two.stop()
