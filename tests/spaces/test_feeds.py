"""Calendar feeds: free/busy for the public, details for the team, a private feed per person."""

import datetime as dt
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from conciergerie.core.permissions import Level
from conciergerie.spaces import feeds, services
from conciergerie.spaces.models import Booking, CalendarFeed
from tests.factories import make_person, make_place, make_user
from tests.spaces.conftest import PARIS, WEEK


def soon(days, hour, minute=0):
    """A local time a few days ahead: inside the feed window whatever today is."""
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def book(resource, person, days, h1, h2, **kw):
    return services.booking_create(
        resource=resource,
        by=None,
        level=Level.CONCIERGE,
        start=soon(days, h1),
        end=soon(days, h2),
        person=person,
        notify=False,
        **kw,
    )


def events(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(response.content)
    return list(cal.walk("VEVENT"))


def resource_url(resource):
    return reverse(
        "spaces_feeds:resource_ics",
        kwargs={"place_slug": resource.place.slug, "uuid": resource.uuid},
    )


@pytest.fixture
def lina(member):
    return member[1]


@pytest.fixture
def concierge_client(place):
    user = make_user(place=place, role="concierge", email="karim@example.org")
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_sees_busy_without_names(room, lina):
    book(room, lina, 3, 10, 12, title="Réunion secrète")
    evs = events(Client().get(resource_url(room)))
    assert len(evs) == 1
    assert str(evs[0]["SUMMARY"]) == "Occupé"
    text = Client().get(resource_url(room)).content.decode()
    assert "Lina" not in text and "secrète" not in text and lina.last_name not in text


def test_member_sees_only_busy_too(room, lina, member):
    book(room, lina, 3, 10, 12)
    client = Client()
    client.force_login(member[0])
    evs = events(client.get(resource_url(room)))
    assert [str(e["SUMMARY"]) for e in evs] == ["Occupé"]


def test_concierge_sees_who(room, lina, concierge_client):
    book(room, lina, 3, 10, 12)
    evs = events(concierge_client.get(resource_url(room)))
    assert len(evs) == 1
    assert "Lina" in str(evs[0]["SUMMARY"])


def test_dtstart_is_utc_and_matches(room, lina):
    booking = book(room, lina, 4, 9, 11)
    (ev,) = events(Client().get(resource_url(room)))
    start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
    assert start.utcoffset() == dt.timedelta(0)
    assert start == soon(4, 9) == booking.start_at
    assert end == soon(4, 11)
    assert ev.to_ical().decode().count("Z\r\n") >= 2  # written as UTC (…Z), not floating


def test_cancelled_booking_is_absent(room, lina):
    kept = book(room, lina, 3, 10, 12)
    gone = book(room, lina, 3, 14, 15)
    services.booking_cancel(booking=gone, by=None, level=Level.CONCIERGE)
    assert Booking.objects.get(pk=gone.pk).status == Booking.Status.CANCELLED
    evs = events(Client().get(resource_url(room)))
    uids = [str(e["UID"]) for e in evs]
    assert len(uids) == 1 and uids[0].startswith(str(kept.uuid))


def test_person_feed_shows_only_their_bookings(room, place, lina):
    other = make_person(place=place, first_name="Bastien")
    mine = book(room, lina, 3, 10, 11)
    book(room, other, 3, 11, 12)
    feed = feeds.calendar_feed_for(lina)
    assert feeds.calendar_feed_for(lina).token == feed.token  # created once
    assert len(feed.token) >= 40
    url = reverse("spaces_feeds:person_ics", kwargs={"token": feed.token})
    evs = events(Client().get(url))
    assert [str(e["UID"]).split("@")[0] for e in evs] == [str(mine.uuid)]
    assert "Lina" in str(evs[0]["SUMMARY"])


def test_bad_token_is_404(lina):
    feeds.calendar_feed_for(lina)
    for token in ("nope", "x" * 43):
        url = reverse("spaces_feeds:person_ics", kwargs={"token": token})
        assert Client().get(url).status_code == 404


def test_another_place_booking_never_appears(room, lina, concierge_client):
    other_place = make_place(slug="ailleurs", name="Ailleurs")
    other_place.opening_hours = WEEK
    other_place.save()
    other_room = services.resource_create(
        place=other_place, by=None, name="Salle Verte", kind="salle", horizon_days=3650
    )
    stranger = make_person(place=other_place, first_name="Zoé")
    foreign = book(other_room, stranger, 3, 10, 12)
    mine = book(room, lina, 3, 10, 12)
    evs = events(concierge_client.get(resource_url(room)))
    assert [str(e["UID"]).split("@")[0] for e in evs] == [str(mine.uuid)]
    # The other place's resource is not reachable through this place's address.
    url = reverse(
        "spaces_feeds:resource_ics", kwargs={"place_slug": room.place.slug, "uuid": other_room.uuid}
    )
    assert concierge_client.get(url).status_code == 404
    token = feeds.calendar_feed_for(lina).token
    text = Client().get(reverse("spaces_feeds:person_ics", kwargs={"token": token})).content
    assert str(foreign.uuid).encode() not in text and b"Zo" not in text


def test_member_resets_own_token(place, lina, member):
    old = feeds.calendar_feed_for(lina).token
    client = Client()
    client.force_login(member[0])
    url = reverse("spaces_feeds:person_feed_reset", kwargs={"place_slug": place.slug})
    response = client.post(url)
    assert response.status_code == 200
    new = CalendarFeed.objects.get(person=lina).token
    assert new != old and new in response.json()["url"]
    old_url = reverse("spaces_feeds:person_ics", kwargs={"token": old})
    assert Client().get(old_url).status_code == 404
    assert Client().post(url).status_code in (302, 403)


def test_my_bookings_shows_the_feed_address_and_renews_it(place, lina, member):
    client = Client()
    client.force_login(member[0])
    page = reverse("spaces:my_bookings", kwargs={"place_slug": place.slug})
    reset = reverse("spaces_feeds:person_feed_reset", kwargs={"place_slug": place.slug})
    html = unescape(client.get(page).content.decode())
    assert "Obtenir l'adresse de mon agenda" in html and ".ics" not in html

    response = client.post(reset, {"from": "page"}, follow=True)
    first = CalendarFeed.objects.get(person=lina).token
    html = unescape(response.content.decode())
    assert response.redirect_chain[-1][0].endswith("#agenda")
    assert f"/calendrier/{first}.ics" in html and "Votre adresse d'agenda est prête" in html
    assert (
        Client().get(reverse("spaces_feeds:person_ics", kwargs={"token": first})).status_code == 200
    )

    html = unescape(client.post(reset, {"from": "page"}, follow=True).content.decode())
    second = CalendarFeed.objects.get(person=lina).token
    assert second != first and f"/calendrier/{second}.ics" in html
    assert "l'ancienne ne fonctionne plus" in html
    assert (
        Client().get(reverse("spaces_feeds:person_ics", kwargs={"token": first})).status_code == 404
    )
