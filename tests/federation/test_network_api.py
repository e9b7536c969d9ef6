"""GET /api/v1/network/events and /api/v1/network/commons: what a place receives."""

from __future__ import annotations

import datetime as dt

import pytest

from conciergerie.federation.models import Follow, RemoteObject
from tests.factories import make_place
from tests.federation.factories import make_actor, make_event, make_follow, make_object


@pytest.fixture
def setup(db):
    a = make_place(slug="fabrique", name="La Fabrique")
    b = make_place(slug="autre", name="Autre")
    x = make_actor(domain="exemple.org", username="ressourcerie", name="La Ressourcerie")
    make_follow(place=a, remote=x)
    return a, b, x


def test_events_answer_with_their_origin(client, setup):
    a, b, x = setup
    event = make_event(
        actor=x,
        name="Atelier vélo",
        summary="On répare.",
        location="Nantes",
        start_at=dt.datetime(2031, 5, 6, 16, 30, tzinfo=dt.UTC),
        end_at=dt.datetime(2031, 5, 6, 18, tzinfo=dt.UTC),
    )
    make_event(actor=x, name="Passé", in_days=-3)
    response = client.get("/api/v1/network/events", {"place": "fabrique"})
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    (item,) = data["items"]
    assert item == {
        "id": event.ap_id,
        "kind": "event",
        "name": "Atelier vélo",
        "summary": "On répare.",
        "url": event.url,
        "start": "2031-05-06T18:30:00+02:00",  # the place's zone
        "end": "2031-05-06T20:00:00+02:00",
        "location": "Nantes",
        "origin": {
            "name": "La Ressourcerie",
            "handle": "@ressourcerie@exemple.org",
            "domain": "exemple.org",
            "url": x.profile_url,
        },
    }
    # Another place follows nobody: it receives nothing.
    assert client.get("/api/v1/network/events", {"place": b.slug}).json() == {
        "count": 0,
        "items": [],
    }
    later = {"place": "fabrique", "start": "2031-06-01T00:00:00+02:00"}
    assert client.get("/api/v1/network/events", later).json()["count"] == 0
    naive = {"place": "fabrique", "start": "2031-05-06T19:00:00"}  # the place's zone
    assert client.get("/api/v1/network/events", naive).json()["count"] == 1


def test_commons_search_ignores_accents_and_keeps_tenancy(client, setup):
    a, b, x = setup
    found = make_object(actor=x, name="Café réparation", tags=["vélo"])
    make_object(actor=x, kind=RemoteObject.Kind.PAGE, name="Statuts types")
    make_object(actor=x, name="Effacé", deleted_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    pending = make_actor(domain="attente.example")
    make_follow(place=a, remote=pending, state=Follow.State.PENDING)
    make_object(actor=pending, name="Café en attente")
    data = client.get("/api/v1/network/commons", {"place": "fabrique", "q": "cafe"}).json()
    assert [i["name"] for i in data["items"]] == ["Café réparation"]
    item = data["items"][0]
    assert item["id"] == found.ap_id and item["kind"] == "commons"
    assert item["start"] is None and item["origin"]["domain"] == "exemple.org"
    everything = client.get("/api/v1/network/commons", {"place": "fabrique"}).json()
    assert sorted(i["name"] for i in everything["items"]) == ["Café réparation", "Statuts types"]
    other = client.get("/api/v1/network/commons", {"place": b.slug, "q": "cafe"}).json()
    assert other["items"] == []


def test_bad_parameters_are_400_with_field_errors(client, setup):
    response = client.get("/api/v1/network/commons", {"place": "fabrique", "q": "x" * 201})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"q": ["Texte trop long."]}
    assert "detail" in body
    ok = client.get("/api/v1/network/commons", {"place": "fabrique", "q": "x" * 200})
    assert ok.status_code == 200
    response = client.get("/api/v1/network/events", {"place": "fabrique", "limit": 0})
    assert response.status_code == 400 and "limit" in response.json()["errors"]
    assert client.get("/api/v1/network/events", {"place": "nulle-part"}).status_code == 404
    missing = client.get("/api/v1/network/events")  # no place, no token
    assert missing.status_code == 400 and "place" in missing.json()["errors"]


def test_openapi_lists_the_endpoints(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/network/events"]
    assert "get" in paths["/api/v1/network/commons"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/network/events", {}),
        ("/api/v1/network/commons", {}),
        ("/api/v1/network/commons", {"q": "cafe"}),
    ],
)
def test_endpoints_are_flat_in_queries(client, setup, django_assert_num_queries, path, params):
    a, _b, x = setup

    def seed(n, start=0):
        for i in range(start, start + n):
            make_event(actor=x, name=f"Café {i}", in_days=1 + i)
            make_object(actor=x, name=f"Café {i}")

    seed(1)
    with django_assert_num_queries(2):  # the place, the items with their origin
        response = client.get(path, {"place": "fabrique", **params})
    assert response.json()["count"] == 1
    seed(9, start=1)
    with django_assert_num_queries(2):
        response = client.get(path, {"place": "fabrique", **params})
    assert response.json()["count"] == 10
