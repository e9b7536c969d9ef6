"""Pages for resources and bookings: thin, every rule is in services and selectors."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from conciergerie.community import services as community_services
from conciergerie.community.models import Person
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import Conflict, DomainError, InvalidInput
from conciergerie.core.forms import add_domain_errors
from conciergerie.core.permissions import Level
from conciergerie.spaces import selectors, services
from conciergerie.spaces.forms import BookingForm, ClosureForm, SearchForm, SeriesForm
from conciergerie.spaces.models import Booking, Resource, WaitlistEntry

PAST_LIMIT = 50
SEARCH_RESULTS = 30  # the earliest free slots; beyond that, the page asks to narrow down
SKIPPED_SHOWN = 10  # dates of a recurring booking not booked, one message each; then a count


def _zone(place: Any) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")


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
    pending = (
        selectors.pending_bookings(place=place).count()
        if permissions.can(request.user, "booking.manage", place)
        else None
    )
    return render(
        request,
        "spaces/resources.html",
        {
            "place": place,
            "resources": items,
            "form": form,
            "matches": matches,
            "more": more,
            "pending_count": pending,
        },
    )


CALENDAR_VIEWS = ("jour", "semaine", "mois")


@dataclass
class Period:
    """What the calendar shows: `days` local days from `first`, around the `anchor` day."""

    view: str
    anchor: dt.date
    first: dt.date
    days: int
    previous: dt.date
    next: dt.date


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _period(view: str, anchor: dt.date) -> Period:
    if view == "jour":
        one = dt.timedelta(days=1)
        return Period(view, anchor, anchor, 1, anchor - one, anchor + one)
    if view == "mois":
        first_of_month = _month_start(anchor)
        next_month = _month_start(first_of_month + dt.timedelta(days=32))
        previous_month = _month_start(first_of_month - dt.timedelta(days=1))
        # Whole weeks, Monday first: the grid starts and ends on another month's days.
        grid_start = first_of_month - dt.timedelta(days=first_of_month.weekday())
        last = next_month - dt.timedelta(days=1)
        grid_end = last + dt.timedelta(days=7 - last.weekday())
        return Period(
            view, anchor, grid_start, (grid_end - grid_start).days, previous_month, next_month
        )
    monday = anchor - dt.timedelta(days=anchor.weekday())
    week = dt.timedelta(days=7)
    return Period("semaine", anchor, monday, 7, monday - week, monday + week)


def _calendar_choice(request: HttpRequest, today: dt.date) -> tuple[str, dt.date]:
    """?vue=jour|semaine|mois&date=AAAA-MM-JJ; the older ?week=AAAA-MM-JJ is a week view."""
    view = request.GET.get("vue", "")
    raw = request.GET.get("date", "")
    if not raw and request.GET.get("week"):
        raw, view = request.GET["week"], view or "semaine"
    if view not in CALENDAR_VIEWS:
        view = "semaine"
    try:
        anchor = dt.date.fromisoformat(raw)
    except ValueError:
        anchor = today
    if not 1 < anchor.year < 9999:  # room for the grid and the links around it
        anchor = today
    return view, anchor


def _time_param(request: HttpRequest, name: str) -> dt.time | None:
    try:
        return dt.time.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return None


def _free_slots(resource: Resource, day: selectors.CalendarDay) -> list[dict[str, Any]]:
    """The day's free spans, each with the start and end to put in the booking form."""
    longest = dt.timedelta(minutes=resource.max_minutes)
    return [
        {"start": s, "end": e, "book_end": e if e - s <= longest else s + longest}
        for s, e in day.free
    ]


