"""The seed's samples: code written as PubNub's Python SDK documentation
writes it (asyncio flavour), with only the import and configuration lines
changed, runs unchanged on this package.

Each sample is a function whose body is the documentation's code; it takes
the two classes it needs as parameters, so the same body also runs on PubNub's
official SDK (``pubnub==10.8.0``) when that is installed in the same venv: the
official run's printed lines must equal ours (those tests skip otherwise).
"""

import pytest

# The import lines: the only change from the seed's
# `from pubnub.pnconfiguration import PNConfiguration` and
# `from pubnub.pubnub_asyncio import PubNubAsyncio`.
from pubnub_presence import PNConfiguration, PubNubAsyncio

from _support import raw_heartbeat


def configure(PNConfiguration, PubNubAsyncio, origin, user_id):
    """The configuration lines, as the seed's docs write them, pointed at the local server."""
    pnconfig = PNConfiguration()
    pnconfig.subscribe_key = "demo"
    pnconfig.publish_key = "demo"
    pnconfig.user_id = user_id
    pnconfig.origin = origin
    pnconfig.ssl = False
    return PubNubAsyncio(pnconfig)


# --- the samples (bodies as in the seed's documentation) ----------------------


async def sample_here_now_with_state(PNConfiguration, PubNubAsyncio, origin):
    pubnub = configure(PNConfiguration, PubNubAsyncio, origin, "my_custom_user_id")

    envelope = await pubnub.here_now().channels(['ch1', 'ch2']).include_state(True).future()
    for ch in envelope.result.channels:
        print(ch.channel_name, ch.occupancy, [(o.uuid, o.state) for o in ch.occupants])

    await pubnub.stop()


async def sample_here_now_callback_style(PNConfiguration, PubNubAsyncio, origin):
    pubnub = configure(PNConfiguration, PubNubAsyncio, origin, "my_custom_user_id")

    envelope = await pubnub.here_now()\
        .channels(['ch1', 'ch2'])\
        .include_uuids(True)\
        .future()

    if envelope.status.is_error():
        print("error: %s" % envelope.status.error_data.information)
        await pubnub.stop()
        return

    for channel_data in envelope.result.channels:
        print("---")
        print("channel: %s" % channel_data.channel_name)
        print("occupancy: %s" % channel_data.occupancy)

        print("occupants: %s" % channel_data.channel_name)
        for occupant in channel_data.occupants:
            print("uuid: %s, state: %s" % (occupant.uuid, occupant.state))

    print("total: %s on %s channels" % (envelope.result.total_occupancy, envelope.result.total_channels))
    await pubnub.stop()


async def sample_here_now_occupancy_only(PNConfiguration, PubNubAsyncio, origin):
    pubnub = configure(PNConfiguration, PubNubAsyncio, origin, "my_custom_user_id")

    envelope = await pubnub.here_now()\
        .channels("ch2")\
        .include_uuids(False)\
        .include_state(False)\
        .future()
    print("occupancy: %s" % envelope.result.total_occupancy)

    await pubnub.stop()


async def sample_where_now(PNConfiguration, PubNubAsyncio, origin):
    pubnub = configure(PNConfiguration, PubNubAsyncio, origin, "my_custom_user_id")

    envelope = await pubnub.where_now().uuid('alice').future()
    if not envelope.status.is_error():
        for channel in sorted(envelope.result.channels):
            print(channel)

    await pubnub.stop()


async def sample_set_and_get_state(PNConfiguration, PubNubAsyncio, origin):
    pubnub = configure(PNConfiguration, PubNubAsyncio, origin, "such_uuid")

    my_state = {
        'age': 20
    }
    envelope = await pubnub.set_state().channels(['ch1', 'ch2', 'ch3']).state(my_state).future()
    print("set: %s" % envelope.result.state)

    envelope = await pubnub.get_state().channels(['ch1', 'ch2', 'ch3']).uuid('such_uuid').future()
    for channel, state in sorted(envelope.result.channels.items()):
        print("%s: %s" % (channel, state))

    await pubnub.stop()


