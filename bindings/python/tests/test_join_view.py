"""``join()`` (be present for a block: heartbeats in the background, leave on
exit) and ``presence_view()`` (a live member list that follows joins,
leaves, timeouts and state changes)."""

import asyncio

import pytest

from pubnub_presence import PubNubAsyncio, PubNubInvalidInput
from pubnub_presence.testing import LocalServer

from _support import WAIT, clients_of, last_request_seq, logged_requests, raw_heartbeat, watch


# --- join() -------------------------------------------------------------------


async def test_join_makes_the_user_present_and_leaves_on_exit(server, pubnub):
    watcher = await watch(server, pubnub("watcher"), channels=["lobby"])
    alice, reader = pubnub("alice"), pubnub("reader")
    try:
        async with alice.join().channels(["lobby"]).state({"mood": "hi"}) as presence:
            await watcher.expect("join", "alice")
            here = await reader.here_now().channels(["lobby"]).include_state(True).result()
            [lobby] = here.channels
            assert [(o.uuid, o.state) for o in lobby.occupants] == [("alice", {"mood": "hi"})]

            await asyncio.wait_for(presence.set_state("lobby", {"mood": "busy"}), WAIT)
            change = await watcher.expect("state-change", "alice")
            assert change.state == {"mood": "busy"}
            got = await reader.get_state().channels(["lobby"]).uuid("alice").result()
            assert got.channels == {"lobby": {"mood": "busy"}}

        leave = await watcher.expect("leave", "alice")
        assert leave.occupancy == 0
        assert (await reader.where_now().uuid("alice").result()).channels == []
        kinds = [(e.event, e.uuid) for e in watcher.seen if e.uuid == "alice"]
        assert kinds == [("join", "alice"), ("state-change", "alice"), ("leave", "alice")], kinds
    finally:
        await watcher.close()


async def test_join_leaves_when_the_block_raises(server, pubnub):
    watcher = await watch(server, pubnub("watcher"), channels=["lobby"])
    try:
        with pytest.raises(RuntimeError, match="boom"):
            async with pubnub("alice").join().channels(["lobby"]):
                await watcher.expect("join", "alice")
                raise RuntimeError("boom")
        await watcher.expect("leave", "alice")
    finally:
        await watcher.close()


async def test_join_of_several_channels_and_a_group(server, pubnub):
    alice, reader = pubnub("alice"), pubnub("reader")
    await alice.add_channel_to_channel_group().channels(["den"]).channel_group("friends").result()
    async with alice.join().channels(["lobby", "hall"]).channel_groups(["friends"]):
        where = await reader.where_now().uuid("alice").result()
        assert sorted(where.channels) == ["den", "hall", "lobby"]
    assert (await reader.where_now().uuid("alice").result()).channels == []


async def test_join_set_state_on_a_name_not_joined_is_bad_input(pubnub):
    async with pubnub("alice").join().channels(["lobby"]) as presence:
        with pytest.raises(PubNubInvalidInput) as caught:
            await asyncio.wait_for(presence.set_state("elsewhere", {"mood": "lost"}), WAIT)
        assert caught.value.parameter == "channel"


async def test_join_refuses_a_presence_channel_before_any_request(server, pubnub):
    before = await last_request_seq(server)
    with pytest.raises(PubNubInvalidInput) as caught:
        async with pubnub("alice").join().channels(["lobby-pnpres"]):
            pytest.fail("entered a join of a presence channel")
    assert caught.value.parameter == "channels", str(caught.value)
    logged = await logged_requests(server, before)
    assert logged == [], logged


# --- presence_view() -----------------------------------------------------------


