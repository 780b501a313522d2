"""Cancellation: cancelling the asyncio task that awaits a subscription's
``__anext__`` (or a call's future) cancels the Rust side too, so the
server's long-poll ends; the server's held-poll gauge (``/metrics``) shows
it going back to 0 within a bounded wait."""

import asyncio
import select
import urllib.parse

import pytest

from _support import WAIT, _http_blocking, bindings_readers, held_polls, put_faults, raw_heartbeat, until, until_held


async def no_held_polls(server):
    async def zero():
        return await held_polls(server) == 0

    await until(zero, "the server holds no subscribe poll")


async def test_cancelling_a_pending_anext_ends_the_long_poll(server, pubnub):
    events = pubnub("watcher").presence_events().channels(["quiet"]).subscribe()
    assert await held_polls(server) == 0

    async def next_event():
        return await events.__anext__()

    task = asyncio.create_task(next_event())
    await until_held(server, 1)  # the handshake is done and the poll is held: nothing will come
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT)
    assert task.cancelled()
    await no_held_polls(server)

    # The subscription goes on from its cursor: an event from while no poll
    # was open is not lost.
    await raw_heartbeat(server, "quiet", "bob")
    join = await asyncio.wait_for(events.__anext__(), WAIT)
    assert (join.event, join.uuid, join.channel) == ("join", "bob", "quiet")

    await asyncio.wait_for(events.close(), WAIT)
    await no_held_polls(server)


def join_while_the_loop_is_blocked(server, channel, uuid):
    """Makes `uuid` join `channel` (or several, comma-separated, in one
    heartbeat) and returns once what a held poll got for it is waiting for
    the loop, without letting the loop run: the answer (or the outcome of a
    task on the runtime) is there, but its asyncio future is not resolved."""
    url = (f"{server.url}/v2/presence/sub-key/{server.subscribe_key}/channel/{channel}/heartbeat?"
           + urllib.parse.urlencode({"uuid": uuid, "heartbeat": "300"}))
    # Sent from the loop's thread: the heartbeat answers the held poll.
    assert _http_blocking("GET", url)[0] == 200
    fds = bindings_readers(asyncio.get_running_loop(), ("Drain", "Readable"))
    assert fds, "no reader of the bindings on the loop"
    readable, _, _ = select.select(list(fds), [], [], WAIT)
    assert readable, "nothing was waiting for the loop within the bound"


async def test_an_event_taken_for_a_cancelled_anext_comes_with_the_next_one(server, pubnub):
    """The window between the runtime taking an event for ``__anext__`` and
    the loop handing it over: cancelling the awaited future in it must not
    lose the event."""
    events = pubnub("watcher").presence_events().channels(["window"]).subscribe()
    pending = events.__anext__()
    await until_held(server, 1)
    join_while_the_loop_is_blocked(server, "window", "bob")
    assert not pending.done()
    pending.cancel()
    # The loop runs again: it finds the future cancelled and does not deliver.
    with pytest.raises(asyncio.CancelledError):
        await pending
    join = await asyncio.wait_for(events.__anext__(), WAIT)
    assert (join.event, join.uuid, join.channel) == ("join", "bob", "window")
    await asyncio.wait_for(events.close(), WAIT)


async def test_an_event_given_back_is_not_overtaken_by_the_rest_of_its_answer(server, pubnub):
    """One answer carries two joins; the first is taken for an `__anext__`
    cancelled before delivery. The next `__anext__`, called before the loop
    ran again, must still give the first join, then the second."""
    events = pubnub("watcher").presence_events().channels(["order-a", "order-b"]).subscribe()
    pending = events.__anext__()
    await until_held(server, 1)
    join_while_the_loop_is_blocked(server, "order-a,order-b", "bob")
    pending.cancel()
    following = events.__anext__()  # the second join is decoded and ready here
    first = await asyncio.wait_for(following, WAIT)
    second = await asyncio.wait_for(events.__anext__(), WAIT)
    assert {first.channel, second.channel} == {"order-a", "order-b"}
    assert first.timetoken < second.timetoken, "in the order the server sent them"
    await asyncio.wait_for(events.close(), WAIT)


