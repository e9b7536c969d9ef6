"""Online payment, behind one small interface. No provider ships with Conciergerie: a place
that takes payments online adds an adapter for its provider (HelloAsso, Stripe, a bank's
gateway…) implementing `PaymentProvider`, and names its class in the environment variable
CONCIERGERIE_PAYMENT_PROVIDER ("package.module.ClassName").

The adapter does the provider's part — start a checkout, and on the provider's callback
check its signature and say what was paid. Conciergerie does the rest the same way for every
provider: `online_payment_confirm` records an "en ligne" payment on the invoice, once per
provider reference however many times the callback arrives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from conciergerie.billing.models import Invoice, Payment
from conciergerie.billing.selectors.payments import with_amounts
from conciergerie.billing.services.payments import PAY_NAMESPACE, payment_record
from conciergerie.core import capacity
from conciergerie.core.errors import InvalidInput, NotFound
from conciergerie.core.models import Place


@dataclass(frozen=True)
class Checkout:
    """Where to send the payer, and the provider's reference of this checkout."""

    url: str
    reference: str


@dataclass(frozen=True)
class Confirmation:
    """What the provider's (signature-checked) callback says was paid."""

    reference: str
    invoice: UUID
    amount: Decimal
    paid_on: dt.date


class PaymentProvider(Protocol):
    name: str

    def checkout(self, *, invoice: Invoice, amount: Decimal, return_url: str) -> Checkout:
        """Open a payment of `amount` for `invoice` at the provider."""
        ...

    def confirm(self, *, body: bytes, headers: Mapping[str, str]) -> Confirmation | None:
        """Check a callback (its signature first); None when it is not a completed payment."""
        ...


def provider() -> PaymentProvider | None:
    """The configured provider, or None (no online payment)."""
    path = getattr(settings, "PAYMENT_PROVIDER", "")
    return import_string(path)() if path else None


def online_payment_confirm(*, place: Place, confirmation: Confirmation) -> Payment:
    """Record the confirmed online payment on its invoice, once per provider reference."""
    reference = confirmation.reference.strip()
    if not reference:
        raise InvalidInput({"reference": [_("Référence du paiement manquante.")]})
    with capacity.guarded(PAY_NAMESPACE, [place.pk]):
        done = Payment.objects.filter(
            place=place, method=Payment.Method.ONLINE, reference=reference
        ).first()
        if done is not None:
            return done  # the provider called twice: already recorded
        invoice = (
            Invoice.objects.filter(
                place=place, uuid=confirmation.invoice, status=Invoice.Status.ISSUED
            )
            .select_related("person", "organisation")
            .first()
        )
        if invoice is None:
            raise NotFound(_("Facture introuvable."))
        # Money received is recorded whatever happened meanwhile (paid twice, a credit
        # note): what the invoice no longer needs stays as the customer's credit.
        left = with_amounts(Invoice.objects.filter(pk=invoice.pk)).get().left
        applied = min(Decimal(confirmation.amount), max(left, Decimal(0)))
        return payment_record(
            place=place,
            by=None,
            method=Payment.Method.ONLINE,
            amount=confirmation.amount,
            received_on=confirmation.paid_on,
            person=invoice.person,
            organisation=invoice.organisation,
            reference=reference,
            note=_("Paiement en ligne"),
            allocations=[(invoice, applied)] if applied > 0 else [],
        )
