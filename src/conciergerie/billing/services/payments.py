"""Money coming in: payments, their allocation to invoices, payment reminders.

A payment comes from one customer (a person or an organisation of the place). It is
allocated to that customer's issued invoices — the ones given, or else the oldest with
something left to pay first — never more than what is left on an invoice, never more than
the payment; what is not allocated stays as the customer's credit, to allocate later
(`payment_allocate`).

Allocating is serialised per place by the capacity guard (namespace `billing.pay`): what is
left on an invoice is read under the lock, so two payments recorded at the same instant
cannot both pay the same euros. Period closing takes the same lock (after `billing.issue`;
nothing here takes them in the other order).

Nothing is recorded or cancelled with a date in a closed period (BillingSettings
.closed_until). Allocating an older payment later stays possible: it matches entries that
exist, it writes none.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from conciergerie.billing.models import (
    BillingSettings,
    Invoice,
    Payment,
    PaymentAllocation,
    Reminder,
)
from conciergerie.billing.selectors.payments import (
    HALF_CENT,
    ZERO,
    customer_filter,
    open_invoices,
    with_amounts,
    with_reminders,
)
from conciergerie.billing.services.invoices import settings_for, today
from conciergerie.community.models import Organisation, Person
from conciergerie.core import capacity
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.mail import email_send_on_commit
from conciergerie.core.models import Place, User
from conciergerie.core.money import format_amount, parse_amount

PAY_NAMESPACE = "billing.pay"
MAX_AUTOMATIC_REMINDERS = 3


def _date_text(day: dt.date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def closed_period_error(billing: BillingSettings, day: dt.date, field: str) -> None:
    """Refuse `day` when it lies in the closed period."""
    if billing.closed_until and day <= billing.closed_until:
        raise InvalidInput(
            {
                field: [
                    _(
                        "La période est close jusqu'au %(date)s : rien ne s'y enregistre ni ne "
                        "s'y annule. Choisissez une date après la clôture."
                    )
                    % {"date": _date_text(billing.closed_until)}
                ]
            }
        )


def check_day(place: Place, value: Any, field: str) -> dt.date:
    """A date that is not in the future at the place (money is recorded once received)."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInput({field: [_("Indiquez une date.")]})
    if value > today(place):
        raise InvalidInput({field: [_("Cette date est dans le futur.")]})
    return value


def _check_customer(
    place: Place, person: Person | None, organisation: Organisation | None
) -> dict[str, list[str]]:
    if person is None and organisation is None:
        return {"customer": [_("Choisissez la personne ou l'organisation qui paie.")]}
    if person is not None and organisation is not None:
        return {"customer": [_("Un paiement vient d'une seule personne ou organisation.")]}
    who = person or organisation
    if who is not None and who.place_id != place.pk:
        return {"customer": [_("Ce client n'est pas de ce lieu.")]}
    return {}


def _parse_allocations(
    allocations: Sequence[tuple[Invoice, Any]],
) -> dict[int, tuple[Invoice, Decimal]]:
    """{invoice id: (invoice, amount)}; the same invoice given twice is one allocation."""
    wanted: dict[int, tuple[Invoice, Decimal]] = {}
    errors: dict[str, list[str]] = {}
    for index, (invoice, raw) in enumerate(allocations):
        field = f"allocations.{index}"
        try:
            amount = parse_amount(raw, field=field)
        except InvalidInput as exc:
            errors.update(exc.as_errors())
            continue
        if amount == 0:
            continue
        previous = wanted.get(invoice.pk, (invoice, ZERO))[1]
        wanted[invoice.pk] = (invoice, previous + amount)
    if errors:
        raise InvalidInput(errors)
    return wanted


