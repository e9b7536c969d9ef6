"""The seats-held counters (SeatCount) that the registration check reads under the event's
lock: they must follow every change of a registration's holding, or the check would oversell
(counter too low) or refuse free seats (too high)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conciergerie.core.errors import Conflict
from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.models import Registration, SeatCount, Ticket
from tests.events.conftest import make_event, visitor

TIERS = [
    {"name": "solidaire", "price": Decimal("5"), "quota": 2},
    {"name": "standard", "price": Decimal("15")},
]


def counters(event):
    return {
        c.tier.name: c.held
        for c in SeatCount.objects.filter(event=event).select_related("tier")
        if c.held
    }


def order(event, email, *names):
    ids = {t.name: str(t.uuid) for t in event.tiers.all()}
    return visitor(event, email=email, attendees=[{"tier": ids[n], "name": n} for n in names])


@pytest.mark.django_db(transaction=True)
def test_counters_follow_every_change_of_holding(place):
    """Outside a test transaction, as in production: on PostgreSQL the quick path counts the
    seats in the same round trip as its check and its COMMIT."""
    event = make_event(place, capacity=4, waitlist_enabled=True, offer_hours=12, tiers=TIERS)
    a = order(event, "a@example.org", "solidaire", "standard")
    b = order(event, "b@example.org", "standard", "standard")
    assert counters(event) == {"solidaire": 1, "standard": 3}
    waiting = order(event, "c@example.org", "solidaire")  # full: waitlisted, holds nothing
    assert waiting.status == Registration.Status.WAITLISTED
    assert counters(event) == {"solidaire": 1, "standard": 3}

    services.registration_cancel(registration=a, by=None, level=Level.CONCIERGE)
    waiting.refresh_from_db()
    assert waiting.status == Registration.Status.OFFERED  # an offer holds its seat
    assert counters(event) == {"solidaire": 1, "standard": 2}

    services.offers_expire(now=timezone.now() + dt.timedelta(hours=13))
    assert counters(event) == {"standard": 2}
    assert not services.seats_drift(event)

    services.registration_cancel(registration=b, by=None, level=Level.CONCIERGE)
    assert counters(event) == {}
    order(event, "d@example.org", "solidaire", "solidaire")
    over_quota = order(event, "e@example.org", "solidaire")  # the quota of 2, from the counter
    assert over_quota.status == Registration.Status.WAITLISTED
    assert counters(event) == {"solidaire": 2}

    services.event_cancel(event=event, by=None)
    assert counters(event) == {}
    assert not services.seats_drift(event)


def test_a_refused_order_counts_nothing(place):
    event = make_event(place, capacity=1, waitlist_enabled=False, tiers=TIERS)
    order(event, "a@example.org", "standard")
    with pytest.raises(Conflict):
        order(event, "b@example.org", "standard")
    assert counters(event) == {"standard": 1}
    assert Ticket.objects.filter(event=event).count() == 1


def test_the_check_reads_the_counters_not_the_registrations(place):
    """What the counters say is what the check believes: 3 seats counted out of 3 is full,
    even with no registration behind them (which `seats_drift` then reports)."""
    event = make_event(place, capacity=3, waitlist_enabled=False, tiers=TIERS)
    standard = event.tiers.get(name="standard")
    SeatCount.objects.create(tier=standard, event=event, held=3)
    with pytest.raises(Conflict):
        order(event, "a@example.org", "standard")
    assert services.seats_drift(event) == {standard.pk: (3, 0)}
    assert services.seats_recount(event) == {standard.pk: (3, 0)}
    assert not services.seats_drift(event)
    assert order(event, "a@example.org", "standard").status == Registration.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_the_check_under_the_lock_does_not_grow_with_the_registrations(place):
    """The statement run under the event's lock reads the counters and looks the duplicate up
    by index: its text, and the rows it reads, do not depend on how many are registered."""
    event = make_event(place, capacity=1000, tiers=TIERS)

    def check_statement(email):
        with CaptureQueriesContext(connection) as ctx:
            order(event, email, "standard")
        (sql,) = [q["sql"] for q in ctx.captured_queries if "SELECT e.capacity" in q["sql"]]
        # On PostgreSQL the check is one statement of a batch: keep it alone.
        (check,) = re.findall(r"SELECT e\.capacity.*?FROM events_event e WHERE e\.id = \d+", sql)
        return check.replace(email, "EMAIL")

    first = check_statement("first@example.org")
    for i in range(30):
        order(event, f"v{i}@example.org", "standard")
    later = check_statement("later@example.org")
    # Only the ids differ (the new registration's own id, left out of the duplicate check).
    strip = re.compile(r"id <> \d+")
    assert strip.sub("", first) == strip.sub("", later)
    assert "SUM(CASE" not in later and "events_ticket " not in later  # no count of rows