async def take_until(view, wanted, what, timeout=WAIT):
    """The view's changes, taken one by one until one satisfies ``wanted``
    (others are skipped); the list taken, that one last. Bounded."""
    taken = []

    async def take():
        while True:
            change = await view.next_change()
            taken.append(change)
            if wanted(change):
                return taken

    try:
        return await asyncio.wait_for(take(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(
            f"not within {timeout} s: {what}; changes: {[(c.kind, c.channel, c.uuid) for c in taken]}"
        ) from None


async def settle(view, done, what, timeout=WAIT):
    """Takes the view's changes while ``done(view)`` does not hold yet (bounded)."""

    async def take():
        while not done(view):
            await view.next_change()

    try:
        await asyncio.wait_for(take(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None


def member_states(view, channel):
    return {m.uuid: m.state for m in view.members(channel)}


async def test_presence_view_follows_joins_and_leaves(server, pubnub):
    bob, reader = pubnub("bob"), pubnub("reader")
    await bob.heartbeat().channels(["lobby"]).result()  # present before the view starts: from the snapshot
    await bob.set_state().channels(["lobby"]).state({"mood": "early"}).result()

    view = await asyncio.wait_for(pubnub("viewer").presence_view().channels(["lobby"]).include_state(True).start(), WAIT)
    try:
        assert view.occupancy("lobby") == 1
        assert member_states(view, "lobby") == {"bob": {"mood": "early"}}
        assert view.is_present("lobby", "bob")
        assert not view.is_present("lobby", "carol")
        assert not view.is_present("lobby", "viewer"), "viewing does not make the viewer present"

        async with pubnub("carol").join().channels(["lobby"]).state({"mood": "hi"}):
            taken = await take_until(view, lambda c: (c.kind, c.uuid) == ("joined", "carol"), "carol's join")
            assert taken[-1].channel == "lobby"
            assert view.is_present("lobby", "carol")
            assert view.occupancy("lobby") == 2
            # Her state comes with the join or right after it (read with get_state).
            await settle(view, lambda v: member_states(v, "lobby").get("carol") == {"mood": "hi"}, "carol's state")
            here = await reader.here_now().channels(["lobby"]).result()
            assert here.total_occupancy == view.occupancy("lobby")

        taken = await take_until(view, lambda c: (c.kind, c.uuid) == ("left", "carol"), "carol's leave")
        assert (taken[-1].channel, taken[-1].reason) == ("lobby", "leave")
        assert not view.is_present("lobby", "carol")
        assert view.occupancy("lobby") == 1

        await bob.set_state().channels(["lobby"]).state({"mood": "late"}).result()
        taken = await take_until(view, lambda c: (c.kind, c.uuid) == ("updated", "bob"), "bob's new state")
        assert taken[-1].state == {"mood": "late"}
        assert member_states(view, "lobby") == {"bob": {"mood": "late"}}

        await bob.leave().channels(["lobby"]).result()
        taken = await take_until(view, lambda c: (c.kind, c.uuid) == ("left", "bob"), "bob's leave")
        assert taken[-1].reason == "leave"
        assert view.occupancy("lobby") == 0
        assert view.members("lobby") == []
        kinds = {c.kind for c in taken}
        assert "resynced" not in kinds, [(c.kind, c.uuid) for c in taken]
    finally:
        await asyncio.wait_for(view.close(), WAIT)


async def test_presence_view_reports_a_timeout_as_its_reason():
    async with LocalServer(presence_timeout=2) as server:
        async with clients_of(server) as make:
            view = await asyncio.wait_for(make("viewer").presence_view().channels(["lobby"]).start(), WAIT)
            try:
                await raw_heartbeat(server, "lobby", "quiet", heartbeat=2)
                await take_until(view, lambda c: (c.kind, c.uuid) == ("joined", "quiet"), "quiet's join")
                assert view.occupancy("lobby") == 1
                taken = await take_until(view, lambda c: (c.kind, c.uuid) == ("left", "quiet"), "quiet's timeout")
                assert taken[-1].reason == "timeout"
                assert view.occupancy("lobby") == 0
            finally:
                await asyncio.wait_for(view.close(), WAIT)


async def test_join_heartbeats_with_the_configurations_presence_timeout(server):
    """``PNConfiguration.presence_timeout`` is the timeout ``join()`` announces."""
    config = server.config("tim")
    config.presence_timeout = 45
    client = PubNubAsyncio(config)
    before = await last_request_seq(server)
    try:
        async with client.join().channels(["lobby"]):
            pass
        paths = [entry["path"] for entry in await logged_requests(server, before)]
        heartbeats = [p for p in paths if "/heartbeat" in p]
        assert heartbeats and all("heartbeat=45" in p for p in heartbeats), paths
    finally:
        await client.stop()
