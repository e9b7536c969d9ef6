"""Contributions and moderation, GoGoCarto style: members propose new commons and edits, the
community votes, moderators decide; reports of outdated information; vote thresholds.

- A NEW commons is created at once with the status PENDING (it has a page its proposer can
  see), with a proposal pointing to it whose `base_revision` is 0. Accepted, the commons
  becomes VALIDATED; rejected, REJECTED.
- An EDIT keeps the proposed data and the revision it was written from (`base_revision` ≥ 1).
  Accepted, it is applied with `commons_update(base_revision=…)`: when the commons changed
  meanwhile that raises Conflict, the proposal stays pending and the moderator is told it is
  stale. The moderator then compares it with the commons as it is now (the proposal page
  flags the fields changed meanwhile) and either rejects it or re-bases it
  (`proposal_rebase`: "I have seen the comparison, apply it over the current version"), then
  accepts it.
- A moderator's own proposal is applied at once and recorded as an accepted proposal.
- Votes: one per member (changing it is allowed, the proposer cannot vote on their own
  proposal). When the "pour" votes reach the place's `votes_to_accept` the proposal is
  accepted, when the "contre" reach `votes_to_reject` it is rejected. Votes and decisions on a
  proposal are serialised by the capacity guard ("commons.proposal", proposal id), so two
  last votes arriving together cannot both accept it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from conciergerie.commons.models import Commons, CommonsSettings, Proposal, Report, Vote
from conciergerie.commons.selectors.moderation import (
    current_data,
    is_new,
    moderation_settings,
    open_reports_by,
    vote_counts,
)
from conciergerie.commons.services.catalogue import (
    commons_clean,
    commons_create,
    commons_set_status,
    commons_update,
)
from conciergerie.core import capacity, permissions
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from conciergerie.core.mail import email_send_on_commit
from conciergerie.core.models import Place, User

GUARD_NAMESPACE = "commons.proposal"
REPORT_NAMESPACE = "commons.report"
MAX_MESSAGE = 255
MAX_REASON = 2000
MAX_OPEN_REPORTS = 3
THRESHOLD_RANGE = (1, 50)
# Addresses under communs/ that are pages, not commons (see moderation_urls and the others).
RESERVED_SLUGS = frozenset(
    {"proposer", "propositions", "signalements", "moderation", "import", "export", "nouveau"}
)


def _require(by: User | None, action: str, place: Place) -> User:
    if by is None or not permissions.can(by, action, place):
        if action == "commons.moderate":
            raise PermissionDenied(_("Seul·es les modérateur·rices du lieu peuvent faire cela."))
        raise PermissionDenied(_("Réservé aux membres du lieu."))
    return by


def _short(value: Any, key: str, limit: int) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        raise InvalidInput({key: [_("Trop long (%(n)s caractères au plus).") % {"n": limit}]})
    return text


def _stale_message(proposal: Proposal, current_revision: int) -> str:
    return _(
        "Ce commun a changé depuis cette proposition (version %(base)s, maintenant "
        "%(now)s) : comparez-la avec la fiche actuelle, puis mettez-la à jour ou refusez-la."
    ) % {"base": proposal.base_revision, "now": current_revision}


# --- Proposals ------------------------------------------------------------------------------


def proposal_create(
    *,
    place: Place,
    data: Any,
    by: User | None,
    commons: Commons | None = None,
    message: str = "",
    base_revision: int | None = None,
) -> Proposal:
    """A member's proposal of a new commons (`commons` None) or of an edit.

    Nothing is stored when the data is invalid (InvalidInput) or when the edit was written
    from an older version than the current one (Conflict). A moderator's proposal is
    applied at once and recorded as accepted."""
    user = _require(by, "commons.propose", place)
    if commons is not None and commons.place_id != place.pk:
        raise NotFound(_("Ce commun n'existe pas dans ce lieu."))
    message = _short(message, "message", MAX_MESSAGE)
    if isinstance(data, dict) and not data.get("slug"):
        if commons is not None:
            # An edit keeps the commons' address unless it is changed on purpose.
            data = {**data, "slug": commons.slug}
        elif isinstance(data.get("name"), str) and slugify(data["name"])[:110]:
            data = {**data, "slug": _free_slug(place, slugify(data["name"])[:110])}
    clean = commons_clean(place=place, data=data)
    moderator = permissions.can(user, "commons.moderate", place)
    if commons is None:
        return _propose_new(place, clean, user, message, moderator)
    return _propose_edit(place, commons, clean, user, message, moderator, base_revision)


def _free_slug(place: Place, slug: str) -> str:
    """The slug, or the first free "<slug>-2", "<slug>-3"… (another commons may share a name:
    the same address is what tells a duplicate). Words of the site's own addresses are kept
    free so that a commons never hides one of its pages."""
    from conciergerie.commons.catalogue_urls import taken_words

    existing = Commons.objects.filter(place=place, slug__startswith=slug)
    taken = set(existing.values_list("slug", flat=True)) | RESERVED_SLUGS | taken_words()
    if slug not in taken:
        return slug
    n = 2
    while f"{slug}-{n}" in taken:
        n += 1
    return f"{slug}-{n}"


def _propose_new(
    place: Place, clean: dict[str, Any], by: User, message: str, moderator: bool
) -> Proposal:
    duplicate = (
        Commons.objects.filter(place=place, url=clean["url"])
        .exclude(status=Commons.Status.REJECTED)
        .first()
    )
    if duplicate is not None:
        raise InvalidInput(
            {"url": [_("Ce commun est déjà au catalogue : « %(name)s ».") % {"name": duplicate}]}
        )
    status = Commons.Status.VALIDATED if moderator else Commons.Status.PENDING
    with transaction.atomic():
        commons = commons_create(
            place=place, data=clean, by=by, status=status, message=message or _("Proposition")
        )
        proposal = Proposal.objects.create(
            place=place,
            commons=commons,
            base_revision=0,
            data=clean,
            message=message,
            proposed_by=by,
        )
        audit_record(place=place, actor=by, action="commons.proposal.create", target=proposal)
        if moderator:
            _decided(proposal, Proposal.Status.ACCEPTED, by, _("Ajouté directement par l'équipe."))
    return proposal


def _propose_edit(
    place: Place,
    commons: Commons,
    clean: dict[str, Any],
    by: User,
    message: str,
    moderator: bool,
    base_revision: int | None,
) -> Proposal:
    with transaction.atomic():
        current = Commons.objects.select_for_update().get(pk=commons.pk)
        if current.status != Commons.Status.VALIDATED and not moderator:
            raise Conflict(_("Ce commun n'est pas ouvert aux propositions de modification."))
        base = current.revision if base_revision is None else base_revision
        if base != current.revision:
            raise Conflict(
                _(
                    "Ce commun a été modifié pendant que vous écriviez (version %(n)s). "
                    "Vérifiez la fiche actuelle, puis renvoyez votre proposition."
                )
                % {"n": current.revision}
            )
        if _same(current_data(current), clean):
            raise InvalidInput({"__all__": [_("Vous n'avez rien changé.")]})
        proposal = Proposal.objects.create(
            place=place,
            commons=current,
            base_revision=base,
            data=clean,
            message=message,
            proposed_by=by,
        )
        audit_record(place=place, actor=by, action="commons.proposal.create", target=proposal)
        if moderator:
            commons_update(
                commons=current,
                data=clean,
                by=by,
                message=message or _("Modification par l'équipe"),
                base_revision=base,
            )
            _decided(
                proposal, Proposal.Status.ACCEPTED, by, _("Appliquée directement par l'équipe.")
            )
    return proposal


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal data, whatever the order of the domains."""
    return {**a, "domains": sorted(a.get("domains") or [])} == {
        **b,
        "domains": sorted(b.get("domains") or []),
    }


