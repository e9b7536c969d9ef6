"""Tickets as people carry them: the ticket page, its QR code, the confirmation e-mail."""

import io
from urllib.parse import urlsplit

import pytest
import segno
from django.conf import settings
from django.urls import resolve, reverse
from django.utils import timezone
from icalendar import Calendar
from PIL import Image

from conciergerie.core.mail import attachment_content
from conciergerie.core.models import OutboxMessage
from conciergerie.core.permissions import Level
from conciergerie.events import services, tickets
from conciergerie.events.models import Registration
from tests.conftest import login
from tests.events.conftest import make_event, visitor
from tests.factories import make_place

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def page_url(ticket, *, event=None, place=None, name="events_feeds:ticket"):
    event = event or ticket.event
    place = place or event.place
    return reverse(name, args=[place.slug, event.uuid, ticket.qr_token])


@pytest.fixture
def ticket(event, tiers):
    return visitor(event, attendees=[{"tier": tiers["solidaire"].uuid}], notify=False).tickets.get()


# --- The ticket page -----------------------------------------------------------------------------


def test_ticket_page_shows_the_attendee_and_a_scannable_code(client, ticket):
    response = client.get(page_url(ticket))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Camille Martin" in html and "Atelier soudure" in html
    assert "Confirmé" in html and "solidaire" in html  # the tier
    assert "<svg" in html and 'class="qr"' in html
    assert "18:00" in html  # the place's time, not UTC
    ics = reverse("events_feeds:event_ics", args=["moulin", ticket.event.uuid])
    assert f"{ics}?billet={ticket.qr_token}" in html
    assert "private" in response["Cache-Control"]


def test_ticket_page_in_a_fixed_number_of_queries(client, ticket, django_assert_num_queries):
    url = page_url(ticket)
    with django_assert_num_queries(2):  # the place, the ticket with its event, tier, order
        assert client.get(url).status_code == 200


def test_unknown_token_or_another_event_token_is_404(client, place, ticket):
    other_event = make_event(place, title="Autre atelier")
    other_ticket = visitor(other_event, notify=False).tickets.get()
    wrong = ticket.__class__(qr_token="pas-un-vrai-jeton")
    assert client.get(page_url(wrong, event=ticket.event)).status_code == 404
    assert client.get(page_url(other_ticket, event=ticket.event)).status_code == 404
    assert client.get(page_url(ticket, event=other_event)).status_code == 404
    png = page_url(other_ticket, event=ticket.event, name="events_feeds:ticket_qr")
    assert client.get(png).status_code == 404
    # Same event and token under another place's address: not found either.
    elsewhere = make_place(slug="ailleurs")
    assert client.get(page_url(ticket, place=elsewhere)).status_code == 404


def test_waitlisted_ticket_has_no_code_yet(client, place):
    event = make_event(place, capacity=1)
    visitor(event, notify=False)
    waiting = visitor(event, name="Sam", email="sam@example.org", notify=False)
    assert waiting.status == Registration.Status.WAITLISTED
    html = client.get(page_url(waiting.tickets.get())).content.decode()
    assert "Sam" in html and "liste d'attente" in html and "<svg" not in html


def test_cancelled_ticket_says_so(client, ticket):
    services.registration_cancel(registration=ticket.registration, by=None, level=Level.CONCIERGE)
    html = client.get(page_url(ticket)).content.decode()
    assert "Annulé" in html and "<svg" not in html


def test_checked_in_ticket_shows_the_arrival(client, ticket, concierge):
    services.ticket_check_in(ticket=ticket, by=concierge)
    html = client.get(page_url(ticket)).content.decode()
    assert "Arrivée enregistrée" in html
    at = timezone.localtime(
        ticket.__class__.objects.get(pk=ticket.pk).checked_in_at, ticket.event.zone()
    )
    assert f"{at:%H:%M}" in html


# --- The QR code ---------------------------------------------------------------------------------


