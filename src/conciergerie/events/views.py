"""Events pages: the public list and calendar, an event's page and registration, a
registration's private page, and the team's screens (create, edit, arrival desk)."""

from __future__ import annotations

import calendar
import datetime as dt
import uuid as uuid_module
import zoneinfo
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from conciergerie.community.models import Person
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import add_domain_errors
from conciergerie.core.markdown import render_markdown
from conciergerie.core.permissions import Level
from conciergerie.events import selectors, services
from conciergerie.events.forms import (
    EventForm,
    RegistrationForm,
    RepeatForm,
    TierFormSet,
    tier_initial,
    tier_label,
)
from conciergerie.events.jsonld import event_jsonld
from conciergerie.events.models import Event, Registration, Ticket

LIST_DAYS = 92  # the list shows three months ahead


def _zone(place: Any) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")


def _own_person(request: HttpRequest) -> Person | None:
    if not request.user.is_authenticated:
        return None
    return Person.objects.filter(place=request.place, user_id=request.user.pk).first()


def _event_or_404(request: HttpRequest, uuid: Any) -> Event:
    event = (
        selectors.events_visible(place=request.place, level=request.level).filter(uuid=uuid).first()
    )
    if event is None:
        raise Http404
    return event


def _month(value: str, today: dt.date) -> dt.date:
    try:
        year, month = (int(x) for x in value.split("-"))
        return dt.date(year, month, 1)
    except (ValueError, TypeError):
        return today.replace(day=1)


# --- Public side ---------------------------------------------------------------------------------


@place_view("event.view")
@require_http_methods(["GET"])
def event_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    zone = _zone(place)
    today = timezone.now().astimezone(zone).date()
    category = request.GET.get("categorie", "")
    if category not in Event.Category.values:
        category = ""
    view = "mois" if request.GET.get("vue") == "mois" else "liste"
    context: dict[str, Any] = {
        "place": place,
        "view": view,
        "category": category,
        "categories": Event.Category.choices,
        "may_manage": permissions.can(request.user, "event.manage", place),
    }
    if view == "mois":
        first = _month(request.GET.get("mois", ""), today)
        last_day = calendar.monthrange(first.year, first.month)[1]
        start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
        end = dt.datetime.combine(first.replace(day=last_day), dt.time(), tzinfo=zone)
        end += dt.timedelta(days=1)
        items = selectors.events_between(
            place=place, level=request.level, start=start, end=end, category=category
        )
        context.update(_month_grid(first, items, zone, today))
    else:
        start = timezone.now()
        end = start + dt.timedelta(days=LIST_DAYS)
        items = selectors.events_between(
            place=place, level=request.level, start=start, end=end, category=category
        )
        days: list[dict[str, Any]] = []
        for item in items:
            day = item.event.start_at.astimezone(zone).date()
            if not days or days[-1]["day"] != day:
                days.append({"day": day, "items": []})
            days[-1]["items"].append(item)
        context["days"] = days
    return render(request, "events/list.html", context)


def _month_grid(
    first: dt.date, items: list[selectors.Listed], zone: zoneinfo.ZoneInfo, today: dt.date
) -> dict[str, Any]:
    """Weeks of days (Monday first), each day with the events happening on it."""
    by_day: dict[dt.date, list[selectors.Listed]] = {}
    for item in items:
        day = item.event.start_at.astimezone(zone).date()
        last = (item.event.end_at.astimezone(zone) - dt.timedelta(seconds=1)).date()
        while day <= last:
            by_day.setdefault(day, []).append(item)
            day += dt.timedelta(days=1)
    weeks = []
    for week in calendar.Calendar().monthdatescalendar(first.year, first.month):
        weeks.append(
            [
                {
                    "day": d,
                    "items": by_day.get(d, []),
                    "other_month": d.month != first.month,
                    "today": d == today,
                }
                for d in week
            ]
        )
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return {
        "month": first,
        "weeks": weeks,
        "previous": previous.strftime("%Y-%m"),
        "following": following.strftime("%Y-%m"),
        "weekdays": [dt.date(2024, 1, d) for d in range(1, 8)],  # a Monday to a Sunday
    }


