"""Which place an API call is about: shared by every domain's router."""

from __future__ import annotations

from django.utils.translation import gettext as _

from conciergerie.core.errors import InvalidInput, NotFound
from conciergerie.core.models import Place, PlaceRole, User


def place_or_404(slug: str) -> Place:
    place = Place.objects.filter(slug=slug).first()
    if place is None:
        raise NotFound(_("Lieu introuvable."), field="place")
    return place


def choose_place(viewer: User | None, slug: str | None) -> Place:
    """The place named by its slug; without one, the caller's only place."""
    if slug:
        return place_or_404(slug)
    places = (
        [r.place for r in PlaceRole.objects.filter(user=viewer).select_related("place")]
        if viewer is not None
        else []
    )
    if len(places) != 1:
        raise InvalidInput({"place": [_("Indiquez le lieu (slug).")]})
    return places[0]
