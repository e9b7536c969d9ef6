# mypy: disable-error-code="arg-type,attr-defined,union-attr"
"""Campaign and pledge forms: they parse what was typed (amounts the French way, "12,50 €");
the rules (ranges, dates, who may pledge for a place) stay in services.campaigns."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from conciergerie.commons.models import Campaign, Commons
from conciergerie.commons.selectors.campaigns import commons_for_campaign
from conciergerie.core.forms import MoneyField
from conciergerie.core.models import Place
from conciergerie.spaces.forms import DateInput


class CampaignForm(forms.Form):
    commons = forms.ModelChoiceField(
        label=_("Commun à financer"),
        queryset=Commons.objects.none(),
        empty_label=_("— choisir —"),
        error_messages={"invalid_choice": _("Choisissez un commun de la liste.")},
    )
    title = forms.CharField(label=_("Titre de la campagne"), max_length=200)
    description = forms.CharField(
        label=_("Pourquoi financer ce commun ?"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("En Markdown. À quoi servira l'argent, qui le recevra, comment."),
    )
    goal = MoneyField(maximum=None, label=_("Objectif (€)"), help_text=_("Ex. : 5 000 ou 1 250,50"))
    ends_on = forms.DateField(label=_("Date de fin"), widget=DateInput())

    def __init__(self, *args: Any, place: Place, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commons"].queryset = commons_for_campaign(place=place)
        self.fields["commons"].to_field_name = "uuid"

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        return {
            "commons": campaign.commons.uuid,
            "title": campaign.title,
            "description": campaign.description,
            "goal": campaign.goal,
            "ends_on": campaign.ends_on,
        }

    def service_fields(self) -> dict[str, Any]:
        return {key: self.cleaned_data.get(key) for key in self.fields}


class PledgeForm(forms.Form):
    """A pledge as oneself, or on behalf of one of the places one runs (`places`)."""

    amount = MoneyField(
        maximum=None, label=_("Montant promis (€)"), help_text=_("Ex. : 20 ou 12,50")
    )
    pledge_as = forms.ChoiceField(label=_("Vous promettez"), required=False)
    pledger_name = forms.CharField(label=_("Votre nom"), max_length=200, required=False)
    pledger_email = forms.EmailField(
        label=_("Votre e-mail"),
        required=False,
        help_text=_("Vu seulement par l'équipe du lieu, pour vous recontacter."),
    )
    public = forms.BooleanField(
        label=_("Afficher mon nom dans la liste des contributeur·rices"),
        required=False,
        initial=True,
        help_text=_("Sinon, vous apparaissez comme « anonyme »."),
    )

    def __init__(self, *args: Any, places: list[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places = {str(p.uuid): p for p in places}
        if places:
            self.fields["pledge_as"].choices = [
                ("", _("en mon nom")),
                *[
                    (key, _("au nom de %(place)s") % {"place": p.name})
                    for key, p in self.places.items()
                ],
            ]
        else:
            del self.fields["pledge_as"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["pledger_place"] = self.places.get(data.get("pledge_as") or "")
        if data["pledger_place"] is None and not (data.get("pledger_name") or "").strip():
            self.add_error("pledger_name", _("Indiquez votre nom."))
        return data

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "amount": data["amount"],
            "pledger_name": data.get("pledger_name", ""),
            "pledger_email": data.get("pledger_email", ""),
            "public": data.get("public", False),
            "pledger_place": data.get("pledger_place"),
        }
