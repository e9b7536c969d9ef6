"""Changing a place's qualification grid: its questions, their answers' type, their kinds.

A place uses the default grid until its moderators change a question; the first change
copies the defaults into the place's own `GridField` rows, which then replace them. A change
that would make answers already given invalid is refused, naming the commons concerned;
removing a question keeps the stored answers (they are just no longer shown).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from conciergerie.commons import grid
from conciergerie.commons.models import Commons, GridField, Kind
from conciergerie.core.audit import audit_record, diff, snapshot
from conciergerie.core.errors import InvalidInput, NotFound
from conciergerie.core.models import Place, User

KEY = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
KEY_MAX = 40
MAX_CHOICES = 50
POSITION_MAX = 32_767
NAMES_SHOWN = 10
_AUDITED = ["key", "label", "help_text", "type", "choices", "kinds", "group", "position"]


def _text(data: dict[str, Any], key: str, limit: int, errors: dict[str, list[str]]) -> str:
    value = data.get(key)
    value = "" if value is None else value
    if not isinstance(value, str):
        errors[key] = [_("Texte attendu.")]
        return ""
    value = value.strip()
    if len(value) > limit:
        errors[key] = [_("Trop long (%(n)s caractères au plus).") % {"n": limit}]
    return value


def _choices(value: Any, errors: dict[str, list[str]]) -> list[list[str]]:
    if not isinstance(value, list | tuple):
        errors["choices"] = [_("Liste de choix attendue.")]
        return []
    out: list[list[str]] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, list | tuple) or len(item) != 2:
            errors["choices"] = [_("Chaque choix a un code et un libellé.")]
            return []
        code, label = str(item[0]).strip(), str(item[1]).strip()
        if not KEY.match(code) or len(code) > KEY_MAX:
            errors["choices"] = [
                _("« %(code)s » : code en minuscules sans accents, chiffres, - ou _.")
                % {"code": code}
            ]
            return []
        if not label or len(label) > 120:
            errors["choices"] = [
                _("« %(code)s » : libellé manquant ou trop long (120 caractères au plus).")
                % {"code": code}
            ]
            return []
        if code in seen:
            errors["choices"] = [_("Le code « %(code)s » est en double.") % {"code": code}]
            return []
        seen.add(code)
        out.append([code, label])
    if not out:
        errors["choices"] = [_("Donnez au moins un choix, un par ligne : « code : libellé ».")]
    elif len(out) > MAX_CHOICES:
        errors["choices"] = [_("%(n)s choix au plus.") % {"n": MAX_CHOICES}]
    return out


def question_clean(*, data: dict[str, Any], creating: bool) -> dict[str, Any]:
    """Check a question (key, label, help_text, type, choices, kinds, group, position)."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    clean["label"] = _text(data, "label", 120, errors)
    if not clean["label"] and "label" not in errors:
        errors["label"] = [_("Écrivez la question.")]
    clean["help_text"] = _text(data, "help_text", 255, errors)
    clean["group"] = _text(data, "group", 60, errors)
    if creating:
        key = _text(data, "key", KEY_MAX, errors)
        key = key or slugify(clean["label"]).replace("-", "_")[:KEY_MAX].strip("_")
        if "key" not in errors and (not key or not KEY.match(key)):
            errors["key"] = [_("Code en minuscules sans accents, chiffres, - ou _.")]
        clean["key"] = key
    kind = data.get("type")
    if kind not in GridField.Type.values:
        errors["type"] = [_("Type de réponse inconnu.")]
    clean["type"] = kind
    clean["choices"] = _choices(data.get("choices") or [], errors) if kind == "choice" else []
    kinds = data.get("kinds") or []
    if not isinstance(kinds, list | tuple) or any(k not in Kind.values for k in kinds):
        errors["kinds"] = [_("Types de communs inconnus.")]
        kinds = []
    clean["kinds"] = [k for k in Kind.values if k in kinds]
    position = data.get("position", 0)
    position = 0 if position in (None, "") else position
    if isinstance(position, bool) or not isinstance(position, int):
        errors["position"] = [_("Un nombre entier est attendu.")]
    elif not 0 <= position <= POSITION_MAX:
        errors["position"] = [_("Entre 0 et %(n)s.") % {"n": POSITION_MAX}]
    clean["position"] = position
    if errors:
        raise InvalidInput(errors)
    return clean


def _copy_defaults(place: Place) -> None:
    """Make the default grid the place's own, once (labels in the instance's language)."""
    if GridField.objects.filter(place=place).exists():
        return
    with translation.override(settings.LANGUAGE_CODE):
        rows = [
            GridField(
                place=place,
                key=q.key,
                label=str(q.label),
                help_text=str(q.help_text),
                type=str(q.type),
                choices=[[str(c), str(label)] for c, label in q.choices],
                kinds=[str(k) for k in q.kinds],
                group=str(q.group),
                position=(n + 1) * 10,
            )
            for n, q in enumerate(grid.default_questions())
        ]
    GridField.objects.bulk_create(rows, ignore_conflicts=True)


