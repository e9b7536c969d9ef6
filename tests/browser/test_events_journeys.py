"""A visitor registers on a sliding scale; the team welcomes them on a phone; the report moves."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from conciergerie.core.models import OutboxMessage
from conciergerie.events.models import Registration, Ticket
from tests.browser.test_journeys import log_in
from tests.events.conftest import SOON, make_event
from tests.factories import make_place, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIERS = [
    {"name": "solidaire", "price": Decimal("5")},
    {"name": "standard", "price": Decimal("15")},
    {"name": "soutien", "price": Decimal("25")},
    {
        "name": "prix libre",
        "pay_what_you_can": True,
        "floor": Decimal("8"),
        "suggested": Decimal("15"),
    },
]


@pytest.fixture
def place(db):
    return make_place(slug="etabli", name="L'Établi")


@pytest.fixture
def event(place):
    return make_event(
        place,
        title="Atelier réparation vélo",
        tiers=TIERS,
        capacity=8,
        start_at=SOON,
        end_at=SOON + dt.timedelta(hours=3),
    )


def test_visitor_registers_then_is_welcomed_and_counted(page, place, event):
    make_user(place=place, role="concierge", email="accueil@etabli.example")

    # A visitor finds the event and picks a pay-what-you-can amount, typed the French way.
    page.goto(page.base + "/lieux/etabli/")
    page.get_by_role("link", name="Évènements").click()
    page.get_by_role("link", name="Atelier réparation vélo").click()
    expect(page.locator("#places")).to_contain_text("8 places restantes")
    page.get_by_label("Votre nom").fill("Camille Martin")
    page.get_by_label("Votre e-mail").fill("camille@example.org")
    page.get_by_label("prix libre").check()
    page.get_by_label("Montant que vous choisissez").fill("4")
    page.get_by_role("button", name="Je m'inscris").click()
    # Below the floor: told why, nothing written, what was typed is kept.
    expect(page.get_by_text("Le montant minimum est de 8,00")).to_be_visible()
    assert not Registration.objects.exists()
    expect(page.get_by_label("Votre nom")).to_have_value("Camille Martin")
    page.get_by_label("prix libre").check()
    page.get_by_label("Montant que vous choisissez").fill("12,50 €")
    page.get_by_role("button", name="Je m'inscris").click()
    expect(page.get_by_text("Inscription confirmée")).to_be_visible()
    expect(page.locator("#etat")).to_have_text("Confirmée")
    ticket = Ticket.objects.get()
    assert ticket.amount == Decimal("12.50") and ticket.tier.name == "prix libre"
    mail = OutboxMessage.objects.get(to="camille@example.org")
    assert "Inscription confirmée" in mail.subject
    assert "Atelier réparation vélo" in mail.body

    # The concierge, on the phone, finds her at the door and checks her in.
    page.context.clear_cookies()
    log_in(page, "accueil@etabli.example")
    page.goto(page.base + event.get_absolute_url())
    page.get_by_role("link", name="Accueil (arrivées)").click()
    expect(page.locator("#compteur")).to_have_text("Arrivées : 0 sur 1")
    page.get_by_role("searchbox").fill("cami")
    expect(page.locator("#personnes")).to_contain_text("Camille Martin")
    page.get_by_role("button", name="Arrivée de Camille Martin").click()
    expect(page.get_by_text("Bienvenue Camille Martin")).to_be_visible()
    expect(page.locator("#compteur")).to_have_text("Arrivées : 1 sur 1")
    # Nothing on the page is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ticket.refresh_from_db()
    assert ticket.checked_in_at is not None

    # The report shows the new figures: 1 of 8 seats, 1 present, 12,50 € paid.
    page.goto(page.base + event.get_absolute_url())
    page.get_by_role("link", name="Bilan", exact=True).click()
    stats = page.locator(".stats")
    expect(stats).to_contain_text("1 / 8")
    expect(stats).to_contain_text("13 %")
    expect(stats).to_contain_text("100 %")
    expect(stats).to_contain_text("12,50")


def test_another_place_never_shows_this_places_events(page, place, event):
    make_place(slug="ailleurs", name="Ailleurs")
    page.goto(page.base + "/lieux/ailleurs/evenements/")
    expect(page.get_by_text("Aucun évènement prévu")).to_be_visible()
    assert page.goto(page.base + f"/lieux/ailleurs/evenements/{event.uuid}/").status == 404
