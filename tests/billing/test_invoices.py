"""Drafts, issue, numbering, immutability, hash chain and credit notes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from conciergerie.billing import services
from conciergerie.billing.chain import chain_verify
from conciergerie.billing.models import Invoice, InvoiceLine
from conciergerie.core.errors import Conflict, InvalidInput
from tests.billing.conftest import ON, issued_invoice
from tests.factories import make_person, make_place


def test_a_draft_has_no_number_and_issue_gives_the_next_one(place, person, day_pass):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    services.invoice_line_add(invoice=draft, by=None, product=day_pass, quantity="3")
    draft.refresh_from_db()
    assert draft.number == "" and draft.total_gross == Decimal("54.00")

    issued = services.invoice_issue(invoice=draft, by=None, on=ON)
    assert issued.number == "F2026-00001"
    assert issued.due_date == ON + dt.timedelta(days=30)
    assert issued.seller["siret"] == "73282932000074"
    assert issued.buyer["name"] == "Lina Roux"
    second = issued_invoice(place, person, on=ON)
    assert second.number == "F2026-00002"


def test_deleting_a_draft_never_burns_a_number(place, person):
    first = issued_invoice(place, person, on=ON)
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    services.invoice_line_add(invoice=draft, by=None, label="x", quantity=1, unit_price="10")
    services.invoice_draft_delete(invoice=draft, by=None)
    second = issued_invoice(place, person, on=ON)
    assert (first.sequence, second.sequence) == (1, 2)


def test_numbers_are_per_place_and_per_year(place, person):
    other = make_place(slug="autre", name="Autre lieu")
    someone = make_person(place=other, first_name="Sam")
    assert issued_invoice(place, person, on=ON).number == "F2026-00001"
    assert issued_invoice(other, someone, on=ON).number == "F2026-00001"
    assert issued_invoice(place, person, on=dt.date(2027, 1, 2)).number == "F2027-00001"


def test_numbers_follow_dates(place, person):
    issued_invoice(place, person, on=ON)
    with pytest.raises(Conflict):
        issued_invoice(place, person, on=ON - dt.timedelta(days=1))


def test_rounding_is_per_line_then_per_vat_group(place, person):
    invoice = issued_invoice(
        place,
        person,
        lines=[
            ("Café", "3", "0.35", "5.5"),  # 1.05 net
            ("Heure de salle", "1.5", "12.33", "20"),  # 18.495 -> 18.50
            ("Heure de salle", "1", "0.03", "20"),  # 0.03
            ("Formation", "1", "100.00", "0"),
        ],
        on=ON,
    )
    # 20 %: base 18.53 -> VAT 3.706 -> 3.71; 5.5 %: 1.05 -> 0.05775 -> 0.06; 0 %: 0.
    assert invoice.total_net == Decimal("119.58")
    assert invoice.total_vat == Decimal("3.77")
    assert invoice.total_gross == Decimal("123.35")


def test_bad_lines_are_refused_with_field_messages(place, person):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    with pytest.raises(InvalidInput) as err:
        services.invoice_line_add(invoice=draft, by=None, label="x", quantity="-1", unit_price="5")
    assert "avoir" in err.value.as_errors()["quantity"][0]
    with pytest.raises(InvalidInput) as err:
        services.invoice_line_add(
            invoice=draft, by=None, label="x", quantity=1, unit_price="5", vat="19.6"
        )
    assert "19.6" in err.value.as_errors()["vat"][0]
    with pytest.raises(InvalidInput) as err:
        services.invoice_line_add(invoice=draft, by=None, label="", quantity="abc", unit_price="-2")
    assert set(err.value.as_errors()) == {"label", "quantity", "unit_price"}
    assert not InvoiceLine.objects.exists()
    with pytest.raises(InvalidInput):
        services.invoice_issue(invoice=draft, by=None, on=ON)
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT and draft.number == ""


def test_an_issued_invoice_never_changes(place, person):
    invoice = issued_invoice(place, person, on=ON)
    with pytest.raises(Conflict):
        services.invoice_line_add(invoice=invoice, by=None, label="x", quantity=1, unit_price="1")
    with pytest.raises(Conflict):
        services.invoice_draft_update(invoice=invoice, by=None, note="changée")
    with pytest.raises(Conflict):
        services.invoice_draft_delete(invoice=invoice, by=None)
    # Below the services, the database refuses too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(total_gross=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=invoice).update(unit_price=Decimal("1.00"))
    invoice.refresh_from_db()
    assert invoice.total_gross == Decimal("36.00")


def test_the_chain_verifies_and_a_forged_row_breaks_it(place, person):
    for _ in range(3):
        issued_invoice(place, person, on=ON)
    assert chain_verify(place.pk) == (3, [])
    # Someone with database access removes the trigger and edits the second invoice.
    from django.db import connection

    second = Invoice.objects.get(place=place, sequence=2)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE billing_invoice DISABLE TRIGGER billing_invoice_frozen")
        else:
            cursor.execute("DROP TRIGGER billing_invoice_frozen")
    Invoice.objects.filter(pk=second.pk).update(note="réécrite")
    count, breaks = chain_verify(place.pk)
    assert count == 3
    assert [(b.number, b.reason) for b in breaks] == [("F2026-00002", "content")]


def test_credit_notes_total_and_partial(place, person):
    invoice = issued_invoice(
        place,
        person,
        lines=[("Forfait", "1", "100.00", "20"), ("Salle", "4", "10.00", "20")],
        on=ON,
    )
    lines = list(invoice.lines.all())
    partial = services.credit_note_create(invoice=invoice, by=None, quantities={lines[1].pk: "1"})
    partial = services.invoice_issue(invoice=partial, by=None, on=ON)
    assert partial.number == "AV2026-00001"
    assert partial.corrects == invoice
    assert partial.total_gross == Decimal("-12.00")
    with pytest.raises(InvalidInput) as err:
        services.credit_note_create(invoice=invoice, by=None, quantities={lines[1].pk: "4"})
    assert "Au plus 3" in next(iter(err.value.as_errors().values()))[0]
    rest = services.invoice_issue(
        invoice=services.credit_note_create(invoice=invoice, by=None), by=None, on=ON
    )
    assert rest.total_gross == Decimal("-156.00")
    assert partial.total_gross + rest.total_gross == -invoice.total_gross
    with pytest.raises(InvalidInput):
        services.credit_note_create(invoice=invoice, by=None)


def test_franchise_places_bill_without_vat(place, person):
    billing = services.settings_for(place)
    billing.vat_franchise = True
    billing.save()
    invoice = issued_invoice(place, person, lines=[("Atelier", "2", "15.00", "20")], on=ON)
    assert invoice.total_vat == Decimal("0.00") and invoice.total_gross == Decimal("30.00")
    assert invoice.lines.get().vat == "franchise"
    assert invoice.seller["vat_franchise"] is True


def test_a_closed_period_refuses_new_invoices(place, person):
    billing = services.settings_for(place)
    billing.closed_until = ON
    billing.save()
    with pytest.raises(Conflict):
        issued_invoice(place, person, on=ON)
    assert issued_invoice(place, person, on=ON + dt.timedelta(days=1)).sequence == 1


def test_a_person_with_invoices_is_not_deleted(client, place, person, concierge):
    from django.urls import reverse

    from conciergerie.community.models import Person
    from conciergerie.core.models import AuditEntry

    issued_invoice(place, person, on=ON)
    client.force_login(concierge)
    url = reverse("community:person_delete", kwargs={"place_slug": place.slug, "uuid": person.uuid})
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "les factures se conservent dix ans" in response.content.decode()
    assert Person.objects.filter(pk=person.pk).exists()
    assert not AuditEntry.objects.filter(action="person.delete").exists()


def test_a_place_without_its_legal_identifiers_cannot_issue(db):
    bare = make_place(slug="sans-siret", name="Sans SIRET", billable=False)
    someone = make_person(place=bare, first_name="Sam")
    draft = services.invoice_draft_create(place=bare, by=None, person=someone)
    services.invoice_line_add(invoice=draft, by=None, label="x", quantity=1, unit_price="10")
    with pytest.raises(InvalidInput) as err:
        services.invoice_issue(invoice=draft, by=None, on=ON)
    assert set(err.value.as_errors()) == {"seller.siret", "seller.vat_number"}
    billing = services.settings_for(bare)
    billing.vat_franchise = True
    billing.save()
    with pytest.raises(InvalidInput) as err:
        services.invoice_issue(invoice=draft, by=None, on=ON)
    assert set(err.value.as_errors()) == {"seller.siret"}
    draft.refresh_from_db()
    assert draft.number == ""


def test_a_credit_note_takes_no_free_line_and_never_credits_more(place, person):
    invoice = issued_invoice(place, person, lines=[("Salle", "4", "10.00", "20")], on=ON)
    line = invoice.lines.get()
    credit = services.credit_note_create(invoice=invoice, by=None, quantities={line.pk: "3"})
    with pytest.raises(Conflict):
        services.invoice_line_add(
            invoice=credit, by=None, label="x", quantity="-50", unit_price="100"
        )
    with pytest.raises(InvalidInput):  # 3 already in a draft: 1 left
        services.credit_note_create(invoice=invoice, by=None, quantities={line.pk: "2"})
    # Whatever changed the draft meanwhile, issuing checks again.
    InvoiceLine.objects.filter(invoice=credit).update(quantity=Decimal("-5"))
    with pytest.raises(InvalidInput) as err:
        services.invoice_issue(invoice=credit, by=None, on=ON)
    assert "plus que ce qui a été facturé" in str(err.value.as_errors())
    credit.refresh_from_db()
    assert credit.number == ""


def test_a_draft_made_before_a_vat_regime_change_is_not_issued(place, person):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    services.invoice_line_add(invoice=draft, by=None, label="x", quantity=1, unit_price="10")
    billing = services.settings_for(place)
    billing.vat_franchise = True
    billing.save()
    with pytest.raises(Conflict) as err:
        services.invoice_issue(invoice=draft, by=None, on=ON)
    assert "régime de TVA" in err.value.message


@pytest.mark.parametrize(
    ("quantity", "price"), [("1e30", "1"), ("999999", "999999.99"), ("-1e-30", "1")]
)
def test_absurd_quantities_and_amounts_are_refused(place, person, quantity, price):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    with pytest.raises(InvalidInput) as err:
        services.invoice_line_add(
            invoice=draft, by=None, label="x", quantity=quantity, unit_price=price
        )
    assert "quantity" in err.value.as_errors()
    assert not InvoiceLine.objects.exists()


def test_a_pack_sold_on_an_invoice_grants_its_credits_at_issue(place, person):
    from conciergerie.billing.models import CreditKind, CreditLot, Product
    from tests.billing.conftest import make_product

    pack = make_product(
        place,
        name="Carnet 10 jours",
        kind=Product.Kind.PACK,
        unit_price=Decimal("120.00"),
        unit=Product.Unit.PIECE,
        pack_kind=CreditKind.DESK_DAYS,
        pack_quantity=Decimal("10"),
    )
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    services.invoice_line_add(invoice=draft, by=None, product=pack, quantity=1)
    assert not CreditLot.objects.exists()
    services.invoice_issue(invoice=draft, by=None, on=ON)
    lot = CreditLot.objects.get()
    assert (lot.person, lot.quantity, lot.kind) == (person, Decimal("10.00"), CreditKind.DESK_DAYS)
