"""The team's screens for resources: create, edit, photos, maintenance log, qualifications.

Thin like views.py (the public pages): forms parse, services write, selectors read. A form
that does not validate comes back with its messages and status 400; a refusal from a
service with its own status; nothing is written in either case.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import add_domain_errors
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level
from conciergerie.spaces import selectors, services
from conciergerie.spaces.manage_forms import (
    MaintenanceForm,
    PhotoForm,
    QualificationForm,
    ResourceForm,
)
from conciergerie.spaces.models import Resource, ResourcePhoto


class PlaceRequest(HttpRequest):
    """A request past place_view("resource.manage"): a place, a level, a signed-in user."""

    place: Place
    level: Level
    user: User  # type: ignore[assignment]


def _today(place: Place) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")).date()


def _edit_url(resource: Resource, anchor: str = "") -> str:
    url = reverse("spaces:resource_edit", args=[resource.place.slug, resource.uuid])
    return f"{url}#{anchor}" if anchor else url


def _managed(request: PlaceRequest, uuid: str) -> Resource:
    resource = selectors.resource_for_manage(place=request.place, uuid=uuid)
    if resource is None:
        raise Http404
    return resource


def _edit_page(
    request: PlaceRequest,
    resource: Resource,
    *,
    form: ResourceForm | None = None,
    photo_form: PhotoForm | None = None,
    maintenance_form: MaintenanceForm | None = None,
    qualification_form: QualificationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    place = request.place
    today = _today(place)
    qualifications = [
        {
            "q": q,
            "expired": q.valid_until is not None and q.valid_until < today,
            "not_yet": q.granted_on > today,
        }
        for q in resource.qualifications.all()
    ]
    photos = list(resource.photos.all())
    context = {
        "place": place,
        "resource": resource,
        "form": form or ResourceForm(place=place, resource=resource),
        "photos": photos,
        "max_photos": services.MAX_PHOTOS,
        "photo_form": photo_form or PhotoForm(),
        "maintenance": resource.recent_maintenance,  # type: ignore[attr-defined]
        "maintenance_shown": selectors.MAINTENANCE_SHOWN,
        "maintenance_form": maintenance_form or MaintenanceForm(today=today),
        "qualifications": qualifications,
        "qualification_form": qualification_form or QualificationForm(place=place, today=today),
    }
    return render(request, "spaces/manage/resource_edit.html", context, status=status)


# --- The resource's sheet ---------------------------------------------------------------------


@place_view("resource.manage")
@require_http_methods(["GET", "POST"])
def resource_create(request: PlaceRequest) -> HttpResponse:
    place = request.place
    form = ResourceForm(request.POST or None, place=place)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                resource = services.resource_create(
                    place=place,
                    by=request.user,
                    prices=form.prices(),
                    organisations=form.organisations(),
                    **form.service_fields(),
                )
            except DomainError as exc:
                add_domain_errors(form, exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("« %(name)s » est créée. Vous pouvez maintenant ajouter ses photos.")
                    % {"name": resource.name},
                )
                return redirect(_edit_url(resource))
    return render(
        request, "spaces/manage/resource_create.html", {"place": place, "form": form}, status=status
    )


def _submit(
    request: PlaceRequest,
    resource: Resource,
    form_name: str,
    form: Any,
    write: Callable[[dict[str, Any]], Any],
    done: Callable[[Any], str],
    anchor: str = "",
) -> HttpResponse:
    """One form of the edit page: the page again with its messages, or done and back."""
    if not form.is_valid():
        return _edit_page(request, resource, **{form_name: form}, status=400)
    try:
        result = write(form.cleaned_data)
    except DomainError as exc:
        add_domain_errors(form, exc)
        return _edit_page(request, resource, **{form_name: form}, status=exc.status)
    messages.success(request, done(result))
    return redirect(_edit_url(resource, anchor))


@place_view("resource.manage")
@require_http_methods(["GET", "POST"])
def resource_edit(request: PlaceRequest, uuid: str) -> HttpResponse:
    resource = _managed(request, uuid)
    if request.method == "GET":
        return _edit_page(request, resource)
    form = ResourceForm(request.POST, place=request.place, resource=resource)
    return _submit(
        request,
        resource,
        "form",
        form,
        lambda _data: services.resource_update(
            resource=resource,
            by=request.user,
            prices=form.prices(),
            organisations=form.organisations(),
            **form.service_fields(),
        ),
        lambda _r: _("Modifications enregistrées."),
    )


# --- Photos -----------------------------------------------------------------------------------


@place_view("resource.manage")
@require_http_methods(["POST"])
def photo_add(request: PlaceRequest, uuid: str) -> HttpResponse:
    resource = _managed(request, uuid)
    return _submit(
        request,
        resource,
        "photo_form",
        PhotoForm(request.POST, request.FILES),
        lambda data: services.photo_add(resource=resource, by=request.user, **data),
        lambda _photo: _("Photo ajoutée."),
        "photos",
    )


def _resource(request: PlaceRequest, uuid: str) -> Resource:
    """The resource alone, for the actions that redirect (no lists to show)."""
    resource = selectors.resources(place=request.place, level=request.level).filter(uuid=uuid)
    found = resource.first()
    if found is None:
        raise Http404
    return found


def _photo(request: PlaceRequest, uuid: str, photo_uuid: str) -> tuple[Resource, ResourcePhoto]:
    resource = _resource(request, uuid)
    photo = selectors.photo_of(resource=resource, uuid=photo_uuid)
    if photo is None:
        raise Http404
    return resource, photo


@place_view("resource.manage")
@require_http_methods(["POST"])
def photo_delete(request: PlaceRequest, uuid: str, photo_uuid: str) -> HttpResponse:
    resource, photo = _photo(request, uuid, photo_uuid)
    services.photo_delete(photo=photo, by=request.user)
    messages.success(request, _("Photo supprimée."))
    return redirect(_edit_url(resource, "photos"))


@place_view("resource.manage")
@require_http_methods(["POST"])
def photo_describe(request: PlaceRequest, uuid: str, photo_uuid: str) -> HttpResponse:
    resource, photo = _photo(request, uuid, photo_uuid)
    try:
        services.photo_describe(photo=photo, by=request.user, alt=request.POST.get("alt", ""))
    except DomainError as exc:
        messages.error(request, " ".join(m for ms in exc.as_errors().values() for m in ms))
    else:
        messages.success(request, _("Description de la photo enregistrée."))
    return redirect(_edit_url(resource, "photos"))


@place_view("resource.manage")
@require_http_methods(["POST"])
def photo_move(request: PlaceRequest, uuid: str, photo_uuid: str) -> HttpResponse:
    resource, photo = _photo(request, uuid, photo_uuid)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        return HttpResponseBadRequest(_("Action inconnue."))
    services.photo_move(photo=photo, by=request.user, up=direction == "up")
    messages.success(request, _("Ordre des photos enregistré."))
    return redirect(_edit_url(resource, "photos"))


# --- Maintenance log --------------------------------------------------------------------------


@place_view("resource.manage")
@require_http_methods(["POST"])
def maintenance_add(request: PlaceRequest, uuid: str) -> HttpResponse:
    resource = _managed(request, uuid)
    return _submit(
        request,
        resource,
        "maintenance_form",
        MaintenanceForm(request.POST, today=_today(request.place)),
        lambda data: services.maintenance_add(resource=resource, by=request.user, **data),
        lambda _entry: _("Intervention ajoutée au carnet d'entretien."),
        "entretien",
    )


# --- Qualifications ---------------------------------------------------------------------------


@place_view("resource.manage")
@require_http_methods(["POST"])
def qualification_grant(request: PlaceRequest, uuid: str) -> HttpResponse:
    place = request.place
    resource = _managed(request, uuid)
    return _submit(
        request,
        resource,
        "qualification_form",
        QualificationForm(request.POST, place=place, today=_today(place)),
        lambda data: services.qualification_grant(resource=resource, by=request.user, **data),
        lambda q: _("Habilitation enregistrée pour %(person)s.") % {"person": q.person},
        "habilitations",
    )


@place_view("resource.manage")
@require_http_methods(["POST"])
def qualification_revoke(request: PlaceRequest, uuid: str, qualification_uuid: str) -> HttpResponse:
    resource = _resource(request, uuid)
    q = selectors.qualification_of(resource=resource, uuid=qualification_uuid)
    if q is None:
        raise Http404
    services.qualification_revoke(qualification=q, by=request.user)
    messages.success(
        request,
        _("Habilitation retirée : %(person)s ne peut plus réserver %(resource)s à ce titre.")
        % {"person": q.person, "resource": resource.name},
    )
    return redirect(_edit_url(resource, "habilitations"))
