"""Core pages: home, place page, login, invitations, account, back-office screens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from conciergerie.core import selectors, services
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import (
    AcceptInvitationForm,
    InvitationForm,
    LoginForm,
    PlaceForm,
    RoleForm,
)
from conciergerie.core.markdown import render_markdown
from conciergerie.core.models import User


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"places": selectors.places_public()})


@place_view("place.view")
def place_page(request: HttpRequest) -> HttpResponse:
    from conciergerie.community import selectors as community

    place = request.place
    return render(
        request,
        "core/place.html",
        {
            "place": place,
            "description_html": render_markdown(place.description),
            "public_people": community.public_profiles(place=place)[:24],
        },
    )


class ConciergerieLoginView(LoginView):
    form_class = LoginForm
    template_name = "core/login.html"
    redirect_authenticated_user = True


@login_required
def account(request: HttpRequest) -> HttpResponse:
    from conciergerie.community import selectors as community

    roles = list(selectors.places_of_user(user=request.user))
    own = {p.place_id: p for p in community.people_of_user(user=request.user)}
    entries = [(r, own.get(r.place_id)) for r in roles]
    return render(request, "core/account.html", {"entries": entries})


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_lookup(token=token)
    except DomainError as exc:
        return render(request, "core/invitation_invalid.html", {"message": exc.message}, status=404)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="conciergerie.core.auth.EmailBackend")
            messages.success(request, _("Bienvenue ! Votre accès est prêt."))
            return redirect(invitation.place.get_absolute_url())
    return render(request, "core/invitation_accept.html", {"form": form, "invitation": invitation})


@place_view("backoffice.view")
def backoffice(request: HttpRequest) -> HttpResponse:
    from conciergerie.community import selectors as community

    place = request.place
    return render(
        request,
        "core/backoffice.html",
        {
            "place": place,
            "stats": community.place_dashboard(place=place),
        },
    )


@place_view("place.edit")
@require_http_methods(["GET", "POST"])
def place_edit(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = PlaceForm(request.POST or None, request.FILES or None, instance=place)
    if request.method == "POST" and form.is_valid():
        try:
            services.place_update(
                place=place,
                by=request.user,
                data=form.changed_data_for_service(),
            )
        except DomainError as exc:
            for field, errs in exc.as_errors().items():
                for err in errs:
                    form.add_error(None if field == "__all__" else field, err)
        else:
            messages.success(request, _("Les informations du lieu sont enregistrées."))
            return redirect("core:place_edit", place_slug=place.slug)
    return render(request, "core/place_edit.html", {"form": form, "place": place})


@place_view("invitation.manage")
@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                place=place,
                by=request.user,
                **form.cleaned_data,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Invitation envoyée à %(email)s.") % form.cleaned_data)
            return redirect("core:team", place_slug=place.slug)
    return render(
        request,
        "core/team.html",
        {
            "place": place,
            "form": form,
            "team": selectors.team(place=place),
            "invitations": selectors.pending_invitations(place=place),
            "role_form": RoleForm(),
        },
    )


@place_view("role.manage")
@require_http_methods(["POST"])
def role_change(request: HttpRequest, user_uuid: str) -> HttpResponse:
    place = request.place
    target = get_object_or_404(User, uuid=user_uuid, place_roles__place=place)
    form = RoleForm(request.POST)
    if form.is_valid():
        if target == request.user and form.cleaned_data["role"] != "admin":
            messages.error(
                request, _("Vous ne pouvez pas retirer vos propres droits d'administration.")
            )
        else:
            services.role_set(
                place=place, user=target, role=form.cleaned_data["role"] or None, by=request.user
            )
            messages.success(request, _("Rôle mis à jour."))
    else:
        messages.error(request, _("Rôle inconnu."))
    return redirect("core:team", place_slug=place.slug)


@place_view("audit.view")
def audit_log(request: HttpRequest) -> HttpResponse:
    place = request.place
    qs = selectors.audit_entries(place=place, action_prefix=request.GET.get("action", ""))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"place": place, "page": page})


@place_view("outbox.view")
def outbox(request: HttpRequest) -> HttpResponse:
    place = request.place
    page = Paginator(selectors.outbox_messages(place=place), 20).get_page(request.GET.get("page"))
    return render(request, "core/outbox.html", {"place": place, "page": page})
