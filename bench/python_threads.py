#!/usr/bin/env python3
"""Where this package's CPU goes, thread by thread: runs bench/python_sdk.py's
events phase (or here_now calls, one in flight) for our SDK only, and reads
each thread's CPU time (/proc/self/task/*/schedstat) and context switches
(…/status) around it. Linux only.

    python bench/python_threads.py --server-bin target/release/presence-server [--network-ms 10] [--runs 3]
    python bench/python_threads.py --server-bin target/release/presence-server --here-now

Prints, per run: events, events/s, CPU µs per event (the process), events
per poll (the server's /metrics), then µs per event and switches per poll of
each thread that did work (`main` is the asyncio loop's; `pubnub-presence`
the Rust runtime's worker); with --here-now, the same per call.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import python_sdk as bench  # noqa: E402


def threads():
    """{tid: (name, CPU seconds, context switches)} of this process's threads."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                cpu = int(f.read().split()[0]) / 1e9
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/self/task/{tid}/status") as f:
                switches = sum(int(line.split()[1]) for line in f if "ctxt_switches" in line)
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        out[tid] = ("main" if tid == str(os.getpid()) else name, cpu, switches)
    return out


def report(before, after, cpu_per, switches_per):
    """Each thread that worked between two `threads()` readings: its CPU per
    `cpu_per` (count, unit) and its switches per `switches_per`."""
    for tid, (name, cpu, switches) in sorted(after.items()):
        _, cpu0, switches0 = before.get(tid, (name, 0.0, 0))
        if cpu - cpu0 > 0.001:
            print(f"  {name} ({tid}): {(cpu - cpu0) / cpu_per[0] * 1e6:.1f} µs per {cpu_per[1]}, "
                  f"{(switches - switches0) / switches_per[0]:.1f} switches per {switches_per[1]}")


async def measure(origin, network_ms, runs):
    base = f"http://{origin}"
    await asyncio.to_thread(bench.set_subscribe_delay, base, network_ms)
    ours = bench.Ours(origin)
    try:
        for run in range(runs):
            before = threads()
            phase = await bench.measure_events(ours, origin, base, 3.0, 20_000, 64, f"threads-{run}")
            after = threads()
            if not phase.count or not phase.polls:
                print(f"run {run + 1}: no events ({phase.note})")
                continue
            print(f"run {run + 1}: {phase.count} events, {phase.rate:,.0f}/s, {phase.cpu_us:.1f} µs CPU per event, "
                  f"{phase.count / phase.polls:.1f} events per poll")
            report(before, after, (phase.count, "event"), (phase.polls, "poll"))
    finally:
        await ours.close()
        await asyncio.to_thread(bench.set_subscribe_delay, base, 0)


async def measure_here_now(origin, runs, calls=10_000):
    """here_now of 2 channels x 10 occupants, one call in flight."""
    base = f"http://{origin}"
    channels, uuids = ["threads-a", "threads-b"], [f"threads-{i}" for i in range(10)]
    await asyncio.to_thread(bench.seed, base, channels, uuids)
    ours = bench.Ours(origin)
    try:
        for _ in range(200):  # warm-up: the connection, caches
            await ours.here_now(channels)
        for run in range(runs):
            before, cpu0, wall0 = threads(), time.process_time(), time.perf_counter()
            for _ in range(calls):
                await ours.here_now(channels)
            after, cpu, wall = threads(), time.process_time() - cpu0, time.perf_counter() - wall0
            print(f"run {run + 1}: {calls / wall:,.0f} calls/s, {cpu / calls * 1e6:.0f} µs CPU per call")
            report(before, after, (calls, "call"), (calls, "call"))
    finally:
        await ours.close()
        await asyncio.to_thread(bench.unseed, base, channels, uuids)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-bin", required=True, help="a presence-server binary to start on a free port")
    parser.add_argument("--network-ms", type=int, default=0, help="hold each subscribe this long (default 0)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--here-now", action="store_true", help="here_now calls instead of events")
    args = parser.parse_args()
    origin = f"127.0.0.1:{bench.free_port()}"
    server = subprocess.Popen([args.server_bin, "--listen", origin, "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bench.wait_until_up(f"http://{origin}")
        if args.here_now:
            asyncio.run(measure_here_now(origin, args.runs))
        else:
            asyncio.run(measure(origin, args.network_ms, args.runs))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
