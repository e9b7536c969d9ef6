# mypy: disable-error-code="arg-type,attr-defined,union-attr"
"""Co-financing campaigns: anyone sees them and their contributors, members pledge, the team
creates and edits them. No payment here: pledges are promises."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from conciergerie.commons.campaign_forms import CampaignForm, PledgeForm
from conciergerie.commons.models import Campaign
from conciergerie.commons.selectors import campaigns as selectors
from conciergerie.commons.services import campaigns as services
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import add_domain_errors
from conciergerie.core.markdown import render_markdown


def _campaign_or_404(request: HttpRequest, uuid: Any) -> Campaign:
    campaign = selectors.campaign_by_uuid(place=request.place, uuid=uuid)
    if campaign is None:
        raise Http404
    return campaign


@place_view("commons.view")
@require_http_methods(["GET"])
def campaign_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    cards = selectors.campaign_list(place=place, today=selectors.today_at(place))
    return render(
        request,
        "commons/campaigns/list.html",
        {
            "place": place,
            "open_cards": [c for c in cards if c.progress.is_open],
            "closed_cards": [c for c in cards if not c.progress.is_open],
            "may_manage": permissions.can(request.user, "campaign.manage", place),
        },
    )


def _pledge_form(request: HttpRequest, data: Any = None) -> PledgeForm:
    user = request.user
    person_name = user.full_name if user.is_authenticated else ""
    return PledgeForm(
        data,
        places=selectors.places_for_pledging(user=user),
        initial={
            "pledger_name": person_name,
            "pledger_email": user.email if user.is_authenticated else "",
            "public": True,
        },
    )


def _campaign_page(
    request: HttpRequest, campaign: Campaign, *, form: PledgeForm | None = None, status: int = 200
) -> HttpResponse:
    place = request.place
    detail = selectors.campaign_detail(
        campaign=campaign, today=selectors.today_at(place), viewer=request.user
    )
    may_pledge = permissions.can(request.user, "campaign.pledge", place)
    if may_pledge and detail.progress.is_open and form is None:
        form = _pledge_form(request)
    return render(
        request,
        "commons/campaigns/campaign.html",
        {
            "place": place,
            "campaign": campaign,
            "detail": detail,
            "progress": detail.progress,
            "description_html": render_markdown(campaign.description),
            "form": form if detail.progress.is_open else None,
            "may_pledge": may_pledge,
            "may_manage": permissions.can(request.user, "campaign.manage", place),
        },
        status=status,
    )


@place_view("commons.view")
@require_http_methods(["GET"])
def campaign_page(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _campaign_page(request, _campaign_or_404(request, uuid))


def _campaign_form(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    """A new campaign (`campaign` None) or a change to one: the same form and rules."""
    place = request.place
    status = 200
    if request.method == "POST":
        form = CampaignForm(request.POST, place=place)
        if form.is_valid():
            fields = form.service_fields()
            try:
                if campaign is None:
                    saved = services.campaign_create(place=place, by=request.user, **fields)
                else:
                    saved = services.campaign_update(campaign=campaign, by=request.user, **fields)
            except DomainError as exc:
                add_domain_errors(form, exc)
            else:
                done = _("Campagne ouverte.") if campaign is None else _("Campagne enregistrée.")
                messages.success(request, done)
                return redirect(saved.get_absolute_url())
        status = 400
    elif campaign is not None:
        form = CampaignForm(place=place, initial=CampaignForm.initial_for(campaign))
    else:
        # ?commun=<uuid> comes from a commons' page: that commons is chosen already.
        form = CampaignForm(place=place, initial={"commons": request.GET.get("commun") or None})
    return render(
        request,
        "commons/campaigns/form.html",
        {"place": place, "form": form, "campaign": campaign},
        status=status,
    )


@place_view("campaign.manage")
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    return _campaign_form(request, None)


@place_view("campaign.manage")
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _campaign_form(request, _campaign_or_404(request, uuid))


@place_view("campaign.pledge")
@require_http_methods(["POST"])
def pledge(request: HttpRequest, uuid: Any) -> HttpResponse:
    campaign = _campaign_or_404(request, uuid)
    form = _pledge_form(request, request.POST)
    if form.is_valid():
        try:
            services.pledge_create(campaign=campaign, by=request.user, **form.service_fields())
        except DomainError as exc:
            if not exc.field and not getattr(exc, "errors", None):
                # The campaign ended meanwhile: nothing to correct in the form.
                messages.error(request, exc.message)
                return redirect(campaign.get_absolute_url())
            add_domain_errors(
                form, exc, lambda key: "pledge_as" if key == "pledger_place" else None
            )
        else:
            messages.success(request, _("Merci ! Votre promesse est enregistrée."))
            return redirect(campaign.get_absolute_url() + "#contributeurs")
    return _campaign_page(request, campaign, form=form, status=400)


@place_view("campaign.pledge")
@require_http_methods(["POST"])
def pledge_cancel(request: HttpRequest, uuid: Any) -> HttpResponse:
    campaign = _campaign_or_404(request, uuid)
    found = selectors.pledge_of(campaign=campaign, pledge_id=request.POST.get("pledge", ""))
    if found is None:
        messages.error(request, _("Cette promesse n'existe plus."))
        return redirect(campaign.get_absolute_url())
    try:
        services.pledge_cancel(pledge=found, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Promesse annulée."))
    return redirect(campaign.get_absolute_url() + "#contributeurs")
