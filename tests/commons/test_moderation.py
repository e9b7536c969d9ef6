"""Contributions and moderation (services): proposals of new commons and of edits, votes and
their thresholds, moderators' decisions, stale edits, reports and thresholds settings."""

from __future__ import annotations

import pytest

from conciergerie.commons.models import (
    Commons,
    CommonsRevision,
    CommonsSettings,
    Proposal,
    Report,
    Vote,
)
from conciergerie.commons.selectors import moderation as selectors
from conciergerie.commons.services import moderation as services
from conciergerie.commons.services.catalogue import snapshot_of
from conciergerie.core.errors import Conflict, InvalidInput, PermissionDenied
from conciergerie.core.models import AuditEntry, OutboxMessage
from tests.commons.conftest import commons_data, make_commons
from tests.factories import make_place, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def voters(place):
    return [make_user(place=place, role="member") for _ in range(4)]


@pytest.fixture
def thresholds(place):
    return CommonsSettings.objects.create(place=place, votes_to_accept=2, votes_to_reject=2)


def data_of(commons: Commons, **over) -> dict:
    data = snapshot_of(commons, list(commons.domains.values_list("name", flat=True)))
    data.update(over)
    return data


def propose_new(place, by, **over) -> Proposal:
    return services.proposal_create(place=place, data=commons_data(**over), by=by, message="Utile")


def propose_edit(commons, by, **over) -> Proposal:
    return services.proposal_create(
        place=commons.place, commons=commons, data=data_of(commons, **over), by=by
    )


# --- Proposing ------------------------------------------------------------------------------


def test_a_members_new_commons_waits_pending_with_its_proposal(place, member):
    proposal = propose_new(place, member)

    commons = proposal.commons
    assert commons.status == Commons.Status.PENDING
    assert commons.proposed_by == member
    assert proposal.status == Proposal.Status.PENDING
    assert proposal.base_revision == 0 and selectors.is_new(proposal)
    assert proposal.data["name"] == "Paheko" and proposal.message == "Utile"
    assert AuditEntry.objects.filter(action="commons.proposal.create", actor=member).exists()


def test_a_members_edit_is_stored_and_the_commons_unchanged(place, member):
    commons = make_commons(place)
    proposal = propose_edit(commons, member, summary="Adhérents, cotisations, compta, caisse.")

    commons.refresh_from_db()
    assert commons.summary.startswith("Gestion d'association")
    assert proposal.status == Proposal.Status.PENDING
    assert proposal.base_revision == commons.revision == 1
    assert proposal.data["summary"] == "Adhérents, cotisations, compta, caisse."
    assert proposal.data["slug"] == commons.slug


def test_an_edit_that_changes_nothing_is_refused(place, member):
    commons = make_commons(place)
    with pytest.raises(InvalidInput):
        propose_edit(commons, member)
    assert not Proposal.objects.exists()


def test_bad_data_is_refused_and_nothing_is_written(place, member):
    with pytest.raises(InvalidInput) as exc:
        propose_new(place, member, url="pas une adresse", kind="fusée", actions=[])
    assert {"url", "kind", "actions"} <= set(exc.value.errors)
    assert not Commons.objects.exists() and not Proposal.objects.exists()

    commons = make_commons(place)
    with pytest.raises(InvalidInput) as exc:
        propose_edit(commons, member, grid={"complexity": 9})
    assert "grid.complexity" in exc.value.errors
    assert Proposal.objects.count() == 0


def test_an_edit_written_from_an_older_version_is_refused(place, member, concierge):
    commons = make_commons(place)
    propose_edit(commons, concierge, summary="Changé par l'équipe entre-temps.")
    with pytest.raises(Conflict):
        services.proposal_create(
            place=place,
            commons=commons,
            data=data_of(commons, name="Paheko (ex-Garradin)"),
            by=member,
            base_revision=1,
        )
    assert Proposal.objects.filter(proposed_by=member).count() == 0


def test_the_same_address_is_a_duplicate_a_shared_name_is_not(place, member):
    make_commons(place)
    with pytest.raises(InvalidInput) as exc:
        propose_new(place, member)
    assert "url" in exc.value.errors

    other = propose_new(place, member, url="https://autre-paheko.example.org")
    assert other.commons.slug == "paheko-2"


def test_a_name_that_is_a_page_of_the_site_gets_another_address(place, member):
    proposal = propose_new(place, member, name="Propositions", url="https://p.example.org")
    assert proposal.commons.slug == "propositions-2"


