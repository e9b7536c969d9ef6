"""One place's data never shows in another place's pages or API."""

import datetime as dt

import pytest
from django.utils import timezone

from conciergerie.community import services as community
from conciergerie.core import services as core
from conciergerie.core.permissions import Level
from conciergerie.events import services as events
from tests.conftest import login
from tests.factories import make_membership, make_person, make_place, make_user

MARK_B = "Zzmarqueurb"


@pytest.fixture
def two_places(db, django_capture_on_commit_callbacks):
    a = make_place(slug="lieu-a", name="Lieu A")
    b = make_place(slug="lieu-b", name="Lieu B")
    concierge_a = make_user(place=a, role="admin", email="a@example.org")
    concierge_b = make_user(place=b, role="admin", email="b@example.org")
    make_person(place=a, first_name="Alice", skills=["Soudure"], name_visibility="public")
    with django_capture_on_commit_callbacks(execute=True):
        person_b = make_person(
            place=b,
            first_name=MARK_B,
            last_name=MARK_B,
            email="zz@example.org",
            skills=[MARK_B + " soudure"],
            needs=[MARK_B],
            name_visibility="public",
            skills_visibility="public",
        )
        community.organisation_create(place=b, by=concierge_b, name=MARK_B + " asso")
        make_membership(person=person_b, start=dt.date.today() - dt.timedelta(days=350))
        helper_b = make_person(place=b, first_name=MARK_B + "h")
        community.introduction_create(place=b, by=concierge_b, need=MARK_B, helper=helper_b)
        core.invitation_create(place=b, email="zzinvite@example.org", role="member", by=concierge_b)
        soon = timezone.now() + dt.timedelta(days=2)
        event_b = events.event_create(
            place=b,
            by=concierge_b,
            title=MARK_B + " atelier",
            start_at=soon,
            end_at=soon + dt.timedelta(hours=2),
        )
        events.registration_create(
            event=event_b,
            by=None,
            level=Level.ANONYMOUS,
            visitor_name=MARK_B,
            visitor_email="zzvisiteur@example.org",
            attendees=[{}],
        )
    return a, b, concierge_a


PAGES = [
    "/lieux/lieu-a/",
    "/lieux/lieu-a/annuaire/",
    "/lieux/lieu-a/annuaire/?q=soudure",
    "/lieux/lieu-a/organisations/",
    "/lieux/lieu-a/gestion/",
    "/lieux/lieu-a/gestion/adhesions/",
    "/lieux/lieu-a/gestion/mises-en-relation/",
    "/lieux/lieu-a/gestion/mises-en-relation/nouvelle/?need=soudure",
    "/lieux/lieu-a/gestion/vocabulaire/",
    "/lieux/lieu-a/gestion/journal/",
    "/lieux/lieu-a/gestion/courriels/",
    "/lieux/lieu-a/gestion/equipe/",
    "/lieux/lieu-a/gestion/export/personnes.csv",
    "/api/v1/people?place=lieu-a&q=soudure",
    "/lieux/lieu-a/evenements/",
    "/lieux/lieu-a/evenements/?vue=mois",
    "/lieux/lieu-a/evenements.ics",
    "/lieux/lieu-a/evenements.atom",
    "/lieux/lieu-a/evenements/bilan/",
    "/api/v1/events?place=lieu-a",
]


@pytest.mark.parametrize("url", PAGES)
def test_place_b_never_shows_in_place_a(client, two_places, url):
    _, _, concierge_a = two_places
    login(client, concierge_a)
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode().lower()
    assert MARK_B.lower() not in body
    assert "zzinvite" not in body


def test_dashboard_counts_only_own_place(client, two_places):
    from conciergerie.community.selectors import place_dashboard

    a, b, _ = two_places
    stats = place_dashboard(place=a)
    assert stats["people"] == 1 and stats["organisations"] == 0
    assert stats["introductions"]["total"] == 0 and stats["renewals_due"] == 0
