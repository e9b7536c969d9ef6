"""The import form: one JSON or CSV file (format in docs/commons-format.md)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier JSON ou CSV"),
        help_text=_("Un export d'une autre instance, ou un tableau rempli selon le format décrit."),
    )
