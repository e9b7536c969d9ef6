"""Signed GETs of the ActivityPub endpoints ("authorized fetch"): a signature, when there is
one, is verified as an inbox POST's is; blocked instances and accounts get 403 even when
they sign; with FEDERATION_AUTHORIZED_FETCH an unsigned JSON GET gets 401."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conciergerie.federation import fetch, services, signatures
from conciergerie.federation.models import BlockedDomain, Follow
from tests.events.conftest import make_event
from tests.factories import make_place
from tests.federation.factories import AP, make_actor, make_follow

pytestmark = pytest.mark.django_db

OUTBOX = "/ap/etabli/outbox"


@pytest.fixture(scope="module")
def keys():
    return signatures.generate_key_pair()


@pytest.fixture
def place(settings):
    settings.BASE_URL = "http://testserver"
    place = make_place(slug="etabli", name="L'Établi", city="Châtellerault")
    services.local_actor(place)
    return place


@pytest.fixture
def remote(keys):
    actor = make_actor(domain="remote.example", public_key_pem=keys[1])
    actor.key_id = actor.url + "#main-key"
    actor.save(update_fields=["key_id"])
    return actor


@pytest.fixture
def fetches(monkeypatch):
    """The signer's actor is never fetched over the network here: a fetch fails, and is
    counted."""
    calls = []

    def get_json(url, **kwargs):
        calls.append(url)
        raise fetch.FetchError("no network in tests")

    monkeypatch.setattr(fetch, "get_json", get_json)
    return calls


def _get(client, path, private_key, key_id, *, now=None, accept=AP):
    headers = signatures.sign_headers(
        method="GET",
        url=f"http://testserver{path}",
        body=None,
        key_id=key_id,
        private_key_pem=private_key,
        now=now,
        accept=accept,
    )
    return client.get(path, headers=headers)


def test_unsigned_get_is_served_when_the_setting_is_off(client, place):
    assert client.get(OUTBOX, headers={"Accept": AP}).status_code == 200
    assert client.get("/ap/etabli", headers={"Accept": AP}).status_code == 200


def test_authorized_fetch_refuses_unsigned_json(client, place, settings):
    settings.FEDERATION_AUTHORIZED_FETCH = True
    event = make_event(place, title="Atelier vélo")
    for path in (OUTBOX, "/ap/etabli/followers", "/ap/etabli/following"):
        response = client.get(path, headers={"Accept": AP})
        assert response.status_code == 401, path
        assert response.json() == {"detail": "signature required"}
    # Collections have no HTML page: leaving out the Accept header does not get around it.
    assert client.get(OUTBOX).status_code == 401
    object_path = f"/ap/etabli/evenement/{event.uuid}"
    assert client.get(object_path, headers={"Accept": AP}).status_code == 401
    # A browser is still sent to the HTML pages.
    response = client.get(object_path, headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response["Location"] == event.get_absolute_url()
    response = client.get("/ap/etabli", headers={"Accept": "text/html"})
    assert response.status_code == 302 and response["Location"] == place.get_absolute_url()
    # The actor carries the key every signature check needs: it stays readable.
    assert client.get("/ap/etabli", headers={"Accept": AP}).status_code == 200


@pytest.mark.parametrize("authorized_fetch", [False, True])
def test_a_valid_signed_get_is_served(
    client, place, remote, keys, fetches, settings, authorized_fetch
):
    settings.FEDERATION_AUTHORIZED_FETCH = authorized_fetch
    event = make_event(place, title="Atelier vélo")
    for path in (
        OUTBOX,
        OUTBOX + "?page=1",
        "/ap/etabli/followers",
        f"/ap/etabli/evenement/{event.uuid}",
        "/ap/etabli",
    ):
        response = _get(client, path, keys[0], remote.key_id)
        assert response.status_code == 200, (path, response.content)
    assert fetches == []  # the stored key was enough


def test_a_forged_signature_is_refused(client, place, remote, fetches):
    other_key = signatures.generate_key_pair()[0]
    response = _get(client, OUTBOX, other_key, remote.key_id)
    assert response.status_code == 401
    assert fetches == [remote.url]  # the key may have been rotated: fetched again, once


def test_an_expired_request_from_an_unknown_signer_fetches_nothing(client, place, keys, fetches):
    old = timezone.now() - dt.timedelta(hours=3)
    response = _get(
        client, OUTBOX, keys[0], "https://ailleurs.example/ap/inconnu#main-key", now=old
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "expired"}
    assert fetches == []


def test_an_unknown_signer_that_cannot_be_fetched_is_refused(client, place, fetches, keys):
    key_id = "https://ailleurs.example/ap/inconnu#main-key"
    response = _get(client, OUTBOX, keys[0], key_id)
    assert response.status_code == 401
    assert fetches == ["https://ailleurs.example/ap/inconnu"]


def test_an_expired_signature_is_refused(client, place, remote, keys, fetches):
    old = timezone.now() - dt.timedelta(hours=3)
    for path in (OUTBOX, "/ap/etabli"):
        response = _get(client, path, keys[0], remote.key_id, now=old)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "expired"}
    assert fetches == []


def test_a_signature_must_cover_the_request_target_and_host(client, place, remote, keys, fetches):
    headers = signatures.sign_headers(
        method="GET",
        url=f"http://testserver{OUTBOX}",
        body=None,
        key_id=remote.key_id,
        private_key_pem=keys[0],
    )
    headers["Signature"] = headers["Signature"].replace("(request-target) host ", "")
    assert client.get(OUTBOX, headers=headers).status_code == 401
    assert fetches == []  # refused on its form: the signer is not fetched again
    response = client.get("/ap/etabli", headers=headers)  # checked without the key
    assert response.status_code == 401
    assert response.json()["detail"] == "missing signed header: (request-target)"


@pytest.mark.parametrize("path", [OUTBOX, "/ap/etabli"])
def test_a_blocked_instance_that_signs_gets_403(client, place, remote, keys, fetches, path):
    BlockedDomain.objects.create(domain="remote.example")
    response = _get(client, path, keys[0], remote.key_id)
    assert response.status_code == 403
    assert response.json() == {"detail": "instance blocked"}
    # Even a signer we never met: nothing is fetched from a blocked instance.
    response = _get(client, path, keys[0], "https://sub.remote.example/ap/x#main-key")
    assert response.status_code == 403
    assert fetches == []


@pytest.mark.parametrize("path", [OUTBOX, "/ap/etabli"])
def test_a_blocked_account_that_signs_gets_403(client, place, remote, keys, fetches, path):
    remote.blocked = True
    remote.save(update_fields=["blocked"])
    response = _get(client, path, keys[0], remote.key_id)
    assert response.status_code == 403
    assert response.json() == {"detail": "actor blocked"}


def test_the_actor_never_fetches_an_unknown_signer(client, place, keys, fetches):
    """Another instance fetching our key signs with its own, which we may not know yet:
    fetching it from here could loop between two instances checking signatures."""
    key_id = "https://ailleurs.example/ap/inconnu#main-key"
    response = _get(client, "/ap/etabli", keys[0], key_id)
    assert response.status_code == 200
    assert response.json()["publicKey"]["publicKeyPem"]
    assert fetches == []


@pytest.mark.parametrize("path", ["/ap/etabli", "/ap/etabli/followers?page=1"])
def test_a_signed_get_is_flat_in_queries(client, place, remote, keys, fetches, path):
    def count():
        with CaptureQueriesContext(connection) as queries:
            response = _get(client, path, keys[0], remote.key_id)
        assert response.status_code == 200
        return len(queries)

    make_follow(place=place, remote=make_actor(), direction=Follow.Direction.FOLLOWER)
    few = count()
    for _i in range(19):
        make_follow(place=place, remote=make_actor(), direction=Follow.Direction.FOLLOWER)
    assert count() == few
    assert fetches == []
