"""A resource's calendar by day, week and month: local days, DST, who sees what, queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.core.permissions import Level
from conciergerie.core.validators import WEEKDAYS
from conciergerie.spaces import services
from tests.conftest import login
from tests.factories import make_person
from tests.spaces.conftest import local

pytestmark = pytest.mark.django_db

ALWAYS = {d: [["00:00", "24:00"]] for d in WEEKDAYS}


@pytest.fixture
def hall(place):
    """Open day and night: bookings may cross midnight."""
    return services.resource_create(
        place=place,
        by=None,
        name="Grande salle",
        capacity=1,
        opening_hours=ALWAYS,
        max_minutes=24 * 60,
        horizon_days=3650,
    )


@pytest.fixture
def paul(place):
    return make_person(place=place, first_name="Paul", last_name="Secret")


def book(resource, person, start, end):
    return services.booking_create(
        resource=resource, by=None, level=Level.CONCIERGE, person=person, start=start, end=end
    )


def close(resource, start, end, reason):
    return services.closure_create(
        place=resource.place, by=None, start=start, end=end, reason=reason, resource=resource
    )


def page(client, resource, **params):
    url = reverse("spaces:resource", args=[resource.place.slug, resource.uuid])
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def days(body, end_marker):
    """Each day's piece of the page, by its data-day attribute."""
    parts = re.split(r'data-day="(\d{4}-\d{2}-\d{2})"', body)
    return {
        parts[i]: parts[i + 1].split(">", 1)[1].split(end_marker)[0]
        for i in range(1, len(parts), 2)
    }


def week_days(body):
    return days(body, "</ol>")


def month_cells(body):
    return days(body, "</td>")


def text(fragment):
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


# --- Day view ----------------------------------------------------------------------------------


def test_day_view_lists_bookings_closures_and_free_spans_in_order(client, place, room, paul):
    book(room, paul, local(2030, 3, 12, 14), local(2030, 3, 12, 15))
    book(room, paul, local(2030, 3, 12, 9), local(2030, 3, 12, 10, 30))
    close(room, local(2030, 3, 12, 17), local(2030, 3, 12, 18), "Ménage de printemps")
    body = page(client, room, vue="jour", date="2030-03-12")
    assert "Mardi 12 mars 2030" in body
    (day,) = days(body, "Créneaux libres").values()
    listed = re.findall(r"<strong>(\d\d:\d\d–\d\d:\d\d)</strong>", day)
    assert listed == ["09:00–10:30", "14:00–15:00", "17:00–18:00"]
    assert "Ménage de printemps" in day
    free = text(body.split("Créneaux libres")[1].split("</ul>")[0])
    assert "Libre de 08:00 à 09:00" in free
    assert "Libre de 10:30 à 14:00" in free
    assert "Libre de 15:00 à 17:00" in free
    assert "Libre de 18:00 à 20:00" in free
    # Navigation around the day and to the other views.
    assert "?vue=jour&amp;date=2030-03-11" in body and "?vue=jour&amp;date=2030-03-13" in body
    assert "?vue=mois&amp;date=2030-03-12" in body and "?vue=semaine&amp;date=2030-03-12" in body


def test_day_view_free_span_prefills_the_booking_form(member_client, place, room):
    body = page(member_client, room, vue="jour", date="2030-03-12")
    assert "debut=08:00&amp;fin=16:00#reserver" in body  # 8 hours at most
    body = page(member_client, room, vue="jour", date="2030-03-12", debut="10:00", fin="11:30")
    assert 'name="start" value="10:00"' in body and 'name="end" value="11:30"' in body
    assert 'name="date" value="2030-03-12"' in body


def test_booking_across_midnight_shows_on_both_local_days(client, place, hall, paul):
    book(hall, paul, local(2030, 3, 12, 22), local(2030, 3, 13, 2))
    first = text(page(client, hall, vue="jour", date="2030-03-12"))
    assert "22:00–00:00 (jusqu'au lendemain)" in first
    second = text(page(client, hall, vue="jour", date="2030-03-13"))
    assert "00:00–02:00 (depuis la veille)" in second
    assert "Libre de 02:00 à 00:00" in second

    week = week_days(page(client, hall, week="2030-03-12"))
    assert "22:00–00:00" in text(week["2030-03-12"])
    assert "00:00–02:00" in text(week["2030-03-13"])
    assert "Libre" in text(week["2030-03-14"])

    cells = month_cells(page(client, hall, vue="mois", date="2030-03-01"))
    assert "1 réservation" in text(cells["2030-03-12"])
    assert "1 réservation" in text(cells["2030-03-13"])
    assert "réservation" not in text(cells["2030-03-14"])


