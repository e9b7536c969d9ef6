"""Fixtures the federation tests share: another instance's keys and actor, and inboxes served
on loopback."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

import pytest

from conciergerie.federation import signatures
from tests.federation.factories import Inbox, make_remote


@pytest.fixture(scope="session")
def remote_keys():
    return signatures.generate_key_pair()


@pytest.fixture
def remote(remote_keys):
    return make_remote(remote_keys[1])


@pytest.fixture
def inbox_server(settings):
    """The base URL of a server answering every POST (see `Inbox`), on loopback."""
    settings.FEDERATION_ALLOW_LOOPBACK = True
    Inbox.answers, Inbox.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