async def sample_channel_groups(PNConfiguration, PubNubAsyncio, origin):
    pubnub = configure(PNConfiguration, PubNubAsyncio, origin, "my_custom_user_id")

    envelope = await pubnub.add_channel_to_channel_group()\
        .channels(["ch1", "ch2"])\
        .channel_group("cg1")\
        .future()
    print("added, error: %s" % envelope.status.is_error())

    envelope = await pubnub.list_channels_in_channel_group()\
        .channel_group("cg1")\
        .future()
    print("channels: %s" % sorted(envelope.result.channels))

    envelope = await pubnub.remove_channel_from_channel_group()\
        .channels(["ch2"])\
        .channel_group("cg1")\
        .future()
    envelope = await pubnub.list_channels_in_channel_group().channel_group("cg1").future()
    print("after removal: %s" % envelope.result.channels)

    await pubnub.remove_channel_group().channel_group("cg1").future()
    envelope = await pubnub.list_channels_in_channel_group().channel_group("cg1").future()
    print("after deleting the group: %s" % envelope.result.channels)

    await pubnub.stop()


# --- what each prints, on the people the fixture makes present -----------------

EXPECTED = {
    sample_here_now_with_state: [
        "ch1 1 [('alice', {'mood': 'ok'})]",
        "ch2 2 [('alice', None), ('bob', None)]",
    ],
    sample_here_now_callback_style: [
        "---",
        "channel: ch1",
        "occupancy: 1",
        "occupants: ch1",
        "uuid: alice, state: None",
        "---",
        "channel: ch2",
        "occupancy: 2",
        "occupants: ch2",
        "uuid: alice, state: None",
        "uuid: bob, state: None",
        "total: 3 on 2 channels",
    ],
    sample_here_now_occupancy_only: ["occupancy: 2"],
    sample_where_now: ["ch1", "ch2"],
    sample_set_and_get_state: [
        "set: {'age': 20}",
        "ch1: {'age': 20}",
        "ch2: {'age': 20}",
        "ch3: {'age': 20}",
    ],
    sample_channel_groups: [
        "added, error: False",
        "channels: ['ch1', 'ch2']",
        "after removal: ['ch1']",
        "after deleting the group: []",
    ],
}

SAMPLES = list(EXPECTED)
IDS = [sample.__name__.removeprefix("sample_") for sample in SAMPLES]


async def make_people_present(server):
    """alice on ch1 (with state there) and ch2, bob on ch2: sent with plain HTTP."""
    await raw_heartbeat(server, ["ch1", "ch2"], "alice", state={"ch1": {"mood": "ok"}})
    await raw_heartbeat(server, ["ch2"], "bob")


async def run(sample, capsys, pn_configuration, pubnub_asyncio, origin):
    capsys.readouterr()
    await sample(pn_configuration, pubnub_asyncio, origin)
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
async def test_seed_sample_runs_on_this_package(server, capsys, sample):
    await make_people_present(server)
    assert await run(sample, capsys, PNConfiguration, PubNubAsyncio, server.origin) == EXPECTED[sample]


@pytest.mark.filterwarnings("ignore:Mutable config:DeprecationWarning")
@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
async def test_seed_sample_prints_what_the_official_sdk_prints(server, capsys, sample):
    official_config = pytest.importorskip("pubnub.pnconfiguration", reason="PubNub's official SDK not installed")
    official_asyncio = pytest.importorskip("pubnub.pubnub_asyncio")
    await make_people_present(server)
    ours = await run(sample, capsys, PNConfiguration, PubNubAsyncio, server.origin)
    theirs = await run(
        sample, capsys, official_config.PNConfiguration, official_asyncio.PubNubAsyncio, server.origin
    )
    assert ours == theirs
