"""The events pages: list and calendar, an event's page, registering, a registration's private
page, the team's form and the arrival desk."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.core.models import OutboxMessage
from conciergerie.events import services
from conciergerie.events.models import Event, Registration, Ticket
from tests.conftest import login
from tests.events.conftest import SLIDING, SOON, make_event, visitor
from tests.factories import make_place

pytestmark = pytest.mark.django_db


def url(name, place, *args):
    return reverse(f"events:{name}", args=[place.slug, *args])


def register_post(client, event, **data):
    return client.post(url("register", event.place, event.uuid), data)


def tier_id(event, name):
    return str(event.tiers.get(name=name).uuid)


# --- List and calendar ---------------------------------------------------------------------------


def test_the_list_shows_what_the_visitor_may_see(client, place):
    make_event(place, title="Repair café ouvert")
    make_event(place, title="Assemblée des membres", visibility=Event.Visibility.MEMBERS)
    make_event(make_place(slug="ailleurs"), title="Ailleurs")
    body = client.get(url("events", place)).content.decode()
    assert "Repair café ouvert" in body
    assert "Assemblée des membres" not in body
    assert "Ailleurs" not in body


def test_the_list_says_seats_left_and_full(client, place):
    event = make_event(place, title="Petit atelier", capacity=2, waitlist_enabled=False)
    body = client.get(url("events", place)).content.decode()
    assert "2 places restantes" in body
    visitor(event, attendees=[{}, {"name": "Bob"}], notify=False)
    body = client.get(url("events", place)).content.decode()
    assert "Complet" in body and "places restantes" not in body


def test_the_month_calendar_puts_a_stay_on_each_of_its_days(client, place):
    start = SOON.replace(hour=17)
    make_event(
        place,
        title="Séjour co-living",
        is_stay=True,
        start_at=start,
        end_at=start + dt.timedelta(days=3, hours=-6),
    )
    body = client.get(url("events", place), {"vue": "mois", "mois": start.strftime("%Y-%m")})
    text = body.content.decode()
    # Spread over month boundaries the count can split; the stay shows at least on its first
    # day and, when it stays within the month, on all four.
    assert text.count("Séjour co-living") >= 1
    if (start + dt.timedelta(days=3)).month == start.month:
        assert text.count("Séjour co-living") == 4


def test_a_bad_month_falls_back_to_this_month(client, place):
    response = client.get(url("events", place), {"vue": "mois", "mois": "pas-un-mois"})
    assert response.status_code == 200


def _queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_reads_in_a_fixed_number_of_queries(client, place):
    make_event(place, tiers=SLIDING)
    one = _queries(client, url("events", place))
    for i in range(9):
        event = make_event(place, title=f"Atelier {i}", tiers=SLIDING)
        visitor(event, email=f"v{i}@example.org", attendees=[{"tier": tier_id(event, "standard")}])
    assert _queries(client, url("events", place)) == one
    month = SOON.strftime("%Y-%m")
    assert _queries(client, url("events", place) + f"?vue=mois&mois={month}") == one


# --- The event's page ----------------------------------------------------------------------------


def test_the_event_page_carries_schema_org_json_ld(client, event):
    body = client.get(event.get_absolute_url()).content.decode()
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    data = json.loads(found.group(1))
    assert data["@type"] == "Event" and data["name"] == event.title
    assert data["startDate"].startswith(SOON.strftime("%Y-%m-%dT%H:%M"))
    assert data["eventStatus"].endswith("EventScheduled")
    prices = {o["name"]: o["price"] for o in data["offers"]}
    assert prices["solidaire"] == "5.00" and prices["prix libre"] == "15.00"
    assert data["remainingAttendeeCapacity"] == 10


def test_json_ld_cannot_close_the_script_element(client, place):
    event = make_event(place, title="</script><script>alert(1)</script>")
    body = client.get(event.get_absolute_url()).content.decode()
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert json.loads(found.group(1))["name"] == event.title


def test_the_description_is_sanitised_markdown(client, place):
    event = make_event(place, description="**Venez** <script>alert(1)</script>")
    body = client.get(event.get_absolute_url()).content.decode()
    assert "<strong>Venez</strong>" in body and "<script>alert(1)" not in body


def test_a_members_event_is_404_for_a_visitor(client, place):
    event = make_event(place, visibility=Event.Visibility.MEMBERS)
    assert client.get(event.get_absolute_url()).status_code == 404


def test_the_event_page_reads_in_a_fixed_number_of_queries(client, event):
    one = _queries(client, event.get_absolute_url())
    for i in range(10):
        visitor(event, email=f"p{i}@example.org", attendees=[{"tier": tier_id(event, "soutien")}])
    assert _queries(client, event.get_absolute_url()) == one


# --- Registering ---------------------------------------------------------------------------------


def test_a_visitor_registers_with_a_sliding_scale_amount(
    client, event, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = register_post(
            client,
            event,
            name="Camille Martin",
            email="Camille@Example.org",
            tier=tier_id(event, "prix libre"),
            amount="12,50 €",
            others="Sacha Martin",
        )
    registration = Registration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("registration", event.place, registration.uuid)
    assert registration.status == Registration.Status.CONFIRMED
    assert registration.visitor_email == "camille@example.org"
    assert [(t.name, t.amount) for t in registration.tickets.order_by("id")] == [
        ("Camille Martin", Decimal("12.50")),
        ("Sacha Martin", Decimal("12.50")),
    ]
    assert registration.amount_total == Decimal("25.00")
    mail = OutboxMessage.objects.get(to="camille@example.org")
    assert "Inscription confirmée" in mail.subject
    page = client.get(response["Location"]).content.decode()
    assert "Confirmée" in page and "Sacha Martin" in page


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("3", "Le montant minimum est de 8,00"),
        ("-5", "ne peut pas être négatif"),
        ("beaucoup", "n&#x27;est pas un montant"),
    ],
)
def test_a_bad_amount_is_explained_and_nothing_is_written(client, event, amount, message):
    response = register_post(
        client,
        event,
        name="Camille",
        email="camille@example.org",
        tier=tier_id(event, "prix libre"),
        amount=amount,
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Registration.objects.exists() and not Ticket.objects.exists()


def test_a_visitor_must_give_name_email_and_tier(client, event):
    response = register_post(client, event, name="", email="pas-un-email")
    body = response.content.decode()
    assert response.status_code == 400
    assert "Ce champ est obligatoire" in body
    assert not Registration.objects.exists()


def test_too_many_people_is_refused(client, place):
    event = make_event(place, max_per_order=2)
    response = register_post(client, event, name="A", email="a@example.org", others="B\nC")
    assert response.status_code == 400
    assert "2 personnes au plus" in response.content.decode()
    assert not Registration.objects.exists()


def test_registering_twice_is_refused(client, event):
    data = {"name": "A", "email": "a@example.org", "tier": tier_id(event, "standard")}
    assert register_post(client, event, **data).status_code == 302
    response = register_post(client, event, **data)
    assert response.status_code == 400
    assert "déjà inscrit" in response.content.decode()
    assert Registration.objects.count() == 1


def test_full_puts_the_visitor_on_the_waitlist(client, place):
    event = make_event(place, capacity=1)
    visitor(event, notify=False)
    response = register_post(client, event, name="B", email="b@example.org")
    registration = Registration.objects.get(visitor_email="b@example.org")
    assert registration.status == Registration.Status.WAITLISTED
    page = client.get(response["Location"]).content.decode()
    assert "Liste d&#x27;attente" in page or "Liste d'attente" in page


def test_a_member_registers_without_typing_an_email(client, place, member):
    user, person = member
    event = make_event(place)
    login(client, user)
    page = client.get(event.get_absolute_url()).content.decode()
    assert 'name="email"' not in page
    response = register_post(client, event, name="")
    assert response.status_code == 302
    registration = Registration.objects.get()
    assert registration.person == person
    page = client.get(event.get_absolute_url()).content.decode()
    assert "Vous êtes inscrit·e" in page


def test_closed_registration_shows_no_form(client, place):
    event = make_event(place, registration_closes_at=SOON - dt.timedelta(days=20))
    body = client.get(event.get_absolute_url()).content.decode()
    assert "Les inscriptions sont closes" in body and "Je m'inscris" not in body
    response = register_post(client, event, name="A", email="a@example.org")
    assert response.status_code == 400
    assert not Registration.objects.exists()


# --- A registration's private page ---------------------------------------------------------------


def test_the_link_holder_cancels_and_the_waitlist_gets_an_offer(client, place):
    event = make_event(place, capacity=1)
    first = visitor(event, email="a@example.org", notify=False)
    second = visitor(event, email="b@example.org", notify=False)
    action = url("registration_action", place, first.uuid)
    assert client.post(action, {"action": "cancel"}).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Registration.Status.CANCELLED
    assert second.status == Registration.Status.OFFERED
    client.post(url("registration_action", place, second.uuid), {"action": "accept"})
    second.refresh_from_db()
    assert second.status == Registration.Status.CONFIRMED


def test_a_registration_page_is_not_cached_nor_leaked(client, place):
    registration = visitor(make_event(place), notify=False)
    event = registration.event
    response = client.get(url("registration", event.place, registration.uuid))
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    other = make_place(slug="ailleurs")
    assert client.get(url("registration", other, registration.uuid)).status_code == 404


# --- The team --------------------------------------------------------------------------------


def _event_form(**overrides):
    data = {
        "title": "Atelier vélo",
        "category": "atelier",
        "start_at": SOON.strftime("%Y-%m-%dT%H:%M"),
        "end_at": (SOON + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "12",
        "max_per_order": "4",
        "visibility": "public",
        "waitlist_enabled": "on",
        "offer_hours": "24",
        "cancel_hours": "24",
        "repeter-every_days": "0",
        "tarifs-TOTAL_FORMS": "3",
        "tarifs-INITIAL_FORMS": "0",
        "tarifs-MIN_NUM_FORMS": "1",
        "tarifs-MAX_NUM_FORMS": "8",
        "tarifs-0-name": "solidaire",
        "tarifs-0-price": "5",
        "tarifs-1-name": "standard",
        "tarifs-1-price": "12",
        "tarifs-2-name": "prix libre",
        "tarifs-2-pay_what_you_can": "on",
        "tarifs-2-floor": "3",
        "tarifs-2-suggested": "12",
    }
    data.update(overrides)
    return data


def test_the_team_creates_an_event_with_tiers(client, place, concierge):
    login(client, concierge)
    response = client.post(url("event_create", place), _event_form())
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == event.get_absolute_url()
    assert event.start_at == SOON
    assert [t.name for t in event.tiers.all()] == ["solidaire", "standard", "prix libre"]
    assert event.tiers.get(name="prix libre").floor == Decimal("3")


def test_the_team_creates_a_weekly_series(client, place, concierge):
    login(client, concierge)
    client.post(
        url("event_create", place), _event_form(**{"repeter-every_days": "7", "repeter-count": "4"})
    )
    events = list(Event.objects.order_by("start_at"))
    assert len(events) == 4 and len({e.series for e in events}) == 1
    assert events[1].start_at.date() - events[0].start_at.date() == dt.timedelta(days=7)


def test_a_bad_event_form_writes_nothing_and_says_why(client, place, concierge):
    login(client, concierge)
    response = client.post(
        url("event_create", place),
        _event_form(
            end_at=(SOON - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            **{"tarifs-2-floor": "20"},
        ),
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "La fin doit être après le début" in body
    assert not Event.objects.exists()


def test_the_team_edits_tiers_without_touching_what_was_paid(client, event, concierge):
    registration = visitor(event, attendees=[{"tier": tier_id(event, "standard")}], notify=False)
    login(client, concierge)
    data = _event_form(
        title="Atelier soudure (complet)",
        capacity="10",
        **{
            "tarifs-TOTAL_FORMS": "5",
            "tarifs-0-name": "solidaire",
            "tarifs-0-price": "5",
            "tarifs-1-name": "standard",
            "tarifs-1-price": "18",
            "tarifs-2-name": "soutien",
            "tarifs-2-price": "25",
            "tarifs-2-pay_what_you_can": "",
            "tarifs-2-floor": "",
            "tarifs-2-suggested": "",
            "tarifs-3-name": "prix libre",
            "tarifs-3-pay_what_you_can": "on",
            "tarifs-3-floor": "8",
            "tarifs-3-suggested": "15",
            "tarifs-4-name": "membre",
            "tarifs-4-price": "10",
            "tarifs-4-members_only": "on",
        },
    )
    response = client.post(url("event_edit", event.place, event.uuid), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    event.refresh_from_db()
    assert event.title == "Atelier soudure (complet)"
    assert event.tiers.get(name="standard").price == Decimal("18")
    assert registration.tickets.get().amount == Decimal("15.00")


# --- Arrival desk ------------------------------------------------------------------------------


def test_the_desk_finds_a_name_and_checks_in(client, place, concierge):
    event = make_event(place)
    visitor(event, name="Camille Martin", notify=False)
    visitor(event, name="Dominique Roy", email="d@example.org", notify=False)
    login(client, concierge)
    page = client.get(url("checkin", event.place, event.uuid), {"q": "camille"})
    body = page.content.decode()
    assert "Camille Martin" in body and "Dominique Roy" not in body
    assert "Arrivées : 0 sur 2" in body
    ticket = Ticket.objects.get(name="Camille Martin")
    response = client.post(
        url("checkin_ticket", event.place, event.uuid), {"ticket": str(ticket.uuid)}, follow=True
    )
    body = response.content.decode()
    assert "Bienvenue Camille Martin" in body
    assert "Arrivées : 1 sur 2" in body
    again = client.post(
        url("checkin_ticket", event.place, event.uuid), {"ticket": str(ticket.uuid)}, follow=True
    )
    assert "Déjà enregistré·e" in again.content.decode()


def test_the_desk_reads_a_scanned_ticket_link(client, place, concierge):
    event = make_event(place)
    registration = visitor(event, notify=False)
    ticket = registration.tickets.get()
    login(client, concierge)
    scanned = f"https://lieu.example/lieux/{event.place.slug}/evenements/{event.uuid}/billets/{ticket.qr_token}/"
    client.post(url("checkin_ticket", event.place, event.uuid), {"code": scanned})
    ticket.refresh_from_db()
    assert ticket.checked_in_at is not None


@pytest.mark.parametrize("code", ["n-importe-quoi", "", "/billets/"])
def test_the_desk_refuses_an_unknown_code_clearly(client, event, concierge, code):
    login(client, concierge)
    response = client.post(
        url("checkin_ticket", event.place, event.uuid),
        {"code": code, "ticket": "pas-un-uuid"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Billet inconnu" in response.content.decode()


def test_another_events_ticket_does_not_check_in(client, place, concierge):
    first, second = make_event(place), make_event(place, title="Autre")
    ticket = visitor(second, notify=False).tickets.get()
    login(client, concierge)
    client.post(url("checkin_ticket", place, first.uuid), {"code": ticket.qr_token})
    ticket.refresh_from_db()
    assert ticket.checked_in_at is None


def test_the_desk_reads_in_a_fixed_number_of_queries(client, place, concierge):
    event = make_event(place)
    visitor(event, notify=False)
    login(client, concierge)
    path = url("checkin", event.place, event.uuid)
    one = _queries(client, path)
    for i in range(9):
        visitor(event, name=f"P{i}", email=f"p{i}@example.org", notify=False)
    assert _queries(client, path) == one


def test_a_cancelled_event_says_so(client, event, concierge):
    services.event_cancel(event=event, by=None)
    body = client.get(event.get_absolute_url()).content.decode()
    assert "Cet évènement est annulé" in body and "Je m'inscris" not in body
