"""Reads for contributions and moderation: proposals with their votes, the comparison of a
proposal with the current commons, reports, and the place's vote thresholds."""

from __future__ import annotations

import difflib
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.utils.translation import gettext_lazy

from conciergerie.commons import grid
from conciergerie.commons.models import (
    Action,
    Commons,
    CommonsRevision,
    CommonsSettings,
    Kind,
    Proposal,
    Report,
    Vote,
)
from conciergerie.commons.people import display_names
from conciergerie.commons.selectors.catalogue import grid_questions
from conciergerie.commons.services.catalogue import snapshot_of
from conciergerie.core import permissions
from conciergerie.core.models import Place, User

# --- Settings -------------------------------------------------------------------------------


def moderation_settings(*, place: Place) -> CommonsSettings:
    """The place's thresholds; the defaults (not saved) while its team has not set them."""
    found = CommonsSettings.objects.filter(place=place).first()
    return found if found is not None else CommonsSettings(place=place)


# --- Proposals ------------------------------------------------------------------------------


def is_new(proposal: Proposal) -> bool:
    """A proposal made from no revision created its commons (base_revision 0); an edit was
    made from revision 1 or later (every commons has at least its creation revision)."""
    return proposal.base_revision == 0


def is_stale(proposal: Proposal) -> bool:
    """An edit whose commons changed since it was written: accepting it is refused until a
    moderator re-bases it (see services.moderation.proposal_rebase) or rejects it."""
    return (
        not is_new(proposal)
        and proposal.commons is not None
        and proposal.commons.revision != proposal.base_revision
    )


def _annotated(place: Place, viewer: User | None) -> QuerySet[Proposal]:
    my_vote: Any = Value(0, output_field=IntegerField())
    if viewer is not None and viewer.pk:
        my_vote = Subquery(
            Vote.objects.filter(proposal=OuterRef("pk"), voter=viewer).values("value")[:1],
            output_field=IntegerField(),
        )
    return (
        Proposal.objects.filter(place=place)
        .select_related("commons", "place", "proposed_by", "decided_by")
        .annotate(
            votes_for=Count("votes", filter=Q(votes__value=1)),
            votes_against=Count("votes", filter=Q(votes__value=-1)),
            my_vote=my_vote,
        )
    )


def _decorate(proposals: list[Proposal], viewer: User | None) -> list[Proposal]:
    """Plain flags the templates show (they hold no logic), and the names of the people
    behind them as this viewer may see them (never an e-mail)."""
    names: dict[int, str] = {}
    if proposals:
        place = proposals[0].place
        names = display_names(
            place=place,
            users=[u for p in proposals for u in (p.proposed_by, p.decided_by)],
            level=permissions.level(viewer, place),
        )
    for p in proposals:
        p.proposer_name = names.get(p.proposed_by_id or 0, "")  # type: ignore[attr-defined]
        p.decider_name = names.get(p.decided_by_id or 0, "")  # type: ignore[attr-defined]
        p.is_new = is_new(p)  # type: ignore[attr-defined]
        p.is_stale = is_stale(p)  # type: ignore[attr-defined]
        p.is_own = viewer is not None and p.proposed_by_id == viewer.pk  # type: ignore[attr-defined]
    return proposals


def proposal_list(
    *, place: Place, viewer: User | None, status: str = Proposal.Status.PENDING
) -> QuerySet[Proposal]:
    """A place's proposals in a state, oldest pending first (they waited longest), with
    their vote counts and the viewer's own vote (`my_vote`: 1, -1 or 0/None)."""
    order = ["created_at", "id"] if status == Proposal.Status.PENDING else ["-decided_at", "-id"]
    return _annotated(place, viewer).filter(status=status).order_by(*order)


def proposal_rows(proposals: Any, *, viewer: User | None) -> list[Proposal]:
    """One page of `proposal_list`, evaluated and flagged for the template."""
    return _decorate(list(proposals), viewer)


def proposal_of(*, place: Place, uuid: uuid_module.UUID | str) -> Proposal | None:
    return (
        Proposal.objects.filter(place=place, uuid=uuid)
        .select_related("commons", "place", "proposed_by")
        .first()
    )


@dataclass
class Change:
    """One line of the comparison: a field, its value now and in the proposal."""

    key: str
    label: str
    before: str
    after: str
    changed: bool
    # The field also changed since the proposal was written (a stale edit): accepting the
    # proposal would undo that change.
    changed_meanwhile: bool = False
    # For long texts (the description): a line diff, [(kind, line), …] (see _line_diff).
    lines: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ProposalDetail:
    proposal: Proposal
    changes: list[Change]
    votes_for: int
    votes_against: int
    my_vote: int
    settings: CommonsSettings
    is_new: bool
    is_stale: bool
    current_revision: int


LABELS = {
    "name": gettext_lazy("Nom"),
    "summary": gettext_lazy("Résumé"),
    "description": gettext_lazy("Description"),
    "url": gettext_lazy("Adresse du site"),
    "kind": gettext_lazy("Type"),
    "actions": gettext_lazy("Ce qu'il aide à faire"),
    "domains": gettext_lazy("Domaines"),
    "tags": gettext_lazy("Mots-clés"),
    "license": gettext_lazy("Licence"),
    "links": gettext_lazy("Liens"),
    "contacts": gettext_lazy("Contacts"),
}