def grid_listing(*, place: Place) -> tuple[list[tuple[grid.Question, int]], bool]:
    """(question, position) pairs as the grid page shows them, and whether the place has its
    own grid (False: the default one, with the positions the first change will give it).
    A read, kept here beside the writes it mirrors."""
    rows = list(GridField.objects.filter(place=place))
    if rows:
        return [(grid.from_rows([r])[0], r.position) for r in rows], True
    return [(q, (n + 1) * 10) for n, q in enumerate(grid.default_questions())], False


def _question(row: GridField | dict[str, Any]) -> grid.Question:
    if isinstance(row, GridField):
        return grid.from_rows([row])[0]
    return grid.Question(
        row["key"],
        row["label"],
        row["type"],
        row["choices"],
        row["kinds"],
        row["group"],
        row["help_text"],
    )


def invalid_answers(*, place: Place, questions: list[grid.Question]) -> list[str]:
    """The commons of a place whose stored answers these questions would refuse."""
    if not questions:
        return []
    has_any = Q()
    for q in questions:
        has_any |= Q(grid__has_key=q.key)
    names = []
    for commons in Commons.objects.filter(place=place).filter(has_any).only("name", "kind", "grid"):
        answers = commons.grid if isinstance(commons.grid, dict) else {}
        for q in questions:
            if q.key not in answers:
                continue
            errors: dict[str, list[str]] = {}
            grid.clean_answers([q], commons.kind, {q.key: answers[q.key]}, errors)
            if errors:
                names.append(f"{commons.name} (« {answers[q.key]} »)")
                break
    return names


def _refusal(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        shown += _(" et %(n)s autres") % {"n": len(names) - NAMES_SHOWN}
    return _(
        "Des communs ont déjà une réponse qui ne conviendrait plus : %(names)s. "
        "Corrigez d'abord leurs réponses, ou ajoutez plutôt une nouvelle question."
    ) % {"names": shown}


def grid_save_question(
    *, place: Place, by: User | None, data: dict[str, Any], key: str | None = None
) -> GridField:
    """Add a question (key=None) or change the question `key` (its code never changes)."""
    clean = question_clean(data=data, creating=key is None)
    with transaction.atomic():
        _copy_defaults(place)
        rows = {r.key: r for r in GridField.objects.select_for_update().filter(place=place)}
        if key is None:
            if clean["key"] in rows:
                raise InvalidInput({"key": [_("Une question porte déjà ce code.")]})
            row = GridField(place=place, key=clean["key"])
            before: dict[str, Any] = {}
        else:
            if key not in rows:
                raise NotFound(_("Cette question n'est pas dans la grille."))
            row = rows[key]
            before = snapshot(row, _AUDITED)
        clean["key"] = row.key
        names = invalid_answers(place=place, questions=[_question(clean)])
        if names:
            if before and before["type"] != clean["type"]:
                where = "type"
            elif before and before["kinds"] != clean["kinds"]:
                where = "kinds"
            else:
                where = "choices"
            raise InvalidInput({where: [_refusal(names)]})
        for name in ("label", "help_text", "type", "choices", "kinds", "group", "position"):
            setattr(row, name, clean[name])
        row.save()
        audit_record(
            place=place,
            actor=by,
            action="commons.grid.update" if before else "commons.grid.create",
            target=row,
            changes=diff(before, snapshot(row, _AUDITED)),
        )
    return row


def grid_delete_question(*, place: Place, by: User | None, key: str) -> None:
    """Remove a question; the answers already given stay stored, no longer shown."""
    with transaction.atomic():
        _copy_defaults(place)
        rows = {r.key: r for r in GridField.objects.select_for_update().filter(place=place)}
        if key not in rows:
            raise NotFound(_("Cette question n'est pas dans la grille."))
        if len(rows) == 1:
            raise InvalidInput(
                {"__all__": [_("La grille garde au moins une question.")]},
                _("La grille garde au moins une question."),
            )
        row = rows[key]
        audit_record(
            place=place,
            actor=by,
            action="commons.grid.delete",
            target=row,
            changes=diff(snapshot(row, _AUDITED), {}),
        )
        row.delete()


def grid_reset_to_default(*, place: Place, by: User | None) -> None:
    """Go back to the default grid (refused if answers given since would no longer fit)."""
    with transaction.atomic():
        rows = list(GridField.objects.select_for_update().filter(place=place))
        if not rows:
            return
        names = invalid_answers(place=place, questions=grid.default_questions())
        if names:
            message = _refusal(names)
            raise InvalidInput({"__all__": [message]}, message)
        GridField.objects.filter(place=place).delete()
        audit_record(
            place=place,
            actor=by,
            action="commons.grid.reset",
            target_type="gridfield",
            changes={"questions": [[r.key for r in rows], []]},
        )
