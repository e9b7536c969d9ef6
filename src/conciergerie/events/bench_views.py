"""Endpoint for bench/events.py only, mounted under /bench/ when CONCIERGERIE_BENCH=1.

`register` ({"event": id, "email": …, "tiers": [tier uuid per attendee]}) goes through the real registration service (window, tiers, amounts, duplicate
check, capacity guard, audit) as an anonymous visitor, without the confirmation e-mail —
the same footing as `/bench/book` for bookings. Compare it with `/bench/insert`.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from conciergerie.core.errors import DomainError
from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.models import Event


@csrf_exempt
@require_POST
def register(request: HttpRequest) -> JsonResponse:
    try:
        data = json.loads(request.body)
        event = Event.objects.select_related("place").get(pk=int(data["event"]))
        tiers = [str(t) if t else None for t in data.get("tiers") or [None]]
        email = str(data["email"])
    except (ValueError, KeyError, TypeError, AttributeError, Event.DoesNotExist):
        return JsonResponse({"error": "bad request"}, status=400)
    try:
        registration = services.registration_create(
            event=event,
            by=None,
            level=Level.ANONYMOUS,
            visitor_name="Visiteur du banc",
            visitor_email=email,
            attendees=[{"tier": t, "name": f"Personne {i + 1}"} for i, t in enumerate(tiers)],
            notify=False,
        )
    except DomainError as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    return JsonResponse(
        {"id": str(registration.uuid), "status": registration.status, "seats": registration.seats},
        status=201,
    )
