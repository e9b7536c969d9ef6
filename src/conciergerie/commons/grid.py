"""The qualification grid: the questions every commons answers, and how answers are checked.

A place starts with the default grid below; once its team changes a question, the place's
own rows (`GridField`) replace the defaults (see `selectors.catalogue.grid_fields`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conciergerie.commons.models import GridField, Kind


@dataclass
class Question:
    key: str
    label: str
    type: str
    choices: list[list[str]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    group: str = ""
    help_text: str = ""

    def applies_to(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def choice_label(self, value: Any) -> str:
        for code, label in self.choices:
            if code == value:
                return str(label)
        return str(value)


T = GridField.Type
ADOPTION = "adoption"
HEALTH = "sante"


def default_questions() -> list[Question]:
    """The grid of the fabrique à communs, as questions (labels in the reader's language)."""
    g_adopt, g_health = str(gettext_lazy("Adoption")), str(gettext_lazy("Santé et dynamique"))
    return [
        Question(
            "adoption_time",
            _("Temps pour l'adopter"),
            T.CHOICE,
            [
                ["heures", _("quelques heures")],
                ["jours", _("quelques jours")],
                ["semaines", _("quelques semaines")],
                ["mois", _("plusieurs mois")],
            ],
            group=g_adopt,
        ),
        Question(
            "complexity",
            _("Complexité"),
            T.SCALE,
            group=g_adopt,
            help_text=_("1 : tout le monde s'en sert ; 5 : il faut une personne technique."),
        ),
        Question("cost", _("Coût"), T.TEXT, group=g_adopt),
        Question("prerequisites", _("Prérequis"), T.TEXT, group=g_adopt),
        Question("who_to_call", _("Qui appeler à l'aide"), T.TEXT, group=g_adopt),
        Question(
            "hosting",
            _("Hébergement"),
            T.CHOICE,
            [
                ["en_ligne", _("service en ligne")],
                ["auto_heberge", _("à installer soi-même")],
                ["les_deux", _("en ligne ou à installer")],
            ],
            kinds=[Kind.LOGICIEL],
            group=g_adopt,
        ),
        Question("duration", _("Durée"), T.TEXT, kinds=[Kind.FORMATION], group=g_adopt),
        Question(
            "last_activity",
            _("Dernière activité"),
            T.MONTH,
            group=g_health,
            help_text=_("AAAA ou AAAA-MM"),
        ),
        Question(
            "active_contributors", _("Contributeur·rices actif·ves"), T.INTEGER, group=g_health
        ),
        Question(
            "funding",
            _("Financement"),
            T.CHOICE,
            [
                ["benevole", _("bénévole")],
                ["dons", _("dons")],
                ["subventions", _("subventions")],
                ["commercial", _("activité commerciale")],
                ["mixte", _("mixte")],
            ],
            group=g_health,
        ),
        Question(
            "dynamics",
            _("Dynamique"),
            T.CHOICE,
            [
                ["emergent", _("émergent")],
                ["croissance", _("en croissance")],
                ["stable", _("stable")],
                ["declin", _("en déclin")],
            ],
            group=g_health,
        ),
    ]


def from_rows(rows: list[GridField]) -> list[Question]:
    return [
        Question(
            r.key,
            r.label,
            r.type,
            [[str(c[0]), str(c[1])] for c in (r.choices or [])],
            list(r.kinds or []),
            r.group,
            r.help_text,
        )
        for r in rows
    ]


_MONTH = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


def clean_answers(
    questions: list[Question], kind: str, answers: Any, errors: dict[str, list[str]]
) -> dict[str, Any]:
    """Checked answers for a kind of commons; problems go to errors['grid.<key>']."""
    if answers in (None, ""):
        return {}
    if not isinstance(answers, dict):
        errors["grid"] = [_("La grille doit être un objet {question: réponse}.")]
        return {}
    by_key = {q.key: q for q in questions}
    clean: dict[str, Any] = {}
    for key, value in answers.items():
        q = by_key.get(str(key))
        where = f"grid.{key}"
        if q is None:
            errors[where] = [_("Question inconnue de la grille.")]
            continue
        if kind and not q.applies_to(kind):  # no kind: its own error says it
            errors[where] = [_("Cette question ne concerne pas ce type de commun.")]
            continue
        if value in (None, ""):
            continue
        if q.type == T.CHOICE:
            allowed = [c[0] for c in q.choices]
            if value not in allowed:
                errors[where] = [_("Choisissez parmi : %(list)s.") % {"list": ", ".join(allowed)}]
                continue
        elif q.type == T.SCALE:
            if isinstance(value, bool) or not isinstance(value, int | str):
                errors[where] = [_("Une note de 1 à 5 est attendue.")]
                continue
            try:
                value = int(value)
            except (OverflowError, TypeError, ValueError):  # ValueError: "²", 5,000 digits
                errors[where] = [_("Une note de 1 à 5 est attendue.")]
                continue
            if not 1 <= value <= 5:
                errors[where] = [_("Une note de 1 à 5 est attendue.")]
                continue
        elif q.type == T.INTEGER:
            # JSON gives floats too: 2.5 is not whole, nor are 1e400 (infinite) and NaN.
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                value = None
            else:
                try:
                    value = int(value)
                except (OverflowError, TypeError, ValueError):
                    value = None
            if value is None or not 0 <= value <= 10_000_000:
                errors[where] = [_("Un nombre entier positif est attendu.")]
                continue
        elif q.type == T.MONTH:
            value = str(value).strip()
            if not _MONTH.match(value) or not 1900 <= int(value[:4]) <= dt.date.today().year + 1:
                errors[where] = [_("Année ou mois attendu (AAAA ou AAAA-MM).")]
                continue
        else:
            value = str(value).strip()
            if len(value) > 300:
                errors[where] = [_("Texte trop long (300 caractères au plus).")]
                continue
        clean[q.key] = value
    return clean
