"""Helpers shared by the tests (imported as ``_support``; conftest.py puts
this directory on ``sys.path``).

Raw HTTP goes through ``urllib`` in a worker thread, so the event loop (and
the SDK's futures completing on it) never blocks on it. Every wait is
bounded: a condition is polled until it holds or ``WAIT`` seconds pass.
"""

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from pubnub_presence import PubNubAsyncio, PubNubError

#: The bound, in seconds, of every wait in these tests.
WAIT = 10.0


def _http_blocking(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def http(method, url, body=None):
    """``(status, body bytes)`` of one plain HTTP request (an error status is returned, not raised)."""
    return await asyncio.to_thread(_http_blocking, method, url, body)


async def http_json(method, url, body=None):
    status, raw = await http(method, url, body)
    assert status == 200, f"{method} {url} -> {status}: {raw[:300]!r}"
    return json.loads(raw)


# --- the server's development endpoints -------------------------------------


async def put_faults(server, rules, seed=7):
    """Replaces the server's fault rules (``PUT /dev/faults``)."""
    return await http_json("PUT", f"{server.url}/dev/faults", {"seed": seed, "rules": rules})


async def clear_faults(server):
    return await http_json("DELETE", f"{server.url}/dev/faults")


async def logged_requests(server, after=0):
    """The protocol requests the server logged after sequence number ``after``
    (``GET /dev/requests``; the /dev endpoints and /metrics are not logged)."""
    return (await http_json("GET", f"{server.url}/dev/requests?after={after}"))["requests"]


async def last_request_seq(server):
    requests = await logged_requests(server)
    return max((r["seq"] for r in requests), default=0)


async def metrics_text(server):
    status, raw = await http("GET", f"{server.url}/metrics")
    assert status == 200, status
    return raw.decode()


async def held_polls(server):
    """The server's gauge of subscribe polls held right now (the metric whose
    name contains ``held``, in ``/metrics``' Prometheus text)."""
    total = None
    for line in (await metrics_text(server)).splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if "held" in name:
            total = (total or 0) + int(float(value))
    assert total is not None, "no metric named *held* in /metrics"
    return total


async def raw_heartbeat(server, channels, uuid, heartbeat=300, state=None):
    """A heartbeat sent with plain HTTP, as any client would (not through the
    SDK, which refuses ``heartbeat`` below 20 s as PubNub's SDKs do; the server
    honours down to 1 s). ``heartbeat=None`` leaves the parameter out, so the
    server's default presence timeout applies."""
    names = ",".join(urllib.parse.quote(c, safe="") for c in ([channels] if isinstance(channels, str) else channels))
    query = {"uuid": uuid}
    if heartbeat is not None:
        query["heartbeat"] = str(heartbeat)
    if state is not None:
        query["state"] = json.dumps(state)
    url = (
        f"{server.url}/v2/presence/sub-key/{server.subscribe_key}/channel/{names}/heartbeat?"
        + urllib.parse.urlencode(query)
    )
    status, raw = await http("GET", url)
    assert status == 200, f"heartbeat -> {status}: {raw[:300]!r}"


# --- bounded waiting --------------------------------------------------------


def bindings_readers(loop, callbacks=("Readable",)):
    """The file descriptors the bindings have ``loop`` watch (found in its
    selector) whose reader is one of ``callbacks``: ``Readable``, their HTTP
    connections (an answer came); ``Drain``, their wake socket (a task woken
    on the runtime's thread)."""
    return {key.fd for key in loop._selector.get_map().values()
            if key.data[0] is not None and type(key.data[0]._callback).__name__ in callbacks}


async def until(check, what, timeout=WAIT, every=0.02):
    """Polls ``await check()`` until it is truthy; fails naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(every)


async def until_held(server, count=1, timeout=WAIT):
    """Waits until at least ``count`` subscribe polls are held by the server:
    each such subscription has its cursor, so it sees every event from now on."""

    async def enough():
        return await held_polls(server) >= count

    await until(enough, f"{count} held subscribe poll(s)", timeout)


@contextlib.asynccontextmanager
async def clients_of(server):
    """``async with clients_of(server) as make:`` ``make("bob")`` is a client of
    ``server``; all are stopped on exit (for tests that start their own server)."""
    made = []

    def make(user_id):
        client = PubNubAsyncio(server.config(user_id))
        made.append(client)
        return client

    try:
        yield make
    finally:
        for client in made:
            await client.stop()


# --- presence events --------------------------------------------------------


class Watcher:
    """Reads a presence-event subscription in a background task into a queue,
    so a test can wait for the event it expects with a bounded wait."""

    def __init__(self, subscription):
        self.subscription = subscription
        self.queue = asyncio.Queue()
        self.seen = []
        self.task = asyncio.ensure_future(self._pump())

    async def _pump(self):
        while True:
            try:
                event = await self.subscription.__anext__()
            except StopAsyncIteration:
                await self.queue.put(StopAsyncIteration())
                return
            except PubNubError as error:
                # An error item: the test expecting an event fails with it.
                await self.queue.put(error)
                return
            await self.queue.put(event)

    async def next(self, timeout=WAIT):
        item = await asyncio.wait_for(self.queue.get(), timeout)
        if isinstance(item, BaseException):
            raise AssertionError(f"the subscription ended with {item!r}; events so far: {self.describe()}")
        self.seen.append(item)
        return item

    async def expect(self, event, uuid, channel=None, timeout=WAIT):
        """The next event ``event`` of ``uuid`` (on ``channel`` when given);
        events of other kinds or users are skipped (kept in ``seen``)."""

        async def find():
            while True:
                item = await self.next(timeout=timeout)
                if item.event == event and item.uuid == uuid and (channel is None or item.channel == channel):
                    return item

        try:
            return await asyncio.wait_for(find(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"no {event} of {uuid!r} within {timeout} s; events seen: {self.describe()}"
            ) from None

    def describe(self):
        return [(e.event, e.uuid, e.channel) for e in self.seen]

    async def close(self):
        # Cancel the pending __anext__ first: close() waits for a pending one.
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        await asyncio.wait_for(self.subscription.close(), WAIT)


async def watch(server, client, channels=(), channel_groups=(), held=1):
    """A :class:`Watcher` of ``client.presence_events()`` on these names, returned
    once its long-poll is held by the server (so no later event is missed)."""
    builder = client.presence_events()
    if channels:
        builder = builder.channels(list(channels))
    if channel_groups:
        builder = builder.channel_groups(list(channel_groups))
    watcher = Watcher(builder.subscribe())
    try:
        await until_held(server, held)
    except BaseException:
        await watcher.close()
        raise
    return watcher
