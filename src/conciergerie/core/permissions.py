"""Every permission rule of the instance, in one place.

A rule names the least role that may do an action in a place. Views, the API
and templates all ask `can()`; nothing else decides who may do what.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conciergerie.core.models import Place, User


class Level(IntEnum):
    ANONYMOUS = 0
    AUTHENTICATED = 1  # logged in, no role in this place
    MEMBER = 2
    CONCIERGE = 3
    ADMIN = 4


ROLE_LEVEL = {"member": Level.MEMBER, "concierge": Level.CONCIERGE, "admin": Level.ADMIN}

RULES: dict[str, Level] = {
    # Public side
    "place.view": Level.ANONYMOUS,
    "profile.view_public": Level.ANONYMOUS,
    "resource.view": Level.ANONYMOUS,  # active resources and their free/busy
    "event.view": Level.ANONYMOUS,  # public events; members-only ones are filtered by selectors
    "event.register": Level.ANONYMOUS,  # visitors register with a name and an e-mail
    "commons.view": Level.ANONYMOUS,  # validated commons, FAQ, documentation, campaigns
    "aiguillage.ask": Level.ANONYMOUS,  # describe a need, get commons and people to call
    # Members
    "directory.view": Level.MEMBER,
    "person.view": Level.MEMBER,
    "organisation.view": Level.MEMBER,
    "profile.edit_own": Level.MEMBER,
    "booking.create": Level.MEMBER,  # for oneself; the resource's own rules apply on top
    "invoice.view_own": Level.MEMBER,  # one's own invoices, subscriptions and credits
    "commons.propose": Level.MEMBER,  # propose commons and edits, vote, report outdated info
    "page.edit": Level.MEMBER,  # write documentation pages (every change is a revision)
    "campaign.pledge": Level.MEMBER,  # pledge to co-finance a commons
    # Concierges (back office)
    "backoffice.view": Level.CONCIERGE,
    "person.manage": Level.CONCIERGE,
    "person.view_private": Level.CONCIERGE,
    "organisation.manage": Level.CONCIERGE,
    "membership.manage": Level.CONCIERGE,
    "introduction.manage": Level.CONCIERGE,
    "vocabulary.manage": Level.CONCIERGE,
    "import.run": Level.CONCIERGE,
    "export.run": Level.CONCIERGE,
    "invitation.manage": Level.CONCIERGE,
    "audit.view": Level.CONCIERGE,
    "outbox.view": Level.CONCIERGE,
    "resource.manage": Level.CONCIERGE,
    "booking.manage": Level.CONCIERGE,  # on someone's behalf, approve, check in, lend
    "event.manage": Level.CONCIERGE,  # create and edit events, check in, reports, exports
    "billing.manage": Level.CONCIERGE,  # products, subscriptions, invoices, payments, exports
    "commons.moderate": Level.CONCIERGE,  # validate, edit, archive; reports, grid, FAQ, imports
    "aiguillage.manage": Level.CONCIERGE,  # aiguilleurs, every orientation, figures
    "campaign.manage": Level.CONCIERGE,  # co-financing campaigns
    "network.manage": Level.CONCIERGE,  # follow places, accept or refuse followers
    # Admins
    "billing.close": Level.ADMIN,  # billing settings, closing a period
    "place.edit": Level.ADMIN,
    "network.block": Level.ADMIN,  # a blocked instance is blocked for every place here
    "role.manage": Level.ADMIN,
}


def level(user: User | None, place: Place | None) -> Level:
    """The caller's level in a place. Superusers are admins everywhere."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Level.ANONYMOUS
    if user.is_superuser:
        return Level.ADMIN
    if place is None:
        return Level.AUTHENTICATED
    cache: dict[int, Level] = user.__dict__.setdefault("_place_levels", {})
    if place.pk not in cache:
        role = user.place_roles.filter(place=place).values_list("role", flat=True).first()
        cache[place.pk] = ROLE_LEVEL.get(role or "", Level.AUTHENTICATED)
    return cache[place.pk]


def can(user: User | None, action: str, place: Place | None) -> bool:
    return level(user, place) >= RULES[action]


def forget(user: User) -> None:
    """Drop the per-request cache after a role changed."""
    user.__dict__.pop("_place_levels", None)


def visible_levels(viewer_level: Level) -> set[str]:
    """Which field visibilities a viewer of this level may read."""
    if viewer_level >= Level.CONCIERGE:
        return {"public", "members", "private"}
    if viewer_level >= Level.MEMBER:
        return {"public", "members"}
    return {"public"}


def may_grant(granter_level: Level, role: str) -> bool:
    """A concierge may invite members and concierges; only admins make admins."""
    wanted = ROLE_LEVEL[role]
    return granter_level >= Level.ADMIN or (
        granter_level >= Level.CONCIERGE and wanted <= Level.CONCIERGE
    )


def can_edit_person(user: User | None, place: Place, person: object) -> bool:
    """The team edits anyone; a member edits only their own profile."""
    if can(user, "person.manage", place):
        return True
    return (
        can(user, "profile.edit_own", place)
        and user is not None
        and getattr(person, "user_id", None) == user.pk
    )


def can_orient(user: User | None, place: Place) -> bool:
    """The team, and the place's active aiguilleurs, record orientations and follow them up."""
    if can(user, "aiguillage.manage", place):
        return True
    if user is None or not can(user, "directory.view", place):
        return False
    return user.people.filter(place=place, aiguilleur__active=True).exists()  # type: ignore[attr-defined]
