"""Aiguillage pages: the public need form and its "be called back", then the aiguilleurs'
side: their queue and figures, recording an orientation, following it up; the team manages
the aiguilleurs.

Views parse with forms, write through services, read through selectors; a refusal is a
message or a form error on the page it came from, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conciergerie.commons.aiguillage_forms import (
    AiguilleurForm,
    AssignForm,
    ContactForm,
    FilterForm,
    NeedForm,
    OutcomeForm,
    RecordForm,
)
from conciergerie.commons.models import Aiguilleur, Orientation
from conciergerie.commons.selectors import orientations as selectors
from conciergerie.commons.selectors.aiguillage import QUESTIONS, Suggestion, suggest
from conciergerie.commons.services import aiguillage as services
from conciergerie.community.models import Person
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import add_domain_errors
from conciergerie.core.permissions import Level, visible_levels
from conciergerie.federation.selectors import network_commons

PAGE_SIZE = 50


def _url(name: str, place_slug: str, **kwargs: Any) -> str:
    return reverse(f"commons:{name}", kwargs={"place_slug": place_slug, **kwargs})


# --- The public need form ---------------------------------------------------------------------


def _own_person(request: HttpRequest) -> Person | None:
    if not request.user.is_authenticated:
        return None
    return request.user.people.filter(place=request.place).first()  # type: ignore[union-attr,attr-defined]


def _rows(request: HttpRequest, suggestions: list[Suggestion]) -> dict[str, list[dict[str, str]]]:
    """What the page shows of each suggestion. A person's page is linked only for those who
    may open it: members and the team, and only when they may read that person's name."""
    level: Level = request.level  # type: ignore[attr-defined]
    allowed = visible_levels(level)
    commons, people = [], []
    for s in suggestions:
        if s.type == "commons":
            commons.append(
                {"name": s.name, "url": s.url, "summary": s.obj.summary, "reason": s.reason}
            )
            continue
        readable = level >= Level.CONCIERGE or s.obj.name_visibility in allowed
        url = s.url if level >= Level.MEMBER and readable else ""
        people.append({"name": s.name, "url": url, "reason": s.reason})
    return {"commons": commons, "people": people}


def _results_url(request: HttpRequest, query: dict[str, str], **extra: str) -> str:
    return (
        _url("aiguillage", request.place.slug)  # type: ignore[attr-defined]
        + "?"
        + urlencode({**query, **extra})
    )


NETWORK_LIMIT = 3


@place_view("aiguillage.ask")
@require_http_methods(["GET", "POST"])
def aiguillage(request: HttpRequest) -> HttpResponse:
    place = request.place  # type: ignore[attr-defined]
    posted = request.method == "POST"
    data = request.POST if posted else (request.GET if "need" in request.GET else None)
    need_form = NeedForm(data)
    context: dict[str, Any] = {"place": place, "need_form": need_form, "searched": False}
    if need_form.is_bound and need_form.is_valid():
        query = need_form.as_query()
        suggestions = suggest(
            place=place,
            need=need_form.cleaned_data["need"],
            answers=need_form.cleaned_data["answers"],
            level=request.level,  # type: ignore[attr-defined]
        )
        me = _own_person(request)
        contact_form = ContactForm(
            request.POST if posted else None,
            email_required=me is None or not me.email,
            initial={"contact_name": me.full_name, "contact_email": me.email} if me else {},
        )
        if posted and contact_form.is_valid():
            if contact_form.is_robot:  # answered as if it worked, nothing is kept
                return redirect(_results_url(request, query, envoye="1"))
            contact = contact_form.cleaned_data
            try:
                services.orientation_request(
                    place=place,
                    need=need_form.cleaned_data["need"],
                    answers=need_form.cleaned_data["answers"],
                    suggestions=suggestions,
                    contact_name=contact["contact_name"],
                    contact_email=contact["contact_email"],
                    message=contact["message"],
                    person=me,
                    by=request.user if request.user.is_authenticated else None,  # type: ignore[arg-type]
                    ip=request.META.get("REMOTE_ADDR") or "",
                )
            except DomainError as exc:
                add_domain_errors(contact_form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "C'est noté : un·e aiguilleur·euse du lieu vous recontacte "
                        "par e-mail dans les prochains jours."
                    ),
                )
                return redirect(_results_url(request, query, envoye="1"))
        context.update(
            searched=True,
            query=query,
            hidden=list(query.items()),
            share_url=_results_url(request, query),
            contact_form=contact_form,
            sent=request.GET.get("envoye") == "1",
            # Commons of the places this one follows, and who published them: one query.
            network=network_commons(place, q=need_form.cleaned_data["need"], limit=NETWORK_LIMIT),
            **_rows(request, suggestions),
        )
    return render(request, "commons/aiguillage/ask.html", context, status=400 if posted else 200)


