"""Reads of invoices for the team's pages and for a member's own invoices.

What is left to pay is annotated in SQL (`selectors.payments.with_amounts`), so a list of
invoices costs the same few queries whatever its length. The payment state follows from it:
paid when less than half a cent is left, late once the due date has passed, else due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, CharField, Prefetch, Q, QuerySet, Sum, Value, When
from django.utils.translation import gettext_lazy as _

from conciergerie.billing.amounts import Totals, totals
from conciergerie.billing.models import Invoice, InvoiceLine, PaymentAllocation
from conciergerie.billing.selectors.payments import HALF_CENT, with_amounts
from conciergerie.core.models import Place, User


class State:
    """Where an invoice stands, for its badge and for the list's filter."""

    DRAFT = "brouillon"
    CREDIT_NOTE = "avoir"
    PAID = "payee"
    DUE = "a_payer"
    LATE = "en_retard"

    LABELS: dict[str, Any] = {
        DRAFT: _("Brouillon"),
        CREDIT_NOTE: _("Avoir"),
        PAID: _("Payée"),
        DUE: _("Reste à payer"),
        LATE: _("En retard"),
    }
    BADGES = {DRAFT: "", CREDIT_NOTE: "", PAID: "badge-ok", DUE: "badge-warn", LATE: "badge-bad"}


# What the list's "État" filter offers: the states, and "émises" for every issued document.
ISSUED = "emise"
STATUS_FILTERS: list[tuple[str, Any]] = [
    ("", _("Toutes")),
    (State.DRAFT, _("Brouillons")),
    (ISSUED, _("Émises")),
    (State.DUE, _("Reste à payer")),
    (State.LATE, _("En retard")),
    (State.PAID, _("Payées")),
]
KIND_FILTERS: list[tuple[str, Any]] = [("", _("Factures et avoirs")), *Invoice.Kind.choices]


def with_balance(qs: QuerySet[Invoice], *, on: dt.date) -> QuerySet[Invoice]:
    """Annotate `credited` (≤ 0), `paid`, `left` (see payments.with_amounts) and `state`
    (see State) as of `on`."""
    return with_amounts(qs).annotate(
        state=Case(
            When(status=Invoice.Status.DRAFT, then=Value(State.DRAFT)),
            When(kind=Invoice.Kind.CREDIT_NOTE, then=Value(State.CREDIT_NOTE)),
            When(left__lt=HALF_CENT, then=Value(State.PAID)),
            When(due_date__lt=on, then=Value(State.LATE)),
            default=Value(State.DUE),
            output_field=CharField(),
        ),
    )


