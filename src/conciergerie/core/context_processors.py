from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from conciergerie.core import permissions


def conciergerie(request: HttpRequest) -> dict[str, Any]:
    place = getattr(request, "place", None)
    user = getattr(request, "user", None)
    allowed = {action for action in permissions.RULES if permissions.can(user, action, place)}
    return {
        "current_place": place,
        "allowed": allowed,
        "base_url": settings.BASE_URL,
    }
