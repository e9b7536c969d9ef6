"""Pure rules about time for bookings: opening hours, slots, charges. No database writes."""

from __future__ import annotations

import datetime as dt
import json
import math
import zoneinfo
from decimal import Decimal
from typing import Any, Protocol

from django.utils.translation import gettext as _

from conciergerie.core.errors import InvalidInput
from conciergerie.core.models import Place
from conciergerie.core.validators import WEEKDAYS
from conciergerie.spaces.models import Price, Resource

UTC = dt.UTC


class Bookable(Protocol):
    """What the time rules read of a resource (a Resource, or a row standing for one)."""

    @property
    def opening_hours(self) -> Any: ...

    @property
    def place(self) -> Place: ...


def place_zone(resource: Bookable) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(resource.place.timezone or "Europe/Paris")


# Far enough for any booking; near the ends of Python's calendar, converting to UTC or adding
# a day overflows.
YEARS = (1900, 2200)


def require_aware(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            {field: [_("Indiquez le fuseau horaire (ex. 2026-12-03T14:00:00+01:00).")]}
        )
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise InvalidInput(
            {
                field: [
                    _("Date hors limites : entre %(first)s et %(last)s.")
                    % {"first": YEARS[0], "last": YEARS[1]}
                ]
            }
        )
    return value.astimezone(UTC)


def hours_of(resource: Bookable) -> dict[str, list[list[str]]]:
    """The resource's own hours, else the place's; both empty means always open."""
    return resource.opening_hours or resource.place.opening_hours or {}