def _resource_page(
    request: HttpRequest,
    resource: Resource,
    *,
    booking_form: BookingForm | None = None,
    closure_form: ClosureForm | None = None,
    series_form: SeriesForm | None = None,
    series_report: list[dict[str, Any]] | None = None,
    waitlist: dict[str, Any] | None = None,
    view: str | None = None,
    anchor: dt.date | None = None,
    status: int = 200,
) -> HttpResponse:
    place, level = request.place, request.level
    zone = _zone(place)
    now = timezone.now()
    today = now.astimezone(zone).date()
    if view is None or anchor is None:
        view, anchor = _calendar_choice(request, today)
    period = _period(view, anchor)
    days = selectors.resource_calendar(
        resource=resource,
        first=period.first,
        days=period.days,
        user=request.user,
        level=level,
        now=now,
    )
    staff = level >= Level.CONCIERGE
    last = period.first + dt.timedelta(days=period.days - 1)
    month = _month_start(anchor)
    weeks = [
        [{"cal": d, "in_month": d.day.month == month.month} for d in days[i : i + 7]]
        for i in range(0, len(days), 7)
    ]
    may_book = permissions.can(request.user, "booking.create", place)
    if may_book:
        if view == "jour":
            initial_day = anchor
        elif view == "mois":
            initial_day = today if _month_start(today) == month else month
        else:
            initial_day = today if period.first <= today <= last else period.first
        if booking_form is None:
            initial: dict[str, Any] = {"date": initial_day}
            for param, field in (("debut", "start"), ("fin", "end")):
                at = _time_param(request, param)
                if at is not None:
                    initial[field] = at
            booking_form = BookingForm(place=place, staff=staff, initial=initial)
        if series_form is None:
            series_form = SeriesForm(
                prefix="serie", initial={"first_date": initial_day}, place=place, staff=staff
            )
    may_manage = permissions.can(request.user, "resource.manage", place)
    if closure_form is None and may_manage:
        closure_form = ClosureForm(prefix="closure")
    context = {
        "place": place,
        "resource": resource,
        "cal": {
            "view": period.view,
            "anchor": anchor,
            "first": period.first,
            "previous": period.previous,
            "next": period.next,
            "today": today,
            "month": month,
            "days": days,
            "weeks": weeks,
            "free": _free_slots(resource, days[0]) if view == "jour" else [],
        },
        "staff": staff,
        "booking_form": booking_form if may_book else None,
        "series_form": series_form if may_book else None,
        "series_report": series_report,
        "series_free": sum(1 for r in series_report or [] if r["ok"]),
        "waitlist": waitlist,
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


def _slot_form(request: HttpRequest) -> BookingForm:
    """The posted slot; the team may also name whom it is for."""
    return BookingForm(request.POST, place=request.place, staff=request.level >= Level.CONCIERGE)


def _for_whom(request: HttpRequest, form: BookingForm) -> Person | None:
    """The person the team chose, else the caller's own (a member's is created if needed)."""
    staff = request.level >= Level.CONCIERGE
    return form.cleaned_data.get("person") or _own_person(request, create=not staff)


@place_view("booking.create")
@require_http_methods(["POST"])
def booking_create(request: HttpRequest, uuid: str) -> HttpResponse:
    place, level = request.place, request.level
    resource = _resource(request, uuid)
    form = _slot_form(request)
    if not form.is_valid():
        return _resource_page(request, resource, booking_form=form, status=400)
    start, end = form.interval(_zone(place))
    person = _for_whom(request, form)
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
        add_domain_errors(form, exc)
        seats = form.cleaned_data["seats"]
        waitlist = None
        if (
            isinstance(exc, Conflict)
            and person is not None
            and services.waitlist_possible(resource=resource, start=start, end=end, seats=seats)
        ):
            # Full, not closed: offer to wait for a place on exactly this slot.
            waitlist = {
                "date": form.cleaned_data["date"],
                "start": form.cleaned_data["start"],
                "end": form.cleaned_data["end"],
                "seats": seats,
                "person": form.cleaned_data.get("person"),
            }
        return _resource_page(
            request,
            resource,
            booking_form=form,
            waitlist=waitlist,
            view="jour",
            anchor=form.cleaned_data["date"],
            status=exc.status,
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
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)  # e.g. the list of requests to decide
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
    waiting = selectors.waitlist_visible(
        place=place, user=request.user, level=request.level
    ).filter(person__user_id=user_pk, status=WaitlistEntry.Status.WAITING, end_at__gte=now)
    return render(
        request,
        "spaces/my_bookings.html",
        {
            "place": place,
            "upcoming": list(mine.filter(end_at__gte=now).order_by("start_at", "id")),
            "past": list(mine.filter(end_at__lt=now).order_by("-start_at", "-id")[:PAST_LIMIT]),
            "waiting": list(waiting.order_by("start_at", "id")),
            "feed_url": _feed_url(request, place),
        },
    )


def _feed_url(request: HttpRequest, place: Any) -> str:
    token = selectors.calendar_feed_token(place=place, user=request.user)
    if not token:
        return ""
    return request.build_absolute_uri(reverse("spaces_feeds:person_ics", kwargs={"token": token}))


@place_view("booking.manage")
@require_http_methods(["GET"])
def pending(request: HttpRequest) -> HttpResponse:
    """The team's list of booking requests to accept or refuse."""
    place = request.place
    return render(
        request,
        "spaces/pending.html",
        {"place": place, "bookings": list(selectors.pending_bookings(place=place))},
    )


# --- Waiting list -----------------------------------------------------------------------------


@place_view("booking.create")
@require_http_methods(["POST"])
def waitlist_join(request: HttpRequest, uuid: str) -> HttpResponse:
    """Wait for a place on a full slot: the fields of the booking form that was refused."""
    place, level = request.place, request.level
    resource = _resource(request, uuid)
    form = _slot_form(request)
    if not form.is_valid():
        return _resource_page(request, resource, booking_form=form, status=400)
    start, end = form.interval(_zone(place))
    chosen = form.cleaned_data.get("person")
    person = _for_whom(request, form)
    day = form.cleaned_data["date"]
    if person is None:
        form.add_error(
            "person" if "person" in form.fields else None,
            _("Choisissez la personne qui attend une place."),
        )
        return _resource_page(
            request, resource, booking_form=form, view="jour", anchor=day, status=400
        )
    try:
        services.waitlist_join(
            resource=resource,
            person=person,
            by=request.user,
            level=level,
            start=start,
            end=end,
            seats=form.cleaned_data["seats"],
        )
    except DomainError as exc:
        add_domain_errors(form, exc)
        return _resource_page(
            request, resource, booking_form=form, view="jour", anchor=day, status=exc.status
        )
    if chosen is not None and chosen.user_id != request.user.pk:
        messages.success(
            request,
            _(
                "%(person)s est sur la liste d'attente : si une place se libère, elle lui sera "
                "réservée automatiquement et un e-mail lui sera envoyé."
            )
            % {"person": person},
        )
        return redirect(f"{resource.get_absolute_url()}?vue=jour&date={day:%Y-%m-%d}")
    messages.success(
        request,
        _(
            "Vous êtes sur la liste d'attente pour ce créneau. Si une place se libère, elle vous "
            "sera réservée automatiquement et vous recevrez un e-mail."
        ),
    )
    return redirect("spaces:my_bookings", place.slug)


@place_view("booking.create")
@require_http_methods(["POST"])
def waitlist_leave(request: HttpRequest) -> HttpResponse:
    place = request.place
    raw = request.POST.get("entry", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        return HttpResponseBadRequest(_("Inscription inconnue."))
    entry = (
        selectors.waitlist_visible(place=place, user=request.user, level=request.level)
        .filter(pk=int(raw))
        .first()
    )
    if entry is None:
        raise Http404
    try:
        services.waitlist_leave(entry=entry, by=request.user, level=request.level)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Vous avez quitté la liste d'attente de ce créneau."))
    return redirect("spaces:my_bookings", place.slug)


# --- Recurring bookings -----------------------------------------------------------------------


def _series_errors(form: SeriesForm, exc: DomainError) -> None:
    if isinstance(exc, InvalidInput) and "rrule" in exc.errors:
        # The service speaks of RRULE, COUNT and UNTIL; volunteers need plain words.
        form.add_error(
            None,
            _(
                "Trop de dates : %(n)s au plus. Choisissez un jour limite plus proche "
                "ou moins de fois."
            )
            % {"n": services.MAX_SERIES},
        )
        return
    add_domain_errors(form, exc)


@place_view("booking.create")
@require_http_methods(["POST"])
def series(request: HttpRequest, uuid: str) -> HttpResponse:
    """A recurring booking: first every date with "libre" or why not, then on confirmation
    book the free ones."""
    place, level = request.place, request.level
    resource = _resource(request, uuid)
    zone = _zone(place)
    staff = level >= Level.CONCIERGE
    form = SeriesForm(request.POST, prefix="serie", place=place, staff=staff)
    if not form.is_valid():
        return _resource_page(request, resource, series_form=form, status=400)
    day = form.cleaned_data["first_date"]
    page = {"series_form": form, "view": "mois", "anchor": day}
    person = form.cleaned_data.get("person") or _own_person(request, create=not staff)
    what = {
        "resource": resource,
        "person": person,
        "level": level,
        "rrule": form.rrule(),
        "first_start": form.first_start(zone),
        "duration": form.duration(),
    }
    try:
        if request.POST.get("action") != "confirm":
            report = services.series_preview(**what)
            return _resource_page(request, resource, series_report=report, **page)
        _series, booked, skipped = services.series_create(
            by=request.user, title=form.cleaned_data["title"], **what
        )
    except DomainError as exc:
        _series_errors(form, exc)
        return _resource_page(request, resource, status=exc.status, **page)
    days = ", ".join(f"{b.start_at.astimezone(zone):%d/%m}" for b in booked)
    messages.success(
        request,
        ngettext(
            "Réservation récurrente enregistrée : %(n)s date réservée (%(days)s).",
            "Réservation récurrente enregistrée : %(n)s dates réservées (%(days)s).",
            len(booked),
        )
        % {"n": len(booked), "days": days},
    )
    for skip in skipped[:SKIPPED_SHOWN]:
        start, end = skip["start"].astimezone(zone), skip["end"].astimezone(zone)
        messages.warning(
            request,
            _("Pas réservé le %(day)s de %(start)s à %(end)s : %(reason)s")
            % {
                "day": f"{start:%d/%m/%Y}",
                "start": f"{start:%H:%M}",
                "end": f"{end:%H:%M}",
                "reason": skip["problem"],
            },
        )
    if len(skipped) > SKIPPED_SHOWN:
        more = len(skipped) - SKIPPED_SHOWN
        messages.warning(
            request,
            ngettext(
                "Et %(n)s autre date non réservée.", "Et %(n)s autres dates non réservées.", more
            )
            % {"n": more},
        )
    return redirect(f"{resource.get_absolute_url()}?vue=mois&date={day:%Y-%m-%d}")


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
        add_domain_errors(form, exc)
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