def _shown(key: str, value: Any) -> str:
    """A field's value as a person reads it."""
    if value in (None, "", [], {}):
        return ""
    if key == "kind":
        return str(dict(Kind.choices).get(value, value))
    if key == "actions":
        labels = dict(Action.choices)
        return ", ".join(str(labels.get(a, a)) for a in value)
    if key == "domains":
        return ", ".join(sorted(str(v) for v in value))
    if key == "tags":
        return ", ".join(str(v) for v in value)
    if key in ("links", "contacts"):
        return "\n".join(
            " | ".join(str(v) for v in item.values() if v)
            for item in value
            if isinstance(item, dict)
        )
    return str(value)


_LINE_KINDS = {"+": "added", "-": "removed", " ": "same"}


def _line_diff(before: str, after: str) -> list[tuple[str, str]]:
    """The changed lines of a text with one line of context: [(kind, text), …], kind being
    "added", "removed", "same" or "hunk" (a gap between changed parts)."""
    out: list[tuple[str, str]] = []
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(("hunk", "…"))
            continue
        out.append((_LINE_KINDS.get(line[:1], "same"), line[1:]))
    return out


def compare(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    questions: list[grid.Question],
    base: dict[str, Any] | None = None,
) -> list[Change]:
    """Field-by-field comparison of two commons in the import format (grid: one line per
    question). `base`, when given, flags the fields that changed between it and `before`."""
    rows: list[Change] = []

    def add(key: str, label: str, old: Any, new: Any, was: Any, shown_key: str) -> None:
        b, a = _shown(shown_key, old), _shown(shown_key, new)
        change = Change(
            key=key,
            label=label,
            before=b,
            after=a,
            changed=b != a,
            changed_meanwhile=base is not None and _shown(shown_key, was) != b,
        )
        if key == "description" and change.changed and b and a:
            change.lines = _line_diff(b, a)
        rows.append(change)

    for key in LABELS:
        add(
            key,
            str(LABELS[key]),
            before.get(key),
            after.get(key),
            (base or {}).get(key),
            key,
        )
    old_grid, new_grid = before.get("grid") or {}, after.get("grid") or {}
    base_grid = (base or {}).get("grid") or {}
    for q in questions:
        if q.key not in old_grid and q.key not in new_grid:
            continue
        add(
            f"grid.{q.key}",
            q.label,
            q.choice_label(old_grid[q.key]) if q.key in old_grid else "",
            q.choice_label(new_grid[q.key]) if q.key in new_grid else "",
            q.choice_label(base_grid[q.key]) if q.key in base_grid else "",
            "grid",
        )
    return rows


def current_data(commons: Commons) -> dict[str, Any]:
    """The commons as it is now, in the import format (one query for its domains)."""
    names = list(commons.domains.values_list("name", flat=True))
    return snapshot_of(commons, names)


def proposal_detail(
    *, place: Place, uuid: uuid_module.UUID | str, viewer: User | None
) -> ProposalDetail | None:
    """A proposal, its votes and what it changes. For an edit: compared with the commons as
    it is now; when the commons changed since, the fields changed meanwhile are flagged."""
    proposal = _annotated(place, viewer).filter(uuid=uuid).select_related("place").first()
    if proposal is None:
        return None
    questions = grid_questions(place=place)
    commons = proposal.commons
    new = is_new(proposal)
    stale = is_stale(proposal)
    if new or commons is None:
        changes = compare({}, proposal.data, questions=questions)
    else:
        base = None
        if stale:
            revision = CommonsRevision.objects.filter(
                commons=commons, number=proposal.base_revision
            ).first()
            base = revision.data if revision is not None else None
        changes = compare(current_data(commons), proposal.data, questions=questions, base=base)
    _decorate([proposal], viewer)
    return ProposalDetail(
        proposal=proposal,
        changes=changes,
        votes_for=proposal.votes_for,  # type: ignore[attr-defined]
        votes_against=proposal.votes_against,  # type: ignore[attr-defined]
        my_vote=proposal.my_vote or 0,  # type: ignore[attr-defined]
        settings=moderation_settings(place=place),
        is_new=new,
        is_stale=stale,
        current_revision=commons.revision if commons is not None else 0,
    )


def vote_counts(*, proposal: Proposal) -> tuple[int, int]:
    """("pour", "contre") of a proposal, read now."""
    counts = Vote.objects.filter(proposal=proposal).aggregate(
        pour=Count("id", filter=Q(value=1)), contre=Count("id", filter=Q(value=-1))
    )
    return counts["pour"], counts["contre"]


# --- Reports --------------------------------------------------------------------------------


def report_list(*, place: Place, status: str = Report.Status.OPEN) -> QuerySet[Report]:
    order = ["created_at", "id"] if status == Report.Status.OPEN else ["-handled_at", "-id"]
    return (
        Report.objects.filter(place=place, status=status)
        .select_related("commons", "reporter", "handled_by")
        .order_by(*order)
    )


def report_of(*, place: Place, uuid: uuid_module.UUID | str) -> Report | None:
    return Report.objects.filter(place=place, uuid=uuid).select_related("commons", "place").first()


def open_reports_by(*, commons: Commons, user: User) -> int:
    return Report.objects.filter(commons=commons, reporter=user, status=Report.Status.OPEN).count()


def pending_counts(*, place: Place) -> dict[str, int]:
    """What waits for the moderators: pending proposals and open reports."""
    return {
        "proposals": Proposal.objects.filter(place=place, status=Proposal.Status.PENDING).count(),
        "reports": Report.objects.filter(place=place, status=Report.Status.OPEN).count(),
    }
