"""What the commons' view modules share: the place the gate resolved, whether the viewer
moderates it, and the app's own addresses."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from conciergerie.core import permissions
from conciergerie.core.models import Place


def place_of(request: HttpRequest) -> Place:
    """The place `place_view` resolved for this request."""
    place: Place = request.place  # type: ignore[attr-defined]
    return place


def moderates(request: HttpRequest) -> bool:
    return permissions.can(request.user, "commons.moderate", place_of(request))  # type: ignore[arg-type]


def url(name: str, place: Place, **kwargs: Any) -> str:
    return reverse(f"commons:{name}", kwargs={"place_slug": place.slug, **kwargs})
