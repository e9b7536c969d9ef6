"""Subscribable calendar feeds (RFC 5545): a resource's free/busy, a person's own bookings."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from conciergerie.community.models import Person
from conciergerie.community.services import person_link_account
from conciergerie.core.decorators import place_view
from conciergerie.core.permissions import Level
from conciergerie.spaces import ical, selectors
from conciergerie.spaces.models import Booking, CalendarFeed

CONTENT_TYPE = "text/calendar; charset=utf-8"


# --- Services ------------------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def calendar_feed_for(person: Person) -> CalendarFeed:
    """The person's private feed, its token created once and kept until reset."""
    existing = CalendarFeed.objects.filter(person=person).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(person=person, token=_new_token())
    except IntegrityError:  # created meanwhile by a concurrent request
        return CalendarFeed.objects.get(person=person)


@transaction.atomic
def calendar_feed_reset(person: Person) -> CalendarFeed:
    """A new token: the old address stops working at once."""
    feed = calendar_feed_for(person)
    feed.token = _new_token()
    feed.save(update_fields=["token"])
    return feed


def _ics(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- Views ---------------------------------------------------------------------------------------


@require_GET
@place_view("resource.view")
def resource_ics(request: HttpRequest, uuid: str) -> HttpResponse:
    """Free/busy for everyone; who and what for the place's team."""
    place = request.place  # type: ignore[attr-defined]
    level: Level = request.level  # type: ignore[attr-defined]
    resource = get_object_or_404(selectors.resources(place=place, level=level), uuid=uuid)
    start, end = ical.feed_window()
    bookings = (
        Booking.objects.filter(
            place=place,
            resource=resource,
            status__in=Booking.HOLDING,
            start_at__lt=end,
            end_at__gt=start,
        )
        .select_related("resource__place", "person", "organisation", "place")
        .order_by("start_at", "id")
    )
    body = ical.feed(ical.resource_feed_name(resource), bookings, detailed=level >= Level.CONCIERGE)
    return _ics(body, f"{resource.uuid}.ics")


@require_GET
def person_ics(request: HttpRequest, token: str) -> HttpResponse:
    """Whoever holds the token reads the person's bookings, with details."""
    feed = (
        CalendarFeed.objects.filter(token=token).select_related("person__place").first()
        if token
        else None
    )
    if feed is None:
        raise Http404
    person = feed.person
    start, end = ical.feed_window()
    bookings = (
        Booking.objects.filter(
            place_id=person.place_id,
            person=person,
            status__in=Booking.HOLDING,
            start_at__lt=end,
            end_at__gt=start,
        )
        .select_related("resource__place", "person", "organisation", "place")
        .order_by("start_at", "id")
    )
    name = f"Mes réservations — {person.place.name}"
    return _ics(ical.feed(name, bookings, detailed=True), "reservations.ics")


@require_POST
@place_view("profile.edit_own")
def person_feed_reset(request: HttpRequest) -> HttpResponse:
    """A member resets their own feed address (e.g. after sharing it by mistake)."""
    place = request.place  # type: ignore[attr-defined]
    user = request.user
    if not user.is_authenticated:  # place_view already asked for a member
        raise Http404
    # Same as booking: the account's directory entry in this place, linked or created.
    person = person_link_account(place=place, user=user)
    if person is None:
        raise Http404
    had_one = CalendarFeed.objects.filter(person=person).exists()
    feed = calendar_feed_reset(person)
    url = request.build_absolute_uri(
        reverse("spaces_feeds:person_ics", kwargs={"token": feed.token})
    )
    if request.POST.get("from") != "page":
        return JsonResponse({"url": url})
    # From "Mes réservations": back to the page, which shows the new address.
    messages.success(
        request,
        _("Nouvelle adresse créée : l'ancienne ne fonctionne plus.")
        if had_one
        else _("Votre adresse d'agenda est prête : copiez-la dans votre application d'agenda."),
    )
    return redirect(reverse("spaces:my_bookings", kwargs={"place_slug": place.slug}) + "#agenda")
