"""Three real instances talking ActivityPub over loopback HTTP.

Instance A is this test process (its live server, on the test database); instances B and C
are separate `conciergerie serve` processes, each with its own port and SQLite database. They
follow each other by handle, publish, update and delete; C is stopped, misses an update,
is started again and catches up; a forged signature and a replayed activity are refused.
Every request between them is signed and verified; nothing is shared but HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from conciergerie.federation import fetch, signatures
from conciergerie.federation.models import (
    Follow,
    InboxItem,
    LocalActor,
    RemoteActor,
    RemoteObject,
)
from tests.events.conftest import make_event
from tests.factories import make_place

pytestmark = pytest.mark.django_db(transaction=True)

CLI = str(Path(sys.executable).parent / "conciergerie")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Instance:
    """Instance B: its own data folder, database and web process."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CONCIERGERIE_") and k != "DJANGO_SETTINGS_MODULE"
        }
        self.env.update(
            CONCIERGERIE_DATA_DIR=str(tmp / name),
            CONCIERGERIE_BASE_URL=self.url,
            CONCIERGERIE_FEDERATION_ALLOW_LOOPBACK="1",
            CONCIERGERIE_SECRET_KEY=f"instance-{name}-test-secret-key-not-for-production",
            # Retry a failed delivery after 1 s rather than 1 min: the catch-up, in a test.
            CONCIERGERIE_FEDERATION_RETRY_FIRST="1",
        )
        self.server: subprocess.Popen[bytes] | None = None

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [CLI, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def shell(self, code: str) -> str:
        return self.run("shell", "-c", code)

    @property
    def host(self) -> str:
        return self.url.split("://")[1]

    def start(self) -> None:
        self.run("migrate", "--verbosity", "0")
        self.server = subprocess.Popen(
            [CLI, "serve", "--port", str(self.port), "--threads", "4"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the instance did not start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=10)


@pytest.fixture
def instances(tmp_path):
    started = []
    try:
        for name in "bc":
            instance = Instance(tmp_path, name)
            instance.start()
            started.append(instance)
        yield started
    finally:
        for instance in started:
            instance.stop()


@pytest.fixture
def instance_a(live_server, settings):
    settings.BASE_URL = live_server.url
    settings.FEDERATION_ALLOW_LOOPBACK = True
    settings.FEDERATION_RETRY_FIRST = 1
    return live_server.url


PLACE = "from conciergerie.core import services as core; core.place_create(by=None, slug={slug!r}, name={name!r}, city={city!r}, postal_code='86000', latitude='46.58', longitude='0.34')"

EVENT = """
import datetime as dt
from django.utils import timezone
from conciergerie.core.models import Place
from conciergerie.events import services
place = Place.objects.get(slug={slug!r})
start = timezone.now() + dt.timedelta(days=10)
event = services.event_create(place=place, by=None, title={title!r}, start_at=start,
    end_at=start + dt.timedelta(hours=2), capacity=12)
print(event.uuid)
"""

CHANGE = (
    "from conciergerie.events.models import Event;"
    "e = Event.objects.get(uuid={uuid!r}); e.{field} = {value!r}; e.save()"
)

RECEIVED = (
    "from conciergerie.federation.models import RemoteObject;"
    "print(sorted((o.name, o.deleted_at is None) for o in RemoteObject.objects.all()))"
)

FOLLOWS = (
    "from conciergerie.federation.models import Follow;"
    "print(sorted((f.direction, f.remote.handle, f.state) for f in Follow.objects.all()))"
)


def _received(instance):
    return instance.shell(RECEIVED).strip().splitlines()[-1]


def test_three_instances_follow_publish_update_delete_and_catch_up(instance_a, instances):
    b, c = instances
    host_a = instance_a.split("://")[1]
    place_a = make_place(slug="lieu-a", name="Le Lieu A", city="Châtellerault")
    b.shell(PLACE.format(slug="atelier-b", name="L'Atelier B", city="Poitiers"))
    c.shell(PLACE.format(slug="cafe-c", name="Le Café C", city="Niort"))

    # A follows B; C follows B; B follows A: by handle (WebFinger, then the signed actor).
    call_command("federation", "follow", "--place", "lieu-a", f"@atelier-b@{b.host}")
    c.run("federation", "follow", "--place", "cafe-c", f"@atelier-b@{b.host}")
    b.run("federation", "follow", "--place", "atelier-b", f"@lieu-a@{host_a}")
    remote_b = RemoteActor.objects.get(url=f"{b.url}/ap/atelier-b")
    assert remote_b.name == "L'Atelier B" and remote_b.city == "Poitiers"
    assert remote_b.handle == f"atelier-b@{b.host}" and remote_b.latitude == 46.58
    # Each sends its Follow; B and A accept at once and send their Accept back.
    call_command("federation", "deliver", "--once")
    c.run("federation", "deliver", "--once")
    b.run("federation", "deliver", "--once")
    call_command("federation", "deliver", "--once")
    assert Follow.objects.get(place=place_a, direction="following").state == "accepted"
    assert Follow.objects.get(place=place_a, direction="follower").state == "accepted"
    assert f"('following', 'atelier-b@{b.host}', 'accepted')" in c.shell(FOLLOWS)
    b_follows = b.shell(FOLLOWS)
    assert f"('follower', 'cafe-c@{c.host}', 'accepted')" in b_follows
    assert f"('following', 'lieu-a@{host_a}', 'accepted')" in b_follows

    # B publishes an event: it reaches A and C as a Mobilizon-style Event.
    uuid = b.shell(EVENT.format(slug="atelier-b", title="Repair café de décembre")).split()[-1]
    b.run("federation", "deliver", "--once")
    received = RemoteObject.objects.get()
    assert received.kind == "event" and received.name == "Repair café de décembre"
    assert received.capacity == 12 and received.actor == remote_b
    assert received.ap_id == f"{b.url}/ap/atelier-b/evenement/{uuid}"
    assert received.start_at > dt.datetime.now(dt.UTC) and "Poitiers" in received.location
    assert _received(c) == "[('Repair café de décembre', True)]"

    # A publishes too: B, its follower, gets it.
    make_event(place_a, title="Atelier vélo")
    call_command("federation", "deliver", "--once")
    assert _received(b) == "[('Atelier vélo', True)]"

    # C is down when B changes its event: A gets the change, C's delivery waits.
    c.stop()
    b.shell(CHANGE.format(uuid=uuid, field="title", value="Repair café (complet)"))
    out = b.run("federation", "deliver", "--once")
    assert "envoyées 1, à réessayer 1" in out
    received.refresh_from_db()
    assert received.name == "Repair café (complet)"
    # C is back: after the retry delay, B's worker delivers what C missed.
    c.start()
    time.sleep(1.5)
    assert "envoyées 1" in b.run("federation", "deliver", "--once")
    assert _received(c) == "[('Repair café (complet)', True)]"

    # B withdraws it (members only): A and C no longer show it.
    b.shell(CHANGE.format(uuid=uuid, field="visibility", value="membres"))
    b.run("federation", "deliver", "--once")
    received.refresh_from_db()
    assert received.deleted_at is not None
    assert _received(c) == "[('Repair café (complet)', False)]"

    # Every activity A received was signed by B and kept once.
    from_b = InboxItem.objects.filter(actor=remote_b)
    assert sorted(from_b.values_list("type", flat=True)) == [
        "Accept",
        "Create",
        "Delete",
        "Follow",
        "Update",
    ]
    assert set(from_b.values_list("state", flat=True)) == {"done"}

    # A forged signature (A's key id, another key) is refused by B; a replay is kept once.
    actor_a = f"{instance_a}/ap/lieu-a"
    note = {
        "id": f"{actor_a}/activites/00000000-0000-4000-8000-00000000000a",
        "type": "Create",
        "actor": actor_a,
        "object": {"id": f"{actor_a}/evenement/x", "type": "Note", "attributedTo": actor_a},
    }
    body = json.dumps(note).encode()

    def post(private_key):
        headers = signatures.sign_headers(
            method="POST",
            url=f"{b.url}/ap/atelier-b/inbox",
            body=body,
            key_id=f"{actor_a}#main-key",
            private_key_pem=private_key,
            content_type="application/activity+json",
        )
        return fetch.request("POST", f"{b.url}/ap/atelier-b/inbox", headers=headers, body=body)

    assert post(signatures.generate_key_pair()[0]).status == 401
    real_key = LocalActor.objects.get(place=place_a).private_key_pem
    assert post(real_key).status == 202
    assert post(real_key).status == 202
    count = b.shell(
        "from conciergerie.federation.models import InboxItem;"
        f"print(InboxItem.objects.filter(ap_id={note['id']!r}).count())"
    )
    assert count.strip().splitlines()[-1] == "1"
