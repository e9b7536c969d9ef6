"""The accounting entries of a place, and the FEC file (fichier des écritures comptables,
article A.47 A-1 of the Livre des procédures fiscales) a tax audit asks for.

Entries are made from what is stored — issued invoices and credit notes (their lines and
`billing.amounts.totals`, the same rounding as the PDF and the XML), payments, grants and
donations — so they agree with every other document to the cent.

Chart of accounts (plan comptable général, and the associations' plan for 74x/75x):

    411000  Clients — one auxiliary account per customer: "C" + the first 10 hex digits of
            the person's or organisation's UUID, with their name
    512000  Banque (transfers, cheques, card terminal, online payments, grants, donations)
    530000  Caisse (cash)
    706100  Abonnements et forfaits de coworking        (stream "abonnements")
    706200  Locations d'espaces et de machines          (stream "locations")
    706300  Évènements                                  (stream "evenements")
    706400  Prestations de services                     (stream "services")
    756000  Cotisations (adhésions)                     (stream "adhesions")
    708000  Produits des activités annexes              (stream "autre")
    445720  TVA collectée 20 %
    445710  TVA collectée 10 %
    445705  TVA collectée 5,5 %
    740000  Subventions d'exploitation                  (public grants)
    754100  Dons manuels                                (private donations)
    754200  Mécénat                                     (company sponsorship)

Journals: VT (ventes) for invoices and credit notes — debit the customer's 411 with the
total TTC, credit each stream's account with its net amount and each VAT rate's account
with its VAT; a credit note is the same entry reversed (its amounts are negative, so each
goes to the other side). BQ (banque) and CA (caisse) for payments — debit 512/530, credit
the customer's 411 — and BQ for grants and donations (debit 512, credit 74x/75x). A place
under the VAT franchise, or an exempt line, has no VAT line. Every entry balances.

Lettering: a customer's invoices, their credit notes and the payments allocated to them
form groups (a payment spread over several invoices joins them); once every invoice of a
group is paid in full and every payment of it is allocated in full, its 411 lines get the
same letter (A, B, … Z, AA, … per customer, in the order the groups were settled) and the
date of the last of its pieces (DateLet). A group settled after the exported period is not
lettered in it.

The fiscal year is the calendar year (the file is named after 31 December).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from conciergerie.billing.amounts import totals
from conciergerie.billing.models import Funding, Invoice, Payment, PaymentAllocation, Stream
from conciergerie.core.models import Place

ZERO = Decimal("0.00")

CUSTOMERS = ("411000", "Clients")
BANK = ("512000", "Banque")
CASH = ("530000", "Caisse")
STREAM_ACCOUNTS: dict[str, tuple[str, str]] = {
    Stream.SUBSCRIPTIONS: ("706100", "Abonnements et forfaits de coworking"),
    Stream.RENTALS: ("706200", "Locations d'espaces et de machines"),
    Stream.EVENTS: ("706300", "Évènements"),
    Stream.SERVICES: ("706400", "Prestations de services"),
    Stream.MEMBERSHIPS: ("756000", "Cotisations (adhésions)"),
    Stream.OTHER: ("708000", "Produits des activités annexes"),
}
VAT_ACCOUNTS: dict[Decimal, tuple[str, str]] = {
    Decimal("20.00"): ("445720", "TVA collectée 20 %"),
    Decimal("10.00"): ("445710", "TVA collectée 10 %"),
    Decimal("5.50"): ("445705", "TVA collectée 5,5 %"),
}
FUNDING_ACCOUNTS: dict[str, tuple[str, str]] = {
    Funding.Kind.PUBLIC_GRANT: ("740000", "Subventions d'exploitation"),
    Funding.Kind.DONATION: ("754100", "Dons manuels"),
    Funding.Kind.SPONSORSHIP: ("754200", "Mécénat"),
}
JOURNALS = {"VT": "Ventes", "BQ": "Banque", "CA": "Caisse"}
JOURNAL_ORDER = {"VT": 0, "BQ": 1, "CA": 2}

COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)


@dataclass
class Row:
    account: str
    account_label: str
    debit: Decimal
    credit: Decimal
    aux: str = ""
    aux_label: str = ""
    letter: str = ""
    letter_date: dt.date | None = None


@dataclass
class Entry:
    journal: str
    date: dt.date
    piece: str
    label: str
    valid_date: dt.date
    rows: list[Row] = field(default_factory=list)
    number: int = 0

    @property
    def journal_label(self) -> str:
        return JOURNALS[self.journal]

    def add(
        self, account: tuple[str, str], amount: Decimal, *, debit: bool, keep_zero: bool = False
    ) -> Row | None:
        """A line for `amount` on the debit (or credit) side; a negative amount goes to the
        other side (credit notes). Zero lines are left out unless `keep_zero`."""
        if amount == 0 and not keep_zero:
            return None
        if amount < 0:
            amount, debit = -amount, not debit
        row = Row(account[0], account[1], amount if debit else ZERO, ZERO if debit else amount)
        self.rows.append(row)
        return row

    @property
    def debit(self) -> Decimal:
        return sum((r.debit for r in self.rows), ZERO)

    @property
    def credit(self) -> Decimal:
        return sum((r.credit for r in self.rows), ZERO)


CustomerKey = tuple[str, int]


def _customer_key(person_id: int | None, organisation_id: int | None) -> CustomerKey:
    return ("O", organisation_id) if organisation_id else ("P", person_id or 0)


def _customer(obj: Invoice | Payment) -> tuple[str, str]:
    """The customer's auxiliary account number and name."""
    if obj.organisation is not None:
        return f"C{obj.organisation.uuid.hex[:10].upper()}", obj.organisation.name
    if obj.person is not None:
        return f"C{obj.person.uuid.hex[:10].upper()}", obj.person.full_name
    return "CDIVERS", _("Clients divers")


