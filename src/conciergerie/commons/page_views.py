# mypy: disable-error-code="arg-type,attr-defined,union-attr"
"""Documentation pages ("recettes", code social): read by anyone, written by members, every
change kept as a revision; the team may bring an old revision back."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from conciergerie.commons.models import Page
from conciergerie.commons.page_forms import PageForm
from conciergerie.commons.selectors import pages as selectors
from conciergerie.commons.services import pages as services
from conciergerie.core import permissions
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import Conflict, DomainError
from conciergerie.core.forms import add_domain_errors

PAGE_SIZE = 50


def _page_or_404(request: HttpRequest, slug: str) -> Page:
    page = selectors.page_by_slug(place=request.place, slug=slug)
    if page is None:
        raise Http404
    return page


@place_view("commons.view")
@require_http_methods(["GET"])
def page_list(request: HttpRequest) -> HttpResponse:
    place = request.place
    pages = Paginator(selectors.pages_list(place=place), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "commons/pages/list.html",
        {
            "place": place,
            "page_obj": pages,
            "pages": [(p, selectors.license_info(p.license)) for p in pages],
            "may_edit": permissions.can(request.user, "page.edit", place),
        },
    )


@place_view("commons.view")
@require_http_methods(["GET"])
def page_detail(request: HttpRequest, slug: str) -> HttpResponse:
    place = request.place
    page = _page_or_404(request, slug)
    detail = selectors.page_detail(
        page=page,
        viewer_level=request.level,
        url=request.build_absolute_uri(page.get_absolute_url()),
        place_url=request.build_absolute_uri(place.get_absolute_url()),
    )
    return render(
        request,
        "commons/pages/page.html",
        {
            "place": place,
            "page": page,
            "detail": detail,
            "may_edit": permissions.can(request.user, "page.edit", place),
        },
    )


def _form_page(
    request: HttpRequest,
    form: PageForm,
    *,
    page: Page | None,
    conflict: selectors.PageDiff | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "commons/pages/form.html",
        {"place": request.place, "page": page, "form": form, "conflict": conflict},
        status=status,
    )


@place_view("page.edit")
@require_http_methods(["GET", "POST"])
def page_new(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = PageForm(request.POST if request.method == "POST" else None, place=place)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            page = services.page_create(place=place, by=request.user, **fields)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Page publiée."))
            return redirect(page.get_absolute_url())
    return _form_page(request, form, page=None, status=400 if request.method == "POST" else 200)


@place_view("page.edit")
@require_http_methods(["GET", "POST"])
def page_edit(request: HttpRequest, slug: str) -> HttpResponse:
    place = request.place
    page = _page_or_404(request, slug)
    if request.method != "POST":
        form = PageForm(
            place=place,
            initial={
                "title": page.title,
                "body": page.body,
                "license": page.license,
                "commons": str(page.commons.uuid) if page.commons else "",
                "base_revision": page.revision,
            },
        )
        return _form_page(request, form, page=page)
    form = PageForm(request.POST, place=place)
    if form.is_valid():
        base = form.cleaned_data.get("base_revision")
        try:
            saved = services.page_update(
                page=page, by=request.user, base_revision=base, **form.service_fields()
            )
        except Conflict as exc:
            return _conflict(request, page=page, base=base, message=exc.message)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            if saved.revision == page.revision:
                messages.info(request, _("Aucun changement : rien n'a été enregistré."))
            else:
                messages.success(request, _("Modification enregistrée."))
            return redirect(saved.get_absolute_url())
    return _form_page(request, form, page=page, status=400)


def _conflict(request: HttpRequest, *, page: Page, base: int | None, message: str) -> HttpResponse:
    """Someone saved in between: the writer's text stays in the form, what the other person
    changed is shown below it, and the form now builds on the current revision."""
    current = selectors.page_by_slug(place=request.place, slug=page.slug) or page
    data = request.POST.copy()
    data["base_revision"] = str(current.revision)
    form = PageForm(data, place=request.place)
    form.is_valid()
    form.add_error(
        None,
        message
        + " "
        + _(
            "Votre texte est conservé ci-dessous : reprenez-y les changements de l'autre "
            "personne (montrés plus bas), puis enregistrez à nouveau."
        ),
    )
    newest = selectors.page_revision(page=current, number=current.revision)
    older = selectors.page_revision(page=current, number=base) if base else None
    conflict = selectors.revision_diff(page=current, new=newest, old=older) if newest else None
    return _form_page(request, form, page=current, conflict=conflict, status=409)


@place_view("commons.view")
@require_http_methods(["GET"])
def page_history(request: HttpRequest, slug: str) -> HttpResponse:
    place = request.place
    page = _page_or_404(request, slug)
    return render(
        request,
        "commons/pages/history.html",
        {
            "place": place,
            "page": page,
            "rows": selectors.page_history(page=page, viewer_level=request.level),
            "may_revert": permissions.can(request.user, "commons.moderate", place),
        },
    )


@place_view("commons.view")
@require_http_methods(["GET"])
def page_diff(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    place = request.place
    page = _page_or_404(request, slug)
    new = selectors.page_revision(page=page, number=number)
    if new is None:
        raise Http404
    old = None
    against = request.GET.get("avec", "")
    if against.isdecimal():  # not isdigit: "²" is a digit that int() refuses
        old = selectors.page_revision(page=page, number=int(against))
        if old is None:
            raise Http404
    diff = selectors.revision_diff(page=page, new=new, old=old)
    return render(
        request,
        "commons/pages/diff.html",
        {
            "place": place,
            "page": page,
            "diff": diff,
            "may_revert": permissions.can(request.user, "commons.moderate", place)
            and new.number != page.revision,
        },
    )


@place_view("commons.moderate")
@require_http_methods(["POST"])
def page_revert(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    page = _page_or_404(request, slug)
    try:
        saved = services.page_revert(page=page, number=number, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("commons:page_history", place_slug=request.place.slug, slug=page.slug)
    if saved.revision == page.revision:
        messages.info(request, _("La page dit déjà cela : rien n'a changé."))
    else:
        messages.success(
            request,
            _("La version %(n)s est revenue (elle devient la version %(new)s).")
            % {"n": number, "new": saved.revision},
        )
    return redirect(saved.get_absolute_url())
