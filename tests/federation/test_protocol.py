"""The ActivityPub side of a place: discovery, signed inboxes, follows, publishing, delivery."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone

from conciergerie.events.models import Event
from conciergerie.federation import services, signatures
from conciergerie.federation.models import (
    Activity,
    BlockedDomain,
    Delivery,
    Follow,
    InboxItem,
    LocalActor,
    RemoteActor,
    RemoteObject,
)
from tests.events.conftest import make_event
from tests.factories import make_place
from tests.federation.factories import AP, REMOTE, REMOTE_ACTOR, Inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(settings):
    settings.BASE_URL = "http://testserver"
    return make_place(slug="etabli", name="L'Établi", city="Châtellerault")


def _post(client, path, activity, private_key, *, key_id=f"{REMOTE_ACTOR}#main-key", now=None):
    body = json.dumps(activity).encode()
    headers = signatures.sign_headers(
        method="POST",
        url=f"http://testserver{path}",
        body=body,
        key_id=key_id,
        private_key_pem=private_key,
        now=now,
        content_type=AP,
    )
    headers.pop("Content-Type")
    return client.post(path, body, content_type=AP, headers=headers)


def _follow_activity(n=1):
    return {
        "id": f"{REMOTE_ACTOR}/follows/{n}",
        "type": "Follow",
        "actor": REMOTE_ACTOR,
        "object": "http://testserver/ap/etabli",
    }


def _event_doc(n=1, **extra):
    return {
        "id": f"{REMOTE}/events/{n}",
        "type": "Event",
        "name": "Café réparation",
        "content": "<p>Venez avec vos objets <b>cassés</b>.</p>",
        "startTime": "2027-01-09T14:00:00+01:00",
        "endTime": "2027-01-09T18:00:00+01:00",
        "attributedTo": REMOTE_ACTOR,
        "maximumAttendeeCapacity": 30,
        "location": {
            "type": "Place",
            "name": "Le Fablab",
            "address": {
                "type": "PostalAddress",
                "streetAddress": "3 rue des Lilas",
                "postalCode": "86000",
                "addressLocality": "Poitiers",
            },
        },
        **extra,
    }


def _create(n=1, obj=None, kind="Create"):
    return {
        "id": f"{REMOTE_ACTOR}/activities/{kind.lower()}-{n}",
        "type": kind,
        "actor": REMOTE_ACTOR,
        "object": obj if obj is not None else _event_doc(n),
    }


# --- Discovery ------------------------------------------------------------------------------


def test_webfinger_finds_the_place_by_its_handle(client, place):
    found = client.get("/.well-known/webfinger", {"resource": "acct:etabli@testserver"})
    assert found.status_code == 200
    self_link = next(link for link in found.json()["links"] if link["rel"] == "self")
    assert self_link == {"rel": "self", "type": AP, "href": "http://testserver/ap/etabli"}
    assert found.json()["subject"] == "acct:etabli@testserver"
    for resource in ["acct:etabli@other.example", "acct:inconnu@testserver", ""]:
        assert client.get("/.well-known/webfinger", {"resource": resource}).status_code == 404


def test_nodeinfo_says_what_software_and_protocol(client, place):
    link = client.get("/.well-known/nodeinfo").json()["links"][0]
    assert link["href"].endswith("/nodeinfo/2.1")
    info = client.get("/nodeinfo/2.1").json()
    assert info["software"]["name"] == "conciergerie"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] == 1


def test_the_actor_carries_its_key_and_location(client, place):
    doc = client.get("/ap/etabli", headers={"Accept": AP}).json()
    assert doc["type"] == "Organization" and doc["preferredUsername"] == "etabli"
    assert doc["inbox"] == "http://testserver/ap/etabli/inbox"
    assert doc["publicKey"]["id"] == "http://testserver/ap/etabli#main-key"
    assert doc["publicKey"]["publicKeyPem"] == LocalActor.objects.get().public_key_pem
    assert doc["location"]["address"]["addressLocality"] == "Châtellerault"
    # A browser is sent to the place's page.
    assert client.get("/ap/etabli").status_code == 302


# --- The inbox refuses what is not signed by its actor -------------------------------------


def test_a_signed_follow_is_accepted_and_answered(client, place, remote, remote_keys):
    response = _post(client, "/ap/etabli/inbox", _follow_activity(), remote_keys[0])
    assert response.status_code == 202
    follow = Follow.objects.get(place=place, remote=remote)
    assert (follow.direction, follow.state) == ("follower", "accepted")
    delivery = Delivery.objects.get()
    assert delivery.inbox == remote.inbox
    assert delivery.activity.type == "Accept"
    assert delivery.activity.payload["object"]["id"] == _follow_activity()["id"]
    followers = client.get("/ap/etabli/followers", headers={"Accept": AP}).json()
    assert followers["totalItems"] == 1


def test_a_place_that_approves_followers_decides(client, place, remote, remote_keys):
    actor = services.local_actor(place)
    actor.approve_followers = True
    actor.save()
    _post(client, "/ap/etabli/inbox", _follow_activity(), remote_keys[0])
    follow = Follow.objects.get()
    assert follow.state == "pending" and not Delivery.objects.exists()
    services.follower_decide(follow=follow, accept=False, by=None)
    assert Follow.objects.get().state == "rejected"
    assert Delivery.objects.get().activity.type == "Reject"


@pytest.mark.parametrize(
    "tamper",
    ["unsigned", "wrong key", "expired", "body changed", "actor is not the signer", "blocked"],
)
def test_refused_requests_leave_nothing(client, place, remote, remote_keys, tamper):
    activity = _follow_activity()
    key = remote_keys[0]
    now = None
    if tamper == "wrong key":
        key = signatures.generate_key_pair()[0]
    elif tamper == "expired":
        now = timezone.now() - dt.timedelta(hours=3)
    elif tamper == "actor is not the signer":
        activity["actor"] = "https://victim.example/ap/someone"
    elif tamper == "blocked":
        BlockedDomain.objects.create(domain="remote.example")
    if tamper == "unsigned":
        response = client.post("/ap/etabli/inbox", json.dumps(activity), content_type=AP)
    elif tamper == "body changed":
        body = json.dumps(activity).encode()
        headers = signatures.sign_headers(
            method="POST",
            url="http://testserver/ap/etabli/inbox",
            body=body,
            key_id=remote.key_id,
            private_key_pem=key,
        )
        forged = body.replace(b"follows/1", b"follows/2")
        response = client.post("/ap/etabli/inbox", forged, content_type=AP, headers=headers)
    else:
        response = _post(client, "/ap/etabli/inbox", activity, key, now=now)
    assert response.status_code == (403 if tamper == "blocked" else 401), response.content
    assert not InboxItem.objects.exists() and not Follow.objects.exists()


def test_malformed_and_oversized_bodies(client, place, remote, remote_keys, settings):
    assert client.post("/ap/etabli/inbox", "{", content_type=AP).status_code == 400
    assert client.post("/ap/etabli/inbox", "[1]", content_type=AP).status_code == 400
    settings.FEDERATION_MAX_BODY_BYTES = 100
    big = _follow_activity() | {"padding": "x" * 200}
    assert _post(client, "/ap/etabli/inbox", big, remote_keys[0]).status_code == 413
    assert client.get("/ap/etabli/inbox").status_code == 405
    assert not InboxItem.objects.exists()


def test_the_same_activity_twice_is_kept_once(client, place, remote, remote_keys):
    Follow.objects.create(place=place, remote=remote, direction="following", state="accepted")
    for _ in range(2):
        assert _post(client, "/ap/inbox", _create(), remote_keys[0]).status_code == 202
    assert InboxItem.objects.count() == 1
    assert RemoteObject.objects.count() == 1


# --- What is received ----------------------------------------------------------------------


def test_events_of_a_followed_place_arrive_change_and_go(client, place, remote, remote_keys):
    Follow.objects.create(place=place, remote=remote, direction="following", state="accepted")
    _post(client, "/ap/inbox", _create(1), remote_keys[0])
    got = RemoteObject.objects.get()
    assert got.kind == "event" and got.name == "Café réparation"
    assert got.content == "Venez avec vos objets cassés."  # no markup kept
    assert got.location == "Le Fablab, 3 rue des Lilas, 86000 Poitiers"
    assert got.capacity == 30 and got.start_at.isoformat() == "2027-01-09T13:00:00+00:00"
    updated = _event_doc(1, name="Café réparation (complet)")
    _post(client, "/ap/inbox", _create(2, updated, "Update"), remote_keys[0])
    got.refresh_from_db()
    assert got.name == "Café réparation (complet)"
    delete = _create(3, f"{REMOTE}/events/1", "Delete")
    _post(client, "/ap/inbox", delete, remote_keys[0])
    got.refresh_from_db()
    assert got.deleted_at is not None


def test_unsolicited_or_foreign_objects_are_ignored(client, place, remote, remote_keys):
    # Nobody here follows the remote place: its events are not kept.
    _post(client, "/ap/inbox", _create(1), remote_keys[0])
    assert not RemoteObject.objects.exists()
    assert InboxItem.objects.get().state == "ignored"
    Follow.objects.create(place=place, remote=remote, direction="following", state="accepted")
    # An object that claims to live on another instance, or another author, is not taken.
    other_host = _event_doc(2) | {"id": "https://elsewhere.example/events/2"}
    _post(client, "/ap/inbox", _create(2, other_host), remote_keys[0])
    other_author = _event_doc(3) | {"attributedTo": "https://remote.example/ap/someone-else"}
    _post(client, "/ap/inbox", _create(3, other_author), remote_keys[0])
    assert not RemoteObject.objects.exists()


def test_accept_of_our_follow(client, place, remote, remote_keys):
    follow = services.follow_request(place=place, target=REMOTE_ACTOR, by=None)
    assert follow.state == "pending"
    sent = Delivery.objects.get()
    assert sent.inbox == remote.inbox and sent.activity.payload["object"] == REMOTE_ACTOR
    accept = {
        "id": f"{REMOTE_ACTOR}/accepts/1",
        "type": "Accept",
        "actor": REMOTE_ACTOR,
        "object": follow.activity_id,
    }
    assert _post(client, "/ap/etabli/inbox", accept, remote_keys[0]).status_code == 202
    follow.refresh_from_db()
    assert follow.state == "accepted"
    following = client.get("/ap/etabli/following?page=1", headers={"Accept": AP}).json()
    assert following["orderedItems"] == [REMOTE_ACTOR]


# --- Publishing ----------------------------------------------------------------------------


def _follower(place, remote):
    services.local_actor(place)
    Follow.objects.create(place=place, remote=remote, direction="follower", state="accepted")


def test_public_events_are_published_to_followers(
    client, place, remote, django_capture_on_commit_callbacks
):
    _follower(place, remote)
    with django_capture_on_commit_callbacks(execute=True):
        event = make_event(place, title="Atelier vélo")
    create = Activity.objects.get(type="Create")
    assert create.payload["object"]["type"] == "Event"
    assert create.payload["object"]["name"] == "Atelier vélo"
    assert create.payload["object"]["location"]["address"]["addressLocality"] == "Châtellerault"
    # One delivery per instance: the shared inbox.
    assert list(create.deliveries.values_list("inbox", flat=True)) == [remote.shared_inbox]
    with django_capture_on_commit_callbacks(execute=True):
        event.title = "Atelier vélo (complet)"
        event.save()
    with django_capture_on_commit_callbacks(execute=True):
        event.visibility = Event.Visibility.MEMBERS
        event.save()
    types = list(Activity.objects.order_by("id").values_list("type", flat=True))
    assert types == ["Create", "Update", "Delete"]
    # The object's address answers while public, then no more.
    assert (
        client.get(f"/ap/etabli/evenement/{event.uuid}", headers={"Accept": AP}).status_code == 404
    )
    outbox = client.get("/ap/etabli/outbox?page=1", headers={"Accept": AP}).json()
    assert [a["type"] for a in outbox["orderedItems"]] == ["Delete", "Update", "Create"]


def test_members_only_events_and_places_off_the_network_publish_nothing(
    place, remote, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_event(place, title="Sans acteur")  # the place is not on the network yet
    _follower(place, remote)
    with django_capture_on_commit_callbacks(execute=True):
        make_event(place, title="Réservé", visibility=Event.Visibility.MEMBERS)
    assert not Activity.objects.exists()


def test_a_public_event_reads_as_activitypub(client, place):
    event = make_event(place, title="Conférence")
    doc = client.get(f"/ap/etabli/evenement/{event.uuid}", headers={"Accept": AP}).json()
    assert doc["type"] == "Event" and doc["name"] == "Conférence"
    assert doc["attributedTo"] == "http://testserver/ap/etabli"
    assert doc["maximumAttendeeCapacity"] == 10 and doc["joinMode"] == "external"
    browser = client.get(f"/ap/etabli/evenement/{event.uuid}")
    assert browser.status_code == 302 and browser["Location"] == event.get_absolute_url()
    assert client.get(f"/ap/etabli/inconnu/{event.uuid}").status_code == 404


def test_rotating_the_key_tells_the_followers(place, remote):
    _follower(place, remote)
    old = LocalActor.objects.get().public_key_pem
    services.key_rotate(place=place, by=None)
    actor = LocalActor.objects.get()
    assert actor.public_key_pem != old
    update = Activity.objects.get(type="Update")
    assert update.payload["object"]["publicKey"]["publicKeyPem"] == actor.public_key_pem


# --- Delivery: retries with backoff, a place that was down catches up ----------------------


def _queued(place, inbox):
    services.local_actor(place)
    activity = services.activity_publish(
        place=place, kind="Create", obj={"id": "x", "type": "Note"}, inboxes=[inbox]
    )
    return activity.deliveries.get()


def test_a_failed_delivery_is_retried_later_then_lands(place, inbox_server):
    delivery = _queued(place, inbox_server + "/inbox")
    Inbox.answers = [503, 503]
    now = timezone.now()
    assert services.deliver_due(now=now).retried == 1
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.attempts == 1 and delivery.last_status == 503
    first_wait = delivery.next_attempt_at - now
    assert dt.timedelta(seconds=50) < first_wait < dt.timedelta(minutes=2)
    # Not due yet: nothing is sent.
    assert services.deliver_due(now=now + dt.timedelta(seconds=30)).retried == 0
    assert len(Inbox.received) == 1
    services.deliver_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - now > first_wait * 2  # the wait doubles
    # The instance is back: the delivery lands, signed with the place's key.
    assert services.deliver_due(now=delivery.next_attempt_at).sent == 1
    delivery.refresh_from_db()
    assert delivery.state == "done" and delivery.delivered_at is not None
    path, headers, body = Inbox.received[-1]
    signatures.verify(
        method="POST",
        path=path,
        headers=headers,
        body=body,
        public_key_pem=LocalActor.objects.get().public_key_pem,
    )


def test_a_refusing_inbox_or_unsafe_address_is_given_up(place, inbox_server, settings):
    delivery = _queued(place, inbox_server + "/inbox")
    Inbox.answers = [410]
    assert services.deliver_due().failed == 1
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.last_status == 410
    settings.FEDERATION_ALLOW_LOOPBACK = False
    unsafe = _queued(place, inbox_server + "/other")
    assert services.deliver_due().failed == 1
    unsafe.refresh_from_db()
    assert unsafe.state == "failed" and len(Inbox.received) == 1


def test_deliver_command_and_status(place, inbox_server, capsys):
    _queued(place, inbox_server + "/inbox")
    call_command("federation", "deliver", "--once")
    assert "envoyées 1" in capsys.readouterr().out
    call_command("federation", "status")
    out = capsys.readouterr().out
    assert "@etabli@testserver" in out and "1 remis" in out


def test_a_blocked_instance_gets_nothing_more(place, remote):
    _follower(place, remote)
    services.activity_publish(place=place, kind="Create", obj={"id": "x", "type": "Note"})
    services.domain_block(domain="https://remote.example/", reason="spam", by=None)
    assert Delivery.objects.get().state == "failed"
    services.activity_publish(place=place, kind="Create", obj={"id": "y", "type": "Note"})
    assert Delivery.objects.count() == 1  # the blocked follower is no longer an audience
    with pytest.raises(services.InvalidInput):
        services.domain_block(domain="pas un domaine", reason="", by=None)


def test_a_rotated_remote_key_is_fetched_again(client, place, settings, remote_keys):
    """The remote place changed its key: the first signature that fails with the key on
    record makes us fetch its actor again, once, over the network."""
    settings.FEDERATION_ALLOW_LOOPBACK = True
    new_private, new_public = signatures.generate_key_pair()

    class ActorServer(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            url = f"http://127.0.0.1:{self.server.server_address[1]}/ap/fablab"
            body = json.dumps(
                {
                    "id": url,
                    "type": "Group",
                    "preferredUsername": "fablab",
                    "inbox": url + "/inbox",
                    "publicKey": {
                        "id": url + "#main-key",
                        "owner": url,
                        "publicKeyPem": new_public,
                    },
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", AP)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ActorServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ap/fablab"
        RemoteActor.objects.create(
            url=url,
            domain=f"127.0.0.1:{server.server_address[1]}",
            inbox=url + "/inbox",
            key_id=url + "#main-key",
            public_key_pem=remote_keys[1],  # the old key
        )
        follow = {
            "id": url + "/follows/9",
            "type": "Follow",
            "actor": url,
            "object": "http://testserver/ap/etabli",
        }
        answer = _post(client, "/ap/etabli/inbox", follow, new_private, key_id=url + "#main-key")
        assert answer.status_code == 202
        assert RemoteActor.objects.get(url=url).public_key_pem == new_public
        # The old key no longer works.
        again = follow | {"id": url + "/follows/10"}
        refused = _post(client, "/ap/etabli/inbox", again, remote_keys[0], key_id=url + "#main-key")
        assert refused.status_code == 401
    finally:
        server.shutdown()
