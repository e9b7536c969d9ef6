"""Reads about subscriptions and the credit ledger: how far a subscription is invoiced, which
subscriptions run in a month, and what credits a customer has left on a day.

The lists of the back office are in `selectors.backoffice`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from conciergerie.billing import periods
from conciergerie.billing.models import CreditKind, CreditLot, InvoiceLine, Subscription
from conciergerie.community.models import Organisation, Person
from conciergerie.core.models import Place

PLAN_FIELD = {
    CreditKind.DESK_DAYS: "desk_days",
    CreditKind.ROOM_HOURS: "room_hours",
    CreditKind.MACHINE_HOURS: "machine_hours",
}


def subscription_charge_key(subscription: Subscription, month: dt.date) -> str:
    """The charge key of one month of a subscription: billed once, whatever happens."""
    return f"abo:{subscription.uuid}:{periods.period_key(month)}"


def last_invoiced_line(subscription: Subscription) -> InvoiceLine | None:
    """The line of the latest month invoiced (drafts count: they would be wrong too)."""
    return (
        InvoiceLine.objects.filter(subscription=subscription, charge_key__startswith="abo:")
        .select_related("invoice")
        .order_by("-period_start", "-id")
        .first()
    )


def invoiced_until(subscription: Subscription) -> dt.date | None:
    """The last day of the latest month invoiced, or None: nothing before it may change."""
    line = last_invoiced_line(subscription)
    if line is None or line.period_start is None:
        return None
    return periods.month_end(line.period_start)


def running_in(*, place: Place, month: dt.date) -> QuerySet[Subscription]:
    """Subscriptions that run at least one day of `month` (paused or not), with what the
    billing run needs, in a stable order."""
    first, last = periods.month_of(month), periods.month_end(month)
    return (
        Subscription.objects.filter(place=place, start__lte=last)
        .filter(Q(end__isnull=True) | Q(end__gte=first))
        .select_related("plan", "person", "organisation")
        .order_by("id")
    )


def customer_filter(person: Person | None, organisation: Organisation | None) -> Q:
    if organisation is not None:
        return Q(organisation=organisation)
    return Q(person=person, organisation__isnull=True)


@dataclass(frozen=True)
class Balance:
    kind: str
    label: str
    granted: Decimal
    used: Decimal
    unlimited: bool

    @property
    def left(self) -> Decimal:
        return max(Decimal("0"), self.granted - self.used)


def credit_balance(
    *,
    place: Place,
    on: dt.date,
    person: Person | None = None,
    organisation: Organisation | None = None,
) -> list[Balance]:
    """Credits usable on `on`, per kind: the lots valid that day, plus this month's plan
    credits not yet written as a lot (they are granted when first used or billed). Paused
    subscriptions give nothing on their paused days. Two queries."""
    who = customer_filter(person, organisation)
    subs = list(
        Subscription.objects.filter(who, place=place, start__lte=on)
        .filter(Q(end__isnull=True) | Q(end__gte=on))
        .select_related("plan")
    )
    paused = {s.pk for s in subs if periods.is_paused(s, on)}
    lots = list(
        CreditLot.objects.filter(who, place=place, valid_from__lte=on, valid_until__gte=on)
        .exclude(subscription_id__in=paused)
        .annotate(used=Coalesce(Sum("uses__quantity"), Decimal("0")))
    )
    granted = {k: Decimal("0") for k in CreditKind.values}
    used = {k: Decimal("0") for k in CreditKind.values}
    unlimited = dict.fromkeys(CreditKind.values, False)
    have = {(lot.subscription_id, lot.kind) for lot in lots}
    for lot in lots:
        granted[lot.kind] += lot.quantity
        used[lot.kind] += lot.used
        unlimited[lot.kind] |= lot.quantity >= periods.UNLIMITED
    month = periods.month_of(on)
    for sub in subs:
        if sub.pk in paused:
            continue
        cov = periods.coverage(sub, month)
        if cov is None or cov.days == 0:
            continue
        for kind, field in PLAN_FIELD.items():
            if (sub.pk, kind) in have:
                continue
            per_month = getattr(sub.plan, field)
            if kind == CreditKind.DESK_DAYS and per_month is None:
                unlimited[kind] = True
                granted[kind] += periods.UNLIMITED
            elif per_month:
                granted[kind] += periods.prorated_credits(per_month, cov)
    return [
        Balance(
            kind=k,
            label=str(CreditKind(k).label),
            granted=granted[k],
            used=used[k],
            unlimited=unlimited[k],
        )
        for k in CreditKind.values
        if granted[k] or used[k]
    ]
