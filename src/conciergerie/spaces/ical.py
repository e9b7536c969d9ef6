"""iCalendar (RFC 5545): invitations attached to e-mails and subscribable feeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from conciergerie.spaces.models import Booking, Resource

PRODID = "-//Conciergerie//Reservations//FR"


def _calendar(name: str, method: str = "") -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    if method:
        cal.add("method", method)
    return cal


def _event(booking: Booking, *, detailed: bool) -> Event:
    event = Event()
    host = settings.BASE_URL.split("://", 1)[-1].split("/", 1)[0]
    event.add("uid", f"{booking.uuid}@{host}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", booking.start_at)  # UTC: every client shows it in its own zone
    event.add("dtend", booking.end_at)
    if detailed:
        who = (
            booking.person.full_name
            if booking.person
            else (booking.organisation.name if booking.organisation else "")
        )
        event.add("summary", f"{booking.resource.name} — {booking.title or who}".strip(" —"))
        event.add("location", vText(booking.resource.location or booking.resource.place.name))
        event.add("url", booking.get_canonical_url())
        event.add(
            "status", "CONFIRMED" if booking.status == Booking.Status.CONFIRMED else "TENTATIVE"
        )
    else:
        event.add("summary", "Occupé")
        event.add("transp", "OPAQUE")
    return event


def booking_invitation(booking: Booking) -> str:
    """The .ics attached to a confirmation e-mail."""
    cal = _calendar(booking.resource.place.name, method="PUBLISH")
    event = _event(booking, detailed=True)
    if booking.place.email:
        event.add("organizer", vCalAddress(f"mailto:{booking.place.email}"))
    cal.add_component(event)
    return cal.to_ical().decode()


def feed(name: str, bookings: Iterable[Booking], *, detailed: bool) -> bytes:
    cal = _calendar(name)
    cal.add("refresh-interval;value=duration", "PT1H")
    for booking in bookings:
        cal.add_component(_event(booking, detailed=detailed))
    return cal.to_ical()


def feed_window() -> tuple[dt.datetime, dt.datetime]:
    now = timezone.now()
    return now - dt.timedelta(days=31), now + dt.timedelta(days=366)


def resource_feed_name(resource: Resource) -> str:
    return f"{resource.name} — {resource.place.name}"
