"""Forms of the aiguillage pages: describe a need, be called back, record an orientation,
follow it up, manage the aiguilleurs. They parse; the services decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from conciergerie.commons.models import Aiguilleur, Commons, Orientation
from conciergerie.commons.selectors.aiguillage import MAX_NEED, QUESTIONS, clean_request
from conciergerie.community.models import Person
from conciergerie.community.person_pick import PersonPickField
from conciergerie.core.errors import InvalidInput
from conciergerie.core.forms import add_domain_errors
from conciergerie.core.models import Place

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NeedForm(forms.Form):
    """The need in plain words and the guided questions (all optional)."""

    need = forms.CharField(
        label=_("Décrivez votre besoin"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_NEED}),
        help_text=_("Ex. : on veut gérer les adhésions et la compta de notre asso."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, (label, choices) in QUESTIONS.items():
            self.fields[key] = forms.ChoiceField(
                label=label,
                required=False,
                initial="",
                choices=[("", _("je ne sais pas / peu importe")), *choices],
                widget=forms.RadioSelect,
            )

    def question_fields(self) -> list[forms.BoundField]:
        return [self[key] for key in QUESTIONS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        answers = {key: cleaned.get(key) or "" for key in QUESTIONS}
        try:
            cleaned["need"], cleaned["answers"] = clean_request(cleaned.get("need", ""), answers)
        except InvalidInput as exc:
            add_domain_errors(self, exc)
        return cleaned

    def as_query(self) -> dict[str, str]:
        """The need and the answers given, to carry them in a link or hidden fields."""
        data = self.cleaned_data
        return {"need": data["need"], **data["answers"]}


class ContactForm(forms.Form):
    """Être recontacté·e: a name, an e-mail, a message; `website` is a trap for robots."""

    contact_name = forms.CharField(label=_("Votre nom"), max_length=200)
    contact_email = forms.EmailField(label=_("Votre e-mail"))
    message = forms.CharField(
        label=_("Un mot pour l'aiguilleur·euse (facultatif)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    website = forms.CharField(
        label=_("Laissez ce champ vide"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, email_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact_email"].required = email_required
        self.fields["contact_name"].widget.attrs["autocomplete"] = "name"
        self.fields["contact_email"].widget.attrs["autocomplete"] = "email"

    @property
    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


def _suggestion_choices(suggestions: list[dict[str, str]]) -> list[Any]:
    groups: dict[str, list[tuple[str, str]]] = {"commons": [], "person": []}
    for s in suggestions:
        label = f"{s['name']} — {s['reason']}" if s.get("reason") else s["name"]
        groups.setdefault(s["type"], []).append((f"{s['type']}:{s['id']}", label))
    out: list[Any] = []
    if groups["commons"]:
        out.append((_("Communs"), groups["commons"]))
    if groups["person"]:
        out.append((_("Personnes à appeler"), groups["person"]))
    return out


def default_choice(suggestions: list[dict[str, str]]) -> list[str]:
    """Pre-checked: the three first commons and the first person."""
    commons = [f"commons:{s['id']}" for s in suggestions if s["type"] == "commons"][:3]
    people = [f"person:{s['id']}" for s in suggestions if s["type"] == "person"][:1]
    return commons + people


class RecordForm(forms.Form):
    """What the aiguilleur chose: among the suggestions, or anywhere in the catalogue and the
    directory; a note; when to ask for news. With `with_contact`: for whom (someone met)."""

    chosen = forms.MultipleChoiceField(
        label=_("Suggestions retenues"), required=False, widget=forms.CheckboxSelectMultiple
    )
    more_commons = forms.ModelMultipleChoiceField(
        label=_("Autres communs du catalogue"),
        queryset=Commons.objects.none(),
        to_field_name="uuid",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Ctrl ou ⌘ + clic pour en choisir plusieurs."),
    )
    more_people = forms.ModelMultipleChoiceField(
        label=_("Autres personnes à appeler"),
        queryset=Person.objects.none(),
        to_field_name="uuid",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    note = forms.CharField(
        label=_("Note (pour l'équipe, pas envoyée)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    follow_up_on = forms.DateField(
        label=_("Reprendre des nouvelles le"), required=False, widget=DATE_INPUT
    )

    def __init__(
        self,
        *args: Any,
        suggestions: list[dict[str, str]],
        commons: QuerySet[Commons],
        people: QuerySet[Person],
        follow_up_on: Any,
        with_contact: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        chosen = self.fields["chosen"]
        chosen.choices = _suggestion_choices(suggestions)  # type: ignore[attr-defined]
        chosen.initial = default_choice(suggestions)
        self.fields["more_commons"].queryset = commons  # type: ignore[attr-defined]
        self.fields["more_people"].queryset = people  # type: ignore[attr-defined]
        self.fields["follow_up_on"].initial = follow_up_on
        if with_contact:
            self.fields["person"] = forms.ModelChoiceField(
                label=_("Pour quelqu'un de l'annuaire"),
                queryset=people,
                to_field_name="uuid",
                required=False,
                empty_label=_("— personne de l'annuaire —"),
            )
            self.fields["contact_name"] = forms.CharField(
                label=_("Ou son nom"), max_length=200, required=False
            )
            self.fields["contact_email"] = forms.EmailField(
                label=_("Son e-mail (pour lui envoyer l'orientation)"), required=False
            )
        self.with_contact = with_contact

    def contact_fields(self) -> list[forms.BoundField]:
        if not self.with_contact:
            return []
        return [self["person"], self["contact_name"], self["contact_email"]]

    def chosen_uuids(self) -> tuple[list[str], list[str]]:
        """The suggestions checked: (commons ids, people ids)."""
        commons: list[str] = []
        people: list[str] = []
        for value in self.cleaned_data.get("chosen") or []:
            kind, _sep, uuid = value.partition(":")
            (commons if kind == "commons" else people).append(uuid)
        return commons, people


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Qu'est-ce que ça a donné ?"),
        choices=Orientation.Outcome.choices,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Pourquoi ? (obligatoire si c'est abandonné)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    aiguilleur = forms.ModelChoiceField(
        label=_("Confier à"),
        queryset=Aiguilleur.objects.none(),
        required=False,
        empty_label=_("personne (file commune)"),
    )

    def __init__(self, *args: Any, aiguilleurs: QuerySet[Aiguilleur], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["aiguilleur"].queryset = aiguilleurs  # type: ignore[attr-defined]


class FilterForm(forms.Form):
    suite = forms.ChoiceField(
        label=_("Suite"),
        required=False,
        choices=[("", _("Toutes")), *Orientation.Outcome.choices],
    )
    aiguilleur = forms.ChoiceField(label=_("Aiguilleur·euse"), required=False)

    def __init__(self, *args: Any, aiguilleurs: list[Aiguilleur], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["aiguilleur"].choices = [  # type: ignore[attr-defined]
            ("", _("Tous")),
            ("aucun", _("Personne (file commune)")),
            *[(str(a.pk), a.person.full_name) for a in aiguilleurs],
        ]
        if not aiguilleurs:
            del self.fields["aiguilleur"]

    def criteria(self) -> dict[str, str]:
        if not self.is_bound or not self.is_valid():
            return {"outcome": "", "aiguilleur": ""}
        return {
            "outcome": self.cleaned_data.get("suite") or "",
            "aiguilleur": self.cleaned_data.get("aiguilleur") or "",
        }


def split_domains(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;\n]", text or "") if p.strip()]


class AiguilleurForm(forms.Form):
    domains = forms.CharField(
        label=_("Domaines qu'elle ou il connaît"),
        required=False,
        max_length=2000,
        help_text=_("Séparés par des virgules, ex. gestion associative, cartographie"),
    )
    availability = forms.CharField(
        label=_("Disponibilités"),
        required=False,
        max_length=255,
        help_text=_("Ex. : le mardi après-midi"),
    )
    active = forms.BooleanField(
        label=_("Disponible pour de nouvelles orientations"), required=False, initial=True
    )

    def __init__(self, *args: Any, place: Place, person: Person | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = PersonPickField(place=place, label=_("Personne"))
        if person is not None:
            field.widget = forms.HiddenInput()
            field.initial = str(person.uuid)
        self.fields = {"person": field, **self.fields}
        self.person = person

    def domain_list(self) -> list[str]:
        return split_domains(self.cleaned_data.get("domains", ""))
