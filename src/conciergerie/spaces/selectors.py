"""Reads for resources and bookings: availability, search, calendars, what a caller may see."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import NamedTuple

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level
from conciergerie.spaces import rules
from conciergerie.spaces.models import (
    Booking,
    CalendarFeed,
    Closure,
    MaintenanceEntry,
    Qualification,
    Resource,
    ResourcePhoto,
    WaitlistEntry,
)

Interval = tuple[dt.datetime, dt.datetime]


def resources(*, place: Place, level: Level) -> QuerySet[Resource]:
    qs = Resource.objects.filter(place=place).select_related("place").prefetch_related("prices")
    if level < Level.CONCIERGE:
        qs = qs.filter(active=True)
    return qs


def resource_visible(resource: Resource, level: Level) -> bool:
    """The rule of `resources` for one resource already in hand: inactive ones for the team."""
    return resource.active or level >= Level.CONCIERGE


# Availability is computed in whole seconds since the epoch: a search over hundreds of
# resources reads thousands of bookings, and turning each into an aware datetime cost more
# than everything else together.
Span = tuple[int, int]
EPOCH_SQL = {
    "postgresql": "ROUND(EXTRACT(EPOCH FROM {}))::bigint",
    # julianday() is the fastest conversion SQLite has; rounded back to whole seconds.
    "sqlite": "CAST((julianday({}) - 2440587.5) * 86400 + 0.5 AS INTEGER)",
}


def _epoch(at: dt.datetime) -> int:
    return int(at.timestamp())


def _instant(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, rules.UTC)


def _holding_rows(ids: list[int], start: dt.datetime, end: dt.datetime) -> list[tuple[int, ...]]:
    """(resource id, start, end, seats) of the bookings holding these resources, in seconds."""
    if not ids:
        return []
    epoch = EPOCH_SQL.get(connection.vendor)
    if epoch is None:  # another database: the ORM's conversion, slower but exact
        return [
            (rid, _epoch(s), _epoch(e), n)
            for rid, s, e, n in Booking.objects.filter(
                resource_id__in=ids, status__in=Booking.HOLDING, start_at__lt=end, end_at__gt=start
            )
            .order_by("resource_id")
            .values_list("resource_id", "start_at", "end_at", "seats")
        ]
    # Only constants and placeholders are put into the text; every value is a parameter.
    sql = (
        f"SELECT resource_id, {epoch.format('start_at')}, {epoch.format('end_at')}, seats"  # noqa: S608
        f" FROM spaces_booking WHERE resource_id IN ({', '.join(['%s'] * len(ids))})"
        " AND status IN (%s, %s) AND start_at < %s AND end_at > %s ORDER BY resource_id"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, *Booking.HOLDING, adapt(end), adapt(start)])
        return cursor.fetchall()


def _first(row: tuple[int, ...]) -> int:
    return row[0]


def _busy_by_resource(
    res: Sequence[Resource | Slot], start: dt.datetime, end: dt.datetime
) -> tuple[dict[int, list[tuple[int, int, int]]], dict[int, list[Span]]]:
    """Two queries for any number of resources: holding bookings (widened by each resource's
    buffer) and closures in the window, in seconds."""
    by_id = {r.pk: r for r in res}
    buffers = {r.pk: r.buffer_minutes * 60 for r in res if r.buffer_minutes}
    pad = dt.timedelta(seconds=max(buffers.values(), default=0))
    holds: dict[int, list[tuple[int, int, int]]] = {}
    for rid, rows in groupby(_holding_rows(list(by_id), start - pad, end + pad), key=_first):
        b = buffers.get(rid, 0)
        holds[rid] = [(s - b, e + b, n) for _rid, s, e, n in rows]
    closed: dict[int, list[Span]] = defaultdict(list)
    for rid, c_start, c_end in Closure.objects.filter(
        place_id__in={r.place_id for r in res}, start_at__lt=end, end_at__gt=start
    ).values_list("resource_id", "start_at", "end_at"):
        if rid is not None and rid not in by_id:
            continue
        for r in res if rid is None else [by_id[rid]]:
            closed[r.pk].append((_epoch(c_start), _epoch(c_end)))
    return holds, closed


def _minus(spans: Sequence[Span], holes: list[Span]) -> list[Span]:
    """`spans` (sorted, disjoint) minus `holes` (any order, may overlap), in one pass."""
    if not holes:
        return list(spans)
    holes = sorted(holes)
    out: list[Span] = []
    i = 0
    for s, e in spans:
        while i < len(holes) and holes[i][1] <= s:
            i += 1
        j, cursor = i, s
        while j < len(holes) and holes[j][0] < e:
            hs, he = holes[j]
            if hs > cursor:
                out.append((cursor, hs))
            cursor = max(cursor, he)
            j += 1
        if cursor < e:
            out.append((cursor, e))
    return out


def _free(
    resource: Resource | Slot,
    start: dt.datetime,
    end: dt.datetime,
    seats: int,
    holds: list[tuple[int, int, int]],
    closed: list[Span],
) -> list[Span]:
    """Open spans minus closures minus the times where `seats` more would not fit."""
    if seats > resource.capacity:
        return []
    open_: Sequence[Span] = rules.opening_seconds(resource, start, end)
    if closed:
        open_ = _minus(open_, closed)
    room = resource.capacity - seats
    if not holds:
        return list(open_)
    if room == 0:
        # Every booking fills it (capacity 1, or all the seats asked): busy while any holds.
        return _minus(open_, [(s, e) for s, e, _n in holds])
    # Sweep over start/end events (n log n): where more than `room` is held, it is busy.
    events = sorted([(s, n) for s, _e, n in holds] + [(e, -n) for _s, e, n in holds])
    busy: list[Span] = []
    used, since = 0, 0
    for at, delta in events:
        was_full = used > room
        used += delta
        if used > room and not was_full:
            since = at
        elif was_full and used <= room and since < at:
            busy.append((since, at))
    return _minus(open_, busy)


def free_intervals(
    *, resource: Resource, start: dt.datetime, end: dt.datetime, seats: int = 1
) -> list[Interval]:
    holds, closed = _busy_by_resource([resource], start, end)
    free = _free(resource, start, end, seats, holds.get(resource.pk, []), closed[resource.pk])
    return [(_instant(s), _instant(e)) for s, e in free]


def _first_fit(resource: Resource | Slot, free: list[Span], minutes: int) -> Interval | None:
    """The first slot-aligned start (in local time) in the free spans that fits the duration."""
    need, step = minutes * 60, resource.slot_minutes * 60
    zone = rules.place_zone(resource)
    for s, e in free:
        if e - s < need:
            continue
        local = _instant(s).astimezone(zone)
        into = (local.hour * 3600 + local.minute * 60 + local.second) % step
        aligned = s + (step - into) % step
        if aligned + need <= e:
            return _instant(aligned), _instant(aligned + need)
    return None


class Slot(NamedTuple):
    """What the search computes with: a row, far cheaper to read than a Resource."""

    pk: int
    place_id: int
    name: str
    capacity: int
    features: list[str]
    opening_hours: dict[str, list[list[str]]]
    min_minutes: int
    max_minutes: int
    slot_minutes: int
    buffer_minutes: int
    place: Place


@dataclass
class Match:
    resource: Resource
    slot: Interval


FIRST_PASS = dt.timedelta(days=1)


@dataclass
class Found:
    matches: list[Match]  # the earliest slots first, at most `limit`
    total: int  # resources with a fitting slot, shown or not


def search(
    *,
    place: Place,
    level: Level,
    start: dt.datetime,
    end: dt.datetime,
    minutes: int,
    seats: int = 1,
    kind: str = "",
    features: list[str] | None = None,
    limit: int | None = None,
) -> Found:
    """'A free room for 8 on Thursday afternoon with a projector': resources with a fitting slot.

    Every candidate's availability is computed from rows; Resource objects are built only
    for the matches returned.
    """
    wanted = {f.strip().lower() for f in features or [] if f.strip()}
    qs = Resource.objects.filter(place=place, capacity__gte=seats)
    if level < Level.CONCIERGE:
        qs = qs.filter(active=True)
    if kind:
        qs = qs.filter(kind=kind)
    candidates = [
        Slot._make((*row, place))
        for row in qs.values_list(*Slot._fields[:-1])
        if wanted <= set(row[4]) and row[6] <= minutes <= row[7]
    ]
    fits = []
    # The first day first: most resources have their earliest slot there, and only those
    # that do not are looked at over the whole window. A slot found in [start, stop) is the
    # earliest overall: any earlier one would end before it does, so inside [start, stop).
    for stop in sorted({min(end, start + FIRST_PASS), end}):
        holds, closed = _busy_by_resource(candidates, start, stop)
        pending = []
        for c in candidates:
            free = _free(c, start, stop, seats, holds.get(c.pk, []), closed[c.pk])
            slot = _first_fit(c, free, minutes)
            if slot is None:
                pending.append(c)
            else:
                fits.append((slot, c.capacity, c.name, c.pk))
        candidates = pending
        if not candidates:
            break
    fits.sort()
    shown = fits if limit is None else fits[:limit]
    objects = Resource.objects.in_bulk([pk for *_rest, pk in shown])
    matches = []
    for slot, *_rest, pk in shown:
        objects[pk].place = place
        matches.append(Match(objects[pk], slot))
    return Found(matches, len(fits))


def alternatives(*, booking: Booking, exclude_closure: Closure | None = None) -> list[Resource]:
    """Resources of the same kind free for the whole of a booking's time."""
    others = list(
        Resource.objects.filter(
            place_id=booking.place_id,
            kind=booking.resource.kind,
            active=True,
            capacity__gte=booking.seats,
        )
        .exclude(pk=booking.resource_id)
        .select_related("place")
    )
    holds, closed = _busy_by_resource(others, booking.start_at, booking.end_at)
    start, end = _epoch(booking.start_at), _epoch(booking.end_at)
    return [
        r
        for r in others
        if any(
            s <= start and end <= e
            for s, e in _free(
                r,
                booking.start_at,
                booking.end_at,
                booking.seats,
                holds.get(r.pk, []),
                closed[r.pk],
            )
        )
    ][:5]


