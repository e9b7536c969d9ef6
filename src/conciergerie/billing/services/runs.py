"""The monthly billing run: `conciergerie billing run --period 2026-11 [--place slug]`.

For one place and one month it invoices, per customer (a person, or an organisation), in
ONE invoice:
- every month of a subscription due that month, prorated (see `billing/periods.py`), and
- consumption: confirmed bookings that started in the period or the month before (not billed
  by that month's runs), on or before the issue date, with an `amount_due`, for the part
  credits did not cover (amount_due × uncovered ÷ needed; see `services/credits.py`). So a
  run on the 1st bills the month's plans in advance and last month's bookings behind.

Then it issues them. Every line carries a charge key — "abo:<subscription uuid>:2026-11",
"resa:<booking uuid>" — unique in the database, so a charge is billed once: running twice
invoices nothing the second time, and a later run of the same period picks up only what is
new (bookings confirmed since, a subscription created since).

`Booking.amount_due` is all taxes included (TTC). Its line's net unit price is
`amounts.price_net_from_gross(amount, vat)`, where `vat` is that of the place's product for
that kind of resource (rooms: « heure de salle », machines: « heure machine », desks:
« pass journée », lending: « location »; the first active one by name), else 20 %; under
the VAT franchise, the amount itself. The line's gross may thus differ from the booking's
amount by a cent (EN 16931 rounds per line, net first).

Work goes in batches of `batch_size` customers. Each batch is one transaction under the
issuing lock (`billing.issue`, the place; subscription changes take it too): read the
batch's charges again (billed since, subscription changed, booking cancelled), write the
invoices and their lines with bulk inserts, already issued, and an audit entry per
invoice. Issuing follows exactly `invoices.invoices_issue`'s rules — next number of the
year's series read under the lock, issue and due dates, seller snapshot (`seller_of`),
buyer snapshot (`buyer_of`), totals (`amounts.totals`) and hash chain
(`chain.document_hash`) — but with a constant number of queries per batch instead of four
per invoice (tests/billing/test_billing_run.py proves both give the same documents). A run
that stops half-way (crash, Ctrl-C) keeps the batches it committed; the next run skips what
they billed and goes on, numbers and chain without a gap.

The month's plan credits are not written here: a lot is written when a booking first takes
from it, and `selectors.subscriptions.credit_balance` counts those not written yet.
"""

from __future__ import annotations

import datetime as dt
import sys
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Max, Q, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from conciergerie.billing import amounts, chain, periods
from conciergerie.billing.models import (
    BillingRun,
    BillingSettings,
    CreditKind,
    CreditUse,
    Invoice,
    InvoiceLine,
    Product,
    Stream,
    Subscription,
    Vat,
)
from conciergerie.billing.selectors.subscriptions import running_in, subscription_charge_key
from conciergerie.billing.services import credits
from conciergerie.billing.services.invoices import (
    ISSUE_NAMESPACE,
    _line_build,
    buyer_of,
    invoices_issue,
    seller_check,
    seller_of,
    settings_for,
    today,
)
from conciergerie.community.models import Organisation, Person
from conciergerie.core import capacity
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.models import AuditEntry, Place, User
from conciergerie.spaces.models import Booking, Resource

BATCH_SIZE = 500
KEYS_PER_QUERY = 2000
QUANTITY = Decimal("0.001")
PRODUCT_OF_RESOURCE: dict[str, str] = {
    Resource.Kind.ROOM: Product.Kind.ROOM_HOUR,
    Resource.Kind.MACHINE: Product.Kind.MACHINE_HOUR,
    Resource.Kind.DESK: Product.Kind.DAY_PASS,
    Resource.Kind.EQUIPMENT: Product.Kind.RENTAL,
}
CustomerKey = tuple[str, int]


@dataclass
class Charge:
    """One line to bill, not built yet."""

    key: str
    sort: tuple[Any, ...]
    subscription: Subscription | None = None
    coverage: periods.Coverage | None = None
    booking: Booking | None = None


@dataclass
class Customer:
    key: CustomerKey
    charges: list[Charge] = field(default_factory=list)
    person: Person | None = None
    organisation: Organisation | None = None


