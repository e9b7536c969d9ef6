"""The place's event feeds (iCal, Atom) and one event's .ics ("add to my calendar")."""

import datetime as dt
import xml.etree.ElementTree as ET
import zoneinfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.spaces import services as spaces
from tests.conftest import login
from tests.events.conftest import SOON, make_event, visitor
from tests.factories import make_place, make_user

ATOM = "{http://www.w3.org/2005/Atom}"


def ics_events(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    return cal, {str(v["summary"]): v for v in cal.walk("VEVENT")}


def atom_entries(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root, root.findall(f"{ATOM}entry")


@pytest.fixture
def mixed(place):
    """Public, members-only and private events of the place; a public one of another place."""
    other = make_place(slug="ailleurs", name="Ailleurs")
    room = spaces.resource_create(place=place, by=None, name="Salle des machines")
    return {
        "public": make_event(
            place,
            title="Repair café",
            resource=room,
            category="repair_cafe",
            description="**Venez** réparer\n[vos objets](https://example.org/r) & plus",
        ),
        "members": make_event(place, title="Réunion des membres", visibility="membres"),
        "private": make_event(place, title="Réunion d'équipe", visibility="prive"),
        "other": make_event(other, title="Chez les voisins"),
    }


def ics_url(place, name="events_feeds:events_ics"):
    return reverse(name, args=[place.slug])


# --- iCal feed -----------------------------------------------------------------------------------


def test_ics_feed_has_public_events_only_in_the_place_zone(client, place, mixed):
    cal, events = ics_events(client.get(ics_url(place)))
    assert set(events) == {"Repair café"}
    vevent = events["Repair café"]
    event = mixed["public"]
    assert str(vevent["uid"]) == f"{event.uuid}@{settings.BASE_URL.split('://')[1]}"
    start = vevent["dtstart"]
    assert start.params["TZID"] == "Europe/Paris"
    assert start.dt == event.start_at and start.dt.hour == 18  # 18:00 in Paris, as created
    assert vevent["dtend"].dt == event.end_at
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert str(vevent["location"]).startswith("Salle des machines")
    assert str(vevent["url"]) == settings.BASE_URL + event.get_absolute_url()
    assert vevent["categories"].cats == ["Repair café"]
    assert str(vevent["status"]) == "CONFIRMED"
    description = str(vevent["description"])
    assert description == "Venez réparer\nvos objets & plus"  # plain text, no Markdown/HTML


def test_ics_feed_window_is_past_month_and_next_year(client, place):
    now = timezone.now()
    for title, start in [
        ("Il y a 10 jours", now - dt.timedelta(days=10)),
        ("Il y a 2 mois", now - dt.timedelta(days=60)),
        ("Dans 11 mois", now + dt.timedelta(days=330)),
        ("Dans 2 ans", now + dt.timedelta(days=730)),
    ]:
        make_event(place, title=title, start_at=start, end_at=start + dt.timedelta(hours=2))
    _cal, events = ics_events(client.get(ics_url(place)))
    assert set(events) == {"Il y a 10 jours", "Dans 11 mois"}


def test_ics_feed_uses_the_place_own_zone(client, db):
    reunion = make_place(slug="la-reunion", name="Tiers-lieu péi", timezone="Indian/Reunion")
    day = timezone.now().date() + dt.timedelta(days=40)
    start = dt.datetime(day.year, day.month, day.day, 6, 30, tzinfo=dt.UTC)
    make_event(reunion, title="Atelier", start_at=start, end_at=start + dt.timedelta(hours=3))
    cal, events = ics_events(client.get(ics_url(reunion)))
    vevent = events["Atelier"]
    assert vevent["dtstart"].params["TZID"] == "Indian/Reunion"
    local = vevent["dtstart"].dt
    assert (local.hour, local.minute) == (10, 30) and local == start  # UTC+4
    assert f"DTSTART;TZID=Indian/Reunion:{day:%Y%m%d}T103000".encode() in cal.to_ical()


def test_ics_feed_of_an_unknown_place_is_404(client, db):
    url = reverse("events_feeds:events_ics", args=["nulle-part"])
    assert client.get(url).status_code == 404


def _many(place, n):
    room = spaces.resource_create(place=place, by=None, name="Salle")
    for i in range(n):
        start = SOON + dt.timedelta(days=i)
        make_event(
            place,
            title=f"Atelier {i}",
            start_at=start,
            end_at=start + dt.timedelta(hours=2),
            resource=room if i % 2 else None,
        )


@pytest.mark.parametrize("name", ["events_feeds:events_ics", "events_feeds:events_atom"])
def test_feed_query_count_is_flat(client, db, name):
    counts = []
    for slug, n in (("un", 1), ("dix", 10)):
        place = make_place(slug=slug)
        _many(place, n)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse(name, args=[slug]))
        assert response.status_code == 200
        assert response.content.count(b"Atelier ") == n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] and counts[0] <= 3, counts


