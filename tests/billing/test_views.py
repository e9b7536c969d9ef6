"""The billing pages: the team's invoices, credit notes, payments, products, subscriptions,
grants and settings; a member's own invoices."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.billing import periods, services
from conciergerie.billing.models import (
    BillingSettings,
    Funding,
    Invoice,
    InvoiceLine,
    Payment,
    Product,
    Subscription,
)
from conciergerie.billing.selectors.subscriptions import subscription_charge_key
from conciergerie.billing.services.payments import payment_record
from conciergerie.billing.services.runs import billing_run
from conciergerie.billing.services.subscriptions import subscription_create
from conciergerie.community import services as community
from tests.billing.conftest import ON, issued_invoice, make_product
from tests.conftest import login
from tests.factories import make_person, make_place, make_user

pytestmark = pytest.mark.django_db


def url(name, place, *args):
    return reverse(f"billing:{name}", args=[place.slug, *args])


@pytest.fixture
def team(client, concierge):
    return login(client, concierge)


@pytest.fixture
def member(place, person):
    """A member with an account, linked to their directory entry."""
    user = make_user(place=place, role="member", email="lina@example.org")
    community.person_link_account(place=place, user=user)
    return user


@pytest.fixture
def plan(place):
    return make_product(
        place,
        name="Coworking illimité",
        kind=Product.Kind.PLAN,
        unit_price=Decimal("150.00"),
        unit=Product.Unit.MONTH,
    )


def draft_for(place, person, *lines):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    for label, quantity, price in lines:
        services.invoice_line_add(
            invoice=draft, by=None, label=label, quantity=quantity, unit_price=price, vat="20"
        )
    return draft


def queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


def text(response):
    return html.unescape(response.content.decode())


# --- The invoice list ----------------------------------------------------------------------------


def test_the_list_shows_states_and_filters(team, place, person):
    late = issued_invoice(place, person, on=ON - dt.timedelta(days=40))
    paid = issued_invoice(place, person, on=ON)
    payment_record(
        place=place,
        by=None,
        person=person,
        method="especes",
        amount="36",
        received_on=ON,
        allocations=[(paid, "36")],
    )
    draft_for(place, person, ("Brouillon", "1", "10"))
    other = make_person(place=place, first_name="Noé", last_name="Blanc")
    due = issued_invoice(place, other, on=ON)

    body = text(team.get(url("invoices", place)))
    assert paid.number in body and late.number in body and due.number in body
    assert "Payée" in body and "En retard" in body and "Reste à payer" in body
    assert "Brouillon" in body

    body = text(team.get(url("invoices", place), {"etat": "en_retard"}))
    assert late.number in body and paid.number not in body and due.number not in body
    body = text(team.get(url("invoices", place), {"etat": "payee"}))
    assert paid.number in body and late.number not in body
    body = text(team.get(url("invoices", place), {"q": "blanc"}))
    assert due.number in body and paid.number not in body
    body = text(team.get(url("invoices", place), {"du": "2026-11-01", "au": "2026-11-30"}))
    assert paid.number in body and due.number in body and late.number not in body
    # htmx asks for the rows only.
    rows = text(team.get(url("invoices", place), {"q": "blanc"}, HTTP_HX_REQUEST="true"))
    assert due.number in rows and "<html" not in rows


def test_the_list_reads_in_a_fixed_number_of_queries(team, place, person):
    issued_invoice(place, person, on=ON)
    one = queries(team, url("invoices", place))
    for i in range(9):
        someone = make_person(place=place, first_name=f"P{i}")
        invoice = issued_invoice(place, someone, on=ON)
        payment_record(
            place=place,
            by=None,
            person=someone,
            method="virement",
            amount="10",
            received_on=ON,
            allocations=[(invoice, "10")],
        )
    draft_for(place, person, ("x", "1", "1"))
    assert queries(team, url("invoices", place)) == one == 6


def test_another_places_invoice_is_404(team, place, person):
    other = make_place(slug="ailleurs")
    theirs = issued_invoice(other, make_person(place=other, first_name="Sam"), on=ON)
    for name in ("invoice", "invoice_pdf", "invoice_issue", "credit_note_create"):
        assert team.get(url(name, place, theirs.uuid)).status_code == 404
    assert team.post(url("invoice_payment", place, theirs.uuid)).status_code == 404
    # And their own URLs are not ours to open.
    assert team.get(url("invoice", other, theirs.uuid)).status_code == 403


# --- A draft, then issue -------------------------------------------------------------------------


def test_a_concierge_drafts_adds_lines_and_issues(team, place, person, plan):
    response = team.post(url("invoice_create", place), {"person": "Lina Roux"})
    draft = Invoice.objects.get()
    assert response.status_code == 302 and response["Location"] == draft.get_absolute_url()
    assert draft.person == person and draft.status == Invoice.Status.DRAFT

    team.post(url("invoice_line_add", place, draft.uuid), {"product": plan.pk, "quantity": "1"})
    team.post(
        url("invoice_line_add", place, draft.uuid),
        {"label": "Heures de salle", "quantity": "1,5", "unit_price": "12,50", "vat": "20"},
    )
    lines = list(draft.lines.order_by("position"))
    assert [(x.label, x.quantity, x.net_amount) for x in lines] == [
        ("Coworking illimité", Decimal("1.000"), Decimal("150.00")),
        ("Heures de salle", Decimal("1.500"), Decimal("18.75")),
    ]
    page = text(team.get(draft.get_absolute_url()))
    assert "202,50" in page  # 168,75 HT + 33,75 TVA
    assert "1,5" in page

    # Remove a line, edit the buyer's address.
    team.post(url("invoice_line_remove", place, draft.uuid), {"line": lines[1].pk})
    assert draft.lines.count() == 1
    team.post(
        url("invoice_buyer", place, draft.uuid),
        {"name": "Lina Roux", "street": "3 rue du Four", "postal_code": "86100", "city": "Ici"},
    )
    draft.refresh_from_db()
    assert draft.buyer["street"] == "3 rue du Four"

    # Issuing asks first, and says it can no longer change.
    confirm = team.get(url("invoice_issue", place, draft.uuid))
    assert "ne pourra plus changer" in text(confirm)
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT
    response = team.post(url("invoice_issue", place, draft.uuid), follow=True)
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.ISSUED and draft.number == "F2026-00001"
    assert draft.total_gross == Decimal("180.00")
    body = text(response)
    assert "F2026-00001" in body and "Télécharger le PDF" in body
    assert "Ajouter une ligne" not in body


def test_a_subscribed_plan_added_by_hand_is_not_billed_again_by_the_run(team, place, person, plan):
    today = services.today(place)
    month = periods.month_of(today)
    sub = subscription_create(place=place, by=None, plan=plan, person=person, start=month)
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    response = team.post(
        url("invoice_line_add", place, draft.uuid), {"product": plan.pk, "quantity": "1"}
    )
    assert response.status_code == 302
    line = draft.lines.get()
    assert line.charge_key == subscription_charge_key(sub, month)
    assert line.subscription == sub  # pause, cancel and plan changes see the month as billed
    assert (line.period_start, line.period_end) == (month, periods.month_end(month))

    billing_run(place=place, period=month, on=today)
    assert InvoiceLine.objects.filter(invoice__person=person, product=plan).count() == 1
    assert not Invoice.objects.filter(person=person, status=Invoice.Status.ISSUED).exists()

    # The same month again, by hand: refused on the form, nothing written.
    other = services.invoice_draft_create(place=place, by=None, person=person)
    response = team.post(
        url("invoice_line_add", place, other.uuid), {"product": plan.pk, "quantity": "1"}
    )
    assert response.status_code == 400
    body = text(response)
    assert f"{periods.month_label(month).capitalize()} de l'abonnement" in body
    assert "est déjà facturé à ce client (brouillon en cours)" in body
    assert not other.lines.exists()


def test_a_plan_month_the_run_billed_cannot_be_added_by_hand(team, place, person, plan):
    today = services.today(place)
    month = periods.month_of(today)
    subscription_create(place=place, by=None, plan=plan, person=person, start=month)
    billing_run(place=place, period=month, on=today)
    invoice = Invoice.objects.get(person=person)
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    response = team.post(
        url("invoice_line_add", place, draft.uuid), {"product": plan.pk, "quantity": "1"}
    )
    assert response.status_code == 400
    assert f"déjà facturé à ce client ({invoice.number})" in text(response)
    assert not draft.lines.exists()
    # Without a subscription to that plan, a plan is a line like any other.
    org = community.organisation_create(place=place, by=None, name="Coop Vélo")
    free = services.invoice_draft_create(place=place, by=None, organisation=org)
    team.post(url("invoice_line_add", place, free.uuid), {"product": plan.pk, "quantity": "1"})
    assert free.lines.get().charge_key == ""


def test_issuing_an_empty_draft_says_why(team, place, person):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    response = team.post(url("invoice_issue", place, draft.uuid), follow=True)
    assert "sans ligne ne peut pas être émise" in text(response)
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT and draft.number == ""


def test_a_draft_is_deleted_after_confirmation(team, place, person):
    draft = draft_for(place, person, ("x", "1", "10"))
    assert "Supprimer ce brouillon" in text(team.get(url("invoice_delete", place, draft.uuid)))
    assert Invoice.objects.filter(pk=draft.pk).exists()
    response = team.post(url("invoice_delete", place, draft.uuid))
    assert response.status_code == 302 and not Invoice.objects.filter(pk=draft.pk).exists()


def test_an_issued_invoice_cannot_be_deleted_nor_edited(team, place, person):
    invoice = issued_invoice(place, person, on=ON)
    response = team.post(url("invoice_delete", place, invoice.uuid), follow=True)
    assert "ne peut plus changer" in text(response)
    response = team.post(
        url("invoice_line_add", place, invoice.uuid),
        {"label": "x", "quantity": "1", "unit_price": "5"},
        follow=True,
    )
    assert "faites un avoir" in text(response)
    assert Invoice.objects.filter(pk=invoice.pk).exists() and invoice.lines.count() == 1


@pytest.mark.parametrize(
    "data, field_message",
    [
        ({"label": "x", "quantity": "-1", "unit_price": "5"}, "seulement sur un avoir"),
        ({"label": "x", "quantity": "1", "unit_price": "5", "vat": "19.6"}, "Taux de TVA inconnu"),
        ({"label": "x", "quantity": "1", "unit_price": "abc"}, "n'est pas un montant en euros"),
        ({"label": "x", "quantity": "beaucoup", "unit_price": "5"}, "doit être un nombre"),
        ({"label": "", "quantity": "1", "unit_price": "5"}, "Indiquez ce qui est facturé"),
    ],
)
def test_a_bad_line_is_refused_with_a_french_message(team, place, person, data, field_message):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    response = team.post(url("invoice_line_add", place, draft.uuid), data)
    assert response.status_code == 400
    body = text(response)
    assert field_message in body and "Rien n'a été enregistré" in body
    assert not InvoiceLine.objects.exists()


def test_a_bad_buyer_is_refused(team, place, person):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    response = team.post(
        url("invoice_buyer", place, draft.uuid), {"name": "Lina Roux", "siret": "123"}
    )
    assert response.status_code == 400 and "SIRET n'est pas valide" in text(response)
    draft.refresh_from_db()
    assert draft.buyer.get("siret") == ""


def test_the_new_invoice_form_needs_someone(team, place):
    response = team.post(url("invoice_create", place), {"person": "Personne Inconnue"})
    assert response.status_code == 400 and "Personne introuvable" in text(response)
    response = team.post(url("invoice_create", place), {})
    assert "Choisissez la personne ou l'organisation" in text(response)
    assert not Invoice.objects.exists()


def test_an_organisation_is_invoiced_too(team, place):
    org = community.organisation_create(place=place, by=None, name="Coop Vélo")
    team.post(url("invoice_create", place), {"organisation": org.pk})
    assert Invoice.objects.get().organisation == org


def test_the_invoice_page_reads_in_a_fixed_number_of_queries(team, place, person):
    one = issued_invoice(place, person, on=ON)
    few = queries(team, one.get_absolute_url())
    many = issued_invoice(
        place, person, lines=[(f"Ligne {i}", "1", "10.00", "20") for i in range(10)], on=ON
    )
    for _ in range(10):
        payment_record(
            place=place,
            by=None,
            person=person,
            method="cheque",
            amount="1",
            received_on=ON,
            allocations=[(many, "1")],
        )
    services.invoice_issue(
        invoice=services.credit_note_create(invoice=many, by=None, quantities=None), by=None
    )
    assert queries(team, many.get_absolute_url()) == few == 9
    small = draft_for(place, person, ("L", "1", "2"))
    draft = draft_for(place, person, *[(f"L{i}", "1", "2") for i in range(10)])
    assert queries(team, draft.get_absolute_url()) == queries(team, small.get_absolute_url()) == 7


# --- Payments and credit notes -------------------------------------------------------------------


def test_a_partial_payment_leaves_the_rest_to_pay(team, place, person):
    invoice = issued_invoice(place, person, on=ON)  # 36,00 €
    response = team.post(
        url("invoice_payment", place, invoice.uuid),
        {"amount": "20", "method": "especes", "received_on": "2026-11-21"},
        follow=True,
    )
    assert "Paiement enregistré" in text(response)
    payment = Payment.objects.get()
    assert payment.amount == Decimal("20.00") and payment.person == person
    assert payment.allocations.get().invoice == invoice
    body = text(response)
    assert "16,00" in body and "Reste à payer" in body


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"amount": "abc", "method": "especes", "received_on": "2026-11-21"},
            "n'est pas un montant",
        ),
        ({"amount": "50", "method": "especes", "received_on": "2026-11-21"}, "pas plus"),
        ({"amount": "10", "method": "especes", "received_on": "2030-01-01"}, "dans le futur"),
        ({"amount": "10", "method": "troc", "received_on": "2026-11-21"}, "Sélectionnez"),
    ],
)
def test_a_bad_payment_is_refused(team, place, person, data, message):
    invoice = issued_invoice(place, person, on=ON)
    response = team.post(url("invoice_payment", place, invoice.uuid), data)
    assert response.status_code == 400
    assert message in text(response)
    assert not Payment.objects.exists()


def test_a_partial_credit_note_then_issue(team, place, person):
    invoice = issued_invoice(
        place,
        person,
        lines=[("Forfait", "1", "100.00", "20"), ("Salle", "4", "10.00", "20")],
        on=ON,
    )
    salle = invoice.lines.get(label="Salle")
    form = text(team.get(url("credit_note_create", place, invoice.uuid)))
    assert "Au plus 4" in form
    # More than the line holds: refused, nothing written.
    response = team.post(
        url("credit_note_create", place, invoice.uuid),
        {"mode": "partiel", f"ligne_{salle.pk}": "5"},
    )
    assert response.status_code == 400 and "Au plus 4" in text(response)
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()

    response = team.post(
        url("credit_note_create", place, invoice.uuid),
        {"mode": "partiel", f"ligne_{salle.pk}": "1,5", "reason": "Salle fermée"},
    )
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert response["Location"] == credit.get_absolute_url()
    assert credit.corrects == invoice and credit.total_gross == Decimal("-18.00")
    team.post(url("invoice_issue", place, credit.uuid))
    credit.refresh_from_db()
    assert credit.number == "AV2026-00001"
    page = text(team.get(invoice.get_absolute_url()))
    assert "AV2026-00001" in page and "150,00" in page  # 168 − 18 left to pay


def test_a_total_credit_note(team, place, person):
    invoice = issued_invoice(place, person, on=ON)
    team.post(url("credit_note_create", place, invoice.uuid), {"mode": "total"})
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit.total_gross == -invoice.total_gross
    team.post(url("invoice_issue", place, credit.uuid))
    page = text(team.get(invoice.get_absolute_url()))
    assert "Payée" in page and "Faire un avoir" not in page


# --- PDFs ------------------------------------------------------------------------------------------


def test_the_team_downloads_an_issued_pdf_and_previews_a_draft(team, place, person):
    invoice = issued_invoice(place, person, on=ON)
    response = team.get(url("invoice_pdf", place, invoice.uuid))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="F2026-00001.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"%PDF")
    draft = draft_for(place, person, ("x", "1", "10"))
    preview = team.get(url("invoice_preview", place, draft.uuid))
    assert preview.status_code == 200 and preview.content.startswith(b"%PDF")
    # A draft has no PDF of its own yet; an issued invoice no preview.
    response = team.get(url("invoice_pdf", place, draft.uuid), follow=True)
    assert "émettez-le d'abord" in text(response)


# --- A member's own invoices ---------------------------------------------------------------------


def test_a_member_sees_and_downloads_only_their_own_invoices(client, place, member, person):
    mine = issued_invoice(place, person, on=ON)
    someone = make_person(place=place, first_name="Noé", last_name="Blanc")
    theirs = issued_invoice(place, someone, on=ON)
    draft_for(place, person, ("Pas encore émise", "1", "5"))
    login(client, member)
    home = text(client.get(reverse("core:place", args=[place.slug])))
    assert url("my_invoices", place) in home  # in the member's menu
    body = text(client.get(url("my_invoices", place)))
    assert mine.number in body and theirs.number not in body
    assert "Pas encore émise" not in body and "Reste à payer" in body
    response = client.get(url("my_invoice_pdf", place, mine.uuid))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == f'attachment; filename="{mine.number}.pdf"'
    assert client.get(url("my_invoice_pdf", place, theirs.uuid)).status_code == 404


def test_nobody_else_gets_a_members_invoice(client, place, member, person):
    mine = issued_invoice(place, person, on=ON)
    # Another member of the same place.
    other_member = make_user(place=place, role="member", email="noe@example.org")
    community.person_link_account(place=place, user=other_member)
    login(client, other_member)
    assert client.get(url("my_invoice_pdf", place, mine.uuid)).status_code == 404
    assert mine.number not in text(client.get(url("my_invoices", place)))
    # A member of another place: not found through their place, refused in ours.
    elsewhere = make_place(slug="ailleurs")
    stranger = make_user(place=elsewhere, role="member", email="lina@ailleurs.example")
    community.person_link_account(place=elsewhere, user=stranger)
    client.logout()
    login(client, stranger)
    assert client.get(url("my_invoice_pdf", elsewhere, mine.uuid)).status_code == 404
    assert client.get(url("my_invoice_pdf", place, mine.uuid)).status_code == 403
    # A visitor is asked to log in.
    client.logout()
    response = client.get(url("my_invoice_pdf", place, mine.uuid))
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]


def test_a_members_page_states_paid_late_and_due(client, place, member, person):
    paid = issued_invoice(place, person, on=ON - dt.timedelta(days=60))
    payment_record(
        place=place,
        by=None,
        person=person,
        method="carte",
        amount="36",
        received_on=ON,
        allocations=[(paid, "36")],
    )
    late = issued_invoice(place, person, on=ON - dt.timedelta(days=40))
    due = issued_invoice(place, person, on=ON)
    login(client, member)
    one = queries(client, url("my_invoices", place))
    body = text(client.get(url("my_invoices", place)))
    for invoice, state in ((paid, "Payée"), (late, "En retard"), (due, "Reste à payer")):
        chunk = body.split(invoice.number, 1)[1][:400]
        assert state in chunk, (invoice.number, state)
    for _ in range(7):
        issued_invoice(place, person, on=ON)
    assert queries(client, url("my_invoices", place)) == one == 5


# --- Products, subscriptions, payments, grants, settings ------------------------------------------


def test_products_are_created_and_edited(team, place):
    response = team.post(
        url("product_create", place),
        {
            "name": "Pass journée",
            "kind": "pass_jour",
            "unit_price": "15,50",
            "vat": "20",
            "unit": "DAY",
            "room_hours": "0",
            "machine_hours": "0",
            "pack_quantity": "0",
            "pack_valid_days": "365",
            "active": "on",
        },
    )
    assert response.status_code == 302
    product = Product.objects.get()
    assert product.unit_price == Decimal("15.50")
    data = {
        "name": "Pass journée",
        "kind": "pass_jour",
        "unit_price": "abc",
        "vat": "20",
        "unit": "DAY",
        "room_hours": "0",
        "machine_hours": "0",
        "pack_quantity": "0",
        "pack_valid_days": "365",
    }
    response = team.post(url("product", place, product.uuid), data)
    assert response.status_code == 400 and "n'est pas un montant" in text(response)
    data.update(unit_price="18", vat="7")
    response = team.post(url("product", place, product.uuid), data)
    assert response.status_code == 400 and "Taux de TVA inconnu" in text(response)
    data.update(vat="10")
    team.post(url("product", place, product.uuid), data)
    product.refresh_from_db()
    assert (product.unit_price, product.vat, product.active) == (Decimal("18.00"), "10", False)


def test_the_lists_read_in_a_fixed_number_of_queries(team, place, person, plan):
    def fill(n):
        for i in range(n):
            someone = make_person(place=place, first_name=f"F{n}{i}")
            make_product(place, name=f"Produit {n}-{i}")
            Subscription.objects.create(place=place, person=someone, plan=plan, start=ON)
            invoice = issued_invoice(place, someone, on=ON)
            payment_record(
                place=place,
                by=None,
                person=someone,
                method="virement",
                amount="5",
                received_on=ON,
                allocations=[(invoice, "5")],
            )
            Funding.objects.create(
                place=place, kind="don", funder=f"D{i}", amount=Decimal("10"), received_on=ON
            )

    pages = ["products", "subscriptions", "payments", "fundings"]
    fill(1)
    first = {name: queries(team, url(name, place)) for name in pages}
    fill(9)
    assert {name: queries(team, url(name, place)) for name in pages} == first
    subscription = Subscription.objects.first()
    assert plan.name in text(team.get(url("subscription", place, subscription.uuid)))


def test_a_subscription_is_created_paused_and_cancelled(team, place, person, plan):
    data = {"person": "Lina Roux", "plan": plan.pk, "start": "2026-12-01"}
    response = team.post(url("subscription_create", place), {**data, "end": "2026-11-01"})
    assert response.status_code == 400 and "La fin précède le début" in text(response)
    assert not Subscription.objects.exists()
    response = team.post(url("subscription_create", place), data)
    subscription = Subscription.objects.get()
    assert response["Location"] == url("subscription", place, subscription.uuid)
    assert (subscription.person, subscription.plan) == (person, plan)
    # The same plan twice on the same days is refused, with the reason.
    response = team.post(url("subscription_create", place), data)
    assert response.status_code == 400 and "existe déjà" in text(response)

    action = url("subscription_action", place, subscription.uuid)
    response = team.post(action, {"action": "pause", "pause-start": "2027-02-01"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.paused_from == dt.date(2027, 2, 1) and subscription.paused_until is None
    response = team.post(action, {"action": "pause", "pause-start": "2026-10-01"})
    assert response.status_code == 400 and "ne peut pas commencer avant" in text(response)
    response = team.post(action, {"action": "resiliation", "resiliation-end": "2027-03-31"})
    subscription.refresh_from_db()
    assert subscription.end == dt.date(2027, 3, 31) and subscription.cancelled_at is not None
    page = text(team.get(url("subscription", place, subscription.uuid)))
    assert "31 mars 2027" in page


def test_grants_and_donations_are_recorded(team, place):
    response = team.post(
        url("fundings", place),
        {
            "financement-kind": "subvention",
            "financement-funder": "Région",
            "financement-amount": "5 000,00 €",
            "financement-received_on": "2026-11-02",
        },
    )
    assert response.status_code == 302
    assert Funding.objects.get().amount == Decimal("5000.00")
    response = team.post(
        url("fundings", place),
        {
            "financement-kind": "don",
            "financement-funder": "X",
            "financement-amount": "abc",
            "financement-received_on": "2026-11-02",
        },
    )
    assert response.status_code == 400 and "n'est pas un montant" in text(response)
    assert Funding.objects.count() == 1


def test_only_admins_change_billing_settings(client, place, concierge):
    login(client, concierge)
    assert client.get(url("settings", place)).status_code == 403
    admin = make_user(place=place, role="admin", email="admin@example.org")
    client.logout()
    login(client, admin)
    data = {
        "legal_name": "L'Établi SCIC",
        "vat_number": "FR40303265045",
        "payment_days": "15",
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "bic": "AGRIFRPP882",
        "legal_mentions": "Pénalités…",
        "reminder_days": "10",
    }
    assert client.post(url("settings", place), data).status_code == 302
    billing = BillingSettings.objects.get(place=place)
    assert billing.iban == "FR7630006000011234567890189" and billing.payment_days == 15
    response = client.post(url("settings", place), {**data, "vat_number": "FR123"})
    assert response.status_code == 400 and "TVA n'est pas valide" in text(response)
    billing.refresh_from_db()
    assert billing.vat_number == "FR40303265045"


def test_day_counts_are_bounded_with_a_field_message(client, place, concierge):
    admin = make_user(place=place, role="admin", email="admin@example.org")
    login(client, admin)
    data = {"legal_name": "L'Établi", "payment_days": "100000", "reminder_days": "15"}
    response = client.post(url("settings", place), data)
    assert response.status_code == 400 and "Au plus 365 jours." in text(response)
    response = client.post(
        url("settings", place), {**data, "payment_days": "30", "reminder_days": "100000"}
    )
    assert response.status_code == 400 and "Au plus 365 jours." in text(response)
    billing = BillingSettings.objects.get(place=place)
    assert (billing.legal_name, billing.payment_days, billing.reminder_days) == ("", 30, 15)

    product = {
        "name": "Carnet 10 jours",
        "kind": "carnet",
        "unit_price": "120",
        "vat": "20",
        "unit": "C62",
        "room_hours": "0",
        "machine_hours": "0",
        "pack_kind": "jours_poste",
        "pack_quantity": "10",
        "pack_valid_days": "100000",
        "active": "on",
    }
    response = client.post(url("product_create", place), product)
    assert response.status_code == 400 and "Au plus 3650 jours (dix ans)." in text(response)
    assert not Product.objects.exists()


def test_every_post_needs_the_csrf_token(place, concierge, person):
    from django.test import Client

    strict = login(Client(enforce_csrf_checks=True), concierge)
    draft = draft_for(place, person, ("x", "1", "10"))
    response = strict.post(url("invoice_issue", place, draft.uuid))
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT


def test_the_subscription_and_product_pages_read_in_a_fixed_number_of_queries(
    team, place, person, plan
):
    from conciergerie.billing.services.runs import billing_run

    subscription = Subscription.objects.create(
        place=place, person=person, plan=plan, start=dt.date(ON.year, 1, 1)
    )
    page = url("subscription", place, subscription.uuid)
    product_page = url("product", place, plan.uuid)
    billing_run(place=place, period=dt.date(ON.year, 1, 1), on=dt.date(ON.year, 1, 1))
    first = (queries(team, page), queries(team, product_page))
    for month in range(2, 7):  # five more billed months
        day = dt.date(ON.year, month, 1)
        billing_run(place=place, period=day, on=day)
    assert subscription.lines.count() == 6
    assert (queries(team, page), queries(team, product_page)) == first
