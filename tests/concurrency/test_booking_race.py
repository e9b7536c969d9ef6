"""The capacity guard under real concurrency: threads, each with its own database connection.

Without the guard, a widened gap between check and write lets concurrent bookings overbook a
resource; with it, no instant is ever over capacity, on SQLite (IMMEDIATE transactions) and
on PostgreSQL (advisory locks, plus the exclusion constraint for capacity-1 resources).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import zoneinfo
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection, transaction

from conciergerie.core import capacity
from conciergerie.core.errors import Busy, Conflict
from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from conciergerie.spaces.models import Booking, Resource
from tests.factories import make_place

pytestmark = pytest.mark.django_db(transaction=True)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
RACE_WINDOW = 0.05
DAY = (dt.datetime.now(PARIS) + dt.timedelta(days=10)).replace(
    hour=10, minute=0, second=0, microsecond=0
)


@pytest.fixture
def place(db):
    p = make_place(slug="course", name="La Course")
    p.opening_hours = {}  # always open: only capacity decides
    p.save()
    return p


def make_resource(place, name: str, cap: int) -> Resource:
    return services.resource_create(
        place=place, by=None, name=name, kind="salle", capacity=cap, horizon_days=3650
    )


def over_capacity(resource: Resource) -> list[dt.datetime]:
    holds = [
        capacity.Hold(s, e, n)
        for s, e, n in Booking.objects.filter(
            resource=resource, status__in=Booking.HOLDING
        ).values_list("start_at", "end_at", "seats")
    ]
    return capacity.over_capacity_instants(holds, resource.capacity)


def run_together(jobs: list[Callable[[], None]]) -> Counter[str]:
    """Start every job at once (a barrier); each thread closes its own connection."""
    barrier = threading.Barrier(len(jobs))
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(job: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=30)
            try:
                job()
                outcome = "ok"
            except Conflict:
                outcome = "conflict"
            with lock:
                outcomes[outcome] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    # The test thread must not hold a write transaction while the workers run.
    assert not connection.in_atomic_block
    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker is stuck"
    assert not errors, errors
    return outcomes


def book(
    resource: Resource, start: dt.datetime, end: dt.datetime, seats: int
) -> Callable[[], None]:
    def job() -> None:
        services.booking_create(
            resource=resource,
            by=None,
            level=Level.CONCIERGE,
            start=start,
            end=end,
            seats=seats,
            notify=False,
        )

    return job


def test_without_the_guard_concurrent_bookings_overbook(place, settings):
    settings.CAPACITY_GUARD = False
    settings.CAPACITY_RACE_WINDOW = RACE_WINDOW
    room = make_resource(place, "Grande salle", 3)
    start, end = DAY, DAY + dt.timedelta(hours=1)

    outcomes = run_together([book(room, start, end, 1) for _ in range(16)])

    assert over_capacity(room), outcomes  # the race shows: more than 3 held at once
    assert Booking.objects.filter(resource=room).count() > 3


def test_with_the_guard_no_instant_is_ever_over_capacity(place, settings):
    settings.CAPACITY_GUARD = True
    settings.CAPACITY_RACE_WINDOW = RACE_WINDOW
    big = make_resource(place, "Salle de 3", 3)
    single = make_resource(place, "Poste unique", 1)
    rng = random.Random(20261123)
    half_hour = dt.timedelta(minutes=30)
    jobs = []
    for i in range(64):
        resource = big if i % 2 else single
        start = DAY + rng.randrange(0, 6) * half_hour
        end = start + rng.randrange(1, 4) * half_hour
        seats = rng.randint(1, 2) if resource is big else 1
        jobs.append(book(resource, start, end, seats))

    outcomes = run_together(jobs)

    assert over_capacity(big) == []
    assert over_capacity(single) == []
    assert outcomes["ok"] > 0 and outcomes["conflict"] > 0, outcomes
    assert outcomes["ok"] == Booking.objects.filter(resource__in=[big, single]).count()


def test_overlapping_exclusive_bookings_below_the_services(place):
    """Below the services: PostgreSQL's exclusion constraint refuses an overlapping booking of
    a capacity-1 resource even from raw ORM writes; SQLite has no such constraint, so there
    the guard in the services is the only protection — and it refuses the same overlap."""
    room = make_resource(place, "Box", 1)
    fields = {
        "place": place,
        "resource": room,
        "exclusive": True,
        "status": Booking.Status.CONFIRMED,
    }
    Booking.objects.create(start_at=DAY, end_at=DAY + dt.timedelta(hours=2), **fields)
    overlap = {"start_at": DAY + dt.timedelta(hours=1), "end_at": DAY + dt.timedelta(hours=3)}
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError, match="booking_no_overlap"), transaction.atomic():
            Booking.objects.create(**overlap, **fields)
        assert Booking.objects.filter(resource=room).count() == 1
    else:
        raw = Booking.objects.create(**overlap, **fields)
        assert Booking.objects.filter(resource=room).count() == 2
        raw.delete()
    with pytest.raises(Conflict):
        services.booking_create(
            resource=room,
            by=None,
            level=Level.CONCIERGE,
            start=overlap["start_at"],
            end=overlap["end_at"],
            notify=False,
        )
    assert Booking.objects.filter(resource=room).count() == 1


def test_a_writer_that_cannot_get_the_lock_in_time_gets_busy_and_writes_nothing(place, settings):
    """The wait for the guard is bounded: a stuck writer makes the next one fail fast with a
    503 'try again', never hang a request (SQLite: process lock; PostgreSQL: lock_timeout)."""
    settings.CAPACITY_LOCK_TIMEOUT = 0.3
    room = make_resource(place, "Fablab", 1)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with capacity.guarded(services.GUARD_NAMESPACE, [room.pk]):
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        started = time.monotonic()
        with pytest.raises(Busy, match="réessayez"):
            book(room, DAY, DAY + dt.timedelta(hours=1), 1)()
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join(timeout=30)
    assert not Booking.objects.filter(resource=room).exists()
    book(room, DAY, DAY + dt.timedelta(hours=1), 1)()  # once released, it goes through
    assert Booking.objects.filter(resource=room).count() == 1
