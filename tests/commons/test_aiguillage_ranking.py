"""Aiguillage ranking: a need in French → commons and people to call, each with why."""

from __future__ import annotations

import pytest

from conciergerie.commons.models import Aiguilleur
from conciergerie.commons.selectors.aiguillage import clean_request, suggest
from conciergerie.commons.services.catalogue import domains_for
from conciergerie.core.errors import InvalidInput
from conciergerie.core.permissions import Level
from tests.commons.conftest import make_commons
from tests.factories import make_person, make_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def place():
    place = make_place()
    make_commons(place)  # Paheko: adhésions, comptabilité
    make_commons(
        place,
        name="Dolibarr",
        slug="dolibarr",
        summary="Gestion d'entreprise : devis, factures, stocks.",
        description="Pour la facturation et la gestion commerciale.",
        url="https://www.dolibarr.org",
        tags=["factures", "devis"],
        domains=["gestion"],
        grid={"complexity": 4, "adoption_time": "semaines"},
    )
    make_commons(
        place,
        name="Jitsi Meet",
        slug="jitsi-meet",
        summary="Visioconférence sans compte.",
        description="Des réunions à distance.",
        url="https://meet.jit.si",
        actions=["travailler"],
        tags=["visio", "réunion à distance"],
        domains=["visioconférence"],
        grid={"complexity": 1, "adoption_time": "heures"},
    )
    return place


def test_bad_requests_get_field_errors():
    with pytest.raises(InvalidInput) as err:
        clean_request("  ", {"budget": "infini", "couleur": "bleu"})
    assert set(err.value.errors) == {"need", "answers.budget", "answers.couleur"}
    with pytest.raises(InvalidInput) as err:
        clean_request("et de la", None)  # only empty words
    assert "need" in err.value.errors
    with pytest.raises(InvalidInput):
        clean_request("x" * 2001, {})
    assert clean_request(" visio ", {"urgency": "urgent", "skills": ""}) == (
        "visio",
        {"urgency": "urgent"},
    )


def test_commons_come_first_with_reasons_quoting_the_need(place):
    found = suggest(place=place, need="On veut gérer les adhésions de notre asso")
    assert found[0].type == "commons" and found[0].name == "Paheko"
    assert "« adhésions »" in found[0].reason


def test_guided_answers_move_the_ranking(place):
    need = "gestion des factures et des adhésions"
    plain = [s.name for s in suggest(place=place, need=need) if s.type == "commons"]
    assert plain[0] == "Dolibarr"  # "factures" in its name's summary and tags
    # No technical person in the team: the complex one goes down.
    easy = [
        s.name
        for s in suggest(place=place, need=need, answers={"skills": "aucune"})
        if s.type == "commons"
    ]
    assert easy[0] == "Paheko"


def test_aiguilleurs_of_the_domain_come_first_then_skilled_members(place):
    ana = make_person(place=place, first_name="Ana", last_name="Lopez")
    ana.name_visibility = "public"
    ana.save(update_fields=["name_visibility"])
    guide = Aiguilleur.objects.create(place=place, person=ana, availability="le mardi")
    guide.domains.set(domains_for(place=place, names=["gestion associative"]))
    bob = make_person(place=place, first_name="Bob", last_name="Martin", skills=["comptabilité"])
    found = suggest(place=place, need="la comptabilité de l'asso", level=Level.CONCIERGE)
    people = [s for s in found if s.type == "person"]
    assert [p.name for p in people] == ["Ana Lopez", "Bob Martin"]
    assert "gestion associative" in people[0].reason and "le mardi" in people[0].reason
    assert "comptabilité" in people[1].reason
    # A visitor does not get Bob: his skills are not public.
    visitor = [s.name for s in suggest(place=place, need="la comptabilité") if s.type == "person"]
    assert visitor == ["Ana Lopez"]
    assert bob.skills_visibility != "public"


def test_another_place_gets_nothing_from_this_one(place):
    assert suggest(place=make_place(), need="gérer les adhésions") == []