# --- The aiguilleurs' side --------------------------------------------------------------------


def orient_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Members at least, then `permissions.can_orient`: the team or an active aiguilleur.
    Sets request.is_team and request.aiguilleur (the viewer's own, or None)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        place = request.place  # type: ignore[attr-defined]
        if not permissions.can_orient(request.user, place):  # type: ignore[arg-type]
            raise PermissionDenied
        request.is_team = permissions.can(request.user, "aiguillage.manage", place)  # type: ignore[attr-defined,arg-type]
        request.aiguilleur = selectors.aiguilleur_of(place=place, user=request.user)  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return place_view("directory.view")(wrapper)


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "place": request.place,  # type: ignore[attr-defined]
        "is_team": request.is_team,  # type: ignore[attr-defined]
        "me": request.aiguilleur,  # type: ignore[attr-defined]
        **extra,
    }


@orient_view
@require_GET
def orientations(request: HttpRequest) -> HttpResponse:
    place = request.place  # type: ignore[attr-defined]
    team, me = request.is_team, request.aiguilleur  # type: ignore[attr-defined]
    everyone = selectors.aiguilleurs(place=place) if team else []
    filters = FilterForm(request.GET or None, aiguilleurs=everyone)
    qs = selectors.orientation_list(
        place=place, scope=me, restricted=not team, **filters.criteria()
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = _context(
        request,
        queue=selectors.orientation_queue(place=place, aiguilleur=me),
        filters=filters,
        page=page,
        querystring={k: v for k, v in request.GET.dict().items() if k != "page"},
        figures=selectors.orientation_figures(place=place) if team else None,
    )
    return render(request, "commons/aiguillage/orientations.html", context)


def _record_form(
    request: HttpRequest,
    data: Any,
    suggestions: list[dict[str, str]],
    *,
    with_contact: bool,
) -> RecordForm:
    place = request.place  # type: ignore[attr-defined]
    return RecordForm(
        data,
        suggestions=suggestions,
        commons=selectors.commons_choices(place=place),
        people=selectors.people_choices(place=place, level=request.level),  # type: ignore[attr-defined]
        follow_up_on=services.follow_up_default(place),
        with_contact=with_contact,
    )


def _chosen(request: HttpRequest, form: RecordForm) -> dict[str, Any]:
    place = request.place  # type: ignore[attr-defined]
    commons_ids, people_ids = form.chosen_uuids()
    data = form.cleaned_data
    return {
        "commons": [
            *selectors.commons_by_uuids(place=place, uuids=commons_ids),
            *data["more_commons"],
        ],
        "people": [
            *selectors.people_by_uuids(place=place, uuids=people_ids, level=request.level),  # type: ignore[attr-defined]
            *data["more_people"],
        ],
        "note": data["note"],
        "follow_up_on": data["follow_up_on"],
    }


@orient_view
@require_http_methods(["GET", "POST"])
def orientation_new(request: HttpRequest) -> HttpResponse:
    """Someone met in person: their need → suggestions to check → the orientation recorded."""
    place = request.place  # type: ignore[attr-defined]
    posted = request.method == "POST"
    need_form = NeedForm(request.POST if posted else (request.GET or None))
    context = _context(request, need_form=need_form, record_form=None)
    if need_form.is_bound and need_form.is_valid():
        cleaned = need_form.cleaned_data
        suggestions = suggest(
            place=place,
            need=cleaned["need"],
            answers=cleaned["answers"],
            level=request.level,  # type: ignore[attr-defined]
        )
        form = _record_form(
            request,
            request.POST if posted else None,
            services.shown(suggestions),
            with_contact=True,
        )
        if posted and form.is_valid():
            try:
                orientation = services.orientation_record(
                    place=place,
                    by=request.user,  # type: ignore[arg-type]
                    need=cleaned["need"],
                    answers=cleaned["answers"],
                    person=form.cleaned_data["person"],
                    contact_name=form.cleaned_data["contact_name"],
                    contact_email=form.cleaned_data["contact_email"],
                    suggestions=suggestions,
                    **_chosen(request, form),
                )
            except DomainError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("Orientation enregistrée."))
                return redirect(orientation.get_absolute_url())
        context.update(record_form=form, hidden=list(need_form.as_query().items()))
    return render(
        request,
        "commons/aiguillage/orientation_new.html",
        context,
        status=400 if posted else 200,
    )


