"""The team's event reports: one event, a period; figures, tenancy, permissions, query counts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conciergerie.core.permissions import Level
from conciergerie.events import reports, services
from tests.conftest import login
from tests.events.conftest import PARIS, SLIDING, SOON, make_event, visitor
from tests.factories import make_place


def plain(text):
    """Amounts use no-break spaces: compare them as plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def report_url(event):
    return reverse("events_reports:event_report", args=[event.place.slug, event.uuid])


def period_url(place, **params):
    url = reverse("events_reports:period_report", args=[place.slug])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


@pytest.fixture
def crafted(event, tiers):
    """Capacity 10: 4 confirmed seats (15 + 8 pay-what-you-can + 2 × 15), 1 cancelled, 2 in."""
    std, libre = tiers["standard"], tiers["prix libre"]
    first = visitor(event, name="Alice", email="alice@example.org", attendees=[{"tier": std}])
    cheap = visitor(
        event, name="Bruno", email="bruno@example.org", attendees=[{"tier": libre, "amount": "8"}]
    )
    visitor(
        event,
        name="Chloé",
        email="chloe@example.org",
        attendees=[{"tier": std}, {"tier": std, "name": "Denis"}],
    )
    gone = visitor(event, name="Eve", email="eve@example.org", attendees=[{"tier": std}])
    services.registration_cancel(registration=gone, by=None, level=Level.CONCIERGE)
    for registration in (first, cheap):
        services.ticket_check_in(ticket=registration.tickets.get(), by=None)
    return event


# --- One event ------------------------------------------------------------------------------------


def test_event_report_figures(crafted):
    report = reports.event_report(event=crafted)
    stats = report.stats
    assert (stats.registered, stats.checked_in, stats.waitlisted, stats.offered) == (4, 2, 0, 0)
    assert report.occupancy == 40
    assert report.attendance_rate == 50
    assert report.attended_occupancy == 20
    assert stats.revenue == Decimal("53.00")
    assert report.average == Decimal("13.25")
    assert plain(report.sliding_scale) == (
        "En moyenne 13,25 € payés par personne pour un tarif standard de 15,00 € (88 %)."
    )
    lines = {line.name: line for line in report.tiers}
    assert (lines["standard"].seats, lines["standard"].checked_in) == (3, 1)
    assert lines["standard"].revenue == Decimal("45.00")
    assert lines["prix libre"].average == Decimal("8.00")
    assert lines["soutien"].seats == 0 and lines["soutien"].average is None
    # Bars: widths are plain numbers for the SVG, whatever the language.
    assert [b.width for b in report.fill_bars] == ["40.0", "20.0"]
    assert {b.label: b.width for b in report.tier_bars}["standard"] == "75.0"


def test_event_report_page_shows_the_figures(client, crafted, concierge):
    login(client, concierge)
    response = client.get(report_url(crafted))
    assert response.status_code == 200
    html = response.content.decode()
    assert "4 / 10" in html and "40 %" in html and "50 %" in html
    assert "53,00" in html and "13,25" in html and "(88 %)" in html
    assert 'width="40.0%"' in html  # the registered bar
    assert "Feuille d'émargement" in html


def test_event_report_of_an_empty_event_does_not_divide_by_zero(client, event, concierge):
    login(client, concierge)
    response = client.get(report_url(event))
    assert response.status_code == 200
    report = response.context["report"]
    assert report.attendance_rate is None and report.average is None
    assert report.sliding_scale == ""


def test_event_report_counts_the_waitlist_and_offers(place, concierge):
    event = make_event(place, capacity=1)
    first = visitor(event, name="Un", email="un@example.org")
    visitor(event, name="Deux", email="deux@example.org")
    visitor(event, name="Trois", email="trois@example.org")
    services.registration_cancel(registration=first, by=None, level=Level.CONCIERGE)
    report = reports.event_report(event=event)
    assert (report.stats.registered, report.stats.offered, report.stats.waitlisted) == (0, 1, 1)
    assert [b.label for b in report.fill_bars][-2:] == ["Places proposées", "Liste d'attente"]


