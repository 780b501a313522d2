#!/usr/bin/env python3
"""Python SDK benchmark: this package (`pubnub_presence`, the Rust SDK's PyO3
bindings) against PubNub's official Python SDK (`pubnub==10.8.0`), both
asyncio, both against the same local presence server, side by side in one run.

    python bench/python_sdk.py                                   # in-process LocalServer
    python bench/python_sdk.py --server-url http://127.0.0.1:8090  # an external presence-server (fairer)
    python bench/python_sdk.py --server-bin target/release/presence-server  # started here, as a subprocess

Both packages must be importable from the same venv:
`pip install pubnub==10.8.0` and the `pubnub_presence` wheel.

Workloads (each phase bounded by --secs and a maximum count):

* here_now of 2 channels x 10 occupants with include_uuids, 1 call in flight
  and 64 in flight (asyncio.gather of 64 loops sharing one client);
* here_now of 10 channels x 100 occupants, 1 in flight;
* presence events: a watcher of channel `bench`'s presence events (official:
  a SubscribeCallback listener and subscribe().with_presence(); ours: the
  presence_events() async iterator) while a separate process sends raw
  heartbeat + leave pairs, a new uuid each, as fast as one keep-alive HTTP
  connection allows; events are counted until all the pairs' join and leave
  events have arrived (or the bound passes).

  Pairs, not heartbeats alone: above 20 occupants (the server's default
  announce_max) a channel sends one `interval` event every 10 s instead of
  each join, so N new uuids heartbeating alone would stop producing events
  after the 20th. With a leave after each heartbeat the channel stays small.

  A window: the server keeps the last 100 events per channel (as PubNub
  does), so a watcher more than 100 events behind the sender loses events.
  The sender keeps at most --window (64) events unreceived: the watcher
  publishes its count in a shared 8-byte memory map that the sender reads.
  So the row measures how fast each watcher takes events in, without loss,
  up to the sender's own rate (one connection, about 2 requests per event
  pair).

* the same presence events over a simulated network (--network-ms, 10 by
  default): the server holds every subscribe request that long before
  answering it (its own fault injection, `PUT /dev/faults` with a `delay_ms`
  effect on `subscribe`), as a round trip to PubNub would. On loopback a
  watcher that polls again at once gets about one event per poll, so its CPU
  per event is the cost of a poll; over a network every poll carries what
  arrived during the round trip, for both SDKs alike, and CPU per event is
  the cost of an event. The table's "events/poll" column (from the server's
  /metrics) shows which regime a row is in. Our SDK waits its batch window
  (PNConfiguration.batch_window, 2 ms by default) after an answer with events
  before it polls again, so on loopback it gets batches too; --batch-window 0
  measures it polling again at once.

Occupants are seeded with raw heartbeats (urllib, heartbeat=300) under a
per-run prefix, and left again at the end.

CPU per call is this process's CPU time (`time.process_time()`, every thread:
so our SDK's Rust runtime threads count too) over the phase, divided by the
calls. With the in-process LocalServer the server's own CPU is counted as
well, for both SDKs alike; use --server-url or --server-bin to leave it out.
The events phase's sender is another process, never counted.
"""

import argparse
import asyncio
import gc
import http.client
import json
import logging
import mmap
import os
import platform
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import warnings

SUBSCRIBE_KEY = "demo"
EVENT_CHANNEL = "bench"


# --- the sender process (events phase) ---------------------------------------


def sender_main(origin, channel, prefix, pairs, secs, counter_path, window):
    """Runs in a child process: waits for "go" on stdin, then sends heartbeat
    + leave for up to `pairs` new uuids over one keep-alive connection, for at
    most `secs` seconds, keeping at most `window` events unreceived (the
    watcher's count is the int64 in the memory-mapped file `counter_path`);
    prints how many pairs it sent."""
    host, port = origin.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.connect()
    base = f"/v2/presence/sub-key/{SUBSCRIBE_KEY}/channel/{urllib.parse.quote(channel, safe='')}"
    with open(counter_path, "r+b") as counter_file:
        counter = mmap.mmap(counter_file.fileno(), 8)

    def received():
        return struct.unpack_from("<q", counter, 0)[0]

    def get(path):
        conn.request("GET", path)
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"sender: {path} -> {answer.status}")

    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    deadline = time.monotonic() + secs
    sent = 0
    stalled = False
    for i in range(pairs):
        # At most `window` events sent and not yet received (a pair is two).
        while 2 * (sent + 1) - received() > window:
            if time.monotonic() >= deadline + 10:
                stalled = True
                break
            time.sleep(0.0001)
        if stalled or time.monotonic() >= deadline:
            break
        uuid = f"{prefix}-{i}"
        get(f"{base}/heartbeat?uuid={uuid}&heartbeat=300")
        get(f"{base}/leave?uuid={uuid}")
        sent += 1
    print(f"sent {sent}", flush=True)