def modules(png: bytes, size: int, scale: int = tickets.PNG_SCALE, border: int = 4):
    """Read the modules back from the image: dark or light at each module's centre."""
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size == ((size + 2 * border) * scale,) * 2
    return [
        [
            image.getpixel(((c + border) * scale + scale // 2, (r + border) * scale + scale // 2))
            < 128
            for c in range(size)
        ]
        for r in range(size)
    ]


def test_qr_code_holds_the_ticket_page_address(client, ticket):
    expected = settings.BASE_URL + page_url(ticket)
    assert tickets.ticket_url(ticket) == expected
    # The address opens the ticket page, and the token is its last segment for the scanner.
    match = resolve(urlsplit(expected).path)
    assert match.view_name == "events_feeds:ticket" and match.kwargs["token"] == ticket.qr_token
    response = client.get(page_url(ticket, name="events_feeds:ticket_qr"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    png = response.content
    assert png.startswith(PNG_MAGIC)
    reference = segno.make(expected, error="m")
    size = len(reference.matrix)
    assert modules(png, size) == [[bool(m) for m in row] for row in reference.matrix]


# --- The confirmation e-mail ---------------------------------------------------------------------


def png_attachments(mail):
    return [a for a in mail.attachments if a["mimetype"] == "image/png"]


def check_confirmation(mail, registration):
    event = registration.event
    found = png_attachments(mail)
    people = list(registration.tickets.order_by("id"))
    assert [a["filename"] for a in found] == [f"billet-{n}.png" for n in range(1, len(people) + 1)]
    for a in found:
        data = attachment_content(a)
        assert isinstance(data, bytes) and data.startswith(PNG_MAGIC)
        assert a["size"] == len(data)
        width, height = Image.open(io.BytesIO(data)).size
        assert width == height and width >= 200
    (ics,) = [a for a in mail.attachments if a["filename"].endswith(".ics")]
    (vevent,) = Calendar.from_ical(attachment_content(ics)).walk("VEVENT")
    assert str(vevent["uid"]).startswith(str(event.uuid))
    for t in people:
        assert tickets.ticket_url(t) in mail.body


def test_confirmation_email_has_one_qr_per_attendee_and_the_ics(
    event, tiers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        registration = visitor(
            event,
            attendees=[
                {"tier": tiers["standard"].uuid},
                {"name": "Sam", "tier": tiers["soutien"].uuid},
            ],
        )
    mail = OutboxMessage.objects.get()
    assert mail.to == "camille@example.org" and "confirmée" in mail.subject
    assert "Sam — soutien — 25,00 €" in mail.body
    check_confirmation(mail, registration)


def test_waitlist_email_has_no_code(place, django_capture_on_commit_callbacks):
    event = make_event(place, capacity=1)
    visitor(event, notify=False)
    with django_capture_on_commit_callbacks(execute=True):
        visitor(event, name="Sam", email="sam@example.org")
    mail = OutboxMessage.objects.get()
    assert "Liste d'attente" in mail.subject
    assert mail.attachments == [] and "/billets/" not in mail.body


def test_accepted_offer_email_carries_the_codes(place, django_capture_on_commit_callbacks):
    event = make_event(place, capacity=2)
    first = visitor(event, notify=False)
    waiting = visitor(
        event, name="Sam", email="sam@example.org", attendees=[{}, {"name": "Léa"}], notify=False
    )
    services.registration_cancel(registration=first, by=None, level=Level.CONCIERGE)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = services.offer_accept(
            registration=Registration.objects.get(pk=waiting.pk), by=None, holder=True
        )
    assert accepted.status == Registration.Status.CONFIRMED
    mail = OutboxMessage.objects.get(to="sam@example.org", subject__startswith="Inscription")
    check_confirmation(mail, accepted)


def test_outbox_page_lists_binary_attachments(
    client, place, concierge, django_capture_on_commit_callbacks
):
    event = make_event(place)
    with django_capture_on_commit_callbacks(execute=True):
        visitor(event)
    login(client, concierge)
    response = client.get(reverse("core:outbox", args=[event.place.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "billet-1.png" in html and "evenement.ics" in html


def test_attendee_name_is_escaped_in_the_page_and_the_code_title(client, place):
    event = make_event(place)
    registration = visitor(event, name="<script>alert(1)</script>", notify=False)
    html = client.get(page_url(registration.tickets.get())).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
