"""Reads for the team's event reports: one event, a period, the list of confirmed attendees.

Every figure is computed here, percentages and bar widths included, so that templates only
show them. Query counts stay flat whatever the number of events, tiers or attendees:
- one event: the event, then `selectors.event_stats` (tiers, tickets grouped by tier);
- a period: the events, their tiers, and the confirmed tickets grouped by event and tier;
- the attendees: one query (tickets with their tier and registration).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from conciergerie.core.models import Place
from conciergerie.core.money import CENT, format_amount
from conciergerie.core.text import fold
from conciergerie.events.models import Event, Registration, Ticket, TicketTier
from conciergerie.events.selectors import EventStats, _standard, event_stats

ZERO = Decimal("0.00")
MAX_PERIOD_DAYS = 400


# --- Display helpers: computed here, shown as they are ------------------------------------------


def percent(part: float | Decimal, whole: float | Decimal) -> int | None:
    """part / whole as a whole percentage, rounded half up; None when there is no whole."""
    if not whole:
        return None
    return int((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_text(value: int | None) -> str:
    return "—" if value is None else _("%(n)s %%") % {"n": value}


@dataclass
class Bar:
    """One horizontal bar: a label, the text shown beside it and its width (0–100)."""

    label: str
    text: str
    width: str  # "40.0": a percentage for the SVG attribute, never localised
    url: str = ""

    @classmethod
    def of(
        cls, label: str, part: float | Decimal, whole: float | Decimal, text: str, url: str = ""
    ) -> Bar:
        ratio = float(part) / float(whole) if whole else 0.0
        return cls(label=label, text=text, width=f"{min(max(ratio, 0.0), 1.0) * 100:.1f}", url=url)


def _average(total: Decimal, count: int) -> Decimal | None:
    return (total / count).quantize(CENT, rounding=ROUND_HALF_UP) if count else None


def sliding_scale_sentence(average: Decimal | None, standard: Decimal | None) -> str:
    """'En moyenne 12,40 € payés pour un tarif standard de 15,00 € (83 %).' or ''."""
    if average is None or not standard:
        return ""
    return _(
        "En moyenne %(average)s payés par personne pour un tarif standard de %(standard)s "
        "(%(percent)s)."
    ) % {
        "average": format_amount(average),
        "standard": format_amount(standard),
        "percent": percent_text(percent(average, standard)),
    }


def _standard_price(event: Event, tiers: list[TicketTier]) -> Decimal | None:
    from conciergerie.events.services import tier_amount

    standard = _standard(tiers)
    return None if standard is None else tier_amount(event=event, tier=standard)


# --- One event ------------------------------------------------------------------------------------


def report_event(*, place: Place, uuid: str) -> Event | None:
    """The place's event (any visibility: reports are for the team), or None."""
    return Event.objects.filter(place=place, uuid=uuid).select_related("place", "resource").first()


@dataclass
class TierLine:
    name: str
    price: str  # "15,00 €", "prix libre (dès 8,00 €)", "gratuit"
    seats: int
    waitlisted: int
    checked_in: int
    revenue: Decimal
    average: Decimal | None


@dataclass
class EventReport:
    event: Event
    stats: EventStats
    tiers: list[TierLine]
    occupancy: int | None  # registered / capacity, in %
    attended_occupancy: int | None  # attended / capacity
    attendance_rate: int | None  # attended / registered
    average: Decimal | None
    sliding_scale: str
    fill_bars: list[Bar]
    tier_bars: list[Bar]
    nights: int
    person_nights: int

    @property
    def occupancy_text(self) -> str:
        return percent_text(self.occupancy)

    @property
    def attended_occupancy_text(self) -> str:
        return percent_text(self.attended_occupancy)

    @property
    def attendance_rate_text(self) -> str:
        return percent_text(self.attendance_rate)


