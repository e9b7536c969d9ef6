"""Forms of the team's resource screens: they parse what was typed; the services decide.

Every label here names one field only on its page, and the sub-forms of the edit page
(photo, maintenance, qualification) carry a prefix so that no two inputs share an id.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from conciergerie.community.models import Organisation
from conciergerie.community.person_pick import PersonPickField
from conciergerie.core.forms import DAY_LABELS
from conciergerie.core.models import Place
from conciergerie.core.validators import WEEKDAYS, format_day_hours, parse_day_hours
from conciergerie.spaces.forms import DateInput
from conciergerie.spaces.models import Price, Resource
from conciergerie.spaces.services import RESOURCE_FIELDS

# The Resource fields the form edits as they are (features and hours have fields of their
# own below, as have prices and organisations).
MODEL_FIELDS = [f for f in RESOURCE_FIELDS if f not in ("features", "opening_hours")]
CATEGORIES = list(Price.Category)
MAX_INT = 2**31 - 1


def _hours_help(place: Place) -> str:
    hours = place.opening_hours or {}
    if not hours:
        return str(_("Le lieu n'a pas d'horaires enregistrés : réservable à toute heure."))
    days = [f"{DAY_LABELS[d]} {format_day_hours(hours[d])}" for d in WEEKDAYS if hours.get(d)] or [
        str(_("fermé tous les jours"))
    ]
    return str(_("Horaires du lieu : %(hours)s.") % {"hours": " ; ".join(days)})


class ResourceForm(forms.Form):
    features = forms.CharField(
        label=_("Équipements"),
        required=False,
        max_length=1000,
        help_text=_("Séparés par des virgules, ex. vidéoprojecteur, tableau blanc, écran"),
    )
    same_hours = forms.BooleanField(
        label=_("Mêmes horaires que le lieu"),
        required=False,
        help_text=_("Décochez pour donner des horaires propres à cette ressource."),
    )

    def __init__(self, *args: Any, place: Place, resource: Resource | None = None, **kw: Any):
        if resource is not None and "initial" not in kw:
            kw["initial"] = self.initial_for(resource)
        kw.setdefault("initial", {}).setdefault("same_hours", True)
        super().__init__(*args, **kw)
        self.fields.update(
            fields_for_model(
                Resource,
                fields=MODEL_FIELDS,
                widgets={
                    "description": forms.Textarea(attrs={"rows": 4}),
                    "lending_terms": forms.Textarea(attrs={"rows": 3}),
                },
            )
        )
        self.fields["capacity"] = forms.IntegerField(
            label=_("Capacité"),
            min_value=1,
            initial=1,
            help_text=_("Places assises, postes ou exemplaires."),
            error_messages={"min_value": _("La capacité est d'au moins 1 (place ou exemplaire).")},
        )
        self.fields["slot_minutes"] = forms.IntegerField(
            label=_("Pas des créneaux (min)"),
            min_value=1,
            initial=30,
            help_text=_("Les réservations commencent à ces intervalles, ex. 30 : 9:00, 9:30…"),
            error_messages={"min_value": _("Au moins 1 minute.")},
        )
        for field in self.fields.values():
            if isinstance(field, forms.IntegerField) and field.max_value is None:
                # The databases' integer range (PostgreSQL's is the smaller): a 400, not a 500.
                field.max_value = MAX_INT
                field.validators.append(MaxValueValidator(MAX_INT))
                field.widget.attrs["max"] = MAX_INT
        self.fields["organisations"] = forms.ModelMultipleChoiceField(
            label=_("Réservée aux membres de ces organisations"),
            queryset=Organisation.objects.filter(place=place).order_by("name"),
            to_field_name="uuid",
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("Aucune cochée : tous les membres qui remplissent les autres conditions."),
        )
        self.fields["same_hours"].help_text = _hours_help(place)
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=DAY_LABELS[day], required=False, max_length=100
            )
        for category in CATEGORIES:
            self.fields[f"price_{category.value}_unit"] = forms.ChoiceField(
                label=_("Tarif %(category)s : unité") % {"category": category.label.lower()},
                choices=[("", _("— pas de tarif —")), *Price.Unit.choices],
                required=False,
            )
            self.fields[f"price_{category.value}_amount"] = forms.DecimalField(
                label=_("Tarif %(category)s : montant TTC (€)")
                % {"category": category.label.lower()},
                required=False,
                min_value=Decimal("0"),
                max_digits=9,
                decimal_places=2,
            )

    @staticmethod
    def initial_for(resource: Resource) -> dict[str, Any]:
        """What the form shows for a resource (its prices and organisations prefetched)."""
        data: dict[str, Any] = {f: getattr(resource, f) for f in MODEL_FIELDS}
        data["features"] = ", ".join(resource.features or [])
        data["organisations"] = list(resource.organisations.all())
        hours = resource.opening_hours or {}
        data["same_hours"] = not hours
        for day in WEEKDAYS:
            data[f"hours_{day}"] = format_day_hours(hours.get(day, []))
        for price in resource.prices.all():
            data[f"price_{price.category}_unit"] = price.unit
            data[f"price_{price.category}_amount"] = price.amount
        return data

    def groups(self) -> list[dict[str, Any]]:
        """The fields as the page shows them: in these groups, in this order."""

        def group(
            legend: Any, names: list[str], grid: bool = False, help: Any = ""
        ) -> dict[str, Any]:
            return {
                "legend": legend,
                "fields": [self[n] for n in names],
                "grid": grid,
                "help": help,
            }

        return [
            group(
                _("Description"),
                ["name", "kind", "capacity", "location", "description", "features"],
            ),
            group(
                _("Qui peut réserver"),
                [
                    "active",
                    "audience",
                    "requires_membership",
                    "requires_qualification",
                    "organisations",
                    "requires_approval",
                ],
            ),
            group(
                _("Règles de réservation"),
                [
                    "min_minutes",
                    "max_minutes",
                    "slot_minutes",
                    "horizon_days",
                    "lead_minutes",
                    "cancel_minutes",
                    "buffer_minutes",
                ],
                grid=True,
            ),
            group(
                _("Horaires de réservation"),
                ["same_hours", *[f"hours_{d}" for d in WEEKDAYS]],
                grid=True,
                help=_(
                    "Pour chaque jour, une ou deux plages, ex. 09:00-18:00 ou "
                    "09:00-12:30, 14:00-18:00. Jour laissé vide : fermé."
                ),
            ),
            group(
                _("Tarifs (laissez vide s'il n'y a pas de tarif)"),
                [f"price_{c.value}_{part}" for c in CATEGORIES for part in ("unit", "amount")],
                grid=True,
            ),
            # Last: it only concerns equipment (type « Matériel à prêter »), and is ignored
            # for the other types rather than refused, so changing a type never blocks a save.
            group(
                _("Prêt aux autres lieux du réseau"),
                ["network_lending", "lending_terms"],
                help=_(
                    "Pour le matériel seulement (type « Matériel à prêter ») : les autres "
                    "types de ressources ne sont pas proposés au réseau."
                ),
            ),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("min_minutes"), cleaned.get("max_minutes")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_minutes", _("La durée maximale doit être au moins la durée minimale.")
            )
        self._clean_hours(cleaned)
        self._clean_prices(cleaned)
        return cleaned

    def _clean_hours(self, cleaned: dict[str, Any]) -> None:
        hours: dict[str, list[list[str]]] = {}
        cleaned["opening_hours"] = hours
        if cleaned.get("same_hours"):  # the days' boxes are not read: {} means the place's
            return
        for day in WEEKDAYS:
            name = f"hours_{day}"
            text = (cleaned.get(name) or "").replace("—", "-").replace(" à ", "-")
            try:
                ranges = parse_day_hours(text)
            except ValidationError as exc:
                self.add_error(
                    name,
                    [
                        *exc.messages,
                        str(_("Écrivez l'heure de début puis celle de fin, ex. 09:00-18:00.")),
                    ],
                )
                continue
            if ranges:
                hours[day] = ranges
        if not hours and not any(f"hours_{d}" in self.errors for d in WEEKDAYS):
            self.add_error(
                "same_hours",
                _("Indiquez au moins une plage horaire, ou cochez « Mêmes horaires que le lieu »."),
            )

    def _clean_prices(self, cleaned: dict[str, Any]) -> None:
        prices: dict[str, tuple[str, Decimal]] = {}
        for category in CATEGORIES:
            unit_field = f"price_{category.value}_unit"
            amount_field = f"price_{category.value}_amount"
            if unit_field in self.errors or amount_field in self.errors:
                continue
            unit, amount = cleaned.get(unit_field) or "", cleaned.get(amount_field)
            if not unit:
                if amount:
                    self.add_error(
                        unit_field, _("Choisissez l'unité de ce tarif, ou effacez le montant.")
                    )
                continue
            if unit == Price.Unit.FREE:
                amount = Decimal("0")
            elif amount is None:
                self.add_error(amount_field, _("Indiquez le montant de ce tarif."))
                continue
            prices[category.value] = (unit, amount)
        cleaned["prices"] = prices

    def service_fields(self) -> dict[str, Any]:
        """The Resource fields, as resource_create / resource_update take them."""
        d = self.cleaned_data
        return {
            **{f: d[f] for f in MODEL_FIELDS},
            "features": d["features"],
            "opening_hours": d["opening_hours"],
        }

    def prices(self) -> dict[str, tuple[str, Any]]:
        return dict(self.cleaned_data["prices"])

    def organisations(self) -> list[Organisation]:
        return list(self.cleaned_data["organisations"])


class PhotoForm(forms.Form):
    image = forms.FileField(
        label=_("Photo à ajouter"),
        help_text=_("JPEG, PNG, WebP ou GIF, 5 Mo au plus."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
        error_messages={"required": _("Choisissez une photo à envoyer.")},
    )
    alt = forms.CharField(
        label=_("Ce que montre la photo"),
        required=False,
        max_length=200,
        help_text=_("Une phrase pour les personnes qui ne voient pas l'image."),
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        kw.setdefault("prefix", "photo")
        super().__init__(*args, **kw)


class MaintenanceForm(forms.Form):
    date = forms.DateField(label=_("Date de l'intervention"), widget=DateInput())
    note = forms.CharField(
        label=_("Ce qui a été fait"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Dites ce qui a été fait.")},
    )
    performed_by = forms.CharField(
        label=_("Fait par"),
        required=False,
        max_length=120,
        help_text=_("ex. Camille, ou l'entreprise de réparation"),
    )
    remarks = forms.CharField(
        label=_("Remarques"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    cost = forms.DecimalField(
        label=_("Coût (€)"), required=False, min_value=Decimal("0"), max_digits=9, decimal_places=2
    )

    def __init__(self, *args: Any, today: dt.date | None = None, **kw: Any) -> None:
        kw.setdefault("prefix", "entretien")
        super().__init__(*args, **kw)
        self.fields["date"].initial = today


class QualificationForm(forms.Form):
    granted_on = forms.DateField(label=_("Formé·e le"), widget=DateInput())
    valid_until = forms.DateField(
        label=_("Valable jusqu'au"),
        required=False,
        widget=DateInput(),
        help_text=_("Vide : sans limite de durée."),
    )
    trainer = forms.CharField(label=_("Formateur·rice"), required=False, max_length=120)
    note = forms.CharField(label=_("Note sur la formation"), required=False, max_length=200)

    def __init__(self, *args: Any, place: Place, today: dt.date | None = None, **kw: Any) -> None:
        kw.setdefault("prefix", "habilitation")
        super().__init__(*args, **kw)
        self.fields["person"] = PersonPickField(
            place=place,
            label=_("Personne formée"),
            error_messages={"required": _("Choisissez la personne formée.")},
        )
        self.order_fields(["person"])
        self.fields["granted_on"].initial = today

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("granted_on"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("La fin de validité est avant la formation."))
        return cleaned