def _event_context(request: HttpRequest, event: Event, form: Any = None) -> dict[str, Any]:
    place = request.place
    tiers = list(event.tiers.all())
    seats = selectors.event_seats(events=[event]).get(event.pk, selectors.Seats())
    available = max(event.capacity - seats.held, 0)
    person = _own_person(request)
    mine = selectors.own_registration(event=event, person=person)
    state = selectors.registration_state(event=event, available=available, now=timezone.now())
    if form is None and state == "open" and mine is None:
        form = RegistrationForm(
            event=event,
            tiers=tiers,
            visitor=person is None,
            initial={"name": str(person) if person else ""},
        )
    url = request.build_absolute_uri(event.get_absolute_url())
    return {
        "place": place,
        "event": event,
        "tiers": tiers,
        "tier_labels": [tier_label(event, t) for t in tiers],
        "registered": seats.registered,
        "available": available,
        "state": state,
        "mine": mine,
        "form": form,
        "description_html": render_markdown(event.description),
        "jsonld": event_jsonld(event, tiers=tiers, available=available, url=url),
        "may_manage": permissions.can(request.user, "event.manage", place),
    }


@place_view("event.view")
@require_http_methods(["GET"])
def event_page(request: HttpRequest, uuid: Any) -> HttpResponse:
    event = _event_or_404(request, uuid)
    return render(request, "events/event.html", _event_context(request, event))