def _mark(proposal: Proposal, status: str, by: User | None, note: str) -> None:
    proposal.status = status
    proposal.decided_by = by if by is not None and by.pk else None
    proposal.decided_at = timezone.now()
    proposal.decision_note = note[:MAX_MESSAGE]
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])


def _decided(proposal: Proposal, status: str, by: User | None, note: str) -> None:
    """Record a decision (by a moderator, or by the votes when `by` is None): the proposal's
    state, an audit entry and, once committed, an e-mail to the proposer."""
    _mark(proposal, status, by, note)
    verb = "accept" if status == Proposal.Status.ACCEPTED else "reject"
    audit_record(
        place=proposal.place,
        actor=by,
        action=f"commons.proposal.{verb}",
        target=proposal,
        changes={"status": [Proposal.Status.PENDING, status], "note": [None, note or None]},
    )
    _notify(proposal, by)


def _locked(proposal: Proposal) -> Proposal:
    """The proposal as committed now, inside the guard; refused once decided."""
    current = Proposal.objects.select_related("commons", "place", "proposed_by").get(pk=proposal.pk)
    if current.status != Proposal.Status.PENDING:
        raise Conflict(_("Cette proposition a déjà été tranchée."))
    return current


def _notify(proposal: Proposal, by: User | None) -> None:
    """Tell the proposer what was decided, once committed (not when they decided it)."""
    proposer = proposal.proposed_by
    if proposer is None or not proposer.email or (by is not None and by.pk == proposer.pk):
        return
    place = proposal.place
    link = django_settings.BASE_URL + reverse(
        "commons:proposal", kwargs={"place_slug": place.slug, "uuid": proposal.uuid}
    )
    with translation.override(proposer.language or "fr"):
        accepted = proposal.status == Proposal.Status.ACCEPTED
        what = (
            _("votre proposition de nouveau commun « %(name)s »")
            if is_new(proposal)
            else _("votre proposition de modification de « %(name)s »")
        ) % {"name": proposal.commons or proposal}
        subject = (
            _("Proposition acceptée : %(name)s")
            if accepted
            else _("Proposition refusée : %(name)s")
        ) % {"name": proposal.commons or proposal}
        verdict = _("a été acceptée. Merci !") if accepted else _("n'a pas été retenue.")
        body = _("Bonjour,\n\n%(what)s, sur %(place)s, %(verdict)s\n") % {
            "what": what[:1].upper() + what[1:],
            "place": place.name,
            "verdict": verdict,
        }
        if proposal.decision_note:
            body += _("\nMotif : %(note)s\n") % {"note": proposal.decision_note}
        body += _("\nLa proposition : %(link)s\n") % {"link": link}
    email_send_on_commit(place=place, to=[proposer.email], subject=subject, body=body)