def bookings_visible(*, place: Place, user: User | None, level: Level) -> QuerySet[Booking]:
    """Concierges see every booking of the place; members their own; nobody else any."""
    qs = Booking.objects.filter(place=place).select_related(
        "place", "resource", "person", "organisation"
    )
    if level >= Level.CONCIERGE:
        return qs
    if level >= Level.MEMBER and user is not None and user.pk:
        return qs.filter(person__user=user)
    return qs.none()


def calendar_feed_token(*, place: Place, user: User) -> str:
    """The token of the user's private bookings feed in this place ("" until they ask one)."""
    return (
        CalendarFeed.objects.filter(person__place=place, person__user=user)
        .values_list("token", flat=True)
        .first()
        or ""
    )


def calendar(*, resource: Resource, start: dt.datetime, end: dt.datetime) -> list[Booking]:
    return list(
        Booking.objects.filter(
            resource=resource, status__in=Booking.HOLDING, start_at__lt=end, end_at__gt=start
        ).select_related("person", "organisation")
    )


def closures(*, resource: Resource, start: dt.datetime, end: dt.datetime) -> list[Closure]:
    return list(
        Closure.objects.filter(
            place_id=resource.place_id, start_at__lt=end, end_at__gt=start
        ).filter(Q(resource=resource) | Q(resource__isnull=True))
    )


