"""CSV import (preview, then confirm) and export of people and memberships."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from conciergerie.community import csv_io, imports, selectors
from conciergerie.community.forms import ImportForm
from conciergerie.community.models import ImportBatch
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError

PREVIEW_ROWS = 200


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # personal data
    return response


@place_view("import.run")
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    place = request.place
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > csv_io.MAX_BYTES:  # refuse before reading it into memory
            form.add_error(
                "file",
                _("Le fichier dépasse %(max)s Mo : découpez-le en plusieurs fichiers.")
                % {"max": csv_io.MAX_BYTES // (1024 * 1024)},
            )
        else:
            try:
                batch = imports.import_batch_create(
                    place=place, by=request.user, filename=upload.name, content=upload.read()
                )
            except DomainError as exc:
                for err in exc.as_errors().get("file", [exc.message]):
                    form.add_error("file", err)
            else:
                return redirect("community:import_preview", place_slug=place.slug, uuid=batch.uuid)
    return render(
        request,
        "community/import.html",
        {
            "place": place,
            "form": form,
            "columns": csv_io.COLUMNS,
            "max_rows": f"{csv_io.MAX_ROWS:,}".replace(",", " "),
        },
    )


@place_view("import.run")
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, uuid: str) -> HttpResponse:
    place = request.place
    batch = get_object_or_404(ImportBatch, place=place, uuid=uuid)
    if request.method == "POST":
        try:
            report = imports.import_batch_apply(batch=batch, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("community:import_preview", place_slug=place.slug, uuid=batch.uuid)
        messages.success(
            request,
            _(
                "Import terminé : %(created)s personne(s) ajoutée(s), %(updated)s mise(s) à "
                "jour, %(unchanged)s inchangée(s), %(memberships)s adhésion(s) créée(s)."
            )
            % {
                "created": report["created"],
                "updated": report["updated"],
                "unchanged": report["unchanged"],
                "memberships": report["memberships_created"],
            },
        )
        return redirect("community:directory", place_slug=place.slug)
    context = {"place": place, "batch": batch}
    if batch.imported_at is None:
        try:
            plan = imports.import_batch_plan(batch=batch)
        except csv_io.CsvFileError as exc:  # the format rules changed since the upload
            context["file_error"] = str(exc)
        else:
            context.update(
                plan=plan,
                counts=plan.counts,
                rows=plan.rows[:PREVIEW_ROWS],
                preview_limit=PREVIEW_ROWS,
                errors=plan.errors,
                ignored=plan.parsed.ignored,
                columns=[
                    (c.header, plan.parsed.columns[c.key])
                    for c in csv_io.COLUMNS
                    if c.key in plan.parsed.columns
                ],
            )
    return render(request, "community/import_preview.html", context)


@place_view("export.run")
@require_GET
def export_people(request: HttpRequest) -> HttpResponse:
    place = request.place
    text = csv_io.export_people_csv(selectors.export_rows(place=place))
    return _csv_response(text, f"personnes-{place.slug}-{timezone.localdate():%Y-%m-%d}.csv")


@place_view("import.run")
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    return _csv_response(csv_io.example_csv(), "modele-import-personnes.csv")
