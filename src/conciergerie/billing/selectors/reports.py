"""Revenue reports: where a place's money comes from, over a period and month by month.

- By stream (abonnements, locations, évènements, prestations, adhésions, autre): the net
  amounts (HT) of the lines of the invoices issued in the period, minus those of the credit
  notes issued in it (their lines are negative), per `InvoiceLine.stream`. One query.
- By kind of funding: own activity (the same net invoiced), public grants, private
  donations and sponsorship (`Funding`, by the day they were received). One more query.

Dates are issue dates (invoices, credit notes) and reception dates (grants, donations), both
included. Every figure, share and bar width is computed here; templates only show them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils import formats
from django.utils.translation import gettext as _

from conciergerie.billing.models import Funding, Invoice, InvoiceLine, Stream
from conciergerie.core.models import Place
from conciergerie.core.money import format_amount
from conciergerie.events.reports import Bar, percent, percent_text

ZERO = Decimal("0.00")
MAX_PERIOD_DAYS = 3 * 366

OWN, PUBLIC, PRIVATE = "activite", "public", "prive"
FUNDING_OF_KIND = {
    Funding.Kind.PUBLIC_GRANT: PUBLIC,
    Funding.Kind.DONATION: PRIVATE,
    Funding.Kind.SPONSORSHIP: PRIVATE,
}


def funding_labels() -> dict[str, str]:
    return {
        OWN: _("Activité propre (facturé HT)"),
        PUBLIC: _("Subventions publiques"),
        PRIVATE: _("Dons et mécénat"),
    }


def months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month from `start`'s to `end`'s."""
    result, month = [], start.replace(day=1)
    while month <= end:
        result.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return result


def _month(value: dt.date | dt.datetime) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    return day.replace(day=1)


@dataclass
class Share:
    """One category's amount over the period, its share of the whole and its bar."""

    key: str
    label: str
    amount: Decimal
    share: int | None
    bar: Bar

    @property
    def share_text(self) -> str:
        return percent_text(self.share)


@dataclass
class MonthRow:
    month: dt.date
    label: str
    cells: list[Decimal]  # in the order of the report's columns
    total: Decimal


@dataclass
class Breakdown:
    """Amounts per category over a period, and per month."""

    start: dt.date
    end: dt.date
    rows: list[Share]
    total: Decimal
    months: list[MonthRow]
    month_bars: list[Bar] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [row.label for row in self.rows]

    @property
    def bars(self) -> list[Bar]:
        return [row.bar for row in self.rows]

    @property
    def is_empty(self) -> bool:
        return not any(row.amount for row in self.rows)


def _breakdown(
    start: dt.date,
    end: dt.date,
    labels: dict[str, str],
    amounts: dict[tuple[dt.date, str], Decimal],
) -> Breakdown:
    """Shares (bar widths relative to the largest category) and the month table."""
    per_key: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (_month_key, key), amount in amounts.items():
        per_key[key] += amount
    total = sum(per_key.values(), ZERO)
    largest = max([v for v in per_key.values() if v > 0], default=ZERO)
    rows = [
        Share(
            key=key,
            label=label,
            amount=per_key[key],
            share=percent(per_key[key], total) if total > 0 else None,
            bar=Bar.of(
                label,
                per_key[key],
                largest,
                _("%(amount)s (%(share)s)")
                % {
                    "amount": format_amount(per_key[key]),
                    "share": percent_text(percent(per_key[key], total) if total > 0 else None),
                },
            ),
        )
        for key, label in labels.items()
    ]
    month_rows = []
    for month in months(start, end):
        cells = [amounts.get((month, key), ZERO) for key in labels]
        month_rows.append(
            MonthRow(
                month=month,
                label=formats.date_format(month, "YEAR_MONTH_FORMAT"),
                cells=cells,
                total=sum(cells, ZERO),
            )
        )
    busiest = max([m.total for m in month_rows if m.total > 0], default=ZERO)
    month_bars = [Bar.of(m.label, m.total, busiest, format_amount(m.total)) for m in month_rows]
    return Breakdown(
        start=start, end=end, rows=rows, total=total, months=month_rows, month_bars=month_bars
    )


def _net_by_month_and_stream(
    place: Place, start: dt.date, end: dt.date
) -> dict[tuple[dt.date, str], Decimal]:
    rows = (
        InvoiceLine.objects.filter(
            invoice__place=place,
            invoice__status=Invoice.Status.ISSUED,
            invoice__issue_date__range=(start, end),
        )
        .annotate(month=TruncMonth("invoice__issue_date"))
        .order_by()
        .values_list("month", "stream")
        .annotate(net=Sum("net_amount"))
    )
    result: dict[tuple[dt.date, str], Decimal] = defaultdict(lambda: ZERO)
    for month, stream, net in rows:
        result[(_month(month), stream)] += net or ZERO
    return result


def _fundings_by_month_and_kind(
    place: Place, start: dt.date, end: dt.date
) -> dict[tuple[dt.date, str], Decimal]:
    rows = (
        Funding.objects.filter(place=place, received_on__range=(start, end))
        .annotate(month=TruncMonth("received_on"))
        .order_by()
        .values_list("month", "kind")
        .annotate(total=Sum("amount"))
    )
    result: dict[tuple[dt.date, str], Decimal] = defaultdict(lambda: ZERO)
    for month, kind, total in rows:
        result[(_month(month), FUNDING_OF_KIND[kind])] += total or ZERO
    return result


def revenue_by_stream(place: Place, start: dt.date, end: dt.date) -> Breakdown:
    """Net invoiced (HT) per stream, credit notes deducted: one query."""
    labels = {str(value): str(label) for value, label in Stream.choices}
    return _breakdown(start, end, labels, _net_by_month_and_stream(place, start, end))


def revenue_by_funding(
    place: Place,
    start: dt.date,
    end: dt.date,
    *,
    streams: Breakdown | None = None,
) -> Breakdown:
    """Own activity vs public grants vs private donations and sponsorship: two queries, one
    when the stream breakdown of the same period is given (its net is the own activity)."""
    amounts = _fundings_by_month_and_kind(place, start, end)
    if streams is None:
        streams = revenue_by_stream(place, start, end)
    for row in streams.months:
        if row.total:
            amounts[(row.month, OWN)] += row.total
    return _breakdown(start, end, funding_labels(), amounts)


@dataclass
class RevenueReport:
    start: dt.date
    end: dt.date
    streams: Breakdown
    fundings: Breakdown


def revenue_report(place: Place, start: dt.date, end: dt.date) -> RevenueReport:
    """Both breakdowns of a period: two queries."""
    streams = revenue_by_stream(place, start, end)
    return RevenueReport(
        start=start,
        end=end,
        streams=streams,
        fundings=revenue_by_funding(place, start, end, streams=streams),
    )


def drafts_count(place: Place) -> int:
    """Drafts waiting to be issued (the closing form mentions them)."""
    return Invoice.objects.filter(place=place, status=Invoice.Status.DRAFT).count()
