"""A concierge invoices a member's month on a phone, records a partial payment and issues a
credit note; the member sees and downloads their own invoices, and nobody else's."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from conciergerie.billing.models import Invoice, Payment, Product
from conciergerie.community import services as community
from tests.billing.conftest import issued_invoice, make_product
from tests.browser.test_journeys import log_in
from tests.factories import make_person, make_place, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def place(db):
    return make_place(slug="etabli", name="L'Établi", siret="73282932000074")


def test_a_month_is_invoiced_paid_in_part_credited_and_downloaded(page, place):
    make_user(place=place, role="concierge", email="accueil@etabli.example")
    lina = make_person(place=place, first_name="Lina", last_name="Roux", email="lina@example.org")
    member = make_user(place=place, role="member", email="lina@example.org")
    community.person_link_account(place=place, user=member)
    make_product(
        place,
        name="Coworking illimité",
        kind=Product.Kind.PLAN,
        unit_price=Decimal("150.00"),
        unit=Product.Unit.MONTH,
    )
    noe = make_person(place=place, first_name="Noé", last_name="Blanc", email="noe@example.org")
    someone_elses = issued_invoice(place, noe)

    # The concierge starts a draft for Lina from the back office.
    log_in(page, "accueil@etabli.example")
    page.goto(page.base + "/lieux/etabli/gestion/")
    page.get_by_role("link", name="Facturation").click()
    page.get_by_role("link", name="Nouvelle facture").click()
    page.get_by_label("Personne facturée").fill("Lina Roux")
    page.get_by_role("button", name="Créer le brouillon").click()
    expect(page.get_by_role("heading", name="Brouillon de facture")).to_be_visible()

    # A line from the monthly plan; a negative quantity is refused first, nothing written.
    page.get_by_label("Produit").select_option(label="Coworking illimité")
    page.get_by_label("Quantité").fill("-1")
    page.get_by_role("button", name="Ajouter la ligne").click()
    expect(page.get_by_text("Quantité négative : seulement sur un avoir")).to_be_visible()
    draft = Invoice.objects.get(person=lina)
    assert not draft.lines.exists()
    page.get_by_label("Produit").select_option(label="Coworking illimité")
    page.get_by_label("Quantité").fill("1")
    page.get_by_role("button", name="Ajouter la ligne").click()
    expect(page.get_by_text("Ligne ajoutée.")).to_be_visible()
    expect(page.locator("#total")).to_contain_text("180,00")

    # Issuing asks first, and says the invoice will no longer change.
    page.get_by_role("link", name="Émettre").click()
    expect(page.get_by_text("Une fois émise, elle ne pourra plus changer.")).to_be_visible()
    page.get_by_role("button", name="Oui, émettre la facture").click()
    number = Invoice.objects.get(pk=draft.pk).number
    assert number == "F2026-00002"
    expect(page.get_by_text(f"Facture {number} émise.")).to_be_visible()
    expect(page.locator("#etat")).to_have_text("Reste à payer")

    # A partial payment, typed the French way.
    page.get_by_label("Montant reçu").fill("100,00")
    page.get_by_label("Moyen de paiement").select_option(label="Virement")
    page.get_by_label("Référence").fill("VIR LINA NOV")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page.get_by_text("Paiement enregistré.")).to_be_visible()
    expect(page.locator("#reste")).to_contain_text("80,00")
    payment = Payment.objects.get()
    assert payment.amount == Decimal("100.00") and payment.person == lina

    # A credit note for a quarter of the month (a week closed for works).
    page.get_by_role("link", name="Faire un avoir").click()
    page.get_by_label("Sur une partie").check()
    page.get_by_label("Coworking illimité").fill("0,25")
    page.get_by_label("Motif").fill("Espace fermé une semaine pour travaux")
    page.get_by_role("button", name="Préparer l'avoir").click()
    expect(page.get_by_role("heading", name="Brouillon d'avoir")).to_be_visible()
    expect(page.locator("#total")).to_contain_text("-45,00")
    page.get_by_role("link", name="Émettre").click()
    page.get_by_role("button", name="Oui, émettre l'avoir").click()
    expect(page.get_by_text("Avoir AV2026-00001 émis.")).to_be_visible()
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit.corrects_id == draft.pk and credit.total_gross == Decimal("-45.00")
    page.get_by_role("link", name=f"la facture {number}").click()
    expect(page.locator("#reste")).to_contain_text("35,00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # The list narrows as one types (htmx).
    page.get_by_role("link", name="Factures", exact=True).click()
    rows = page.locator("#factures")
    expect(rows).to_contain_text(number)
    page.get_by_label("Client ou numéro").fill("blanc")
    expect(rows).not_to_contain_text(number)
    expect(rows).to_contain_text(someone_elses.number)

    # Lina logs in and finds her invoices in her menu.
    page.context.clear_cookies()
    log_in(page, "lina@example.org")
    page.goto(page.base + "/lieux/etabli/")
    page.get_by_role("link", name="Mes factures").click()
    mine = page.locator(".bl-mine")
    expect(mine).to_contain_text(number)
    expect(mine).to_contain_text("AV2026-00001")
    expect(mine).to_contain_text("Reste à payer : 35,00")
    expect(mine).not_to_contain_text(someone_elses.number)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with page.expect_download() as info:
        page.get_by_role("link", name=f"Télécharger {number} (PDF)").click()
    download = info.value
    assert download.suggested_filename == f"{number}.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    # Noé's invoice does not exist for her.
    response = page.goto(page.base + f"/lieux/etabli/mes-factures/{someone_elses.uuid}/pdf/")
    assert response.status == 404
