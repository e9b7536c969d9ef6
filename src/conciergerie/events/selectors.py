"""Reads for events: figures for one event in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from conciergerie.core.models import Place
from conciergerie.core.money import CENT
from conciergerie.core.permissions import Level
from conciergerie.events.models import Event, Registration, Ticket, TicketTier


def event_list(*, place: Place) -> QuerySet[Event]:
    return Event.objects.filter(place=place).select_related("place", "resource")


@dataclass
class TierStats:
    tier: TicketTier
    registered: int = 0
    waitlisted: int = 0
    checked_in: int = 0
    revenue: Decimal = Decimal("0.00")


@dataclass
class EventStats:
    capacity: int
    registered: int = 0  # confirmed seats
    offered: int = 0  # seats held by an offer not yet accepted
    waitlisted: int = 0
    checked_in: int = 0
    revenue: Decimal = Decimal("0.00")
    tiers: list[TierStats] = field(default_factory=list)
    standard_price: Decimal | None = None

    @property
    def occupancy(self) -> float:
        """Registered / capacity."""
        return self.registered / self.capacity if self.capacity else 0.0

    @property
    def attendance_occupancy(self) -> float:
        """Attended / capacity."""
        return self.checked_in / self.capacity if self.capacity else 0.0

    @property
    def attendance_rate(self) -> float:
        """Attended / registered."""
        return self.checked_in / self.registered if self.registered else 0.0

    @property
    def average_amount(self) -> Decimal | None:
        """Average paid per confirmed attendee."""
        if not self.registered:
            return None
        return (self.revenue / self.registered).quantize(CENT)

    @property
    def average_vs_standard(self) -> float | None:
        """Average paid / standard price: below 1, the sliding scale lowers what people pay."""
        avg = self.average_amount
        if avg is None or not self.standard_price:
            return None
        return float(avg / self.standard_price)


def _standard(tiers: list[TicketTier]) -> TicketTier | None:
    """The tier named "standard", else the first one with a price (fixed or suggested)."""
    for tier in tiers:
        if tier.name.strip().lower() == "standard":
            return tier
    for tier in tiers:
        if (tier.suggested if tier.pay_what_you_can else tier.price) > 0:
            return tier
    return None


def event_stats(*, event: Event) -> EventStats:
    """Seats, attendance, occupancy and revenue per tier: two queries."""
    from conciergerie.events.services import tier_amount

    tiers = list(event.tiers.all())
    by_tier = {t.pk: TierStats(tier=t) for t in tiers}
    stats = EventStats(capacity=event.capacity, tiers=list(by_tier.values()))
    rows = (
        Ticket.objects.filter(event=event)
        .values_list("tier_id", "registration__status")
        .annotate(n=Count("id"), arrived=Count("checked_in_at"), paid=Sum("amount"))
        .order_by()
    )
    for tier_id, status, n, arrived, paid in rows:
        ts = by_tier[tier_id]
        if status == Registration.Status.CONFIRMED:
            ts.registered += n
            ts.checked_in += arrived
            ts.revenue += paid or Decimal("0")
            stats.registered += n
            stats.checked_in += arrived
            stats.revenue += paid or Decimal("0")
        elif status == Registration.Status.OFFERED:
            stats.offered += n
        elif status == Registration.Status.WAITLISTED:
            ts.waitlisted += n
            stats.waitlisted += n
    standard = _standard(tiers)
    if standard is not None:
        stats.standard_price = tier_amount(event=event, tier=standard)
    return stats


# --- API reads -----------------------------------------------------------------------------------


def visible_visibilities(level: Level) -> tuple[str, ...]:
    """Which events a caller of this level sees: public ones; the place's members also see
    members-only ones; the team sees private ones too."""
    if level >= Level.CONCIERGE:
        return tuple(Event.Visibility.values)
    if level >= Level.MEMBER:
        return (Event.Visibility.PUBLIC, Event.Visibility.MEMBERS)
    return (Event.Visibility.PUBLIC,)


def events_visible(*, place: Place, level: Level) -> QuerySet[Event]:
    """The place's events this caller may see, with their place, room and tiers."""
    return (
        Event.objects.filter(place=place, visibility__in=visible_visibilities(level))
        .select_related("place", "resource")
        .prefetch_related("tiers")
    )


def event_visible(*, event: Event, level: Level) -> bool:
    """The rule of `events_visible` for one event already in hand."""
    return event.visibility in visible_visibilities(level)