def _allocate(
    payment: Payment,
    wanted: dict[int, tuple[Invoice, Decimal]] | None,
    available: Decimal,
) -> list[PaymentAllocation]:
    """Allocate up to `available` of `payment` (under the lock): to `wanted`, or else to the
    customer's oldest invoices with something left to pay."""
    invoices = open_invoices(payment.place).filter(
        customer_filter(person=payment.person, organisation=payment.organisation)
    )
    allocations: list[PaymentAllocation] = []
    if wanted is None:
        for invoice in invoices.filter(left__gt=HALF_CENT).order_by("issue_date", "sequence", "id"):
            if available <= 0:
                break
            amount = min(invoice.left, available)
            allocations.append(PaymentAllocation(payment=payment, invoice=invoice, amount=amount))
            available -= amount
    else:
        found = {i.pk: i for i in invoices.filter(pk__in=list(wanted))}
        errors: dict[str, list[str]] = {}
        total = ZERO
        for invoice_id, (given, amount) in wanted.items():
            field = f"allocations.{given.number or invoice_id}"
            invoice = found.get(invoice_id)
            if invoice is None:
                errors[field] = [
                    _("%(number)s n'est pas une facture émise de ce client.")
                    % {"number": given.number or _("Ce brouillon")}
                ]
                continue
            if amount > invoice.left:
                errors[field] = [
                    _("Il reste %(left)s à payer sur la facture %(number)s : pas plus.")
                    % {"left": format_amount(max(invoice.left, ZERO)), "number": invoice.number}
                ]
                continue
            total += amount
            allocations.append(PaymentAllocation(payment=payment, invoice=invoice, amount=amount))
        if not errors and total > available:
            errors["allocations"] = [
                _("Vous répartissez %(total)s, mais il n'y a que %(available)s à répartir.")
                % {"total": format_amount(total), "available": format_amount(available)}
            ]
        if errors:
            raise InvalidInput(errors)
    capacity.race_window()
    PaymentAllocation.objects.bulk_create(allocations)
    return allocations


def _allocation_text(allocations: Sequence[PaymentAllocation]) -> list[str]:
    return [f"{a.invoice.number} : {a.amount}" for a in allocations]


def payment_record(
    *,
    place: Place,
    by: User | None,
    method: str,
    amount: Any,
    received_on: Any,
    person: Person | None = None,
    organisation: Organisation | None = None,
    reference: str = "",
    note: str = "",
    allocations: Sequence[tuple[Invoice, Any]] | None = None,
) -> Payment:
    """Record a payment and allocate it (see the module's docstring). `allocations` None:
    automatically, oldest invoices first; an empty list: not at all (all of it is credit)."""
    errors = _check_customer(place, person, organisation)
    if method not in Payment.Method.values:
        errors["method"] = [_("Choisissez le moyen de paiement.")]
    try:
        value = parse_amount(amount)
        if value == 0:
            errors["amount"] = [_("Le montant doit être supérieur à zéro.")]
    except InvalidInput as exc:
        errors.update(exc.as_errors())
        value = ZERO
    try:
        day = check_day(place, received_on, "received_on")
    except InvalidInput as exc:
        errors.update(exc.as_errors())
    if len(reference) > 100:
        errors["reference"] = [_("100 caractères au plus.")]
    if len(note) > 255:
        errors["note"] = [_("255 caractères au plus.")]
    if errors:
        raise InvalidInput(errors)
    wanted = _parse_allocations(allocations) if allocations is not None else None
    with capacity.guarded(PAY_NAMESPACE, [place.pk]):
        closed_period_error(settings_for(place), day, "received_on")
        payment = Payment.objects.create(
            place=place,
            person=person,
            organisation=organisation,
            method=method,
            amount=value,
            received_on=day,
            reference=reference.strip(),
            note=note.strip(),
            created_by=by if by is not None and by.pk else None,
        )
        allocated = _allocate(payment, wanted, value)
        audit_record(
            place=place,
            actor=by,
            action="payment.record",
            target=payment,
            changes={
                "amount": [None, value],
                "received_on": [None, day],
                "allocations": [None, _allocation_text(allocated)],
            },
        )
    return payment


