"""The FEC file (article A.47 A-1 LPF) and the CSV journal."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conciergerie.billing import services
from conciergerie.billing.amounts import totals
from conciergerie.billing.fec import COLUMNS, fec_export, fec_filename
from conciergerie.billing.journal import CSV_COLUMNS, journal_csv
from conciergerie.billing.models import Invoice, Payment, Product
from conciergerie.billing.services.accounting import funding_record
from conciergerie.billing.services.payments import payment_record
from tests.billing.conftest import ON, make_product
from tests.factories import make_person, make_place

YEAR = ON.year


def parse(text: str) -> list[dict[str, str]]:
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    assert lines[0].split("\t") == list(COLUMNS)
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        assert len(cells) == 18, line
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


def amount(cell: str) -> Decimal:
    assert re.fullmatch(r"\d+,\d{2}", cell), cell
    return Decimal(cell.replace(",", "."))


def by_entry(rows):
    entries = defaultdict(list)
    for row in rows:
        entries[row["EcritureNum"]].append(row)
    return entries


def invoice_of(place, person, items, on=ON):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    for product, quantity in items:
        services.invoice_line_add(invoice=draft, by=None, product=product, quantity=quantity)
    return services.invoice_issue(invoice=draft, by=None, on=on)


@pytest.fixture
def catalogue(place):
    return {
        "room": make_product(
            place, name="Salle", kind=Product.Kind.ROOM_HOUR, unit_price=Decimal("12.33")
        ),
        "training": make_product(
            place, name="Formation", kind=Product.Kind.SERVICE, vat="10", unit_price=Decimal("99")
        ),
        "ticket": make_product(
            place, name="Concert", kind=Product.Kind.TICKET, vat="5.5", unit_price=Decimal("0.35")
        ),
        "membership": make_product(
            place, name="Adhésion", kind=Product.Kind.MEMBERSHIP, vat="0", unit_price=Decimal("20")
        ),
        "day": make_product(place),
    }


@pytest.fixture
def year_of_books(place, person, catalogue):
    """Three invoices, a partial credit note, payments (one settles an invoice in full, one
    in cash pays part of another), a grant and a donation."""
    c = catalogue
    mixed = invoice_of(
        place,
        person,
        [(c["room"], "1.5"), (c["training"], "1"), (c["ticket"], "3"), (c["membership"], "1")],
        on=dt.date(YEAR, 3, 2),
    )
    days = invoice_of(place, person, [(c["day"], "4")], on=dt.date(YEAR, 5, 10))
    open_one = invoice_of(place, person, [(c["day"], "2")], on=dt.date(YEAR, 6, 1))
    line = days.lines.get()
    credit = services.credit_note_create(invoice=days, by=None, quantities={line.pk: "1"})
    credit = services.invoice_issue(invoice=credit, by=None, on=dt.date(YEAR, 5, 12))
    payment_record(
        place=place,
        by=None,
        person=person,
        method=Payment.Method.TRANSFER,
        amount=days.total_gross + credit.total_gross,
        received_on=dt.date(YEAR, 5, 20),
        allocations=[(days, days.total_gross + credit.total_gross)],
    )
    payment_record(
        place=place,
        by=None,
        person=person,
        method=Payment.Method.CASH,
        amount="10",
        received_on=dt.date(YEAR, 6, 2),
        allocations=[(open_one, "10")],
    )
    funding_record(
        place=place,
        by=None,
        kind="subvention",
        funder="Région",
        amount="5 000",
        received_on=dt.date(YEAR, 4, 1),
        purpose="Fonctionnement",
    )
    funding_record(place=place, by=None, kind="don", funder="Amie", amount="50", received_on=ON)
    return {"mixed": mixed, "days": days, "open": open_one, "credit": credit}


def test_the_file_has_the_18_columns_and_every_entry_balances(place, year_of_books):
    rows = parse(fec_export(place=place, year=YEAR))
    entries = by_entry(rows)
    # 4 sales (3 invoices, 1 credit note), 2 payments, 2 fundings.
    assert len(entries) == 8
    assert sorted(int(n) for n in entries) == list(range(1, 9))
    for number, lines in entries.items():
        debit = sum(amount(r["Debit"]) for r in lines)
        credit = sum(amount(r["Credit"]) for r in lines)
        assert debit == credit and debit > 0, number
        assert len({(r["JournalCode"], r["EcritureDate"], r["PieceRef"]) for r in lines}) == 1
    assert sum(amount(r["Debit"]) for r in rows) == sum(amount(r["Credit"]) for r in rows)
    dates = [r["EcritureDate"] for r in rows]
    assert dates == sorted(dates) and all(d.startswith(str(YEAR)) for d in dates)
    assert {r["Idevise"] for r in rows} == {""}
    assert fec_filename(place, YEAR) == f"732829320FEC{YEAR}1231.txt"


def test_sales_debit_the_customer_and_credit_each_stream_and_vat_rate(place, year_of_books):
    rows = parse(fec_export(place=place, year=YEAR))
    mixed = year_of_books["mixed"]
    lines = [r for r in rows if r["PieceRef"] == mixed.number]
    assert {r["JournalCode"] for r in lines} == {"VT"}
    customer = [r for r in lines if r["CompteNum"] == "411000"]
    assert [amount(r["Debit"]) for r in customer] == [mixed.total_gross]
    assert customer[0]["CompAuxNum"].startswith("C") and customer[0]["CompAuxLib"] == "Lina Roux"
    credits = {r["CompteNum"]: amount(r["Credit"]) for r in lines if r["CompteNum"] != "411000"}
    assert credits == {
        "706200": Decimal("18.50"),  # 1.5 × 12.33 = 18.495 → 18.50
        "706400": Decimal("99.00"),
        "706300": Decimal("1.05"),
        "756000": Decimal("20.00"),
        "445720": Decimal("3.70"),
        "445710": Decimal("9.90"),
        "445705": Decimal("0.06"),
    }


def test_credit_notes_are_reversed(place, year_of_books):
    rows = parse(fec_export(place=place, year=YEAR))
    credit = year_of_books["credit"]
    lines = {r["CompteNum"]: r for r in rows if r["PieceRef"] == credit.number}
    assert credit.total_gross == Decimal("-18.00")
    assert amount(lines["411000"]["Credit"]) == Decimal("18.00")
    assert amount(lines["411000"]["Debit"]) == 0
    assert amount(lines["706100"]["Debit"]) == Decimal("15.00")
    assert amount(lines["445720"]["Debit"]) == Decimal("3.00")
    assert year_of_books["days"].number in lines["411000"]["EcritureLib"]


def test_vat_per_rate_equals_the_invoices_vat(place, year_of_books):
    rows = parse(fec_export(place=place, year=YEAR))
    in_file: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["CompteNum"].startswith("4457"):
            in_file[r["CompteNum"]] += amount(r["Credit"]) - amount(r["Debit"])
    expected: dict[str, Decimal] = defaultdict(Decimal)
    account = {"20.00": "445720", "10.00": "445710", "5.50": "445705"}
    issued = Invoice.objects.filter(place=place, status=Invoice.Status.ISSUED)
    for invoice in issued:
        for group in totals(invoice.lines.all()).groups:
            if group.amount:
                expected[account[str(group.terms.rate)]] += group.amount
    assert dict(in_file) == dict(expected)
    assert sum(in_file.values()) == sum(i.total_vat for i in issued)


def test_payments_go_to_bank_or_cash_and_a_settled_invoice_is_lettered(place, year_of_books):
    rows = parse(fec_export(place=place, year=YEAR))
    bank = [r for r in rows if r["JournalCode"] == "BQ" and r["CompteNum"] == "411000"]
    cash = [r for r in rows if r["JournalCode"] == "CA"]
    assert {r["CompteNum"] for r in cash} == {"530000", "411000"}
    days, credit = year_of_books["days"], year_of_books["credit"]
    lettered = [r for r in rows if r["EcritureLet"]]
    # The 5-day invoice, its credit note and the transfer that paid the rest: one letter.
    assert {r["PieceRef"] for r in lettered} == {days.number, credit.number, bank[0]["PieceRef"]}
    assert {r["EcritureLet"] for r in lettered} == {"A"}
    assert {r["DateLet"] for r in lettered} == {f"{YEAR}0520"}
    assert sum(amount(r["Debit"]) - amount(r["Credit"]) for r in lettered) == 0
    # Half paid in cash: not lettered.
    open_rows = [r for r in rows if r["PieceRef"] == year_of_books["open"].number]
    assert all(r["EcritureLet"] == "" for r in open_rows)


def test_fundings_credit_grants_and_donations(place, year_of_books):
    rows = parse(fec_export(place=place, year=YEAR))
    credits = {
        r["CompteNum"]: amount(r["Credit"]) for r in rows if r["CompteNum"][:2] in ("74", "75")
    }
    assert credits["740000"] == Decimal("5000.00")
    assert credits["754100"] == Decimal("50.00")
    grant_lines = [r for r in rows if "Région" in r["EcritureLib"]]
    assert {r["CompteNum"] for r in grant_lines} == {"512000", "740000"}


def test_a_franchise_place_has_no_vat_lines(place, person, catalogue):
    billing = services.settings_for(place)
    billing.vat_franchise = True
    billing.save()
    invoice = invoice_of(place, person, [(catalogue["room"], "2"), (catalogue["training"], "1")])
    rows = parse(fec_export(place=place, year=YEAR))
    assert not [r for r in rows if r["CompteNum"].startswith("445")]
    assert sum(amount(r["Credit"]) for r in rows) == invoice.total_gross == Decimal("123.66")


def test_only_the_year_and_the_place_are_exported(place, person, year_of_books):
    other = make_place(slug="voisin", name="Voisin")
    stranger = make_person(place=other, first_name="Autre", last_name="Client")
    invoice_of(other, stranger, [(make_product(other), "1")])
    invoice_of(place, person, [(make_product(place, name="Jour"), "1")], on=dt.date(YEAR + 1, 1, 5))
    text = fec_export(place=place, year=YEAR)
    assert "Autre Client" not in text and f"F{YEAR + 1}" not in text
    assert parse(fec_export(place=place, year=YEAR - 1)) == []


def test_the_export_query_count_is_flat(place, person, catalogue):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            fec_export(place=place, year=YEAR)
        return len(ctx)

    invoice_of(place, person, [(catalogue["room"], "1")])
    one = queries()
    for i in range(9):
        someone = make_person(place=place, first_name=f"P{i}")
        invoice = invoice_of(place, someone, [(catalogue["day"], "1"), (catalogue["ticket"], "2")])
        payment_record(
            place=place, by=None, person=someone, method="cheque", amount="5", received_on=ON
        )
        assert invoice.total_gross
    assert queries() == one


def test_the_csv_journal_opens_in_a_spreadsheet_and_disarms_formulas(place, catalogue):
    tricky = make_person(place=place, first_name="=HYPERLINK(1)", last_name="X")
    invoice_of(place, tricky, [(catalogue["day"], "1")])
    text = journal_csv(place, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + 3  # 411, 706100, 445720
    customer = next(r for r in rows[1:] if r[4] == "411000")
    assert customer[7].startswith("'=")  # the name, guarded
    assert customer[9] == "18,00" and customer[1] == ON.strftime("%d/%m/%Y")