@dataclass(frozen=True)
class Seats:
    registered: int = 0  # confirmed seats
    held: int = 0  # confirmed or offered: what counts against the capacity


def event_seats(*, events: Iterable[Event]) -> dict[int, Seats]:
    """Confirmed and held seats per event id, for any number of events: one query."""
    ids = [e.pk for e in events]
    if not ids:
        return {}
    rows = (
        Ticket.objects.filter(event_id__in=ids, registration__status__in=Registration.HOLDING)
        .values_list("event_id")
        .annotate(
            held=Count("id"),
            registered=Count("id", filter=Q(registration__status=Registration.Status.CONFIRMED)),
        )
        .order_by()
    )
    return {
        event_id: Seats(registered=registered, held=held) for event_id, held, registered in rows
    }


def event_registrations(*, event: Event) -> QuerySet[Registration]:
    """An event's registrations for the team, oldest first, with their person and tickets."""
    return (
        Registration.objects.filter(event=event)
        .select_related("person")
        .prefetch_related(
            Prefetch("tickets", queryset=Ticket.objects.select_related("tier").order_by("id"))
        )
        .order_by("created_at", "id")
    )


# --- Pages ---------------------------------------------------------------------------------------


@dataclass
class Listed:
    """An event on a list or calendar, with its free seats."""

    event: Event
    registered: int
    available: int

    @property
    def full(self) -> bool:
        return self.available <= 0


def events_between(
    *, place: Place, level: Level, start: dt.datetime, end: dt.datetime, category: str = ""
) -> list[Listed]:
    """Visible events overlapping [start, end), oldest first, with seats: two queries."""
    qs = events_visible(place=place, level=level).filter(start_at__lt=end, end_at__gt=start)
    if category:
        qs = qs.filter(category=category)
    events = list(qs.order_by("start_at", "id"))
    seats = event_seats(events=events)
    out = []
    for event in events:
        counted = seats.get(event.pk, Seats())
        out.append(Listed(event, counted.registered, max(event.capacity - counted.held, 0)))
    return out


def own_registration(*, event: Event, person: Any) -> Registration | None:
    """The person's active registration for the event, if any."""
    if person is None:
        return None
    return (
        Registration.objects.filter(event=event, person=person, status__in=Registration.ACTIVE)
        .order_by("-created_at")
        .first()
    )


def registration_page(*, uuid: Any, place: Place) -> Registration | None:
    """A registration with its event and tickets, for its private page."""
    return (
        Registration.objects.filter(uuid=uuid, place=place)
        .select_related("event__place", "event__resource", "person")
        .prefetch_related(
            Prefetch("tickets", queryset=Ticket.objects.select_related("tier").order_by("id"))
        )
        .first()
    )


def person_registrations(*, place: Place, person: Any) -> QuerySet[Registration]:
    """A member's registrations, upcoming first."""
    return (
        Registration.objects.filter(place=place, person=person)
        .exclude(status=Registration.Status.CANCELLED)
        .select_related("event__place")
        .order_by("event__start_at")
    )


CHECKIN_SHOWN = 200


def checkin_tickets(*, event: Event, query: str = "") -> list[Ticket]:
    """Confirmed attendees for the arrival desk, by name; a search narrows by name or e-mail."""
    qs = (
        Ticket.objects.filter(event=event, registration__status=Registration.Status.CONFIRMED)
        .select_related("tier")
        .order_by("name", "id")
    )
    for word in query.split()[:4]:
        qs = qs.filter(Q(name__icontains=word) | Q(email__icontains=word))
    return list(qs[:CHECKIN_SHOWN])


def checkin_counts(*, event: Event) -> tuple[int, int]:
    """(arrived, expected) confirmed attendees: one query."""
    row = Ticket.objects.filter(
        event=event, registration__status=Registration.Status.CONFIRMED
    ).aggregate(expected=Count("id"), arrived=Count("checked_in_at"))
    return row["arrived"] or 0, row["expected"] or 0


def registration_state(*, event: Event, available: int, now: dt.datetime) -> str:
    """Whether people can register now: "open", "cancelled", "not_yet", "closed" or "full"
    (full only when there is no waiting list to join)."""
    closes = event.registration_closes_at or event.start_at
    if event.cancelled_at is not None:
        return "cancelled"
    if event.registration_opens_at and now < event.registration_opens_at:
        return "not_yet"
    if now >= closes:
        return "closed"
    if available <= 0 and not event.waitlist_enabled:
        return "full"
    return "open"
