"""The HTTP transport that runs on the asyncio loop's own thread: keep-alive
reuse, every framing of an answer, a connection the server closed, retries
and timeouts on the loop's timers, cancellation closing the connection, and
TLS (a trusted certificate, and one that is not).

Each test runs a small scripted HTTP server on the test's own loop
(``asyncio.start_server``), so what reached the server, and how, is seen
exactly."""

import asyncio
import gc
import os
import ssl

import pytest

from _support import WAIT, bindings_readers, until
from pubnub_presence import (
    PNConfiguration,
    PubNubAsyncio,
    PubNubDecodeError,
    PubNubInvalidInput,
    PubNubTimeoutError,
    PubNubTransportError,
)
from pubnub_presence.testing import LocalServer

# A recorded where_now answer (tests/recorded/where_now_2025.json).
WHERE_NOW = (b'{"message":"OK","payload":{"channels":["test-channel2","test-channel1","test-channel3"]},'
             b'"service":"Presence","status":200}')
CHANNELS = ["test-channel2", "test-channel1", "test-channel3"]


def with_length(body, status="200 OK", headers=b""):
    return b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n%s" % (status.encode(), len(body), headers, body)


def chunked(body):
    """`body` in three chunks (one with an extension), and a trailer."""
    parts = [body[:10], body[10:50], body[50:]]
    out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i, part in enumerate(parts):
        out += b"%x%s\r\n%s\r\n" % (len(part), b";x=1" if i == 1 else b"", part)
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


class Scripted:
    """An HTTP/1.1 server answering each request with the next scripted
    action: bytes to send, ``"close"`` (close without answering),
    ``"hold"`` (never answer), or a callable ``(writer) -> awaitable``."""

    def __init__(self, actions, tls=None):
        self.tls = tls
        self.actions = list(actions)
        self.requests = []
        self.connections = 0
        self.closed_by_client = asyncio.Event()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0, ssl=self.tls)
        self.origin = "127.0.0.1:%d" % self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()

    async def serve(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head.split(b"\r\n", 1)[0].decode())
                action = self.actions.pop(0)
                if action == "close":
                    break
                if action == "hold":
                    # Until the client hangs up.
                    if await reader.read(1) == b"":
                        self.closed_by_client.set()
                    break
                if callable(action):
                    await action(writer)
                    break
                writer.write(action)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def client(origin, **settings):
    config = PNConfiguration()
    config.subscribe_key = "demo"
    config.user_id = "Serhii"
    config.origin = origin
    config.ssl = False
    for name, value in settings.items():
        setattr(config, name, value)
    return PubNubAsyncio(config)


async def where_now(pubnub):
    result = await asyncio.wait_for(pubnub.where_now().uuid("Serhii").result(), WAIT)
    return result.channels


async def test_calls_share_one_keep_alive_connection_and_read_every_framing():
    answers = [with_length(WHERE_NOW), chunked(WHERE_NOW), with_length(WHERE_NOW, headers=b"X-Extra: 1\r\n")]
    async with Scripted(answers) as server:
        pubnub = client(server.origin)
        for _ in answers:
            assert await where_now(pubnub) == CHANNELS
        assert server.connections == 1, "one connection, kept alive"
        assert all(r.startswith("GET /v2/presence/sub-key/demo/uuid/Serhii?") for r in server.requests)
        await pubnub.stop()


async def test_a_chunked_answer_arriving_in_pieces_is_read_whole():
    async def in_pieces(writer):
        answer = chunked(WHERE_NOW)
        for at in range(0, len(answer), 7):
            writer.write(answer[at:at + 7])
            await writer.drain()
            await asyncio.sleep(0)  # each piece its own segment, as far as the loop can tell

    async with Scripted([in_pieces]) as server:
        pubnub = client(server.origin)
        assert await where_now(pubnub) == CHANNELS
        await pubnub.stop()


async def test_bytes_past_an_answer_keep_its_connection_from_reuse():
    async with Scripted([with_length(WHERE_NOW) + b"HTTP/1.1 200 OK\r\n", with_length(WHERE_NOW)]) as server:
        pubnub = client(server.origin)
        assert await where_now(pubnub) == CHANNELS
        assert await where_now(pubnub) == CHANNELS
        assert server.connections == 2, "an answer nobody asked for came after the first: a new connection"
        await pubnub.stop()


