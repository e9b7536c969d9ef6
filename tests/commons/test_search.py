"""French full-text search over the catalogue, on SQLite (FTS5) and PostgreSQL alike."""

from __future__ import annotations

import pytest

from conciergerie.commons.models import Commons
from conciergerie.commons.selectors.catalogue import commons_search
from conciergerie.commons.services.catalogue import commons_set_status, commons_update
from tests.commons.conftest import commons_data, make_commons
from tests.factories import make_place

pytestmark = pytest.mark.django_db


def names(place, q, **kw):
    return [c.name for c in commons_search(place=place, q=q, **kw).commons]


@pytest.fixture
def catalogue():
    place = make_place()
    make_commons(place)
    make_commons(
        place,
        name="Jitsi Meet",
        slug="jitsi-meet",
        summary="Visioconférence sans compte, dans le navigateur.",
        description="Des réunions à distance avec vidéo et partage d'écran.",
        url="https://meet.jit.si",
        actions=["travailler", "animer"],
        domains=["visioconférence"],
        tags=["réunion à distance", "visio"],
    )
    make_commons(
        place,
        name="OpenStreetMap",
        slug="openstreetmap",
        summary="La carte du monde libre et collaborative.",
        description="Cartographier les lieux du territoire; des données ouvertes sous ODbL.",
        url="https://www.openstreetmap.org",
        kind="communaute",
        actions=["documenter"],
        domains=["cartographie"],
        tags=["carte", "données ouvertes"],
    )
    return place


def test_accents_case_and_plurals_do_not_matter(catalogue):
    assert names(catalogue, "adhesion") == ["Paheko"]
    assert names(catalogue, "ADHÉSIONS") == ["Paheko"]
    assert names(catalogue, "cartes") == ["OpenStreetMap"]


def test_derived_words_meet(catalogue):
    # "réunions" in the description, "réunion" typed; "cartographie" from "cartographier".
    assert names(catalogue, "reunion") == ["Jitsi Meet"]
    assert names(catalogue, "cartographie") == ["OpenStreetMap"]


def test_a_typo_is_corrected_and_said(catalogue):
    results = commons_search(place=catalogue, q="comptabilte")
    assert [c.name for c in results.commons] == ["Paheko"]
    assert results.fixes == [("comptabilte", "comptabilite")]


def test_all_words_first_then_any(catalogue):
    assert names(catalogue, "visio reunion") == ["Jitsi Meet"]
    # No commons has both words: each one that has either comes back.
    assert sorted(names(catalogue, "visio cotisations")) == ["Jitsi Meet", "Paheko"]


def test_the_name_weighs_more_than_the_description(catalogue):
    make_commons(
        catalogue,
        name="Carte blanche",
        slug="carte-blanche",
        summary="Un atelier d'écriture.",
        description="Rien à voir.",
        url="https://example.org/cb",
        kind="methode",
        actions=["animer"],
        tags=[],
        domains=[],
    )
    assert names(catalogue, "carte")[0] == "Carte blanche"


def test_filters_and_statuses(catalogue):
    assert names(catalogue, "", kind="communaute") == ["OpenStreetMap"]
    assert names(catalogue, "", action="animer") == ["Jitsi Meet"]
    assert names(catalogue, "", domain="cartographie") == ["OpenStreetMap"]
    osm = Commons.objects.get(slug="openstreetmap")
    commons_set_status(commons=osm, status=Commons.Status.ARCHIVED, by=None)
    assert names(catalogue, "carte") == []


def test_an_edit_is_searchable_at_once(catalogue):
    paheko = Commons.objects.get(slug="paheko")
    commons_update(commons=paheko, data=commons_data(tags=["reçus fiscaux"]), by=None)
    assert names(catalogue, "recus fiscaux") == ["Paheko"]


def test_one_place_never_finds_another_places_commons(catalogue):
    other = make_place()
    assert names(other, "adhesion") == []
    assert names(other, "") == []


def test_a_match_in_the_summary_or_keywords_comes_before_one_in_the_description(catalogue):
    make_commons(
        catalogue,
        name="Wiki des recettes",
        slug="wiki-recettes",
        summary="Documenter ce qu'on fait.",
        description="On y parle de cartographie " * 20,  # many times, but only here
        url="https://example.org/wiki",
        kind="methode",
        actions=["documenter"],
        tags=[],
        domains=[],
    )
    assert names(catalogue, "cartographie") == ["OpenStreetMap", "Wiki des recettes"]


def test_filters_apply_inside_the_ranking(catalogue):
    assert names(catalogue, "visio cotisations", action="travailler") == ["Jitsi Meet"]
    assert names(catalogue, "visio cotisations", domain="gestion-associative") == ["Paheko"]
    assert names(catalogue, "visio", domain="inconnu") == []
