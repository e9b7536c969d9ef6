"""The one rounding rule of every invoice, credit note, PDF, Factur-X XML, JSON and FEC.

EN 16931: a line's net amount is quantity × net unit price rounded to the cent (BR-DEC-23);
the VAT of each (category, rate) group is the sum of its lines' nets times the rate, rounded
to the cent (BR-CO-17); the invoice's totals are sums of those rounded figures. Half-cents
round away from zero (arrondi commercial), on credit notes too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from django.utils.translation import gettext as _

from conciergerie.billing.models import Vat
from conciergerie.core.errors import InvalidInput

CENT = Decimal("0.01")
HUNDRED = Decimal("100")

FRANCHISE_TEXT = "TVA non applicable, art. 293 B du CGI"
EXEMPT_TEXT = "Exonération de TVA"


@dataclass(frozen=True)
class VatTerms:
    """EN 16931 terms of a VAT treatment: category code (UNTDID 5305), rate, and for
    exempt categories the reason text and code (VATEX)."""

    category: str
    rate: Decimal
    exemption_reason: str = ""
    exemption_code: str = ""


VAT_TERMS: dict[str, VatTerms] = {
    Vat.STANDARD: VatTerms("S", Decimal("20.00")),
    Vat.INTERMEDIATE: VatTerms("S", Decimal("10.00")),
    Vat.REDUCED: VatTerms("S", Decimal("5.50")),
    Vat.EXEMPT: VatTerms("E", Decimal("0.00"), EXEMPT_TEXT, ""),
    Vat.FRANCHISE: VatTerms("E", Decimal("0.00"), FRANCHISE_TEXT, "VATEX-FR-FRANCHISE"),
}


def vat_terms(vat: str) -> VatTerms:
    try:
        return VAT_TERMS[vat]
    except KeyError:
        raise InvalidInput(
            {
                "vat": [
                    _("Taux de TVA inconnu : « %(vat)s ». Taux possibles : %(known)s.")
                    % {"vat": vat, "known": ", ".join(v.value for v in Vat)}
                ]
            }
        ) from None


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return cents(quantity * unit_price)


class _Line(Protocol):
    vat: str
    net_amount: Decimal


@dataclass(frozen=True)
class VatGroup:
    vat: str
    terms: VatTerms
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    net: Decimal
    vat: Decimal
    gross: Decimal
    groups: list[VatGroup]


def totals(lines: Iterable[_Line]) -> Totals:
    """The VAT breakdown (one group per category and rate) and the totals."""
    bases: dict[tuple[str, Decimal], tuple[str, Decimal]] = {}
    for line in lines:
        terms = vat_terms(line.vat)
        key = (terms.category, terms.rate)
        vat, base = bases.get(key, (line.vat, Decimal("0")))
        bases[key] = (vat, base + line.net_amount)
    groups = [
        VatGroup(vat=vat, terms=vat_terms(vat), base=base, amount=cents(base * rate / HUNDRED))
        for (_cat, rate), (vat, base) in sorted(bases.items(), key=lambda kv: kv[0][1])
    ]
    net = sum((g.base for g in groups), Decimal("0.00"))
    vat_total = sum((g.amount for g in groups), Decimal("0.00"))
    return Totals(net=net, vat=vat_total, gross=net + vat_total, groups=groups)


def price_net_from_gross(gross: Decimal, vat: str) -> Decimal:
    """A net unit price from an all-taxes-included one (bookings and tickets are priced TTC):
    rounded to the cent, so the line's gross may differ from `gross` by a cent."""
    return cents(gross * HUNDRED / (HUNDRED + vat_terms(vat).rate))