@place_view("event.register")
@require_http_methods(["POST"])
def register(request: HttpRequest, uuid: Any) -> HttpResponse:
    event = _event_or_404(request, uuid)
    person = _own_person(request)
    tiers = list(event.tiers.all())
    form = RegistrationForm(request.POST, event=event, tiers=tiers, visitor=person is None)
    if form.is_valid():
        try:
            registration = services.registration_create(
                event=event,
                by=request.user if request.user.is_authenticated else None,
                level=request.level,
                person=person,
                visitor_name=form.cleaned_data.get("name", ""),
                visitor_email=form.cleaned_data.get("email", ""),
                attendees=form.attendees(),
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            if registration.status == Registration.Status.CONFIRMED:
                messages.success(
                    request,
                    _("Inscription confirmée. Vos billets vous ont été envoyés par e-mail."),
                )
            else:
                messages.info(
                    request,
                    _("C'est complet : vous êtes sur la liste d'attente. Nous vous écrirons."),
                )
            return redirect(
                "events:registration", place_slug=request.place.slug, uuid=registration.uuid
            )
    context = _event_context(request, event, form=form)
    return render(request, "events/event.html", context, status=400)


def _registration_or_404(request: HttpRequest, uuid: Any) -> Registration:
    registration = selectors.registration_page(uuid=uuid, place=request.place)
    if registration is None:
        raise Http404
    return registration


@place_view("event.view")
@require_http_methods(["GET"])
def registration_page(request: HttpRequest, uuid: Any) -> HttpResponse:
    """The private page of a registration: whoever holds its link (sent by e-mail) sees it."""
    registration = _registration_or_404(request, uuid)
    event = registration.event
    deadline = event.start_at - dt.timedelta(hours=event.cancel_hours)
    staff = request.level >= Level.CONCIERGE
    may_cancel = registration.status != Registration.Status.CANCELLED and (
        staff or timezone.now() <= deadline
    )
    response = render(
        request,
        "events/registration.html",
        {
            "place": request.place,
            "registration": registration,
            "event": event,
            "tickets": list(registration.tickets.all()),
            "may_cancel": may_cancel,
            "deadline": deadline,
        },
    )
    # The link is a key: keep the page out of shared caches and of other sites' referrers.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@place_view("event.view")
@require_http_methods(["POST"])
def registration_action(request: HttpRequest, uuid: Any) -> HttpResponse:
    registration = _registration_or_404(request, uuid)
    action = request.POST.get("action", "")
    by = request.user if request.user.is_authenticated else None
    try:
        if action == "cancel":
            services.registration_cancel(
                registration=registration, by=by, level=request.level, holder=True
            )
            messages.success(request, _("Inscription annulée."))
        elif action == "accept":
            services.offer_accept(
                registration=registration, by=by, level=request.level, holder=True
            )
            messages.success(request, _("C'est confirmé : la place est à vous."))
        else:
            return HttpResponseBadRequest(_("Action inconnue."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("events:registration", place_slug=request.place.slug, uuid=registration.uuid)


@place_view("booking.create")
@require_http_methods(["GET"])
def my_registrations(request: HttpRequest) -> HttpResponse:
    person = _own_person(request)
    items = (
        list(selectors.person_registrations(place=request.place, person=person))
        if person is not None
        else []
    )
    now = timezone.now()
    return render(
        request,
        "events/my_registrations.html",
        {
            "place": request.place,
            "upcoming": [r for r in items if r.event.end_at > now],
            "past": [r for r in items if r.event.end_at <= now][-20:],
        },
    )


# --- The team's screens --------------------------------------------------------------------------


def _tier_specs(formset: Any) -> list[dict[str, Any]]:
    return [spec for form in formset.forms if (spec := form.spec()) is not None]


def _tier_errors(formset: Any, exc: DomainError) -> list[str]:
    """Messages for the tiers: put on their row when the field is known, else listed."""
    loose = []
    for field, errs in exc.as_errors().items():
        parts = field.split(".")
        if parts[0] == "tiers" and len(parts) >= 3 and parts[1].isdigit():
            index, name = int(parts[1]), parts[2]
            if index < len(formset.forms) and name in formset.forms[index].fields:
                for err in errs:
                    formset.forms[index].add_error(name, err)
                continue
        if parts[0] == "tiers":
            loose.extend(errs)
    return loose


@place_view("event.manage")
@require_http_methods(["GET", "POST"])
def event_create(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = EventForm(request.POST or None, place=place)
    repeat = RepeatForm(request.POST or None, prefix="repeter")
    tiers = TierFormSet(request.POST or None, prefix="tarifs", initial=tier_initial(None))
    tier_messages: list[str] = []
    if request.method == "POST":
        valid = form.is_valid() & repeat.is_valid() & tiers.is_valid()
        specs = _tier_specs(tiers) if tiers.is_valid() else []
        if valid and not specs:
            tier_messages.append(_("Indiquez au moins un tarif (même gratuit)."))
        elif valid:
            try:
                every = repeat.cleaned_data.get("every_days") or 0
                if every:
                    created = services.event_series_create(
                        place=place,
                        by=request.user,
                        every_days=every,
                        count=repeat.cleaned_data["count"],
                        tiers=specs,
                        **form.service_fields(),
                    )
                    messages.success(
                        request,
                        ngettext("%(n)s date créée.", "%(n)s dates créées.", len(created))
                        % {"n": len(created)},
                    )
                    event = created[0]
                else:
                    event = services.event_create(
                        place=place, by=request.user, tiers=specs, **form.service_fields()
                    )
                    messages.success(request, _("Évènement créé."))
                return redirect(event.get_absolute_url())
            except DomainError as exc:
                add_domain_errors(form, exc)
                for field, errs in exc.as_errors().items():
                    if field in repeat.fields:
                        for err in errs:
                            repeat.add_error(field, err)
                tier_messages += _tier_errors(tiers, exc)
    return render(
        request,
        "events/manage/event_form.html",
        {
            "place": place,
            "form": form,
            "repeat": repeat,
            "tiers": tiers,
            "tier_messages": tier_messages,
            "event": None,
        },
        status=400 if request.method == "POST" else 200,
    )


@place_view("event.manage")
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    place = request.place
    event = _event_or_404(request, uuid)
    form = EventForm(request.POST or None, place=place, initial=EventForm.initial_for(event))
    tiers = TierFormSet(request.POST or None, prefix="tarifs", initial=tier_initial(event))
    tier_messages: list[str] = []
    if request.method == "POST":
        valid = form.is_valid() & tiers.is_valid()
        if valid:
            try:
                services.event_update(event=event, by=request.user, **form.service_fields())
                services.event_tiers_save(event=event, by=request.user, tiers=_tier_specs(tiers))
                messages.success(request, _("Évènement enregistré."))
                return redirect(event.get_absolute_url())
            except DomainError as exc:
                add_domain_errors(form, exc)
                tier_messages += _tier_errors(tiers, exc)
    return render(
        request,
        "events/manage/event_form.html",
        {
            "place": place,
            "form": form,
            "repeat": None,
            "tiers": tiers,
            "tier_messages": tier_messages,
            "event": event,
        },
        status=400 if request.method == "POST" else 200,
    )


@place_view("event.manage")
@require_http_methods(["POST"])
def event_cancel(request: HttpRequest, uuid: Any) -> HttpResponse:
    event = _event_or_404(request, uuid)
    try:
        services.event_cancel(
            event=event, by=request.user, reason=request.POST.get("reason", "")[:2000]
        )
        messages.success(request, _("Évènement annulé : les personnes inscrites sont prévenues."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(event.get_absolute_url())


@place_view("event.manage")
@require_http_methods(["GET"])
def checkin(request: HttpRequest, uuid: Any) -> HttpResponse:
    """The arrival desk, made for a phone: scan a ticket's QR code or find a name."""
    event = _event_or_404(request, uuid)
    query = request.GET.get("q", "").strip()[:100]
    arrived, expected = selectors.checkin_counts(event=event)
    context = {
        "place": request.place,
        "event": event,
        "query": query,
        "tickets": selectors.checkin_tickets(event=event, query=query),
        "arrived": arrived,
        "expected": expected,
        "shown_max": selectors.CHECKIN_SHOWN,
    }
    if request.headers.get("HX-Request"):
        return render(request, "events/manage/_checkin_list.html", context)
    return render(request, "events/manage/checkin.html", context)


def _uuid_or_none(text: str) -> uuid_module.UUID | None:
    try:
        return uuid_module.UUID(text)
    except ValueError:
        return None


def _token_of(text: str) -> str:
    """A ticket's token from what the scanner read: the ticket's URL, or the token itself."""
    text = text.strip()
    if "/billets/" in text:
        text = text.split("/billets/", 1)[1].split("/", 1)[0]
    return text[:60]


@place_view("event.manage")
@require_http_methods(["POST"])
def checkin_ticket(request: HttpRequest, uuid: Any) -> HttpResponse:
    event = _event_or_404(request, uuid)
    ticket: Ticket | None = None
    try:
        if request.POST.get("ticket"):
            ticket_uuid = _uuid_or_none(request.POST["ticket"])
            if ticket_uuid is not None:
                ticket = Ticket.objects.filter(event=event, uuid=ticket_uuid).first()
        elif request.POST.get("code"):
            ticket = services.ticket_by_token(event=event, token=_token_of(request.POST["code"]))
        if ticket is None:
            messages.error(request, _("Billet inconnu pour cet évènement."))
        else:
            ticket = services.ticket_check_in(ticket=ticket, by=request.user)
            messages.success(
                request,
                _("Bienvenue %(name)s (%(tier)s) !")
                % {"name": ticket.name, "tier": ticket.tier.name},
            )
    except DomainError as exc:
        messages.error(request, exc.message)
    target = reverse("events:checkin", args=[request.place.slug, event.uuid])
    query = request.POST.get("q", "").strip()
    return redirect(f"{target}?q={query}" if query else target)
