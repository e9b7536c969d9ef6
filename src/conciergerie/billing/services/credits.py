"""The credit ledger: what plans and packs give, what confirmed bookings take.

- A monthly plan grants, per subscription month, one `CreditLot` per kind it includes (desk
  days, room hours, machine hours), valid on the days of that month the subscription covers
  and prorated for a partial month (see `billing/periods.py`; `desk_days=None` is unlimited).
  A lot is written when first needed — a booking taking from it — and its paused days
  give nothing; `selectors.subscriptions.credit_balance` counts the lots not written yet.
- A pack (`Product` of kind `carnet`) grants one lot when its invoice is issued:
  `pack_sell` invoices and issues it at the counter; `pack_lots_grant` does it for an invoice
  issued another way.
- `credits_take(booking=…)` runs when a booking becomes confirmed (signal
  `spaces.signals.booking_confirmed`, inside the booking's transaction): it takes what the
  booking needs from its customer's lots valid on the booking's day, the lot expiring first
  first. A desk takes 1 desk day per day it touches, a room or a machine its duration in
  hours. Partial coverage is allowed; the rest of `Booking.amount_due` stays billable
  (in proportion), and the billing run invoices it.
- `credits_give_back(booking=…)` runs when a booking is cancelled (`booking_cancelled`): the
  credits come back if the cancellation came within the resource's policy (before its
  `cancel_minutes` deadline) or from the place (a closure); otherwise they stay used.

Both are idempotent: they read the booking's uses (a use is a row per lot, negative when
given back) and only write the difference. The customer of a booking is its organisation
when it has one (a partner booking), else its person — the same rule as the billing run.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.billing import periods
from conciergerie.billing.models import (
    CreditKind,
    CreditLot,
    CreditUse,
    Invoice,
    InvoiceLine,
    Product,
    Subscription,
)
from conciergerie.billing.selectors.subscriptions import PLAN_FIELD, customer_filter
from conciergerie.community.models import Organisation, Person
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import InvalidInput
from conciergerie.core.models import Place, User
from conciergerie.spaces.models import Booking, Resource

KIND_OF_RESOURCE: dict[str, str] = {
    Resource.Kind.DESK: CreditKind.DESK_DAYS,
    Resource.Kind.ROOM: CreditKind.ROOM_HOURS,
    Resource.Kind.MACHINE: CreditKind.MACHINE_HOURS,
}
HOUR_STEP = Decimal("0.01")
ZERO = Decimal("0")
MAX_PACKS = 100


# --- What a plan grants ---------------------------------------------------------------------


def plan_credits(plan: Product, kind: str) -> Decimal | None:
    """A month of the plan's credits of `kind` (UNLIMITED for unlimited desks), or None."""
    per_month = getattr(plan, PLAN_FIELD[CreditKind(kind)])
    if kind == CreditKind.DESK_DAYS and per_month is None:
        return periods.UNLIMITED
    return per_month if per_month and per_month > 0 else None


def plan_lots(subscription: Subscription, month: dt.date) -> list[CreditLot]:
    """The lots (unsaved) a subscription's month grants: one per kind the plan includes,
    valid from its first to its last day in the month, prorated on the unpaused days."""
    cov = periods.coverage(subscription, month)
    if cov is None or cov.days == 0:
        return []
    lots = []
    for kind in PLAN_FIELD:
        per_month = plan_credits(subscription.plan, kind)
        if per_month is None:
            continue
        quantity = (
            per_month
            if per_month >= periods.UNLIMITED
            else periods.prorated_credits(per_month, cov)
        )
        if quantity <= 0:
            continue
        lots.append(
            CreditLot(
                place_id=subscription.place_id,
                person_id=subscription.person_id,
                organisation_id=subscription.organisation_id,
                kind=kind,
                quantity=quantity,
                valid_from=cov.first,
                valid_until=cov.last,
                subscription=subscription,
                label=f"{subscription.plan.name} — {periods.month_label(cov.month)}",
            )
        )
    return lots


