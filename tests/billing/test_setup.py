"""Products and billing settings: day counts stay within a calendar (a due date, a reminder or a
pack's end must remain a date)."""

from decimal import Decimal

import pytest

from conciergerie.billing.models import BillingSettings, Product
from conciergerie.billing.services import setup
from conciergerie.core.errors import InvalidInput


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("payment_days", 100000, "Au plus 365 jours."),
        ("reminder_days", 100000, "Au plus 365 jours."),
        ("payment_days", "366", "Au plus 365 jours."),
    ],
)
def test_settings_refuse_huge_day_counts_and_write_nothing(place, field, value, message):
    with pytest.raises(InvalidInput) as err:
        setup.billing_settings_update(place=place, by=None, legal_name="L'Établi", **{field: value})
    assert err.value.as_errors()[field] == [message]
    billing = BillingSettings.objects.get(place=place)
    assert (billing.legal_name, billing.payment_days, billing.reminder_days) == ("", 30, 15)


def test_settings_accept_the_bounds(place):
    billing = setup.billing_settings_update(
        place=place, by=None, payment_days=365, reminder_days=365
    )
    assert (billing.payment_days, billing.reminder_days) == (365, 365)


def test_a_pack_is_valid_ten_years_at_most(place):
    fields = {
        "name": "Carnet 10 jours",
        "kind": Product.Kind.PACK,
        "unit_price": Decimal("120.00"),
        "vat": "20",
        "pack_kind": "jours_poste",
        "pack_quantity": Decimal("10"),
    }
    with pytest.raises(InvalidInput) as err:
        setup.product_create(place=place, by=None, pack_valid_days=100000, **fields)
    assert err.value.as_errors()["pack_valid_days"] == ["Au plus 3650 jours (dix ans)."]
    assert not Product.objects.exists()
    pack = setup.product_create(place=place, by=None, pack_valid_days=3650, **fields)
    with pytest.raises(InvalidInput):
        setup.product_update(product=pack, by=None, pack_valid_days=3651)
    pack.refresh_from_db()
    assert pack.pack_valid_days == 3650
