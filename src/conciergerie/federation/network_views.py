"""The network pages: what a place receives from the places it follows (public), its
calendar as iCal, and (for the team) whom it follows, who follows it, and blocked instances.

Views parse with forms, read through `selectors` and write through the federation services;
a refusal becomes a form error or a message, never a 500.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from icalendar import Calendar, vCalAddress
from icalendar import Event as VEvent

from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import add_domain_errors, posted
from conciergerie.core.models import Place
from conciergerie.federation import selectors, services
from conciergerie.federation.models import Follow
from conciergerie.federation.network_forms import (
    BlockForm,
    DecisionForm,
    FollowForm,
    NetworkSearchForm,
)
from conciergerie.federation.selectors import NetworkItem

HOME_EVENTS = 50  # the page shows the next ones; the iCal feed carries more
FEED_EVENTS = 500
ICS_TEXT_CHARS = 1000
PRODID = "-//Conciergerie//Reseau//FR"
ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"


def _place(request: HttpRequest) -> Place:
    place: Place = request.place  # type: ignore[attr-defined]
    return place


def _manage_url(place: Place) -> str:
    return reverse("network:manage", kwargs={"place_slug": place.slug})


# --- Public side -------------------------------------------------------------------------------


@place_view("place.view")
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    """The places followed, their upcoming events, and a search over their commons."""
    place = _place(request)
    form = NetworkSearchForm(request.GET or None)
    q = form.words()
    context = {
        "place": place,
        "handle": selectors.handle_of(place),
        "actors": list(selectors.followed_actors(place)),
        "events": selectors.network_events(place, limit=HOME_EVENTS),
        "form": form,
        "q": q,
        "results": selectors.network_search(place, q) if q else None,
    }
    return render(request, "federation/network_home.html", context)


def _vevent(item: NetworkItem, zone: zoneinfo.ZoneInfo, stamp: Any) -> VEvent:
    vevent = VEvent()
    vevent.add("uid", item.id)  # the remote object's ActivityPub id: stable, unique
    vevent.add("dtstamp", stamp)
    assert item.start is not None  # network_events keeps dated events only
    vevent.add("dtstart", item.start.astimezone(zone))
    if item.end is not None:
        vevent.add("dtend", item.end.astimezone(zone))
    vevent.add("summary", item.name)
    origin = item.origin
    came_from = _("Vient de %(name)s (%(handle)s)") % {"name": origin.name, "handle": origin.handle}
    text = item.excerpt[:ICS_TEXT_CHARS]
    vevent.add("description", f"{text}\n\n{came_from}".strip())
    if item.location:
        vevent.add("location", item.location)
    vevent.add("url", item.url)
    organizer = vCalAddress(origin.url)
    organizer.params["cn"] = origin.name
    vevent.add("organizer", organizer)
    return vevent


@place_view("event.view")
@require_http_methods(["GET"])
def events_ics(request: HttpRequest) -> HttpResponse:
    """The network's upcoming events as a subscribable calendar: two queries (place, events)."""
    place = _place(request)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Réseau — %(place)s") % {"place": place.name})
    cal.add("refresh-interval;value=duration", "PT1H")
    zone, stamp = zoneinfo.ZoneInfo(place.timezone), timezone.now()
    for item in selectors.network_events(place, limit=FEED_EVENTS):
        cal.add_component(_vevent(item, zone, stamp))
    cal.add_missing_timezones()
    response = HttpResponse(cal.to_ical(), content_type=ICS_CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="reseau-{place.slug}.ics"'
    response["Cache-Control"] = "public, max-age=900"
    return response


# --- The team's page ---------------------------------------------------------------------------


def _manage_page(
    request: HttpRequest,
    *,
    follow_form: FollowForm | None = None,
    block_form: BlockForm | None = None,
    status: int = 200,
) -> HttpResponse:
    place = _place(request)
    context = {
        "place": place,
        "handle": selectors.handle_of(place),
        "following": selectors.place_follows(place, Follow.Direction.FOLLOWING),
        "followers": selectors.place_follows(place, Follow.Direction.FOLLOWER),
        "follow_form": follow_form or FollowForm(),
        "block_form": block_form or BlockForm(),
        "blocked": selectors.blocked_domains(),
    }
    return render(request, "federation/network_manage.html", context, status=status)


@place_view("network.manage")
@require_http_methods(["GET"])
def manage(request: HttpRequest) -> HttpResponse:
    return _manage_page(request)


@place_view("network.manage")
@require_http_methods(["POST"])
def follow(request: HttpRequest) -> HttpResponse:
    place = _place(request)
    form = FollowForm(posted(request))
    if form.is_valid():
        try:
            made = services.follow_request(
                place=place,
                target=form.cleaned_data["target"],
                by=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            # Whatever field the service names, the address is the only thing typed here.
            add_domain_errors(form, exc, field_of=lambda _key: "target")
        else:
            if made.state == Follow.State.ACCEPTED:
                text = _("Vous suivez maintenant %(name)s.")
            else:
                text = _("Demande envoyée à %(name)s : le lieu doit l'accepter.")
            messages.success(request, text % {"name": made.remote.label})
            return redirect(_manage_url(place))
    return _manage_page(request, follow_form=form, status=400)


@place_view("network.manage")
@require_http_methods(["POST"])
def unfollow(request: HttpRequest, follow_id: int) -> HttpResponse:
    place = _place(request)
    found = selectors.follow_of(place, follow_id, Follow.Direction.FOLLOWING)
    if found is None:
        raise Http404
    try:
        services.unfollow(follow=found, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Vous ne suivez plus %(name)s.") % {"name": found.remote.label})
    return redirect(_manage_url(place))


@place_view("network.manage")
@require_http_methods(["POST"])
def follower_decide(request: HttpRequest, follow_id: int) -> HttpResponse:
    place = _place(request)
    found = selectors.follow_of(place, follow_id, Follow.Direction.FOLLOWER)
    if found is None:
        raise Http404
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez d'accepter ou de refuser."))
        return redirect(_manage_url(place))
    accept = form.accepted()
    try:
        services.follower_decide(follow=found, accept=accept, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        name = {"name": found.remote.label}
        if accept:
            messages.success(request, _("%(name)s suit maintenant le lieu.") % name)
        else:
            messages.success(request, _("Demande de %(name)s refusée.") % name)
    return redirect(_manage_url(place))


@place_view("network.block")  # a block holds for the whole instance
@require_http_methods(["POST"])
def block(request: HttpRequest) -> HttpResponse:
    place = _place(request)
    form = BlockForm(posted(request))
    if form.is_valid():
        try:
            blocked = services.domain_block(
                domain=form.cleaned_data["domain"],
                reason=form.cleaned_data["reason"],
                by=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request,
                _("Instance %(domain)s bloquée : plus rien n'en est reçu ni ne lui est envoyé.")
                % {"domain": blocked.domain},
            )
            return redirect(_manage_url(place))
    return _manage_page(request, block_form=form, status=400)