def plan_lots_grant(subscriptions: list[Subscription], month: dt.date) -> None:
    """Write the month's lots of these subscriptions, those not written yet (one INSERT)."""
    lots = [lot for sub in subscriptions for lot in plan_lots(sub, month)]
    if lots:
        CreditLot.objects.bulk_create(lots, batch_size=500, ignore_conflicts=True)


# --- What a booking takes -------------------------------------------------------------------


def customer_of(booking: Booking) -> tuple[Person | None, Organisation | None]:
    if booking.organisation_id is not None:
        return None, booking.organisation
    return booking.person, None


def local_day(booking: Booking, zone: zoneinfo.ZoneInfo) -> dt.date:
    return booking.start_at.astimezone(zone).date()


def credit_need(booking: Booking, zone: zoneinfo.ZoneInfo) -> tuple[str | None, Decimal]:
    """The kind of credit a booking uses and how much: a desk 1 day per local day it
    touches, a room or a machine its hours (to the hundredth). Lending uses none."""
    kind = KIND_OF_RESOURCE.get(booking.resource.kind)
    if kind is None:
        return None, ZERO
    if kind == CreditKind.DESK_DAYS:
        first = booking.start_at.astimezone(zone).date()
        last = (booking.end_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
        return kind, Decimal((last - first).days + 1)
    seconds = Decimal(str((booking.end_at - booking.start_at).total_seconds()))
    return kind, (seconds / 3600).quantize(HOUR_STEP, rounding=ROUND_HALF_UP)


def _zone(booking: Booking) -> zoneinfo.ZoneInfo:
    # Through the resource: the spaces services load it with its place.
    return zoneinfo.ZoneInfo(booking.resource.place.timezone or "Europe/Paris")


def _use_note(booking: Booking, zone: zoneinfo.ZoneInfo) -> str:
    start, end = booking.start_at.astimezone(zone), booking.end_at.astimezone(zone)
    return f"{booking.resource.name}, {start:%d/%m/%Y %H:%M}–{end:%H:%M}"[:200]


def _net_uses(booking: Booking) -> tuple[dict[int, Decimal], str]:
    """Net quantity per lot the booking holds, and the note of its latest taking."""
    net: dict[int, Decimal] = defaultdict(Decimal)
    note = ""
    for lot_id, quantity, use_note in (
        CreditUse.objects.filter(booking=booking)
        .order_by("id")
        .values_list("lot_id", "quantity", "note")
    ):
        net[lot_id] += quantity
        if quantity > 0:
            note = use_note
    return {k: v for k, v in net.items() if v != 0}, note


def _reverse(booking: Booking | None, net: dict[int, Decimal], note: str) -> Decimal:
    CreditUse.objects.bulk_create(
        CreditUse(lot_id=lot_id, booking=booking, quantity=-quantity, note=note[:200])
        for lot_id, quantity in net.items()
        if quantity > 0
    )
    return sum((q for q in net.values() if q > 0), ZERO)


def covered_by_credits(booking: Booking) -> Decimal:
    return sum(_net_uses(booking)[0].values(), ZERO)


def credits_take(*, booking: Booking) -> Decimal:
    """Take what a confirmed booking needs from its customer's lots; returns how much it now
    holds. Called again for the same booking and times, it changes nothing; for a booking
    moved to other times, it gives back what it held and takes again."""
    if booking.status != Booking.Status.CONFIRMED:
        return ZERO
    person, organisation = customer_of(booking)
    if person is None and organisation is None:
        return ZERO
    zone = _zone(booking)
    kind, need = credit_need(booking, zone)
    if kind is None or need <= 0:
        return ZERO
    note = _use_note(booking, zone)
    with transaction.atomic():
        held, last_note = _net_uses(booking)
        if held and last_note == note:
            return sum(held.values(), ZERO)
        if held:
            _reverse(booking, held, _("Rendu : réservation déplacée"))
        day = local_day(booking, zone)
        who = customer_filter(person, organisation)
        subs = list(
            Subscription.objects.filter(who, place_id=booking.place_id, start__lte=day)
            .filter(Q(end__isnull=True) | Q(end__gte=day))
            .select_related("plan")
        )
        paused = {s.pk for s in subs if periods.is_paused(s, day)}
        giving = [s for s in subs if s.pk not in paused and plan_credits(s.plan, kind) is not None]
        if giving:
            plan_lots_grant(giving, periods.month_of(day))
        lots = list(
            CreditLot.objects.select_for_update()
            .filter(who, place_id=booking.place_id, kind=kind)
            .filter(valid_from__lte=day, valid_until__gte=day)
            .exclude(subscription_id__in=paused)
            .order_by("valid_until", "id")
        )
        if not lots:
            return ZERO
        used = dict(
            CreditUse.objects.filter(lot__in=lots)
            .values_list("lot_id")
            .annotate(n=Sum("quantity"))
            .order_by()
        )
        wanted, uses = need, []
        for lot in lots:
            left = lot.quantity - (used.get(lot.pk) or ZERO)
            if left <= 0:
                continue
            take = min(left, wanted)
            uses.append(CreditUse(lot=lot, booking=booking, quantity=take, note=note))
            wanted -= take
            if wanted <= 0:
                break
        CreditUse.objects.bulk_create(uses)
        return need - wanted


def within_policy(booking: Booking) -> bool:
    """Cancelled before the resource's deadline (`cancel_minutes` before the start)."""
    at = booking.cancelled_at or timezone.now()
    return at <= booking.start_at - dt.timedelta(minutes=booking.resource.cancel_minutes)


def credits_give_back(*, booking: Booking, force: bool = False) -> Decimal:
    """Give back what a cancelled booking took, if cancelled within the resource's policy
    (or `force`: the place cancelled it). Returns what came back; a second call gives 0."""
    if not force and not within_policy(booking):
        return ZERO
    with transaction.atomic():
        held, _note = _net_uses(booking)
        return _reverse(booking, held, _("Rendu : réservation annulée"))


# --- When a subscription changes ------------------------------------------------------------


def lots_resync(*, subscription: Subscription, since: dt.date) -> None:
    """After a pause, a resumption, a cancellation or a change of plan: set the lots already
    written for the months from `since` on to what the subscription now grants, and give
    back what bookings on days it no longer covers had taken."""
    lots = list(
        CreditLot.objects.filter(
            subscription=subscription, valid_until__gte=periods.month_of(since)
        ).order_by("id")
    )
    if not lots:
        return
    zone = zoneinfo.ZoneInfo(subscription.place.timezone)
    uses: dict[int, list[CreditUse]] = defaultdict(list)
    for use in CreditUse.objects.filter(lot__in=lots).select_related("booking").order_by("id"):
        uses[use.lot_id].append(use)
    for lot in lots:
        target = {
            new.kind: new for new in plan_lots(subscription, periods.month_of(lot.valid_from))
        }.get(lot.kind)
        if target is None:
            lot.delete()  # the month is no longer covered: its uses go with it
            continue
        per_booking: dict[int | None, Decimal] = defaultdict(Decimal)
        bookings: dict[int | None, Booking | None] = {}
        for use in uses[lot.pk]:
            per_booking[use.booking_id] += use.quantity
            bookings[use.booking_id] = use.booking
        gone = []
        for booking_id, quantity in per_booking.items():
            booking = bookings[booking_id]
            day = local_day(booking, zone) if booking is not None else None
            if (
                quantity > 0
                and day is not None
                and not (
                    target.valid_from <= day <= target.valid_until
                    and periods.covers(subscription, day)
                )
            ):
                gone.append(
                    CreditUse(
                        lot=lot,
                        booking=booking,
                        quantity=-quantity,
                        note=_("Rendu : jour hors abonnement"),
                    )
                )
                per_booking[booking_id] = ZERO
        CreditUse.objects.bulk_create(gone)
        held = sum(per_booking.values(), ZERO)
        lot.quantity = max(target.quantity, held)
        lot.valid_until = target.valid_until
        lot.label = target.label
        lot.save(update_fields=["quantity", "valid_until", "label"])


# --- Packs ----------------------------------------------------------------------------------


def _pack_lot(line: InvoiceLine, invoice: Invoice) -> CreditLot | None:
    product = line.product
    if product is None or product.kind != Product.Kind.PACK or not product.pack_kind:
        return None
    if line.quantity <= 0 or product.pack_quantity <= 0 or invoice.issue_date is None:
        return None
    start = invoice.issue_date
    return CreditLot(
        place_id=invoice.place_id,
        person_id=invoice.person_id,
        organisation_id=invoice.organisation_id,
        kind=product.pack_kind,
        quantity=product.pack_quantity * line.quantity,
        valid_from=start,
        valid_until=start + dt.timedelta(days=max(product.pack_valid_days, 1) - 1),
        invoice_line=line,
        label=f"{product.name} — {invoice.number}",
    )


def pack_lots_grant(*, invoice: Invoice, by: User | None = None) -> list[CreditLot]:
    """The lots of the packs an issued invoice sells, those not granted yet (idempotent)."""
    if invoice.status != Invoice.Status.ISSUED or invoice.is_credit_note:
        return []
    with transaction.atomic():
        lines = list(invoice.lines.select_related("product").order_by("position", "id"))
        done = set(
            CreditLot.objects.filter(invoice_line__in=lines).values_list(
                "invoice_line_id", flat=True
            )
        )
        lots = [
            lot
            for lot in (_pack_lot(line, invoice) for line in lines if line.pk not in done)
            if lot is not None
        ]
        CreditLot.objects.bulk_create(lots)
        for lot in lots:
            audit_record(
                place=invoice.place,
                actor=by,
                action="credits.pack_grant",
                target=invoice,
                changes={"credits": [None, f"{lot.quantity} {CreditKind(lot.kind).label}"]},
            )
    return lots


def pack_sell(
    *,
    place: Place,
    by: User | None,
    product: Product,
    person: Person | None = None,
    organisation: Organisation | None = None,
    quantity: Any = 1,
    on: dt.date | None = None,
) -> tuple[Invoice, list[CreditLot]]:
    """Sell packs at the counter: an invoice with the pack's line, issued, and the credits
    it gives, valid from the issue date for the pack's validity. All or nothing."""
    from conciergerie.billing.services import invoices

    errors: dict[str, list[str]] = {}
    if product.place_id != place.pk:
        errors["product"] = [_("Ce produit n'est pas de ce lieu.")]
    elif product.kind != Product.Kind.PACK:
        errors["product"] = [_("Ce produit n'est pas un carnet prépayé.")]
    elif not product.pack_kind or product.pack_quantity <= 0:
        errors["product"] = [_("Ce carnet ne dit pas ce qu'il crédite : complétez le produit.")]
    elif not product.active:
        errors["product"] = [_("Ce carnet n'est plus en vente.")]
    try:
        count = int(str(quantity).strip())
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_PACKS:
        errors["quantity"] = [
            _("Nombre de carnets : un entier de 1 à %(max)s.") % {"max": MAX_PACKS}
        ]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        invoice = invoices.invoice_draft_create(
            place=place, by=by, person=person, organisation=organisation
        )
        invoices.invoice_line_add(invoice=invoice, by=by, product=product, quantity=count)
        invoice = invoices.invoice_issue(invoice=invoice, by=by, on=on)
        pack_lots_grant(invoice=invoice, by=by)  # issuing granted them already: a no-op
        lots = list(CreditLot.objects.filter(invoice_line__invoice=invoice).order_by("id"))
    return invoice, lots