async def test_an_event_in_an_anext_never_awaited_comes_with_the_next_one(server, pubnub):
    events = pubnub("watcher").presence_events().channels(["unawaited-a", "unawaited-b"]).subscribe()
    pending = asyncio.ensure_future(events.__anext__())
    await until_held(server, 1)
    await raw_heartbeat(server, ["unawaited-a", "unawaited-b"], "bob")
    first = await asyncio.wait_for(pending, WAIT)
    dropped = events.__anext__()  # the answer's second join, ready at once...
    del dropped  # ...and dropped without being awaited
    second = await asyncio.wait_for(events.__anext__(), WAIT)
    assert {first.channel, second.channel} == {"unawaited-a", "unawaited-b"}
    await asyncio.wait_for(events.close(), WAIT)


async def test_closing_a_view_ends_a_pending_next_change(server, pubnub):
    view = await asyncio.wait_for(pubnub("viewer").presence_view().channels(["closing"]).start(), WAIT)
    pending = asyncio.ensure_future(view.next_change())
    await until_held(server, 1)
    await asyncio.wait_for(view.close(), WAIT)  # did not wait for a change that never comes
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, WAIT)


async def test_a_view_change_taken_for_a_cancelled_anext_comes_with_the_next_one(server, pubnub):
    """The same window for a presence view's changes."""
    view = await asyncio.wait_for(pubnub("viewer").presence_view().channels(["view-window"]).start(), WAIT)
    pending = view.__anext__()
    await until_held(server, 1)
    join_while_the_loop_is_blocked(server, "view-window", "bob")
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    change = await asyncio.wait_for(view.__anext__(), WAIT)
    assert (change.kind, change.channel, change.uuid) == ("joined", "view-window", "bob")
    assert view.is_present("view-window", "bob")
    await asyncio.wait_for(view.close(), WAIT)


async def test_wait_for_timing_out_on_anext_ends_the_long_poll(server, pubnub):
    events = pubnub("watcher").presence_events().channels(["quiet"]).subscribe()
    # wait_for cancels the awaited __anext__ when its bound passes.
    waiter = asyncio.ensure_future(asyncio.wait_for(events.__anext__(), 3))
    await until_held(server, 1)
    with pytest.raises(asyncio.TimeoutError):
        await waiter
    await no_held_polls(server)
    await asyncio.wait_for(events.close(), WAIT)


async def test_many_cancelled_polls_leave_nothing_held(server, pubnub):
    subscriptions = [pubnub(f"w{i}").presence_events().channels([f"quiet-{i}"]).subscribe() for i in range(8)]
    tasks = [asyncio.ensure_future(s.__anext__()) for s in subscriptions]
    await until_held(server, len(tasks))
    for task in tasks:
        task.cancel()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT)
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results
    await no_held_polls(server)
    for s in subscriptions:
        await asyncio.wait_for(s.close(), WAIT)


async def test_closing_a_presence_view_ends_its_long_poll(server, pubnub):
    view = await asyncio.wait_for(pubnub("viewer").presence_view().channels(["lobby"]).start(), WAIT)
    await until_held(server, 1)
    await asyncio.wait_for(view.close(), WAIT)
    await no_held_polls(server)


async def test_cancelling_a_call_in_flight(server, pubnub):
    alice = pubnub("alice")
    # The server holds here_now for 5 s; the caller gives up long before.
    await put_faults(server, [{"endpoint": "here_now", "effect": {"delay_ms": 5000}}])
    # ensure_future, not create_task: `.result()` returns an awaitable future, not a coroutine.
    task = asyncio.ensure_future(alice.here_now().channels(["lobby"]).result())
    done, _ = await asyncio.wait({task}, timeout=0.3)
    assert not done, "still waiting for the delayed answer"
    loop = asyncio.get_running_loop()
    started = loop.time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT)
    assert loop.time() - started < 2, "cancelled at once, not after the answer"

    # The client is still usable.
    await put_faults(server, [])
    assert (await asyncio.wait_for(alice.here_now().channels(["lobby"]).result(), WAIT)).total_occupancy == 0


async def test_future_and_result_are_coroutines_that_create_task_takes_and_cancels(server, pubnub):
    """As with PubNub's SDK, `.future()` returns a coroutine: `asyncio.create_task` takes it."""
    client = pubnub("alice")
    envelope = await asyncio.wait_for(asyncio.create_task(client.here_now().channels("lobby").future()), WAIT)
    assert not envelope.status.is_error()
    result = await asyncio.wait_for(asyncio.create_task(client.where_now().uuid("alice").result()), WAIT)
    assert result.channels == []
    # A call held by a delay fault: cancelling its task ends it.
    await put_faults(server, [{"endpoint": "here_now", "effect": {"delay_ms": 60000}}])
    task = asyncio.create_task(client.here_now().channels("lobby").result())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT)
