"""iCalendar (RFC 5545) for events: the place's subscribable feed and one event's .ics
(the "add to my calendar" link and the e-mail attachment).

Times carry the place's zone (TZID + VTIMEZONE) so a calendar shows the local hour even when
the reader's device is elsewhere; the same instants as the UTC values stored.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator
from icalendar import Calendar, vCalAddress
from icalendar import Event as VEvent

from conciergerie.core.markdown import render_markdown
from conciergerie.core.models import Place
from conciergerie.events.models import Event

PRODID = "-//Conciergerie//Evenements//FR"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def plain_text(markdown: str, limit: int | None = None) -> str:
    """The Markdown description as plain text (links and emphasis dropped), optionally cut."""
    text = html.unescape(strip_tags(render_markdown(markdown))).strip()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    if limit is not None:
        text = Truncator(" ".join(text.split())).chars(limit)
    return text


def feed_window(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The feed's span: the past 30 days and the next 12 months."""
    now = now or timezone.now()
    return now - dt.timedelta(days=30), now + dt.timedelta(days=365)


def _host() -> str:
    return settings.BASE_URL.split("://", 1)[-1].split("/", 1)[0]


def event_uid(event: Event) -> str:
    return f"{event.uuid}@{_host()}"


def location(event: Event) -> str:
    """Where: the address off-site, else the room and the place, else the place's address."""
    place = event.place
    if event.address:
        return event.address
    where = ", ".join(p for p in (place.street, f"{place.postal_code} {place.city}".strip()) if p)
    if event.resource is not None:
        return " — ".join(p for p in (event.resource.name, place.name, where) if p)
    if where:
        return f"{place.name} — {where}"
    return event.online_url or place.name


def _calendar(name: str, method: str = "") -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    if method:
        cal.add("method", method)
    return cal


def _vevent(event: Event, stamp: dt.datetime) -> VEvent:
    zone = event.zone()
    vevent = VEvent()
    vevent.add("uid", event_uid(event))
    vevent.add("dtstamp", stamp)
    vevent.add("created", event.created_at)
    vevent.add("dtstart", event.start_at.astimezone(zone))
    vevent.add("dtend", event.end_at.astimezone(zone))
    vevent.add("summary", event.title)
    description = plain_text(event.description)
    if event.online_url:
        description = f"{description}\n\n{event.online_url}".strip()
    if description:
        vevent.add("description", description)
    vevent.add("location", location(event))
    vevent.add("url", event.get_canonical_url())
    vevent.add("categories", [str(event.get_category_display())])
    # A cancelled event stays in the feed, marked: subscribed calendars then strike it out.
    vevent.add("status", "CANCELLED" if event.cancelled_at else "CONFIRMED")
    vevent.add("class", "PUBLIC" if event.visibility == Event.Visibility.PUBLIC else "PRIVATE")
    return vevent


def _finish(cal: Calendar) -> bytes:
    cal.add_missing_timezones()  # one VTIMEZONE per TZID used
    return cal.to_ical()


def event_ics(event: Event) -> str:
    """One event, METHOD:PUBLISH: the "add to my calendar" file and the e-mail attachment."""
    cal = _calendar(event.place.name, method="PUBLISH")
    vevent = _vevent(event, timezone.now())
    if event.place.email:
        organizer = vCalAddress(f"mailto:{event.place.email}")
        organizer.params["cn"] = event.place.name
        vevent.add("organizer", organizer)
    cal.add_component(vevent)
    return _finish(cal).decode()


def feed_name(place: Place) -> str:
    return f"Évènements — {place.name}"


def feed(place: Place, events: Iterable[Event]) -> bytes:
    """The place's events as a subscribable calendar (no METHOD: a published feed)."""
    cal = _calendar(feed_name(place))
    cal.add("refresh-interval;value=duration", "PT1H")
    cal.add("x-published-ttl", "PT1H")
    stamp = timezone.now()
    for event in events:
        cal.add_component(_vevent(event, stamp))
    return _finish(cal)
