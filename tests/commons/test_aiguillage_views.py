"""Aiguillage pages: the public need form and "être recontacté·e", the aiguilleurs' queue,
recording an orientation and its follow-up, managing the aiguilleurs."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.commons.models import Aiguilleur, Orientation
from conciergerie.commons.selectors.orientations import place_today
from conciergerie.commons.services import aiguillage as services
from conciergerie.core.models import OutboxMessage
from tests.commons.conftest import make_commons
from tests.commons.test_aiguillage_services import make_aiguilleur_user, member_with_person
from tests.conftest import login
from tests.factories import make_person, make_user

pytestmark = pytest.mark.django_db

Outcome = Orientation.Outcome
NEED = "on veut gérer les adhésions et la compta de notre asso"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def url(name, place, **kwargs):
    return reverse(f"commons:{name}", kwargs={"place_slug": place.slug, **kwargs})


def text(response):
    return html.unescape(response.content.decode())


@pytest.fixture
def paheko(place):
    return make_commons(place)


@pytest.fixture
def aiguilleur_user(place):
    """Camille, a plain member and an active aiguilleur; members may read her name."""
    return make_aiguilleur_user(place, last_name="Rivière", name_visibility="members")


@pytest.fixture
def aiguilleur_client(aiguilleur_user):
    return login(Client(), aiguilleur_user)


def visitor_request(place, **kw):
    kw.setdefault("suggestions", [])
    return services.orientation_request(
        place=place,
        need=NEED,
        answers={"action": "gerer"},
        contact_name="Lina",
        contact_email="lina@example.org",
        **kw,
    )


# --- The public need form ---------------------------------------------------------------------


def test_a_visitor_describes_a_need_and_gets_commons_and_a_person_to_call(
    client, place, paheko, aiguilleur_user
):
    response = client.get(url("aiguillage", place))
    assert response.status_code == 200
    assert "Décrivez votre besoin" in text(response)

    response = client.get(url("aiguillage", place), {"need": NEED, "action": "gerer"})
    body = text(response)
    assert response.status_code == 200
    assert f'href="{paheko.get_absolute_url()}"' in body
    assert paheko.summary in body and "pour « Gérer »" in body
    assert "Personnes à appeler" in body and "Camille" in body
    assert "Rivière" not in body  # a visitor gets the first name only
    person_url = aiguilleur_user.people.get().get_absolute_url()
    assert person_url not in body  # and no link to a page they may not open
    assert "Être recontacté·e" in body


def test_members_get_a_link_to_the_person_and_a_prefilled_form(
    client, place, paheko, aiguilleur_user
):
    user = member_with_person(place, "lina@example.org", first_name="Lina", last_name="Martin")
    login(client, user)
    body = text(client.get(url("aiguillage", place), {"need": NEED}))
    assert f'href="{aiguilleur_user.people.get().get_absolute_url()}"' in body
    assert "Camille Rivière" in body
    assert 'value="Lina Martin"' in body and 'value="lina@example.org"' in body


def test_an_empty_need_says_what_to_do(client, place):
    response = client.get(url("aiguillage", place), {"need": "  "})
    assert response.status_code == 200
    body = text(response)
    assert "Décrivez votre besoin en quelques mots." in body
    assert "Être recontacté·e" not in body.split("</form>", 1)[1]
    response = client.get(url("aiguillage", place), {"need": "x", "budget": "infini"})
    assert response.status_code == 200
    assert "errorlist" in text(response)


def test_a_visitor_asks_to_be_called_back(client, place, paheko, aiguilleur_user):
    data = {"need": NEED, "action": "gerer", "contact_name": "Lina", "message": "Le soir."}
    response = client.post(url("aiguillage", place), {**data, "contact_email": ""})
    assert response.status_code == 400
    assert "Ce champ est obligatoire" in text(response)
    assert not Orientation.objects.exists()

    response = client.post(
        url("aiguillage", place), {**data, "contact_email": "lina@example.org"}, follow=True
    )
    assert response.status_code == 200
    assert "un·e aiguilleur·euse du lieu vous recontacte" in text(response)
    o = Orientation.objects.get()
    assert (o.contact_name, o.contact_email, o.outcome) == ("Lina", "lina@example.org", "pending")
    assert o.answers == {"action": "gerer"} and "Le soir." in o.need
    assert [s["name"] for s in o.suggestions if s["type"] == "commons"] == ["Paheko"]
    assert any(s["name"] == "Camille" for s in o.suggestions)  # as the visitor saw it


def test_robots_and_floods_are_turned_away(client, place, paheko):
    data = {"need": NEED, "contact_name": "Bot", "contact_email": "bot@example.org"}
    response = client.post(url("aiguillage", place), {**data, "website": "http://spam"})
    assert response.status_code == 302
    assert not Orientation.objects.exists()
    for i in range(services.REQUESTS_PER_HOUR):
        data["contact_email"] = f"v{i}@example.org"
        assert client.post(url("aiguillage", place), data).status_code == 302
    data["contact_email"] = "encore@example.org"
    response = client.post(url("aiguillage", place), data)
    assert response.status_code == 400
    assert "réessayez dans une heure" in text(response)
    assert Orientation.objects.count() == services.REQUESTS_PER_HOUR


# --- Who may open what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, queue, team_page",
    [
        ("anonymous", 302, 302),
        ("no_role", 403, 403),
        ("member", 403, 403),
        ("aiguilleur", 200, 403),
        ("paused_aiguilleur", 403, 403),
        ("concierge", 200, 200),
    ],
)
def test_statuses_per_role(client, place, aiguilleur_user, concierge, who, queue, team_page):
    users = {
        "no_role": lambda: make_user(email="passant@example.org"),
        "member": lambda: make_user(place=place, role="member", email="m@example.org"),
        "aiguilleur": lambda: aiguilleur_user,
        "concierge": lambda: concierge,
    }
    if who == "paused_aiguilleur":
        services.aiguilleur_set(
            place=place, person=aiguilleur_user.people.get(), by=None, domains=[], active=False
        )
        login(client, aiguilleur_user)
    elif who != "anonymous":
        login(client, users[who]())
    o = visitor_request(place)
    assert client.get(url("orientations", place)).status_code == queue
    assert client.get(url("orientation_new", place)).status_code == queue
    assert client.get(url("orientation", place, uuid=o.uuid)).status_code == queue
    assert client.get(url("aiguilleurs", place)).status_code == team_page
    assert client.get(url("aiguillage", place)).status_code == 200


def test_an_aiguilleur_sees_only_their_own_and_unassigned_orientations(
    aiguilleur_client, place, concierge
):
    other = services.aiguilleur_set(
        place=place, person=make_person(place=place, first_name="Yaël"), by=None, domains=[]
    )
    theirs = visitor_request(place)
    services.orientation_assign(orientation=theirs, aiguilleur=other, by=concierge)
    free = visitor_request(place)
    assert aiguilleur_client.get(url("orientation", place, uuid=theirs.uuid)).status_code == 404
    assert aiguilleur_client.get(url("orientation", place, uuid=free.uuid)).status_code == 200
    body = text(aiguilleur_client.get(url("orientations", place)))
    assert free.get_absolute_url() in body and theirs.get_absolute_url() not in body
    assert "Les chiffres" not in body  # figures are the team's


# --- The queue --------------------------------------------------------------------------------


def test_the_queue_shows_figures_filters_and_late_follow_ups(client, place, paheko, concierge):
    login(client, concierge)
    o = services.orientation_record(
        place=place,
        by=concierge,
        need=NEED,
        contact_name="Malik",
        commons=[paheko],
        follow_up_on=place_today(place),
    )
    dropped = visitor_request(place)
    services.orientation_outcome(
        orientation=dropped, by=concierge, outcome=Outcome.DROPPED, reason="Injoignable"
    )
    body = text(client.get(url("orientations", place)))
    assert "Les chiffres" in body and "ont mené à l'action (0 %)" in body
    assert "Malik" in body and "aujourd'hui" in body
    body = text(client.get(url("orientations", place), {"suite": "dropped"}))
    section = body.split("Toutes les orientations", 1)[1]
    assert "Lina" in section and "Malik" not in section
    assert o.get_absolute_url() in body  # still in the queue above


def queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_queue_reads_in_a_fixed_number_of_queries(
    client, place, paheko, concierge, aiguilleur_user
):
    mine = aiguilleur_user.people.get().aiguilleur

    def add():
        o = services.orientation_record(
            place=place, by=concierge, need=NEED, contact_name="X", commons=[paheko]
        )
        services.orientation_assign(orientation=o, aiguilleur=mine, by=concierge)
        visitor_request(place, person=make_person(place=place, email=""))

    add()
    login(client, concierge)
    team_one = queries(client, url("orientations", place))
    aiguilleur = login(Client(), aiguilleur_user)
    mine_one = queries(aiguilleur, url("orientations", place))
    for _ in range(4):
        add()
    assert queries(client, url("orientations", place)) == team_one
    assert queries(aiguilleur, url("orientations", place)) == mine_one


# --- Recording, following up ------------------------------------------------------------------


def test_orienting_someone_met_in_person(
    aiguilleur_client, place, paheko, aiguilleur_user, django_capture_on_commit_callbacks
):
    helper = make_person(
        place=place, first_name="Noé", skills=["comptabilité"], name_visibility="members"
    )
    hidden = make_person(place=place, first_name="Secret")  # name private: not offered
    response = aiguilleur_client.get(url("orientation_new", place), {"need": NEED})
    body = text(response)
    assert response.status_code == 200
    assert f'value="commons:{paheko.uuid}"' in body
    # The first commons and the first person are checked already.
    assert f'value="commons:{paheko.uuid}" id="id_chosen_0_0" checked' in body
    assert str(helper.uuid) in body and str(hidden.uuid) not in body
    with django_capture_on_commit_callbacks(execute=True):
        response = aiguilleur_client.post(
            url("orientation_new", place),
            {
                "need": NEED,
                "contact_name": "Malik",
                "contact_email": "malik@example.org",
                "chosen": [f"commons:{paheko.uuid}"],
                "more_people": [str(helper.uuid)],
                "note": "Rencontré au café.",
                "follow_up_on": "",
            },
        )
    assert response.status_code == 302, text(response)
    o = Orientation.objects.get()
    assert response["Location"] == o.get_absolute_url()
    assert o.contact_name == "Malik" and o.oriented_at is not None
    assert list(o.commons.all()) == [paheko] and list(o.people.all()) == [helper]
    assert o.aiguilleur.person.user == aiguilleur_user
    assert o.suggestions and o.suggestions[0]["name"] == "Paheko"
    mail = OutboxMessage.objects.get(to="malik@example.org")
    assert "Paheko" in mail.body and "Noé" in mail.body


def test_recording_errors_stay_on_the_form(aiguilleur_client, place, paheko):
    response = aiguilleur_client.post(
        url("orientation_new", place),
        {"need": NEED, "contact_name": "", "chosen": [], "follow_up_on": "2001-01-01"},
    )
    assert response.status_code == 400
    body = text(response)
    assert "Pour qui ?" in body and "Choisissez une date à venir." in body
    assert not Orientation.objects.exists()
    response = aiguilleur_client.post(
        url("orientation_new", place), {"need": NEED, "chosen": ["commons:nimporte"]}
    )
    assert response.status_code == 400
    response = aiguilleur_client.post(url("orientation_new", place), {"need": ""})
    assert response.status_code == 400
    assert "Décrivez votre besoin en quelques mots." in text(response)


def test_a_request_is_oriented_then_followed_up(
    aiguilleur_client, place, paheko, aiguilleur_user, django_capture_on_commit_callbacks
):
    o = visitor_request(
        place,
        suggestions=[
            {"type": "commons", "id": str(paheko.uuid), "name": "Paheko", "reason": "adhésions"}
        ],
    )
    page = url("orientation", place, uuid=o.uuid)
    body = text(aiguilleur_client.get(page))
    assert NEED in body and "adhésions" in body and "Enregistrer l'orientation" in body
    assert "Je m'en occupe" in body

    with django_capture_on_commit_callbacks(execute=True):
        response = aiguilleur_client.post(
            page, {"chosen": [f"commons:{paheko.uuid}"], "note": "", "follow_up_on": ""}
        )
    assert response.status_code == 302
    o.refresh_from_db()
    assert o.oriented_at is not None and list(o.commons.all()) == [paheko]
    assert o.follow_up_on == place_today(place) + dt.timedelta(days=14)
    assert OutboxMessage.objects.filter(to="lina@example.org").count() == 1
    body = text(aiguilleur_client.get(page))
    assert "Orientée vers" in body and "Enregistrer l'orientation" not in body
    # Recorded once: a second POST changes nothing.
    assert aiguilleur_client.post(page, {"chosen": []}).status_code == 302

    outcome = url("orientation_outcome", place, uuid=o.uuid)
    response = aiguilleur_client.post(outcome, {"outcome": "dropped", "reason": ""})
    assert response.status_code == 400
    assert "Dites pourquoi c'est abandonné" in text(response)
    response = aiguilleur_client.post(outcome, {"outcome": "bof"})
    assert response.status_code == 400
    response = aiguilleur_client.post(outcome, {"outcome": "adopted", "reason": ""})
    assert response.status_code == 302
    o.refresh_from_db()
    assert o.outcome == Outcome.ADOPTED and o.outcome_at is not None


def test_taking_and_assigning_an_orientation(aiguilleur_client, place, aiguilleur_user):
    o = visitor_request(place)
    mine = aiguilleur_user.people.get().aiguilleur
    assign = url("orientation_assign", place, uuid=o.uuid)
    assert aiguilleur_client.post(assign, {"aiguilleur": mine.pk}).status_code == 302
    o.refresh_from_db()
    assert o.aiguilleur == mine
    paused = services.aiguilleur_set(
        place=place, person=make_person(place=place), by=None, domains=[], active=False
    )
    response = aiguilleur_client.post(assign, {"aiguilleur": paused.pk})
    assert response.status_code == 400
    o.refresh_from_db()
    assert o.aiguilleur == mine


# --- Managing the aiguilleurs -----------------------------------------------------------------


def test_the_team_adds_edits_and_removes_an_aiguilleur(client, place, concierge):
    login(client, concierge)
    sam = make_person(place=place, first_name="Sam", last_name="Leroy", email="sam@example.org")
    response = client.post(
        url("aiguilleur_save", place),
        {
            "person": "sam@example.org",
            "domains": "cartographie, gestion associative",
            "availability": "le jeudi",
            "active": "on",
        },
    )
    assert response.status_code == 302
    a = Aiguilleur.objects.get(person=sam)
    assert sorted(d.name for d in a.domains.all()) == ["cartographie", "gestion associative"]
    body = text(client.get(url("aiguilleurs", place)))
    assert "Sam Leroy" in body and 'value="cartographie, gestion associative"' in body

    response = client.post(
        url("aiguilleur_save", place),
        {"person": str(sam.uuid), "domains": "cartographie", "availability": ""},
    )
    assert response.status_code == 302
    a.refresh_from_db()
    assert not a.active and [d.name for d in a.domains.all()] == ["cartographie"]

    response = client.post(url("aiguilleur_save", place), {"person": "personne@nulle.part"})
    assert response.status_code == 400
    assert "Personne introuvable" in text(response)

    response = client.post(url("aiguilleur_remove", place, person_uuid=sam.uuid))
    assert response.status_code == 302
    assert not Aiguilleur.objects.exists()
    assert client.post(url("aiguilleur_remove", place, person_uuid=sam.uuid)).status_code == 404