def _local_date(place: Place, at: dt.datetime | None, fallback: dt.date) -> dt.date:
    if at is None:
        return fallback
    return max(fallback, at.astimezone(zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")).date())


def _letter_code(n: int) -> str:
    """1 → A, 26 → Z, 27 → AA (bijective base 26)."""
    code = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        code = chr(ord("A") + rest) + code
    return code


Letters = dict[tuple[str, int], tuple[str, dt.date]]


def _letters(place: Place) -> Letters:
    """{("inv"|"pay", id): (letter, date)} for every settled group of the place (see the
    module's docstring): three queries over the place's whole history, so that a group keeps
    its letter whatever year is exported."""
    documents = list(
        Invoice.objects.filter(place=place, status=Invoice.Status.ISSUED)
        .order_by()
        .values_list(
            "id", "kind", "corrects_id", "total_gross", "issue_date", "person_id", "organisation_id"
        )
    )
    payments = {
        pk: (amount, day)
        for pk, amount, day in Payment.objects.filter(place=place)
        .order_by()
        .values_list("id", "amount", "received_on")
    }
    allocations = list(
        PaymentAllocation.objects.filter(payment__place=place)
        .order_by()
        .values_list("payment_id", "invoice_id", "amount")
    )
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(node: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(a: tuple[str, int], b: tuple[str, int]) -> None:
        parent[find(a)] = find(b)

    invoices: dict[int, Decimal] = {}
    due: dict[int, Decimal] = defaultdict(lambda: ZERO)
    dates: dict[tuple[str, int], dt.date] = {}
    customer: dict[tuple[str, int], CustomerKey] = {}
    for pk, kind, corrects, gross, day, person, organisation in documents:
        node = ("inv", pk)
        find(node)
        dates[node] = day or dt.date.min  # issued: always dated
        customer[node] = _customer_key(person, organisation)
        if kind == Invoice.Kind.CREDIT_NOTE and corrects:
            union(node, ("inv", corrects))
            due[corrects] += gross
        else:
            invoices[pk] = gross
            due[pk] += gross
    allocated: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for payment_id, invoice_id, amount in allocations:
        union(("pay", payment_id), ("inv", invoice_id))
        due[invoice_id] -= amount
        allocated[payment_id] += amount
        dates[("pay", payment_id)] = payments[payment_id][1]
    groups: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for node in list(parent):
        groups[find(node)].append(node)
    settled = []
    for nodes in groups.values():
        invoice_ids = [pk for kind, pk in nodes if kind == "inv" and pk in invoices]
        payment_ids = [pk for kind, pk in nodes if kind == "pay"]
        if not invoice_ids or any(due[pk] != 0 for pk in invoice_ids):
            continue
        if any(allocated[pk] != payments[pk][0] for pk in payment_ids):
            continue
        first = min(nodes, key=lambda n: (dates[n], n))
        settled.append((max(dates[n] for n in nodes), dates[first], first, nodes))
    letters: Letters = {}
    count: dict[CustomerKey, int] = defaultdict(int)
    for when, _first_day, _first, nodes in sorted(settled):
        owner = customer[("inv", next(pk for kind, pk in nodes if kind == "inv"))]
        count[owner] += 1
        code = _letter_code(count[owner])
        for node in nodes:
            letters[node] = (code, when)
    return letters


def _clean(text: str) -> str:
    """No tab or line break inside a field."""
    return " ".join(str(text).split())


def entries(place: Place, start: dt.date, end: dt.date) -> list[Entry]:
    """The entries dated from `start` to `end` (included), in date order, numbered from 1.
    Seven queries whatever the number of documents."""
    letters = _letters(place)
    result: list[Entry] = []
    invoices = (
        Invoice.objects.filter(
            place=place, status=Invoice.Status.ISSUED, issue_date__range=(start, end)
        )
        .select_related("person", "organisation", "corrects")
        .prefetch_related("lines")
        .order_by("issue_date", "kind", "sequence")
    )
    for invoice in invoices:
        assert invoice.issue_date is not None
        lines = list(invoice.lines.all())
        figures = totals(lines)
        aux, aux_label = _customer(invoice)
        name = invoice.buyer.get("name") or aux_label
        if invoice.is_credit_note:
            label = _("Avoir %(number)s — %(name)s (facture %(invoice)s)") % {
                "number": invoice.number,
                "name": name,
                "invoice": invoice.corrects.number if invoice.corrects else "",
            }
        else:
            label = _("Facture %(number)s — %(name)s") % {"number": invoice.number, "name": name}
        entry = Entry(
            journal="VT",
            date=invoice.issue_date,
            piece=invoice.number,
            label=label,
            valid_date=_local_date(place, invoice.issued_at, invoice.issue_date),
        )
        row = entry.add(CUSTOMERS, figures.gross, debit=True, keep_zero=True)
        assert row is not None
        row.aux, row.aux_label = aux, aux_label
        row.letter, row.letter_date = letters.get(("inv", invoice.pk), ("", None))
        nets: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in lines:
            nets[line.stream] += line.net_amount
        for stream in Stream.values:
            if stream in nets:
                entry.add(STREAM_ACCOUNTS[stream], nets[stream], debit=False)
        for group in figures.groups:
            if group.amount:
                entry.add(VAT_ACCOUNTS[group.terms.rate], group.amount, debit=False)
        result.append(entry)
    payments = Payment.objects.filter(place=place, received_on__range=(start, end)).select_related(
        "person", "organisation"
    )
    for payment in payments:
        aux, aux_label = _customer(payment)
        journal, account = ("CA", CASH) if payment.method == Payment.Method.CASH else ("BQ", BANK)
        label = _("Règlement %(method)s — %(name)s") % {
            "method": payment.get_method_display().lower(),
            "name": aux_label,
        }
        if payment.reference:
            label += f" ({payment.reference})"
        entry = Entry(
            journal=journal,
            date=payment.received_on,
            piece=f"REG-{payment.uuid.hex[:8].upper()}",
            label=label,
            valid_date=_local_date(place, payment.created_at, payment.received_on),
        )
        entry.add(account, payment.amount, debit=True)
        row = entry.add(CUSTOMERS, payment.amount, debit=False)
        assert row is not None
        row.aux, row.aux_label = aux, aux_label
        row.letter, row.letter_date = letters.get(("pay", payment.pk), ("", None))
        result.append(entry)
    for funding in Funding.objects.filter(place=place, received_on__range=(start, end)):
        label = f"{funding.get_kind_display()} — {funding.funder}"
        if funding.purpose:
            label += f" ({funding.purpose})"
        entry = Entry(
            journal="BQ",
            date=funding.received_on,
            piece=f"FIN-{funding.uuid.hex[:8].upper()}",
            label=label,
            valid_date=_local_date(place, funding.created_at, funding.received_on),
        )
        entry.add(BANK, funding.amount, debit=True)
        entry.add(FUNDING_ACCOUNTS[funding.kind], funding.amount, debit=False)
        result.append(entry)
    for letter_row in (r for e in result for r in e.rows):
        if letter_row.letter_date and letter_row.letter_date > end:
            letter_row.letter, letter_row.letter_date = "", None  # settled after the period
    result.sort(key=lambda e: (e.date, JOURNAL_ORDER[e.journal], e.piece))
    for number, entry in enumerate(result, start=1):
        entry.number = number
    return result


def amount_text(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _ymd(day: dt.date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


def fec_rows(items: Iterable[Entry]) -> Iterable[list[str]]:
    for entry in items:
        for row in entry.rows:
            yield [
                entry.journal,
                entry.journal_label,
                str(entry.number),
                _ymd(entry.date),
                row.account,
                row.account_label,
                row.aux,
                _clean(row.aux_label),
                _clean(entry.piece),
                _ymd(entry.date),
                _clean(entry.label),
                amount_text(row.debit),
                amount_text(row.credit),
                row.letter,
                _ymd(row.letter_date),
                _ymd(entry.valid_date),
                "",
                "",
            ]


def fec_export(*, place: Place, year: int) -> str:
    """The FEC of a calendar year: tab-separated, a header line, CRLF line ends; encode it
    in UTF-8 (no BOM)."""
    lines = ["\t".join(COLUMNS)]
    for cells in fec_rows(entries(place, dt.date(year, 1, 1), dt.date(year, 12, 31))):
        lines.append("\t".join(cells))
    return "\r\n".join(lines) + "\r\n"


def fec_filename(place: Place, year: int) -> str:
    """<SIREN>FEC<closing date>.txt; SIREN = the first 9 digits of the place's SIRET (nine
    zeros while the place has none: the file's name then shows what is missing)."""
    siren = "".join(c for c in place.siret if c.isdigit())[:9] or "000000000"
    return f"{siren}FEC{year}1231.txt"
