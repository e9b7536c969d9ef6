"""Reads for events: figures for one event in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from conciergerie.core.models import Place
from conciergerie.core.money import CENT
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
