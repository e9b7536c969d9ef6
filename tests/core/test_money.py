from decimal import Decimal

import pytest

from conciergerie.core.errors import InvalidInput
from conciergerie.core.money import format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,50 €", "12.50"),
        ("12.5", "12.50"),
        (" 1 234,56 € ", "1234.56"),
        ("1\u202f234,56\u00a0€", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("€12", "12.00"),
        ("12 euros", "12.00"),
        ("12 EUR", "12.00"),
        ("1 euro", "1.00"),
        ("0", "0.00"),
        (",5", "0.50"),
        (Decimal("7.5"), "7.50"),
        (15, "15.00"),
    ],
)
def test_parse_amount_understands_french_input(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "n'est pas un montant"),
        ("12,5,3", "n'est pas un montant"),
        ("", "Indiquez un montant"),
        ("€", "Indiquez un montant"),
        ("-5", "négatif"),
        ("-5,00 €", "négatif"),
        ("12,345", "deux chiffres"),
        ("1 000 000", "trop élevé"),
        ("1e9", "n'est pas un montant"),
        ("NaN", "n'est pas un montant"),
        (Decimal("-1"), "négatif"),
    ],
)
def test_parse_amount_refuses_bad_input_in_french(text, message):
    with pytest.raises(InvalidInput) as err:
        parse_amount(text, field="montant")
    assert message in err.value.message
    assert list(err.value.errors) == ["montant"]


def test_format_amount():
    assert format_amount(Decimal("15")) == "15,00 €"
    assert format_amount(Decimal("1234.5")) == "1\u202f234,50 €"


def test_format_amount_follows_the_reader_language():
    from django.utils import translation

    with translation.override("en"):
        assert format_amount(Decimal("1234.5")) == "€1,234.50"
    with translation.override("es"):
        assert format_amount(Decimal("1234.5")) == "1.234,50 €"
    with translation.override("fr"):
        assert format_amount(Decimal("-3")) == "-3,00 €"