def _customer_key(person_id: int | None, organisation_id: int | None) -> CustomerKey | None:
    # A booking for an organisation is billed to it (same rule as the credits).
    if organisation_id is not None:
        return ("o", organisation_id)
    if person_id is not None:
        return ("p", person_id)
    return None


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _billed(keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(keys, KEYS_PER_QUERY):
        found.update(
            InvoiceLine.objects.filter(charge_key__in=chunk)
            # The unique index is partial (charge_key <> ''): say so, or it is not used.
            .exclude(charge_key="")
            .order_by()
            .values_list("charge_key", flat=True)
        )
    return found


def _local_bounds(place: Place, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")
    start = dt.datetime.combine(first, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(last + periods.ONE_DAY, dt.time(0), tzinfo=zone)
    return start, end


SUBSCRIPTION_COLUMNS = (
    "id",
    "uuid",
    "start",
    "end",
    "paused_from",
    "paused_until",
    "plan_id",
    "person_id",
    "organisation_id",
)


BOOKING_COLUMNS = (
    "uuid",
    "resource_id",
    "person_id",
    "organisation_id",
    "start_at",
    "end_at",
    "amount_due",
    "status",
)


@dataclass
class Context:
    place: Place
    month: dt.date
    on: dt.date
    by: User | None
    billing: BillingSettings
    zone: zoneinfo.ZoneInfo
    products: dict[int, Product]
    resources: dict[int, Resource]
    vat_of_resource: dict[str, tuple[Product | None, str]]


def _context(place: Place, month: dt.date, on: dt.date, by: User | None) -> Context:
    billing = settings_for(place)
    products = {p.pk: p for p in Product.objects.filter(place=place).order_by("name", "id")}
    of_kind: dict[str, Product] = {}
    for product in products.values():
        if product.active:
            of_kind.setdefault(product.kind, product)
    vat_of_resource: dict[str, tuple[Product | None, str]] = {}
    for resource_kind, product_kind in PRODUCT_OF_RESOURCE.items():
        found = of_kind.get(product_kind)
        vat = Vat.FRANCHISE if billing.vat_franchise else (found.vat if found else Vat.STANDARD)
        vat_of_resource[resource_kind] = (found, vat)
    return Context(
        place=place,
        month=month,
        on=on,
        by=by,
        billing=billing,
        zone=zoneinfo.ZoneInfo(place.timezone or "Europe/Paris"),
        products=products,
        resources={r.pk: r for r in Resource.objects.filter(place=place).only("name", "kind")},
        vat_of_resource=vat_of_resource,
    )


def _subscription_charge(ctx: Context, row: tuple[Any, ...]) -> tuple[CustomerKey, Charge] | None:
    columns = dict(zip(SUBSCRIPTION_COLUMNS, row, strict=True))
    sub = Subscription(place=ctx.place, plan=ctx.products[columns.pop("plan_id")], **columns)
    cov = periods.coverage(sub, ctx.month)
    key = _customer_key(sub.person_id, sub.organisation_id)
    if cov is None or cov.days == 0 or key is None:
        return None
    return key, Charge(
        subscription_charge_key(sub, ctx.month),
        (0, sub.start, sub.pk),
        subscription=sub,
        coverage=cov,
    )


def _booking_charge(ctx: Context, booking: Booking) -> tuple[CustomerKey, Charge] | None:
    key = _customer_key(booking.person_id, booking.organisation_id)
    if key is None or booking.status != Booking.Status.CONFIRMED or not booking.amount_due:
        return None
    booking.resource = ctx.resources[booking.resource_id]
    return key, Charge(f"resa:{booking.uuid}", (1, booking.start_at, booking.pk), booking=booking)


def _collect(ctx: Context) -> list[Customer]:
    """Every charge the period may bill, per customer, minus what is already billed: plain
    columns only (customers are loaded per batch), two queries plus one per 2,000 charges
    to check. Customers in a stable order: persons then organisations, by id.

    Bookings count once they have started, on or before the issue date: a run dated during
    the month bills the plans and what happened so far; a later run of the same period
    bills the rest."""
    customers: dict[CustomerKey, Customer] = {}
    found: list[tuple[CustomerKey, Charge] | None] = [
        _subscription_charge(ctx, row)
        for row in running_in(place=ctx.place, month=ctx.month).values_list(*SUBSCRIPTION_COLUMNS)
    ]
    last = min(periods.month_end(ctx.month), ctx.on)
    # The previous month too: a run on the 1st bills the plans ahead and last month's use
    # behind (what its own runs had not reached yet).
    first = periods.month_of(ctx.month - dt.timedelta(days=1))
    if last >= first:
        start, end = _local_bounds(ctx.place, first, last)
        bookings = (
            Booking.objects.filter(
                place=ctx.place,
                status=Booking.Status.CONFIRMED,
                start_at__gte=start,
                start_at__lt=end,
                amount_due__gt=0,
            )
            .filter(Q(person__isnull=False) | Q(organisation__isnull=False))
            .only(*BOOKING_COLUMNS)
            .order_by("start_at", "id")
        )
        found += [_booking_charge(ctx, booking) for booking in bookings]
    for item in found:
        if item is not None:
            customers.setdefault(item[0], Customer(item[0])).charges.append(item[1])
    billed = _billed([c.key for who in customers.values() for c in who.charges])
    for who in customers.values():
        who.charges = [c for c in who.charges if c.key not in billed]
    return sorted((who for who in customers.values() if who.charges), key=lambda c: c.key)


def _refresh(ctx: Context, batch: Sequence[Customer]) -> None:
    """Under the lock, read the batch's charges again (two queries): what is billed since,
    a subscription changed or a booking cancelled since `_collect` is left out. Changes to
    subscriptions take the same lock, so what is billed is what they say at commit."""
    billed = _billed([c.key for who in batch for c in who.charges])
    sub_ids = [c.subscription.pk for who in batch for c in who.charges if c.subscription]
    booking_ids = [c.booking.pk for who in batch for c in who.charges if c.booking]
    fresh: dict[str, Charge] = {}
    if sub_ids:
        for row in Subscription.objects.filter(pk__in=sub_ids).values_list(*SUBSCRIPTION_COLUMNS):
            item = _subscription_charge(ctx, row)
            if item is not None:
                fresh[item[1].key] = item[1]
    if booking_ids:
        for booking in Booking.objects.filter(pk__in=booking_ids).only(*BOOKING_COLUMNS):
            item = _booking_charge(ctx, booking)
            if item is not None:
                fresh[item[1].key] = item[1]
    for who in batch:
        who.charges = [fresh[c.key] for c in who.charges if c.key in fresh and c.key not in billed]


def _load_customers(batch: Sequence[Customer]) -> None:
    """The batch's persons and organisations, with what the buyer snapshot needs."""
    people = [who.key[1] for who in batch if who.key[0] == "p"]
    organisations = [who.key[1] for who in batch if who.key[0] == "o"]
    found_people = (
        Person.objects.only("place_id", "first_name", "last_name", "email").in_bulk(people)
        if people
        else {}
    )
    found_organisations = (
        Organisation.objects.only("place_id", "name", "email", "siret").in_bulk(organisations)
        if organisations
        else {}
    )
    for who in batch:
        if who.key[0] == "p":
            who.person = found_people[who.key[1]]
        else:
            who.organisation = found_organisations[who.key[1]]


def _plan_line(ctx: Context, invoice: Invoice, charge: Charge) -> InvoiceLine:
    sub, cov = charge.subscription, charge.coverage
    assert sub is not None and cov is not None
    line = _line_build(
        invoice=invoice,
        product=sub.plan,
        label=periods.plan_line_label(sub.plan.name, cov),
        quantity=periods.prorata(cov),
        unit_price=None,
        vat=None,
        unit=Product.Unit.MONTH,
        period_start=cov.first,
        period_end=cov.last,
        charge_key=charge.key,
        billing=ctx.billing,
    )
    line.subscription = sub
    return line


def _booking_line(
    ctx: Context, invoice: Invoice, charge: Charge, covered: Decimal
) -> InvoiceLine | None:
    booking = charge.booking
    assert booking is not None and booking.amount_due is not None
    kind, need = credits.credit_need(booking, ctx.zone)
    gross = booking.amount_due
    uncovered = need - covered
    if covered > 0 and need > 0:
        if uncovered <= 0:
            return None
        gross = amounts.cents(booking.amount_due * uncovered / need)
    if gross <= 0:
        return None
    product, vat = ctx.vat_of_resource.get(booking.resource.kind, (None, Vat.STANDARD))
    start, end = booking.start_at.astimezone(ctx.zone), booking.end_at.astimezone(ctx.zone)
    label = f"{booking.resource.name} — {start:%d/%m/%Y %H:%M}–{end:%H:%M}"
    if covered > 0:
        unit = _("j") if kind == CreditKind.DESK_DAYS else _("h")
        label += " " + _("(%(left)s %(unit)s sur %(need)s non couverts par vos crédits)") % {
            "left": formats.number_format(uncovered.normalize()),
            "need": formats.number_format(need.normalize()),
            "unit": unit,
        }
    return _line_build(
        invoice=invoice,
        product=product,
        label=label,
        quantity=1,
        unit_price=amounts.price_net_from_gross(gross, vat),
        vat=vat,
        unit=Product.Unit.PIECE,
        period_start=start.date(),
        period_end=end.date(),
        charge_key=charge.key,
        stream=product.stream if product is not None else Stream.RENTALS,
        billing=ctx.billing,
    )


def _stored(line: InvoiceLine) -> InvoiceLine:
    """Values exactly as the database gives them back, so the hash computed now is the one
    `chain_verify` recomputes from the rows ("1" is read back as "1.000")."""
    line.quantity = line.quantity.quantize(QUANTITY)
    line.unit_price = amounts.cents(line.unit_price)
    line.net_amount = amounts.cents(line.net_amount)
    return line


def _drafts(ctx: Context, batch: Sequence[Customer]) -> list[tuple[Invoice, list[InvoiceLine]]]:
    """Unsaved invoices and their lines for a batch of customers (one query: credit uses)."""
    booking_ids = [c.booking.pk for who in batch for c in who.charges if c.booking is not None]
    covered: dict[int, Decimal] = {}
    for chunk in _chunks(booking_ids, KEYS_PER_QUERY):
        covered.update(
            CreditUse.objects.filter(booking_id__in=chunk)
            .values_list("booking_id")
            .annotate(n=Sum("quantity"))
            .order_by()
        )
    period_end = periods.month_end(ctx.month)
    out = []
    for who in batch:
        invoice = Invoice(
            place=ctx.place,
            kind=Invoice.Kind.INVOICE,
            person=who.person,
            organisation=who.organisation,
            period_start=ctx.month,
            period_end=period_end,
            buyer=buyer_of(person=who.person, organisation=who.organisation),
            created_by=ctx.by if ctx.by is not None and ctx.by.pk else None,
        )
        lines: list[InvoiceLine] = []
        for charge in sorted(who.charges, key=lambda c: c.sort):
            if charge.subscription is not None:
                line: InvoiceLine | None = _plan_line(ctx, invoice, charge)
            else:
                assert charge.booking is not None
                line = _booking_line(
                    ctx, invoice, charge, covered.get(charge.booking.pk) or Decimal("0")
                )
            if line is not None:
                line.position = len(lines) + 1
                lines.append(_stored(line))
        if lines:
            out.append((invoice, lines))
    return out


def _series_start(place: Place, on: dt.date) -> tuple[int, str, int]:
    """Under the lock: the chain's last position and hash, and the next invoice number of
    `on`'s year — refused if the series already has a later issue date."""
    last = (
        Invoice.objects.filter(place=place, chain_position__isnull=False)
        .order_by("-chain_position")
        .values_list("chain_position", "chain_hash")
        .first()
    )
    latest = (
        Invoice.objects.filter(place=place, kind=Invoice.Kind.INVOICE, year=on.year)
        .exclude(sequence=None)
        .aggregate(m=Max("sequence"), d=Max("issue_date"))
    )
    if latest["d"] and latest["d"] > on:
        raise Conflict(
            _(
                "Une facture de cette série est déjà datée du %(date)s : les numéros suivent "
                "l'ordre des dates."
            )
            % {"date": formats.date_format(latest["d"], "SHORT_DATE_FORMAT")}
        )
    position, previous = (last[0] or 0, last[1]) if last else (0, "")
    return position, previous, (latest["m"] or 0) + 1


def _issue_fast(ctx: Context, drafts: list[tuple[Invoice, list[InvoiceLine]]]) -> list[Invoice]:
    """Issue the batch as `invoices_issue` would, in bulk: already issued when inserted."""
    position, previous, sequence = _series_start(ctx.place, ctx.on)
    seller = seller_of(ctx.place, ctx.billing)
    now = timezone.now()
    by = ctx.by if ctx.by is not None and ctx.by.pk else None
    due = ctx.on + dt.timedelta(days=ctx.billing.payment_days)
    invoices = []
    for invoice, lines in drafts:
        if not invoice.buyer.get("name"):
            raise InvalidInput({"buyer.name": [_("Indiquez le nom du destinataire.")]})
        figures = amounts.totals(lines)
        position += 1
        invoice.status = Invoice.Status.ISSUED
        invoice.year = ctx.on.year
        invoice.sequence = sequence
        invoice.number = f"{Invoice.PREFIX[Invoice.Kind.INVOICE]}{ctx.on.year}-{sequence:05d}"
        invoice.issue_date = ctx.on
        invoice.due_date = due
        invoice.seller = seller
        invoice.buyer = {**invoice.buyer, "country": invoice.buyer.get("country") or "FR"}
        invoice.total_net, invoice.total_vat, invoice.total_gross = (
            figures.net,
            figures.vat,
            figures.gross,
        )
        invoice.issued_at = now
        invoice.issued_by = by
        invoice.chain_position = position
        invoice.previous_hash = previous
        invoice.chain_hash = chain.document_hash(invoice, lines, previous)
        previous = invoice.chain_hash
        sequence += 1
        invoices.append(invoice)
    Invoice.objects.bulk_create(invoices)
    for invoice, lines in drafts:
        for line in lines:
            line.invoice = invoice
    InvoiceLine.objects.bulk_create([line for _inv, lines in drafts for line in lines])
    # The entry `audit_record` writes for each invoice issued, in one INSERT.
    AuditEntry.objects.bulk_create(
        AuditEntry(
            place=ctx.place,
            actor=by,
            actor_label=by.email if by is not None else "système",
            action="invoice.issue",
            target_type="invoice",
            target_uuid=invoice.uuid,
            target_label=str(invoice)[:254],
            changes={"total_gross": [None, str(invoice.total_gross)]},
        )
        for invoice in invoices
    )
    return invoices


def _issue_with_service(
    ctx: Context, drafts: list[tuple[Invoice, list[InvoiceLine]]]
) -> list[Invoice]:
    """The reference path: drafts and lines in bulk, then one `invoices_issue` call."""
    Invoice.objects.bulk_create([invoice for invoice, _lines in drafts])
    for invoice, lines in drafts:
        for line in lines:
            line.invoice = invoice
    InvoiceLine.objects.bulk_create([line for _inv, lines in drafts for line in lines])
    return invoices_issue(
        place=ctx.place, invoices=[invoice for invoice, _lines in drafts], by=ctx.by, on=ctx.on
    )


def _batch(ctx: Context, batch: Sequence[Customer], issue: str) -> int:
    """One transaction: read the charges again under the lock, write and issue."""
    with capacity.guarded(ISSUE_NAMESPACE, [ctx.place.pk]):
        _refresh(ctx, batch)
        batch = [who for who in batch if who.charges]
        _load_customers(batch)
        drafts = _drafts(ctx, batch)
        if not drafts:
            return 0
        issued = (_issue_fast if issue == "fast" else _issue_with_service)(ctx, drafts)
        return len(issued)


def billing_run(
    *,
    place: Place,
    period: dt.date,
    by: User | None = None,
    on: dt.date | None = None,
    batch_size: int = BATCH_SIZE,
    progress: bool = False,
    issue: str = "fast",
    after_batch: Callable[[int], None] | None = None,
) -> BillingRun:
    """Invoice and issue everything `period` (any day of the month) owes at `place`, dated
    `on` (default: today). Returns the run, with how many invoices it created.

    `issue="service"` issues each batch through `invoices_issue` (slower; the tests compare
    both). `after_batch(n)` is called after batch n is committed (tests stop a run there)."""
    month = periods.month_of(period)
    on = on or today(place)
    if batch_size < 1:
        raise InvalidInput({"batch_size": [_("Au moins une facture par lot.")]})
    billing = settings_for(place)
    if billing.closed_until and on <= billing.closed_until:
        raise Conflict(
            _("La période est close jusqu'au %(date)s : impossible d'émettre à cette date.")
            % {"date": formats.date_format(billing.closed_until, "SHORT_DATE_FORMAT")}
        )
    ctx = _context(place, month, on, by)
    customers = _collect(ctx)
    if customers:  # a place with nothing to bill needs no legal identity yet
        seller_check(place, billing)
    run = BillingRun.objects.create(place=place, period=month)
    bar = tqdm(
        total=len(customers),
        desc=f"{place.slug} {periods.period_key(month)}",
        unit=" client",
        disable=not progress,
        file=sys.stderr,
        leave=False,
    )
    try:
        for number, batch in enumerate(_chunks(customers, batch_size), start=1):
            created = _batch(ctx, batch, issue)
            if created:
                run.invoices_created += created
                BillingRun.objects.filter(pk=run.pk).update(invoices_created=run.invoices_created)
            bar.update(len(batch))
            if after_batch is not None:
                after_batch(number)
    finally:
        bar.close()
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at", "invoices_created"])
    audit_record(
        place=place,
        actor=by,
        action="billing.run",
        target=place,
        changes={
            "period": [None, periods.period_key(month)],
            "invoices_created": [None, run.invoices_created],
        },
    )
    return run