def _price_label(event: Event, tier: TicketTier) -> str:
    from conciergerie.events.services import tier_amount

    if tier.pay_what_you_can:
        return _("prix libre (dès %(floor)s, suggéré %(suggested)s)") % {
            "floor": format_amount(tier.floor),
            "suggested": format_amount(tier.suggested),
        }
    amount = tier_amount(event=event, tier=tier)
    return format_amount(amount) if amount else _("gratuit")


def seats_text(n: int, whole: int) -> str:
    return _("%(n)s / %(whole)s (%(percent)s)") % {
        "n": n,
        "whole": whole,
        "percent": percent_text(percent(n, whole)),
    }


def event_report(*, event: Event) -> EventReport:
    """The per-event report: `event_stats` (two queries) and what follows from it."""
    stats = event_stats(event=event)
    lines = [
        TierLine(
            name=ts.tier.name,
            price=_price_label(event, ts.tier),
            seats=ts.registered,
            waitlisted=ts.waitlisted,
            checked_in=ts.checked_in,
            revenue=ts.revenue,
            average=_average(ts.revenue, ts.registered),
        )
        for ts in stats.tiers
    ]
    cap = stats.capacity
    fill_bars = [
        Bar.of(_("Inscrit·es"), stats.registered, cap, seats_text(stats.registered, cap)),
        Bar.of(_("Présent·es"), stats.checked_in, cap, seats_text(stats.checked_in, cap)),
    ]
    if stats.offered:
        fill_bars.append(
            Bar.of(_("Places proposées"), stats.offered, cap, seats_text(stats.offered, cap))
        )
    if stats.waitlisted:
        fill_bars.append(Bar.of(_("Liste d'attente"), stats.waitlisted, cap, str(stats.waitlisted)))
    tier_bars = [
        Bar.of(
            line.name,
            line.seats,
            stats.registered,
            _("%(n)s place(s), %(percent)s")
            % {
                "n": line.seats,
                "percent": percent_text(percent(line.seats, stats.registered)),
            },
        )
        for line in lines
    ]
    nights = event.nights
    return EventReport(
        event=event,
        stats=stats,
        tiers=lines,
        occupancy=percent(stats.registered, cap),
        attended_occupancy=percent(stats.checked_in, cap),
        attendance_rate=percent(stats.checked_in, stats.registered),
        average=stats.average_amount,
        sliding_scale=sliding_scale_sentence(stats.average_amount, stats.standard_price),
        fill_bars=fill_bars,
        tier_bars=tier_bars,
        nights=nights,
        person_nights=nights * stats.registered,
    )


# --- A period -------------------------------------------------------------------------------------


