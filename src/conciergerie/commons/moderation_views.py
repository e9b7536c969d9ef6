"""Contribution and moderation pages: propose a commons or an edit, vote, decide, report
outdated information, handle reports, set the vote thresholds.

Views parse with forms, write through services.moderation and read through
selectors.moderation; a refusal becomes a form error or a message, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from conciergerie.commons.models import Commons, Proposal, Report
from conciergerie.commons.moderation_forms import (
    CommonsForm,
    DecisionForm,
    ModerationSettingsForm,
    ReportForm,
    ReportHandleForm,
    VoteForm,
)
from conciergerie.commons.selectors import moderation as selectors
from conciergerie.commons.selectors.catalogue import commons_by_slug, grid_questions
from conciergerie.commons.services import moderation as services
from conciergerie.commons.services.catalogue import snapshot_of
from conciergerie.commons.view_helpers import moderates, place_of, url
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import Conflict, DomainError
from conciergerie.core.forms import add_domain_errors, posted
from conciergerie.core.models import Place

PAGE_SIZE = 30
MODERATOR_STATUSES = (Commons.Status.VALIDATED, Commons.Status.PENDING, Commons.Status.ARCHIVED)
REPORT_FILTERS = {
    "ouverts": Report.Status.OPEN,
    "traites": Report.Status.RESOLVED,
    "ecartes": Report.Status.DISMISSED,
}


def _commons_url(place: Place, commons: Commons) -> str:
    # Built from the place at hand: commons.get_absolute_url() would read its place again.
    return url("detail", place, slug=commons.slug)


def _commons_or_404(request: HttpRequest, slug: str) -> Commons:
    statuses = MODERATOR_STATUSES if moderates(request) else (Commons.Status.VALIDATED,)
    commons = commons_by_slug(place=place_of(request), slug=slug, statuses=statuses)
    if commons is None:
        raise Http404
    return commons


# --- Proposing ------------------------------------------------------------------------------


def _commons_form(
    request: HttpRequest, *, moderator: bool, slug: str = "", initial: dict[str, Any] | None = None
) -> CommonsForm:
    place = place_of(request)
    form = CommonsForm(
        posted(request),
        place=place,
        slug=slug,
        questions=grid_questions(place=place),
        initial=initial,
    )
    if moderator:
        form.fields["message"].label = _("Résumé de la modification")
        form.fields["message"].help_text = _("Gardé dans l'historique du commun.")
    return form


@place_view("commons.propose")
@require_http_methods(["GET", "POST"])
def propose(request: HttpRequest) -> HttpResponse:
    """A new commons: for a member, a proposal; for a moderator, straight into the catalogue."""
    place, moderator = place_of(request), moderates(request)
    form = _commons_form(request, moderator=moderator)
    if request.method == "POST" and form.is_valid():
        try:
            proposal = services.proposal_create(
                place=place,
                data=form.commons_data,
                by=request.user,  # type: ignore[arg-type]
                message=form.cleaned_data.get("message", ""),
            )
        except DomainError as exc:
            form.add_errors(exc)
        else:
            commons = proposal.commons
            if proposal.status == Proposal.Status.ACCEPTED and commons is not None:
                messages.success(request, _("« %(name)s » est au catalogue.") % {"name": commons})
                return redirect(_commons_url(place, commons))
            messages.success(
                request,
                _(
                    "Merci ! Votre proposition attend les votes des membres "
                    "ou la validation d'un·e modérateur·rice."
                ),
            )
            return redirect(url("proposal", place, uuid=proposal.uuid))
    return render(
        request,
        "commons/moderation/propose.html",
        {"place": place, "form": form, "moderator": moderator, "commons": None},
        status=400 if request.method == "POST" else 200,
    )


@place_view("commons.propose")
@require_http_methods(["GET", "POST"])
def propose_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """An edit of a commons, prefilled: a proposal, or saved at once for a moderator."""
    place, moderator = place_of(request), moderates(request)
    commons = _commons_or_404(request, slug)
    data = snapshot_of(commons, [d.name for d in commons.domains.all()])
    form = _commons_form(
        request,
        moderator=moderator,
        slug=commons.slug,
        initial=CommonsForm.initial_from(data, revision=commons.revision),
    )
    if request.method == "POST" and form.is_valid():
        base = form.cleaned_data.get("base_revision")
        try:
            proposal = services.proposal_create(
                place=place,
                commons=commons,
                data=form.commons_data,
                by=request.user,  # type: ignore[arg-type]
                message=form.cleaned_data.get("message", ""),
                base_revision=base if base else None,
            )
        except Conflict as exc:
            # Changed meanwhile: the text typed is kept, and sending it again means "over the
            # current version" — the message says to check the commons' page first.
            form.add_error(None, exc.message)
            data = request.POST.copy()
            data["base_revision"] = str(commons.revision)
            form.data = data
        except DomainError as exc:
            form.add_errors(exc)
        else:
            if proposal.status == Proposal.Status.ACCEPTED:
                messages.success(request, _("Modification enregistrée."))
                return redirect(_commons_url(place, commons))
            messages.success(
                request,
                _(
                    "Merci ! Votre proposition de modification attend les votes ou un·e modérateur·rice."
                ),
            )
            return redirect(url("proposal", place, uuid=proposal.uuid))
    return render(
        request,
        "commons/moderation/propose.html",
        {
            "place": place,
            "form": form,
            "moderator": moderator,
            "commons": commons,
            "commons_url": _commons_url(place, commons),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Proposals, votes and decisions ---------------------------------------------------------


def _rows(request: HttpRequest, proposals: list[Proposal]) -> list[Proposal]:
    place = place_of(request)
    for p in proposals:
        p.url = url("proposal", place, uuid=p.uuid)  # type: ignore[attr-defined]
        p.commons_url = (  # type: ignore[attr-defined]
            _commons_url(place, p.commons) if p.commons is not None else ""
        )
    return proposals


@place_view("commons.propose")
@require_http_methods(["GET"])
def proposals(request: HttpRequest) -> HttpResponse:
    place, moderator = place_of(request), moderates(request)
    qs = selectors.proposal_list(place=place, viewer=request.user)  # type: ignore[arg-type]
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _rows(request, selectors.proposal_rows(page.object_list, viewer=request.user))  # type: ignore[arg-type]
    return render(
        request,
        "commons/moderation/proposals.html",
        {
            "place": place,
            "page": page,
            "proposals": rows,
            "settings": selectors.moderation_settings(place=place),
            "moderator": moderator,
            "counts": selectors.pending_counts(place=place) if moderator else None,
        },
    )


@place_view("commons.propose")
@require_http_methods(["GET"])
def proposal(request: HttpRequest, uuid: Any) -> HttpResponse:
    place, moderator = place_of(request), moderates(request)
    detail = selectors.proposal_detail(place=place, uuid=uuid, viewer=request.user)  # type: ignore[arg-type]
    if detail is None:
        raise Http404
    p = detail.proposal
    commons = p.commons
    # The commons' page, when this viewer may open it (a pending or refused commons is
    # shown to moderators and to its proposer only).
    shown = commons is not None and (
        commons.status == Commons.Status.VALIDATED
        or moderator
        or (commons.status == Commons.Status.PENDING and p.proposed_by_id == request.user.pk)
    )
    return render(
        request,
        "commons/moderation/proposal.html",
        {
            "place": place,
            "detail": detail,
            "proposal": p,
            "commons_url": _commons_url(place, commons) if shown and commons else "",
            "moderator": moderator,
            "may_vote": p.status == Proposal.Status.PENDING and not p.is_own,  # type: ignore[attr-defined]
            "may_decide": moderator and p.status == Proposal.Status.PENDING,
        },
    )


def _back(request: HttpRequest, form: Any, p: Proposal) -> HttpResponse:
    place = place_of(request)
    back = form.cleaned_data.get("back") if form.is_valid() else ""
    if back == "proposition":
        return redirect(url("proposal", place, uuid=p.uuid))
    return redirect(url("proposals", place))


def _proposal_or_404(request: HttpRequest, uuid: Any) -> Proposal:
    p = selectors.proposal_of(place=place_of(request), uuid=uuid)
    if p is None:
        raise Http404
    return p


@place_view("commons.propose")
@require_http_methods(["POST"])
def proposal_vote(request: HttpRequest, uuid: Any) -> HttpResponse:
    p = _proposal_or_404(request, uuid)
    form = VoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Votez « pour » ou « contre »."))
        return _back(request, form, p)
    try:
        outcome = services.proposal_vote(
            proposal=p,
            by=request.user,  # type: ignore[arg-type]
            value=form.vote(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(request, form, p)
    status = outcome.proposal.status
    if status == Proposal.Status.ACCEPTED:
        messages.success(request, _("Merci ! Avec votre vote, la proposition est acceptée."))
    elif status == Proposal.Status.REJECTED:
        messages.success(request, _("Merci ! Avec votre vote, la proposition est refusée."))
    elif outcome.stale:
        messages.warning(
            request,
            _(
                "Vote enregistré. La proposition a assez de votes, mais le commun a changé "
                "depuis : un·e modérateur·rice va la vérifier."
            ),
        )
    else:
        messages.success(request, _("Vote enregistré."))
    return _back(request, form, p)


@place_view("commons.moderate")
@require_http_methods(["POST"])
def proposal_decide(request: HttpRequest, uuid: Any) -> HttpResponse:
    place = place_of(request)
    p = _proposal_or_404(request, uuid)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez une décision."))
        return redirect(url("proposal", place, uuid=p.uuid))
    decision, note = form.cleaned_data["decision"], form.cleaned_data.get("note", "")
    try:
        if decision == "accepter":
            services.proposal_accept(proposal=p, by=request.user, note=note)  # type: ignore[arg-type]
            messages.success(request, _("Proposition acceptée."))
        elif decision == "refuser":
            services.proposal_reject(proposal=p, by=request.user, note=note)  # type: ignore[arg-type]
            messages.success(request, _("Proposition refusée."))
        else:
            services.proposal_rebase(
                proposal=p,
                by=request.user,  # type: ignore[arg-type]
                seen_revision=form.cleaned_data.get("seen_revision") or 0,
            )
            messages.success(
                request,
                _("Proposition mise à jour sur la version actuelle : vous pouvez l'accepter."),
            )
            return redirect(url("proposal", place, uuid=p.uuid))
    except DomainError as exc:
        messages.error(request, exc.message)
        # The comparison page shows why (a stale edit: what changed meanwhile).
        return redirect(url("proposal", place, uuid=p.uuid))
    return _back(request, form, p)


# --- Reports --------------------------------------------------------------------------------


@place_view("commons.propose")
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, slug: str) -> HttpResponse:
    place = place_of(request)
    commons = _commons_or_404(request, slug)
    form = ReportForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.report_create(
                commons=commons,
                by=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Merci ! L'équipe va vérifier et corriger la fiche."))
            return redirect(_commons_url(place, commons))
    return render(
        request,
        "commons/moderation/report.html",
        {
            "place": place,
            "form": form,
            "commons": commons,
            "commons_url": _commons_url(place, commons),
        },
        status=400 if request.method == "POST" else 200,
    )


@place_view("commons.moderate")
@require_http_methods(["GET"])
def reports(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    shown = request.GET.get("etat", "ouverts")
    status = REPORT_FILTERS.get(shown, Report.Status.OPEN)
    page = Paginator(selectors.report_list(place=place, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = list(page.object_list)
    for r in rows:
        r.commons_url = _commons_url(place, r.commons)  # type: ignore[attr-defined]
        r.edit_url = url("propose_edit", place, slug=r.commons.slug)  # type: ignore[attr-defined]
    return render(
        request,
        "commons/moderation/reports.html",
        {
            "place": place,
            "page": page,
            "reports": rows,
            "open": status == Report.Status.OPEN,
            "querystring": {"etat": shown},
            "filters": [
                (key, label, key == shown or (key == "ouverts" and shown not in REPORT_FILTERS))
                for key, label in (
                    ("ouverts", _("À traiter")),
                    ("traites", _("Traités")),
                    ("ecartes", _("Écartés")),
                )
            ],
        },
    )


@place_view("commons.moderate")
@require_http_methods(["POST"])
def report_handle(request: HttpRequest, uuid: Any) -> HttpResponse:
    place = place_of(request)
    found = selectors.report_of(place=place, uuid=uuid)
    if found is None:
        raise Http404
    form = ReportHandleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez « traité » ou « écarté »."))
        return redirect(url("reports", place))
    try:
        services.report_resolve(
            report=found,
            by=request.user,  # type: ignore[arg-type]
            status=form.cleaned_data["status"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Signalement classé."))
    return redirect(url("reports", place))


# --- Thresholds -----------------------------------------------------------------------------


@place_view("commons.moderate")
@require_http_methods(["GET", "POST"])
def moderation_settings(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    current = selectors.moderation_settings(place=place)
    form = ModerationSettingsForm(
        posted(request),
        initial={
            "votes_to_accept": current.votes_to_accept,
            "votes_to_reject": current.votes_to_reject,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.settings_update(
                place=place,
                by=request.user,  # type: ignore[arg-type]
                votes_to_accept=form.cleaned_data["votes_to_accept"],
                votes_to_reject=form.cleaned_data["votes_to_reject"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Réglages enregistrés."))
            return redirect(url("moderation_settings", place))
    return render(
        request,
        "commons/moderation/settings.html",
        {"place": place, "form": form},
        status=400 if request.method == "POST" else 200,
    )
