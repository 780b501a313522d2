"""Acceptance check: PubNub's official Python SDK (asyncio, event engine)
watches presence on the local presence server and must see alice join,
change state and leave, bob time out, and dave (presence timeout 8 s,
heartbeating) time out within 8 + 2 s of his last heartbeat after he stops
abruptly, without unsubscribing. Then 20 % of the watcher's subscribe polls
fail, by the server's own fault injection (503, 429 with Retry-After,
answers dropped after the server acted, connections reset), and it must
still see every join and leave.

Run through server/acceptance/run.sh, which installs the SDK in a venv and
starts the server. Usage: python_presence.py ORIGIN (e.g. 127.0.0.1:8090).
"""

import asyncio
import json
import sys
import time
import urllib.request

from pubnub.callbacks import SubscribeCallback
from pubnub.enums import PNReconnectionPolicy
from pubnub.pnconfiguration import PNConfiguration
from pubnub.pubnub_asyncio import PubNubAsyncio

ORIGIN = sys.argv[1]
CHANNEL = "acceptance-lobby"
DEADLINE = 60  # seconds to wait for each expected event (bob's timeout takes 20)


def dev(method, path, body=None):
    """A request to the server's /dev endpoints; the answer as JSON."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{ORIGIN}{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def client(user_id, presence_timeout=None):
    config = PNConfiguration()
    config.subscribe_key = "acceptance"
    config.publish_key = "acceptance"
    config.user_id = user_id
    config.origin = ORIGIN
    config.ssl = False
    # Sends heartbeats, and a leave on unsubscribe (§9.12).
    config.enable_presence_heartbeat = True
    # Reconnect after a failed poll, without end, from one second on.
    config.reconnect_policy = PNReconnectionPolicy.EXPONENTIAL
    config.maximum_reconnection_retries = -1
    config.reconnection_interval = 1
    if presence_timeout:
        config.set_presence_timeout(presence_timeout)
    return PubNubAsyncio(config)


class Listener(SubscribeCallback):
    def __init__(self):
        self.events = asyncio.Queue()

    def presence(self, pubnub, presence):
        self.events.put_nowait(presence)

    def status(self, pubnub, status):
        pass

    def message(self, pubnub, message):
        pass


async def expect(listener, event, uuid, forbidden=()):
    """Waits for `event` of `uuid`, skipping others (our own join, say);
    an event of `uuid` whose action is in `forbidden` fails at once."""
    while True:
        presence = await asyncio.wait_for(listener.events.get(), DEADLINE)
        print(f"  got {presence.event} {presence.uuid} on {presence.channel} "
              f"(occupancy {presence.occupancy}, state {presence.state}, timetoken {presence.timetoken})")
        assert not (presence.uuid == uuid and presence.event in forbidden), f"{presence.event} of {uuid}"
        if presence.event == event and presence.uuid == uuid:
            assert presence.channel == CHANNEL, presence.channel
            assert isinstance(presence.timetoken, int)
            return presence


async def main():
    watcher = client("watcher")
    listener = Listener()
    watcher.add_listener(listener)
    watcher.subscribe().channels(CHANNEL).with_presence().execute()
    # The watcher's own join proves its subscription holds a cursor; an
    # event from before that cursor is (rightly) never delivered to it.
    await expect(listener, "join", "watcher")

    alice = client("alice")
    alice.subscribe().channels(CHANNEL).execute()
    await expect(listener, "join", "alice")
    print("ok: join")

    await alice.set_state().channels(CHANNEL).state({"mood": "busy"}).future()
    presence = await expect(listener, "state-change", "alice")
    assert presence.state == {"mood": "busy"}, presence.state
    print("ok: state-change")

    alice.unsubscribe().channels(CHANNEL).execute()
    await expect(listener, "leave", "alice")
    print("ok: leave")

    # bob announces a 20 s timeout, then stops without a leave (closing its session).
    bob = client("bob", presence_timeout=20)
    bob.config.enable_presence_heartbeat = False
    bob.subscribe().channels(CHANNEL).execute()
    await expect(listener, "join", "bob")
    await bob.stop()
    await expect(listener, "timeout", "bob")
    print("ok: timeout")

    # dave heartbeats every 3 s (timeout 8 / 2 - 1), then stops abruptly:
    # no unsubscribe, no leave. The server must time him out 8 s after his
    # last request, so within 8 + 2 s of the stop and never as a leave.
    dave = client("dave", presence_timeout=8)
    dave.subscribe().channels(CHANNEL).execute()
    await expect(listener, "join", "dave")
    await asyncio.sleep(7)  # two heartbeat rounds, past the first timeout
    stopped = time.time()
    await dave.stop()
    presence = await expect(listener, "timeout", "dave", forbidden=("leave",))
    after_stop = time.time() - stopped
    # The event is stamped at the deadline: last request + 8 s, server time.
    last_request = presence.timestamp - 8
    print(f"  dave: timeout {after_stop:.1f} s after the stop; the server's last request from him "
          f"{stopped - last_request:.1f} s before the stop")
    assert after_stop <= 8 + 2, f"timeout {after_stop:.1f} s after the stop"
    assert stopped - last_request <= 3 + 1, "dave was heartbeating every 3 s until the stop"
    print("ok: abrupt stop times out")

    # 20 % of the watcher's polls fail from now on, mixing four faults.
    rules = [
        {"endpoint": "subscribe", "uuid": "watcher", "rate": 0.05, "effect": {"status": 503}},
        {"endpoint": "subscribe", "uuid": "watcher", "rate": 0.05, "effect": {"status": 429, "retry_after": 1}},
        {"endpoint": "subscribe", "uuid": "watcher", "rate": 0.05, "effect": "drop_answer"},
        {"endpoint": "subscribe", "uuid": "watcher", "rate": 0.05, "effect": "reset"},
    ]
    dev("PUT", "/dev/faults", {"seed": 38, "rules": rules})
    users = [f"faulty-{i}" for i in range(6)]
    for user in users:
        someone = client(user)
        someone.subscribe().channels(CHANNEL).execute()
        await expect(listener, "join", user)
        someone.unsubscribe().channels(CHANNEL).execute()
        await expect(listener, "leave", user)
        await someone.stop()
    counts = dev("GET", "/dev/faults")["rules"]
    injected = sum(rule["injected"] for rule in counts)
    # Every poll reaches the first rule; the next ones see only what it let through.
    polls = counts[0]["matched"]
    dev("DELETE", "/dev/faults")
    print(f"  {injected} of the watcher's {polls} polls failed: " + ", ".join(
        f"{rule['injected']} {json.dumps(rule['effect'])}" for rule in counts))
    assert injected > 0, "the faults fired"
    print(f"ok: every join and leave of {len(users)} users while {injected} of the watcher's {polls} polls failed"
          " (four rules of 5 %, seed 38)")

    await alice.stop()
    await watcher.stop()
    print("python SDK acceptance: 6 passed, 0 failed")


asyncio.run(main())