def test_week_of_the_switch_to_summer_time_puts_bookings_on_their_local_day(client, hall, paul):
    # 31 March 2030: at 02:00 clocks go to 03:00 in Europe/Paris (UTC+1 → UTC+2).
    book(hall, paul, local(2030, 3, 30, 23, 30), local(2030, 3, 31, 0, 30))
    book(hall, paul, local(2030, 3, 31, 1), local(2030, 3, 31, 1, 30))  # 00:00 UTC
    book(hall, paul, local(2030, 3, 31, 3), local(2030, 3, 31, 4))  # 01:00 UTC
    book(hall, paul, local(2030, 3, 31, 23), local(2030, 3, 31, 23, 30))  # 21:00 UTC
    book(hall, paul, local(2030, 4, 1, 0, 30), local(2030, 4, 1, 1))  # 31 March 22:30 UTC

    body = page(client, hall, week="2030-03-27")  # any day of the week
    assert "Semaine du 25 mars 2030" in body
    week = week_days(body)
    assert sorted(week) == [f"2030-03-{d}" for d in range(25, 32)]
    saturday, sunday = text(week["2030-03-30"]), text(week["2030-03-31"])
    assert "23:30–00:00 (jusqu'au lendemain)" in saturday
    assert re.findall(r"\d\d:\d\d–\d\d:\d\d", sunday) == [
        "00:00–00:30",
        "01:00–01:30",
        "03:00–04:00",
        "23:00–23:30",
    ]
    assert "00:30–01:00" not in sunday  # that one is on Monday 1 April

    monday = text(week_days(page(client, hall, vue="semaine", date="2030-04-01"))["2030-04-01"])
    assert "00:30–01:00" in monday

    # The 23-hour day: free from 01:30 to 03:00 local, one hour of real time.
    sunday_page = text(page(client, hall, vue="jour", date="2030-03-31"))
    assert "Libre de 01:30 à 03:00" in sunday_page
    assert "Libre de 04:00 à 23:00" in sunday_page
    assert "Libre de 23:30 à 00:00" in sunday_page

    cells = month_cells(page(client, hall, vue="mois", date="2030-03-31"))
    assert "4 réservations" in text(cells["2030-03-31"])
    assert "1 réservation" in text(cells["2030-03-30"])
    assert "2030-04-01" not in cells  # March 2030 ends on a Sunday: so does the grid
    april = month_cells(page(client, hall, vue="mois", date="2030-04-15"))
    assert "1 réservation" in text(april["2030-04-01"])


# --- Month view --------------------------------------------------------------------------------


def test_month_grid_starts_on_monday_and_shows_counts_closed_and_full(client, place, room, paul):
    for hour in (9, 11, 14):
        book(room, paul, local(2030, 3, 12, hour), local(2030, 3, 12, hour + 1))
    close(room, local(2030, 3, 14, 0), local(2030, 3, 15, 0), "Inventaire")
    book(room, paul, local(2030, 3, 15, 8), local(2030, 3, 15, 16))
    book(room, paul, local(2030, 3, 15, 16), local(2030, 3, 15, 20))

    body = page(client, room, vue="mois", date="2030-03-20")
    assert "Mars 2030" in body
    cells = month_cells(body)
    order = list(cells)
    # 1 March 2030 is a Friday: the grid runs from Monday 25 February to Sunday 31 March.
    assert order[0] == "2030-02-25" and order[-1] == "2030-03-31" and len(order) == 35
    assert "3 réservations" in text(cells["2030-03-12"])
    assert "fermé" in text(cells["2030-03-14"])
    assert "complet" in text(cells["2030-03-15"]) and "2 réservations" in text(cells["2030-03-15"])
    assert text(cells["2030-03-13"]) == "13 mercredi 13 mars"  # nothing that day
    assert 'href="?vue=jour&amp;date=2030-03-12"' in cells["2030-03-12"]
    assert "cal-out" in body.split('data-day="2030-02-25"')[0].rsplit("<td", 1)[1]
    assert "?vue=mois&amp;date=2030-02-01" in body and "?vue=mois&amp;date=2030-04-01" in body


def test_month_shows_counts_only_and_marks_the_members_own(
    member_client, member, place, room, paul
):
    book(room, paul, local(2030, 3, 12, 9), local(2030, 3, 12, 10))
    mine = services.booking_create(
        resource=room,
        by=None,
        level=Level.MEMBER,
        person=member[1],
        start=local(2030, 3, 12, 11),
        end=local(2030, 3, 12, 12),
    )
    assert mine.pk
    body = page(member_client, room, vue="mois", date="2030-03-12")
    cell = text(month_cells(body)["2030-03-12"])
    assert "2 réservations" in cell and "dont la vôtre" in cell
    assert "Secret" not in body and "Paul" not in body


