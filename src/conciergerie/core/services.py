"""Writes of the core domain: places, accounts, roles, invitations, tokens, login limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.core import permissions
from conciergerie.core.audit import audit_record, diff, snapshot
from conciergerie.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from conciergerie.core.mail import email_send_on_commit
from conciergerie.core.models import (
    ApiToken,
    Invitation,
    LoginAttempt,
    Place,
    PlaceRole,
    Role,
    User,
)

PLACE_FIELDS = [
    "slug",
    "name",
    "description",
    "typology",
    "legal_form",
    "siret",
    "street",
    "postal_code",
    "city",
    "country",
    "latitude",
    "longitude",
    "opening_hours",
    "email",
    "phone",
    "website",
    "logo",
    "timezone",
]
INVITATION_DAYS = 14


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _full_clean(obj: Any, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc)


@transaction.atomic
def place_create(*, by: User | None, **fields: Any) -> Place:
    place = Place(**fields)
    _full_clean(place)
    place.save()
    audit_record(
        place=place,
        actor=by,
        action="place.create",
        target=place,
        changes=diff({}, snapshot(place, PLACE_FIELDS)),
    )
    return place


@transaction.atomic
def place_update(*, place: Place, by: User, data: dict[str, Any]) -> Place:
    place = Place.objects.select_for_update().get(pk=place.pk)
    before = snapshot(place, PLACE_FIELDS)
    for field, value in data.items():
        if field not in PLACE_FIELDS:
            raise InvalidInput({field: [_("Champ inconnu.")]})
        setattr(place, field, value)
    _full_clean(place)
    place.save()
    changes = diff(before, snapshot(place, PLACE_FIELDS))
    if changes:
        audit_record(place=place, actor=by, action="place.update", target=place, changes=changes)
    return place


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    full_name: str = "",
    by: User | None = None,
    place: Place | None = None,
    role: str | None = None,
) -> User:
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(_("Un compte existe déjà avec cet e-mail."), field="email")
    user = User(email=email, full_name=full_name)
    _full_clean(user, exclude=["password"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(
        place=place, actor=by, action="user.create", target=user, changes={"email": [None, email]}
    )
    if place is not None and role:
        role_set(place=place, user=user, role=role, by=by)
    return user


@transaction.atomic
def role_set(*, place: Place, user: User, role: str | None, by: User | None) -> PlaceRole | None:
    """Give, change or (with role=None) remove a user's role in a place."""
    if role is not None and role not in Role.values:
        raise InvalidInput({"role": [_("Rôle inconnu.")]})
    existing = PlaceRole.objects.select_for_update().filter(place=place, user=user).first()
    old = existing.role if existing else None
    if role is None:
        if existing:
            existing.delete()
    elif existing:
        existing.role = role
        existing.save(update_fields=["role"])
    else:
        existing = PlaceRole.objects.create(place=place, user=user, role=role)
    if old != role:
        audit_record(
            place=place, actor=by, action="role.set", target=user, changes={"role": [old, role]}
        )
    permissions.forget(user)
    return existing if role else None


@transaction.atomic
def invitation_create(*, place: Place, email: str, role: str, by: User) -> Invitation:
    if not permissions.may_grant(permissions.level(by, place), role):
        raise PermissionDenied(_("Vous ne pouvez pas inviter avec ce rôle."), field="role")
    email = email.strip().lower()
    if PlaceRole.objects.filter(place=place, user__email__iexact=email).exists():
        raise Conflict(_("Cette personne a déjà un accès à ce lieu."), field="email")
    raw = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        place=place,
        email=email,
        role=role,
        token_hash=_hash(raw),
        invited_by=by,
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
    )
    link = settings.BASE_URL + reverse("core:invitation_accept", kwargs={"token": raw})
    email_send_on_commit(
        place=place,
        to=[email],
        subject=_("Invitation à rejoindre %(place)s") % {"place": place.name},
        body=_(
            "Bonjour,\n\n%(who)s vous invite à rejoindre %(place)s sur Conciergerie.\n"
            "Pour créer votre accès, ouvrez ce lien (valable %(days)s jours) :\n%(link)s\n"
        )
        % {"who": by, "place": place.name, "days": INVITATION_DAYS, "link": link},
    )
    audit_record(
        place=place,
        actor=by,
        action="invitation.create",
        target_type="invitation",
        changes={"email": [None, email], "role": [None, role]},
    )
    invitation.raw_token = raw  # type: ignore[attr-defined]  # shown once, to the tests/CLI
    return invitation


def invitation_lookup(*, token: str) -> Invitation:
    invitation = Invitation.objects.select_related("place").filter(token_hash=_hash(token)).first()
    if invitation is None or invitation.accepted_at or invitation.expires_at < timezone.now():
        raise NotFound(_("Cette invitation n'existe pas, a expiré ou a déjà servi."))
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str, full_name: str) -> User:
    invitation = invitation_lookup(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise NotFound(_("Cette invitation n'existe pas, a expiré ou a déjà servi."))
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        user = user_create(
            email=invitation.email, password=password, full_name=full_name, place=invitation.place
        )
    role_set(place=invitation.place, user=user, role=invitation.role, by=user)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    # Link the account to the directory entry with the same e-mail, if there is one.
    from conciergerie.community.services import person_link_account

    person_link_account(place=invitation.place, user=user)
    return user


@transaction.atomic
def token_create(*, user: User, name: str = "") -> str:
    raw = "cgr_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, key_hash=_hash(raw), prefix=raw[4:12])
    audit_record(
        place=None,
        actor=user,
        action="token.create",
        target=user,
        changes={"token": [None, raw[4:12] + "…"]},
    )
    return raw


def token_authenticate(*, raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def login_allowed(*, email: str, ip: str | None) -> bool:
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginAttempt.objects.filter(created_at__gte=since)
    limit = settings.LOGIN_MAX_FAILURES
    if recent.filter(email=email.strip().lower()).count() >= limit:
        return False
    # An address gets more room: several people may share a tiers-lieu's connection.
    return not (ip and recent.filter(ip=ip).count() >= limit * 4)


def login_failure_record(*, email: str, ip: str | None) -> None:
    LoginAttempt.objects.create(email=email.strip().lower()[:254], ip=ip or None)


def login_success_clear(*, email: str) -> None:
    LoginAttempt.objects.filter(email=email.strip().lower()).delete()