def _accept(proposal: Proposal, by: User | None, note: str) -> None:
    """Apply a pending proposal (called inside the guard). Conflict when a stale edit."""
    commons = proposal.commons
    if commons is None:  # pragma: no cover - every proposal made here points to its commons
        raise NotFound(_("Le commun de cette proposition n'existe plus."))
    if is_new(proposal):
        if commons.status == Commons.Status.PENDING:
            commons_set_status(commons=commons, status=Commons.Status.VALIDATED, by=by)
    else:
        if commons.revision != proposal.base_revision:
            raise Conflict(_stale_message(proposal, commons.revision))
        try:
            with transaction.atomic():
                # The revision's author is the proposer: they wrote the change.
                commons_update(
                    commons=commons,
                    data=proposal.data,
                    by=proposal.proposed_by,
                    message=proposal.message or _("Proposition acceptée"),
                    base_revision=proposal.base_revision,
                )
        except Conflict as exc:
            current = Commons.objects.filter(pk=commons.pk).values_list("revision", flat=True)
            raise Conflict(_stale_message(proposal, current.first() or 0)) from exc
    _decided(proposal, Proposal.Status.ACCEPTED, by, note)


def _reject(proposal: Proposal, by: User | None, note: str) -> None:
    commons = proposal.commons
    if is_new(proposal) and commons is not None and commons.status == Commons.Status.PENDING:
        commons_set_status(commons=commons, status=Commons.Status.REJECTED, by=by)
    _decided(proposal, Proposal.Status.REJECTED, by, note)


