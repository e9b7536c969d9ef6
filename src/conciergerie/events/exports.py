"""Attendance exports of one event: the CSV list and the printable sign-in sheet (PDF).

The CSV (``emargement.csv``) has one line per confirmed attendee, sorted by name, with the
columns, in this order:

- ``nom``: the attendee's name as registered;
- ``e-mail``: the attendee's e-mail (empty for a companion registered without one);
- ``tarif``: the name of the ticket tier;
- ``montant``: what the attendee pays, in euros with a decimal comma (``12,40``);
- ``inscription``: the date the registration was confirmed (``jj/mm/aaaa``, place's zone);
- ``arrivée``: date and time of check-in (``jj/mm/aaaa hh:mm``), empty if not arrived;
- ``référence``: the ticket's reference (UUID), the same one the API gives.

Separator ``;`` and UTF-8 with a BOM, like the people export (community/csv_io.py), so that
a spreadsheet in French opens it as it is; a cell that a spreadsheet would run as a formula
(starting with = + - @) is written with a leading apostrophe, as that export does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.community.csv_io import _guard as guard_cell
from conciergerie.events.models import Event, Ticket

CSV_COLUMNS = ("nom", "e-mail", "tarif", "montant", "inscription", "arrivée", "référence")
WALK_IN_ROWS = 6  # blank lines at the end of the sign-in sheet, for people who just show up


def _local(event: Event, at: dt.datetime | None, fmt: str) -> str:
    return at.astimezone(event.zone()).strftime(fmt) if at else ""


def attendance_rows(event: Event, tickets: Iterable[Ticket]) -> list[list[str]]:
    """The CSV cells, unguarded (see CSV_COLUMNS); reads only what the tickets carry."""
    rows = []
    for ticket in tickets:
        registration = ticket.registration
        registered = registration.confirmed_at or registration.created_at
        rows.append(
            [
                ticket.name,
                ticket.email,
                ticket.tier.name,
                f"{ticket.amount:.2f}".replace(".", ","),
                _local(event, registered, "%d/%m/%Y"),
                _local(event, ticket.checked_in_at, "%d/%m/%Y %H:%M"),
                str(ticket.uuid),
            ]
        )
    return rows


def attendance_csv(event: Event, tickets: Iterable[Ticket]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in attendance_rows(event, tickets):
        writer.writerow([guard_cell(cell) for cell in row])
    # The BOM makes Excel (French locale) read UTF-8 instead of Windows-1252.
    return "\ufeff" + out.getvalue()


def _where(event: Event) -> str:
    parts = []
    if event.resource is not None:
        parts.append(event.resource.name)
    if event.address:
        parts.append(event.address)
    if not parts and event.online_url:
        parts.append(_("En ligne : %(url)s") % {"url": event.online_url})
    return " — ".join(parts)


def signin_sheet_html(event: Event, tickets: list[Ticket]) -> str:
    zone = event.zone()
    return render_to_string(
        "events/signin_sheet.html",
        {
            "event": event,
            "place": event.place,
            "where": _where(event),
            "start": timezone.localtime(event.start_at, zone),
            "end": timezone.localtime(event.end_at, zone),
            "tickets": tickets,
            "walk_ins": range(len(tickets) + 1, len(tickets) + 1 + WALK_IN_ROWS),
            "printed_at": timezone.localtime(timezone.now(), zone),
        },
    )


def signin_sheet_pdf(event: Event, tickets: list[Ticket]) -> bytes:
    """An A4 PDF from events/signin_sheet.html; the page loads nothing from outside."""
    from weasyprint import HTML  # imported here: loading pango is only worth it for a PDF

    pdf: bytes = HTML(string=signin_sheet_html(event, tickets)).write_pdf()
    return pdf
