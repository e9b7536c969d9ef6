"""The catalogue's pages: searching commons, a commons' page, its history with diffs, the FAQ
and (for moderators) the qualification grid.

Views parse with forms, read through selectors and write through services; a refusal becomes
a form error or a message, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from conciergerie.commons import jsonld
from conciergerie.commons.catalogue_forms import (
    FaqEntryForm,
    GridQuestionForm,
    SearchForm,
    StatusForm,
)
from conciergerie.commons.grid import Question
from conciergerie.commons.models import Action, Commons, Domain, GridField, Kind
from conciergerie.commons.selectors import faq as faq_selectors
from conciergerie.commons.selectors import history
from conciergerie.commons.selectors.campaigns import campaigns_for_commons
from conciergerie.commons.selectors.catalogue import (
    commons_by_slug,
    commons_search,
    grid_questions,
    visible_statuses,
)
from conciergerie.commons.selectors.pages import pages_for_commons
from conciergerie.commons.services import faq as faq_services
from conciergerie.commons.services import grid as grid_services
from conciergerie.commons.services.catalogue import commons_set_status
from conciergerie.commons.view_helpers import moderates, place_of, url
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import add_domain_errors, posted
from conciergerie.core.markdown import render_markdown
from conciergerie.core.models import Place

ALL_STATUSES = tuple(Commons.Status.values)


def _optional_url(name: str, place: Place) -> str:
    """The address of a page another part of the app may not provide yet ('' then)."""
    try:
        return reverse(name, kwargs={"place_slug": place.slug})
    except NoReverseMatch:
        return ""


# --- What the pages show of a commons --------------------------------------------------------


def _shown(question: Question, value: Any) -> str:
    """An answer as a reader sees it ('' when not given)."""
    if value in (None, ""):
        return ""
    if question.type == GridField.Type.CHOICE:
        return question.choice_label(value)
    if question.type == GridField.Type.SCALE:
        return f"{value} / 5"
    return str(value)


def _answer(questions: dict[str, Question], commons: Commons, key: str) -> str:
    q = questions.get(key)
    answers = commons.grid if isinstance(commons.grid, dict) else {}
    if q is None or not q.applies_to(commons.kind):
        return ""
    return _shown(q, answers.get(key))


def _action_labels(commons: Commons) -> list[str]:
    return [str(Action(a).label) for a in commons.action_list if a in Action.values]


def _kind_label(commons: Commons) -> str:
    return str(Kind(commons.kind).label) if commons.kind in Kind.values else commons.kind


@dataclass
class Card:
    commons: Commons
    kind: str
    actions: list[str]
    domains: list[Domain]
    adoption_time: str
    complexity: str
    dynamics: str


def _cards(commons_list: list[Commons], questions: list[Question]) -> list[Card]:
    by_key = {q.key: q for q in questions}
    return [
        Card(
            commons=c,
            kind=_kind_label(c),
            actions=_action_labels(c),
            domains=list(c.domains.all()),
            adoption_time=_answer(by_key, c, "adoption_time"),
            complexity=_answer(by_key, c, "complexity"),
            dynamics=_answer(by_key, c, "dynamics"),
        )
        for c in commons_list
    ]


@dataclass
class GridAnswer:
    label: str
    help_text: str
    value: str  # '' when not given: the page says "non renseigné"


@dataclass
class GridGroup:
    name: str
    answers: list[GridAnswer] = field(default_factory=list)


def _grid_groups(commons: Commons, questions: list[Question]) -> list[GridGroup]:
    """The questions that apply to the commons' kind, by group, in the grid's order."""
    answers = commons.grid if isinstance(commons.grid, dict) else {}
    groups: dict[str, GridGroup] = {}
    for q in questions:
        if not q.applies_to(commons.kind):
            continue
        group = groups.setdefault(q.group, GridGroup(q.group or _("Qualification")))
        group.answers.append(GridAnswer(q.label, q.help_text, _shown(q, answers.get(q.key))))
    return list(groups.values())


def _visible_or_404(request: HttpRequest, slug: str) -> Commons:
    """Validated commons for everyone; pending ones for moderators and their proposer;
    archived and refused ones for moderators only."""
    place = place_of(request)
    moderator = moderates(request)
    statuses = ALL_STATUSES if moderator else (Commons.Status.VALIDATED, Commons.Status.PENDING)
    commons = commons_by_slug(place=place, slug=slug, statuses=statuses)
    if commons is None:
        raise Http404
    if commons.status == Commons.Status.PENDING and not moderator:
        user = request.user
        if not user.is_authenticated or commons.proposed_by_id != user.pk:
            raise Http404
    return commons


def _status_badge(commons: Commons) -> str:
    badges: dict[str, str] = {
        Commons.Status.PENDING: "badge-warn",
        Commons.Status.REJECTED: "badge-bad",
        Commons.Status.ARCHIVED: "badge-bad",
    }
    return badges.get(commons.status, "badge-ok")


# --- The catalogue -----------------------------------------------------------------------------


@place_view("commons.view")
@require_http_methods(["GET"])
def commons_list(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    moderator = moderates(request)
    domains = faq_selectors.place_domains(place=place)
    form = SearchForm(request.GET or None, domains=domains)
    criteria = form.criteria()
    results = commons_search(
        place=place,
        statuses=visible_statuses(can_moderate=moderator),
        q=criteria.get("q", ""),
        kind=criteria.get("kind", ""),
        action=criteria.get("action", ""),
        domain=criteria.get("domain", ""),
    )
    suggestion_url, suggestion = "", ""
    if results.fixes and results.query is not None:
        suggestion = " ".join(results.query.words)
        suggestion_url = "?" + urlencode({**criteria, "q": suggestion})
    list_url = url("list", place)
    context = {
        "place": place,
        "form": form,
        "results": results,
        "cards": _cards(results.commons, grid_questions(place=place)),
        "searched": any(criteria.values()),
        "suggestion": suggestion,
        "suggestion_url": suggestion_url,
        "list_url": list_url,
        "moderator": moderator,
        "propose_url": _optional_url("commons:propose", place)
        if permissions.can(request.user, "commons.propose", place)  # type: ignore[arg-type]
        else "",
        "aiguillage_url": _optional_url("commons:aiguillage", place),
    }
    if request.headers.get("HX-Request"):
        return render(request, "commons/catalogue/_results.html", context)
    return render(request, "commons/catalogue/list.html", context)


@place_view("commons.view")
@require_http_methods(["GET"])
def commons_detail(request: HttpRequest, slug: str) -> HttpResponse:
    place = place_of(request)
    commons = _visible_or_404(request, slug)
    domains = list(commons.domains.all())
    with_faq = faq_selectors.domains_with_faq(place=place, domain_ids=[d.pk for d in domains])
    list_url, faq_url = url("list", place), url("faq", place)
    domain_links = [
        {
            "domain": d,
            "url": f"{list_url}?{urlencode({'domain': d.slug})}",
            "faq_url": f"{faq_url}#{faq_selectors.faq_anchor(d.slug)}" if d.pk in with_faq else "",
        }
        for d in domains
    ]
    page_url = request.build_absolute_uri(commons.get_absolute_url())
    license_url = jsonld.license_value(commons.license)
    moderator = moderates(request)
    context = {
        "place": place,
        "commons": commons,
        "kind": _kind_label(commons),
        "actions": [
            {"label": str(Action(a).label), "url": f"{list_url}?{urlencode({'action': a})}"}
            for a in commons.action_list
            if a in Action.values
        ],
        "kind_url": f"{list_url}?{urlencode({'kind': commons.kind})}",
        "domain_links": domain_links,
        "license_url": license_url if license_url.startswith("https://") else "",
        "description_html": render_markdown(commons.description),
        "grid_groups": _grid_groups(commons, grid_questions(place=place)),
        "status_badge": _status_badge(commons),
        "validated": commons.status == Commons.Status.VALIDATED,
        "jsonld": jsonld.commons_jsonld(
            commons, page_url=page_url, domain_names=[d.name for d in domains]
        ),
        "moderator": moderator,
        # Pending and refused commons are the moderation queue's business, not this page's.
        "doc_pages": pages_for_commons(commons),
        "campaign_cards": campaigns_for_commons(commons),
        "may_archive": moderator and commons.status == Commons.Status.VALIDATED,
        "may_restore": moderator and commons.status == Commons.Status.ARCHIVED,
        "aiguillage_url": _optional_url("commons:aiguillage", place),
    }
    return render(request, "commons/catalogue/detail.html", context)


@place_view("commons.moderate")
@require_http_methods(["POST"])
def commons_status(request: HttpRequest, slug: str) -> HttpResponse:
    place = place_of(request)
    commons = commons_by_slug(place=place, slug=slug, statuses=ALL_STATUSES)
    if commons is None:
        raise Http404
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez d'archiver ou de rétablir ce commun."))
        return redirect(commons.get_absolute_url())
    status = form.cleaned_data["status"]
    # Archive what is in the catalogue, bring back what was archived; nothing else here.
    allowed_from = {
        Commons.Status.ARCHIVED: Commons.Status.VALIDATED,
        Commons.Status.VALIDATED: Commons.Status.ARCHIVED,
    }
    if commons.status != allowed_from[status]:
        messages.error(request, _("Ce commun n'est pas dans un état qui le permet."))
        return redirect(commons.get_absolute_url())
    try:
        commons_set_status(commons=commons, status=status, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if status == Commons.Status.ARCHIVED:
            messages.success(request, _("Commun archivé : il n'apparaît plus dans le catalogue."))
        else:
            messages.success(request, _("Commun rétabli : il est de nouveau dans le catalogue."))
    return redirect(commons.get_absolute_url())


# --- History -----------------------------------------------------------------------------------


@place_view("commons.view")
@require_http_methods(["GET"])
def commons_history(request: HttpRequest, slug: str) -> HttpResponse:
    commons = _visible_or_404(request, slug)
    page = history.revision_page(commons=commons, page=request.GET.get("page"))
    return render(
        request,
        "commons/catalogue/history.html",
        {
            "place": place_of(request),
            "commons": commons,
            "page": page,
            "aiguillage_url": _optional_url("commons:aiguillage", place_of(request)),
        },
    )


@place_view("commons.view")
@require_http_methods(["GET"])
def revision_diff(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    place = place_of(request)
    commons = _visible_or_404(request, slug)
    found = history.revision_diff(
        commons=commons, number=number, questions=grid_questions(place=place)
    )
    if found is None:
        raise Http404
    return render(
        request,
        "commons/catalogue/revision.html",
        {
            "place": place,
            "commons": commons,
            "diff": found,
            "newer": number + 1 if number < commons.revision else None,
            "aiguillage_url": _optional_url("commons:aiguillage", place),
        },
    )


# --- FAQ ---------------------------------------------------------------------------------------


@place_view("commons.view")
@require_http_methods(["GET"])
def faq(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    groups = [
        {
            "group": g,
            "items": [{"entry": e, "answer_html": render_markdown(e.answer)} for e in g.entries],
        }
        for g in faq_selectors.faq_groups(place=place)
    ]
    return render(
        request,
        "commons/catalogue/faq.html",
        {
            "place": place,
            "groups": groups,
            "moderator": moderates(request),
            "aiguillage_url": _optional_url("commons:aiguillage", place),
        },
    )


@place_view("commons.moderate")
@require_http_methods(["GET", "POST"])
def faq_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    place = place_of(request)
    entry = None
    if pk is not None:
        entry = faq_selectors.faq_entry_of(place=place, pk=pk)
        if entry is None:
            raise Http404
    initial = (
        {
            "question": entry.question,
            "answer": entry.answer,
            "domain": entry.domain_id,
            "position": entry.position,
        }
        if entry is not None
        else {}
    )
    form = FaqEntryForm(
        posted(request), domains=Domain.objects.filter(place=place), initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = faq_services.faq_entry_save(
                place=place,
                by=request.user,  # type: ignore[arg-type]
                entry=entry,
                **form.service_fields(),
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Question enregistrée."))
            anchor = faq_selectors.faq_anchor(saved.domain.slug)
            return redirect(f"{url('faq', place)}#{anchor}")
    return render(
        request,
        "commons/catalogue/faq_form.html",
        {"place": place, "form": form, "entry": entry},
        status=400 if request.method == "POST" else 200,
    )


@place_view("commons.moderate")
@require_http_methods(["POST"])
def faq_delete(request: HttpRequest, pk: int) -> HttpResponse:
    place = place_of(request)
    entry = faq_selectors.faq_entry_of(place=place, pk=pk)
    if entry is None:
        raise Http404
    faq_services.faq_entry_delete(entry=entry, by=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Question supprimée."))
    return redirect(url("faq", place))


# --- The qualification grid (moderators) -------------------------------------------------------


def _grid_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    place = place_of(request)
    listing, own = grid_services.grid_listing(place=place)
    kinds = dict(Kind.choices)
    types = dict(GridField.Type.choices)
    rows = [
        {
            "question": q,
            "position": position,
            "type": types.get(q.type, q.type),
            "kinds": [str(kinds.get(k, k)) for k in q.kinds],
        }
        for q, position in listing
    ]
    return {"place": place, "rows": rows, "own": own, **extra}


@place_view("commons.moderate")
@require_http_methods(["GET"])
def grid_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "commons/catalogue/grid.html",
        _grid_context(request),
    )


def _question_form_page(
    request: HttpRequest, *, key: str | None, question: Question | None, position: int
) -> HttpResponse:
    place = place_of(request)
    form = GridQuestionForm(posted(request), question=question, position=position)
    if request.method == "POST" and form.is_valid():
        try:
            grid_services.grid_save_question(
                place=place,
                by=request.user,  # type: ignore[arg-type]
                data=form.service_data(),
                key=key,
            )
        except DomainError as exc:
            if exc.status == 404:
                raise Http404 from exc
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Question de la grille enregistrée."))
            return redirect(url("grid", place))
    return render(
        request,
        "commons/catalogue/grid_question.html",
        {"place": place, "form": form, "question": question},
        status=400 if request.method == "POST" else 200,
    )


@place_view("commons.moderate")
@require_http_methods(["GET", "POST"])
def grid_add(request: HttpRequest) -> HttpResponse:
    return _question_form_page(request, key=None, question=None, position=0)


@place_view("commons.moderate")
@require_http_methods(["GET", "POST"])
def grid_question(request: HttpRequest, key: str) -> HttpResponse:
    listing, _own = grid_services.grid_listing(place=place_of(request))
    found = next(((q, pos) for q, pos in listing if q.key == key), None)
    if found is None:
        raise Http404
    return _question_form_page(request, key=key, question=found[0], position=found[1])


@place_view("commons.moderate")
@require_http_methods(["POST"])
def grid_delete(request: HttpRequest, key: str) -> HttpResponse:
    place = place_of(request)
    try:
        grid_services.grid_delete_question(place=place, by=request.user, key=key)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "Question retirée. Les réponses déjà données restent enregistrées, sans être affichées."
            ),
        )
    return redirect(url("grid", place))


@place_view("commons.moderate")
@require_http_methods(["POST"])
def grid_reset(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    try:
        grid_services.grid_reset_to_default(place=place, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("La grille par défaut est rétablie."))
    return redirect(url("grid", place))