async def test_a_proxy_in_the_environment_leaves_requests_to_the_runtimes_client(monkeypatch):
    # The scripted server plays the proxy: a request through a proxy names the whole URL.
    async with Scripted([with_length(WHERE_NOW)]) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.origin}")
        pubnub = client("127.0.0.1:9")  # never connected to: the proxy answers
        assert await where_now(pubnub) == CHANNELS
        assert proxy.requests[0].startswith("GET http://127.0.0.1:9/v2/presence/"), proxy.requests
        assert not bindings_readers(asyncio.get_running_loop()), "the loop's client stayed out of it"
        await pubnub.stop()


async def test_an_answer_without_a_length_ends_with_the_connection():
    async def until_close(writer):
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + WHERE_NOW)
        await writer.drain()

    async with Scripted([until_close, with_length(WHERE_NOW)]) as server:
        pubnub = client(server.origin)
        assert await where_now(pubnub) == CHANNELS
        assert await where_now(pubnub) == CHANNELS
        assert server.connections == 2, "a connection that closed is not reused"
        await pubnub.stop()


async def test_a_connection_the_server_closed_while_idle_is_dropped_and_replaced():
    async def answer_then_close(writer):
        # Keep-alive as far as the headers say; then the server hangs up.
        writer.write(with_length(WHERE_NOW))
        await writer.drain()

    async with Scripted([answer_then_close, with_length(WHERE_NOW)]) as server:
        pubnub = client(server.origin)
        loop = asyncio.get_running_loop()
        assert await where_now(pubnub) == CHANNELS
        # The loop sees the idle socket close and stops watching it (else its
        # select would report it on every turn).
        await until(lambda: asyncio.sleep(0, not bindings_readers(loop)), "the closed connection to be unwatched")
        assert await where_now(pubnub) == CHANNELS
        assert server.connections == 2
        await pubnub.stop()


async def test_a_dropped_client_takes_its_connections_off_the_loop():
    """A socket closed while the loop still watched its number would leave
    the loop's selector pointing at the next socket to get that number."""
    loop = asyncio.get_running_loop()

    async def a_call_whose_client_is_dropped_on_return(origin):
        pubnub = client(origin)
        return await where_now(pubnub)  # `pubnub` is dropped as the coroutine returns

    async with Scripted([with_length(WHERE_NOW), with_length(WHERE_NOW)]) as server:
        assert await a_call_whose_client_is_dropped_on_return(server.origin) == CHANNELS
        gc.collect()
        assert not bindings_readers(loop), "no reader left for a closed socket"
        assert await a_call_whose_client_is_dropped_on_return(server.origin) == CHANNELS


async def test_a_connection_closed_unseen_is_retried_on_a_new_one():
    # The server closes right after reading the second request: the client
    # sees it only then, and sends again on a new connection.
    async with Scripted([with_length(WHERE_NOW), "close", with_length(WHERE_NOW)]) as server:
        pubnub = client(server.origin)
        assert await where_now(pubnub) == CHANNELS
        assert await where_now(pubnub) == CHANNELS
        assert (server.connections, len(server.requests)) == (2, 3)
        await pubnub.stop()


async def test_a_503_is_retried_after_its_retry_after():
    busy = with_length(b'{"status":503,"error":true,"message":"busy"}', "503 Service Unavailable",
                       b"Retry-After: 0\r\n")
    async with Scripted([busy, with_length(WHERE_NOW)]) as server:
        pubnub = client(server.origin)
        assert await where_now(pubnub) == CHANNELS
        assert len(server.requests) == 2
        await pubnub.stop()


async def test_a_call_with_no_answer_times_out_after_the_configured_timeout():
    # Three attempts (two retries), each held until the client gives up.
    async with Scripted(["hold", "hold", "hold"]) as server:
        pubnub = client(server.origin, non_subscribe_request_timeout=0.05)
        with pytest.raises(PubNubTimeoutError) as raised:
            await where_now(pubnub)
        assert raised.value.kind == "timeout" and raised.value.is_retryable
        assert "50ms" in str(raised.value), str(raised.value)
        assert len(server.requests) == 3
        await pubnub.stop()