def payment_allocate(
    *,
    payment: Payment,
    by: User | None,
    allocations: Sequence[tuple[Invoice, Any]] | None = None,
) -> list[PaymentAllocation]:
    """Allocate what is left of a payment: to the given invoices, or automatically."""
    wanted = _parse_allocations(allocations) if allocations is not None else None
    with capacity.guarded(PAY_NAMESPACE, [payment.place_id]):
        payment = Payment.objects.select_related("place", "person", "organisation").get(
            pk=payment.pk
        )
        already = sum((a.amount for a in payment.allocations.all()), ZERO)
        available = payment.amount - already
        if available <= 0:
            raise Conflict(_("Ce paiement est déjà entièrement réparti sur des factures."))
        allocated = _allocate(payment, wanted, available)
        if not allocated:
            raise Conflict(_("Ce client n'a aucune facture qui reste à payer."))
        audit_record(
            place=payment.place,
            actor=by,
            action="payment.allocate",
            target=payment,
            changes={"allocations": [None, _allocation_text(allocated)]},
        )
    return allocated


def payment_cancel(*, payment: Payment, by: User | None, reason: str = "") -> None:
    """Remove a payment recorded by mistake, with its allocations (the invoices are owed
    again). Refused in a closed period. The audit log keeps what it was."""
    with capacity.guarded(PAY_NAMESPACE, [payment.place_id]):
        payment = Payment.objects.select_related("place").get(pk=payment.pk)
        closed_period_error(settings_for(payment.place), payment.received_on, "received_on")
        allocations = list(payment.allocations.select_related("invoice"))
        audit_record(
            place=payment.place,
            actor=by,
            action="payment.cancel",
            target=payment,
            changes={
                "amount": [payment.amount, None],
                "method": [payment.method, None],
                "received_on": [payment.received_on, None],
                "allocations": [_allocation_text(allocations), None],
                "reason": [None, reason.strip()[:255]],
            },
        )
        payment.delete()


# --- Reminders ------------------------------------------------------------------------------------


def _reminder_email(invoice: Invoice, billing: BillingSettings, left: Decimal, on: dt.date) -> str:
    seller = invoice.seller or {}
    due = invoice.due_date or on
    lines = [
        _("Bonjour %(name)s,") % {"name": invoice.buyer.get("name", "")},
        "",
        (
            _(
                "Sauf erreur de notre part, la facture %(number)s du %(issued)s, arrivée à "
                "échéance le %(due)s, n'est pas entièrement réglée."
            )
            if due < on
            else _(
                "Nous vous rappelons que la facture %(number)s du %(issued)s est à régler au plus "
                "tard le %(due)s."
            )
        )
        % {
            "number": invoice.number,
            "issued": formats.date_format(invoice.issue_date or on, "DATE_FORMAT"),
            "due": formats.date_format(due, "DATE_FORMAT"),
        },
        "",
        _("Reste à payer : %(left)s (montant de la facture : %(gross)s).")
        % {"left": format_amount(left), "gross": format_amount(invoice.total_gross)},
        "",
    ]
    iban = billing.iban or seller.get("iban", "")
    if iban:
        bic = billing.bic or seller.get("bic", "")
        lines.append(
            _(
                "Pour régler par virement : IBAN %(iban)s%(bic)s, en indiquant la référence %(number)s."
            )
            % {
                "iban": iban,
                "bic": (_(", BIC %(bic)s") % {"bic": bic}) if bic else "",
                "number": invoice.number,
            }
        )
        lines.append(_("Vous pouvez aussi régler sur place."))
    else:
        lines.append(
            _("Vous pouvez régler sur place, ou nous écrire pour convenir d'un règlement.")
        )
    lines += [
        "",
        _("Si vous avez réglé entre-temps, merci de ne pas tenir compte de ce message."),
        "",
        _("Bien cordialement,"),
        seller.get("name") or billing.legal_name or invoice.place.name,
    ]
    contact = " — ".join(x for x in (seller.get("email"), seller.get("phone")) if x)
    if contact:
        lines.append(contact)
    return "\n".join(lines)


