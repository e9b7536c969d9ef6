"""The quick registration path: on PostgreSQL, when the registration is the outermost
transaction, the event's lock, the check and the COMMIT travel in one round trip
(`Guard.commit_locked`); an order that does not fit is refused by the server and taken the
long way, which says why or waitlists it. The same outcomes hold on SQLite (long way only)."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conciergerie.core.errors import Conflict
from conciergerie.core.models import AuditEntry
from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.models import Registration
from tests.concurrency.test_booking_race import run_together
from tests.concurrency.test_registration_race import (
    assert_nothing_half_written,
    held,
    make_event,
    register,
)
from tests.factories import make_place

pytestmark = pytest.mark.django_db(transaction=True)


def tier(event, name=None):
    tiers = event.tiers.all()
    return str((tiers.get(name=name) if name else tiers.get()).uuid)


def visit(event, email, tiers=None):
    tiers = tiers or [tier(event)]
    return services.registration_create(
        event=event,
        by=None,
        level=Level.ANONYMOUS,
        visitor_name="Visiteur",
        visitor_email=email,
        attendees=[{"name": f"P{i}", "tier": t} for i, t in enumerate(tiers)],
        notify=False,
    )


@pytest.fixture
def place(db):
    return make_place(slug="rapide", name="Le Rapide")


def test_a_registration_that_fits_commits_with_its_lock(place):
    event = make_event(place, "Atelier", 2, waitlist=False)
    with CaptureQueriesContext(connection) as queries:
        reg = visit(event, "a@example.org")
    assert reg.status == Registration.Status.CONFIRMED
    assert Registration.objects.get(pk=reg.pk).status == Registration.Status.CONFIRMED
    locked = [q["sql"] for q in queries.captured_queries if "pg_advisory_xact_lock" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(locked) == 1 and locked[0].rstrip().endswith("COMMIT")
        assert "conciergerie_refuse()" in locked[0]
    else:
        assert locked == []
    # The tickets and the audit entry, sent in that same round trip on PostgreSQL, are all
    # there and read back as they were written (the entry's changes as JSON, not text).
    (ticket,) = reg.tickets.all()
    assert ticket.name == "P0" and ticket.qr_token and ticket.tier.event_id == event.pk
    entry = AuditEntry.objects.get(action="registration.create", target_uuid=reg.uuid)
    assert entry.changes["status"] == [None, Registration.Status.CONFIRMED]
    assert entry.changes["seats"] == [None, 1] and entry.target_label == str(reg)


def test_refusals_say_why_and_leave_nothing(place):
    event = make_event(place, "Petit", 1, waitlist=False)
    visit(event, "a@example.org")
    with pytest.raises(Conflict, match="Complet"):
        visit(event, "b@example.org")
    bigger = make_event(place, "Grand", 5, waitlist=False)
    visit(bigger, "c@example.org")
    with pytest.raises(Conflict, match="déjà inscrit"):
        visit(bigger, "c@example.org")
    assert Registration.objects.count() == 2
    assert AuditEntry.objects.filter(action="registration.create").count() == 2
    assert_nothing_half_written()


def test_an_order_beyond_a_quota_is_refused_by_name(place):
    event = make_event(
        place,
        "Prix libre",
        10,
        waitlist=False,
        tiers=[
            {"name": "Standard", "price": Decimal("10")},
            {"name": "Solidaire", "price": Decimal("3"), "quota": 1},
        ],
    )
    visit(event, "a@example.org", [tier(event, "Solidaire")])
    with pytest.raises(Conflict, match="Solidaire"):
        visit(event, "b@example.org", [tier(event, "Standard"), tier(event, "Solidaire")])
    assert held(event) == {"Solidaire": 1}


def test_a_full_event_with_a_waitlist_waitlists_under_contention(place):
    event = make_event(place, "Couru", 10, waitlist=True)
    only = tier(event)
    outcomes = run_together([register(event, f"v{i}@example.org", [only]) for i in range(24)])
    assert outcomes == {"ok": 24}
    assert sum(held(event).values()) == 10
    assert sum(held(event, Registration.Status.WAITLISTED).values()) == 14
    assert_nothing_half_written()
    assert AuditEntry.objects.filter(action="registration.create").count() == 24


def test_the_confirmation_leaves_once_committed_and_never_for_a_refusal(place):
    from conciergerie.core.models import OutboxMessage

    event = make_event(place, "Courriel", 1, waitlist=False)
    for email in ("a@example.org", "b@example.org"):
        with contextlib.suppress(Conflict):
            services.registration_create(
                event=event,
                by=None,
                level=Level.ANONYMOUS,
                visitor_name="Visiteur",
                visitor_email=email,
                attendees=[{"name": "P", "tier": tier(event)}],
            )
    assert OutboxMessage.objects.filter(to__contains="a@example.org").count() == 1
    assert not OutboxMessage.objects.filter(to__contains="b@example.org").exists()
