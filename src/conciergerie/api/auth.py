"""Who is calling the API: a Bearer token, or nobody."""

from __future__ import annotations

from django.http import HttpRequest

from conciergerie.core import services
from conciergerie.core.errors import DomainError
from conciergerie.core.models import User


class Unauthorized(DomainError):
    status = 401


def api_caller(request: HttpRequest) -> User | None:
    """The token's user; None for an anonymous call; 401 for a bad token."""
    if hasattr(request, "_api_caller"):
        return request._api_caller  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    user = None
    if header:
        scheme, _sep, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("Authorization: Bearer <jeton> attendu.")
        user = services.token_authenticate(raw=raw.strip())
        if user is None:
            raise Unauthorized("Jeton inconnu ou révoqué.")
    request._api_caller = user  # type: ignore[attr-defined]
    return user