# --- plain HTTP for seeding ---------------------------------------------------


def raw_get(url):
    with urllib.request.urlopen(url, timeout=10) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{url} -> {answer.status}")
        return answer.read()


def seed(base_url, channels, uuids):
    """Makes every uuid present on every channel (one heartbeat each, all channels at once)."""
    names = ",".join(urllib.parse.quote(c, safe="") for c in channels)
    for uuid in uuids:
        raw_get(f"{base_url}/v2/presence/sub-key/{SUBSCRIBE_KEY}/channel/{names}/heartbeat?uuid={uuid}&heartbeat=300")


def unseed(base_url, channels, uuids):
    names = ",".join(urllib.parse.quote(c, safe="") for c in channels)
    for uuid in uuids:
        try:
            raw_get(f"{base_url}/v2/presence/sub-key/{SUBSCRIBE_KEY}/channel/{names}/leave?uuid={uuid}")
        except Exception:  # best effort: the server may already be gone
            return


def subscribe_polls(base_url):
    """Subscribe requests the server has answered so far (its /metrics)."""
    total = 0
    for line in raw_get(f"{base_url}/metrics").decode().splitlines():
        if line.startswith('presence_requests_total{endpoint="subscribe",'):
            total += int(line.rsplit(" ", 1)[1])
    return total