@dataclass
class VoteOutcome:
    proposal: Proposal
    votes_for: int
    votes_against: int
    # The votes reached the acceptance threshold but the commons changed since the edit
    # was written: the proposal stays pending for a moderator (the vote is kept).
    stale: bool = False


def proposal_vote(*, proposal: Proposal, by: User | None, value: int) -> VoteOutcome:
    """One vote per member (a new vote replaces theirs); reaching a threshold decides."""
    place = proposal.place
    user = _require(by, "commons.propose", place)
    if value not in (1, -1):
        raise InvalidInput({"value": [_("Votez « pour » ou « contre ».")]})
    if proposal.proposed_by_id == user.pk:
        raise PermissionDenied(_("Vous ne pouvez pas voter sur votre propre proposition."))
    with capacity.guarded(GUARD_NAMESPACE, [proposal.pk]):
        current = _locked(proposal)
        vote = Vote.objects.filter(proposal=current, voter=user).first()
        old = vote.value if vote is not None else None
        if vote is None:
            Vote.objects.create(proposal=current, voter=user, value=value)
        elif vote.value != value:
            vote.value = value
            vote.save(update_fields=["value"])
        if old != value:
            audit_record(
                place=place,
                actor=user,
                action="commons.proposal.vote",
                target=current,
                changes={"vote": [old, value]},
            )
        pour, contre = vote_counts(proposal=current)
        capacity.race_window()
        thresholds = moderation_settings(place=place)
        outcome = VoteOutcome(proposal=current, votes_for=pour, votes_against=contre)
        if pour >= thresholds.votes_to_accept:
            try:
                with transaction.atomic():
                    _accept(
                        current,
                        None,
                        _("Acceptée par %(n)s votes « pour ».") % {"n": pour},
                    )
            except Conflict:
                # The vote stays; a moderator will re-base or reject the stale edit.
                outcome.stale = True
        elif contre >= thresholds.votes_to_reject:
            _reject(current, None, _("Refusée par %(n)s votes « contre ».") % {"n": contre})
    return outcome


def proposal_accept(*, proposal: Proposal, by: User | None, note: str = "") -> Proposal:
    """A moderator applies a pending proposal; a stale edit raises Conflict (nothing changed)."""
    user = _require(by, "commons.moderate", proposal.place)
    note = _short(note, "note", MAX_MESSAGE)
    with capacity.guarded(GUARD_NAMESPACE, [proposal.pk]):
        current = _locked(proposal)
        _accept(current, user, note)
    return current


def proposal_reject(*, proposal: Proposal, by: User | None, note: str = "") -> Proposal:
    user = _require(by, "commons.moderate", proposal.place)
    note = _short(note, "note", MAX_MESSAGE)
    with capacity.guarded(GUARD_NAMESPACE, [proposal.pk]):
        current = _locked(proposal)
        _reject(current, user, note)
    return current


