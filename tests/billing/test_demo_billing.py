"""The demo's billing: a real year of invoices, payments and funding that every document
agrees on — numbers and hash chain, Factur-X XML (XSD and EN 16931 schematron), the JSON
API, the FEC."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from lxml import etree
from stdnum import bic, iban
from stdnum.eu import vat

from conciergerie.billing.chain import chain_verify
from conciergerie.billing.facturx import invoice_xml
from conciergerie.billing.fec import COLUMNS, fec_export
from conciergerie.billing.models import (
    BillingSettings,
    Funding,
    Invoice,
    Product,
    Subscription,
)
from conciergerie.billing.selectors.payments import with_amounts
from conciergerie.billing.services.invoices import today
from conciergerie.core import services as core
from conciergerie.core.models import Place, User
from conciergerie.demo import billing_data, data
from tests.billing.facturx_check import fired_rules, schematron_failures, xsd_errors

ISSUED = Invoice.Status.ISSUED


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    """The demo, loaded once for the module inside a transaction rolled back at the end (each
    test runs in a savepoint within it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("loaddemo", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def place(demo_db, db):
    return Place.objects.get(slug=data.MAIN_SLUG)


@pytest.fixture
def year(place):
    return today(place).year


@pytest.fixture
def issued(place):
    return list(
        Invoice.objects.filter(place=place, status=ISSUED)
        .select_related("corrects")
        .prefetch_related("lines")
        .order_by("chain_position")
    )


def api(user):
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {core.token_create(user=user)}"
    return client


def test_settings_products_and_subscriptions(place):
    billing = BillingSettings.objects.get(place=place)
    assert billing.legal_name == billing_data.LEGAL_NAME
    assert vat.is_valid(billing.vat_number) and billing.vat_number[4:] == place.siret[:9]
    assert iban.is_valid(billing.iban) and billing.iban.startswith("FR76")
    assert bic.is_valid(billing.bic)
    kinds = set(Product.objects.filter(place=place).values_list("kind", flat=True))
    assert {
        Product.Kind.MEMBERSHIP,
        Product.Kind.PLAN,
        Product.Kind.DAY_PASS,
        Product.Kind.PACK,
        Product.Kind.ROOM_HOUR,
        Product.Kind.MACHINE_HOUR,
        Product.Kind.SERVICE,
        Product.Kind.TICKET,
    } <= kinds
    subs = Subscription.objects.filter(place=place)
    # A dozen customers; the change of plan adds the subscription that replaces the first.
    customers = {(s.person_id, s.organisation_id) for s in subs}
    assert len(customers) == len(billing_data.SUBSCRIPTIONS) == 12
    assert subs.filter(replaces__isnull=False).count() == 1
    assert subs.filter(paused_from__isnull=False).exists()
    assert subs.exclude(start__day=1).exists()  # some start mid-month
    assert subs.filter(organisation__isnull=False).exists()


def test_the_year_is_invoiced_in_date_order_without_gaps_and_chained(place, year, issued):
    months = today(place).month
    invoices = [i for i in issued if i.kind == Invoice.Kind.INVOICE]
    assert len(invoices) >= 8 + 2 * months  # a few dozen by the end of the year
    assert {i.year for i in issued} == {year}
    for kind in Invoice.Kind.values:
        series = [i for i in issued if i.kind == kind]
        assert [i.sequence for i in series] == list(range(1, len(series) + 1)), kind
        dates = [i.issue_date for i in series]
        assert dates == sorted(dates), f"{kind}: numbers follow dates"
        assert max(dates) <= today(place)
    # Every month begun so far has its monthly invoices, dated its first day.
    firsts = {i.issue_date for i in invoices if i.issue_date.day == 1}
    assert {dt.date(year, m, 1) for m in range(1, months + 1)} <= firsts
    assert chain_verify(place.pk) == (len(issued), [])
    # An organisation invoiced with its SIRET, VAT number and address.
    assert any(
        i.buyer.get("siret") and i.buyer.get("vat_number") and i.buyer.get("street")
        for i in invoices
    )
    assert not Invoice.objects.filter(place=place, status=Invoice.Status.DRAFT).exists()


def test_payments_credit_note_and_funding(place, year):
    credit_notes = Invoice.objects.filter(place=place, kind=Invoice.Kind.CREDIT_NOTE)
    assert credit_notes.count() == 1
    note = credit_notes.select_related("corrects").get()
    assert note.corrects is not None and note.total_gross < 0
    amounts = with_amounts(
        Invoice.objects.filter(place=place, status=ISSUED, kind=Invoice.Kind.INVOICE)
    )
    paid_in_full = [i for i in amounts if i.left == 0]
    partial = [i for i in amounts if i.paid > 0 and i.left > 0]
    unpaid = [i for i in amounts if i.paid == 0 and i.left > 0]
    assert paid_in_full and partial and unpaid
    assert all(i.left >= 0 for i in amounts), "never paid more than owed"
    if today(place) > dt.date(year, 2, 15):
        on = today(place)
        assert any(i.due_date < on for i in unpaid + partial), "some invoices are overdue"
    kinds = set(Funding.objects.filter(place=place).values_list("kind", flat=True))
    assert {Funding.Kind.PUBLIC_GRANT, Funding.Kind.DONATION} <= kinds


def _xml_figures(xml):
    """Totals and VAT groups as the Factur-X XML says them."""
    root = etree.fromstring(xml)

    def one(name):
        (node,) = root.xpath(f"//*[local-name()='{name}']")
        return Decimal(node.text)

    groups = [
        (
            g.xpath("*[local-name()='CategoryCode']")[0].text,
            Decimal(g.xpath("*[local-name()='RateApplicablePercent']")[0].text),
            Decimal(g.xpath("*[local-name()='BasisAmount']")[0].text),
            Decimal(g.xpath("*[local-name()='CalculatedAmount']")[0].text),
        )
        for g in root.xpath(
            "//*[local-name()='ApplicableHeaderTradeSettlement']/*[local-name()='ApplicableTradeTax']"
        )
    ]
    totals = (one("TaxBasisTotalAmount"), one("TaxTotalAmount"), one("GrandTotalAmount"))
    return totals, groups


def test_every_invoice_xml_is_valid_and_agrees_with_the_json_and_the_stored_figures(place, issued):
    client = api(User.objects.get(email=data.CONCIERGE_EMAIL))
    assert issued
    for invoice in issued:
        xml = invoice_xml(invoice)
        assert xsd_errors(xml) == [], invoice.number
        assert schematron_failures(xml) == [], invoice.number
        # Credit notes (type 381) carry magnitudes in the XML; stored, they are negative.
        sign = -1 if invoice.is_credit_note else 1
        (net, vat_total, gross), groups = _xml_figures(xml)
        stored = (invoice.total_net, invoice.total_vat, invoice.total_gross)
        assert (net * sign, vat_total * sign, gross * sign) == stored, invoice.number

        resp = client.get(f"/api/v1/invoices/{invoice.uuid}")
        assert resp.status_code == 200, invoice.number
        body = resp.json()
        assert body["number"] == invoice.number
        json_totals = tuple(Decimal(body["totals"][k]) for k in ("net", "vat", "gross"))
        assert json_totals == stored, invoice.number
        json_groups = [
            (g["category"], Decimal(g["rate"]), Decimal(g["base"]), Decimal(g["amount"]))
            for g in body["vat_breakdown"]
        ]
        assert sorted(json_groups) == sorted(
            (c, rate, base * sign, amount * sign) for c, rate, base, amount in groups
        ), invoice.number
        assert sum(Decimal(x["net"]) for x in body["lines"]) == invoice.total_net
    assert fired_rules(invoice_xml(issued[0])) > 0  # the schematron really ran


def test_the_fec_of_the_demo_year_balances(place, year, issued):
    text = fec_export(place=place, year=year)
    rows = [line.split("\t") for line in text.split("\r\n") if line]
    assert tuple(rows[0]) == COLUMNS
    col = {name: i for i, name in enumerate(COLUMNS)}

    def amount(row, name):
        return Decimal(row[col[name]].replace(",", "."))

    entries = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows[1:]:
        assert len(row) == len(COLUMNS)
        key = (row[col["JournalCode"]], row[col["EcritureNum"]])
        entries[key][0] += amount(row, "Debit")
        entries[key][1] += amount(row, "Credit")
    assert entries
    unbalanced = {k: v for k, v in entries.items() if v[0] != v[1]}
    assert unbalanced == {}
    # The sales journal owes the customers exactly what the issued documents total.
    customers = sum(
        amount(r, "Debit") - amount(r, "Credit")
        for r in rows[1:]
        if r[col["JournalCode"]] == "VT" and r[col["CompteNum"]] == "411000"
    )
    assert customers == sum(i.total_gross for i in issued)
    accounts = {r[col["CompteNum"]] for r in rows[1:]}
    assert {"740000", "754100", "512000", "706100", "445720"} <= accounts
    # The API serves the same file.
    resp = api(User.objects.get(email=data.CONCIERGE_EMAIL)).get(
        "/api/v1/exports/fec", {"year": year}
    )
    assert resp.status_code == 200 and resp.content.decode() == text


def test_the_member_account_sees_only_its_own_invoices(place):
    member = User.objects.get(email=data.MEMBER_EMAIL)
    own = Invoice.objects.filter(place=place, status=ISSUED, person__user=member)
    assert own.count() >= 1
    body = api(member).get("/api/v1/invoices", {"limit": 200}).json()
    assert body["count"] == own.count()
    assert {i["id"] for i in body["items"]} == {str(u) for u in own.values_list("uuid", flat=True)}
    other = Invoice.objects.filter(place=place, status=ISSUED).exclude(person__user=member).first()
    assert api(member).get(f"/api/v1/invoices/{other.uuid}").status_code == 404


def test_every_demo_pdf_carries_its_xml_and_shows_the_same_totals(place, issued):
    """The third copy of the figures: each PDF embeds exactly the XML checked above and
    prints the stored totals, as the reader's French writes them."""
    import io

    from pypdf import PdfReader

    from conciergerie.billing.documents import invoice_pdf
    from conciergerie.core.money import format_amount

    for invoice in issued:
        reader = PdfReader(io.BytesIO(invoice_pdf(invoice)))
        assert reader.attachments["factur-x.xml"] == [invoice_xml(invoice)], invoice.number
        text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
        text = text.replace("\u202f", " ").replace("\xa0", " ")
        assert invoice.number in text
        for total in (invoice.total_net, invoice.total_vat, invoice.total_gross):
            written = format_amount(total).replace("\u202f", " ")
            assert written in text, (invoice.number, written)
