"""Acceptance check: PubNub's official Python SDK (asyncio, event engine)
watches presence on the local presence server and must see alice join,
change state and leave, and bob time out.

Run through server/acceptance/run.sh, which installs the SDK in a venv and
starts the server. Usage: python_presence.py ORIGIN (e.g. 127.0.0.1:8090).
"""

import asyncio
import sys

from pubnub.callbacks import SubscribeCallback
from pubnub.pnconfiguration import PNConfiguration
from pubnub.pubnub_asyncio import PubNubAsyncio

ORIGIN = sys.argv[1]
CHANNEL = "acceptance-lobby"
DEADLINE = 60  # seconds to wait for each expected event (bob's timeout takes 20)


def client(user_id, presence_timeout=None):
    config = PNConfiguration()
    config.subscribe_key = "acceptance"
    config.publish_key = "acceptance"
    config.user_id = user_id
    config.origin = ORIGIN
    config.ssl = False
    # Sends heartbeats, and a leave on unsubscribe (§9.12).
    config.enable_presence_heartbeat = True
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


async def expect(listener, event, uuid):
    """Waits for `event` of `uuid`, skipping others (our own join, say)."""
    while True:
        presence = await asyncio.wait_for(listener.events.get(), DEADLINE)
        print(f"  got {presence.event} {presence.uuid} on {presence.channel} "
              f"(occupancy {presence.occupancy}, state {presence.state}, timetoken {presence.timetoken})")
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

    await alice.stop()
    await watcher.stop()
    print("python SDK acceptance: 4 passed, 0 failed")


asyncio.run(main())
