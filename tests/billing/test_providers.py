"""The online payment interface, exercised by a small provider written for the test: it signs
its callbacks with HMAC, as real providers do."""

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from conciergerie.billing import providers
from conciergerie.billing.models import Payment
from conciergerie.billing.selectors.payments import with_amounts
from conciergerie.core.errors import NotFound
from tests.billing.conftest import ON, issued_invoice

SECRET = b"secret-partage-avec-le-prestataire"


class HmacProvider:
    name = "essai"

    def checkout(self, *, invoice, amount, return_url):
        return providers.Checkout(
            url=f"https://paiement.example/{invoice.uuid}?montant={amount}&retour={return_url}",
            reference=f"chk-{invoice.number}",
        )

    def confirm(self, *, body, headers):
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("X-Signature", "")):
            return None
        data = json.loads(body)
        if data["status"] != "paid":
            return None
        return providers.Confirmation(
            reference=data["id"],
            invoice=data["invoice"],
            amount=Decimal(data["amount"]),
            paid_on=dt.date.fromisoformat(data["date"]),
        )


def callback(invoice, *, amount="20.00", status="paid", ref="pay_1"):
    body = json.dumps(
        {
            "id": ref,
            "invoice": str(invoice.uuid),
            "amount": amount,
            "status": status,
            "date": "2026-11-21",
        }
    ).encode()
    return body, {"X-Signature": hmac.new(SECRET, body, hashlib.sha256).hexdigest()}


def left(invoice):
    return with_amounts(type(invoice).objects.filter(pk=invoice.pk)).get().left


def test_no_provider_is_configured_by_default(settings):
    settings.PAYMENT_PROVIDER = ""
    assert providers.provider() is None


def test_a_confirmed_online_payment_is_recorded_once(settings, place, person):
    settings.PAYMENT_PROVIDER = "tests.billing.test_providers.HmacProvider"
    invoice = issued_invoice(place, person, on=ON)  # 36.00 €
    provider = providers.provider()
    assert provider.checkout(invoice=invoice, amount=Decimal("20.00"), return_url="/x").url

    body, headers = callback(invoice)
    confirmation = provider.confirm(body=body, headers=headers)
    first = providers.online_payment_confirm(place=place, confirmation=confirmation)
    again = providers.online_payment_confirm(place=place, confirmation=confirmation)
    assert first.pk == again.pk
    assert Payment.objects.filter(method=Payment.Method.ONLINE).count() == 1
    assert (first.amount, first.reference, first.person) == (Decimal("20.00"), "pay_1", person)
    assert left(invoice) == Decimal("16.00")


def test_forged_or_unfinished_callbacks_record_nothing(settings, place, person):
    settings.PAYMENT_PROVIDER = "tests.billing.test_providers.HmacProvider"
    invoice = issued_invoice(place, person, on=ON)
    provider = providers.provider()
    body, headers = callback(invoice)
    assert provider.confirm(body=body.replace(b"20.00", b"36.00"), headers=headers) is None
    body, headers = callback(invoice, status="pending")
    assert provider.confirm(body=body, headers=headers) is None
    other = providers.Confirmation("pay_9", place.uuid, Decimal("5"), dt.date(2026, 11, 21))
    with pytest.raises(NotFound):
        providers.online_payment_confirm(place=place, confirmation=other)
    assert not Payment.objects.exists()


def test_more_than_is_left_is_kept_as_credit(settings, place, person):
    settings.PAYMENT_PROVIDER = "tests.billing.test_providers.HmacProvider"
    invoice = issued_invoice(place, person, on=ON)  # 36.00 €
    provider = providers.provider()
    body, headers = callback(invoice, amount="50.00", ref="pay_2")
    payment = providers.online_payment_confirm(
        place=place, confirmation=provider.confirm(body=body, headers=headers)
    )
    assert payment.amount == Decimal("50.00")
    assert left(invoice) == Decimal("0.00")
    assert sum(a.amount for a in payment.allocations.all()) == Decimal("36.00")
