"""The ActivityPub GET endpoints read as many rows with one follower or activity as with
twenty: their query counts are pinned and do not grow with the place's network."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conciergerie.commons.services.pages import page_create
from conciergerie.federation import services
from conciergerie.federation.models import Follow
from tests.commons.conftest import make_commons
from tests.events.conftest import make_event
from tests.factories import make_place
from tests.federation.factories import AP, make_actor, make_follow

pytestmark = pytest.mark.django_db

FEW, MANY = 1, 20  # 20 fills the first page of a collection
_seq = itertools.count(1)


def _grow(place, n):
    """n more of everything the endpoints could read per row: followers, followed places,
    public activities, and public events, commons and pages."""
    for _i in range(n):
        make_follow(place=place, remote=make_actor(), direction=Follow.Direction.FOLLOWER)
        make_follow(place=place, remote=make_actor())
        services.activity_publish(place=place, kind="Create", obj={"type": "Note"}, inboxes=[])
        make_event(place)
        n = next(_seq)
        make_commons(place, name=f"Commun {n}")
        page_create(place=place, by=None, title=f"Recette {n}", body="Texte.")


@pytest.fixture
def place(settings):
    settings.BASE_URL = "http://testserver"
    place = make_place(slug="etabli", name="L'Établi", city="Châtellerault")
    services.local_actor(place)
    return place


@pytest.fixture
def shown(place):
    """One public event, commons and page whose ActivityPub documents are asked for."""
    return {
        "evenement": make_event(place, title="Atelier vélo"),
        "commun": make_commons(place),  # validated
        "page": page_create(place=place, by=None, title="Statuts", body="Texte."),
    }


# name → (path, query string, pinned query count)
ENDPOINTS = {
    "webfinger": ("/.well-known/webfinger", {"resource": "acct:etabli@testserver"}, 1),
    "nodeinfo": ("/nodeinfo/2.1", {}, 2),
    "actor": ("/ap/etabli", {}, 2),
    "outbox": ("/ap/etabli/outbox", {}, 2),
    "outbox page": ("/ap/etabli/outbox", {"page": "1"}, 3),
    "followers": ("/ap/etabli/followers", {}, 2),
    "followers page": ("/ap/etabli/followers", {"page": "1"}, 3),
    "following": ("/ap/etabli/following", {}, 2),
    "following page": ("/ap/etabli/following", {"page": "1"}, 3),
    "event": ("/ap/etabli/evenement/{evenement}", {}, 2),
    "commons": ("/ap/etabli/commun/{commun}", {}, 2),
    "page": ("/ap/etabli/page/{page}", {}, 2),
}


def _count(client, path, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params, headers={"Accept": AP})
    assert response.status_code == 200, (path, response.status_code)
    return len(queries), response


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_ap_endpoints_are_flat_in_queries(client, place, shown, name):
    path, params, pinned = ENDPOINTS[name]
    path = path.format(**{kind: obj.uuid for kind, obj in shown.items()})
    _grow(place, FEW)
    few, _response = _count(client, path, params)
    _grow(place, MANY - FEW)
    many, response = _count(client, path, params)
    assert (few, many) == (pinned, pinned)
    if "page" in params:
        assert len(response.json()["orderedItems"]) == MANY  # the rows were there to read