def test_a_visitor_or_a_stranger_cannot_propose(place, other_place):
    stranger = make_user(place=other_place, role="member")
    with pytest.raises(PermissionDenied):
        propose_new(place, stranger)
    with pytest.raises(PermissionDenied):
        propose_new(place, None)
    assert not Commons.objects.exists()


def test_a_moderator_adds_a_commons_at_once(place, concierge):
    proposal = propose_new(place, concierge)
    assert proposal.commons.status == Commons.Status.VALIDATED
    assert proposal.status == Proposal.Status.ACCEPTED
    assert proposal.decided_by == concierge


def test_a_moderators_edit_applies_at_once_with_a_revision(place, concierge):
    commons = make_commons(place)
    proposal = services.proposal_create(
        place=place,
        commons=commons,
        data=data_of(commons, summary="Adhérents et comptabilité d'une association."),
        by=concierge,
        message="Résumé plus clair",
    )

    commons.refresh_from_db()
    assert commons.summary == "Adhérents et comptabilité d'une association."
    assert commons.revision == 2
    revision = CommonsRevision.objects.get(commons=commons, number=2)
    assert revision.author == concierge and revision.message == "Résumé plus clair"
    assert proposal.status == Proposal.Status.ACCEPTED and proposal.decided_by == concierge


# --- Votes ----------------------------------------------------------------------------------


def test_votes_for_reaching_the_threshold_validate_a_new_commons(
    place, member, voters, thresholds, django_capture_on_commit_callbacks
):
    proposal = propose_new(place, member)
    first = services.proposal_vote(proposal=proposal, by=voters[0], value=1)
    assert first.proposal.status == Proposal.Status.PENDING and first.votes_for == 1
    with django_capture_on_commit_callbacks(execute=True):
        second = services.proposal_vote(proposal=proposal, by=voters[1], value=1)

    assert second.proposal.status == Proposal.Status.ACCEPTED and second.votes_for == 2
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ACCEPTED and proposal.decided_by is None
    assert "2 votes" in proposal.decision_note
    assert Commons.objects.get(pk=proposal.commons_id).status == Commons.Status.VALIDATED
    mail = OutboxMessage.objects.get(to=member.email)
    assert "acceptée" in mail.subject and str(proposal.uuid) in mail.body


def test_votes_against_reaching_the_threshold_reject_a_new_commons(
    place, member, voters, thresholds, django_capture_on_commit_callbacks
):
    proposal = propose_new(place, member)
    services.proposal_vote(proposal=proposal, by=voters[0], value=-1)
    services.proposal_vote(proposal=proposal, by=voters[1], value=1)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.proposal_vote(proposal=proposal, by=voters[2], value=-1)

    assert outcome.proposal.status == Proposal.Status.REJECTED
    assert (outcome.votes_for, outcome.votes_against) == (1, 2)
    assert Commons.objects.get(pk=proposal.commons_id).status == Commons.Status.REJECTED
    assert "refusée" in OutboxMessage.objects.get(to=member.email).subject


def test_an_edit_accepted_by_votes_is_applied_with_the_proposer_as_author(
    place, member, voters, thresholds
):
    commons = make_commons(place)
    proposal = propose_edit(commons, member, tags=["adhésions", "compta", "caisse"])
    for voter in voters[:2]:
        services.proposal_vote(proposal=proposal, by=voter, value=1)

    commons.refresh_from_db()
    assert commons.tags == ["adhésions", "compta", "caisse"] and commons.revision == 2
    assert CommonsRevision.objects.get(commons=commons, number=2).author == member


def test_one_vote_per_member_and_changing_it_is_allowed(place, member, voters):
    proposal = propose_new(place, member)  # default thresholds: 3 and 3
    voter = voters[0]
    services.proposal_vote(proposal=proposal, by=voter, value=1)
    services.proposal_vote(proposal=proposal, by=voter, value=1)
    services.proposal_vote(proposal=proposal, by=voter, value=1)
    assert Vote.objects.filter(proposal=proposal).count() == 1
    assert selectors.vote_counts(proposal=proposal) == (1, 0)

    outcome = services.proposal_vote(proposal=proposal, by=voter, value=-1)
    assert (outcome.votes_for, outcome.votes_against) == (0, 1)
    assert Vote.objects.get(proposal=proposal, voter=voter).value == -1
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING


def test_the_proposer_cannot_vote_on_their_own_proposal(place, member):
    proposal = propose_new(place, member)
    with pytest.raises(PermissionDenied):
        services.proposal_vote(proposal=proposal, by=member, value=1)
    assert not Vote.objects.exists()


