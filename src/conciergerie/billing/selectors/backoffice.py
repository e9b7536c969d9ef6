"""Reads for the team's billing lists other than invoices: products, subscriptions, payments,
grants and donations. Each list costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, CharField, Count, Prefetch, Q, QuerySet, Value, When

from conciergerie.billing.models import (
    BillingSettings,
    CreditLot,
    Funding,
    Product,
    Subscription,
)
from conciergerie.core.models import Place


def products(*, place: Place, active_only: bool = False) -> QuerySet[Product]:
    qs = Product.objects.filter(place=place)
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("kind", "name", "id")


def product(*, place: Place, uuid: Any) -> Product | None:
    return Product.objects.filter(place=place, uuid=uuid).first()


def _with_status(qs: QuerySet[Subscription], on: dt.date) -> QuerySet[Subscription]:
    """Annotate `status` (Subscription.Status) as of `on`."""
    paused = Q(paused_from__lte=on) & (Q(paused_until=None) | Q(paused_until__gte=on))
    return qs.annotate(
        status=Case(
            When(end__lt=on, then=Value(Subscription.Status.ENDED)),
            When(paused, then=Value(Subscription.Status.PAUSED)),
            default=Value(Subscription.Status.ACTIVE),
            output_field=CharField(),
        )
    )


def subscriptions(*, place: Place, on: dt.date, status: str = "") -> QuerySet[Subscription]:
    qs = _with_status(
        Subscription.objects.filter(place=place).select_related("person", "organisation", "plan"),
        on,
    )
    if status in Subscription.Status.values:
        qs = qs.filter(Q(status=status))  # an annotation
    return qs.order_by("-start", "-id")


def subscription(*, place: Place, uuid: Any, on: dt.date) -> Subscription | None:
    return (
        _with_status(Subscription.objects.filter(place=place, uuid=uuid), on)
        .select_related("person", "organisation", "plan", "replaces", "replaced_by")
        .prefetch_related(
            Prefetch("credit_lots", queryset=CreditLot.objects.order_by("-valid_from", "-id"))
        )
        .annotate(lines_count=Count("lines"))
        .first()
    )


def fundings(*, place: Place) -> QuerySet[Funding]:
    return Funding.objects.filter(place=place).order_by("-received_on", "-id")


def billing_settings(*, place: Place) -> BillingSettings:
    """The place's billing settings (unsaved defaults when never set)."""
    return BillingSettings.objects.filter(place=place).first() or BillingSettings(place=place)
