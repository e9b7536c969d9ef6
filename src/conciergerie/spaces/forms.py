"""Forms for resource pages: they parse input; every rule stays in services and selectors."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from conciergerie.community.person_pick import PersonPickField
from conciergerie.spaces.models import Resource
from conciergerie.spaces.services import MAX_SERIES


def aware(day: dt.date, at: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """A wall-clock time in the place's zone as an aware datetime."""
    return dt.datetime.combine(day, at).replace(tzinfo=zone)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class SearchForm(forms.Form):
    day = forms.DateField(label=_("Jour"), widget=DateInput())
    start = forms.TimeField(label=_("À partir de"), initial=dt.time(8), widget=TimeInput())
    end = forms.TimeField(label=_("Jusqu'à"), initial=dt.time(20), widget=TimeInput())
    minutes = forms.IntegerField(
        label=_("Durée (minutes)"), min_value=1, max_value=24 * 60, initial=60
    )
    seats = forms.IntegerField(label=_("Nombre de places"), min_value=1, initial=1)
    kind = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("Tous"))] + list(Resource.Kind.choices)
    )
    features = forms.CharField(
        label=_("Équipements"),
        required=False,
        help_text=_("Séparés par des virgules, ex. vidéoprojecteur, écran"),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("La fin doit être après le début."))
        return data

    def criteria(self, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "start": aware(d["day"], d["start"], zone),
            "end": aware(d["day"], d["end"], zone),
            "minutes": d["minutes"],
            "seats": d["seats"],
            "kind": d["kind"],
            "features": [f for f in d["features"].replace(";", ",").split(",") if f.strip()],
        }


class BookingForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DateInput())
    start = forms.TimeField(label=_("Début"), widget=TimeInput())
    end = forms.TimeField(label=_("Fin"), widget=TimeInput())
    seats = forms.IntegerField(label=_("Places"), min_value=1, initial=1)

    def __init__(self, *args: Any, place: Any = None, staff: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff and place is not None:
            # A picker, not a <select> of everybody: a place may have thousands of people.
            self.fields["person"] = PersonPickField(
                place=place,
                label=_("Pour qui"),
                required=False,
                help_text=_("Vide : pour vous. Sinon tapez un nom ou un e-mail, puis choisissez."),
            )

    def interval(self, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        d = self.cleaned_data
        # "00:00" as an end means midnight at the end of the day.
        end_day = d["date"] + dt.timedelta(days=1) if d["end"] == dt.time(0) else d["date"]
        return aware(d["date"], d["start"], zone), aware(end_day, d["end"], zone)


class ClosureForm(forms.Form):
    start = forms.DateTimeField(
        label=_("Début"), widget=DateTimeInput(), input_formats=["%Y-%m-%dT%H:%M"]
    )
    end = forms.DateTimeField(
        label=_("Fin"), widget=DateTimeInput(), input_formats=["%Y-%m-%dT%H:%M"]
    )
    reason = forms.CharField(label=_("Motif"), max_length=200)

    def interval(self, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        d = self.cleaned_data
        # With USE_TZ the field is aware in the active zone (the place's); make it explicit.
        start, end = d["start"], d["end"]
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone)
        if end.tzinfo is None:
            end = end.replace(tzinfo=zone)
        return start, end


RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class SeriesForm(forms.Form):
    """A recurring booking in plain words, turned into an RFC 5545 RRULE.

    Its labels avoid "date", "début" and "fin": the single booking form on the same page
    uses those, and each label must name one field only.
    """

    WEEKLY = "hebdo"
    FORTNIGHTLY = "2semaines"
    MONTHLY_DATE = "mois_date"
    MONTHLY_WEEKDAY = "mois_jour"
    FREQUENCIES = [
        (WEEKLY, _("Chaque semaine")),
        (FORTNIGHTLY, _("Toutes les deux semaines")),
        (MONTHLY_DATE, _("Chaque mois, le même jour du mois (ex. le 12)")),
        (MONTHLY_WEEKDAY, _("Chaque mois, le même jour de la semaine (ex. le 2e mardi)")),
    ]

    first_date = forms.DateField(label=_("Premier jour"), widget=DateInput())
    start = forms.TimeField(label=_("Commence à"), widget=TimeInput())
    end = forms.TimeField(
        label=_("Se termine à"),
        widget=TimeInput(),
        help_text=_("00:00 : minuit, en fin de journée."),
    )
    frequency = forms.ChoiceField(label=_("Répéter"), choices=FREQUENCIES, initial=WEEKLY)
    until = forms.DateField(
        label=_("Jusqu'au (inclus)"),
        required=False,
        widget=DateInput(),
        help_text=_("Remplissez ceci ou le nombre de fois."),
    )
    count = forms.IntegerField(
        label=_("Ou nombre de fois"), required=False, min_value=1, max_value=MAX_SERIES
    )
    title = forms.CharField(label=_("Objet (facultatif)"), required=False, max_length=200)

    def __init__(self, *args: Any, place: Any = None, staff: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff and place is not None:
            self.fields["person"] = PersonPickField(
                place=place,
                label=_("Série pour qui"),
                required=False,
                help_text=_("Vide : pour vous. Sinon tapez un nom ou un e-mail, puis choisissez."),
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        d = self.cleaned_data
        start, end = d.get("start"), d.get("end")
        if start is not None and end is not None and end != dt.time(0) and end <= start:
            self.add_error("end", _("L'heure de fin doit être après l'heure de début."))
        until, count = d.get("until"), d.get("count")
        if "until" in self.errors or "count" in self.errors:
            return d
        if until is None and count is None:
            self.add_error("until", _("Indiquez jusqu'à quel jour répéter, ou combien de fois."))
        elif until is not None and count is not None:
            self.add_error(
                "count", _("Choisissez un jour limite ou un nombre de fois, pas les deux.")
            )
        elif until is not None and d.get("first_date") and until < d["first_date"]:
            self.add_error("until", _("Ce jour est avant le premier jour de la série."))
        return d

    def rrule(self) -> str:
        """The rule, in the place's local time (the first start is its DTSTART)."""
        d = self.cleaned_data
        first: dt.date = d["first_date"]
        parts = {
            self.WEEKLY: ["FREQ=WEEKLY"],
            self.FORTNIGHTLY: ["FREQ=WEEKLY", "INTERVAL=2"],
            self.MONTHLY_DATE: ["FREQ=MONTHLY"],
        }.get(d["frequency"])
        if parts is None:  # the n-th weekday of the month; a fifth one is the month's last
            nth = (first.day - 1) // 7 + 1
            parts = [
                "FREQ=MONTHLY",
                f"BYDAY={-1 if nth == 5 else nth}{RRULE_DAYS[first.weekday()]}",
            ]
        if d["count"] is not None:
            parts.append(f"COUNT={d['count']}")
        else:
            # Floating local time, like DTSTART: the whole of the last day is included.
            parts.append(f"UNTIL={d['until']:%Y%m%d}T235959")
        return ";".join(parts)

    def first_start(self, zone: zoneinfo.ZoneInfo) -> dt.datetime:
        return aware(self.cleaned_data["first_date"], self.cleaned_data["start"], zone)

    def duration(self) -> dt.timedelta:
        d = self.cleaned_data
        day = d["first_date"]
        end_day = day + dt.timedelta(days=1) if d["end"] == dt.time(0) else day
        return dt.datetime.combine(end_day, d["end"]) - dt.datetime.combine(day, d["start"])
