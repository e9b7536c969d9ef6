"""Reads for resources and bookings: availability, search, calendars, what a caller may see."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from conciergerie.core import capacity
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level
from conciergerie.spaces import rules
from conciergerie.spaces.models import Booking, Closure, Resource

Interval = tuple[dt.datetime, dt.datetime]


def resources(*, place: Place, level: Level) -> QuerySet[Resource]:
    qs = Resource.objects.filter(place=place).select_related("place").prefetch_related("prices")
    if level < Level.CONCIERGE:
        qs = qs.filter(active=True)
    return qs


def _busy_by_resource(
    res: list[Resource], start: dt.datetime, end: dt.datetime
) -> tuple[dict[int, list[capacity.Hold]], dict[int, list[Interval]]]:
    """Two queries for any number of resources: holding bookings and closures in the window."""
    ids = [r.pk for r in res]
    pad = dt.timedelta(minutes=max((r.buffer_minutes for r in res), default=0))
    holds: dict[int, list[capacity.Hold]] = defaultdict(list)
    by_id = {r.pk: r for r in res}
    for rid, s, e, n in Booking.objects.filter(
        resource_id__in=ids,
        status__in=Booking.HOLDING,
        start_at__lt=end + pad,
        end_at__gt=start - pad,
    ).values_list("resource_id", "start_at", "end_at", "seats"):
        b = dt.timedelta(minutes=by_id[rid].buffer_minutes)
        holds[rid].append(capacity.Hold(s - b, e + b, n))
    closed: dict[int, list[Interval]] = defaultdict(list)
    places = {r.place_id for r in res}
    for rid, s, e in (
        Closure.objects.filter(place_id__in=places, start_at__lt=end, end_at__gt=start)
        .filter(Q(resource_id__in=ids) | Q(resource__isnull=True))
        .values_list("resource_id", "start_at", "end_at")
    ):
        for r in res if rid is None else [by_id[rid]]:
            closed[r.pk].append((s, e))
    return holds, closed


def _free(
    resource: Resource,
    start: dt.datetime,
    end: dt.datetime,
    seats: int,
    holds: list[capacity.Hold],
    closed: list[Interval],
) -> list[Interval]:
    """Open intervals minus closures minus the times where `seats` more would not fit."""
    open_ = rules.subtract(rules.opening_intervals(resource, start, end), closed)
    if seats > resource.capacity:
        return []
    # Sweep over start/end events (n log n): where held + seats > capacity, it is busy.
    events = sorted([(h.start, h.quantity) for h in holds] + [(h.end, -h.quantity) for h in holds])
    busy: list[Interval] = []
    used, since = 0, None
    for at, delta in events:
        was_full = used + seats > resource.capacity
        used += delta
        full = used + seats > resource.capacity
        if full and not was_full:
            since = at
        elif was_full and not full and since is not None:
            if busy and busy[-1][1] == since:
                busy[-1] = (busy[-1][0], at)
            elif since < at:
                busy.append((since, at))
            since = None
    return [(s, e) for s, e in rules.subtract(open_, busy) if s < e]


def free_intervals(
    *, resource: Resource, start: dt.datetime, end: dt.datetime, seats: int = 1
) -> list[Interval]:
    holds, closed = _busy_by_resource([resource], start, end)
    return _free(resource, start, end, seats, holds[resource.pk], closed[resource.pk])


def _first_fit(resource: Resource, free: list[Interval], minutes: int) -> Interval | None:
    """The first slot-aligned start in the free intervals that fits the duration."""
    need = dt.timedelta(minutes=minutes)
    zone = rules.place_zone(resource)
    step = resource.slot_minutes
    for s, e in free:
        local = s.astimezone(zone)
        offset = (local.hour * 60 + local.minute) % step
        aligned = (
            s
            + dt.timedelta(minutes=(step - offset) % step)
            - dt.timedelta(seconds=local.second, microseconds=local.microsecond)
        )
        if aligned < s:
            aligned += dt.timedelta(minutes=step)
        if aligned + need <= e:
            return aligned, aligned + need
    return None


@dataclass
class Match:
    resource: Resource
    slot: Interval
    free: list[Interval] = field(default_factory=list)


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
) -> list[Match]:
    """'A free room for 8 on Thursday afternoon with a projector': resources with a fitting slot."""
    wanted = {f.strip().lower() for f in features or [] if f.strip()}
    qs = Resource.objects.filter(place=place, capacity__gte=seats).select_related("place")
    if level < Level.CONCIERGE:
        qs = qs.filter(active=True)
    if kind:
        qs = qs.filter(kind=kind)
    candidates = [
        r for r in qs if wanted <= set(r.features) and r.min_minutes <= minutes <= r.max_minutes
    ]
    holds, closed = _busy_by_resource(candidates, start, end)
    out = []
    for r in candidates:
        free = _free(r, start, end, seats, holds[r.pk], closed[r.pk])
        slot = _first_fit(r, free, minutes)
        if slot is not None:
            out.append(Match(r, slot, free))
    out.sort(key=lambda m: (m.slot[0], m.resource.capacity, m.resource.name))
    return out


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
    return [
        r
        for r in others
        if any(
            s <= booking.start_at and booking.end_at <= e
            for s, e in _free(
                r, booking.start_at, booking.end_at, booking.seats, holds[r.pk], closed[r.pk]
            )
        )
    ][:5]


def bookings_visible(*, place: Place, user: User | None, level: Level) -> QuerySet[Booking]:
    """Concierges see every booking of the place; members their own; nobody else any."""
    qs = Booking.objects.filter(place=place).select_related("resource", "person", "organisation")
    if level >= Level.CONCIERGE:
        return qs
    if level >= Level.MEMBER and user is not None and user.pk:
        return qs.filter(person__user=user)
    return qs.none()


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
