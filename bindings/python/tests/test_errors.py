"""Errors: what a failed call gives through ``.future()`` (an envelope whose
status says so, never a raised exception) and through ``.result()`` (a
raised ``PubNubError`` subclass with kind, status, is_retryable and
parameter); bad input refused before any I/O; transport failures.

The server cannot be started with a secret key from Python, so an Access
Manager 403 is made with a fault rule answering 403 on the endpoint."""

import asyncio
import socket

import pytest

from pubnub_presence import (
    PNConfiguration,
    PubNubApiError,
    PubNubAsyncio,
    PubNubDecodeError,
    PubNubError,
    PubNubInvalidInput,
    PubNubTimeoutError,
    PubNubTransportError,
)

from _support import WAIT, last_request_seq, logged_requests, put_faults


def test_the_exception_classes_form_one_family():
    for cls in (PubNubInvalidInput, PubNubApiError, PubNubTimeoutError, PubNubTransportError, PubNubDecodeError):
        assert issubclass(cls, PubNubError)
    assert issubclass(PubNubError, Exception)


# --- Access Manager 403 -------------------------------------------------------

# (fault rule endpoint, the call it refuses)
REFUSED_CALLS = {
    "here_now": lambda p: p.here_now().channels(["lobby"]).include_uuids(True),
    "where_now": lambda p: p.where_now().uuid("bob"),
    "set_state": lambda p: p.set_state().channels(["lobby"]).state({"mood": "ok"}),
    "get_state": lambda p: p.get_state().channels(["lobby"]),
    "heartbeat": lambda p: p.heartbeat().channels(["lobby"]),
    "leave": lambda p: p.leave().channels(["lobby"]),
    "channel_groups": lambda p: p.list_channels_in_channel_group().channel_group("friends"),
}


async def test_access_manager_403_through_future_and_result(server, pubnub):
    alice = pubnub("alice")
    await put_faults(server, [{"endpoint": "here_now", "effect": {"status": 403}}])
    before = await last_request_seq(server)

    envelope = await asyncio.wait_for(alice.here_now().channels(["lobby"]).future(), WAIT)
    assert envelope.result is None
    assert envelope.status.is_error()
    assert envelope.status.status_code == 403
    information = envelope.status.error_data.information
    assert isinstance(information, str)
    assert "403" in information and "Forbidden" in information, information
    carried = envelope.status.error_data.exception
    assert isinstance(carried, PubNubApiError)
    assert carried.status == 403 and carried.kind == "api"

    with pytest.raises(PubNubApiError) as caught:
        await asyncio.wait_for(alice.here_now().channels(["lobby"]).result(), WAIT)
    error = caught.value
    assert isinstance(error, PubNubError)
    assert error.kind == "api"
    assert error.status == 403
    assert error.is_retryable is False
    assert error.parameter is None
    assert "403" in str(error)

    # A 403 is not retried: one request per call reached the server.
    logged = [r for r in await logged_requests(server, before) if r["endpoint"] == "here_now"]
    assert [r["status"] for r in logged] == [403, 403], logged
    assert all(r["fault"] for r in logged)


@pytest.mark.parametrize("endpoint", sorted(REFUSED_CALLS))
async def test_every_operation_reports_a_403(server, pubnub, endpoint):
    alice = pubnub("alice")
    await put_faults(server, [{"endpoint": endpoint, "effect": {"status": 403}}])
    envelope = await asyncio.wait_for(REFUSED_CALLS[endpoint](alice).future(), WAIT)
    assert envelope.status.is_error() and envelope.status.status_code == 403
    assert envelope.result is None
    with pytest.raises(PubNubApiError) as caught:
        await asyncio.wait_for(REFUSED_CALLS[endpoint](alice).result(), WAIT)
    assert (caught.value.status, caught.value.is_retryable) == (403, False)


async def test_a_fault_on_one_channel_leaves_others_alone(server, pubnub):
    alice = pubnub("alice")
    await put_faults(server, [{"endpoint": "here_now", "channel": "secret-*", "effect": {"status": 403}}])
    assert not (await alice.here_now().channels(["public"]).future()).status.is_error()
    assert (await alice.here_now().channels(["secret-room"]).future()).status.status_code == 403


# --- 5xx: retryable, and retried ----------------------------------------------


async def test_a_lasting_503_is_retryable_and_was_retried(server, pubnub):
    alice = pubnub("alice")
    # More matches than the SDK's retries (2 by default), so every attempt fails.
    await put_faults(server, [{"endpoint": "here_now", "count": 50, "effect": {"status": 503}}])
    before = await last_request_seq(server)

    envelope = await asyncio.wait_for(alice.here_now().channels(["lobby"]).future(), WAIT)
    assert envelope.status.is_error() and envelope.status.status_code == 503
    assert envelope.status.error_data.exception.is_retryable is True

    with pytest.raises(PubNubApiError) as caught:
        await asyncio.wait_for(alice.here_now().channels(["lobby"]).result(), WAIT)
    assert caught.value.status == 503
    assert caught.value.is_retryable is True
    assert caught.value.kind == "api"

    attempts = [r for r in await logged_requests(server, before) if r["endpoint"] == "here_now"]
    assert all(r["status"] == 503 for r in attempts)
    assert len(attempts) > 2, f"idempotent calls are retried: {len(attempts)} attempts for 2 calls"