def _orientation_or_404(request: HttpRequest, uuid: Any) -> Orientation:
    orientation = selectors.orientation_detail(
        place=request.place,  # type: ignore[attr-defined]
        uuid=uuid,
        scope=request.aiguilleur,  # type: ignore[attr-defined]
        restricted=not request.is_team,  # type: ignore[attr-defined]
    )
    if orientation is None:
        raise Http404
    return orientation


def _assign_form(request: HttpRequest, orientation: Orientation, data: Any = None) -> AssignForm:
    return AssignForm(
        data,
        aiguilleurs=Aiguilleur.objects.filter(
            place=request.place,  # type: ignore[attr-defined]
            active=True,
        ).select_related("person"),
        initial={"aiguilleur": orientation.aiguilleur_id},
    )


def _orientation_page(
    request: HttpRequest,
    orientation: Orientation,
    *,
    record_form: RecordForm | None = None,
    outcome_form: OutcomeForm | None = None,
    assign_form: AssignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if record_form is None and orientation.oriented_at is None:
        record_form = _record_form(request, None, orientation.suggestions, with_contact=False)
    suggestions = orientation.suggestions or []
    context = _context(
        request,
        orientation=orientation,
        suggested_commons=[s for s in suggestions if s.get("type") == "commons"],
        suggested_people=[s for s in suggestions if s.get("type") == "person"],
        answers=[
            (str(label), dict(choices).get(orientation.answers.get(key), ""))
            for key, (label, choices) in QUESTIONS.items()
            if orientation.answers.get(key)
        ],
        record_form=record_form,
        outcome_form=outcome_form
        or OutcomeForm(
            initial={"outcome": orientation.outcome, "reason": orientation.outcome_reason}
        ),
        assign_form=assign_form or _assign_form(request, orientation),
        email=services.recipient(orientation),
    )
    return render(request, "commons/aiguillage/orientation.html", context, status=status)


@orient_view
@require_http_methods(["GET", "POST"])
def orientation(request: HttpRequest, uuid: Any) -> HttpResponse:
    """The request, what was suggested and chosen, and its follow-up; POST records it."""
    current = _orientation_or_404(request, uuid)
    if request.method == "GET":
        return _orientation_page(request, current)
    if current.oriented_at is not None:
        messages.error(request, _("Cette orientation est déjà enregistrée."))
        return redirect(current.get_absolute_url())
    form = _record_form(request, request.POST, current.suggestions, with_contact=False)
    if form.is_valid():
        try:
            services.orientation_record(
                place=request.place,  # type: ignore[attr-defined]
                by=request.user,  # type: ignore[arg-type]
                orientation=current,
                **_chosen(request, form),
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request, _("Orientation enregistrée : la personne la reçoit par e-mail.")
            )
            return redirect(current.get_absolute_url())
    return _orientation_page(request, current, record_form=form, status=400)


def _follow_up(
    request: HttpRequest,
    current: Orientation,
    form: OutcomeForm | AssignForm,
    write: Callable[[dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """A follow-up form posted from the orientation's page: written, or shown back there."""
    if form.is_valid():
        try:
            write(form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(current.get_absolute_url())
    if isinstance(form, OutcomeForm):
        return _orientation_page(request, current, outcome_form=form, status=400)
    return _orientation_page(request, current, assign_form=form, status=400)


@orient_view
@require_POST
def orientation_outcome(request: HttpRequest, uuid: Any) -> HttpResponse:
    current = _orientation_or_404(request, uuid)
    return _follow_up(
        request,
        current,
        OutcomeForm(request.POST),
        lambda data: services.orientation_outcome(
            orientation=current,
            by=request.user,  # type: ignore[arg-type]
            outcome=data["outcome"],
            reason=data["reason"],
        ),
        _("Suite enregistrée."),
    )


@orient_view
@require_POST
def orientation_assign(request: HttpRequest, uuid: Any) -> HttpResponse:
    current = _orientation_or_404(request, uuid)
    return _follow_up(
        request,
        current,
        _assign_form(request, current, request.POST),
        lambda data: services.orientation_assign(
            orientation=current,
            aiguilleur=data["aiguilleur"],
            by=request.user,  # type: ignore[arg-type]
        ),
        _("Orientation confiée."),
    )


# --- Managing the aiguilleurs (team) ----------------------------------------------------------


def _aiguilleurs_page(
    request: HttpRequest, *, form: AiguilleurForm | None = None, status: int = 200
) -> HttpResponse:
    place = request.place  # type: ignore[attr-defined]
    rows = [
        {
            "aiguilleur": a,
            "form": AiguilleurForm(
                place=place,
                person=a.person,
                auto_id=f"id_{a.pk}_%s",
                initial={
                    "domains": ", ".join(d.name for d in a.domains.all()),
                    "availability": a.availability,
                    "active": a.active,
                },
            ),
        }
        for a in selectors.aiguilleurs(place=place)
    ]
    context = {"place": place, "rows": rows, "form": form or AiguilleurForm(place=place)}
    return render(request, "commons/aiguillage/aiguilleurs.html", context, status=status)


@place_view("aiguillage.manage")
@require_GET
def aiguilleurs(request: HttpRequest) -> HttpResponse:
    return _aiguilleurs_page(request)


@place_view("aiguillage.manage")
@require_POST
def aiguilleur_save(request: HttpRequest) -> HttpResponse:
    place = request.place  # type: ignore[attr-defined]
    form = AiguilleurForm(request.POST, place=place)
    if form.is_valid():
        try:
            services.aiguilleur_set(
                place=place,
                person=form.cleaned_data["person"],
                by=request.user,  # type: ignore[arg-type]
                domains=form.domain_list(),
                availability=form.cleaned_data["availability"],
                active=form.cleaned_data["active"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Aiguilleur·euse enregistré·e."))
            return redirect(_url("aiguilleurs", place.slug))
    return _aiguilleurs_page(request, form=form, status=400)


@place_view("aiguillage.manage")
@require_POST
def aiguilleur_remove(request: HttpRequest, person_uuid: Any) -> HttpResponse:
    place = request.place  # type: ignore[attr-defined]
    found = selectors.aiguilleur_by_person(place=place, person_uuid=person_uuid)
    if found is None:
        raise Http404
    try:
        services.aiguilleur_remove(aiguilleur=found, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(name)s n'est plus aiguilleur·euse ; ses orientations restent dans la file.")
            % {"name": found.person.full_name},
        )
    return redirect(_url("aiguilleurs", place.slug))