def set_subscribe_delay(base_url, delay_ms):
    """Holds every subscribe request `delay_ms` before the server answers it
    (0: no rule), through the server's fault injection."""
    if delay_ms:
        body = json.dumps({"seed": 1, "rules": [{"endpoint": "subscribe", "rate": 1.0,
                                                  "effect": {"delay_ms": delay_ms}}]}).encode()
        request = urllib.request.Request(f"{base_url}/dev/faults", data=body, method="PUT")
    else:
        request = urllib.request.Request(f"{base_url}/dev/faults", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 200:
            raise RuntimeError(f"/dev/faults -> {answer.status}")


# --- the two SDKs ------------------------------------------------------------


class Official:
    name = "official"

    def __init__(self, origin):
        from pubnub.pnconfiguration import PNConfiguration
        from pubnub.pubnub_asyncio import PubNubAsyncio

        self._config_cls, self._client_cls = PNConfiguration, PubNubAsyncio
        self.origin = origin
        self.client = self.make_client("bench-official")

    def make_client(self, user_id):
        config = self._config_cls()
        config.subscribe_key = SUBSCRIBE_KEY
        config.publish_key = SUBSCRIBE_KEY
        config.user_id = user_id
        config.origin = self.origin
        config.ssl = False
        return self._client_cls(config)

    async def here_now(self, channels):
        envelope = await self.client.here_now().channels(channels).include_uuids(True).future()
        return None if envelope.status.is_error() else envelope.result.total_occupancy

    async def watch(self, channel, on_event):
        """Starts watching; returns an async stop function."""
        from pubnub.callbacks import SubscribeCallback

        class Listener(SubscribeCallback):
            def status(self, pubnub, status):
                pass

            def message(self, pubnub, message):
                pass

            def presence(self, pubnub, presence):
                on_event(presence.event, presence.uuid)

        watcher = self.make_client("bench-watcher-official")
        watcher.add_listener(Listener())
        watcher.subscribe().channels([channel]).with_presence().execute()

        async def stop():
            watcher.unsubscribe_all()
            await asyncio.sleep(0.1)  # lets the unsubscribe's leave go out
            await watcher.stop()

        return stop

    async def close(self):
        await self.client.stop()


class Ours:
    name = "ours"

    def __init__(self, origin, batch_window=None):
        from pubnub_presence import PNConfiguration, PubNubAsyncio

        self._config_cls, self._client_cls = PNConfiguration, PubNubAsyncio
        self.origin = origin
        self.batch_window = batch_window
        self.client = self.make_client("bench-ours")

    def make_client(self, user_id):
        config = self._config_cls()
        config.subscribe_key = SUBSCRIBE_KEY
        config.publish_key = SUBSCRIBE_KEY
        config.user_id = user_id
        config.origin = self.origin
        config.ssl = False
        if self.batch_window is not None:
            config.batch_window = self.batch_window
        return self._client_cls(config)

    async def here_now(self, channels):
        envelope = await self.client.here_now().channels(channels).include_uuids(True).future()
        return None if envelope.status.is_error() else envelope.result.total_occupancy

    async def watch(self, channel, on_event):
        watcher = self.make_client("bench-watcher-ours")
        subscription = watcher.presence_events().channels([channel]).subscribe()

        async def read():
            async for event in subscription:
                on_event(event.event, event.uuid)

        reader = asyncio.ensure_future(read())

        async def stop():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await asyncio.wait_for(subscription.close(), 10)
            await watcher.stop()

        return stop

    async def close(self):
        await self.client.stop()


# --- measuring ----------------------------------------------------------------


class Phase:
    def __init__(self, count=0, wall=0.0, cpu=0.0, errors=0, note="", polls=None):
        self.count, self.wall, self.cpu, self.errors, self.note = count, wall, cpu, errors, note
        self.polls = polls  # subscribe requests answered during an events phase

    @property
    def rate(self):
        return self.count / self.wall if self.wall > 0 else 0.0

    @property
    def cpu_us(self):
        return self.cpu / self.count * 1e6 if self.count else float("nan")


async def measure_calls(call, in_flight, secs, max_calls, expect):
    """`call()` repeated by `in_flight` concurrent loops until `secs` pass or
    `max_calls` were started; each answer must equal `expect`."""
    loop = asyncio.get_running_loop()
    for _ in range(min(20, max_calls)):  # warm-up: connections, caches
        await call()
    gc.collect()
    started = 0
    errors = 0
    deadline = loop.time() + secs

    async def worker():
        nonlocal started, errors
        while started < max_calls and loop.time() < deadline:
            started += 1
            if await call() != expect:
                errors += 1

    wall0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return Phase(started, time.perf_counter() - wall0, time.process_time() - cpu0, errors)


async def measure_events(sdk, origin, base_url, secs, max_events, window, run_id):
    """Events per second seen by `sdk`'s watcher while another process sends
    heartbeat + leave pairs (two events each), at most `window` events ahead."""
    prefix = f"ev-{run_id}-{sdk.name}"
    warm_prefix = f"warm-{run_id}-{sdk.name}"
    pairs = max(1, max_events // 2)
    state = {"count": 0, "last": 0.0, "target": None}
    warmed = asyncio.Event()
    all_in = asyncio.Event()
    counter_file = tempfile.NamedTemporaryFile(prefix="python-sdk-bench-", delete=False)
    counter_file.write(b"\0" * 8)
    counter_file.flush()
    counter = mmap.mmap(counter_file.fileno(), 8)

    def on_event(action, uuid):
        if not uuid:
            return
        if uuid.startswith(warm_prefix):
            warmed.set()
        elif uuid.startswith(prefix + "-") and action in ("join", "leave"):
            state["count"] += 1
            state["last"] = time.perf_counter()
            struct.pack_into("<q", counter, 0, state["count"])
            if state["target"] is not None and state["count"] >= state["target"]:
                all_in.set()

    stop = await sdk.watch(EVENT_CHANNEL, on_event)
    sender = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--_send", origin, EVENT_CHANNEL, prefix, str(pairs), str(secs),
         counter_file.name, str(window)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # The watcher sees nothing from before its subscription holds a cursor:
        # send warm-up pairs until it sees one.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        i = 0
        while not warmed.is_set():
            if loop.time() >= deadline:
                return Phase(note="watcher never saw the warm-up events")
            uuid = f"{warm_prefix}-{i}"
            i += 1
            await asyncio.to_thread(seed, base_url, [EVENT_CHANNEL], [uuid])
            await asyncio.to_thread(unseed, base_url, [EVENT_CHANNEL], [uuid])
            try:
                await asyncio.wait_for(warmed.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        ready = await asyncio.to_thread(sender.stdout.readline)
        if ready.strip() != "ready":
            return Phase(note=f"sender did not start: {ready!r}")
        gc.collect()
        polls0 = await asyncio.to_thread(subscribe_polls, base_url)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        sender.stdin.write("go\n")
        sender.stdin.flush()
        line = await asyncio.to_thread(sender.stdout.readline)
        if not line.startswith("sent "):
            return Phase(note=f"sender failed: {line!r}")
        state["target"] = 2 * int(line.split()[1])
        if state["count"] >= state["target"]:
            all_in.set()
        try:
            await asyncio.wait_for(all_in.wait(), 10)
        except asyncio.TimeoutError:
            pass
        cpu = time.process_time() - cpu0
        end = state["last"] if state["count"] else time.perf_counter()
        polls = await asyncio.to_thread(subscribe_polls, base_url) - polls0
        lost = state["target"] - state["count"]
        note = f"{lost} of {state['target']} events not received" if lost > 0 else ""
        return Phase(state["count"], end - wall0, cpu, 0, note, polls)
    finally:
        if sender.poll() is None:
            sender.kill()
        sender.wait()
        await stop()
        counter.close()
        counter_file.close()
        os.unlink(counter_file.name)


# --- the run --------------------------------------------------------------------


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def wait_until_up(base_url, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        try:
            raw_get(f"{base_url}/time/0")
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def fmt_rate(phase):
    if phase is None:
        return "n/a"
    if not phase.count:
        return "failed"
    return f"{phase.rate:,.0f}"


def fmt_cpu(phase):
    if phase is None or not phase.count:
        return "n/a"
    return f"{phase.cpu_us:,.0f}"


def fmt_ratio(official, ours):
    if official is None or ours is None or not official.count or not ours.count or not official.rate:
        return "n/a"
    return f"{ours.rate / official.rate:.2f}x"


async def run(args, origin, server_mode):
    base_url = f"http://{origin}"
    run_id = secrets.token_hex(3)
    sdks = [Official(origin)]
    try:
        sdks.append(Ours(origin, args.batch_window))
    except ImportError as error:
        print(f"warning: pubnub_presence not importable ({error}); its column shows n/a", file=sys.stderr)

    small = [f"hn2-{run_id}-{c}" for c in "ab"]
    small_uuids = [f"occ2-{run_id}-{i}" for i in range(10)]
    big = [f"hn10-{run_id}-{c}" for c in range(10)]
    big_uuids = [f"occ10-{run_id}-{i}" for i in range(100)]
    print(f"seeding {len(small)} x {len(small_uuids)} and {len(big)} x {len(big_uuids)} occupants ...", file=sys.stderr)
    await asyncio.to_thread(seed, base_url, small, small_uuids)
    await asyncio.to_thread(seed, base_url, big, big_uuids)

    workloads = [
        ("here_now 2 ch x 10 occupants, include_uuids, 1 in flight", small, 1, len(small) * len(small_uuids)),
        ("here_now 2 ch x 10 occupants, include_uuids, 64 in flight", small, 64, len(small) * len(small_uuids)),
        ("here_now 10 ch x 100 occupants, include_uuids, 1 in flight", big, 1, len(big) * len(big_uuids)),
    ]
    rows = []
    try:
        for sdk in sdks:  # every answer is checked before anything is timed
            got = await sdk.here_now(small)
            if got != len(small) * len(small_uuids):
                raise SystemExit(f"{sdk.name}: here_now said {got} occupants, expected {len(small) * len(small_uuids)}")
        for label, channels, in_flight, expect in workloads:
            results = {}
            for sdk in sdks:
                print(f"{label}: {sdk.name} ...", file=sys.stderr)
                results[sdk.name] = await measure_calls(
                    lambda sdk=sdk: sdk.here_now(channels), in_flight, args.secs, args.max_calls, expect
                )
            rows.append((label, results))
        if not args.no_events:
            networks = [0] + ([args.network_ms] if args.network_ms else [])
            for delay_ms in networks:
                label = "presence events (join + leave), events/s" + (
                    f", {delay_ms} ms network" if delay_ms else ", loopback")
                await asyncio.to_thread(set_subscribe_delay, base_url, delay_ms)
                results = {}
                try:
                    for sdk in sdks:
                        print(f"{label}: {sdk.name} ...", file=sys.stderr)
                        results[sdk.name] = await measure_events(
                            sdk, origin, base_url, args.secs, args.max_events, args.window, f"{run_id}-{delay_ms}"
                        )
                finally:
                    await asyncio.to_thread(set_subscribe_delay, base_url, 0)
                rows.append((label, results))
    finally:
        for sdk in sdks:
            await sdk.close()
        await asyncio.to_thread(unseed, base_url, small, small_uuids)
        await asyncio.to_thread(unseed, base_url, big, big_uuids)

    print()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"official SDK {official_version()}; server: {server_mode}; "
          f"each phase at most {args.secs:g} s (here_now at most {args.max_calls:,} calls, events at most "
          f"{args.max_events:,} with at most {args.window} unreceived); our batch window: "
          f"{'the default' if args.batch_window is None else f'{args.batch_window:g} s'}.")
    print()
    print("| workload | official calls/s | ours calls/s | ratio | official CPU µs/call | ours CPU µs/call "
          "| CPU ratio | events/poll (official / ours) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    for label, results in rows:
        official, ours = results.get("official"), results.get("ours")
        print(f"| {label} | {fmt_rate(official)} | {fmt_rate(ours)} | {fmt_ratio(official, ours)} "
              f"| {fmt_cpu(official)} | {fmt_cpu(ours)} | {fmt_cpu_ratio(official, ours)} "
              f"| {fmt_per_poll(official)} / {fmt_per_poll(ours)} |")
        for name, phase in results.items():
            if phase.errors:
                notes.append(f"{label}, {name}: {phase.errors} of {phase.count} calls failed or answered wrong")
            if phase.note:
                notes.append(f"{label}, {name}: {phase.note}")
    print()
    print("ratio: ours / official calls per second (events per second for the events rows); CPU ratio: "
          "ours / official CPU per call (per event). Higher calls/s and lower CPU are better. events/poll: "
          "events received per subscribe request the server answered.")
    if server_mode.startswith("in-process"):
        print("CPU includes the in-process server's work for both SDKs; --server-url leaves it out.")
    for note in notes:
        print(f"- {note}")


def fmt_cpu_ratio(official, ours):
    if official is None or ours is None or not official.count or not ours.count or not official.cpu:
        return "n/a"
    return f"{ours.cpu_us / official.cpu_us:.2f}"


def fmt_per_poll(phase):
    if phase is None or not phase.count or not phase.polls:
        return "-"
    return f"{phase.count / phase.polls:.1f}"


def official_version():
    try:
        from importlib.metadata import version

        return version("pubnub")
    except Exception:
        return "?"


async def run_with_local_server(args):
    from pubnub_presence.testing import LocalServer

    async with LocalServer() as server:
        await run(args, server.origin, "in-process LocalServer (same process)")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--_send":
        origin, channel, prefix, pairs, secs, counter_path, window = sys.argv[2:9]
        sender_main(origin, channel, prefix, int(pairs), float(secs), counter_path, int(window))
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", help="an external presence server, e.g. http://127.0.0.1:8090 (fairer)")
    parser.add_argument("--server-bin", help="a presence-server binary to start on a free port for the run")
    parser.add_argument("--secs", type=float, default=3.0, help="bound of each phase, seconds (default 3)")
    parser.add_argument("--max-calls", type=int, default=200_000, help="most here_now calls per phase")
    parser.add_argument("--max-events", type=int, default=20_000, help="most presence events per phase")
    parser.add_argument("--window", type=int, default=64,
                        help="most presence events sent and not yet received (below the server's 100 per channel)")
    parser.add_argument("--no-events", action="store_true", help="skip the presence-events phases")
    parser.add_argument("--batch-window", type=float, default=None,
                        help="our PNConfiguration.batch_window in seconds (default: the SDK's, 0.002; "
                             "0 polls again at once, as the official SDK does)")
    parser.add_argument("--network-ms", type=int, default=10,
                        help="also measure events with every subscribe held this long by the server, "
                             "as over a network (default 10; 0: loopback only)")
    args = parser.parse_args()

    # The official SDK's logging off, and its "mutable config" deprecation warning.
    logging.getLogger("pubnub").setLevel(logging.CRITICAL + 1)
    logging.getLogger("pubnub").propagate = False
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    if args.server_url:
        parts = urllib.parse.urlsplit(args.server_url)
        if parts.scheme != "http" or not parts.netloc:
            parser.error("--server-url must look like http://127.0.0.1:8090")
        wait_until_up(f"http://{parts.netloc}")
        asyncio.run(run(args, parts.netloc, f"external, {args.server_url}"))
    elif args.server_bin:
        origin = f"127.0.0.1:{free_port()}"
        server = subprocess.Popen(
            [args.server_bin, "--listen", origin, "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"http://{origin}")
            asyncio.run(run(args, origin, f"external, {os.path.basename(args.server_bin)} started by the script"))
        finally:
            server.terminate()
            server.wait()
    else:
        asyncio.run(run_with_local_server(args))


if __name__ == "__main__":
    main()