def test_stay_report_counts_nights_and_person_nights(place):
    start = SOON.replace(hour=16)
    stay = make_event(
        place,
        title="Résidence",
        is_stay=True,
        category="sejour",
        start_at=start,
        end_at=(start + dt.timedelta(days=3)).replace(hour=10),
    )
    visitor(stay, attendees=[{}, {"name": "Sam"}])
    report = reports.event_report(event=stay)
    assert (report.nights, report.person_nights) == (3, 6)


def test_event_report_query_count_is_flat(client, place, concierge):
    login(client, concierge)

    def queries(n):
        event = make_event(place, title=f"Atelier {n}", capacity=30, tiers=SLIDING)
        tier = event.tiers.get(name="standard")
        for i in range(n):
            visitor(event, name=f"P{i}", email=f"p{i}-{n}@example.org", attendees=[{"tier": tier}])
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(report_url(event)).status_code == 200
        return len(ctx)

    assert queries(1) == queries(20)


def test_event_report_of_another_place_is_404(client, concierge):
    other = make_event(make_place(slug="ailleurs", name="Ailleurs"))
    login(client, concierge)
    url = reverse("events_reports:event_report", args=["moulin", other.uuid])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("name", ["event_report", "attendance_csv", "signin_sheet"])
def test_member_cannot_see_reports(client, event, member, name):
    login(client, member[0])
    url = reverse(f"events_reports:{name}", args=[event.place.slug, event.uuid])
    assert client.get(url).status_code == 403
    assert client.get(period_url(event.place)).status_code == 403


# --- A period -------------------------------------------------------------------------------------


def at(day_offset, hour=18):
    return (SOON + dt.timedelta(days=day_offset)).replace(hour=hour)


def span(days=40):
    start = SOON.date() - dt.timedelta(days=1)
    return {"du": start.isoformat(), "au": (start + dt.timedelta(days=days)).isoformat()}


def test_period_report_rows_totals_and_categories(client, place, crafted, concierge):
    talk = make_event(
        place,
        title="Conférence climat",
        category="conference",
        capacity=30,
        start_at=at(3),
        end_at=at(3, 20),
        tiers=[{"name": "standard", "price": Decimal("10")}],
    )
    visitor(talk, name="Gaby", email="gaby@example.org", attendees=[{}, {"name": "Hugo"}])
    make_event(place, title="Plus tard", start_at=at(200), end_at=at(200, 20))
    login(client, concierge)
    response = client.get(period_url(place, **span()))
    assert response.status_code == 200
    report = response.context["report"]
    assert [r.event.title for r in report.rows] == ["Atelier soudure", "Conférence climat"]
    crafted_row = report.rows[0]
    assert (crafted_row.registered, crafted_row.attended, crafted_row.occupancy) == (4, 2, 40)
    assert crafted_row.revenue == Decimal("53.00")
    totals = report.totals
    assert (totals.events, totals.capacity, totals.registered, totals.attended) == (2, 40, 6, 2)
    assert totals.occupancy == 15  # 6 / 40, not the mean of 40 % and 7 %
    assert totals.revenue == Decimal("73.00")
    # Paid 73 € where the standard prices would have made 4 × 15 + 2 × 10 = 80 €.
    assert "12,17 €" in plain(totals.sliding_scale) and "(91 %)" in totals.sliding_scale
    by_category = {c.label: c for c in report.categories}
    assert by_category["Conférence"].registered == 2 and by_category["Atelier"].events == 1
    html = response.content.decode()
    assert report_url(crafted) in html  # each title links to its report
    assert "Plus tard" not in html


