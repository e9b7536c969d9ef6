"""Reads about money owed and received: what is left to pay on each invoice, a customer's
balance, the payments.

What is left to pay on an invoice = its total TTC + the totals of its issued credit notes
(negative) − what payments allocated to it. Computed in SQL (one subquery per figure, so
the invoice rows are never multiplied by a join) and annotated on the queryset: a list of
invoices costs one query whatever its length.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from conciergerie.billing.models import Invoice, Payment, PaymentAllocation, Reminder
from conciergerie.community.models import Organisation, Person
from conciergerie.core.models import Place

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)
# SQLite computes decimal sums in floating point: 100 - 99.99 - 0.01 may come out as 1e-14.
# Whatever is really left is at least a cent, so "something left" means "more than half a cent".
HALF_CENT = Decimal("0.005")


def _sum_of(queryset: QuerySet, group: str, field: str) -> Coalesce:
    """Coalesce(Subquery(sum of `field` of the rows of `queryset` for this row), 0)."""
    summed = queryset.order_by().values(group).annotate(s=Sum(field)).values("s")
    return Coalesce(Subquery(summed, output_field=MONEY), Value(ZERO), output_field=MONEY)


def with_amounts(invoices: QuerySet[Invoice]) -> QuerySet[Any]:
    """Annotate `paid` (allocations), `credited` (issued credit notes, ≤ 0) and `left`."""
    return invoices.annotate(
        paid=_sum_of(PaymentAllocation.objects.filter(invoice=OuterRef("pk")), "invoice", "amount"),
        credited=_sum_of(
            Invoice.objects.filter(
                corrects=OuterRef("pk"),
                kind=Invoice.Kind.CREDIT_NOTE,
                status=Invoice.Status.ISSUED,
            ),
            "corrects",
            "total_gross",
        ),
    ).annotate(
        left=ExpressionWrapper(F("total_gross") + F("credited") - F("paid"), output_field=MONEY)
    )


def with_reminders(invoices: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate `reminders_sent` and `last_reminder_at`."""
    reminders = Reminder.objects.filter(invoice=OuterRef("pk")).order_by().values("invoice")
    return invoices.annotate(
        reminders_sent=Coalesce(Subquery(reminders.annotate(n=Count("id")).values("n")), Value(0)),
        last_reminder_at=Subquery(reminders.annotate(m=Max("sent_at")).values("m")),
    )


def customer_filter(*, person: Person | None = None, organisation: Organisation | None = None) -> Q:
    if person is not None:
        return Q(person=person)
    if organisation is not None:
        return Q(organisation=organisation)
    raise ValueError("a person or an organisation")


def open_invoices(place: Place) -> QuerySet[Any]:
    """Issued invoices (not credit notes) of the place, with what is left to pay."""
    return with_amounts(
        Invoice.objects.filter(place=place, status=Invoice.Status.ISSUED, kind=Invoice.Kind.INVOICE)
    )


def invoices_due(
    place: Place, *, overdue_only: bool = False, on: dt.date | None = None
) -> QuerySet[Any]:
    """Issued invoices with something left to pay (`left`), oldest due first; with
    `overdue_only`, those whose due date is before `on` (default: today at the place).
    Also annotated with `paid`, `credited`, `reminders_sent`, `last_reminder_at`. One query."""
    invoices = with_reminders(open_invoices(place)).filter(left__gt=HALF_CENT)
    if overdue_only:
        if on is None:
            from conciergerie.billing.services.invoices import today

            on = today(place)
        invoices = invoices.filter(due_date__lt=on)
    return invoices.select_related("person", "organisation").order_by(
        "due_date", "issue_date", "sequence", "id"
    )


@dataclass(frozen=True)
class Balance:
    """A customer's account. `owed` > 0: the customer owes the place; < 0: the place owes
    the customer (credit to use on the next invoices, or to refund)."""

    invoiced: Decimal  # issued invoices, TTC
    credited: Decimal  # issued credit notes, TTC (≤ 0)
    paid: Decimal  # payments received
    allocated: Decimal  # the part of those payments allocated to invoices

    @property
    def owed(self) -> Decimal:
        return self.invoiced + self.credited - self.paid

    @property
    def unallocated(self) -> Decimal:
        """Payments not yet allocated to an invoice: the customer's credit."""
        return self.paid - self.allocated


def customer_balance(
    place: Place, *, person: Person | None = None, organisation: Organisation | None = None
) -> Balance:
    """Three queries (invoices by kind, payments, allocations)."""
    who = customer_filter(person=person, organisation=organisation)
    by_kind = dict(
        Invoice.objects.filter(who, place=place, status=Invoice.Status.ISSUED)
        .order_by()
        .values_list("kind")
        .annotate(s=Sum("total_gross"))
    )
    payments = Payment.objects.filter(who, place=place)
    paid = payments.aggregate(s=Sum("amount"))["s"] or ZERO
    allocated = (
        PaymentAllocation.objects.filter(payment__in=payments).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return Balance(
        invoiced=_cents(by_kind.get(Invoice.Kind.INVOICE) or ZERO),
        credited=_cents(by_kind.get(Invoice.Kind.CREDIT_NOTE) or ZERO),
        paid=_cents(paid),
        allocated=_cents(allocated),
    )


def _cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def payments_list(
    place: Place, *, person: Person | None = None, organisation: Organisation | None = None
) -> QuerySet[Any]:
    """The place's payments, newest first, each with `allocated` and `unallocated` and its
    allocations (with their invoice) prefetched: two queries."""
    payments = Payment.objects.filter(place=place)
    if person is not None or organisation is not None:
        payments = payments.filter(customer_filter(person=person, organisation=organisation))
    return (
        payments.annotate(
            allocated=_sum_of(
                PaymentAllocation.objects.filter(payment=OuterRef("pk")), "payment", "amount"
            )
        )
        .annotate(unallocated=ExpressionWrapper(F("amount") - F("allocated"), output_field=MONEY))
        .select_related("person", "organisation")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("invoice").order_by(
                    "invoice__issue_date", "invoice__sequence", "id"
                ),
            )
        )
        .order_by("-received_on", "-id")
    )