def opening_intervals(
    resource: Resource, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The open intervals (UTC) within [start, end), computed day by day in local time.

    Local wall-clock hours are turned into instants per day, so a day that changes to or
    from summer time keeps 09:00-18:00 local, whatever its length in UTC.
    """
    return list(_cached(resource, start, end)[0])


def opening_seconds(resource: Bookable, start: dt.datetime, end: dt.datetime) -> tuple[Span, ...]:
    """The same intervals in whole seconds since the epoch, for availability sweeps."""
    return _cached(resource, start, end)[1]


Span = tuple[int, int]
_OPENING_CACHE: dict[
    tuple[str, str, dt.datetime, dt.datetime],
    tuple[list[tuple[dt.datetime, dt.datetime]], tuple[Span, ...]],
] = {}


def _hours_key(resource: Bookable) -> str:
    """The hours in force as text; a place's is computed once per Place object."""
    if resource.opening_hours:
        return json.dumps(resource.opening_hours, sort_keys=True)
    place = resource.place
    hours = place.opening_hours or {}
    memo = place.__dict__.get("_opening_key")
    if memo is None or memo[0] is not hours:
        memo = place.__dict__["_opening_key"] = (hours, json.dumps(hours, sort_keys=True))
    return str(memo[1])


def _cached(
    resource: Bookable, start: dt.datetime, end: dt.datetime
) -> tuple[list[tuple[dt.datetime, dt.datetime]], tuple[Span, ...]]:
    # Most resources share the place's hours: a search over hundreds computes them once.
    key = (_hours_key(resource), resource.place.timezone, start, end)
    cached = _OPENING_CACHE.get(key)
    if cached is None:
        hours = hours_of(resource)
        spans = _opening(hours, place_zone(resource), start, end) if hours else [(start, end)]
        spans = [(s, e) for s, e in spans if s < e]
        cached = (spans, tuple((int(s.timestamp()), int(e.timestamp())) for s, e in spans))
        if len(_OPENING_CACHE) > 256:
            _OPENING_CACHE.clear()
        _OPENING_CACHE[key] = cached
    return cached


def _opening(
    hours: dict[str, list[list[str]]], zone: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date()
    out: list[tuple[dt.datetime, dt.datetime]] = []
    while day <= last:
        for opens, closes in hours.get(WEEKDAYS[day.weekday()], []):
            s = _local(day, opens, zone)
            e = (
                _local(day + dt.timedelta(days=1), "00:00", zone)
                if closes == "24:00"
                else _local(day, closes, zone)
            )
            s, e = max(s, start), min(e, end)
            if s < e:
                out.append((s, e))
        day += dt.timedelta(days=1)
    return _merge(out)


def _local(day: dt.date, hhmm: str, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, h, m, tzinfo=zone).astimezone(UTC)


def _merge(
    intervals: list[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.datetime, dt.datetime]]:
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def subtract(
    intervals: list[tuple[dt.datetime, dt.datetime]], holes: list[tuple[dt.datetime, dt.datetime]]
) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    for s, e in intervals:
        pieces = [(s, e)]
        for hs, he in holes:
            nxt = []
            for ps, pe in pieces:
                if he <= ps or hs >= pe:
                    nxt.append((ps, pe))
                    continue
                if ps < hs:
                    nxt.append((ps, hs))
                if he < pe:
                    nxt.append((he, pe))
            pieces = nxt
        out.extend(pieces)
    return out


def within_opening(resource: Resource, start: dt.datetime, end: dt.datetime) -> bool:
    return any(s <= start and end <= e for s, e in opening_intervals(resource, start, end))


def check_times(
    resource: Resource, start: dt.datetime, end: dt.datetime, *, now: dt.datetime, staff: bool
) -> None:
    """Every rule of the resource; one InvalidInput listing what is wrong, in plain words."""
    errors: dict[str, list[str]] = {}
    minutes = (end - start).total_seconds() / 60
    zone = place_zone(resource)
    if end <= start:
        raise InvalidInput({"end": [_("La fin doit être après le début.")]})
    if minutes < resource.min_minutes:
        errors.setdefault("end", []).append(
            _("Durée trop courte : %(min)s minutes au moins.") % {"min": resource.min_minutes}
        )
    if minutes > resource.max_minutes:
        errors.setdefault("end", []).append(
            _("Durée trop longue : %(max)s minutes au plus.") % {"max": resource.max_minutes}
        )
    slot = resource.slot_minutes
    local_start = start.astimezone(zone)
    if (local_start.hour * 60 + local_start.minute) % slot or local_start.second or minutes % slot:
        errors.setdefault("start", []).append(
            _("Les réservations se font par créneaux de %(slot)s minutes.") % {"slot": slot}
        )
    if not staff:
        if start < now + dt.timedelta(minutes=resource.lead_minutes):
            errors.setdefault("start", []).append(
                _("Trop tard pour réserver ce créneau (%(lead)s minutes de prévenance).")
                % {"lead": resource.lead_minutes}
                if resource.lead_minutes
                else _("Ce créneau est déjà passé.")
            )
        if start > now + dt.timedelta(days=resource.horizon_days):
            errors.setdefault("start", []).append(
                _("Trop loin : on peut réserver au plus %(days)s jours à l'avance.")
                % {"days": resource.horizon_days}
            )
    if not errors and not within_opening(resource, start, end):
        errors["start"] = [_("Ce créneau sort des horaires de réservation de la ressource.")]
    if errors:
        raise InvalidInput(errors, message=" ".join(m for ms in errors.values() for m in ms))


def charge(price: Price | None, start: dt.datetime, end: dt.datetime) -> Decimal:
    """The amount a confirmed booking owes: a 30-minute booking at an hourly rate is half."""
    if price is None or price.unit == Price.Unit.FREE:
        return Decimal("0.00")
    minutes = Decimal((end - start).total_seconds()) / 60
    if price.unit == Price.Unit.HOUR:
        amount = price.amount * minutes / 60
    elif price.unit == Price.Unit.HALF_DAY:
        amount = price.amount * math.ceil(minutes / 240)
    else:
        amount = price.amount * math.ceil(minutes / 1440)
    return amount.quantize(Decimal("0.01"))
