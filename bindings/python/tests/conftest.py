"""Fixtures shared by every test of the Python bindings.

* ``server``: a fresh :class:`pubnub_presence.testing.LocalServer` per test
  (the embedded Rust presence server on an ephemeral 127.0.0.1 port).
* ``pubnub``: a factory, ``pubnub("alice")``, making a ``PubNubAsyncio`` for
  that user pointed at ``server``; every client it made is stopped after
  the test.

The helpers the tests share (raw HTTP to the server's ``/dev`` endpoints and
``/metrics``, bounded waits, an event watcher) live in ``_support.py`` beside
this file; this directory is put on ``sys.path`` so that ``import _support``
works whatever pytest's import mode.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pubnub_presence import PubNubAsyncio  # noqa: E402
from pubnub_presence.testing import LocalServer  # noqa: E402


@pytest.fixture
async def server():
    async with LocalServer() as server:
        yield server


@pytest.fixture
async def pubnub(server):
    clients = []

    def make(user_id="alice"):
        client = PubNubAsyncio(server.config(user_id))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.stop()