def test_period_report_shows_stays_in_nights(client, place, concierge):
    start = SOON.replace(hour=16)
    stay = make_event(
        place,
        title="Résidence",
        is_stay=True,
        category="sejour",
        start_at=start,
        end_at=(start + dt.timedelta(days=2)).replace(hour=10),
    )
    visitor(stay, attendees=[{}, {"name": "Sam"}, {"name": "Lou"}])
    login(client, concierge)
    response = client.get(period_url(place, **span()))
    totals = response.context["report"].totals
    assert (totals.nights, totals.person_nights) == (2, 6)
    assert "Nuitées" in response.content.decode()


def test_period_report_leaves_out_other_places(client, place, event, concierge):
    elsewhere = make_event(make_place(slug="ailleurs", name="Ailleurs"), title="Chez les voisins")
    visitor(elsewhere)
    login(client, concierge)
    response = client.get(period_url(place, **span()))
    titles = [r.event.title for r in response.context["report"].rows]
    assert titles == ["Atelier soudure"]
    assert response.context["report"].totals.registered == 0
    assert "Chez les voisins" not in response.content.decode()


def test_period_report_leaves_cancelled_events_out_of_the_figures(client, place, event, concierge):
    called_off = make_event(place, title="Annulé", capacity=50, start_at=at(2), end_at=at(2, 20))
    visitor(called_off)
    services.event_cancel(event=called_off, by=None)
    login(client, concierge)
    response = client.get(period_url(place, **span()))
    report = response.context["report"]
    assert [r.event.title for r in report.rows] == ["Atelier soudure"]
    assert (report.totals.events, report.totals.capacity) == (1, 10)
    assert [e.title for e in report.cancelled] == ["Annulé"]
    assert "Évènements annulés" in response.content.decode()


def test_period_report_defaults_to_the_current_month(client, place, concierge):
    login(client, concierge)
    response = client.get(period_url(place))
    assert response.status_code == 200
    today = timezone.now().astimezone(PARIS).date()
    report = response.context["report"]
    assert report.start == today.replace(day=1)
    assert report.end.month == today.month and (report.end + dt.timedelta(days=1)).day == 1


def test_period_report_with_only_a_start_covers_its_month(client, place, concierge):
    login(client, concierge)
    response = client.get(period_url(place, du="2030-02-10"))
    report = response.context["report"]
    assert (report.start, report.end) == (dt.date(2030, 2, 10), dt.date(2030, 2, 28))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"du": "2025-13-01", "au": "2025-12-31"}, "Date invalide"),
        ({"du": "pas une date", "au": "2025-12-31"}, "Date invalide"),
        ({"du": "2025-02-01", "au": "2025-01-01"}, "avant son début"),
        ({"du": "2024-01-01", "au": "2025-12-31"}, "Période trop longue"),
        ({"du": "0001-01-01", "au": "0001-01-31"}, "l&#x27;an 2000"),
        ({"du": "99999-01-01"}, "Date invalide"),
    ],
)
def test_period_report_bad_dates_get_a_message(client, place, concierge, params, message):
    login(client, concierge)
    response = client.get(period_url(place, **params))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "La période demandée n" in html


def test_period_report_accepts_french_dates(client, place, event, concierge):
    login(client, concierge)
    start = SOON.date() - dt.timedelta(days=1)
    end = SOON.date() + dt.timedelta(days=1)
    response = client.get(period_url(place, du=f"{start:%d/%m/%Y}", au=f"{end:%d/%m/%Y}"))
    assert response.status_code == 200
    assert response.context["report"].totals.events == 1


def test_period_report_query_count_is_flat(client, place, concierge):
    login(client, concierge)

    def add_events(first, last):
        for i in range(first, last):
            e = make_event(place, title=f"E{i}", start_at=at(i), end_at=at(i, 20), tiers=SLIDING)
            visitor(
                e,
                name=f"P{i}",
                email=f"p{i}@example.org",
                attendees=[{"tier": e.tiers.get(name="soutien")}],
            )

    def queries(n):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(period_url(place, **span()))
        assert response.status_code == 200
        assert response.context["report"].totals.events == n
        return len(ctx)

    add_events(0, 1)
    one = queries(1)
    add_events(1, 10)
    assert queries(10) == one
