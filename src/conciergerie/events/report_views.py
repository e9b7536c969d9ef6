"""The team's event reports and attendance exports (all behind "event.manage").

Thin: reports.py reads and computes every figure, exports.py writes the CSV and the PDF.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from conciergerie.core.decorators import place_view
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level
from conciergerie.events import exports, reports
from conciergerie.events.models import Event


class PlaceRequest(HttpRequest):
    """A request past place_view("event.manage"): a place, a level, a signed-in user."""

    place: Place
    level: Level
    user: User  # type: ignore[assignment]


def _event(request: PlaceRequest, uuid: str) -> Event:
    event = reports.report_event(place=request.place, uuid=uuid)
    if event is None:
        raise Http404
    return event


def _filename(event: Event, extension: str) -> str:
    day = timezone.localtime(event.start_at, event.zone()).date()
    return f"emargement-{slugify(event.title)[:60] or 'evenement'}-{day:%Y-%m-%d}.{extension}"


def _download(
    content: str | bytes, content_type: str, filename: str, *, inline: bool = False
) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"  # a PDF opens ready to print
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # personal data
    return response


@place_view("event.manage")
@require_GET
def event_report(request: PlaceRequest, uuid: str) -> HttpResponse:
    event = _event(request, uuid)
    report = reports.event_report(event=event)
    return render(
        request,
        "events/report_event.html",
        {"place": request.place, "event": event, "report": report},
    )


DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
BAD_DATE = gettext_lazy("Date invalide : écrivez-la comme 31/12/2025 (ou 2025-12-31).")


class PeriodForm(forms.Form):
    du = forms.DateField(
        label=gettext_lazy("Du"),
        input_formats=DATE_FORMATS,
        error_messages={"invalid": BAD_DATE, "required": BAD_DATE},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    au = forms.DateField(
        label=gettext_lazy("Au"),
        input_formats=DATE_FORMATS,
        error_messages={"invalid": BAD_DATE, "required": BAD_DATE},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_du(self) -> dt.date:
        return self._in_range(self.cleaned_data["du"])

    def clean_au(self) -> dt.date:
        return self._in_range(self.cleaned_data["au"])

    @staticmethod
    def _in_range(day: dt.date) -> dt.date:
        if not 2000 <= day.year <= 2100:
            raise forms.ValidationError(_("Choisissez une date entre l'an 2000 et l'an 2100."))
        return day

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


def _period_data(request: PlaceRequest) -> dict[str, str]:
    """du / au from the query string; a missing one is taken from the other's month, or from
    the current month in the place's zone."""
    start = (request.GET.get("du") or "").strip()
    end = (request.GET.get("au") or "").strip()
    if start and end:
        return {"du": start, "au": end}
    month = reports.current_month(request.place, timezone.now())
    for given, key in ((start, "du"), (end, "au")):
        if given:
            for fmt in DATE_FORMATS:
                try:
                    month = reports.month_of(dt.datetime.strptime(given, fmt).date())
                    break
                except ValueError:
                    continue
            other = "au" if key == "du" else "du"
            return {key: given, other: (month[1] if key == "du" else month[0]).isoformat()}
    return {"du": month[0].isoformat(), "au": month[1].isoformat()}


@place_view("event.manage")
@require_GET
def period_report(request: PlaceRequest) -> HttpResponse:
    form = PeriodForm(_period_data(request))
    report = None
    status = 400
    if form.is_valid():
        report = reports.period_report(
            place=request.place, start=form.cleaned_data["du"], end=form.cleaned_data["au"]
        )
        status = 200
    return render(
        request,
        "events/report_period.html",
        {"place": request.place, "form": form, "report": report},
        status=status,
    )


@place_view("event.manage")
@require_GET
def attendance_csv(request: PlaceRequest, uuid: str) -> HttpResponse:
    event = _event(request, uuid)
    text = exports.attendance_csv(event, reports.confirmed_attendees(event=event))
    return _download(text, "text/csv; charset=utf-8", _filename(event, "csv"))


@place_view("event.manage")
@require_GET
def signin_sheet(request: PlaceRequest, uuid: str) -> HttpResponse:
    event = _event(request, uuid)
    pdf = exports.signin_sheet_pdf(event, reports.confirmed_attendees(event=event))
    return _download(pdf, "application/pdf", _filename(event, "pdf"), inline=True)
