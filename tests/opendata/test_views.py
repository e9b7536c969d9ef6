"""The open-data pages: the map of places, the data page, and the place page's JSON-LD."""

import json
import re

from django.conf import settings
from django.urls import reverse

from conciergerie.opendata.exports import CSV_HEADER
from tests.conftest import login
from tests.factories import make_place, make_user
from tests.opendata.conftest import seed

LD_SCRIPT = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def test_map_page_lists_every_place_without_javascript(client, cafe, nowhere):
    response = client.get(reverse("opendata:map"))
    assert response.status_code == 200
    html = response.content.decode()
    # The server-side list: a link to each place's page, its city and typology.
    assert f'<a href="{settings.BASE_URL}/lieux/cafe-tricot/">Café, Tricot &amp; Cie</a>' in html
    assert "Lyon · Tiers-lieu culturel" in html
    assert f'<a href="{settings.BASE_URL}/lieux/sans-carte/">Sans Carte</a>' in html  # unlocated
    assert "Die · Fablab / makerspace / hackerspace" in html
    # The map: hidden until map.js runs, pointed at the GeoJSON.
    assert 'id="carte"' in html and " hidden" in html
    assert f'data-geojson="{reverse("opendata:places_geojson")}"' in html
    assert "/static/opendata/leaflet/leaflet.js" in html
    assert "/static/opendata/map.js" in html
    assert "tile.openstreetmap.org" in html and "OpenStreetMap" in html
    # The three downloads.
    for name in ("places_csv", "places_geojson", "places_jsonld"):
        assert f'href="{reverse("opendata:" + name)}"' in html


def test_map_page_of_an_empty_instance(client, db):
    response = client.get(reverse("opendata:map"))
    assert response.status_code == 200
    assert "Aucun lieu pour l'instant." in response.content.decode()


def test_map_page_is_flat_in_queries(client, db, django_assert_num_queries):
    url = reverse("opendata:map")
    seed(1)
    # The instance's places, then the places they follow elsewhere: two queries.
    with django_assert_num_queries(2):
        assert client.get(url).status_code == 200
    seed(9, start=1)
    with django_assert_num_queries(2):
        response = client.get(url)
    assert response.content.decode().count(f'<a href="{settings.BASE_URL}/lieux/semis-') == 10


def test_map_page_for_a_logged_in_visitor(client, cafe):
    login(client, make_user())
    assert client.get(reverse("opendata:map")).status_code == 200


def test_leaflet_is_served_with_its_licence(client, db):
    for path in ("leaflet.js", "leaflet.css", "images/marker-icon.png", "LICENSE"):
        response = client.get(f"/static/opendata/leaflet/{path}")
        assert response.status_code == 200, path
        b"".join(response.streaming_content)
    assert client.get("/static/opendata/map.js").status_code == 200


def test_data_page_states_the_licence_and_the_columns(client, db):
    response = client.get(reverse("opendata:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Licence Ouverte / Open Licence version 2.0 (Etalab)" in html
    assert "https://www.etalab.gouv.fr/licence-ouverte-open-licence/" in html
    for name in CSV_HEADER:
        assert f"<code>{name}</code>" in html, name
    for name in ("places_csv", "places_geojson", "places_jsonld", "map"):
        assert f'href="{reverse("opendata:" + name)}"' in html


# --- The place page's JSON-LD --------------------------------------------------------------------


def place_page_jsonld(client, place):
    response = client.get(place.get_absolute_url())
    assert response.status_code == 200
    scripts = LD_SCRIPT.findall(response.content.decode())
    assert len(scripts) == 1
    return json.loads(scripts[0])


def test_place_page_carries_its_jsonld(client, cafe):
    data = place_page_jsonld(client, cafe)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "LocalBusiness"
    assert data["name"] == "Café, Tricot & Cie"
    assert data["url"] == settings.BASE_URL + "/lieux/cafe-tricot/"
    assert data["address"]["addressLocality"] == "Lyon"
    assert data["geo"]["longitude"] == 4.835659


def test_a_script_tag_in_a_name_cannot_break_out(client, db):
    name = '</script><script>alert("x")</script><!--'
    place = make_place(slug="piege", name=name, description="</SCRIPT> & <b>gras</b>")
    response = client.get(place.get_absolute_url())
    html = response.content.decode()
    # The JSON-LD block ends where it should, and still reads back the exact name.
    data = place_page_jsonld(client, place)
    assert data["name"] == name
    assert "\\u003c/script\\u003e" in html
    assert '<script>alert("x")</script>' not in html