def period_bounds(place: Place, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From the first day's midnight to the midnight after the last day, in the place's zone."""
    zone = zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def current_month(place: Place, now: dt.datetime) -> tuple[dt.date, dt.date]:
    today = now.astimezone(zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")).date()
    return month_of(today)


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


@dataclass
class PeriodRow:
    event: Event
    capacity: int
    registered: int = 0
    attended: int = 0
    revenue: Decimal = ZERO
    standard_price: Decimal | None = None
    nights: int = 0

    @property
    def occupancy(self) -> int | None:
        return percent(self.registered, self.capacity)

    @property
    def occupancy_text(self) -> str:
        return percent_text(self.occupancy)

    @property
    def person_nights(self) -> int:
        return self.nights * self.registered


@dataclass
class Totals:
    """Sums over events; occupancy is Σregistered / Σcapacity (not an average of rates)."""

    label: str = ""
    events: int = 0
    capacity: int = 0
    registered: int = 0
    attended: int = 0
    revenue: Decimal = ZERO
    nights: int = 0
    person_nights: int = 0
    # Registered seats of events with a standard price, and what they would have paid at it.
    priced_seats: int = 0
    priced_revenue: Decimal = ZERO
    at_standard: Decimal = ZERO

    def add(self, row: PeriodRow) -> None:
        self.events += 1
        self.capacity += row.capacity
        self.registered += row.registered
        self.attended += row.attended
        self.revenue += row.revenue
        self.nights += row.nights
        self.person_nights += row.person_nights
        if row.standard_price:
            self.priced_seats += row.registered
            self.priced_revenue += row.revenue
            self.at_standard += row.standard_price * row.registered

    @property
    def occupancy(self) -> int | None:
        return percent(self.registered, self.capacity)

    @property
    def occupancy_text(self) -> str:
        return percent_text(self.occupancy)

    @property
    def attendance_rate_text(self) -> str:
        return percent_text(percent(self.attended, self.registered))

    @property
    def average(self) -> Decimal | None:
        return _average(self.revenue, self.registered)

    @property
    def sliding_scale(self) -> str:
        """Average paid vs the (seat-weighted) average standard price, on priced events."""
        if not self.priced_seats or not self.at_standard:
            return ""
        paid = _average(self.priced_revenue, self.priced_seats)
        standard = _average(self.at_standard, self.priced_seats)
        return sliding_scale_sentence(paid, standard)


@dataclass
class PeriodReport:
    start: dt.date
    end: dt.date
    rows: list[PeriodRow]
    totals: Totals
    categories: list[Totals]
    bars: list[Bar] = field(default_factory=list)
    cancelled: list[Event] = field(default_factory=list)

    @property
    def has_stays(self) -> bool:
        return any(row.event.is_stay for row in self.rows)


def period_report(*, place: Place, start: dt.date, end: dt.date) -> PeriodReport:
    """Every event of the place starting between `start` and `end` (local dates): 3 queries."""
    lo, hi = period_bounds(place, start, end)
    events = list(
        Event.objects.filter(place=place, start_at__gte=lo, start_at__lt=hi)
        .select_related("place")
        .prefetch_related("tiers")
        .order_by("start_at", "id")
    )
    # A cancelled event offered no seats: listed apart, left out of every figure.
    cancelled = [e for e in events if e.cancelled_at is not None]
    rows = {
        e.pk: PeriodRow(
            event=e,
            capacity=e.capacity,
            standard_price=_standard_price(e, list(e.tiers.all())),
            nights=e.nights,
        )
        for e in events
        if e.cancelled_at is None
    }
    tickets = (
        Ticket.objects.filter(
            event__place=place,
            event__start_at__gte=lo,
            event__start_at__lt=hi,
            registration__status=Registration.Status.CONFIRMED,
        )
        .values_list("event_id", "tier_id")
        .annotate(n=Count("id"), arrived=Count("checked_in_at"), paid=Sum("amount"))
        .order_by()
    )
    for event_id, _tier_id, n, arrived, paid in tickets:
        row = rows.get(event_id)
        if row is None:  # cancelled, or created between the two queries
            continue
        row.registered += n
        row.attended += arrived
        row.revenue += paid or ZERO
    totals = Totals()
    by_category: dict[str, Totals] = {}
    for row in rows.values():
        totals.add(row)
        category = row.event.category
        if category not in by_category:
            by_category[category] = Totals(label=str(row.event.get_category_display()))
        by_category[category].add(row)
    bars = [
        Bar.of(
            row.event.title,
            row.registered,
            row.capacity,
            seats_text(row.registered, row.capacity),
            url=reverse("events_reports:event_report", args=[place.slug, row.event.uuid]),
        )
        for row in rows.values()
    ]
    return PeriodReport(
        start=start,
        end=end,
        rows=list(rows.values()),
        totals=totals,
        categories=sorted(by_category.values(), key=lambda t: (-t.events, t.label)),
        bars=bars,
        cancelled=cancelled,
    )


# --- Attendees ----------------------------------------------------------------------------------


def name_key(name: str) -> tuple[str, str]:
    """Sort names the way people read them: no case, no accents (same on SQLite and PostgreSQL)."""
    return fold(name), name


def confirmed_attendees(*, event: Event) -> list[Ticket]:
    """The confirmed tickets of the event, sorted by name: one query."""
    tickets = Ticket.objects.filter(
        event=event, registration__status=Registration.Status.CONFIRMED
    ).select_related("tier", "registration")
    return sorted(tickets, key=lambda t: name_key(t.name))
