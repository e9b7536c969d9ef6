"""The revenue report, the accounting exports (FEC, CSV journal) and period closing.

Thin: `selectors/reports.py` computes every figure, `fec.py` and `journal.py` write the
files, `services/accounting.py` closes the period. The report and the exports need
"billing.manage" (the team), closing needs "billing.close" (admins).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from conciergerie.billing import fec, journal
from conciergerie.billing.selectors import reports
from conciergerie.billing.services.accounting import period_close
from conciergerie.billing.services.invoices import settings_for, today
from conciergerie.core.decorators import place_view
from conciergerie.core.errors import DomainError
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level, can


class PlaceRequest(HttpRequest):
    """A request past place_view: a place, a level, a signed-in user."""

    place: Place
    level: Level
    user: User  # type: ignore[assignment]


DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
BAD_DATE = gettext_lazy("Date invalide : écrivez-la comme 31/12/2026 (ou 2026-12-31).")


def _date_field(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        input_formats=DATE_FORMATS,
        error_messages={"invalid": BAD_DATE, "required": BAD_DATE},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def _in_range(day: dt.date) -> dt.date:
    if not 2000 <= day.year <= 2100:
        raise forms.ValidationError(_("Choisissez une date entre l'an 2000 et l'an 2100."))
    return day


class PeriodForm(forms.Form):
    du = _date_field(gettext_lazy("Du"))
    au = _date_field(gettext_lazy("Au"))

    def clean_du(self) -> dt.date:
        return _in_range(self.cleaned_data["du"])

    def clean_au(self) -> dt.date:
        return _in_range(self.cleaned_data["au"])

    def clean(self) -> dict:
        data = super().clean() or {}
        start, end = data.get("du"), data.get("au")
        if start and end:
            if end < start:
                self.add_error("au", _("La fin de la période est avant son début."))
            elif (end - start).days + 1 > reports.MAX_PERIOD_DAYS:
                self.add_error(
                    "au",
                    _("Période trop longue : %(max)s jours au plus.")
                    % {"max": reports.MAX_PERIOD_DAYS},
                )
        return data


class FecForm(forms.Form):
    annee = forms.IntegerField(
        label=gettext_lazy("Exercice (année civile)"),
        min_value=2000,
        max_value=2100,
        error_messages={
            "invalid": gettext_lazy("Indiquez une année, par exemple 2026."),
            "required": gettext_lazy("Indiquez une année, par exemple 2026."),
            "min_value": gettext_lazy("Choisissez une année entre 2000 et 2100."),
            "max_value": gettext_lazy("Choisissez une année entre 2000 et 2100."),
        },
    )


class CloseForm(forms.Form):
    until = _date_field(gettext_lazy("Clôturer jusqu'au (inclus)"))
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "Je comprends que plus rien ne pourra être émis, encaissé ni supprimé à ces dates."
        ),
        error_messages={"required": gettext_lazy("Cochez la case pour confirmer la clôture.")},
    )

    def clean_until(self) -> dt.date:
        return _in_range(self.cleaned_data["until"])


def _period_data(request: PlaceRequest) -> dict[str, str]:
    """du / au from the query string; by default the current calendar year at the place."""
    year = today(request.place).year
    return {
        "du": (request.GET.get("du") or "").strip() or f"{year}-01-01",
        "au": (request.GET.get("au") or "").strip() or f"{year}-12-31",
    }


def _page(
    request: PlaceRequest,
    *,
    form: PeriodForm,
    fec_form: FecForm | None = None,
    close_form: CloseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    place = request.place
    report = None
    if form.is_valid():
        report = reports.revenue_report(place, form.cleaned_data["du"], form.cleaned_data["au"])
    else:
        status = 400
    may_close = can(request.user, "billing.close", place)
    billing = settings_for(place)
    current = today(place)
    if may_close and close_form is None:
        close_form = CloseForm(initial={"until": dt.date(current.year, 1, 1) - dt.timedelta(1)})
    return render(
        request,
        "billing/reports/period.html",
        {
            "place": place,
            "form": form,
            "report": report,
            "fec_form": fec_form or FecForm(initial={"annee": current.year}),
            "close_form": close_form if may_close else None,
            "closed_until": billing.closed_until,
            "drafts": reports.drafts_count(place) if may_close else 0,
            "journal_query": urlencode(
                {"du": form.data.get("du", ""), "au": form.data.get("au", "")}
            ),
        },
        status=status,
    )


@place_view("billing.manage")
@require_GET
def period_report(request: PlaceRequest) -> HttpResponse:
    return _page(request, form=PeriodForm(_period_data(request)))


def _download(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content.encode("utf-8"), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # customers' names and amounts
    return response


@place_view("billing.manage")
@require_GET
def fec_download(request: PlaceRequest) -> HttpResponse:
    form = FecForm({"annee": request.GET.get("annee") or today(request.place).year})
    if not form.is_valid():
        return _page(request, form=PeriodForm(_period_data(request)), fec_form=form, status=400)
    year = form.cleaned_data["annee"]
    return _download(
        fec.fec_export(place=request.place, year=year),
        "text/plain; charset=utf-8",
        fec.fec_filename(request.place, year),
    )


@place_view("billing.manage")
@require_GET
def journal_csv(request: PlaceRequest) -> HttpResponse:
    form = PeriodForm(_period_data(request))
    if not form.is_valid():
        return _page(request, form=form)
    start, end = form.cleaned_data["du"], form.cleaned_data["au"]
    return _download(
        journal.journal_csv(request.place, start, end),
        "text/csv; charset=utf-8",
        f"journal-{request.place.slug}-{start:%Y%m%d}-{end:%Y%m%d}.csv",
    )


@place_view("billing.close")
@require_POST
def close(request: PlaceRequest) -> HttpResponse:
    form = CloseForm(request.POST)
    if form.is_valid():
        until = form.cleaned_data["until"]
        try:
            period_close(place=request.place, by=request.user, until=until)
        except DomainError as exc:
            for field, errors in exc.as_errors().items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(
                request,
                _("Les comptes sont clos jusqu'au %(date)s.")
                % {"date": formats.date_format(until, "SHORT_DATE_FORMAT")},
            )
            return redirect(reverse("billing_reports:period_report", args=[request.place.slug]))
    return _page(request, form=PeriodForm(_period_data(request)), close_form=form, status=400)
