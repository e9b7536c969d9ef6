"""`conciergerie worker` runs the federation too: one round of its loop sends what is due
and finishes what was received but left unprocessed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conciergerie.core.management.commands import worker
from conciergerie.federation import services
from conciergerie.federation.models import Delivery, Follow, InboxItem, RemoteActor
from tests.factories import make_place

# The loop closes stale connections after each round, as a long-running process must: the
# test cannot sit inside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)

REMOTE_ACTOR = "https://remote.example/ap/fablab"


class Inbox(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        self.rfile.read(int(self.headers["Content-Length"]))
        Inbox.received.append(self.path)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def inbox_server(settings):
    settings.FEDERATION_ALLOW_LOOPBACK = True
    Inbox.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class OneRound:
    """A stop signal that lets the loop go round once, without waiting."""

    def __init__(self) -> None:
        self.waits = 0

    def wait(self, timeout: float) -> bool:
        self.waits += 1
        return self.waits > 1


def test_one_round_of_the_worker_delivers_and_processes(settings, inbox_server):
    settings.BASE_URL = "http://testserver"
    place = make_place(slug="etabli", name="L'Établi")
    services.local_actor(place)
    remote = RemoteActor.objects.create(
        url=REMOTE_ACTOR,
        domain="remote.example",
        username="fablab",
        inbox=f"{inbox_server}/fablab/inbox",  # its answer is delivered here, on loopback
    )
    due = services.activity_publish(
        place=place, kind="Create", obj={"id": "x", "type": "Note"}, inboxes=[inbox_server + "/a"]
    ).deliveries.get()
    # A Follow stored by an inbox request that failed before acting on it.
    left = InboxItem.objects.create(
        ap_id=f"{REMOTE_ACTOR}/follows/1",
        actor=remote,
        place=place,
        type="Follow",
        payload={
            "id": f"{REMOTE_ACTOR}/follows/1",
            "type": "Follow",
            "actor": REMOTE_ACTOR,
            "object": "http://testserver/ap/etabli",
        },
    )
    stop = OneRound()
    worker._federation_loop(stop)
    assert stop.waits == 2  # one round, then stopped
    due.refresh_from_db()
    assert due.state == Delivery.State.DONE
    left.refresh_from_db()
    assert left.state == InboxItem.State.DONE
    follower = Follow.objects.get(remote=remote, direction=Follow.Direction.FOLLOWER)
    assert follower.state == Follow.State.ACCEPTED
    # Processed first, then delivered in the same round: the Accept has left too.
    accept = Delivery.objects.get(activity__type="Accept")
    assert accept.state == Delivery.State.DONE
    assert sorted(Inbox.received) == ["/a", "/fablab/inbox"]
