"""Tickets as people carry them: the ticket page address, its QR code, the e-mail attachments.

The QR code holds the absolute address of the ticket page, so a phone camera opens the ticket
and the team's scanner reads the token from the same address (its last path segment).
"""

from __future__ import annotations

import io
import uuid as uuid_lib
from collections.abc import Sequence
from typing import Any

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from conciergerie.core.models import Place
from conciergerie.events import ical
from conciergerie.events.models import Event, Ticket

PNG_SCALE = 8  # pixels per module: a version 7 code is ~450 px wide, sharp on paper and screens


def ticket_path(ticket: Ticket) -> str:
    event = ticket.event
    return reverse(
        "events_feeds:ticket",
        kwargs={"place_slug": event.place.slug, "uuid": event.uuid, "token": ticket.qr_token},
    )


def ticket_url(ticket: Ticket) -> str:
    """The absolute address of the ticket page: what the QR code holds."""
    return settings.BASE_URL + ticket_path(ticket)


def _qr(ticket: Ticket) -> segno.QRCode:
    # Level M survives a scratched print or a cracked screen; the data stays a short URL.
    return segno.make(ticket_url(ticket), error="m", micro=False)


def ticket_qr_png(ticket: Ticket, *, scale: int = PNG_SCALE) -> bytes:
    out = io.BytesIO()
    _qr(ticket).save(out, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    return out.getvalue()


def ticket_qr_svg(ticket: Ticket) -> str:
    """Inline SVG without a fixed size (the page sizes it), on white for dark-mode screens."""
    return str(
        _qr(ticket).svg_inline(
            scale=1,
            border=4,
            omitsize=True,
            dark="#000",
            light="#fff",
            svgclass="qr",
            title=_("Code QR du billet de %(name)s") % {"name": ticket.name},
        )
    )


def ticket_lookup(*, place: Place, event_uuid: uuid_lib.UUID | str, token: str) -> Ticket | None:
    """The ticket holding this token for this event of this place (one query), else None."""
    if not token or len(token) > 40:
        return None
    return (
        Ticket.objects.filter(event__place=place, event__uuid=event_uuid, qr_token=token)
        .select_related("event__place", "event__resource", "tier", "registration")
        .order_by("pk")
        .first()
    )


def confirmation_attachments(event: Event, tickets: Sequence[Ticket]) -> list[list[Any]]:
    """Attachments of a confirmation e-mail: one PNG QR code per ticket and the event's .ics."""
    attachments: list[list[Any]] = [
        [f"billet-{n}.png", ticket_qr_png(t), "image/png"] for n, t in enumerate(tickets, 1)
    ]
    attachments.append(["evenement.ics", ical.event_ics(event), "text/calendar"])
    return attachments