async def test_a_passing_503_is_retried_away(server, pubnub):
    alice = pubnub("alice")
    await alice.heartbeat().channels(["lobby"]).result()
    # Fewer failures than the retries: the call succeeds.
    await put_faults(server, [{"endpoint": "here_now", "count": 1, "effect": {"status": 503}}])
    before = await last_request_seq(server)
    result = await asyncio.wait_for(alice.here_now().channels(["lobby"]).result(), WAIT)
    assert result.total_occupancy == 1
    statuses = [r["status"] for r in await logged_requests(server, before) if r["endpoint"] == "here_now"]
    assert statuses == [503, 200]


async def test_a_body_that_is_not_json_is_a_decode_error(server, pubnub):
    alice = pubnub("alice")
    await put_faults(server, [{"endpoint": "where_now", "effect": "garbage"}])
    envelope = await asyncio.wait_for(alice.where_now().future(), WAIT)
    assert envelope.status.is_error() and envelope.result is None
    with pytest.raises(PubNubDecodeError) as caught:
        await asyncio.wait_for(alice.where_now().result(), WAIT)
    assert caught.value.kind == "decode"
    assert caught.value.is_retryable is False


# --- bad input: refused at the call, before any I/O ---------------------------

# (id, the call, the parameter it must name)
BAD_INPUT = [
    ("here_now empty channel name", lambda p: p.here_now().channels([""]), "channels"),
    ("here_now limit above 1000", lambda p: p.here_now().channels(["a"]).limit(5000), "limit"),
    ("heartbeat on a presence channel", lambda p: p.heartbeat().channels(["lobby-pnpres"]), "channels"),
    ("heartbeat below the minimum timeout", lambda p: p.heartbeat().channels(["lobby"]).heartbeat(5), "heartbeat"),
    ("leave a presence group", lambda p: p.leave().channel_groups(["friends-pnpres"]), "channel_groups"),
    ("set_state on a presence channel", lambda p: p.set_state().channels(["a-pnpres"]).state({"a": 1}), "channels"),
    ("where_now uuid too long", lambda p: p.where_now().uuid("u" * 93), "uuid"),
    ("group name with a comma", lambda p: p.add_channel_to_channel_group().channels(["a"]).channel_group("a,b"), "channel_group"),
    ("get_state channel named ..", lambda p: p.get_state().channels([".."]), "channels"),
]


@pytest.mark.parametrize("make_call, parameter", [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
async def test_bad_input_raises_at_the_call_naming_the_parameter(server, pubnub, make_call, parameter):
    alice = pubnub("alice")
    before = await last_request_seq(server)

    for method in ("future", "result"):
        builder = make_call(alice)
        # Raised by the call itself (no await): nothing was scheduled or sent.
        with pytest.raises(PubNubInvalidInput) as caught:
            getattr(builder, method)()
        error = caught.value
        assert isinstance(error, PubNubError)
        assert error.kind == "invalid_input"
        assert error.parameter == parameter, (method, error.parameter, str(error))
        assert error.status is None
        assert error.is_retryable is False
        assert parameter in str(error)

    logged = await logged_requests(server, before)
    assert logged == [], f"no request reached the server, but: {logged}"


async def test_bad_state_nesting_is_refused_before_io(server, pubnub):
    deep = {}
    node = deep
    for _ in range(40):
        node["d"] = {}
        node = node["d"]
    before = await last_request_seq(server)
    with pytest.raises(PubNubInvalidInput) as caught:
        pubnub("alice").set_state().channels(["a"]).state(deep).future()
    assert caught.value.parameter == "state", str(caught.value)
    logged = await logged_requests(server, before)
    assert logged == [], logged


async def test_a_configuration_without_user_id_is_refused_before_io(server):
    config = PNConfiguration()
    config.subscribe_key = "demo"
    config.origin = server.origin
    config.ssl = False
    pubnub = PubNubAsyncio(config)
    try:
        before = await last_request_seq(server)
        # Refused at the call or when awaited (the configuration is checked once, per client).
        with pytest.raises(PubNubInvalidInput) as caught:
            await asyncio.wait_for(pubnub.here_now().channels("lobby").result(), WAIT)
        assert caught.value.parameter == "user_id", str(caught.value)
        logged = await logged_requests(server, before)
        assert logged == [], logged
    finally:
        await pubnub.stop()


# --- transport ---------------------------------------------------------------


def closed_port():
    """A loopback port nothing listens on: bound, then closed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


async def test_a_closed_port_is_a_transport_error():
    config = PNConfiguration()
    config.subscribe_key = "demo"
    config.user_id = "alice"
    config.origin = f"127.0.0.1:{closed_port()}"
    config.ssl = False
    pubnub = PubNubAsyncio(config)
    try:
        # Connect errors are retried (twice, backoff from 200 ms) before the error comes back.
        envelope = await asyncio.wait_for(pubnub.here_now().channels(["lobby"]).future(), 3 * WAIT)
        assert envelope.status.is_error() and envelope.result is None
        assert envelope.status.status_code is None
        assert isinstance(envelope.status.error_data.exception, PubNubTransportError)

        with pytest.raises(PubNubTransportError) as caught:
            await asyncio.wait_for(pubnub.where_now().result(), 3 * WAIT)
        error = caught.value
        assert error.kind == "transport"
        assert error.status is None
        assert error.is_retryable is True
        assert error.parameter is None
        assert str(error), "a message"
    finally:
        await pubnub.stop()