# --- One resource's calendar (day, week and month pages) ----------------------------------------


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The start of a local day as an aware instant: 23 or 25 hours long on DST days."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


@dataclass
class CalendarEntry:
    """A booking or a closure as one day shows it: clipped to the day, in local time."""

    start: dt.datetime
    end: dt.datetime
    from_before: bool  # began on an earlier day
    goes_on: bool  # ends on a later day
    booking: Booking | None = None
    mine: bool = False
    who: str = ""  # the team only: members see "busy"
    pending: bool = False
    reason: str = ""  # a closure's

    @property
    def is_closure(self) -> bool:
        return self.booking is None


@dataclass
class CalendarDay:
    day: dt.date
    start: dt.datetime  # local midnight
    end: dt.datetime  # the next local midnight
    bookings: list[CalendarEntry]
    closures: list[CalendarEntry]
    free: list[Interval]  # bookable spans, at least the minimum duration, none in the past
    closed: bool  # nothing open: outside opening hours or closed the whole day
    full: bool  # open, but booked up: no free span long enough (not said of past days)
    past: bool

    @property
    def entries(self) -> list[CalendarEntry]:
        return sorted(self.closures + self.bookings, key=lambda e: (e.start, not e.is_closure))

    @property
    def count(self) -> int:
        return len(self.bookings)

    @property
    def mine(self) -> int:
        return sum(1 for e in self.bookings if e.mine)


def _clip(spans: Sequence[Span], lo: int, hi: int) -> list[Span]:
    return [(max(s, lo), min(e, hi)) for s, e in spans if s < hi and e > lo]


def _from_now(resource: Resource, spans: list[Span], now: dt.datetime) -> list[Span]:
    """Drop what is past; a span under way starts at the next slot boundary (local time)."""
    step = resource.slot_minutes * 60
    local = now.astimezone(rules.place_zone(resource))
    into = (local.hour * 3600 + local.minute * 60 + local.second) % step
    cut = _epoch(now) + (step - into) % step
    return [(max(s, cut), e) for s, e in spans if e > cut]


