"""Calendar months of a subscription: which days of a month it covers, what that costs, and
what credits it grants. Pure functions, shared by the subscription services, the credit
ledger and the billing run, so that the three always agree.

The pro-rata rule (one rule, everywhere): a subscription is billed per calendar month. The
days it covers in a month are the days between its start and its end that are not paused.
The invoice line's quantity is covered days ÷ days in the month, in months (unit MON),
rounded half-up to three decimals; its net amount is `amounts.line_net(quantity, monthly
price)` like any other line. So the PDF, the Factur-X XML, the JSON and the FEC all show
the same quantity × price = net, and the label says the exact fraction: « du 15/11/2026 au
30/11/2026 (16/30 jours) », quantity 0,533, 300,00 € → 159,90 € HT (the exact 16/30 would
be 160,00 €: the three-decimal quantity costs at most 0,05 % of the monthly price).

Monthly credits are prorated the same way and rounded down to half a unit: 10 desk days
a month, 16 days of 30 covered → 5,33 → 5 days; 8 room hours → 4,26 → 4 h. Never more
than what was paid for. An unlimited plan grants `UNLIMITED` whatever the days covered:
its lot is valid only on the days covered anyway.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Protocol

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _

from conciergerie.core.errors import InvalidInput

ONE_DAY = dt.timedelta(days=1)
QUANTITY_STEP = Decimal("0.001")
HALF = Decimal("0.5")
# An unlimited plan (Product.desk_days None) is a lot that cannot run out within a month;
# pages show it as « illimité ».
UNLIMITED = Decimal("999999")


class Covering(Protocol):
    start: dt.date
    end: dt.date | None
    paused_from: dt.date | None
    paused_until: dt.date | None


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def days_in_month(month: dt.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=days_in_month(month))


def next_month(month: dt.date) -> dt.date:
    return month_end(month) + ONE_DAY


def period_key(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text: str) -> dt.date:
    """'2026-11' → 2026-11-01; a clear error otherwise."""
    match = _PERIOD.match((text or "").strip())
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if 2000 <= year <= 2999 and 1 <= month <= 12:
            return dt.date(year, month, 1)
    raise InvalidInput(
        {"period": [_("Période attendue sous la forme AAAA-MM, par exemple 2026-11.")]}
    )


def is_paused(sub: Covering, day: dt.date) -> bool:
    if sub.paused_from is None or day < sub.paused_from:
        return False
    return sub.paused_until is None or day <= sub.paused_until


def covers(sub: Covering, day: dt.date) -> bool:
    """Whether the subscription runs, unpaused, on that day."""
    if day < sub.start or (sub.end is not None and day > sub.end):
        return False
    return not is_paused(sub, day)


@dataclass(frozen=True)
class Coverage:
    month: dt.date
    first: dt.date  # first day of the month within the subscription (pause or not)
    last: dt.date
    days: int  # days covered and not paused
    pause: tuple[dt.date, dt.date] | None  # the paused days within [first, last]

    @property
    def month_days(self) -> int:
        return days_in_month(self.month)

    @property
    def full(self) -> bool:
        return self.days == self.month_days


def coverage(sub: Covering, month: dt.date) -> Coverage | None:
    """The days of `month` the subscription covers, or None if it does not run that month."""
    month = month_of(month)
    first = max(month, sub.start)
    last = month_end(month) if sub.end is None else min(month_end(month), sub.end)
    if last < first:
        return None
    pause = None
    if sub.paused_from is not None:
        p_first = max(first, sub.paused_from)
        p_last = last if sub.paused_until is None else min(last, sub.paused_until)
        if p_first <= p_last:
            pause = (p_first, p_last)
    days = (last - first).days + 1
    if pause:
        days -= (pause[1] - pause[0]).days + 1
    return Coverage(month=month, first=first, last=last, days=days, pause=pause)


def prorata(cov: Coverage) -> Decimal:
    """The invoice line's quantity, in months: covered days ÷ days in the month, 3 decimals."""
    if cov.full:
        return Decimal("1")
    return (Decimal(cov.days) / Decimal(cov.month_days)).quantize(
        QUANTITY_STEP, rounding=ROUND_HALF_UP
    )


def prorated_credits(per_month: Decimal, cov: Coverage) -> Decimal:
    """A month's credits for the covered days, rounded down to half a unit."""
    if cov.full:
        return per_month
    exact = per_month * Decimal(cov.days) / Decimal(cov.month_days)
    return (exact / HALF).to_integral_value(rounding=ROUND_FLOOR) * HALF


def short_date(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


@functools.lru_cache(maxsize=256)
def month_label(month: dt.date) -> str:
    """'novembre 2026', in the place's language whoever runs the code (it goes on invoices)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(formats.date_format(month, "F Y"))


def plan_line_label(plan_name: str, cov: Coverage) -> str:
    """What the invoice line says: the month, or the exact days and their fraction."""
    with translation.override(settings.LANGUAGE_CODE):
        partial = cov.first != cov.month or cov.last != month_end(cov.month)
        if partial:
            span = _("du %(first)s au %(last)s") % {
                "first": short_date(cov.first),
                "last": short_date(cov.last),
            }
        else:
            span = month_label(cov.month)
        if cov.pause:
            span += ", " + _("hors pause du %(first)s au %(last)s") % {
                "first": short_date(cov.pause[0]),
                "last": short_date(cov.pause[1]),
            }
        if partial or cov.pause:
            span += " " + _("(%(days)s/%(total)s jours)") % {
                "days": cov.days,
                "total": cov.month_days,
            }
        return f"{plan_name} — {span}"