def test_month_query_count_is_flat(member_client, place, room, paul):
    url = reverse("spaces:resource", args=[place.slug, room.uuid]) + "?vue=mois&date=2030-03-01"
    book(room, paul, local(2030, 3, 4, 9), local(2030, 3, 4, 10))
    member_client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert member_client.get(url).status_code == 200
    for day in range(5, 20):
        book(room, paul, local(2030, 3, day, 9), local(2030, 3, day, 10))
        book(room, paul, local(2030, 3, day, 14), local(2030, 3, day, 15))
    services.closure_create(
        place=place, by=None, start=local(2030, 3, 25, 8), end=local(2030, 3, 25, 12), reason="x"
    )
    with CaptureQueriesContext(connection) as thirty:
        body = member_client.get(url).content.decode()
    assert len(one) == len(thirty) == 8, [q["sql"] for q in thirty.captured_queries]
    assert body.count("2 réservations") == 15


@pytest.mark.parametrize("vue", ["jour", "semaine"])
def test_day_and_week_query_counts_are_flat(member_client, place, room, paul, vue):
    url = reverse("spaces:resource", args=[place.slug, room.uuid])
    params = {"vue": vue, "date": "2030-03-12"}
    book(room, paul, local(2030, 3, 12, 8), local(2030, 3, 12, 9))
    member_client.get(url, params)
    with CaptureQueriesContext(connection) as few:
        member_client.get(url, params)
    for hour in range(9, 20):
        book(room, paul, local(2030, 3, 12, hour), local(2030, 3, 12, hour + 1))
    with CaptureQueriesContext(connection) as many:
        body = member_client.get(url, params).content.decode()
    assert len(few) == len(many) == 8
    assert body.count("Occupé") == 12


# --- Who sees what ------------------------------------------------------------------------------


@pytest.mark.parametrize("vue", ["jour", "semaine"])
def test_members_see_their_own_and_busy_the_team_sees_who(
    client, member, place, room, paul, concierge, vue
):
    book(room, paul, local(2030, 3, 12, 9), local(2030, 3, 12, 10))
    services.booking_create(
        resource=room,
        by=None,
        level=Level.MEMBER,
        person=member[1],
        start=local(2030, 3, 12, 11),
        end=local(2030, 3, 12, 12),
    )
    login(client, member[0])
    body = text(page(client, room, vue=vue, date="2030-03-12"))
    assert "09:00–10:00 · Occupé" in body
    assert "11:00–12:00 · Réservé · la vôtre" in body
    assert "Paul" not in body and "Secret" not in body

    client.logout()
    body = text(page(client, room, vue=vue, date="2030-03-12"))  # anonymous
    assert body.count("Occupé") == 2 and "la vôtre" not in body and "Lina" not in body

    login(client, concierge)
    body = text(page(client, room, vue=vue, date="2030-03-12"))
    assert "Paul Secret" in body and "Lina" in body and "Occupé" not in body


def test_unknown_view_or_date_falls_back(client, room):
    body = page(client, room, vue="annee", date="pas-une-date")
    assert "Semaine du" in body
    assert "Semaine du 4 mars 2030" in page(client, room, week="2030-03-05")
    assert "Mars 2030" in page(client, room, vue="mois", date="2030-03-05")
    assert page(client, room, vue="jour", date="9999-12-31")  # far out: today instead


def test_team_day_view_query_count_is_flat(client, place, room, paul, concierge):
    login(client, concierge)
    url = reverse("spaces:resource", args=[place.slug, room.uuid])
    params = {"vue": "jour", "date": "2030-03-12"}
    book(room, paul, local(2030, 3, 12, 8), local(2030, 3, 12, 9))
    client.get(url, params)
    with CaptureQueriesContext(connection) as few:
        client.get(url, params)
    for hour in range(9, 20):
        book(room, make_person(place=place), local(2030, 3, 12, hour), local(2030, 3, 12, hour + 1))
    with CaptureQueriesContext(connection) as many:
        body = client.get(url, params).content.decode()
    assert len(few) == len(many) == 8, [q["sql"] for q in many.captured_queries]
    assert body.count("/lieux/etabli/reservations/") == 12  # a link to each booking


def test_free_spans_of_today_start_at_the_next_slot(place, room, paul):
    from conciergerie.spaces import selectors

    def march_12_seen_at(hour, minute):
        (day,) = selectors.resource_calendar(
            resource=room,
            first=local(2030, 3, 12, 0).date(),
            days=1,
            user=None,
            level=Level.ANONYMOUS,
            now=local(2030, 3, 12, hour, minute),
        )
        return day

    book(room, paul, local(2030, 3, 12, 14), local(2030, 3, 12, 15))
    today = march_12_seen_at(10, 10)
    assert [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in today.free] == [
        ("10:30", "14:00"),
        ("15:00", "20:00"),
    ]
    assert not today.past and not today.full and not today.closed
    late = march_12_seen_at(19, 45)
    assert late.free == [] and not late.full  # nothing left to offer today, yet not booked up