# --- Atom feed -----------------------------------------------------------------------------------


def test_atom_feed_lists_upcoming_public_events_newest_first(client, place, mixed):
    now = timezone.now()
    newer = make_event(place, title="Annoncé ensuite", created_at=now + dt.timedelta(seconds=5))
    past = now - dt.timedelta(days=3)
    make_event(place, title="Déjà passé", start_at=past, end_at=past + dt.timedelta(hours=1))
    root, entries = atom_entries(client.get(reverse("events_feeds:events_atom", args=[place.slug])))
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert titles == ["Annoncé ensuite", "Repair café"]  # no members/private/other/past
    assert "Le Moulin" in root.findtext(f"{ATOM}title")
    assert root.findtext(f"{ATOM}updated")
    first, second = entries
    assert first.findtext(f"{ATOM}id") == f"urn:uuid:{newer.uuid}"
    link = second.find(f"{ATOM}link").get("href")
    assert link == settings.BASE_URL + mixed["public"].get_absolute_url()
    assert second.findtext(f"{ATOM}updated")
    summary = second.findtext(f"{ATOM}summary")
    local = SOON.strftime("%d/%m/%Y")
    assert summary.startswith(f"Le {local} à 18:00 — Salle des machines")
    assert "Venez réparer vos objets &amp; plus" in summary  # escaped once more: type="html"
    assert "**" not in summary and "https://example.org/r" not in summary
    assert second.find(f"{ATOM}category").get("term") == "Repair café"


def test_atom_feed_excerpt_is_cut(client, place):
    make_event(place, title="Long", description="mot " * 500)
    _root, (entry,) = atom_entries(
        client.get(reverse("events_feeds:events_atom", args=[place.slug]))
    )
    summary = entry.findtext(f"{ATOM}summary")
    assert summary.endswith("…") and len(summary) < 400


# --- One event's .ics ----------------------------------------------------------------------------


def event_ics_url(event, **query):
    url = reverse("events_feeds:event_ics", args=[event.place.slug, event.uuid])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_single_event_ics_for_a_public_event(client, place, mixed):
    event = mixed["public"]
    cal, events = ics_events(client.get(event_ics_url(event)))
    assert str(cal["method"]) == "PUBLISH"
    assert list(events) == ["Repair café"]
    assert str(events["Repair café"]["uid"]).startswith(str(event.uuid))


@pytest.mark.parametrize(
    ("which", "role", "status"),
    [
        ("private", None, 404),
        ("private", "member", 404),
        ("private", "concierge", 200),
        ("members", None, 404),
        ("members", "member", 200),
    ],
)
def test_single_event_ics_follows_visibility(client, place, mixed, which, role, status):
    if role:
        login(client, make_user(place=place, role=role))
    assert client.get(event_ics_url(mixed[which])).status_code == status


def test_single_event_ics_of_another_place_is_404(client, place, mixed):
    other = mixed["other"]
    url = reverse("events_feeds:event_ics", args=[place.slug, other.uuid])
    assert client.get(url).status_code == 404


def test_ticket_holder_gets_the_ics_of_a_members_event(client, place, mixed, paid_member):
    user, person = paid_member
    event = mixed["members"]
    registration = services.registration_create(
        event=event, by=user, level=Level.MEMBER, person=person, attendees=[{}], notify=False
    )
    token = registration.tickets.get().qr_token
    assert client.get(event_ics_url(event, billet=token)).status_code == 200
    assert client.get(event_ics_url(event, billet="pas-le-bon")).status_code == 404
    # A ticket of another event does not open this one.
    other_token = visitor(mixed["public"], notify=False).tickets.get().qr_token
    assert client.get(event_ics_url(event, billet=other_token)).status_code == 404


def test_event_ics_in_the_zone(client, place):
    event = make_event(place, title="Soirée", start_at=SOON, end_at=SOON + dt.timedelta(hours=3))
    _cal, events = ics_events(client.get(event_ics_url(event)))
    start = events["Soirée"]["dtstart"].dt
    assert start.tzinfo == zoneinfo.ZoneInfo("Europe/Paris") and start.hour == 18


def test_cancelled_event_is_marked_in_ics_and_left_out_of_atom(client, place):
    event = make_event(place, title="Annulé")
    services.event_cancel(event=event, by=None)
    _cal, events = ics_events(client.get(ics_url(place)))
    assert str(events["Annulé"]["status"]) == "CANCELLED"
    _root, entries = atom_entries(
        client.get(reverse("events_feeds:events_atom", args=[place.slug]))
    )
    assert entries == []