def _remind(
    invoice_id: int, by: User | None, now: dt.datetime, *, every_days: int | None = None
) -> Reminder | None:
    """Send a reminder for an invoice, checked under the lock. With `every_days` (the
    chore), nothing is sent if one went out in that many last days, or after the third."""
    invoice = (
        with_reminders(
            with_amounts(
                Invoice.objects.filter(
                    pk=invoice_id, status=Invoice.Status.ISSUED, kind=Invoice.Kind.INVOICE
                )
            )
        )
        .select_related("place")
        .first()
    )
    if invoice is None:
        raise Conflict(_("Seules les factures émises se relancent."))
    if invoice.left <= HALF_CENT:
        raise Conflict(
            _("La facture %(number)s est réglée : pas de relance.") % {"number": invoice.number}
        )
    email = (invoice.buyer or {}).get("email", "")
    if not email:
        raise InvalidInput(
            {
                "email": [
                    _(
                        "Pas d'adresse e-mail pour le destinataire de cette facture : "
                        "relancez-le autrement."
                    )
                ]
            }
        )
    if every_days is not None:
        last = invoice.last_reminder_at
        if invoice.reminders_sent >= MAX_AUTOMATIC_REMINDERS or (
            last is not None and last > now - dt.timedelta(days=every_days)
        ):
            return None
    place = invoice.place
    reminder = Reminder.objects.create(
        invoice=invoice, sent_at=now, sent_by=by if by is not None and by.pk else None
    )
    audit_record(
        place=place,
        actor=by,
        action="invoice.reminder",
        target=invoice,
        changes={"left": [None, invoice.left], "to": [None, email]},
    )
    email_send_on_commit(
        place=place,
        to=[email],
        subject=_("Rappel : facture %(number)s, %(left)s restant à payer")
        % {"number": invoice.number, "left": format_amount(invoice.left)},
        body=_reminder_email(invoice, settings_for(place), invoice.left, _local_day(place, now)),
    )
    return reminder


def reminder_send(*, invoice: Invoice, by: User | None) -> Reminder:
    """E-mail the buyer a payment reminder for an issued invoice with something left to pay."""
    if not invoice.is_issued or invoice.is_credit_note:
        raise Conflict(_("Seules les factures émises se relancent."))
    with capacity.guarded(PAY_NAMESPACE, [invoice.place_id]):
        reminder = _remind(invoice.pk, by, timezone.now())
    assert reminder is not None
    return reminder


def reminders_due(*, now: dt.datetime | None = None) -> int:
    """The worker's chore: remind the buyer of every overdue invoice with something left to
    pay and an e-mail, when none was sent in the place's last `reminder_days` days (0: no
    automatic reminders), three times at most. Returns how many were sent."""
    now = now or timezone.now()
    # Due dates are local dates: a day's margin here, then each place's own today below.
    candidates = list(
        with_reminders(
            with_amounts(
                Invoice.objects.filter(
                    status=Invoice.Status.ISSUED,
                    kind=Invoice.Kind.INVOICE,
                    due_date__lt=now.date() + dt.timedelta(days=1),
                )
            )
        )
        .filter(left__gt=HALF_CENT, reminders_sent__lt=MAX_AUTOMATIC_REMINDERS)
        .select_related("place")
        .order_by("place_id", "due_date", "id")
    )
    billing: dict[int, BillingSettings] = {}
    sent = 0
    for invoice in candidates:
        place = invoice.place
        if place.pk not in billing:
            billing[place.pk] = settings_for(place)
        every = billing[place.pk].reminder_days
        if not every or not (invoice.buyer or {}).get("email"):
            continue
        if invoice.due_date is None or invoice.due_date >= _local_day(place, now):
            continue
        last = invoice.last_reminder_at
        if last is not None and last > now - dt.timedelta(days=every):
            continue
        try:
            with capacity.guarded(PAY_NAMESPACE, [place.pk]):
                if _remind(invoice.pk, None, now, every_days=every) is not None:
                    sent += 1
        except (Conflict, InvalidInput):
            continue  # paid, or changed, since the first read
    return sent


def _local_day(place: Place, now: dt.datetime) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")).date()
