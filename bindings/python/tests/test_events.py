"""Presence events: ``presence_events()...subscribe()`` as an async iterator
sees join, leave, timeout and state-change (and interval on a busy channel),
on channels and through channel groups.

Every watcher is started and then waited for until the server holds its
long-poll (``/metrics``' held-poll gauge): from then on it has a cursor and
misses nothing, so no test races a fixed sleep."""

import asyncio

import pytest

from pubnub_presence import PubNubInvalidInput
from pubnub_presence.testing import LocalServer

from _support import WAIT, clients_of, raw_heartbeat, until_held, watch


async def test_join_state_change_and_leave(server, pubnub):
    watcher = await watch(server, pubnub("watcher"), channels=["lobby"])
    try:
        bob = pubnub("bob")
        await bob.heartbeat().channels(["lobby"]).result()
        join = await watcher.expect("join", "bob")
        assert join.channel == "lobby"
        assert join.occupancy == 1, "watching does not make the watcher present"
        assert join.subscription is None, "the channel itself was watched"
        assert isinstance(join.timetoken, int) and join.timetoken > 0
        assert isinstance(join.timestamp, int) and join.timestamp > 1_600_000_000
        assert not join.join and not join.leave and not join.timeout, "lists only on interval events"

        await bob.set_state().channels(["lobby"]).state({"mood": "busy"}).result()
        change = await watcher.expect("state-change", "bob")
        assert change.state == {"mood": "busy"}
        assert change.channel == "lobby"
        assert change.timetoken > join.timetoken

        await bob.leave().channels(["lobby"]).result()
        leave = await watcher.expect("leave", "bob")
        assert (leave.channel, leave.occupancy) == ("lobby", 0)
        assert leave.timetoken > change.timetoken

        kinds = [(e.event, e.uuid) for e in watcher.seen]
        assert kinds == [("join", "bob"), ("state-change", "bob"), ("leave", "bob")], kinds
    finally:
        await watcher.close()


async def test_the_documented_async_for_loop(server, pubnub):
    events = pubnub("watcher").presence_events().channels(["lobby"]).subscribe()
    seen = []

    async def read_until_join():
        async for e in events:
            seen.append((e.event, e.uuid, e.channel, e.occupancy))
            if e.event == "join":
                return e

    reader = asyncio.ensure_future(read_until_join())
    try:
        await until_held(server, 1)
        await raw_heartbeat(server, "lobby", "carol")
        join = await asyncio.wait_for(reader, WAIT)
        assert (join.uuid, join.channel, join.occupancy) == ("carol", "lobby", 1)
        assert seen == [("join", "carol", "lobby", 1)]
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await asyncio.wait_for(events.close(), WAIT)


async def test_events_of_several_channels_and_a_group(server, pubnub):
    alice = pubnub("alice")
    await alice.add_channel_to_channel_group().channels(["den"]).channel_group("friends").result()
    watcher = await watch(server, pubnub("watcher"), channels=["lobby", "hall"], channel_groups=["friends"])
    try:
        await alice.heartbeat().channels(["hall"]).result()
        hall = await watcher.expect("join", "alice", channel="hall")
        assert hall.subscription is None or hall.subscription == "hall"

        await pubnub("bob").heartbeat().channels(["den"]).result()
        den = await watcher.expect("join", "bob", channel="den")
        assert den.subscription == "friends", "matched through the group"

        await pubnub("bob").leave().channel_groups(["friends"]).result()
        gone = await watcher.expect("leave", "bob", channel="den")
        assert gone.subscription == "friends"
    finally:
        await watcher.close()


async def test_a_silent_user_times_out():
    # A short server-wide timeout (used by heartbeats without `heartbeat=`),
    # and a heartbeat announcing 2 s: both users time out about 2 s later.
    # The SDK refuses heartbeat(2) (its minimum is 20 s, like PubNub's SDKs),
    # so these two heartbeats are sent with plain HTTP.
    async with LocalServer(presence_timeout=2) as server:
        async with clients_of(server) as make:
            watcher = await watch(server, make("watcher"), channels=["lobby"])
            try:
                await raw_heartbeat(server, "lobby", "quiet-1", heartbeat=2)
                await raw_heartbeat(server, "lobby", "quiet-2", heartbeat=None)
                join = await watcher.expect("join", "quiet-1")
                await watcher.expect("join", "quiet-2")

                timeout = await watcher.expect("timeout", "quiet-1", timeout=WAIT)
                assert timeout.channel == "lobby"
                assert 1 <= timeout.timestamp - join.timestamp <= 4, (join.timestamp, timeout.timestamp)
                await watcher.expect("timeout", "quiet-2", timeout=WAIT)
                assert ("leave", "quiet-1") not in [(e.event, e.uuid) for e in watcher.seen]

                here = await make("reader").here_now().channels(["lobby"]).result()
                assert here.total_occupancy == 0
            finally:
                await watcher.close()


async def test_interval_events_on_a_busy_channel(server, pubnub):
    # LocalServer has no option for interval mode (announce_max / the
    # interval), so this uses the server's defaults: above 20 occupants a
    # channel sends one `interval` event every 10 s instead of each join.
    # 21 users make it busy; the wait is bounded at 20 s.
    watcher = await watch(server, pubnub("watcher"), channels=["arena"])
    try:
        users = [f"u{i:02}" for i in range(21)]
        for user in users:
            await raw_heartbeat(server, "arena", user)
        joined = []

        async def until_interval():
            while True:
                e = await watcher.next(timeout=20)
                if e.event == "join":
                    joined.append(e.uuid)
                elif e.event == "interval":
                    return e
                else:
                    pytest.fail(f"unexpected {e.event} of {e.uuid}")

        interval = await asyncio.wait_for(until_interval(), 20)
        assert interval.channel == "arena"
        assert interval.occupancy == 21
        assert interval.uuid is None
        assert isinstance(interval.join, list)
        assert sorted(joined + list(interval.join)) == users
        assert not interval.leave and not interval.timeout
    finally:
        await watcher.close()


async def test_close_ends_the_iteration(pubnub):
    events = pubnub("watcher").presence_events().channels(["lobby"]).subscribe()
    await asyncio.wait_for(events.close(), WAIT)
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(events.__anext__(), WAIT)


async def test_watching_nothing_is_bad_input(server, pubnub):
    # Refused at subscribe() or as the first item: either way before any request.
    with pytest.raises(PubNubInvalidInput) as caught:
        events = pubnub("watcher").presence_events().subscribe()
        await asyncio.wait_for(events.__anext__(), WAIT)
    assert caught.value.parameter == "channels"
    with pytest.raises(PubNubInvalidInput) as caught:
        events = pubnub("watcher").presence_events().channel_groups(["a,b"]).subscribe()
        await asyncio.wait_for(events.__anext__(), WAIT)
    assert caught.value.parameter == "channel_groups"
