"""Public, link-only endpoints of events: the place's calendar (iCal) and news (Atom) feeds,
one event's .ics ("add to my calendar"), and the ticket page its holder opens from the QR code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from conciergerie.core.decorators import place_view
from conciergerie.core.models import Place
from conciergerie.core.permissions import Level
from conciergerie.events import ical, selectors, tickets
from conciergerie.events.models import Event, Registration, Ticket

ATOM_ITEMS = 50
EXCERPT_CHARS = 300


def _ics(body: bytes, filename: str, cache: str) -> HttpResponse:
    response = HttpResponse(body, content_type=ical.CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = cache
    return response


# --- Calendar feeds ------------------------------------------------------------------------------


@require_GET
@place_view("event.view")
def events_ics(request: HttpRequest) -> HttpResponse:
    """The place's public events, past 30 days and next 12 months: two queries."""
    place: Place = request.place  # type: ignore[attr-defined]
    start, end = ical.feed_window()
    events = (
        selectors.events_visible(place=place, level=Level.ANONYMOUS)
        .filter(end_at__gt=start, start_at__lt=end)
        .order_by("start_at", "id")
    )
    return _ics(ical.feed(place, events), f"evenements-{place.slug}.ics", "public, max-age=900")


@require_GET
@place_view("event.view")
def event_ics(request: HttpRequest, uuid: Any) -> HttpResponse:
    """One event, for whoever may see it, or holds one of its tickets (`?billet=<token>`)."""
    place: Place = request.place  # type: ignore[attr-defined]
    level: Level = request.level  # type: ignore[attr-defined]
    event = selectors.events_visible(place=place, level=level).filter(uuid=uuid).first()
    if event is None:
        token = request.GET.get("billet", "")
        ticket = tickets.ticket_lookup(place=place, event_uuid=uuid, token=token)
        if ticket is None:
            raise Http404
        event = ticket.event
    return _ics(ical.event_ics(event).encode(), "evenement.ics", "private, max-age=300")


class EventsAtomFeed(Feed):
    """The place's upcoming public events, newest announced first."""

    feed_type = Atom1Feed
    item_guid_is_permalink = False

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Place:
        return request.place  # type: ignore[attr-defined]

    def title(self, place: Place) -> str:
        return ical.feed_name(place)

    def subtitle(self, place: Place) -> str:
        return _("Les prochains évènements de %(place)s.") % {"place": place.name}

    def link(self, place: Place) -> str:
        return place.get_canonical_url()

    def feed_url(self, place: Place) -> str:
        return settings.BASE_URL + reverse("events_feeds:events_atom", args=[place.slug])

    def feed_guid(self, place: Place) -> str:
        return f"urn:uuid:{place.uuid}"

    def items(self, place: Place) -> list[Event]:
        return list(
            selectors.events_visible(place=place, level=Level.ANONYMOUS)
            .filter(end_at__gt=timezone.now(), cancelled_at__isnull=True)
            .order_by("-created_at", "-id")[:ATOM_ITEMS]
        )

    def item_title(self, event: Event) -> str:
        return event.title

    def item_description(self, event: Event) -> str:
        # The Atom summary is typed html: the plain text is escaped once more for readers.
        zone = event.zone()
        when = _("Le %(day)s à %(time)s") % {
            "day": f"{event.start_at.astimezone(zone):%d/%m/%Y}",
            "time": f"{event.start_at.astimezone(zone):%H:%M}",
        }
        excerpt = ical.plain_text(event.description, EXCERPT_CHARS)
        text = f"{when} — {ical.location(event)}"
        return escape(f"{text}\n\n{excerpt}" if excerpt else text)

    def item_link(self, event: Event) -> str:
        return event.get_canonical_url()

    def item_guid(self, event: Event) -> str:
        return f"urn:uuid:{event.uuid}"

    def item_pubdate(self, event: Event) -> dt.datetime:
        return event.created_at

    def item_updateddate(self, event: Event) -> dt.datetime:
        return event.created_at

    def item_categories(self, event: Event) -> list[str]:
        return [str(event.get_category_display())]


events_atom = require_GET(place_view("event.view")(EventsAtomFeed()))


# --- Ticket page ---------------------------------------------------------------------------------

STATE_LABELS = {
    "checked_in": gettext_lazy("Arrivée enregistrée"),
    "confirmed": gettext_lazy("Confirmé"),
    "offered": gettext_lazy("Place proposée : à confirmer"),
    "waitlisted": gettext_lazy("Sur liste d'attente"),
    "cancelled": gettext_lazy("Annulé"),
}


def _state(ticket: Ticket) -> str:
    status = ticket.registration.status
    if status == Registration.Status.CONFIRMED:
        return "checked_in" if ticket.checked_in_at else "confirmed"
    if status == Registration.Status.OFFERED:
        return "offered"
    if status == Registration.Status.WAITLISTED:
        return "waitlisted"
    return "cancelled"


def _ticket_or_404(request: HttpRequest, uuid: Any, token: str) -> Ticket:
    place: Place = request.place  # type: ignore[attr-defined]
    ticket = tickets.ticket_lookup(place=place, event_uuid=uuid, token=token)
    if ticket is None:
        raise Http404(_("Billet inconnu pour cet évènement."))
    return ticket


@require_GET
@place_view("event.view")
def ticket(request: HttpRequest, uuid: Any, token: str) -> HttpResponse:
    """Whoever holds the token (from the e-mail or the QR code) sees the ticket: one query."""
    ticket = _ticket_or_404(request, uuid, token)
    event = ticket.event
    state = _state(ticket)
    ics_url = reverse("events_feeds:event_ics", args=[event.place.slug, event.uuid])
    context = {
        "place": event.place,
        "event": event,
        "ticket": ticket,
        "state": state,
        "state_label": STATE_LABELS[state],
        "location": ical.location(event),
        "same_day": event.start_at.astimezone(event.zone()).date()
        == event.end_at.astimezone(event.zone()).date(),
        # The code only once the seat is held: a waitlisted ticket does not open the door.
        "qr_svg": mark_safe(tickets.ticket_qr_svg(ticket))  # noqa: S308 - segno's own SVG
        if state in ("confirmed", "checked_in")
        else "",
        "ics_url": f"{ics_url}?billet={ticket.qr_token}",
    }
    response = render(request, "events/ticket.html", context)
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
@place_view("event.view")
def ticket_qr(request: HttpRequest, uuid: Any, token: str) -> HttpResponse:
    """The ticket's QR code as a PNG image (to save or print)."""
    ticket = _ticket_or_404(request, uuid, token)
    response = HttpResponse(tickets.ticket_qr_png(ticket), content_type="image/png")
    response["Content-Disposition"] = 'inline; filename="billet.png"'
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Robots-Tag"] = "noindex"
    return response
