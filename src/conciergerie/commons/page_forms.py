# mypy: disable-error-code="arg-type,attr-defined,union-attr"
"""The documentation page form: it parses what was typed; the rules stay in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from conciergerie.commons.models import Commons
from conciergerie.commons.selectors.pages import (
    DEFAULT_LICENSE,
    commons_choices,
    commons_for_page,
    license_choices,
)
from conciergerie.core.models import Place


class PageForm(forms.Form):
    title = forms.CharField(label=_("Titre"), max_length=200)
    body = forms.CharField(
        label=_("Contenu"),
        required=False,
        strip=False,  # leading spaces mean something in Markdown
        widget=forms.Textarea(attrs={"rows": 20, "spellcheck": "true"}),
        help_text=_(
            "En Markdown : ## Titre de partie, **gras**, *italique*, - liste, "
            "[texte du lien](https://…). Pas de HTML."
        ),
    )
    license = forms.ChoiceField(
        label=_("Licence"),
        help_text=_("Sous quelles conditions d'autres peuvent réutiliser ce texte."),
        error_messages={"invalid_choice": _("Licence inconnue : choisissez dans la liste.")},
    )
    commons = forms.ChoiceField(
        label=_("Cette page parle de"),
        required=False,
        error_messages={"invalid_choice": _("Choisissez un commun de la liste.")},
    )
    message = forms.CharField(
        label=_("Résumé de la modification"),
        required=False,
        max_length=255,
        help_text=_("Facultatif. Ex. : « ajout des horaires », « correction d'une faute »."),
    )
    base_revision = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, place: Place, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("license", DEFAULT_LICENSE)
        super().__init__(*args, **kwargs)
        self.place = place
        self.fields["license"].choices = license_choices()
        self.fields["commons"].choices = [
            ("", _("Le lieu lui-même (pas un commun en particulier)")),
            *commons_choices(place=place),
        ]

    def clean_commons(self) -> Commons | None:
        value = self.cleaned_data.get("commons") or ""
        if not value:
            return None
        found = commons_for_page(place=self.place, uuid=value)
        if found is None:
            raise forms.ValidationError(_("Choisissez un commun de la liste."))
        return found

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "body": data.get("body", ""),
            "license": data["license"],
            "commons": data.get("commons"),
            "message": data.get("message", ""),
        }
