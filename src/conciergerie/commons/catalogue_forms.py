"""Forms of the catalogue's pages: searching, the FAQ and the qualification grid."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from conciergerie.commons.grid import Question
from conciergerie.commons.models import Action, Commons, Domain, GridField, Kind


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Rechercher"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("adhésions, visio, carte…")}
        ),
    )
    kind = forms.ChoiceField(label=_("Type"), required=False)
    action = forms.ChoiceField(label=_("Pour"), required=False)
    domain = forms.ChoiceField(label=_("Domaine"), required=False)

    def __init__(self, *args: Any, domains: list[Domain], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options: dict[str, list[tuple[str, Any]]] = {
            "kind": [("", _("Tous les types")), *Kind.choices],
            "action": [("", _("Toutes les actions")), *Action.choices],
            "domain": [("", _("Tous les domaines")), *((d.slug, d.name) for d in domains)],
        }
        for name, choices in options.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices

    def criteria(self) -> dict[str, str]:
        """The valid criteria only: a wrong one is reported on the form and left out."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            k: self.cleaned_data.get(k) or ""
            for k in ("q", "kind", "action", "domain")
            if k not in self.errors
        }


class StatusForm(forms.Form):
    """What a moderator does from a commons' page: archive it, or bring it back."""

    status = forms.ChoiceField(
        choices=[
            (Commons.Status.ARCHIVED, _("Archiver")),
            (Commons.Status.VALIDATED, _("Rétablir")),
        ]
    )


class FaqEntryForm(forms.Form):
    question = forms.CharField(label=_("Question"), max_length=255)
    answer = forms.CharField(
        label=_("Réponse"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Markdown : **gras**, *italique*, [lien](https://…), listes avec « - »."),
    )
    domain = forms.ModelChoiceField(
        label=_("Domaine"),
        queryset=Domain.objects.none(),
        required=False,
        empty_label=_("— choisir —"),
    )
    new_domain = forms.CharField(
        label=_("… ou un nouveau domaine"),
        max_length=80,
        required=False,
        help_text=_("Par exemple : gestion associative."),
    )
    position = forms.IntegerField(
        label=_("Ordre dans le domaine"),
        required=False,
        min_value=0,
        max_value=32_767,
        initial=0,
        help_text=_("Les plus petits nombres en premier."),
    )

    def __init__(self, *args: Any, domains: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["domain"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = domains

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "question": data["question"],
            "answer": data["answer"],
            "domain": data.get("domain"),
            "new_domain": data.get("new_domain") or "",
            "position": data.get("position") or 0,
        }


def choices_text(choices: list[list[str]]) -> str:
    return "\n".join(f"{code} : {label}" for code, label in choices)


def parse_choices(text: str) -> list[list[str]]:
    """'code : libellé' lines into [[code, libellé], …]; a line without ':' is an error."""
    out = []
    for n, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        code, sep, label = line.partition(":")
        if not sep or not code.strip() or not label.strip():
            raise forms.ValidationError(
                _("Ligne %(n)s : écrivez « code : libellé »."), params={"n": n}
            )
        out.append([code.strip(), label.strip()])
    return out


class GridQuestionForm(forms.Form):
    key = forms.CharField(
        label=_("Code"),
        max_length=40,
        required=False,
        help_text=_(
            "Minuscules sans accents, chiffres, - ou _ ; il ne change plus ensuite. "
            "Vide : tiré de la question."
        ),
    )
    label = forms.CharField(label=_("Question"), max_length=120)
    help_text = forms.CharField(label=_("Aide"), max_length=255, required=False)
    type = forms.ChoiceField(label=_("Type de réponse"), choices=GridField.Type.choices)
    choices = forms.CharField(
        label=_("Choix possibles"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Pour « Choix dans une liste » : un par ligne, « code : libellé »."),
    )
    kinds = forms.MultipleChoiceField(
        label=_("Types de communs concernés"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Aucun coché : tous les types."),
    )
    group = forms.CharField(label=_("Rubrique"), max_length=60, required=False)
    position = forms.IntegerField(
        label=_("Position"), required=False, min_value=0, max_value=32_767, initial=0
    )

    def __init__(
        self, *args: Any, question: Question | None = None, position: int = 0, **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {"position": position})
        if question is not None:
            kwargs["initial"] = {
                "key": question.key,
                "label": question.label,
                "help_text": question.help_text,
                "type": question.type,
                "choices": choices_text(question.choices),
                "kinds": list(question.kinds),
                "group": question.group,
                "position": position,
            }
        super().__init__(*args, **kwargs)
        if question is not None:
            # The code of an existing question never changes: answers are stored under it.
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _("Le code d'une question existante ne change pas.")

    def clean_choices(self) -> list[list[str]]:
        return parse_choices(self.cleaned_data.get("choices", ""))

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["position"] = data.get("position") or 0
        return data
