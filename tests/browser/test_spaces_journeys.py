import re

import pytest
from playwright.sync_api import expect

from conciergerie.core.models import OutboxMessage
from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from conciergerie.spaces.models import Booking
from tests.browser.test_journeys import log_in
from tests.factories import make_person, make_place, make_user
from tests.spaces.conftest import WEEK, local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def place(db):
    return make_place(slug="etabli", name="L'Établi", opening_hours=WEEK)


@pytest.fixture
def lina(place):
    user = make_user(place=place, role="member", email="lina@example.org")
    person = make_person(
        place=place, first_name="Lina", last_name="Membre", email="lina@example.org", user=user
    )
    return user, person


def resource(place, name, **fields):
    fields.setdefault("horizon_days", 3650)
    return services.resource_create(place=place, by=None, name=name, **fields)


def test_member_searches_a_room_and_books_the_proposed_slot(page, place, lina):
    resource(place, "Petite salle", kind="salle", capacity=4, features=["vidéoprojecteur"])
    resource(place, "Atelier", kind="salle", capacity=12, features=["établi"])
    big = resource(place, "Grande salle", kind="salle", capacity=12, features=["vidéoprojecteur"])
    log_in(page, "lina@example.org")

    page.goto(page.base + "/lieux/etabli/")
    page.get_by_role("link", name="Réserver").click()
    page.get_by_label("Jour").fill("2030-03-05")
    page.get_by_label("À partir de").fill("09:00")
    page.get_by_label("Jusqu'à").fill("12:00")
    page.get_by_label("Durée (minutes)").fill("120")
    page.get_by_label("Nombre de places").fill("8")
    page.get_by_role("textbox", name="Équipements").fill("Vidéoprojecteur")
    page.get_by_role("button", name="Chercher").click()

    results = page.locator("#resultats")
    expect(results.locator(".match")).to_have_count(1)
    match = results.locator(".match").filter(has_text="Grande salle")
    expect(match.get_by_text(re.compile("de 09:00 à 11:00"))).to_be_visible()
    match.get_by_role("button", name="Réserver ce créneau").click()

    expect(page.get_by_text("Réservation confirmée.")).to_be_visible()
    expect(page.get_by_role("heading", name="Réservation : Grande salle")).to_be_visible()
    booking = Booking.objects.get()
    assert booking.resource == big and booking.seats == 8
    assert (booking.start_at, booking.end_at) == (local(2030, 3, 5, 9), local(2030, 3, 5, 11))
    assert booking.person == lina[1]


def test_member_tries_a_taken_slot_and_sees_the_conflict(page, place, lina):
    room = resource(place, "Salle Jaune", kind="salle", capacity=1)
    other = make_person(place=place, first_name="Paul", email="paul@example.org")
    services.booking_create(
        resource=room,
        by=None,
        level=Level.CONCIERGE,
        person=other,
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 12),
    )
    log_in(page, "lina@example.org")

    page.goto(page.base + f"/lieux/etabli/ressources/{room.uuid}/?week=2030-03-05")
    expect(page.get_by_text("Occupé")).to_be_visible()
    expect(page.get_by_text("Paul")).to_have_count(0)
    page.get_by_label("Date").fill("2030-03-05")
    page.get_by_label("Début").fill("11:00")
    page.get_by_label("Fin").fill("12:30")
    page.get_by_role("button", name="Réserver", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Créneau déjà pris : Salle Jaune est réservée du 05/03/2030 10:00 au 05/03/2030 12:00."
    )
    assert Booking.objects.count() == 1


def test_concierge_puts_a_machine_out_of_service_and_the_member_is_told(page, place, lina):
    laser = resource(place, "Découpeuse laser", kind="machine", capacity=1)
    booking = services.booking_create(
        resource=laser,
        by=lina[0],
        level=Level.MEMBER,
        person=lina[1],
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    make_user(place=place, role="concierge", email="concierge@etabli.fr")
    log_in(page, "concierge@etabli.fr")

    page.goto(page.base + f"/lieux/etabli/ressources/{laser.uuid}/?week=2030-03-05")
    expect(page.get_by_role("link", name="Lina Membre")).to_be_visible()
    section = page.locator("section").filter(
        has=page.get_by_role("heading", name="Mettre hors service")
    )
    section.get_by_label("Début").fill("2030-03-05T08:00")
    section.get_by_label("Fin").fill("2030-03-05T14:00")
    section.get_by_label("Motif").fill("Tube laser à remplacer")
    section.get_by_role("button", name="Mettre hors service").click()

    expect(
        page.get_by_text(re.compile(r"1 réservation\(s\) annulée\(s\).*prévenues"))
    ).to_be_visible()
    expect(page.get_by_text("Tube laser à remplacer")).to_be_visible()

    # The member's side: the booking shows cancelled, and an e-mail told her.
    page.context.clear_cookies()
    log_in(page, "lina@example.org")
    page.goto(page.base + f"/lieux/etabli/reservations/{booking.uuid}/")
    expect(page.locator("#etat")).to_have_text("Annulée")
    expect(page.get_by_role("button", name="Annuler la réservation")).to_have_count(0)
    told = OutboxMessage.objects.filter(
        to__icontains="lina@example.org", subject__icontains="annulée"
    )
    assert told.count() == 1
    assert "Tube laser à remplacer" in told.get().body
