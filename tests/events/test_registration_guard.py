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
from conciergerie.events.models import Event, Registration, Ticket
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


# The service is handed an event read before the lock (a page, an API call): a concierge may
# have changed it meanwhile. What counts is the event as it is under the lock.


def test_a_capacity_lowered_meanwhile_is_respected(place):
    event = make_event(place, capacity=3, waitlist_enabled=False)
    visitor(event, email="a@example.org")
    stale = Event.objects.select_related("place").get(pk=event.pk)
    services.event_update(event=event, by=None, notify=False, capacity=1)
    with pytest.raises(Conflict, match="Complet"):
        visitor(stale, email="b@example.org")
    assert Registration.objects.count() == 1


def test_a_cancelled_event_takes_no_more_registrations(place):
    event = make_event(place)
    stale = Event.objects.select_related("place").get(pk=event.pk)
    services.event_cancel(event=event, by=None)
    with pytest.raises(Conflict, match="annulé"):
        visitor(stale, email="b@example.org")
    assert not Registration.objects.exists() and not Ticket.objects.exists()


def test_a_quota_lowered_meanwhile_is_respected(place):
    event = make_event(place, tiers=QUOTA_TIERS, capacity=10, waitlist_enabled=False)
    sol = event.tiers.get(name="solidaire")
    visitor(event, email="a@example.org", attendees=[{"tier": sol.pk}])
    # Read with its tiers, as the event page does: the service then sees the old quota.
    stale = Event.objects.select_related("place").prefetch_related("tiers").get(pk=event.pk)
    tiers = [{**QUOTA_TIERS[0], "quota": 1}, QUOTA_TIERS[1]]
    services.event_tiers_save(event=event, by=None, tiers=tiers)
    assert [t.quota for t in stale.tiers.all()] == [2, None]
    with pytest.raises(Conflict, match="solidaire"):
        visitor(stale, email="b@example.org", attendees=[{"tier": sol.pk}])
