"""Forms of the network pages: searching the network, following a place, answering a
follower, blocking an instance or an account."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

Q_MAX = 200  # the same limit as the catalogue's search box and the API


class NetworkSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Rechercher dans le réseau"),
        required=False,
        max_length=Q_MAX,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("réparation, compostage, statuts…")}
        ),
    )

    def words(self) -> str:
        """The search, or '' when there is none or it is refused (then shown on the form)."""
        if not self.is_bound or not self.is_valid():
            return ""
        return str(self.cleaned_data["q"]).strip()


class FollowForm(forms.Form):
    target = forms.CharField(
        label=_("Adresse du lieu"),
        max_length=500,
        help_text=_("@lieu@exemple.org ou https://…"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accepter")), ("reject", _("Refuser"))])

    def accepted(self) -> bool:
        return bool(self.cleaned_data["decision"] == "accept")


class BlockForm(forms.Form):
    domain = forms.CharField(
        label=_("Instance à bloquer"),
        max_length=255,
        help_text=_("Son nom de domaine, par exemple exemple.org"),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    reason = forms.CharField(label=_("Raison (pour l'équipe)"), max_length=300, required=False)


class ActorBlockForm(forms.Form):
    """One account, as the buttons of the team's page send it (its actor URL), or typed."""

    actor = forms.CharField(label=_("Compte"), max_length=500)
