"""Issue 6's journeys on a phone: a visitor describes a need and gets commons and a person to
call; an aiguilleur records the orientation and then its outcome; a member proposes a
commons and a moderator validates it."""

import pytest
from playwright.sync_api import expect

from conciergerie.commons.models import Commons, Orientation, Proposal
from conciergerie.commons.services.aiguillage import aiguilleur_set
from conciergerie.commons.starter import starter_load
from conciergerie.community import services as community
from conciergerie.core.models import OutboxMessage
from tests.browser.test_journeys import log_in
from tests.factories import make_person, make_place, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def place(db):
    place = make_place(slug="etabli", name="L'Établi")
    assert starter_load(place, None).ok
    helene = make_person(
        place=place, first_name="Hélène", last_name="Marchand", name_visibility="public"
    )
    aiguilleur_set(
        place=place,
        person=helene,
        by=None,
        domains=["gestion associative", "comptabilité"],
        availability="le mardi après-midi",
    )
    return place


def test_a_visitor_is_routed_then_followed_up(page, place):
    # A visitor, not logged in, describes the need in their own words.
    page.goto(page.base + "/lieux/etabli/")
    page.get_by_role("link", name="Trouver de l'aide").click()
    page.get_by_label("Décrivez votre besoin").fill(
        "on veut gérer les adhésions et la compta de notre asso"
    )
    page.get_by_role("button", name="Voir les suggestions").click()
    commons = page.locator("section[aria-labelledby=titre-communs]")
    expect(commons.get_by_role("link", name="Paheko")).to_be_visible()
    expect(commons).to_contain_text("« adhésions »")
    people = page.locator("section[aria-labelledby=titre-personnes]")
    expect(people).to_contain_text("Hélène Marchand")
    expect(people).to_contain_text("le mardi après-midi")

    # They ask to be called back.
    page.get_by_label("Votre nom").fill("Léa Dumas")
    page.get_by_label("Votre e-mail").fill("lea.dumas@example.org")
    page.get_by_role("button", name="Être recontacté·e").click()
    expect(page.get_by_text("C'est noté")).to_be_visible()
    request = Orientation.objects.get()
    assert request.contact_email == "lea.dumas@example.org" and request.oriented_at is None
    assert any(s["name"] == "Paheko" for s in request.suggestions)

    # The aiguilleur (the concierge) finds it in the queue and records the orientation.
    make_user(place=place, role="concierge", email="accueil@etabli.example")
    page.context.clear_cookies()
    log_in(page, "accueil@etabli.example")
    page.goto(page.base + "/lieux/etabli/communs/")
    page.get_by_role("link", name="Orientations").first.click()
    page.get_by_role("link", name="on veut gérer les adhésions").first.click()
    expect(page.get_by_role("heading", name="Enregistrer l'orientation")).to_be_visible()
    page.get_by_label("Note (pour l'équipe, pas envoyée)").fill("Asso de 40 membres, un bureau.")
    page.get_by_role("button", name="Enregistrer et envoyer à la personne").click()
    expect(page.get_by_text("Orientation enregistrée")).to_be_visible()
    request.refresh_from_db()
    assert request.oriented_at is not None
    assert request.commons.filter(slug="paheko").exists()
    sent = OutboxMessage.objects.filter(to__contains="lea.dumas@example.org")
    assert sent.exists() and "Paheko" in sent.get().body

    # Weeks later: news of it.
    page.get_by_label("Adopté / mis en œuvre").check()
    page.get_by_label("Pourquoi ? (obligatoire si c'est abandonné)").fill("Paheko en place.")
    page.get_by_role("button", name="Enregistrer la suite").click()
    expect(page.get_by_text("Adopté / mis en œuvre").first).to_be_visible()
    request.refresh_from_db()
    assert request.outcome == Orientation.Outcome.ADOPTED
    # The figures count it as an orientation that led to action.
    page.get_by_role("link", name="Orientations").first.click()
    expect(page.locator("main")).to_contain_text("100 %")


def test_a_member_proposes_a_commons_and_a_moderator_validates_it(page, place):
    member = make_user(place=place, role="member", email="lina@example.org")
    community.person_link_account(place=place, user=member)
    make_user(place=place, role="concierge", email="accueil@etabli.example")

    log_in(page, "lina@example.org")
    page.goto(page.base + "/lieux/etabli/communs/")
    page.get_by_role("link", name="Proposer un commun").first.click()
    page.get_by_label("Nom").fill("Grist")
    page.get_by_label("Résumé").fill("Des tableurs reliés comme une base de données.")
    page.get_by_label("Description").fill("Pour suivre **les prêts de matériel**.")
    page.get_by_label("Adresse du site").fill("ftp://grist")
    page.get_by_label("Type de commun").select_option(label="Logiciel")
    page.get_by_label("Gérer").check()
    page.get_by_label("Mots-clés").fill("tableur, inventaire, prêts")
    page.get_by_role("button", name="Envoyer ma proposition").click()
    # A bad address is said on its field, and nothing is written.
    expect(page.get_by_text("Adresse web invalide")).to_be_visible()
    assert not Commons.objects.filter(name="Grist").exists()
    page.get_by_label("Adresse du site").fill("https://www.getgrist.com")
    page.get_by_role("button", name="Envoyer ma proposition").click()
    expect(page.get_by_text("Votre proposition attend")).to_be_visible()
    grist = Commons.objects.get(name="Grist")
    assert grist.status == Commons.Status.PENDING

    # Not in the catalogue yet for visitors.
    page.context.clear_cookies()
    page.goto(page.base + "/lieux/etabli/communs/?q=tableur")
    expect(page.locator("main")).not_to_contain_text("Grist")

    # The moderator validates it.
    log_in(page, "accueil@etabli.example")
    page.goto(page.base + "/lieux/etabli/communs/")
    page.get_by_role("link", name="Propositions").first.click()
    page.get_by_role("button", name="Accepter").first.click()
    expect(page.get_by_text("Proposition acceptée.")).to_be_visible()
    assert Proposal.objects.get(commons=grist).status == Proposal.Status.ACCEPTED
    assert Commons.objects.get(pk=grist.pk).status == Commons.Status.VALIDATED

    # Now anyone finds it, typo included.
    page.context.clear_cookies()
    page.goto(page.base + "/lieux/etabli/communs/?q=tabelur")
    expect(page.get_by_role("link", name="Grist")).to_be_visible()
