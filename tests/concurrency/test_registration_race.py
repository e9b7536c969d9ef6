"""The capacity guard on event registrations under real concurrency (threads, each with its
own database connection), modelled on test_booking_race.

Without the guard, a widened gap between check and write lets concurrent registrations
oversell an event; with it, the confirmed seats never exceed the event's capacity nor a
tier's quota, on SQLite (IMMEDIATE transactions) and on PostgreSQL (advisory locks).
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db.models import Count

from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.models import Event, Registration, Ticket
from tests.concurrency.test_booking_race import run_together  # the same harness
from tests.factories import make_place

pytestmark = pytest.mark.django_db(transaction=True)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
RACE_WINDOW = 0.05
DAY = (dt.datetime.now(PARIS) + dt.timedelta(days=10)).replace(
    hour=18, minute=0, second=0, microsecond=0
)


@pytest.fixture
def place(db):
    return make_place(slug="course", name="La Course")


def make_event(place, title: str, cap: int, *, waitlist: bool, tiers=None) -> Event:
    return services.event_create(
        place=place,
        by=None,
        title=title,
        start_at=DAY,
        end_at=DAY + dt.timedelta(hours=2),
        capacity=cap,
        waitlist_enabled=waitlist,
        tiers=tiers,
    )


def held(event: Event, status: str = Registration.Status.CONFIRMED) -> Counter[str]:
    """Seats per tier name held by registrations in `status`."""
    rows = (
        Ticket.objects.filter(event=event, registration__status=status)
        .values_list("tier__name")
        .annotate(n=Count("id"))
    )
    return Counter(dict(rows))


def assert_nothing_half_written() -> None:
    for reg in Registration.objects.annotate(n=Count("tickets")):
        assert reg.n == reg.seats, reg


def register(event: Event, email: str, tiers: list[str]) -> Callable[[], None]:
    def job() -> None:
        services.registration_create(
            event=event,
            by=None,
            level=Level.ANONYMOUS,
            visitor_name="Visiteur",
            visitor_email=email,
            attendees=[{"name": f"P{i}", "tier": t} for i, t in enumerate(tiers)],
            notify=False,
        )

    return job


def test_without_the_guard_concurrent_registrations_oversell(place, settings):
    settings.CAPACITY_GUARD = False
    settings.CAPACITY_RACE_WINDOW = RACE_WINDOW
    event = make_event(place, "Atelier", 5, waitlist=False)
    tier = str(event.tiers.get().uuid)

    outcomes = run_together([register(event, f"v{i}@example.org", [tier]) for i in range(16)])

    assert sum(held(event).values()) > 5, outcomes  # the race shows: oversold
    assert_nothing_half_written()


def test_with_the_guard_capacity_and_quotas_are_never_exceeded(place, settings):
    settings.CAPACITY_GUARD = True
    settings.CAPACITY_RACE_WINDOW = RACE_WINDOW
    tiers = [
        {"name": "solidaire", "price": Decimal("5"), "quota": 2},
        {"name": "standard", "price": Decimal("15")},
    ]
    no_wait = make_event(place, "Sans attente", 5, waitlist=False, tiers=tiers)
    with_wait = make_event(place, "Avec attente", 5, waitlist=True, tiers=tiers)
    rng = random.Random(20261123)
    jobs = []
    for i in range(64):
        event = with_wait if i % 2 else no_wait
        ids = {t.name: str(t.uuid) for t in event.tiers.all()}
        chosen = [rng.choice(["solidaire", "standard"]) for _ in range(rng.randint(1, 2))]
        jobs.append(register(event, f"v{i}@example.org", [ids[n] for n in chosen]))

    outcomes = run_together(jobs)

    for event in (no_wait, with_wait):
        confirmed = held(event)
        assert sum(confirmed.values()) <= 5, confirmed
        assert confirmed["solidaire"] <= 2, confirmed
    assert sum(held(no_wait).values()) >= 4  # it filled up (a 2-seat order may not fit)
    assert sum(held(with_wait, Registration.Status.WAITLISTED).values()) > 0
    assert outcomes["ok"] > 0 and outcomes["conflict"] > 0, outcomes
    assert outcomes["ok"] == Registration.objects.count()
    assert not Registration.objects.filter(
        event=with_wait, status=Registration.Status.CANCELLED
    ).exists()
    assert_nothing_half_written()
    # The counters the check read agree with the registrations kept.
    assert not services.seats_drift(no_wait) and not services.seats_drift(with_wait)


def test_the_same_email_registers_once_under_concurrency(place, settings):
    settings.CAPACITY_RACE_WINDOW = RACE_WINDOW
    event = make_event(place, "Conférence", 50, waitlist=True)
    tier = str(event.tiers.get().uuid)

    outcomes = run_together([register(event, "meme@example.org", [tier]) for _ in range(16)])

    assert outcomes == Counter({"ok": 1, "conflict": 15})
    assert Registration.objects.filter(event=event).count() == 1
    assert_nothing_half_written()
