"""`conciergerie worker` runs the federation too: one round of its loop sends what is due
and finishes what was received but left unprocessed."""

from __future__ import annotations

import pytest

from conciergerie.core.management.commands import worker
from conciergerie.federation import services
from conciergerie.federation.models import Delivery, Follow, InboxItem, RemoteActor
from tests.factories import make_place
from tests.federation.factories import REMOTE_ACTOR, Inbox

# The loop closes stale connections after each round, as a long-running process must: the
# test cannot sit inside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


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
    assert sorted(path for path, _headers, _body in Inbox.received) == ["/a", "/fablab/inbox"]
