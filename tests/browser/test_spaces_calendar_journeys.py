"""On a phone: the month calendar, the waiting list and a recurring booking."""

import pytest
from playwright.sync_api import expect

from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from conciergerie.spaces.models import Booking, WaitlistEntry
from tests.browser.test_journeys import log_in
from tests.factories import make_person, make_place, make_user
from tests.spaces.conftest import WEEK, local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def place(db):
    return make_place(slug="etabli", name="L'Établi", opening_hours=WEEK)


@pytest.fixture
def room(place):
    return services.resource_create(
        place=place, by=None, name="Salle Jaune", kind="salle", capacity=1, horizon_days=3650
    )


@pytest.fixture
def lina(place):
    user = make_user(place=place, role="member", email="lina@example.org")
    person = make_person(
        place=place, first_name="Lina", last_name="Membre", email="lina@example.org", user=user
    )
    return user, person


def test_member_moves_from_month_to_day_and_waits_for_a_full_slot(page, place, room, lina):
    paul = make_person(place=place, first_name="Paul", email="paul@example.org")
    for hour in (9, 10, 14):
        services.booking_create(
            resource=room,
            by=None,
            level=Level.CONCIERGE,
            person=paul,
            start=local(2030, 3, 12, hour),
            end=local(2030, 3, 12, hour + 1),
        )
    log_in(page, "lina@example.org")

    page.goto(page.base + f"/lieux/etabli/ressources/{room.uuid}/?vue=mois&date=2030-03-01")
    expect(page.get_by_role("heading", name="Mars 2030")).to_be_visible()
    cell = page.locator('td[data-day="2030-03-12"]')
    expect(cell).to_contain_text("3 rés.")  # the short form on a phone
    cell.get_by_role("link").click()

    expect(page.get_by_role("heading", name="Mardi 12 mars 2030")).to_be_visible()
    expect(page.get_by_text("Libre de 11:00 à 14:00")).to_be_visible()
    expect(page.get_by_text("Paul")).to_have_count(0)
    page.get_by_label("Début").fill("10:00")
    page.get_by_label("Fin").fill("11:00")
    page.get_by_role("button", name="Réserver", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text("Créneau déjà pris")
    page.get_by_role("button", name="M'inscrire sur liste d'attente pour ce créneau").click()
    expect(page.get_by_text("Vous êtes sur la liste d'attente pour ce créneau.")).to_be_visible()
    expect(page.get_by_role("heading", name="Sur liste d'attente")).to_be_visible()
    entry = WaitlistEntry.objects.get()
    assert entry.person == lina[1] and entry.start_at == local(2030, 3, 12, 10)

    page.get_by_role("button", name="Quitter la liste d'attente").click()
    expect(page.get_by_text("Vous avez quitté la liste d'attente de ce créneau.")).to_be_visible()
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.CANCELLED


def test_member_previews_and_confirms_a_weekly_booking(page, place, room, lina):
    paul = make_person(place=place, first_name="Paul", email="paul@example.org")
    services.booking_create(
        resource=room,
        by=None,
        level=Level.CONCIERGE,
        person=paul,
        start=local(2030, 3, 19, 18),
        end=local(2030, 3, 19, 19),
    )
    log_in(page, "lina@example.org")
    page.goto(page.base + f"/lieux/etabli/ressources/{room.uuid}/?vue=semaine&date=2030-03-05")

    page.get_by_text("Réservation récurrente").click()
    page.get_by_label("Premier jour").fill("2030-03-05")
    page.get_by_label("Commence à").fill("18:00")
    page.get_by_label("Se termine à").fill("20:00")
    page.get_by_label("Répéter").select_option(label="Chaque semaine")
    page.get_by_label("Ou nombre de fois").fill("3")
    page.get_by_role("button", name="Voir les dates").click()

    preview = page.locator(".series-preview")
    expect(preview.locator("li")).to_have_count(3)
    expect(preview.locator(".occurrence-ko")).to_contain_text("Mardi 19 mars 2030")
    expect(preview.locator(".occurrence-ko")).to_contain_text("Créneau déjà pris")
    page.get_by_role("button", name="Confirmer : réserver les 2 dates libres").click()

    expect(page.get_by_text("2 dates réservées (05/03, 12/03)")).to_be_visible()
    expect(page.get_by_text("Pas réservé le 19/03/2030 de 18:00 à 20:00")).to_be_visible()
    expect(page.get_by_role("heading", name="Mars 2030")).to_be_visible()
    assert Booking.objects.filter(person=lina[1], series__isnull=False).count() == 2
    page.screenshot(path="/tmp/month-phone.png", full_page=True)
