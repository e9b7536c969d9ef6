"""Community pages: directory, profiles, organisations, memberships, mise en relation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from conciergerie.community import selectors, services
from conciergerie.community.forms import (
    IntroductionForm,
    MembershipForm,
    NeedForm,
    OrganisationForm,
    OutcomeForm,
    PersonForm,
    TagForm,
)
from conciergerie.community.models import Facet, Introduction, Membership, Person, Tag
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import Conflict, DomainError
from conciergerie.core.forms import add_domain_errors

PAGE_SIZE = 50
# Cards are heavier than table rows: 24 fill a laptop screen and keep a cheap phone fast.
DIRECTORY_PAGE_SIZE = 24


@place_view("directory.view")
def directory(request: HttpRequest) -> HttpResponse:
    place, level = request.place, request.level
    filters = {
        k: request.GET.get(k, "").strip()
        for k in ("q", "skill", "need", "organisation", "membership")
    }
    qs = selectors.directory(
        place=place,
        viewer=request.user,
        level=level,
        **filters,
    )
    page = Paginator(qs, DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    cards = [selectors.card(p, level=level, viewer=request.user) for p in page]
    context = {
        "place": place,
        "page": page,
        "cards": cards,
        "filters": filters,
        "skills": selectors.tags_for_filter(place=place, facet=Facet.SKILL, level=level),
        "needs": selectors.tags_for_filter(place=place, facet=Facet.NEED, level=level),
        "organisations": selectors.organisations(place=place),
        "membership_filters": selectors.MEMBERSHIP_FILTERS,
        "querystring": request.GET.copy(),
    }
    template = (
        "community/_directory_results.html"
        if request.headers.get("HX-Request")
        else "community/directory.html"
    )
    return render(request, template, context)


@place_view("profile.view_public")
def person_page(request: HttpRequest, uuid: str) -> HttpResponse:
    place, level = request.place, request.level
    card = selectors.person_detail(place=place, uuid=uuid, level=level, viewer=request.user)
    if card is None:
        raise Http404
    history = (
        selectors.person_history(person=card.person)
        if permissions.can(request.user, "person.view_private", place)
        else None
    )
    return render(
        request,
        "community/person.html",
        {
            "place": place,
            "card": card,
            "history": history,
            "may_edit": permissions.can_edit_person(request.user, place, card.person),
        },
    )


@place_view("person.manage")
@require_http_methods(["GET", "POST"])
def person_create(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = PersonForm(request.POST or None, place=place)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(
                place=place,
                by=request.user,
                tags=form.tags(),
                organisations=list(form.cleaned_data["organisation_uuids"]),
                **form.service_fields(),
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("%(name)s a été ajouté·e.") % {"name": person})
            return redirect(person.get_absolute_url())
    return render(request, "community/person_form.html", {"form": form, "place": place})


@place_view("profile.edit_own")
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, uuid: str) -> HttpResponse:
    place = request.place
    person = selectors.person_for_edit(place=place, uuid=uuid)
    if person is None:
        raise Http404
    if not permissions.can_edit_person(request.user, place, person):
        raise PermissionDenied
    self_service = not permissions.can(request.user, "person.manage", place)
    form = PersonForm(
        request.POST or None,
        instance=person,
        place=place,
        tag_text=selectors.tag_labels(person),
        self_service=self_service,
    )
    if request.method == "POST" and form.is_valid():
        orgs = None if self_service else list(form.cleaned_data["organisation_uuids"])
        try:
            services.person_update(
                person=person,
                by=request.user,
                tags=form.tags(),
                organisations=orgs,
                **form.service_fields(),
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Profil enregistré."))
            return redirect(person.get_absolute_url())
    return render(
        request, "community/person_form.html", {"form": form, "place": place, "person": person}
    )


@place_view("person.manage")
@require_POST
def person_delete(request: HttpRequest, uuid: str) -> HttpResponse:
    place = request.place
    person = get_object_or_404(Person, place=place, uuid=uuid)
    try:
        services.person_delete(person=person, by=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect(person.get_absolute_url())
    messages.success(request, _("%(name)s a été supprimé·e de l'annuaire.") % {"name": person})
    return redirect("community:directory", place_slug=place.slug)


@place_view("profile.edit_own")
def my_profile(request: HttpRequest) -> HttpResponse:
    place = request.place
    person = services.person_link_account(place=place, user=request.user)
    assert person is not None
    return redirect("community:person_edit", place_slug=place.slug, uuid=person.uuid)


# --- Organisations ----------------------------------------------------------------------------


@place_view("organisation.view")
def organisation_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    return render(
        request,
        "community/organisations.html",
        {"place": place, "organisations": selectors.organisations(place=place)},
    )


@place_view("organisation.view")
def organisation_page(request: HttpRequest, uuid: str) -> HttpResponse:
    place = request.place
    found = selectors.organisation_detail(place=place, uuid=uuid, level=request.level)
    if found is None:
        raise Http404
    org, people = found
    return render(
        request,
        "community/organisation.html",
        {"place": place, "organisation": org, "people": people},
    )


@place_view("organisation.manage")
@require_http_methods(["GET", "POST"])
def organisation_form(request: HttpRequest, uuid: str | None = None) -> HttpResponse:
    place = request.place
    org = None
    if uuid:
        found = selectors.organisation_detail(place=place, uuid=uuid, level=request.level)
        if found is None:
            raise Http404
        org = found[0]
    form = OrganisationForm(request.POST or None, instance=org)
    if request.method == "POST" and form.is_valid():
        try:
            if org is None:
                org = services.organisation_create(
                    place=place, by=request.user, **form.cleaned_data
                )
            else:
                org = services.organisation_update(
                    organisation=org,
                    by=request.user,
                    **form.cleaned_data,
                )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Organisation enregistrée."))
            return redirect(org.get_absolute_url())
    return render(
        request,
        "community/organisation_form.html",
        {"place": place, "form": form, "organisation": org},
    )


# --- Memberships ------------------------------------------------------------------------------


@place_view("membership.manage")
def membership_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    state = request.GET.get("etat", "")
    page = Paginator(selectors.memberships(place=place, state=state), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "community/memberships.html",
        {
            "place": place,
            "page": page,
            "state": state,
            "renewals": selectors.renewals_due(place=place),
        },
    )


@place_view("membership.manage")
@require_http_methods(["GET", "POST"])
def membership_form(
    request: HttpRequest, person_uuid: str | None = None, uuid: str | None = None
) -> HttpResponse:
    place = request.place
    membership = None
    if uuid:
        membership = get_object_or_404(
            Membership.objects.select_related("person"), place=place, uuid=uuid
        )
        person = membership.person
    else:
        person = get_object_or_404(Person, place=place, uuid=person_uuid)
    form = MembershipForm(request.POST or None, instance=membership, place=place)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if membership is None:
                services.membership_create(person=person, by=request.user, **data)
            else:
                if data.get("end") is None:
                    data["end"] = services.membership_default_end(
                        start=data["start"], period=data["period"]
                    )
                services.membership_update(membership=membership, by=request.user, **data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Adhésion enregistrée."))
            return redirect(person.get_absolute_url())
    return render(
        request,
        "community/membership_form.html",
        {"place": place, "form": form, "person": person, "membership": membership},
    )


@place_view("membership.manage")
@require_POST
def membership_renew(request: HttpRequest, uuid: str) -> HttpResponse:
    place = request.place
    membership = get_object_or_404(Membership, place=place, uuid=uuid)
    try:
        new = services.membership_renew(membership=membership, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Adhésion renouvelée jusqu'au %(end)s.") % {"end": new.end.strftime("%d/%m/%Y")},
        )
    return redirect("community:memberships", place_slug=place.slug)


# --- Mise en relation -------------------------------------------------------------------------


@place_view("introduction.manage")
def introduction_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    outcome = request.GET.get("suite", "")
    page = Paginator(selectors.introductions(place=place, outcome=outcome), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "community/introductions.html",
        {
            "place": place,
            "page": page,
            "stats": selectors.introduction_stats(place=place),
            "outcomes": Introduction.Outcome.choices,
            "outcome": outcome,
        },
    )


@place_view("introduction.manage")
@require_http_methods(["GET", "POST"])
def introduction_new(request: HttpRequest) -> HttpResponse:
    """Step 1: describe the need (GET with ?need=…) and see suggestions; step 2: record one."""
    place = request.place
    if request.method == "POST":
        form = IntroductionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            helper = get_object_or_404(Person, place=place, uuid=data["helper"])
            requester = (
                get_object_or_404(Person, place=place, uuid=data["requester"])
                if data["requester"]
                else None
            )
            try:
                intro = services.introduction_create(
                    place=place,
                    by=request.user,
                    need=data["need"],
                    helper=helper,
                    requester=requester,
                    reason=data["reason"],
                    note=data["note"],
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Mise en relation enregistrée."))
                return redirect(intro.get_absolute_url())
        else:
            messages.error(request, _("La mise en relation n'a pas pu être enregistrée."))
    need_form = NeedForm(request.GET or None, place=place)
    suggestions: list[selectors.Suggestion] = []
    searched = False
    if need_form.is_bound and need_form.is_valid():
        searched = True
        suggestions = selectors.match_people(
            place=place,
            need=need_form.cleaned_data["need"],
            exclude=need_form.cleaned_data["requester"],
        )
    return render(
        request,
        "community/introduction_new.html",
        {
            "place": place,
            "need_form": need_form,
            "suggestions": suggestions,
            "searched": searched,
        },
    )


@place_view("introduction.manage")
@require_http_methods(["GET", "POST"])
def introduction_page(request: HttpRequest, uuid: str) -> HttpResponse:
    place = request.place
    intro = get_object_or_404(selectors.introductions(place=place), uuid=uuid)
    form = OutcomeForm(
        request.POST or None, initial={"outcome": intro.outcome, "note": intro.outcome_note}
    )
    if request.method == "POST" and form.is_valid():
        services.introduction_set_outcome(
            introduction=intro,
            by=request.user,
            **form.cleaned_data,
        )
        messages.success(request, _("Suite enregistrée."))
        return redirect(intro.get_absolute_url())
    return render(
        request, "community/introduction.html", {"place": place, "intro": intro, "form": form}
    )


# --- Vocabulary -------------------------------------------------------------------------------


@place_view("vocabulary.manage")
@require_http_methods(["GET", "POST"])
def vocabulary(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = TagForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action", "create")
        try:
            if action == "create" and form.is_valid():
                services.tags_ensure(
                    place=place, labels=[form.cleaned_data["label"]], by=request.user
                )
                messages.success(request, _("Mot ajouté."))
            elif action in {"rename", "merge", "delete"}:
                tag = get_object_or_404(Tag, place=place, pk=request.POST.get("tag"))
                if action == "rename":
                    services.tag_rename(
                        tag=tag, label=request.POST.get("label", ""), by=request.user
                    )
                    messages.success(request, _("Mot renommé."))
                elif action == "merge":
                    into = get_object_or_404(Tag, place=place, pk=request.POST.get("into"))
                    services.tag_merge(source=tag, into=into, by=request.user)
                    messages.success(request, _("Mots fusionnés."))
                else:
                    services.tag_delete(tag=tag, by=request.user)
                    messages.success(request, _("Mot supprimé."))
            if form.is_valid() or action != "create":
                return redirect("community:vocabulary", place_slug=place.slug)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("community:vocabulary", place_slug=place.slug)
    return render(
        request,
        "community/vocabulary.html",
        {"place": place, "tags": selectors.vocabulary(place=place), "form": form},
    )


@place_view("person.manage")
@require_http_methods(["GET"])
def person_suggest(request: HttpRequest) -> HttpResponse:
    """Suggestions for the team's person picker (an htmx fragment of <option>s)."""
    from conciergerie.community.person_pick import suggestion_label

    # The picker sends its own field, whatever the form calls it.
    q = request.GET.get("q") or next((v for v in request.GET.values() if v.strip()), "")
    people = selectors.people_suggest(place=request.place, q=q[:100])
    return render(
        request,
        "community/person_suggestions.html",
        {"people": [{"label": suggestion_label(p)} for p in people]},
    )
