"""Small text conversions shared by the exports: opening hours and plain-text descriptions."""

from __future__ import annotations

import html

from django.utils.html import strip_tags
from django.utils.text import Truncator

from conciergerie.core.markdown import render_markdown
from conciergerie.core.validators import WEEKDAYS

# OpenStreetMap `opening_hours` day codes: the same syntax schema.org's `openingHours` reads.
OSM_DAYS = dict(zip(WEEKDAYS, ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"), strict=True))

DESCRIPTION_CHARS = 300


def day_ranges(hours: dict | None) -> list[tuple[str, str]]:
    """[("Mo", "09:00-12:30,14:00-18:00"), …] for the open days, Monday first."""
    hours = hours or {}
    out = []
    for day in WEEKDAYS:
        ranges = hours.get(day) or []
        if ranges:
            out.append((OSM_DAYS[day], ",".join(f"{a}-{b}" for a, b in ranges)))
    return out


def opening_hours_osm(hours: dict | None) -> str:
    """'Mo-Fr 09:00-18:00; Sa 10:00-12:00': consecutive days with the same hours are grouped.

    A locale-free syntax (OpenStreetMap `opening_hours`) so the CSV is the same in every
    language and map tools (GoGoCarto, uMap) can read it.
    """
    by_day = dict(day_ranges(hours))
    groups: list[tuple[list[str], str]] = []
    previous = None
    for code in OSM_DAYS.values():
        spans = by_day.get(code)
        if spans and spans == previous:  # the day before has the same hours: extend its group
            groups[-1][0].append(code)
        elif spans:
            groups.append(([code], spans))
        previous = spans
    parts = []
    for days, spans in groups:
        label = days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}"
        parts.append(f"{label} {spans}")
    return "; ".join(parts)


def plain_text(markdown: str, limit: int = DESCRIPTION_CHARS) -> str:
    """The Markdown description as one line of plain text, cut at `limit` characters."""
    text = html.unescape(strip_tags(render_markdown(markdown)))
    return Truncator(" ".join(text.split())).chars(limit)