def resource_calendar(
    *,
    resource: Resource,
    first: dt.date,
    days: int,
    user: User | None,
    level: Level,
    now: dt.datetime,
) -> list[CalendarDay]:
    """`days` local days from `first`: bookings, closures and free spans of each.

    Two queries whatever the period and the number of bookings: the holding bookings
    (widened by the buffer, which shortens the free spans near them) and the closures.
    Members see which bookings are theirs and only "busy" for the others; the team sees who.
    """
    zone = rules.place_zone(resource)
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    bounds = [_midnight(d, zone) for d in [*dates, first + dt.timedelta(days=days)]]
    start, end = bounds[0], bounds[-1]
    pad = dt.timedelta(minutes=resource.buffer_minutes)
    bookings = calendar(resource=resource, start=start - pad, end=end + pad)
    closed_rows = closures(resource=resource, start=start, end=end)
    staff = level >= Level.CONCIERGE
    user_pk = user.pk if user is not None and user.is_authenticated else None
    b = resource.buffer_minutes * 60
    holds = [(_epoch(x.start_at) - b, _epoch(x.end_at) + b, x.seats) for x in bookings]
    closed = [(_epoch(c.start_at), _epoch(c.end_at)) for c in closed_rows]
    open_ = _minus(rules.opening_seconds(resource, start, end), closed)
    free = _free(resource, start, end, 1, holds, closed)
    shortest = resource.min_minutes * 60
    out = []
    for i, day in enumerate(dates):
        lo, hi = bounds[i], bounds[i + 1]
        entries = []
        for x in bookings:
            if not (x.start_at < hi and x.end_at > lo):
                continue
            x.place = resource.place  # its page address, without a query per booking
            person = x.person
            entries.append(
                CalendarEntry(
                    start=max(x.start_at, lo).astimezone(zone),
                    end=min(x.end_at, hi).astimezone(zone),
                    from_before=x.start_at < lo,
                    goes_on=x.end_at > hi,
                    booking=x,
                    mine=user_pk is not None and person is not None and person.user_id == user_pk,
                    who=str(person or x.organisation or x.title or "—") if staff else "",
                    pending=x.status == Booking.Status.PENDING,
                )
            )
        shut = [
            CalendarEntry(
                start=max(c.start_at, lo).astimezone(zone),
                end=min(c.end_at, hi).astimezone(zone),
                from_before=c.start_at < lo,
                goes_on=c.end_at > hi,
                reason=c.reason,
            )
            for c in closed_rows
            if c.start_at < hi and c.end_at > lo
        ]
        lo_s, hi_s = _epoch(lo), _epoch(hi)
        day_open = _clip(open_, lo_s, hi_s)
        day_free = [(s, e) for s, e in _clip(free, lo_s, hi_s) if e - s >= shortest]
        # Full means booked up, not "the day is nearly over": judged on the whole day.
        full = bool(day_open) and not day_free
        if lo < now:
            day_free = [(s, e) for s, e in _from_now(resource, day_free, now) if e - s >= shortest]
        past = hi <= now
        out.append(
            CalendarDay(
                day=day,
                start=lo,
                end=hi,
                bookings=entries,
                closures=shut,
                free=[
                    (_instant(s).astimezone(zone), _instant(e).astimezone(zone))
                    for s, e in day_free
                ],
                closed=not day_open,
                full=full and not past,
                past=past,
            )
        )
    return out


def pending_bookings(*, place: Place) -> QuerySet[Booking]:
    """Requests waiting for the team's decision, the soonest first."""
    return (
        Booking.objects.filter(place=place, status=Booking.Status.PENDING)
        .select_related("place", "resource", "person", "organisation")
        .order_by("start_at", "id")
    )


def waitlist_visible(*, place: Place, user: User | None, level: Level) -> QuerySet[WaitlistEntry]:
    """The team sees the place's waiting lists; a member their own entries; nobody else any."""
    qs = WaitlistEntry.objects.filter(place=place).select_related("resource", "person")
    if level >= Level.CONCIERGE:
        return qs
    if level >= Level.MEMBER and user is not None and user.pk:
        return qs.filter(person__user=user)
    return qs.none()


# --- Management screens -------------------------------------------------------------------------

MAINTENANCE_SHOWN = 50  # the latest entries on the edit page


def resource_for_manage(*, place: Place, uuid: str) -> Resource | None:
    """One resource of the place, active or not, with everything its edit page lists:
    prices, organisations, photos, the latest maintenance (in `recent_maintenance`) and the
    qualifications — a fixed number of queries, however many of each."""
    return (
        Resource.objects.filter(place=place, uuid=uuid)
        .select_related("place")
        .prefetch_related(
            "prices",
            "organisations",
            "photos",
            Prefetch(
                "maintenance",
                queryset=MaintenanceEntry.objects.select_related("by")[:MAINTENANCE_SHOWN],
                to_attr="recent_maintenance",
            ),
            Prefetch(
                "qualifications",
                queryset=Qualification.objects.select_related("person").order_by(
                    "person__last_name", "person__first_name", "-granted_on", "id"
                ),
            ),
        )
        .first()
    )


def photo_of(*, resource: Resource, uuid: str) -> ResourcePhoto | None:
    return ResourcePhoto.objects.filter(resource=resource, uuid=uuid).first()


def qualification_of(*, resource: Resource, uuid: str) -> Qualification | None:
    return (
        Qualification.objects.filter(resource=resource, uuid=uuid).select_related("person").first()
    )
