"""The network pages: what a place receives from the places it follows (public), its
calendar as iCal, and (for the team) whom it follows, who follows it, and blocked instances
and accounts.

Views parse with forms, read through `selectors` and write through the federation services;
a refusal becomes a form error or a message, never a 500.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django import forms
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
from conciergerie.core.models import Place, User
from conciergerie.federation import selectors, services
from conciergerie.federation.models import Follow
from conciergerie.federation.network_forms import (
    ActorBlockForm,
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
    """The places followed, their upcoming events, the equipment they lend, and a search
    over their commons."""
    place = _place(request)
    form = NetworkSearchForm(request.GET or None)
    q = form.words()
    context = {
        "place": place,
        "handle": selectors.handle_of(place),
        "actors": list(selectors.followed_actors(place)),
        "events": selectors.network_events(place, limit=HOME_EVENTS),
        "equipment": selectors.network_equipment(place, limit=100),  # the search finds more
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
        "blocked_actors": selectors.blocked_actors(),
    }
    return render(request, "federation/network_manage.html", context, status=status)


# The writes of the team's page share one shape: bind, call the service, say what became of it,
# back to the page. A typed form (follow, block an instance) shows a refusal on the form, with
# what was typed; a button (unfollow, decide, block an account) says it in a message.
Action = Callable[[dict[str, Any]], str]  # the form's cleaned data → the success message


def _from_form(
    request: HttpRequest,
    form: FollowForm | BlockForm,
    action: Action,
    *,
    field_of: Callable[[str], str | None] | None = None,
) -> HttpResponse:
    if form.is_valid():
        try:
            text = action(form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc, field_of=field_of)
        else:
            messages.success(request, text)
            return redirect(_manage_url(_place(request)))
    if isinstance(form, FollowForm):
        return _manage_page(request, follow_form=form, status=400)
    return _manage_page(request, block_form=form, status=400)


def _from_button(
    request: HttpRequest, action: Action, *, form: forms.Form | None = None, invalid: str = ""
) -> HttpResponse:
    if form is not None and not form.is_valid():
        messages.error(request, invalid)
    else:
        try:
            text = action(form.cleaned_data if form is not None else {})
        except DomainError as exc:
            for errors in exc.as_errors().values():
                for error in errors:
                    messages.error(request, error)
        else:
            messages.success(request, text)
    return redirect(_manage_url(_place(request)))


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]  # place_view let in the team only
    return user


@place_view("network.manage")
@require_http_methods(["GET"])
def manage(request: HttpRequest) -> HttpResponse:
    return _manage_page(request)


@place_view("network.manage")
@require_http_methods(["POST"])
def follow(request: HttpRequest) -> HttpResponse:
    def ask(data: dict[str, Any]) -> str:
        made = services.follow_request(
            place=_place(request), target=data["target"], by=_user(request)
        )
        if made.state == Follow.State.ACCEPTED:
            text = _("Vous suivez maintenant %(name)s.")
        else:
            text = _("Demande envoyée à %(name)s : le lieu doit l'accepter.")
        return text % {"name": made.remote.label}

    # Whatever field the service names, the address is the only thing typed here.
    return _from_form(request, FollowForm(posted(request)), ask, field_of=lambda _key: "target")


@place_view("network.manage")
@require_http_methods(["POST"])
def unfollow(request: HttpRequest, follow_id: int) -> HttpResponse:
    found = selectors.follow_of(_place(request), follow_id, Follow.Direction.FOLLOWING)
    if found is None:
        raise Http404

    def stop(_data: dict[str, Any]) -> str:
        services.unfollow(follow=found, by=_user(request))
        return _("Vous ne suivez plus %(name)s.") % {"name": found.remote.label}

    return _from_button(request, stop)


@place_view("network.manage")
@require_http_methods(["POST"])
def follower_decide(request: HttpRequest, follow_id: int) -> HttpResponse:
    found = selectors.follow_of(_place(request), follow_id, Follow.Direction.FOLLOWER)
    if found is None:
        raise Http404
    form = DecisionForm(request.POST)

    def decide(_data: dict[str, Any]) -> str:
        accept = form.accepted()
        services.follower_decide(follow=found, accept=accept, by=_user(request))
        if accept:
            return _("%(name)s suit maintenant le lieu.") % {"name": found.remote.label}
        return _("Demande de %(name)s refusée.") % {"name": found.remote.label}

    return _from_button(
        request, decide, form=form, invalid=_("Choisissez d'accepter ou de refuser.")
    )


@place_view("network.block")  # a block holds for the whole instance
@require_http_methods(["POST"])
def block(request: HttpRequest) -> HttpResponse:
    def block_domain(data: dict[str, Any]) -> str:
        blocked = services.domain_block(
            domain=data["domain"], reason=data["reason"], by=_user(request)
        )
        return _("Instance %(domain)s bloquée : plus rien n'en est reçu ni ne lui est envoyé.") % {
            "domain": blocked.domain
        }

    return _from_form(request, BlockForm(posted(request)), block_domain)


@place_view("network.block")  # as an instance, an account is blocked for every place here
@require_http_methods(["POST"])
def actor_block(request: HttpRequest) -> HttpResponse:
    def block_actor(data: dict[str, Any]) -> str:
        remote = services.actor_block(
            place=_place(request), actor=data["actor"], blocked=True, by=_user(request)
        )
        return _(
            "Compte %(name)s bloqué : plus rien n'en est reçu ni ne lui est envoyé, et les "
            "abonnements avec lui sont supprimés."
        ) % {"name": remote.label}

    form = ActorBlockForm(posted(request))
    return _from_button(request, block_actor, form=form, invalid=_("Indiquez le compte à bloquer."))


@place_view("network.block")
@require_http_methods(["POST"])
def actor_unblock(request: HttpRequest) -> HttpResponse:
    def unblock_actor(data: dict[str, Any]) -> str:
        remote = services.actor_block(
            place=_place(request), actor=data["actor"], blocked=False, by=_user(request)
        )
        return _("Compte %(name)s débloqué. Pour le suivre à nouveau, refaites une demande.") % {
            "name": remote.label
        }

    form = ActorBlockForm(posted(request))
    return _from_button(
        request, unblock_actor, form=form, invalid=_("Indiquez le compte à débloquer.")
    )
