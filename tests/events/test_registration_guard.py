"""A registration is written first, then checked under the capacity guard (a deferred lock):
what a visitor or the team would notice if that order went wrong — a refused order that
leaves a trace, a waitlisted one logged as confirmed, other events' or cancelled seats
counted against this one, a second registration slipping past the duplicate check."""

from decimal import Decimal

import pytest

from conciergerie.core.errors import Conflict
from conciergerie.core.models import AuditEntry
from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.models import Registration, Ticket
from tests.events.conftest import make_event, visitor

QUOTA_TIERS = [
    {"name": "solidaire", "price": Decimal("5"), "quota": 2},
    {"name": "standard", "price": Decimal("15")},
]


def created_entries() -> list[str]:
    return list(
        AuditEntry.objects.filter(action="registration.create")
        .order_by("id")
        .values_list("changes__status__1", flat=True)
    )


def test_a_refused_order_leaves_no_registration_ticket_nor_log_entry(place):
    event = make_event(place, capacity=2, waitlist_enabled=False)
    visitor(event, email="a@example.org", attendees=[{}, {"name": "B"}])
    with pytest.raises(Conflict, match="Complet"):
        visitor(event, email="c@example.org")
    with pytest.raises(Conflict, match="déjà inscrit"):
        visitor(event, email="a@example.org")
    assert Registration.objects.count() == 1
    assert Ticket.objects.count() == 2
    assert created_entries() == [Registration.Status.CONFIRMED]


def test_the_log_says_waitlisted_when_the_order_waits(place):
    event = make_event(place, capacity=1)
    visitor(event, email="a@example.org")
    waiting = visitor(event, email="b@example.org")
    waiting.refresh_from_db()
    assert waiting.status == Registration.Status.WAITLISTED and waiting.confirmed_at is None
    assert created_entries() == [Registration.Status.CONFIRMED, Registration.Status.WAITLISTED]


def test_a_waitlisted_visitor_cannot_register_again(place):
    event = make_event(place, capacity=1)
    visitor(event, email="a@example.org")
    visitor(event, email="b@example.org")  # waits
    with pytest.raises(Conflict, match="déjà inscrit"):
        visitor(event, email="B@example.org")
    assert Registration.objects.filter(event=event).count() == 2


def test_seats_of_other_events_and_cancelled_orders_do_not_count(place):
    event = make_event(place, tiers=QUOTA_TIERS, capacity=3, waitlist_enabled=False)
    other = make_event(place, title="Autre atelier", tiers=QUOTA_TIERS, capacity=3)
    sol, other_sol = (e.tiers.get(name="solidaire").pk for e in (event, other))
    two = [{"tier": other_sol}, {"tier": other_sol, "name": "B"}]
    visitor(other, email="x@example.org", attendees=two)
    two = [{"tier": sol}, {"tier": sol, "name": "B"}]
    first = visitor(event, email="a@example.org", attendees=two)
    services.registration_cancel(registration=first, by=None, level=Level.CONCIERGE)

    again = visitor(event, email="b@example.org", attendees=two)
    assert again.status == Registration.Status.CONFIRMED
    with pytest.raises(Conflict, match="Plus de place au tarif « solidaire »"):
        visitor(event, email="c@example.org", attendees=[{"tier": sol}])
    std = event.tiers.get(name="standard").pk
    visitor(event, email="d@example.org", attendees=[{"tier": std}])  # the third seat
    with pytest.raises(Conflict, match="Complet"):
        visitor(event, email="e@example.org", attendees=[{"tier": std}])
