from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from conciergerie.community.models import (
    PROFILE_FIELDS,
    Facet,
    Introduction,
    Membership,
    Organisation,
    Person,
    Visibility,
)

FIELD_LABELS = {
    "name": _("Nom"),
    "email": _("E-mail"),
    "phone": _("Téléphone"),
    "bio": _("Présentation"),
    "organisations": _("Organisations"),
    "skills": _("Compétences"),
    "needs": _("Besoins"),
    "interests": _("Centres d'intérêt"),
    "lendables": _("Ce que je peux prêter"),
}
FACET_FORM_FIELD: dict[str, str] = {
    Facet.SKILL: "skill_tags",
    Facet.NEED: "need_tags",
    Facet.INTEREST: "interest_tags",
    Facet.LENDABLE: "lendable_tags",
}


def split_labels(text: str) -> list[str]:
    return [p.strip() for p in (text or "").replace(";", ",").split(",") if p.strip()]


class PersonForm(forms.ModelForm):
    skill_tags = forms.CharField(
        label=_("Compétences (mots-clés)"),
        required=False,
        help_text=_("Séparés par des virgules, ex. soudure, Arduino"),
    )
    need_tags = forms.CharField(label=_("Besoins (mots-clés)"), required=False)
    interest_tags = forms.CharField(label=_("Centres d'intérêt (mots-clés)"), required=False)
    lendable_tags = forms.CharField(label=_("Peut prêter (mots-clés)"), required=False)
    organisation_uuids = forms.ModelMultipleChoiceField(
        label=_("Organisations"),
        queryset=Organisation.objects.none(),
        required=False,
        to_field_name="uuid",
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Person
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "kind",
            "bio",
            "skills_text",
            "needs_text",
            "interests_text",
            "lendables_text",
            *[f"{f}_visibility" for f in PROFILE_FIELDS],
        ]
        widgets = {
            "bio": forms.Textarea(attrs={"rows": 3}),
            "skills_text": forms.Textarea(attrs={"rows": 2}),
            "needs_text": forms.Textarea(attrs={"rows": 2}),
            "interests_text": forms.Textarea(attrs={"rows": 2}),
            "lendables_text": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(
        self,
        *args: Any,
        place: Any,
        tag_text: dict[str, str] | None = None,
        self_service: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation_uuids"].queryset = Organisation.objects.filter(place=place)
        if self.instance.pk:
            self.fields["organisation_uuids"].initial = [
                o.uuid for o in self.instance.organisations.all()
            ]
        for facet, text in (tag_text or {}).items():
            self.fields[FACET_FORM_FIELD[facet]].initial = text
        for f in PROFILE_FIELDS:
            field = self.fields[f"{f}_visibility"]
            field.label = _("Qui voit : %(field)s") % {"field": FIELD_LABELS[f]}
            field.widget = forms.RadioSelect(choices=Visibility.choices)
        if self_service:
            # A member edits their profile, not their status or their organisations.
            del self.fields["kind"]
            self.fields["organisation_uuids"].disabled = True

    def visibility_fields(self) -> list[forms.BoundField]:
        return [self[f"{f}_visibility"] for f in PROFILE_FIELDS]

    def tags(self) -> dict[str, list[str]]:
        return {
            facet: split_labels(self.cleaned_data[name]) for facet, name in FACET_FORM_FIELD.items()
        }

    def service_fields(self) -> dict[str, Any]:
        return {f: self.cleaned_data[f] for f in self.Meta.fields if f in self.cleaned_data}


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["name", "kind", "siret", "email", "phone", "website", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def validate_unique(self) -> None:  # the service says it, with its own message
        pass


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["period", "start", "end", "fee", "status", "organisation", "note"]
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {"end": _("Laissez vide : calculée selon la période.")}

    def __init__(self, *args: Any, place: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(place=place)
        self.fields["end"].required = False


class NeedForm(forms.Form):
    need = forms.CharField(
        label=_("Quel est le besoin ?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    requester = forms.ModelChoiceField(
        label=_("Pour qui ? (facultatif)"),
        queryset=Person.objects.none(),
        required=False,
        to_field_name="uuid",
    )

    def __init__(self, *args: Any, place: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requester"].queryset = Person.objects.filter(place=place).order_by(
            "last_name", "first_name"
        )


class IntroductionForm(forms.Form):
    need = forms.CharField(widget=forms.HiddenInput, max_length=2000)
    requester = forms.UUIDField(widget=forms.HiddenInput, required=False)
    helper = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Suite"), choices=Introduction.Outcome.choices)
    note = forms.CharField(
        label=_("Commentaire"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class TagForm(forms.Form):
    label = forms.CharField(label=_("Nouveau mot"), max_length=80)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier CSV"), help_text=_("Export d'un tableur ou d'une plateforme associative.")
    )