async def test_cancelling_a_call_closes_its_connection():
    async with Scripted(["hold"]) as server:
        pubnub = client(server.origin)
        call = asyncio.ensure_future(pubnub.where_now().uuid("Serhii").result())
        await until(lambda: asyncio.sleep(0, len(server.requests) == 1), "the request to arrive")
        call.cancel()
        await asyncio.wait_for(server.closed_by_client.wait(), WAIT)
        assert call.cancelled()
        await pubnub.stop()


async def test_an_answer_over_the_size_cap_is_refused_unread():
    # 70 MB announced (the cap is 64 MiB): refused from the head, nothing more read.
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 70000000\r\n\r\n"
    async with Scripted([huge]) as server:
        pubnub = client(server.origin)
        with pytest.raises(PubNubDecodeError, match="larger than 67108864 bytes"):
            await where_now(pubnub)
        assert len(server.requests) == 1, "not retried: the same answer would come again"
        await pubnub.stop()


async def test_an_answer_that_is_not_http_is_a_transport_error():
    async with Scripted([b"garbage\r\n\r\n"] * 3) as server:
        pubnub = client(server.origin)
        with pytest.raises(PubNubTransportError, match="not valid HTTP/1.1"):
            await where_now(pubnub)
        await pubnub.stop()


TLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls")


def server_tls():
    """The test server's TLS: a certificate for 127.0.0.1 from the test CA (tls/README.md)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(TLS, "server.pem"), os.path.join(TLS, "server.key"))
    return context


async def test_https_calls_run_on_the_loop_over_tls(monkeypatch):
    # The platform's verifier reads its roots from SSL_CERT_FILE when set.
    monkeypatch.setenv("SSL_CERT_FILE", os.path.join(TLS, "ca.pem"))
    async with Scripted([with_length(WHERE_NOW), chunked(WHERE_NOW)], tls=server_tls()) as server:
        pubnub = client(server.origin, ssl=True)
        assert await where_now(pubnub) == CHANNELS
        assert await where_now(pubnub) == CHANNELS
        assert server.connections == 1, "one TLS session, kept alive"
        assert bindings_readers(asyncio.get_running_loop()), "the loop watches the connection: it is the loop's"
        await pubnub.stop()


async def test_an_untrusted_certificate_fails_the_call_naming_it():
    async with Scripted([], tls=server_tls()) as server:
        pubnub = client(server.origin, ssl=True)
        with pytest.raises(PubNubTransportError, match="certificate"):
            await where_now(pubnub)
        assert server.requests == [], "nothing was sent"
        await pubnub.stop()


def test_a_client_works_on_one_event_loop_after_another():
    """Connections belong to the loop that opened them: a client used from a
    second loop (pytest-asyncio gives each test its own) opens its own."""
    server = LocalServer()
    # The server runs on the bindings' runtime; each asyncio.run is a new loop.

    async def start():
        await server.__aenter__()

    async def stop():
        await server.__aexit__(None, None, None)

    asyncio.run(start())
    try:
        pubnub = PubNubAsyncio(server.config("alice"))

        async def here_now():
            return (await asyncio.wait_for(pubnub.here_now().channels("lobby").result(), WAIT)).total_occupancy

        for _ in range(3):
            assert asyncio.run(here_now()) == 0
    finally:
        asyncio.run(stop())


def test_timeouts_and_the_batch_window_are_checked_naming_the_setting():
    config = PNConfiguration()
    assert (config.non_subscribe_request_timeout, config.connect_timeout, config.batch_window) == (10.0, 5.0, 0.002)
    for name, bad in [("non_subscribe_request_timeout", 0), ("connect_timeout", -1.0), ("batch_window", 2.0),
                      ("batch_window", float("nan"))]:
        with pytest.raises(PubNubInvalidInput) as raised:
            setattr(config, name, bad)
        assert raised.value.parameter == name
    config.batch_window = 0
    assert config.batch_window == 0.0

