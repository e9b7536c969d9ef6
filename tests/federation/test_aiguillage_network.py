"""The aiguillage also suggests commons of the places a place follows, and whom to contact."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_place
from tests.federation.factories import make_actor, make_follow, make_object

pytestmark = pytest.mark.django_db


def _ask(client, place, need):
    url = reverse("commons:aiguillage", kwargs={"place_slug": place.slug})
    return client.get(url, {"need": need})


def test_remote_commons_and_their_place_are_suggested(client):
    place = make_place(slug="etabli")
    fablab = make_actor(domain="fablab.example", username="fablab", name="Le Fablab du Clain")
    make_follow(place=place, remote=fablab)
    make_object(
        actor=fablab,
        name="Dolibarr pour les associations",
        summary="Gérer adhésions et cotisations d'une association",
    )
    make_object(actor=fablab, name="Découpe laser", summary="Machine à découper")
    page = _ask(client, place, "un logiciel pour gérer les adhésions de mon association")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dans le réseau" in html
    assert "Dolibarr pour les associations" in html
    assert "Le Fablab du Clain" in html and "fablab@fablab.example" in html
    assert "Découpe laser" not in html


def test_nothing_from_places_not_followed(client):
    place = make_place(slug="etabli")
    stranger = make_actor(domain="ailleurs.example", name="Un lieu inconnu")
    make_follow(place=place, remote=stranger, state="pending")
    make_object(actor=stranger, name="Dolibarr pour les associations")
    html = _ask(client, place, "gérer les adhésions de mon association").content.decode()
    assert "Dans le réseau" not in html and "Dolibarr" not in html


def test_the_network_suggestions_do_not_grow_the_query_count(client):
    """One place followed with one matching commons, then three places with twelve: the page
    makes the same number of queries."""
    place = make_place(slug="etabli")

    def add(n):
        actor = make_actor(domain=f"lieu{n}.example")
        make_follow(place=place, remote=actor)
        for i in range(4 if n else 1):
            make_object(actor=actor, name=f"Dolibarr {n}-{i}", summary="Gérer les adhésions")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            html = _ask(client, place, "gérer les adhésions").content.decode()
        assert "Dans le réseau" in html
        return len(ctx.captured_queries)

    add(0)
    few = count()
    for n in (1, 2, 3):
        add(n)
    assert count() == few
