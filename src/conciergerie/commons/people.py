"""How the commons' pages name the people behind a change: never by e-mail, and by name only
as far as the directory lets the reader see it."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from conciergerie.community.models import Person, Visibility
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level, visible_levels


def public_label(*, place: Place, user: User | None) -> str:
    """The name stored with a revision, which anyone may read: the person's name if their
    directory entry shows it publicly, else a neutral word."""
    if user is None or not user.pk:
        return _("import")
    person = (
        Person.objects.filter(place=place, user=user)
        .only("first_name", "last_name", "name_visibility")
        .first()
    )
    if person is not None and person.name_visibility == Visibility.PUBLIC:
        return person.full_name
    return _("un·e membre du lieu")


def display_names(*, place: Place, users: Iterable[User | None], level: Level) -> dict[int, str]:
    """user id → the name this reader may see (one query): the team sees everyone's name."""
    ids = {u.pk for u in users if u is not None and u.pk}
    if not ids:
        return {}
    allowed = visible_levels(level)
    names = {pk: _("un·e membre du lieu") for pk in ids}
    people = Person.objects.filter(place=place, user_id__in=ids).only(
        "user_id", "first_name", "last_name", "name_visibility"
    )
    for person in people:
        if level >= Level.CONCIERGE or person.name_visibility in allowed:
            names[person.user_id] = person.full_name  # type: ignore[index]
    return names
