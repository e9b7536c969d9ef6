"""Pages and endpoints of the aiguillage whose query count must not grow with the data:
the public suggestions (page and API) and the team's list of aiguilleurs."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conciergerie.commons.services.aiguillage import aiguilleur_set
from tests.commons.conftest import make_commons
from tests.conftest import login
from tests.factories import make_person, make_place, make_user

pytestmark = pytest.mark.django_db

NEED = "gérer les adhésions et la comptabilité de l'association"


def count(call):
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), response


def grow(place, n):
    """n more commons answering the need, n more aiguilleurs and n skilled members."""
    for _ in range(n):
        i = place.commons.count() + 1
        make_commons(place, name=f"Gestion {i}", slug=f"gestion-{i}", url=f"https://ex.org/{i}")
        guide = make_person(place=place, name_visibility="public")
        aiguilleur_set(place=place, person=guide, by=None, domains=["gestion associative"])
        make_person(
            place=place,
            skills=["comptabilité"],
            name_visibility="public",
            skills_visibility="public",
        )


def test_the_suggestions_page_and_api_read_a_fixed_number_of_queries(client):
    place = make_place()
    grow(place, 1)
    page = f"/lieux/{place.slug}/communs/aiguillage/"
    api = f"/api/v1/aiguillage?place={place.slug}"

    def ask_page():
        return client.get(page, {"need": NEED})

    def ask_api():
        return client.post(api, json.dumps({"need": NEED}), content_type="application/json")

    page_one, _r = count(ask_page)
    api_one, first = count(ask_api)
    grow(place, 4)
    page_five, response = count(ask_page)
    api_five, later = count(ask_api)
    assert len(later.json()["suggestions"]) > len(first.json()["suggestions"])
    assert "Gestion 5" in response.content.decode()
    assert (page_five, api_five) == (page_one, api_one)


def test_the_aiguilleurs_page_reads_a_fixed_number_of_queries(client):
    place = make_place()
    login(client, make_user(place=place, role="concierge"))
    grow(place, 1)
    path = f"/lieux/{place.slug}/communs/aiguillage/aiguilleurs/"
    one, _r = count(lambda: client.get(path))
    grow(place, 4)
    five, response = count(lambda: client.get(path))
    assert response.content.decode().count("gestion associative") >= 5
    assert five == one
