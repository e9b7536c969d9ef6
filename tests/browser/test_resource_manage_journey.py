"""A concierge sets up a machine from a phone: sheet, photo, maintenance, qualification."""

import re

import pytest
from playwright.sync_api import expect

from conciergerie.spaces.models import MaintenanceEntry, Qualification, Resource
from tests.browser.test_journeys import log_in
from tests.factories import make_person, make_place, make_user
from tests.spaces.conftest import WEEK
from tests.spaces.images import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_concierge_sets_up_a_machine(page, tmp_path):
    place = make_place(slug="etabli", name="L'Établi", opening_hours=WEEK)
    make_user(place=place, role="concierge", email="concierge@etabli.fr")
    make_person(place=place, first_name="Lina", last_name="Membre")
    log_in(page, "concierge@etabli.fr")

    page.goto(page.base + "/lieux/etabli/ressources/")
    page.get_by_role("link", name="Nouvelle ressource").click()
    page.get_by_label("Nom").fill("Découpe laser")
    page.get_by_label("Type").select_option("machine")
    page.get_by_label("Habilitation exigée").check()
    page.get_by_label("Mêmes horaires que le lieu").uncheck()
    page.get_by_label("Mardi").fill("18:00-09:00")
    page.get_by_role("button", name="Créer la ressource").click()
    expect(page.get_by_text("Plage horaire invalide : 18:00-09:00.")).to_be_visible()
    assert not Resource.objects.exists()

    page.get_by_label("Mardi").fill("09:00-12:30, 14:00-18:00")
    page.get_by_label("Tarif membre à jour : unité").select_option("heure")
    page.get_by_label("Tarif membre à jour : montant TTC (€)").fill("6")
    page.get_by_role("button", name="Créer la ressource").click()
    expect(page.get_by_role("heading", name="Gérer « Découpe laser »")).to_be_visible()
    laser = Resource.objects.get()
    assert laser.opening_hours == {"tue": [["09:00", "12:30"], ["14:00", "18:00"]]}

    photo = tmp_path / "laser.png"
    photo.write_bytes(png_bytes(size=(40, 30)))
    page.get_by_label("Photo à ajouter").set_input_files(str(photo))
    page.get_by_label("Ce que montre la photo").fill("La découpeuse, capot ouvert")
    page.get_by_role("button", name="Ajouter la photo").click()
    expect(page.get_by_role("img", name="La découpeuse, capot ouvert")).to_be_visible()

    page.get_by_label("Ce qui a été fait").fill("Nettoyage des miroirs")
    page.get_by_label("Fait par").fill("Camille")
    page.get_by_role("button", name="Ajouter au carnet").click()
    expect(page.get_by_text("Nettoyage des miroirs")).to_be_visible()
    assert MaintenanceEntry.objects.get().performed_by == "Camille"

    # The picker suggests as one types (htmx fills a <datalist>); the suggestion is chosen.
    picker = page.get_by_label("Personne formée")
    picker.press_sequentially("lin", delay=50)
    suggestion = page.locator(f"#{picker.get_attribute('list')} option").first
    expect(suggestion).to_have_attribute("value", re.compile(r"^Lina Membre — "))
    picker.fill(suggestion.get_attribute("value") or "")
    page.get_by_label("Formateur·rice").fill("Sam")
    page.get_by_role("button", name="Habiliter").click()
    expect(page.get_by_text("Habilitation enregistrée pour Lina Membre.")).to_be_visible()
    assert Qualification.objects.get().trainer == "Sam"

    page.get_by_role("link", name="Page de la ressource (planning, réservations)").click()
    expect(page.get_by_role("img", name="La découpeuse, capot ouvert")).to_be_visible()