def test_a_member_of_another_place_cannot_vote(place, other_place, member):
    proposal = propose_new(place, member)
    stranger = make_user(place=other_place, role="concierge")
    with pytest.raises(PermissionDenied):
        services.proposal_vote(proposal=proposal, by=stranger, value=1)
    with pytest.raises(PermissionDenied):
        services.proposal_accept(proposal=proposal, by=stranger)
    assert not Vote.objects.exists()
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING


def test_a_decided_proposal_takes_no_more_votes(place, member, voters, concierge):
    proposal = propose_new(place, member)
    services.proposal_reject(proposal=proposal, by=concierge, note="Déjà au catalogue")
    with pytest.raises(Conflict):
        services.proposal_vote(proposal=proposal, by=voters[0], value=1)
    with pytest.raises(Conflict):
        services.proposal_accept(proposal=proposal, by=concierge)


def test_a_vote_must_be_for_or_against(place, member, voters):
    proposal = propose_new(place, member)
    with pytest.raises(InvalidInput):
        services.proposal_vote(proposal=proposal, by=voters[0], value=5)


# --- Moderators' decisions ------------------------------------------------------------------


def test_a_moderator_accepts_an_edit(place, member, concierge, django_capture_on_commit_callbacks):
    commons = make_commons(place)
    proposal = propose_edit(commons, member, license="AGPL-3.0-only")
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_accept(proposal=proposal, by=concierge, note="Merci")

    commons.refresh_from_db()
    assert commons.license == "AGPL-3.0-only"
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ACCEPTED and proposal.decided_by == concierge
    assert "Merci" in OutboxMessage.objects.get(to=member.email).body
    assert AuditEntry.objects.filter(action="commons.proposal.accept", actor=concierge).exists()


def test_a_member_cannot_decide(place, member, voters):
    proposal = propose_new(place, member)
    with pytest.raises(PermissionDenied):
        services.proposal_accept(proposal=proposal, by=voters[0])
    with pytest.raises(PermissionDenied):
        services.proposal_reject(proposal=proposal, by=voters[0])


def test_a_stale_edit_is_refused_then_rebased_and_accepted(place, member, concierge):
    commons = make_commons(place)
    stale = propose_edit(commons, member, name="Paheko (ex-Garradin)")
    # Meanwhile the team changes the summary.
    propose_edit(commons, concierge, summary="Adhérents, cotisations et comptes.")
    commons.refresh_from_db()
    assert commons.revision == 2

    with pytest.raises(Conflict) as exc:
        services.proposal_accept(proposal=stale, by=concierge)
    assert "changé" in exc.value.message
    commons.refresh_from_db()
    stale.refresh_from_db()
    assert commons.name == "Paheko" and commons.revision == 2
    assert stale.status == Proposal.Status.PENDING

    # The comparison flags what changed meanwhile: accepting would undo it.
    detail = selectors.proposal_detail(place=place, uuid=stale.uuid, viewer=concierge)
    rows = {c.key: c for c in detail.changes}
    assert detail.is_stale
    assert rows["name"].changed and not rows["name"].changed_meanwhile
    assert rows["summary"].changed and rows["summary"].changed_meanwhile

    with pytest.raises(Conflict):
        services.proposal_rebase(proposal=stale, by=concierge, seen_revision=1)
    services.proposal_rebase(proposal=stale, by=concierge, seen_revision=2)
    services.proposal_accept(proposal=stale, by=concierge)
    commons.refresh_from_db()
    assert commons.name == "Paheko (ex-Garradin)" and commons.revision == 3


def test_votes_on_a_stale_edit_keep_it_pending(place, member, concierge, voters, thresholds):
    commons = make_commons(place)
    stale = propose_edit(commons, member, name="Paheko (ex-Garradin)")
    propose_edit(commons, concierge, summary="Adhérents, cotisations et comptes.")
    services.proposal_vote(proposal=stale, by=voters[0], value=1)
    outcome = services.proposal_vote(proposal=stale, by=voters[1], value=1)

    assert outcome.stale and outcome.votes_for == 2
    stale.refresh_from_db()
    assert stale.status == Proposal.Status.PENDING
    assert Vote.objects.filter(proposal=stale).count() == 2
    commons.refresh_from_db()
    assert commons.name == "Paheko"


def test_a_moderator_rejects_a_new_commons(place, member, concierge):
    proposal = propose_new(place, member)
    services.proposal_reject(proposal=proposal, by=concierge, note="Pas libre")
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.REJECTED and proposal.decision_note == "Pas libre"
    assert Commons.objects.get(pk=proposal.commons_id).status == Commons.Status.REJECTED
    assert AuditEntry.objects.filter(action="commons.proposal.reject").exists()


