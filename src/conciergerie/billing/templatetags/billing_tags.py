"""Display helpers for the billing pages: they format, they never decide."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats

from conciergerie.billing.models import Subscription, Vat
from conciergerie.billing.selectors.invoices import State

register = template.Library()


@register.filter
def state_label(state: str) -> str:
    """ "payee" → "Payée" (see selectors.invoices.State)."""
    return str(State.LABELS.get(state, ""))


@register.filter
def state_badge(state: str) -> str:
    return State.BADGES.get(state, "")


@register.filter
def subscription_status(status: str) -> str:
    return str(dict(Subscription.Status.choices).get(status, ""))


@register.filter
def vat_label(vat: str) -> str:
    """ "5.5" → "TVA 5,5 %"."""
    return str(dict(Vat.choices).get(vat, vat))


@register.filter
def quantity(value: Decimal | None) -> str:
    """Decimal("1.500") → "1,5" in French; Decimal("10.000") → "10"."""
    if value is None:
        return ""
    return formats.number_format(Decimal(f"{Decimal(value).normalize():f}"))
