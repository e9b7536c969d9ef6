"""Invoice numbers under real concurrency: 64 threads, each with its own connection, issue a
draft at the same instant. With the guard off, two issuers read the same last number and
the second one's write collides on the unique number (its invoice is not issued); with the
guard on (the `billing.issue` lock of the place), the 64 numbers are 1..64, no gap, no
duplicate, and the hash chain is intact — on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError

from conciergerie.billing import services
from conciergerie.billing.chain import chain_verify
from conciergerie.billing.models import Invoice
from tests.concurrency.test_booking_race import run_together
from tests.factories import make_person, make_place

pytestmark = pytest.mark.django_db(transaction=True)

N = 64
ON = dt.date(2026, 11, 20)


def drafts(place, n: int) -> list[Invoice]:
    people = [make_person(place=place, first_name=f"P{i}") for i in range(n)]
    result = []
    for person in people:
        draft = services.invoice_draft_create(place=place, by=None, person=person)
        services.invoice_line_add(
            invoice=draft, by=None, label="Forfait", quantity=1, unit_price=Decimal("90")
        )
        result.append(draft)
    return result


def issue_all(invoices: list[Invoice]) -> dict[str, int]:
    collisions = {"n": 0}

    def job(invoice: Invoice):
        def run() -> None:
            try:
                services.invoice_issue(invoice=invoice, by=None, on=ON)
            except IntegrityError:
                collisions["n"] += 1

        return run

    run_together([job(i) for i in invoices])
    return collisions


def test_without_the_guard_concurrent_issuers_collide(settings):
    place = make_place(slug="course-f", name="Course")
    invoices = drafts(place, 16)
    settings.CAPACITY_GUARD = False
    settings.CAPACITY_RACE_WINDOW = 0.05
    collisions = issue_all(invoices)
    # Several issuers took the same number: only the constraint kept them apart.
    assert collisions["n"] > 0
    assert Invoice.objects.filter(place=place, status=Invoice.Status.DRAFT).count() > 0


def test_with_the_guard_64_invoices_get_contiguous_numbers(settings):
    place = make_place(slug="course-g", name="Course")
    invoices = drafts(place, N)
    settings.CAPACITY_GUARD = True
    settings.CAPACITY_RACE_WINDOW = 0.001
    # 64 issues wait in line for one lock: on a loaded machine the last waits longer than the
    # default 5 s, and a time-out (Busy) is not what this test is about.
    settings.CAPACITY_LOCK_TIMEOUT = 60
    assert issue_all(invoices) == {"n": 0}
    numbers = sorted(
        Invoice.objects.filter(place=place, status=Invoice.Status.ISSUED).values_list(
            "sequence", flat=True
        )
    )
    assert numbers == list(range(1, N + 1))
    assert chain_verify(place.pk) == (N, [])
