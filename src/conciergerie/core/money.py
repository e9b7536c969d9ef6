"""Money: euros as Decimal with two places, read from what people type in French."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from conciergerie.core.errors import InvalidInput

CENT = Decimal("0.01")
NARROW_NBSP = "\u202f"
MAX_AMOUNT = Decimal("1000000")  # one million euros: beyond, a typing mistake
_CURRENCY = re.compile(r"(€|\beuros?\b|\beur\b)", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput({field: [message]}, message)


def parse_amount(
    text: str | Decimal | int, *, field: str = "amount", maximum: Decimal | None = MAX_AMOUNT
) -> Decimal:
    """'12,50 €', '12.5', ' 1 234,56 € ', '€12', '12 euros' -> Decimal('12.50').

    Raises InvalidInput (with a French message) for text that is not an amount, a negative
    amount, more than two decimals, or an amount of `maximum` or more (a million euros unless
    told; None leaves the range to the caller).
    """
    from django.utils.translation import gettext as _

    if isinstance(text, Decimal | int) and not isinstance(text, bool):
        value = Decimal(text)
    else:
        raw = _SPACES.sub("", _CURRENCY.sub("", str(text or "")))
        if not raw:
            raise _invalid(field, _("Indiquez un montant."))
        if "," in raw and "." in raw:
            # The last separator is the decimal one: 1.234,56 or 1,234.56.
            if raw.rfind(",") > raw.rfind("."):
                raw = raw.replace(".", "").replace(",", ".")
            else:
                raw = raw.replace(",", "")
        else:
            raw = raw.replace(",", ".")
        if not re.fullmatch(r"[+-]?\d*(\.\d*)?", raw) or not re.search(r"\d", raw):
            raise _invalid(field, _("« %(text)s » n'est pas un montant en euros.") % {"text": text})
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise _invalid(
                field, _("« %(text)s » n'est pas un montant en euros.") % {"text": text}
            ) from None
    if not value.is_finite():
        raise _invalid(field, _("« %(text)s » n'est pas un montant en euros.") % {"text": text})
    if value < 0:
        raise _invalid(field, _("Le montant ne peut pas être négatif."))
    if maximum is not None and value >= maximum:
        raise _invalid(field, _("Montant trop élevé."))
    try:
        cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than a Decimal holds
        raise _invalid(field, _("Montant trop élevé.")) from None
    if value != cents:
        raise _invalid(field, _("Pas plus de deux chiffres après la virgule."))
    return cents


def format_amount(value: Decimal) -> str:
    """Decimal('1234.5') -> '1 234,50 €' in French, '1.234,50 €' in Spanish, '€1,234.50' in
    English: the amount as the reader's language writes it."""
    from django.utils.translation import get_language

    whole, _sep, cents = f"{value.quantize(CENT, rounding=ROUND_HALF_UP):.2f}".partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups: list[str] = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    lang = (get_language() or "fr").lower()
    if lang.startswith("en"):
        return f"{sign}€{','.join(groups) or '0'}.{cents}"
    thousands = "." if lang.startswith("es") else NARROW_NBSP
    return f"{sign}{thousands.join(groups) or '0'},{cents} €"
