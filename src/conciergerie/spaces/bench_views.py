"""Endpoints for bench/bookings.py only, mounted under /bench/ when CONCIERGERIE_BENCH=1.

`insert` is the baseline: one INSERT of one small row, nothing else. `book` goes through
the real booking service (rules, capacity guard, audit) as a concierge.
"""

from __future__ import annotations

import datetime as dt
import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from conciergerie.core.errors import DomainError
from conciergerie.core.models import LoginAttempt
from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from conciergerie.spaces.models import Resource


@csrf_exempt
@require_POST
def insert(request: HttpRequest) -> JsonResponse:
    row = LoginAttempt.objects.create(email="bench@example.org")
    return JsonResponse({"id": row.pk}, status=201)


@csrf_exempt
@require_POST
def book(request: HttpRequest) -> JsonResponse:
    try:
        data = json.loads(request.body)
        resource = Resource.objects.select_related("place").get(pk=int(data["resource"]))
        start = dt.datetime.fromisoformat(data["start"])
        end = dt.datetime.fromisoformat(data["end"])
        seats = int(data.get("seats", 1))
    except (ValueError, KeyError, TypeError, Resource.DoesNotExist):
        return JsonResponse({"error": "bad request"}, status=400)
    try:
        booking = services.booking_create(
            resource=resource,
            by=None,
            level=Level.CONCIERGE,
            start=start,
            end=end,
            seats=seats,
            notify=False,
        )
    except DomainError as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    return JsonResponse({"id": str(booking.uuid), "status": booking.status}, status=201)