def _customer(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return qs.select_related("person", "organisation")


def invoice_list(
    *,
    place: Place,
    on: dt.date,
    status: str = "",
    kind: str = "",
    q: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[Invoice]:
    """The team's list: drafts first, then issued documents, newest first."""
    qs = with_balance(_customer(Invoice.objects.filter(place=place)), on=on)
    if status == ISSUED:
        qs = qs.filter(status=Invoice.Status.ISSUED)
    elif status in State.LABELS:
        qs = qs.filter(Q(state=status))  # an annotation (Q: the type checker cannot see it)
    if kind in Invoice.Kind.values:
        qs = qs.filter(kind=kind)
    for word in q.split()[:5]:
        qs = qs.filter(
            Q(number__icontains=word)
            | Q(buyer__name__icontains=word)
            | Q(person__first_name__icontains=word)
            | Q(person__last_name__icontains=word)
            | Q(organisation__name__icontains=word)
        )
    if start:
        qs = qs.filter(issue_date__gte=start)
    if end:
        qs = qs.filter(issue_date__lte=end)
    draft_first = Case(When(status=Invoice.Status.DRAFT, then=Value(0)), default=Value(1))
    return qs.order_by(draft_first, "-issue_date", "-sequence", "-created_at", "-id")


def invoice_of(*, place: Place, uuid: Any) -> Invoice | None:
    """One invoice or credit note of the place (for the pages that write to it)."""
    return Invoice.objects.filter(place=place, uuid=uuid).first()


def line_of(*, invoice: Invoice, line_id: str) -> InvoiceLine | None:
    """A line of that invoice, from the id a form sent back (anything else: None)."""
    if not line_id.isdigit():
        return None
    return InvoiceLine.objects.filter(invoice=invoice, pk=int(line_id)).first()


@dataclass
class CreditableLine:
    line: InvoiceLine
    credited: Decimal  # quantity already on credit notes (drafts included), ≥ 0
    left: Decimal  # quantity that may still be credited


@dataclass
class InvoiceDetail:
    invoice: Invoice
    lines: list[InvoiceLine]
    totals: Totals
    allocations: list[PaymentAllocation] = field(default_factory=list)
    credit_notes: list[Invoice] = field(default_factory=list)
    creditable: list[CreditableLine] = field(default_factory=list)

    @property
    def may_credit(self) -> bool:
        return any(c.left > 0 for c in self.creditable)


def invoice_detail(*, place: Place, uuid: Any, on: dt.date) -> InvoiceDetail | None:
    """One invoice or credit note with its lines, VAT breakdown, payments and credit notes."""
    invoice = (
        with_balance(
            _customer(Invoice.objects.filter(place=place, uuid=uuid)).select_related(
                "corrects", "issued_by"
            ),
            on=on,
        )
        .order_by()
        .first()
    )
    if invoice is None:
        return None
    lines = list(invoice.lines.select_related("product"))
    detail = InvoiceDetail(invoice=invoice, lines=lines, totals=totals(lines))
    if invoice.is_credit_note or not invoice.is_issued:
        return detail
    detail.allocations = list(
        PaymentAllocation.objects.filter(invoice=invoice)
        .select_related("payment")
        .order_by("payment__received_on", "payment_id")
    )
    detail.credit_notes = list(
        Invoice.objects.filter(corrects=invoice, kind=Invoice.Kind.CREDIT_NOTE).order_by(
            "created_at", "id"
        )
    )
    credited: dict[int, Decimal] = {}
    for row in (
        InvoiceLine.objects.filter(
            corrects__invoice=invoice, invoice__kind=Invoice.Kind.CREDIT_NOTE
        )
        .values("corrects_id")
        .annotate(q=Sum("quantity"))
        .order_by()
    ):
        credited[row["corrects_id"]] = -Decimal(row["q"] or 0)
    detail.creditable = [
        CreditableLine(
            line=line,
            credited=credited.get(line.pk, Decimal(0)),
            left=line.quantity - credited.get(line.pk, Decimal(0)),
        )
        for line in lines
    ]
    return detail


def own_invoices(*, place: Place, user: User, on: dt.date) -> QuerySet[Invoice]:
    """A member's issued invoices and credit notes: those made out to their own directory
    entry in this place, nobody else's (not even their organisation's)."""
    return with_balance(
        Invoice.objects.filter(
            place=place,
            person__user=user,
            person__place=place,
            status=Invoice.Status.ISSUED,
        ),
        on=on,
    ).order_by("-issue_date", "-sequence", "-id")


def own_invoice(*, place: Place, user: User, uuid: Any) -> Invoice | None:
    return (
        Invoice.objects.filter(
            place=place,
            uuid=uuid,
            person__user=user,
            person__place=place,
            status=Invoice.Status.ISSUED,
        )
        .select_related("place")
        .first()
    )


# --- The JSON API's reads --------------------------------------------------------------------


def with_amounts_for_api(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """`paid`, `credited` and `left`, computed as the payments pages compute them."""
    return with_amounts(qs.select_related("place", "corrects"))


def invoices_readable(*, place: Place, user: User, team: bool) -> QuerySet[Invoice]:
    """What the caller may read in the place: all of it for the team, their own issued
    invoices for a member (the same ones as "Mes factures")."""
    qs = Invoice.objects.filter(place=place)
    if team:
        return qs
    return qs.filter(status=Invoice.Status.ISSUED, person__user=user, person__place=place)


def place_of_invoice(*, uuid: Any) -> Place | None:
    found = Invoice.objects.filter(uuid=uuid).select_related("place").first()
    return found.place if found is not None else None


def invoice_readable(*, place: Place, user: User, team: bool, uuid: Any) -> Invoice | None:
    """One invoice with its lines, its issued credit notes and its amounts, if readable."""
    return (
        with_amounts_for_api(invoices_readable(place=place, user=user, team=team))
        .filter(uuid=uuid)
        .prefetch_related(
            "lines",
            Prefetch(
                "credit_notes",
                queryset=Invoice.objects.filter(status=Invoice.Status.ISSUED).order_by("sequence"),
            ),
        )
        .first()
    )
