"""Co-financing campaigns for commons: a goal, an end date, pledges from people and places.
No money moves here: a pledge is a promise, cancelled by its author while the campaign runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from conciergerie.commons.models import Campaign, Commons, Pledge
from conciergerie.commons.selectors.campaigns import today_at
from conciergerie.core import permissions
from conciergerie.core.audit import audit_record, diff, snapshot
from conciergerie.core.errors import Conflict, InvalidInput, PermissionDenied
from conciergerie.core.models import Place, User
from conciergerie.core.money import format_amount

CENT = Decimal("0.01")
GOAL_MIN = Decimal("1.00")
GOAL_MAX = Decimal("10000000.00")
PLEDGE_MIN = Decimal("1.00")
PLEDGE_MAX = Decimal("1000000.00")
TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
NAME_MAX = 200
CAMPAIGN_FIELDS = ["commons", "title", "description", "goal", "ends_on"]


def _amount(
    value: Any, *, field: str, low: Decimal, high: Decimal, errors: dict[str, list[str]]
) -> Decimal:
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        amount = Decimal("NaN")
    if isinstance(value, bool) or not amount.is_finite():
        errors[field] = [_("Indiquez un montant en euros, par exemple 12,50.")]
        return Decimal("0")
    try:
        rounded: Decimal | None = amount.quantize(CENT)
    except InvalidOperation:  # more digits than a Decimal holds: far out of range
        rounded = None
    if rounded is not None and amount != rounded:
        errors[field] = [_("Pas plus de deux chiffres après la virgule.")]
    elif rounded is None or not low <= amount <= high:
        errors[field] = [
            _("Le montant va de %(low)s à %(high)s.")
            % {"low": format_amount(low), "high": format_amount(high)}
        ]
    return rounded if rounded is not None and field not in errors else amount


def _campaign_clean(
    *,
    place: Place,
    commons: Commons | None,
    title: Any,
    description: Any,
    goal: Any,
    ends_on: Any,
    creating: bool,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if commons is None or commons.place_id != place.pk:
        errors["commons"] = [_("Choisissez le commun à financer.")]
    elif commons.status != Commons.Status.VALIDATED:
        errors["commons"] = [_("Ce commun n'est pas (ou plus) validé dans le catalogue.")]
    title = " ".join(str(title or "").split())
    if not title:
        errors["title"] = [_("Donnez un titre à la campagne.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("Trop long (%(n)s caractères au plus).") % {"n": TITLE_MAX}]
    description = str(description or "").replace("\r\n", "\n").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [
            _("Trop long (%(n)s caractères au plus).") % {"n": DESCRIPTION_MAX}
        ]
    goal = _amount(goal, field="goal", low=GOAL_MIN, high=GOAL_MAX, errors=errors)
    if not isinstance(ends_on, dt.date) or isinstance(ends_on, dt.datetime):
        errors["ends_on"] = [_("Indiquez la date de fin.")]
    elif creating and ends_on < today_at(place):
        errors["ends_on"] = [_("La date de fin est déjà passée.")]
    if errors:
        raise InvalidInput(errors)
    return {
        "commons": commons,
        "title": title,
        "description": description,
        "goal": goal,
        "ends_on": ends_on,
    }


def campaign_create(
    *,
    place: Place,
    by: User | None,
    commons: Commons | None,
    title: str,
    description: str,
    goal: Decimal,
    ends_on: dt.date,
) -> Campaign:
    clean = _campaign_clean(
        place=place,
        commons=commons,
        title=title,
        description=description,
        goal=goal,
        ends_on=ends_on,
        creating=True,
    )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            place=place, created_by=by if by is not None and by.pk else None, **clean
        )
        audit_record(
            place=place,
            actor=by,
            action="campaign.create",
            target=campaign,
            changes=diff({}, snapshot(campaign, ["commons", "title", "goal", "ends_on"])),
        )
    return campaign


def campaign_update(
    *,
    campaign: Campaign,
    by: User | None,
    commons: Commons | None,
    title: str,
    description: str,
    goal: Decimal,
    ends_on: dt.date,
) -> Campaign:
    """Change a campaign; its end date may move (even to today, to close it early)."""
    place = campaign.place
    clean = _campaign_clean(
        place=place,
        commons=commons,
        title=title,
        description=description,
        goal=goal,
        ends_on=ends_on,
        creating=False,
    )
    with transaction.atomic():
        current = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("commons")
            .get(pk=campaign.pk)
        )
        before = snapshot(current, CAMPAIGN_FIELDS)
        for key, value in clean.items():
            setattr(current, key, value)
        changes = diff(before, snapshot(current, CAMPAIGN_FIELDS))
        if not changes:
            return current
        current.save()
        if "description" in changes:
            changes["description"] = ["…", "…"]  # the text itself stays out of the log
        audit_record(
            place=place, actor=by, action="campaign.update", target=current, changes=changes
        )
    return current


def _closed_message(campaign: Campaign) -> str:
    return _(
        "Cette campagne est terminée depuis le %(date)s : elle ne reçoit plus de promesses."
    ) % {"date": formats.date_format(campaign.ends_on, "j F Y")}


def _open_campaign(campaign: Campaign) -> Campaign:
    """The campaign, locked against a concurrent change of its end date; refused once over."""
    current = (
        Campaign.objects.select_for_update(of=("self",)).select_related("place").get(pk=campaign.pk)
    )
    if current.ends_on < today_at(current.place):
        raise Conflict(_closed_message(current))
    return current


def pledge_create(
    *,
    campaign: Campaign,
    by: User | None,
    amount: Decimal,
    pledger_name: str,
    pledger_email: str,
    public: bool,
    pledger_place: Place | None = None,
) -> Pledge:
    """A promise to give, as a person (by name, shown only if `public`) or on behalf of a
    place where `by` is concierge or admin (always shown by the place's name)."""
    errors: dict[str, list[str]] = {}
    value = _amount(amount, field="amount", low=PLEDGE_MIN, high=PLEDGE_MAX, errors=errors)
    email = str(pledger_email or "").strip().lower()
    if pledger_place is not None:
        if permissions.level(by, pledger_place) < permissions.Level.CONCIERGE:
            raise PermissionDenied(
                _("Seule l'équipe d'un lieu (concierge ou admin) promet au nom du lieu."),
                field="pledger_place",
            )
        name = pledger_place.name
        email = email or pledger_place.email
        public = True
    else:
        name = " ".join(str(pledger_name or "").split())
        if not name:
            errors["pledger_name"] = [_("Indiquez votre nom.")]
        elif len(name) > NAME_MAX:
            errors["pledger_name"] = [_("Trop long (%(n)s caractères au plus).") % {"n": NAME_MAX}]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["pledger_email"] = [_("Adresse e-mail invalide.")]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        current = _open_campaign(campaign)
        pledge = Pledge.objects.create(
            campaign=current,
            pledger_place=pledger_place,
            pledger_name=name[:NAME_MAX],
            pledger_email=email,
            amount=value,
            public=bool(public),
            created_by=by if by is not None and by.pk else None,
        )
        audit_record(
            place=current.place,
            actor=by,
            action="pledge.create",
            target=current,
            changes={"amount": [None, value], "pledger": [None, name]},
        )
    return pledge


def pledge_cancel(*, pledge: Pledge, by: User | None) -> None:
    """Withdraw a promise: its author, or the campaign's managers, while the campaign runs."""
    with transaction.atomic():
        current = _open_campaign(pledge.campaign)
        own = by is not None and by.pk is not None and pledge.created_by_id == by.pk
        if not own and not permissions.can(by, "campaign.manage", current.place):
            raise PermissionDenied(_("Seule la personne qui a fait cette promesse peut l'annuler."))
        deleted, _rows = Pledge.objects.filter(pk=pledge.pk, campaign=current).delete()
        if not deleted:
            return
        audit_record(
            place=current.place,
            actor=by,
            action="pledge.cancel",
            target=current,
            changes={"amount": [pledge.amount, None], "pledger": [pledge.pledger_name, None]},
        )
