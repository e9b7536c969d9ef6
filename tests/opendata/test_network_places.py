"""Places followed on other instances join the map and the downloads, with their origin."""

import csv
import io
import json

import pytest
from django.urls import reverse

from conciergerie.federation.models import BlockedDomain, Follow
from tests.federation.factories import make_actor, make_follow


@pytest.fixture
def remote(cafe):
    """The local café follows a located place on exemple.org."""
    actor = make_actor(
        domain="exemple.org",
        username="ressourcerie",
        name="La Ressourcerie",
        summary="Un lieu de réemploi.",
        street="2 quai Sud",
        postal_code="44000",
        city="Nantes",
        country="FR",
        latitude=47.21,
        longitude=-1.55,
    )
    make_follow(place=cafe, remote=actor)
    return actor


def test_geojson_holds_the_followed_place_with_its_origin(client, remote):
    data = json.loads(client.get(reverse("opendata:places_geojson")).content)
    features = {f["properties"]["name"]: f for f in data["features"]}
    assert features["Café, Tricot & Cie"]["properties"]["origin"] == "local"
    feature = features["La Ressourcerie"]
    assert feature["id"] == remote.url
    assert feature["geometry"]["coordinates"] == [-1.55, 47.21]
    props = feature["properties"]
    assert props["origin"] == "exemple.org"
    assert props["origin_url"] == "https://exemple.org"
    assert props["url"] == remote.profile_url
    assert props["city"] == "Nantes" and props["description"] == "Un lieu de réemploi."


def test_csv_and_jsonld_hold_the_followed_place(client, remote):
    rows = list(
        csv.DictReader(io.StringIO(client.get(reverse("opendata:places_csv")).content.decode()))
    )
    row = next(r for r in rows if r["NOM_TL"] == "La Ressourcerie")
    assert row["ID"] == remote.url
    assert row["URL"] == remote.profile_url
    assert row["SOURCE"] == "https://exemple.org"
    assert row["LAT"] == "47.210000"
    data = json.loads(client.get(reverse("opendata:places_jsonld")).content)
    items = {e["item"]["name"]: e["item"] for e in data["itemListElement"]}
    assert items["La Ressourcerie"]["url"] == remote.profile_url
    assert items["La Ressourcerie"]["address"]["addressLocality"] == "Nantes"


def test_map_page_says_where_a_network_place_comes_from(client, remote):
    html = client.get(reverse("opendata:map")).content.decode()
    assert f'<a href="{remote.profile_url}">La Ressourcerie</a>' in html
    assert "réseau : exemple.org" in html
    assert 'data-network="réseau :"' in html
    assert "1 lieu sur cette Conciergerie." in html
    assert "1 lieu d'une autre instance du réseau, suivi par un lieu d'ici." in html


@pytest.mark.parametrize("how", ["pending", "blocked_actor", "blocked_domain", "unlocated"])
def test_places_not_followed_blocked_or_nowhere_are_left_out(client, cafe, how):
    actor = make_actor(
        domain="exemple.org", name="La Ressourcerie", latitude=47.2, longitude=-1.5, city="Nantes"
    )
    state = Follow.State.PENDING if how == "pending" else Follow.State.ACCEPTED
    make_follow(place=cafe, remote=actor, state=state)
    if how == "blocked_actor":
        actor.blocked = True
        actor.save()
    elif how == "blocked_domain":
        BlockedDomain.objects.create(domain="exemple.org")
    elif how == "unlocated":
        actor.latitude = actor.longitude = None
        actor.city = ""
        actor.save()
    for name in ("opendata:map", "opendata:places_csv", "opendata:places_geojson"):
        assert "La Ressourcerie" not in client.get(reverse(name)).content.decode(), name


@pytest.mark.parametrize(
    "name",
    ["opendata:map", "opendata:places_geojson", "opendata:places_csv", "opendata:places_jsonld"],
)
def test_network_places_keep_the_pages_flat(client, cafe, django_assert_num_queries, name):
    def seed(n, start=0):
        for i in range(start, start + n):
            actor = make_actor(name=f"Distant {i}", latitude=47 + i / 100, longitude=-1.5)
            make_follow(place=cafe, remote=actor)

    url = reverse(name)
    seed(1)
    with django_assert_num_queries(2):
        assert client.get(url).status_code == 200
    seed(9, start=1)
    with django_assert_num_queries(2):
        response = client.get(url)
    assert response.content.decode().count("Distant ") >= 10
