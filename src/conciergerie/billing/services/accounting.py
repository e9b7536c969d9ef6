"""Period closing, grants and donations.

Closing a period (`period_close`, admins only) locks every day up to and including
`until`:
- no invoice or credit note is issued with a date in it (`invoice_issue` refuses), no
  payment is recorded or cancelled with a date in it, no grant or donation is recorded or
  deleted in it: the FEC and the journal of a closed period never change again;
- it only moves forward: a closed period is never reopened from the application;
- only a finished period closes: `until` is before today at the place;
- drafts stay drafts: a draft has no date (its number and date are given at issue), so it
  is not "in" the period even when it bills days of it (a month billed late); issued
  afterwards, it is dated after the closing. The closing page tells how many drafts exist;
- allocating a payment received before the closing to an invoice stays possible: it only
  matches entries that exist (lettering), it writes none.

Closing takes the issuing lock then the payments lock of the place, so nothing is issued,
paid or recorded in the period while it closes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _

from conciergerie.billing.models import BillingSettings, Funding
from conciergerie.billing.services.invoices import ISSUE_NAMESPACE, settings_for, today
from conciergerie.billing.services.payments import PAY_NAMESPACE, check_day, closed_period_error
from conciergerie.core import capacity, permissions
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, InvalidInput, PermissionDenied
from conciergerie.core.models import Place, User
from conciergerie.core.money import parse_amount


def period_close(*, place: Place, by: User | None, until: Any) -> BillingSettings:
    """Close the place's accounts up to and including `until` (see the module's docstring)."""
    if by is not None and by.pk and not permissions.can(by, "billing.close", place):
        raise PermissionDenied(_("Seul·e un·e administrateur·ice du lieu peut clôturer."))
    if isinstance(until, dt.datetime) or not isinstance(until, dt.date):
        raise InvalidInput({"until": [_("Indiquez une date.")]})
    if until >= today(place):
        raise InvalidInput(
            {
                "until": [
                    _("Seule une période terminée se clôt : choisissez une date avant aujourd'hui.")
                ]
            }
        )
    with (
        capacity.guarded(ISSUE_NAMESPACE, [place.pk]),
        capacity.guarded(PAY_NAMESPACE, [place.pk]),
    ):
        billing = BillingSettings.objects.filter(pk=settings_for(place).pk).get()
        before = billing.closed_until
        if before is not None and until <= before:
            raise Conflict(
                _(
                    "Les comptes sont déjà clos jusqu'au %(date)s : une clôture ne revient pas "
                    "en arrière."
                )
                % {"date": formats.date_format(before, "SHORT_DATE_FORMAT")}
            )
        billing.closed_until = until
        billing.save(update_fields=["closed_until"])
        audit_record(
            place=place,
            actor=by,
            action="billing.period_close",
            target=billing,
            target_type="billingsettings",
            changes={"closed_until": [before, until]},
        )
    return billing


def funding_record(
    *,
    place: Place,
    by: User | None,
    kind: str,
    funder: str,
    amount: Any,
    received_on: Any,
    purpose: str = "",
) -> Funding:
    """Record a grant or a donation received (not in a closed period)."""
    errors: dict[str, list[str]] = {}
    if kind not in Funding.Kind.values:
        errors["kind"] = [_("Choisissez : subvention publique, don privé ou mécénat.")]
    funder = (funder or "").strip()
    if not funder:
        errors["funder"] = [_("Indiquez qui a versé cet argent.")]
    elif len(funder) > 200:
        errors["funder"] = [_("200 caractères au plus.")]
    purpose = (purpose or "").strip()
    if len(purpose) > 255:
        errors["purpose"] = [_("255 caractères au plus.")]
    try:
        value = parse_amount(amount)
        if value == 0:
            errors["amount"] = [_("Le montant doit être supérieur à zéro.")]
    except InvalidInput as exc:
        errors.update(exc.as_errors())
    try:
        day = check_day(place, received_on, "received_on")
    except InvalidInput as exc:
        errors.update(exc.as_errors())
    if errors:
        raise InvalidInput(errors)
    with capacity.guarded(PAY_NAMESPACE, [place.pk]):
        closed_period_error(settings_for(place), day, "received_on")
        funding = Funding.objects.create(
            place=place, kind=kind, funder=funder, amount=value, received_on=day, purpose=purpose
        )
        audit_record(
            place=place,
            actor=by,
            action="funding.record",
            target=funding,
            changes={"kind": [None, kind], "amount": [None, value], "received_on": [None, day]},
        )
    return funding


def funding_delete(*, funding: Funding, by: User | None) -> None:
    """Delete a grant or donation recorded by mistake (not in a closed period)."""
    with capacity.guarded(PAY_NAMESPACE, [funding.place_id]):
        funding = Funding.objects.select_related("place").get(pk=funding.pk)
        closed_period_error(settings_for(funding.place), funding.received_on, "received_on")
        audit_record(
            place=funding.place,
            actor=by,
            action="funding.delete",
            target=funding,
            changes={
                "kind": [funding.kind, None],
                "funder": [funding.funder, None],
                "amount": [funding.amount, None],
                "received_on": [funding.received_on, None],
            },
        )
        funding.delete()