# --- Comparison -----------------------------------------------------------------------------


def test_the_comparison_shows_each_changed_field_and_grid_question(place, member):
    commons = make_commons(place, grid={"complexity": 2})
    proposal = propose_edit(
        commons,
        member,
        description="Logiciel libre pour **gérer une association**.\nAvec une caisse.",
        grid={"complexity": 3, "cost": "Prix libre"},
    )
    detail = selectors.proposal_detail(place=place, uuid=proposal.uuid, viewer=member)
    changed = {c.key: c for c in detail.changes if c.changed}
    assert set(changed) == {"description", "grid.complexity", "grid.cost"}
    assert (changed["grid.complexity"].before, changed["grid.complexity"].after) == ("2", "3")
    assert changed["grid.cost"].before == "" and changed["grid.cost"].after == "Prix libre"
    assert ("added", "Avec une caisse.") in changed["description"].lines


# --- Reports --------------------------------------------------------------------------------


def test_a_member_reports_outdated_information(place, member):
    commons = make_commons(place)
    report = services.report_create(commons=commons, by=member, reason="Le site a déménagé.")
    assert report.status == Report.Status.OPEN and report.place == place
    assert report.reporter == member


def test_a_report_needs_a_short_reason(place, member):
    commons = make_commons(place)
    with pytest.raises(InvalidInput):
        services.report_create(commons=commons, by=member, reason="   ")
    with pytest.raises(InvalidInput):
        services.report_create(commons=commons, by=member, reason="x" * 2001)
    assert not Report.objects.exists()


def test_at_most_three_open_reports_per_member_and_commons(place, member, concierge):
    commons = make_commons(place)
    reports = [
        services.report_create(commons=commons, by=member, reason=f"Problème {i}") for i in range(3)
    ]
    with pytest.raises(Conflict):
        services.report_create(commons=commons, by=member, reason="Encore un")
    # Once one is handled, a new one is possible.
    services.report_resolve(report=reports[0], by=concierge, status=Report.Status.RESOLVED)
    services.report_create(commons=commons, by=member, reason="Encore un")
    assert Report.objects.filter(status=Report.Status.OPEN).count() == 3


def test_only_moderators_handle_reports_once(place, member, concierge):
    commons = make_commons(place)
    report = services.report_create(commons=commons, by=member, reason="Lien mort")
    with pytest.raises(PermissionDenied):
        services.report_resolve(report=report, by=member, status=Report.Status.RESOLVED)
    with pytest.raises(InvalidInput):
        services.report_resolve(report=report, by=concierge, status=Report.Status.OPEN)
    services.report_resolve(report=report, by=concierge, status=Report.Status.DISMISSED)
    report.refresh_from_db()
    assert report.status == Report.Status.DISMISSED and report.handled_by == concierge
    with pytest.raises(Conflict):
        services.report_resolve(report=report, by=concierge, status=Report.Status.RESOLVED)


def test_a_stranger_cannot_report(place, other_place):
    commons = make_commons(place)
    with pytest.raises(PermissionDenied):
        services.report_create(
            commons=commons, by=make_user(place=other_place, role="member"), reason="Faux"
        )


# --- Settings -------------------------------------------------------------------------------


def test_thresholds_default_then_set_by_a_moderator(place, member, concierge):
    assert selectors.moderation_settings(place=place).votes_to_accept == 3
    with pytest.raises(PermissionDenied):
        services.settings_update(place=place, by=member, votes_to_accept=1, votes_to_reject=1)
    with pytest.raises(InvalidInput) as exc:
        services.settings_update(place=place, by=concierge, votes_to_accept=0, votes_to_reject=51)
    assert set(exc.value.errors) == {"votes_to_accept", "votes_to_reject"}

    services.settings_update(place=place, by=concierge, votes_to_accept=1, votes_to_reject=5)
    row = CommonsSettings.objects.get(place=place)
    assert (row.votes_to_accept, row.votes_to_reject) == (1, 5)

    # One vote is now enough.
    proposal = propose_new(place, member)
    voter = make_user(place=place, role="member")
    assert services.proposal_vote(proposal=proposal, by=voter, value=1).proposal.status == (
        Proposal.Status.ACCEPTED
    )


def test_thresholds_are_per_place(place, member):
    other = make_place(slug="ailleurs")
    CommonsSettings.objects.create(place=other, votes_to_accept=1, votes_to_reject=1)
    proposal = propose_new(place, member)
    voter = make_user(place=place, role="member")
    outcome = services.proposal_vote(proposal=proposal, by=voter, value=1)
    assert outcome.proposal.status == Proposal.Status.PENDING