def proposal_rebase(*, proposal: Proposal, by: User | None, seen_revision: int) -> Proposal:
    """A moderator who compared a stale edit with the commons as it is now (version
    `seen_revision`) takes it as written from that version: accepting it then replaces the
    changes made meanwhile by the proposal's values, as the comparison showed."""
    user = _require(by, "commons.moderate", proposal.place)
    with capacity.guarded(GUARD_NAMESPACE, [proposal.pk]):
        current = _locked(proposal)
        if is_new(current) or current.commons is None:
            raise Conflict(_("Seule une proposition de modification se met à jour."))
        now = current.commons.revision
        if seen_revision != now:
            raise Conflict(
                _("Ce commun a encore changé (version %(n)s) : regardez la comparaison à nouveau.")
                % {"n": now}
            )
        old = current.base_revision
        if old != now:
            current.base_revision = now
            current.save(update_fields=["base_revision"])
            audit_record(
                place=current.place,
                actor=user,
                action="commons.proposal.rebase",
                target=current,
                changes={"base_revision": [old, now]},
            )
    return current


# --- Reports --------------------------------------------------------------------------------


def report_create(*, commons: Commons, by: User | None, reason: str) -> Report:
    """A member says a commons' information is outdated or wrong (3 open reports at most per
    member and commons)."""
    place = commons.place
    user = _require(by, "commons.propose", place)
    reason = str(reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": [_("Dites ce qui n'est plus à jour.")]})
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            {"reason": [_("Trop long (%(n)s caractères au plus).") % {"n": MAX_REASON}]}
        )
    with capacity.guarded(REPORT_NAMESPACE, [commons.pk]):
        if open_reports_by(commons=commons, user=user) >= MAX_OPEN_REPORTS:
            raise Conflict(
                _(
                    "Vous avez déjà %(n)s signalements en attente sur ce commun : "
                    "l'équipe les traite bientôt."
                )
                % {"n": MAX_OPEN_REPORTS}
            )
        report = Report.objects.create(place=place, commons=commons, reason=reason, reporter=user)
        audit_record(
            place=place,
            actor=user,
            action="commons.report.create",
            target=commons,
            changes={"reason": [None, reason[:200]]},
        )
    return report


def report_resolve(*, report: Report, by: User | None, status: str) -> Report:
    """A moderator closes a report: handled (resolved) or set aside (dismissed)."""
    user = _require(by, "commons.moderate", report.place)
    if status not in (Report.Status.RESOLVED, Report.Status.DISMISSED):
        raise InvalidInput({"status": [_("Choisissez « traité » ou « écarté ».")]})
    with transaction.atomic():
        updated = Report.objects.filter(pk=report.pk, status=Report.Status.OPEN).update(
            status=status, handled_by=user, handled_at=timezone.now()
        )
        if not updated:
            raise Conflict(_("Ce signalement a déjà été traité."))
        report.refresh_from_db()
        audit_record(
            place=report.place,
            actor=user,
            action="commons.report.resolve",
            target=report.commons,
            changes={"status": [Report.Status.OPEN, status]},
        )
    return report


# --- Settings -------------------------------------------------------------------------------


def _threshold(value: Any, key: str, errors: dict[str, list[str]]) -> int:
    low, high = THRESHOLD_RANGE
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        errors[key] = [_("Un nombre entre %(a)s et %(b)s.") % {"a": low, "b": high}]
        return 0
    return number


def settings_update(
    *, place: Place, by: User | None, votes_to_accept: Any, votes_to_reject: Any
) -> CommonsSettings:
    user = _require(by, "commons.moderate", place)
    errors: dict[str, list[str]] = {}
    accept = _threshold(votes_to_accept, "votes_to_accept", errors)
    reject = _threshold(votes_to_reject, "votes_to_reject", errors)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        row, created = CommonsSettings.objects.select_for_update().get_or_create(place=place)
        before = {"votes_to_accept": row.votes_to_accept, "votes_to_reject": row.votes_to_reject}
        row.votes_to_accept, row.votes_to_reject = accept, reject
        row.save()
        changes = {k: [v, getattr(row, k)] for k, v in before.items() if v != getattr(row, k)}
        if changes or created:
            audit_record(
                place=place,
                actor=user,
                action="commons.settings.update",
                target_type="commons_settings",
                changes=changes,
            )
    return row
