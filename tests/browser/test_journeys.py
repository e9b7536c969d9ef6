import re

import pytest
from playwright.sync_api import expect

from conciergerie.community.models import Introduction, Person
from tests.factories import PASSWORD, make_person, make_place, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, email):
    page.goto(page.base + "/compte/connexion/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("link", name="Mon compte")).to_be_visible()


def test_concierge_creates_person_finds_by_skill_and_introduces(page):
    place = make_place(slug="etabli", name="L'Établi")
    concierge = make_user(place=place, role="concierge", email="concierge@etabli.fr")
    requester = make_person(place=place, first_name="Rémi", last_name="Besoin", needs=["Soudure"])
    log_in(page, concierge.email)

    # Create a person with skills.
    page.goto(page.base + "/lieux/etabli/personnes/nouvelle/")
    page.get_by_label("Prénom").fill("Sofia")
    page.get_by_label(re.compile(r"^Nom\b")).fill("Forgeron")
    page.get_by_label(re.compile(r"^E-mail\b")).fill("sofia@example.org")
    page.get_by_label("Compétences (mots-clés)").fill("Soudure, Métallerie")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", name="Sofia Forgeron")).to_be_visible()
    expect(page.get_by_text("Métallerie")).to_be_visible()

    # Find her in the directory by skill.
    page.goto(page.base + "/lieux/etabli/annuaire/")
    page.get_by_label("Compétence", exact=True).select_option(label="Métallerie")
    page.get_by_role("button", name="Filtrer").click()
    results = page.locator("#resultats")
    expect(results.get_by_role("link", name="Sofia Forgeron")).to_be_visible()
    expect(results.get_by_text("Rémi Besoin")).to_have_count(0)

    # Live search (htmx) narrows as one types.
    page.goto(page.base + "/lieux/etabli/annuaire/")
    page.get_by_label("Rechercher").fill("métalleries")
    expect(results.get_by_text("1 personne")).to_be_visible()
    expect(results.get_by_role("link", name="Sofia Forgeron")).to_be_visible()

    # Record a mise en relation for Rémi's need.
    page.goto(page.base + "/lieux/etabli/gestion/mises-en-relation/nouvelle/")
    page.get_by_label("Quel est le besoin ?").fill("Souder une remorque de vélo")
    page.get_by_label("Pour qui ? (facultatif)").select_option(label="Rémi Besoin")
    page.get_by_role("button", name="Trouver des personnes").click()
    suggestion = page.locator(".suggestion").filter(has_text="Sofia Forgeron")
    expect(suggestion.get_by_text(re.compile("Soudure"))).to_be_visible()
    suggestion.get_by_role("button", name="Mettre en relation avec Sofia").click()
    expect(page.get_by_text("Mise en relation enregistrée.")).to_be_visible()
    intro = Introduction.objects.get()
    assert intro.helper.email == "sofia@example.org" and intro.requester == requester

    # Later, its outcome.
    page.get_by_label("Suite").select_option(label="A abouti")
    page.get_by_role("button", name="Enregistrer la suite").click()
    expect(page.get_by_text("Suite enregistrée.")).to_be_visible()
    intro.refresh_from_db()
    assert intro.outcome == "success"


def test_member_changes_field_visibility(page):
    place = make_place(slug="etabli", name="L'Établi")
    member = make_user(place=place, role="member", email="lina@example.org")
    make_person(
        place=place,
        first_name="Lina",
        last_name="Membre",
        email="lina@example.org",
        user=member,
        skills=["Couture"],
    )
    log_in(page, member.email)
    page.goto(page.base + "/lieux/etabli/mon-profil/")
    expect(page.get_by_role("heading", name="Modifier Lina Membre")).to_be_visible()
    page.get_by_role("group", name="Qui voit : Nom").get_by_label("Public").check()
    page.get_by_role("group", name="Qui voit : Compétences").get_by_label("Membres du lieu").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Profil enregistré.")).to_be_visible()
    person = Person.objects.get(user=member)
    assert person.name_visibility == "public" and person.skills_visibility == "members"


def test_anonymous_visitor_sees_only_public_fields(page):
    place = make_place(slug="etabli", name="L'Établi")
    person = make_person(
        place=place,
        first_name="Paul",
        last_name="Public",
        email="paul@example.org",
        phone="0612345678",
        skills=["Menuiserie"],
        needs=["Local"],
        name_visibility="public",
        skills_visibility="public",
        needs_visibility="members",
    )
    make_person(place=place, first_name="Priscille", last_name="Privée")
    page.goto(page.base + "/lieux/etabli/")
    expect(page.get_by_role("heading", name="L'Établi")).to_be_visible()
    page.get_by_role("link", name="Paul Public").click()
    expect(page.get_by_role("heading", name="Paul Public")).to_be_visible()
    expect(page.get_by_text("Menuiserie")).to_be_visible()
    body = page.content()
    assert "paul@example.org" not in body and "0612345678" not in body and "Local" not in body
    page.goto(page.base + "/lieux/etabli/")
    assert "Priscille" not in page.content()
    # The directory and the edit form are for members: a visitor is asked to log in.
    page.goto(page.base + "/lieux/etabli/annuaire/")
    expect(page).to_have_url(re.compile(r"/compte/connexion/"))
    page.goto(page.base + f"/lieux/etabli/personnes/{person.uuid}/modifier/")
    expect(page).to_have_url(re.compile(r"/compte/connexion/"))
