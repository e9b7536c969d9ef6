"""The one gate every place page goes through: find the place, check the rule."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone

from conciergerie.core import permissions
from conciergerie.core.models import Place


def place_view(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Resolve `place_slug`, enforce `action`, and set request.place / request.level."""
    if action not in permissions.RULES:
        raise ValueError(f"unknown action {action}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: Any, place_slug: str, *args: Any, **kwargs: Any) -> Any:
            place = get_object_or_404(Place, slug=place_slug)
            request.place = place
            request.level = permissions.level(request.user, place)
            if not permissions.can(request.user, action, place):
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                raise PermissionDenied
            timezone.activate(zoneinfo.ZoneInfo(place.timezone))
            return view(request, *args, **kwargs)

        wrapper.required_action = action  # type: ignore[attr-defined]
        return wrapper

    return decorator
