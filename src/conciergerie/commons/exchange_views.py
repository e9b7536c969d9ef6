"""Import (moderators) and export (everyone: validated commons are open data) of a place's
commons, and loading the starter catalogue.

The import applies the file at once and shows a report line per commons; a commons in error
is left out entirely, the others are saved, and sending the same file again changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conciergerie.commons import exchange
from conciergerie.commons.exchange_forms import ImportForm
from conciergerie.commons.selectors.catalogue import grid_questions
from conciergerie.commons.services.imports import ImportReport, commons_import
from conciergerie.commons.starter import starter_load
from conciergerie.commons.view_helpers import place_of
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.forms import add_domain_errors
from conciergerie.core.models import Place


def _report_rows(report: ImportReport, place: Place) -> list[dict[str, Any]]:
    """Each item with its errors as (field as a volunteer reads it, messages)."""
    questions = {q.key: q.label for q in grid_questions(place=place)}
    return [
        {
            "line": line,
            "errors": [
                (exchange.field_label(key, questions), " ".join(messages))
                for key, messages in line.errors.items()
            ],
        }
        for line in report.items
    ]


@place_view("commons.moderate")
@require_http_methods(["GET", "POST"])
def import_commons(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    posted = request.method == "POST"
    # Bound even when empty: a form sent without a file is refused, not shown afresh.
    form = ImportForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            exchange.check_size(upload.size)  # refuse before reading it into memory
            parsed = exchange.read_file(upload.read(), upload.name or "")
            report = commons_import(
                place=place,
                items=parsed.items,
                by=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            add_domain_errors(form, exc, lambda key: "file")
        else:
            rows = _report_rows(report, place)
            return render(
                request,
                "commons/exchange/report.html",
                {
                    "place": place,
                    "filename": upload.name,
                    "report": report,
                    "counts": report.counts,
                    "rows": rows,
                    "failed": [r for r in rows if r["errors"]],
                    "ignored": parsed.ignored,
                },
            )
    return render(
        request,
        "commons/exchange/import.html",
        {
            "place": place,
            "form": form,
            "max_mb": exchange.MAX_BYTES // (1024 * 1024),
            "max_items": f"{exchange.MAX_ITEMS:,}".replace(",", " "),
            "columns": exchange.COLUMNS,
        },
        status=400 if posted else 200,
    )


def _download(text: str, content_type: str, place: Place, extension: str) -> HttpResponse:
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    name = f"communs-{place.slug}-{timezone.localdate():%Y-%m-%d}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@place_view("commons.view")
@require_GET
def export_json(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    items = exchange.export_items(exchange.export_commons(place=place))
    return _download(exchange.write_json(items), "application/json", place, "json")


@place_view("commons.view")
@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    items = exchange.export_items(exchange.export_commons(place=place))
    text = exchange.write_csv(items, exchange.grid_columns(place=place, items=items))
    return _download(text, "text/csv", place, "csv")


@place_view("commons.moderate")
@require_POST
def starter(request: HttpRequest) -> HttpResponse:
    place = place_of(request)
    try:
        report = starter_load(place, request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if report.ok:
            messages.success(request, _("Catalogue de départ chargé.") + " " + report.summary())
        else:
            messages.warning(request, report.summary())
    return redirect("commons:list", place_slug=place.slug)
