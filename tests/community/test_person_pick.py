"""The team's person picker: suggestions as one types, and what is typed resolved to one
person of the place, never a <select> of everybody."""

import pytest
from django.urls import reverse

from conciergerie.community.person_pick import PersonPickField, suggestion_label
from conciergerie.spaces import services as spaces
from tests.conftest import login
from tests.factories import make_person, make_place, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def place():
    return make_place(slug="etabli", name="L'Établi")


@pytest.fixture
def people(place):
    return {
        "lina": make_person(
            place=place, first_name="Lina", last_name="Durand", email="lina@ex.org"
        ),
        "lea": make_person(place=place, first_name="Léa", last_name="Durand", email="lea@ex.org"),
        "sam": make_person(place=place, first_name="Sam", last_name="Petit", email=""),
    }


def suggest(client, place, q):
    return client.get(reverse("community:person_suggest", args=[place.slug]), {"person": q})


def test_suggestions_for_the_team_only(client, place, people):
    login(client, make_user(place=place, role="member", email="m@ex.org"))
    assert suggest(client, place, "dur").status_code == 403
    login(client, make_user(place=place, role="concierge", email="c@ex.org"))
    body = suggest(client, place, "durand").content.decode()
    assert "Léa Durand — lea@ex.org" in body and "Lina Durand — lina@ex.org" in body
    assert "Sam" not in body
    assert suggest(client, place, "lea").content.decode().count("<option") == 1  # accents
    assert suggest(client, place, "").content.decode().strip() == ""


def test_another_place_people_are_never_suggested(client, place, people):
    other = make_place(slug="ailleurs", name="Ailleurs")
    make_person(place=other, first_name="Lina", last_name="Autre", email="la@ex.org")
    login(client, make_user(place=place, role="concierge", email="c@ex.org"))
    assert "Autre" not in suggest(client, place, "lina").content.decode()


@pytest.mark.parametrize(
    ("typed", "who"),
    [
        ("Lina Durand — lina@ex.org", "lina"),  # a suggestion, as chosen
        ("LINA@ex.org", "lina"),
        ("lina durand", "lina"),  # a name only one person has
        ("Sam", "sam"),
    ],
)
def test_what_is_typed_is_one_person(place, people, typed, who):
    field = PersonPickField(place=place)
    assert field.clean(typed) == people[who]
    assert field.clean(suggestion_label(people["sam"])) == people["sam"]  # by its uuid


@pytest.mark.parametrize(
    ("typed", "message"),
    [("Durand", "Plusieurs personnes"), ("Personne Inconnue", "introuvable")],
)
def test_ambiguous_or_unknown_is_a_clear_error(place, people, typed, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=message):
        PersonPickField(place=place).clean(typed)


def test_the_team_booking_form_does_not_list_the_place(client, place, people):
    for i in range(30):
        make_person(place=place, first_name=f"Personne{i:02d}", last_name="Nombreuse")
    room = spaces.resource_create(place=place, by=None, name="Salle", horizon_days=3650)
    login(client, make_user(place=place, role="concierge", email="c@ex.org"))
    body = client.get(reverse("spaces:resource", args=[place.slug, room.uuid])).content.decode()
    assert 'name="person"' in body and "Nombreuse" not in body
