"""A commons' revision history, and what changed from one revision to the next.

The diff functions are pure: they compare two snapshots in the import format (see
`services.catalogue.snapshot_of`) and say, field by field, what a reader should see.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext as _

from conciergerie.commons.grid import Question
from conciergerie.commons.models import Action, Commons, CommonsRevision, Kind

HISTORY_PAGE_SIZE = 50
# The largest revision number a PositiveIntegerField holds on every database.
REVISION_MAX = 2_147_483_647


def field_labels() -> dict[str, str]:
    """The fields of a commons as a reader names them (the grid's questions come apart)."""
    return {
        "slug": _("Identifiant court"),
        "name": _("Nom"),
        "summary": _("Résumé"),
        "description": _("Description"),
        "url": _("Adresse du site"),
        "kind": _("Type"),
        "actions": _("Actions"),
        "domains": _("Domaines"),
        "tags": _("Mots-clés"),
        "license": _("Licence"),
        "links": _("Liens"),
        "contacts": _("Contacts"),
    }


@dataclass(frozen=True)
class DiffLine:
    op: str  # "add", "del", "same", "gap" (unchanged lines left out), or "summary" (see below)
    text: str


@dataclass
class FieldChange:
    key: str
    label: str
    kind: str  # "text": line by line; "value": old → new; "list": items added and removed
    old: str = ""
    new: str = ""
    lines: list[DiffLine] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


# Comparing line by line costs up to len(a) * len(b) steps, more with repeated lines: past
# these sizes (anyone may open a diff, again and again) the texts are not compared.
DIFF_MAX_LINES = 1_000
DIFF_MAX_PRODUCT = 200_000


def too_long_to_compare(a: list[str], b: list[str]) -> bool:
    return len(a) > DIFF_MAX_LINES or len(b) > DIFF_MAX_LINES or len(a) * len(b) > DIFF_MAX_PRODUCT


def _count(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def replaced_summary(old_lines: int, new_lines: int) -> str:
    """What a reader sees instead of a line diff when the texts are too long to compare."""
    return _(
        "Texte entièrement remplacé (trop long pour comparer ligne à ligne) : "
        "%(old)s lignes avant, %(new)s lignes après."
    ) % {"old": _count(old_lines), "new": _count(new_lines)}


def text_diff(old: str, new: str, *, context: int = 2) -> list[DiffLine]:
    """Line diff of two texts, keeping `context` unchanged lines around each change; one
    "summary" line instead when the texts are too long to compare line by line."""
    a, b = (old or "").splitlines(), (new or "").splitlines()
    if too_long_to_compare(a, b):
        return [DiffLine("summary", replaced_summary(len(a), len(b)))]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=True)
    out: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(context):
        starts_later = group[0][1] > 0 or group[0][3] > 0
        if starts_later and not (out and out[-1].op == "gap"):
            out.append(DiffLine("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(DiffLine("same", line) for line in a[i1:i2])
            else:
                out.extend(DiffLine("del", line) for line in a[i1:i2])
                out.extend(DiffLine("add", line) for line in b[j1:j2])
        if group[-1][2] < len(a) or group[-1][4] < len(b):
            out.append(DiffLine("gap", "…"))
    return out


def list_diff(old: list[str], new: list[str]) -> tuple[list[str], list[str]]:
    """(added, removed) items, each list in its own order."""
    before, after = set(old), set(new)
    return [x for x in new if x not in before], [x for x in old if x not in after]


def _link_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    label, url = str(item.get("label") or ""), str(item.get("url") or "")
    return f"{label} — {url}" if label and url else label or url


def _contact_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    parts = [str(item.get(k) or "") for k in ("name", "role", "email", "url")]
    return ", ".join(p for p in parts if p)


def _label_of(choices: type[Kind] | type[Action], value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _grid_text(question: Question | None, value: Any) -> str:
    if value in (None, ""):
        return ""
    return question.choice_label(value) if question is not None else str(value)


def revision_changes(
    old: dict[str, Any] | None, new: dict[str, Any], *, questions: list[Question]
) -> list[FieldChange]:
    """What changed from `old` to `new` (None: the first revision, everything is new)."""
    before: dict[str, Any] = old or {}
    labels = field_labels()
    changes: list[FieldChange] = []
    for key in ("name", "slug", "summary", "url", "kind", "license"):
        a, b = before.get(key) or "", new.get(key) or ""
        if a == b:
            continue
        if key == "kind":
            a, b = _label_of(Kind, a) if a else "", _label_of(Kind, b) if b else ""
        changes.append(FieldChange(key, labels[key], "value", old=str(a), new=str(b)))
    a_text, b_text = str(before.get("description") or ""), str(new.get("description") or "")
    if a_text != b_text:
        changes.append(
            FieldChange(
                "description", labels["description"], "text", lines=text_diff(a_text, b_text)
            )
        )
    shown: dict[str, Callable[[Any], str]] = {
        "actions": lambda v: _label_of(Action, v),
        "domains": str,
        "tags": str,
        "links": _link_text,
        "contacts": _contact_text,
    }
    for key, show in shown.items():
        a_items = [show(v) for v in _as_list(before.get(key))]
        b_items = [show(v) for v in _as_list(new.get(key))]
        added, removed = list_diff(a_items, b_items)
        if added or removed:
            changes.append(FieldChange(key, labels[key], "list", added=added, removed=removed))
    old_grid = before.get("grid") if isinstance(before.get("grid"), dict) else {}
    new_grid = new.get("grid") if isinstance(new.get("grid"), dict) else {}
    assert isinstance(old_grid, dict) and isinstance(new_grid, dict)
    by_key = {q.key: q for q in questions}
    keys = [q.key for q in questions] + sorted(set(old_grid) | set(new_grid) - set(by_key))
    for key in dict.fromkeys(keys):
        a, b = old_grid.get(key), new_grid.get(key)
        if a == b:
            continue
        q = by_key.get(key)
        changes.append(
            FieldChange(
                f"grid.{key}",
                _("Grille : %(question)s") % {"question": q.label if q else key},
                "value",
                old=_grid_text(q, a),
                new=_grid_text(q, b),
            )
        )
    return changes


def revision_page(*, commons: Commons, page: Any = 1) -> Page:
    """One page of a commons' revisions, newest first, without their (heavy) data."""
    qs = CommonsRevision.objects.filter(commons=commons).only(
        "id", "commons_id", "number", "author_label", "message", "created_at"
    )
    return Paginator(qs.order_by("-number"), HISTORY_PAGE_SIZE).get_page(page)


@dataclass
class RevisionDiff:
    revision: CommonsRevision
    previous: CommonsRevision | None
    changes: list[FieldChange]


def revision_diff(
    *, commons: Commons, number: int, questions: list[Question]
) -> RevisionDiff | None:
    """Revision `number` against the one before it, in one query; None when it does not exist."""
    if not 1 <= number <= REVISION_MAX:
        return None  # a number from the address too big for the database: no such revision
    found = {
        r.number: r
        for r in CommonsRevision.objects.filter(commons=commons, number__in=[number - 1, number])
    }
    revision = found.get(number)
    if revision is None:
        return None
    previous = found.get(number - 1)
    old = previous.data if previous is not None and isinstance(previous.data, dict) else None
    new = revision.data if isinstance(revision.data, dict) else {}
    return RevisionDiff(revision, previous, revision_changes(old, new, questions=questions))
