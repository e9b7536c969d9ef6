"""Pages for resources and bookings: thin, every rule is in services and selectors."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from conciergerie.community import services as community_services
from conciergerie.community.models import Person
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.permissions import Level
from conciergerie.spaces import selectors, services
from conciergerie.spaces.forms import BookingForm, ClosureForm, SearchForm
from conciergerie.spaces.models import Booking, Resource

PAST_LIMIT = 50
SEARCH_RESULTS = 30  # the earliest free slots; beyond that, the page asks to narrow down


def _zone(place: Any) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")


def _form_errors(form: Any, exc: DomainError) -> None:
    for field, errs in exc.as_errors().items():
        for err in errs:
            form.add_error(field if field in form.fields else None, err)


def _own_person(request: HttpRequest, *, create: bool = False) -> Person | None:
    place = request.place
    if not request.user.is_authenticated:
        return None
    person = Person.objects.filter(place=place, user_id=request.user.pk).first()
    if person is None and create:
        person = community_services.person_link_account(place=place, user=request.user)
    return person


# --- Resources and search ---------------------------------------------------------------------


@place_view("resource.view")
@require_http_methods(["GET"])
def resource_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    zone = _zone(place)
    items = list(selectors.resources(place=place, level=request.level))
    form = SearchForm(request.GET or None)
    matches: list[dict[str, Any]] | None = None
    more = 0
    if form.is_bound and form.is_valid():
        found = selectors.search(
            place=place, level=request.level, limit=SEARCH_RESULTS, **form.criteria(zone)
        )
        seats = form.cleaned_data["seats"]
        more = found.total - len(found.matches)
        matches = []
        for m in found.matches:
            start, end = m.slot[0].astimezone(zone), m.slot[1].astimezone(zone)
            matches.append({"resource": m.resource, "start": start, "end": end, "seats": seats})
    return render(
        request,
        "spaces/resources.html",
        {"place": place, "resources": items, "form": form, "matches": matches, "more": more},
    )


def _week_start(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> dt.date:
    try:
        day = dt.date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        day = timezone.now().astimezone(zone).date()
    return day - dt.timedelta(days=day.weekday())


def _resource_page(
    request: HttpRequest,
    resource: Resource,
    *,
    booking_form: BookingForm | None = None,
    closure_form: ClosureForm | None = None,
    monday: dt.date | None = None,
    status: int = 200,
) -> HttpResponse:
    place, level = request.place, request.level
    zone = _zone(place)
    monday = monday or _week_start(request, zone)
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    bounds = [
        dt.datetime.combine(d, dt.time(0), tzinfo=zone)
        for d in [*days, monday + dt.timedelta(days=7)]
    ]
    bookings = selectors.calendar(resource=resource, start=bounds[0], end=bounds[-1])
    closures = selectors.closures(resource=resource, start=bounds[0], end=bounds[-1])
    staff = level >= Level.CONCIERGE
    user_pk = request.user.pk
    calendar = []
    for i, day in enumerate(days):
        lo, hi = bounds[i], bounds[i + 1]
        entries = [
            {
                "start": max(b.start_at, lo),
                "end": min(b.end_at, hi),
                "mine": b.person is not None and b.person.user_id == user_pk,
                "who": (b.person or b.organisation or b.title or "—") if staff else None,
                "booking": b,
                "pending": b.status == Booking.Status.PENDING,
            }
            for b in bookings
            if b.start_at < hi and b.end_at > lo
        ]
        closed = [
            {"start": max(c.start_at, lo), "end": min(c.end_at, hi), "reason": c.reason}
            for c in closures
            if c.start_at < hi and c.end_at > lo
        ]
        calendar.append({"day": day, "bookings": entries, "closures": closed})
    may_book = permissions.can(request.user, "booking.create", place)
    if booking_form is None and may_book:
        today = timezone.now().astimezone(zone).date()
        booking_form = BookingForm(
            place=place,
            staff=staff,
            initial={"date": today if monday <= today < monday + dt.timedelta(days=7) else monday},
        )
    may_manage = permissions.can(request.user, "resource.manage", place)
    if closure_form is None and may_manage:
        closure_form = ClosureForm(prefix="closure")
    context = {
        "place": place,
        "resource": resource,
        "calendar": calendar,
        "monday": monday,
        "previous_week": monday - dt.timedelta(days=7),
        "next_week": monday + dt.timedelta(days=7),
        "staff": staff,
        "booking_form": booking_form if may_book else None,
        "closure_form": closure_form if may_manage else None,
    }
    return render(request, "spaces/resource.html", context, status=status)


def _resource(request: HttpRequest, uuid: str) -> Resource:
    return get_object_or_404(
        selectors.resources(place=request.place, level=request.level), uuid=uuid
    )


@place_view("resource.view")
@require_http_methods(["GET"])
def resource_page(request: HttpRequest, uuid: str) -> HttpResponse:
    return _resource_page(request, _resource(request, uuid))


# --- Bookings ---------------------------------------------------------------------------------


@place_view("booking.create")
@require_http_methods(["POST"])
def booking_create(request: HttpRequest, uuid: str) -> HttpResponse:
    place, level = request.place, request.level
    resource = _resource(request, uuid)
    staff = level >= Level.CONCIERGE
    form = BookingForm(request.POST, place=place, staff=staff)
    if not form.is_valid():
        return _resource_page(request, resource, booking_form=form, status=400)
    start, end = form.interval(_zone(place))
    person = form.cleaned_data.get("person") or _own_person(request, create=not staff)
    try:
        booking = services.booking_create(
            resource=resource,
            by=request.user,
            level=level,
            start=start,
            end=end,
            person=person,
            seats=form.cleaned_data["seats"],
        )
    except DomainError as exc:
        _form_errors(form, exc)
        monday = form.cleaned_data["date"] - dt.timedelta(days=form.cleaned_data["date"].weekday())
        return _resource_page(
            request, resource, booking_form=form, monday=monday, status=exc.status
        )
    if booking.status == Booking.Status.PENDING:
        messages.success(request, _("Demande envoyée : l'équipe du lieu doit la valider."))
    else:
        messages.success(request, _("Réservation confirmée."))
    return redirect(booking.get_absolute_url())


def _visible_booking(request: HttpRequest, uuid: str) -> Booking:
    booking = (
        selectors.bookings_visible(place=request.place, user=request.user, level=request.level)
        .select_related("resource__place")
        .filter(uuid=uuid)
        .first()
    )
    if booking is None:
        raise Http404
    return booking


@place_view("booking.create")
@require_http_methods(["GET"])
def booking_page(request: HttpRequest, uuid: str) -> HttpResponse:
    place = request.place
    booking = _visible_booking(request, uuid)
    return render(
        request,
        "spaces/booking.html",
        {
            "place": place,
            "booking": booking,
            "may_cancel": booking.status in Booking.HOLDING,
            "may_manage": permissions.can(request.user, "booking.manage", place),
        },
    )


@place_view("booking.create")
@require_http_methods(["POST"])
def booking_action(request: HttpRequest, uuid: str) -> HttpResponse:
    place, level = request.place, request.level
    booking = _visible_booking(request, uuid)
    action = request.POST.get("action", "")
    done = {
        "cancel": _("Réservation annulée."),
        "approve": _("Demande acceptée."),
        "refuse": _("Demande refusée."),
        "check_in": _("Arrivée enregistrée."),
        "no_show": _("Absence enregistrée."),
    }
    if action not in done:
        return HttpResponseBadRequest(_("Action inconnue."))
    if action != "cancel" and not permissions.can(request.user, "booking.manage", place):
        raise PermissionDenied
    try:
        if action == "cancel":
            services.booking_cancel(booking=booking, by=request.user, level=level)
        elif action in ("approve", "refuse"):
            services.booking_decide(
                booking=booking, by=request.user, level=level, approve=action == "approve"
            )
        else:
            services.booking_attendance(
                booking=booking, by=request.user, present=action == "check_in"
            )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done[action])
    return redirect(booking.get_absolute_url())


@place_view("booking.create")
@require_http_methods(["GET"])
def my_bookings(request: HttpRequest) -> HttpResponse:
    place = request.place
    now = timezone.now()
    user_pk = request.user.pk
    if user_pk is None:  # place_view already sent anonymous callers to log in
        raise PermissionDenied
    mine = selectors.bookings_visible(place=place, user=request.user, level=request.level).filter(
        person__user_id=user_pk
    )
    return render(
        request,
        "spaces/my_bookings.html",
        {
            "place": place,
            "upcoming": list(mine.filter(end_at__gte=now).order_by("start_at", "id")),
            "past": list(mine.filter(end_at__lt=now).order_by("-start_at", "-id")[:PAST_LIMIT]),
        },
    )


# --- Out of service ---------------------------------------------------------------------------


@place_view("resource.manage")
@require_http_methods(["POST"])
def out_of_service(request: HttpRequest, uuid: str) -> HttpResponse:
    place = request.place
    resource = _resource(request, uuid)
    form = ClosureForm(request.POST, prefix="closure")
    if not form.is_valid():
        return _resource_page(request, resource, closure_form=form, status=400)
    zone = _zone(place)
    start, end = form.interval(zone)
    try:
        _closure, cancelled = services.closure_create(
            place=place,
            by=request.user,
            start=start,
            end=end,
            reason=form.cleaned_data["reason"],
            resource=resource,
        )
    except DomainError as exc:
        _form_errors(form, exc)
        return _resource_page(request, resource, closure_form=form, status=exc.status)
    local_start = start.astimezone(zone)
    if cancelled:
        messages.success(
            request,
            _(
                "%(resource)s est hors service. %(n)s réservation(s) annulée(s) : "
                "les personnes concernées ont été prévenues par e-mail."
            )
            % {"resource": resource.name, "n": len(cancelled)},
        )
    else:
        messages.success(
            request,
            _("%(resource)s est hors service. Aucune réservation n'était concernée.")
            % {"resource": resource.name},
        )
    week = local_start.date() - dt.timedelta(days=local_start.weekday())
    return redirect(f"{reverse('spaces:resource', args=[place.slug, resource.uuid])}?week={week}")
