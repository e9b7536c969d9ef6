"""Subscriptions to monthly plans: create, pause, resume, cancel, change plan.

A subscription is billed per calendar month by the billing run, prorated on the days it
covers (see `billing/periods.py` for the one rule). What is already invoiced never changes:
a pause, a resumption, a cancellation or a change of plan may only affect days after the
last month invoiced (drafts included); to give money back for an invoiced month, make a
credit note on its invoice. The credits already granted as lots follow each change
(`credits.lots_resync`).

Writes take the place's issuing lock (`billing.issue`, the capacity guard), the one the
billing run holds while it bills a batch: a subscription cannot change between the moment
the run reads it and the moment its invoice is written, and two concurrent requests cannot
both create the same subscription. They are short and rare, so sharing it costs nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.billing import periods
from conciergerie.billing.models import Invoice, InvoiceLine, Product, Subscription
from conciergerie.billing.selectors.subscriptions import (
    customer_filter,
    last_invoiced_line,
    running_in,
    subscription_charge_key,
)
from conciergerie.billing.services import credits
from conciergerie.billing.services.invoices import ISSUE_NAMESPACE, today
from conciergerie.community.models import Organisation, Person
from conciergerie.core import capacity
from conciergerie.core.audit import audit_record, diff, snapshot
from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.models import Place, User

FIELDS = ["plan", "start", "end", "paused_from", "paused_until"]
PLAUSIBLE_YEARS = 10


def _guard(place_id: int) -> Any:
    return capacity.guarded(ISSUE_NAMESPACE, [place_id])


def _date(value: Any, field: str, errors: dict[str, list[str]], place: Place) -> dt.date | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str) and value.strip():
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.date):
        errors[field] = [_("Date attendue (AAAA-MM-JJ).")]
        return None
    now = today(place)
    if abs(value.year - now.year) > PLAUSIBLE_YEARS:
        errors[field] = [
            _("Date invraisemblable : %(date)s.") % {"date": periods.short_date(value)}
        ]
        return None
    return value


def _check_plan(place: Place, plan: Any, errors: dict[str, list[str]]) -> None:
    if not isinstance(plan, Product) or plan.place_id != place.pk:
        errors["plan"] = [_("Ce forfait n'est pas de ce lieu.")]
    elif plan.kind != Product.Kind.PLAN:
        errors["plan"] = [_("Ce produit n'est pas un forfait mensuel.")]
    elif not plan.active:
        errors["plan"] = [_("Ce forfait n'est plus en vente.")]


def _invoiced_conflict(subscription: Subscription, first_changed: dt.date) -> None:
    """Refuse a change touching a day of a month already invoiced."""
    line = last_invoiced_line(subscription)
    if line is None or line.period_start is None:
        return
    until = periods.month_end(line.period_start)
    if first_changed > until:
        return
    invoice = line.invoice
    raise Conflict(
        _(
            "%(month)s est déjà facturé pour cet abonnement (%(invoice)s) : rien ne peut changer "
            "jusqu'au %(until)s. Pour rembourser des jours déjà facturés, faites un avoir sur "
            "cette facture."
        )
        % {
            "month": periods.month_label(line.period_start).capitalize(),
            "invoice": invoice.number if invoice.number else _("brouillon en cours"),
            "until": periods.short_date(until),
        }
    )


def _overlap(
    *,
    place: Place,
    plan: Product,
    person: Person | None,
    organisation: Organisation | None,
    start: dt.date,
    end: dt.date | None,
    exclude: int | None = None,
) -> Subscription | None:
    qs = Subscription.objects.filter(
        customer_filter(person, organisation), place=place, plan=plan
    ).filter(Q(end__isnull=True) | Q(end__gte=start))
    if end is not None:
        qs = qs.filter(start__lte=end)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.order_by("start").first()


def _overlap_error(found: Subscription) -> Conflict:
    return Conflict(
        _(
            "Un abonnement « %(plan)s » existe déjà sur cette période pour ce client (depuis le "
            "%(start)s) : changez-en le forfait ou résiliez-le d'abord."
        )
        % {"plan": found.plan.name, "start": periods.short_date(found.start)}
    )


def subscription_create(
    *,
    place: Place,
    by: User | None,
    plan: Product,
    person: Person | None = None,
    organisation: Organisation | None = None,
    start: Any,
    end: Any = None,
) -> Subscription:
    """Subscribe a person or an organisation to a monthly plan from `start` (until `end`,
    included, or until cancelled: it renews each month)."""
    errors: dict[str, list[str]] = {}
    _check_plan(place, plan, errors)
    if (person is None) == (organisation is None):
        errors["customer"] = [_("Choisissez la personne ou l'organisation abonnée (une seule).")]
    else:
        who = organisation if organisation is not None else person
        if who is not None and who.place_id != place.pk:
            errors["customer"] = [_("Ce client n'est pas de ce lieu.")]
    start = _date(start, "start", errors, place)
    if end is not None and end != "":
        end = _date(end, "end", errors, place)
        if start and end and end < start:
            errors["end"] = [_("La fin précède le début.")]
    else:
        end = None
    if errors:
        raise InvalidInput(errors)
    assert start is not None
    with _guard(place.pk):
        found = _overlap(
            place=place, plan=plan, person=person, organisation=organisation, start=start, end=end
        )
        if found is not None:
            raise _overlap_error(found)
        subscription = Subscription.objects.create(
            place=place,
            person=person,
            organisation=organisation,
            plan=plan,
            start=start,
            end=end,
            created_by=by if by is not None and by.pk else None,
        )
        audit_record(
            place=place,
            actor=by,
            action="subscription.create",
            target=subscription,
            changes={k: [None, v] for k, v in snapshot(subscription, FIELDS).items() if v},
        )
    return subscription


def _locked(subscription: Subscription) -> Subscription:
    return Subscription.objects.select_related("place", "plan", "person", "organisation").get(
        pk=subscription.pk
    )


def _pause_clamped(subscription: Subscription) -> None:
    """Keep the pause within the subscription once its end moved earlier."""
    end = subscription.end
    if subscription.paused_from is None or end is None:
        return
    if subscription.paused_from > end:
        subscription.paused_from = subscription.paused_until = None
    elif subscription.paused_until is None or subscription.paused_until > end:
        subscription.paused_until = end


def _saved(
    subscription: Subscription,
    *,
    by: User | None,
    action: str,
    before: dict[str, Any],
    since: dt.date,
    fields: list[str],
) -> Subscription:
    """Save, bring the credit lots in line from `since`, record the change."""
    subscription.save(update_fields=fields)
    credits.lots_resync(subscription=subscription, since=since)
    audit_record(
        place=subscription.place,
        actor=by,
        action=action,
        target=subscription,
        changes=diff(before, snapshot(subscription, FIELDS)),
    )
    return subscription


def subscription_pause(
    *, subscription: Subscription, by: User | None, start: Any, end: Any = None
) -> Subscription:
    """Pause from `start` to `end` included (None: until resumed). Paused days are not billed
    and give no credits. A new pause replaces the previous one."""
    with _guard(subscription.place_id):
        subscription = _locked(subscription)
        place = subscription.place
        errors: dict[str, list[str]] = {}
        start = _date(start, "start", errors, place)
        end = _date(end, "end", errors, place) if end not in (None, "") else None
        if start and end and end < start:
            errors["end"] = [_("La fin de la pause précède son début.")]
        if start and start < subscription.start:
            errors["start"] = [
                _("L'abonnement commence le %(date)s : la pause ne peut pas commencer avant.")
                % {"date": periods.short_date(subscription.start)}
            ]
        if start and subscription.end is not None:
            if start > subscription.end:
                errors["start"] = [
                    _("L'abonnement finit le %(date)s : rien à mettre en pause après.")
                    % {"date": periods.short_date(subscription.end)}
                ]
            elif end is None or end > subscription.end:
                end = subscription.end
        if errors:
            raise InvalidInput(errors)
        assert start is not None
        _invoiced_conflict(subscription, start)
        before = snapshot(subscription, FIELDS)
        subscription.paused_from, subscription.paused_until = start, end
        return _saved(
            subscription,
            by=by,
            action="subscription.pause",
            before=before,
            since=start,
            fields=["paused_from", "paused_until"],
        )


def subscription_resume(
    *, subscription: Subscription, by: User | None, on: Any = None
) -> Subscription:
    """End the pause: the subscription runs again from `on` (default: today)."""
    with _guard(subscription.place_id):
        subscription = _locked(subscription)
        place = subscription.place
        errors: dict[str, list[str]] = {}
        on = _date(on if on not in (None, "") else today(place), "on", errors, place)
        if errors:
            raise InvalidInput(errors)
        assert on is not None
        paused_from, paused_until = subscription.paused_from, subscription.paused_until
        if paused_from is None or (paused_until is not None and paused_until < on):
            raise Conflict(_("Cet abonnement n'est pas en pause à cette date."))
        first_changed = max(on, paused_from)
        _invoiced_conflict(subscription, first_changed)
        before = snapshot(subscription, FIELDS)
        if on <= paused_from:
            subscription.paused_from = subscription.paused_until = None
        else:
            subscription.paused_until = on - periods.ONE_DAY
        return _saved(
            subscription,
            by=by,
            action="subscription.resume",
            before=before,
            since=first_changed,
            fields=["paused_from", "paused_until"],
        )


def subscription_cancel(
    *, subscription: Subscription, by: User | None, end: Any = None
) -> Subscription | None:
    """End the subscription on `end`, included (default: the end of the current month, or of
    the last month invoiced if later). It cannot end before what is already invoiced: make a
    credit note for that. A subscription cancelled before it starts, never invoiced, is
    removed (returns None)."""
    with _guard(subscription.place_id):
        subscription = _locked(subscription)
        place = subscription.place
        now = today(place)
        line = last_invoiced_line(subscription)
        invoiced = periods.month_end(line.period_start) if line and line.period_start else None
        errors: dict[str, list[str]] = {}
        if end in (None, ""):
            end = max(periods.month_end(now), invoiced or now)
            if subscription.end is not None:
                end = min(end, subscription.end)
        else:
            end = _date(end, "end", errors, place)
        if errors:
            raise InvalidInput(errors)
        assert isinstance(end, dt.date)
        if subscription.end is not None and subscription.end < now:
            raise Conflict(
                _("Cet abonnement est déjà terminé (le %(date)s).")
                % {"date": periods.short_date(subscription.end)}
            )
        if subscription.end is not None and end > subscription.end:
            raise InvalidInput(
                {
                    "end": [
                        _(
                            "L'abonnement finit déjà le %(date)s : la résiliation ne le prolonge pas."
                        )
                        % {"date": periods.short_date(subscription.end)}
                    ]
                }
            )
        _invoiced_conflict(subscription, end + periods.ONE_DAY)
        before = snapshot(subscription, FIELDS)
        if end < subscription.start:
            audit_record(
                place=place,
                actor=by,
                action="subscription.cancel",
                target=subscription,
                changes={**{k: [v, None] for k, v in before.items() if v}, "deleted": [None, True]},
            )
            subscription.delete()  # never started, never invoiced: nothing to keep
            return None
        subscription.end = end
        subscription.cancelled_at = timezone.now()
        _pause_clamped(subscription)
        return _saved(
            subscription,
            by=by,
            action="subscription.cancel",
            before=before,
            since=end + periods.ONE_DAY,
            fields=["end", "cancelled_at", "paused_from", "paused_until"],
        )


def subscription_change_plan(
    *, subscription: Subscription, by: User | None, plan: Product, on: Any
) -> Subscription:
    """Move to another plan on `on`: the current subscription ends the day before, a new one
    starts that day and `replaces` it (same customer, same end, the rest of any pause). In
    the month of the change each is billed for its own days."""
    with _guard(subscription.place_id):
        old = _locked(subscription)
        place = old.place
        # A subscription is replaced once (`replaces` is one-to-one): a second change on it
        # would also contradict the one already planned. The successor is where to act.
        successor = Subscription.objects.filter(replaces=old).select_related("plan").first()
        if successor is not None:
            raise Conflict(
                _(
                    "Un changement de forfait est déjà prévu pour cet abonnement : « %(plan)s » "
                    "à partir du %(date)s. Modifiez plutôt l'abonnement qui le remplace."
                )
                % {"plan": successor.plan.name, "date": periods.short_date(successor.start)}
            )
        errors: dict[str, list[str]] = {}
        _check_plan(place, plan, errors)
        if not errors and plan.pk == old.plan_id:
            errors["plan"] = [_("C'est déjà le forfait de cet abonnement.")]
        on = _date(on, "on", errors, place)
        if on is not None:
            if on <= old.start:
                errors["on"] = [
                    _(
                        "L'abonnement commence le %(date)s : le changement de forfait se fait "
                        "après ce jour."
                    )
                    % {"date": periods.short_date(old.start)}
                ]
            elif old.end is not None and on > old.end:
                errors["on"] = [
                    _("L'abonnement finit le %(date)s : trop tard pour changer de forfait.")
                    % {"date": periods.short_date(old.end)}
                ]
        if errors:
            raise InvalidInput(errors)
        assert on is not None
        _invoiced_conflict(old, on)
        found = _overlap(
            place=place,
            plan=plan,
            person=old.person,
            organisation=old.organisation,
            start=on,
            end=old.end,
            exclude=old.pk,
        )
        if found is not None:
            raise _overlap_error(found)
        before = snapshot(old, FIELDS)
        new = Subscription(
            place=place,
            person=old.person,
            organisation=old.organisation,
            plan=plan,
            start=on,
            end=old.end,
            replaces=old,
            created_by=by if by is not None and by.pk else None,
        )
        # The pause, split at the change: its days before stay with the old subscription.
        if old.paused_from is not None and (old.paused_until is None or old.paused_until >= on):
            new.paused_from, new.paused_until = max(old.paused_from, on), old.paused_until
        old.end = on - periods.ONE_DAY
        _pause_clamped(old)
        old.cancelled_at = timezone.now()
        old.save(update_fields=["end", "cancelled_at", "paused_from", "paused_until"])
        new.save()
        credits.lots_resync(subscription=old, since=on)
        audit_record(
            place=place,
            actor=by,
            action="subscription.change_plan",
            target=old,
            changes={**diff(before, snapshot(old, FIELDS)), "replaced_by": [None, str(new.uuid)]},
        )
        audit_record(
            place=place,
            actor=by,
            action="subscription.create",
            target=new,
            changes={
                **{k: [None, v] for k, v in snapshot(new, FIELDS).items() if v},
                "replaces": [None, str(old.uuid)],
            },
        )
    return new


@dataclass(frozen=True)
class PlanMonth:
    """The month of a subscription that a plan line added by hand to a draft pays for."""

    subscription: Subscription
    coverage: periods.Coverage
    charge_key: str
    billed_by: Invoice | None  # the invoice that already bills that month, if any

    def line_fields(self) -> dict[str, Any]:
        """What `invoice_line_add` needs so that the billing run skips that month."""
        return {
            "subscription": self.subscription,
            "charge_key": self.charge_key,
            "period_start": self.coverage.first,
            "period_end": self.coverage.last,
        }

    def billed_message(self) -> str:
        invoice = self.billed_by
        return _(
            "%(month)s de l'abonnement « %(plan)s » est déjà facturé à ce client (%(invoice)s)."
        ) % {
            "month": periods.month_label(self.coverage.month).capitalize(),
            "plan": self.subscription.plan.name,
            "invoice": invoice.number if invoice and invoice.number else _("brouillon en cours"),
        }


def plan_month_for_line(*, invoice: Invoice, product: Product | None) -> PlanMonth | None:
    """When a monthly plan is added by hand to a draft whose customer subscribes to it, the
    line pays for that subscription's month — the draft's period, else the current month —
    and carries its charge key, or the billing run would bill the month again. None when the
    product is not a plan or no subscription to it runs that month. Three queries at most."""
    if (
        product is None
        or product.kind != Product.Kind.PLAN
        or invoice.kind != Invoice.Kind.INVOICE
        or invoice.status != Invoice.Status.DRAFT
        or (invoice.person_id is None and invoice.organisation_id is None)
    ):
        return None
    place = invoice.place
    month = periods.month_of(invoice.period_start or today(place))
    if invoice.organisation_id is not None:
        who = Q(organisation_id=invoice.organisation_id)
    else:
        who = Q(person_id=invoice.person_id, organisation__isnull=True)
    for sub in running_in(place=place, month=month).filter(who, plan=product):
        cov = periods.coverage(sub, month)
        if cov is None:
            continue
        key = subscription_charge_key(sub, month)
        line = InvoiceLine.objects.filter(charge_key=key).select_related("invoice").first()
        return PlanMonth(sub, cov, key, line.invoice if line is not None else None)
    return None
