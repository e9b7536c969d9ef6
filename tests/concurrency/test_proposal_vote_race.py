"""Votes on a commons proposal under real concurrency: 8 members vote "pour" at the same
instant on a proposal that 2 votes accept. With the guard off, several last votes each see
the threshold reached and each accept it (the decision is recorded and mailed several
times); with the guard on (the "commons.proposal" lock of the proposal), exactly one vote
accepts it and the later ones are told it was already decided — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from conciergerie.commons.models import Commons, CommonsSettings, Proposal, Vote
from conciergerie.commons.selectors.moderation import proposal_of
from conciergerie.commons.services import moderation as services
from conciergerie.core.models import AuditEntry, OutboxMessage
from tests.commons.conftest import commons_data
from tests.concurrency.test_booking_race import run_together
from tests.factories import make_place, make_user

pytestmark = pytest.mark.django_db(transaction=True)

VOTERS = 8


def setup(slug: str):
    place = make_place(slug=slug, name="Course aux votes")
    CommonsSettings.objects.create(place=place, votes_to_accept=2, votes_to_reject=2)
    proposer = make_user(place=place, role="member")
    proposal = services.proposal_create(place=place, data=commons_data(), by=proposer)
    voters = [make_user(place=place, role="member") for _ in range(VOTERS)]
    return place, proposer, proposal, voters


def vote_all(place, proposal, voters):
    def job(voter):
        def run() -> None:
            # Each thread reads the proposal on its own connection, as a request would.
            services.proposal_vote(
                proposal=proposal_of(place=place, uuid=proposal.uuid), by=voter, value=1
            )

        return run

    return run_together([job(v) for v in voters])


def accepted_times(proposal) -> int:
    return AuditEntry.objects.filter(
        action="commons.proposal.accept", target_uuid=proposal.uuid
    ).count()


def test_without_the_guard_several_last_votes_accept(settings):
    place, proposer, proposal, voters = setup("course-votes-f")
    settings.CAPACITY_GUARD = False
    settings.CAPACITY_RACE_WINDOW = 0.05
    vote_all(place, proposal, voters)
    # The race shows: the same proposal was accepted (and announced) more than once.
    assert accepted_times(proposal) > 1
    assert OutboxMessage.objects.filter(to=proposer.email).count() > 1


def test_with_the_guard_exactly_one_vote_accepts(settings):
    place, proposer, proposal, voters = setup("course-votes-g")
    settings.CAPACITY_GUARD = True
    settings.CAPACITY_RACE_WINDOW = 0.05
    outcomes = vote_all(place, proposal, voters)

    assert outcomes == {"ok": 2, "conflict": VOTERS - 2}
    assert accepted_times(proposal) == 1
    assert Vote.objects.filter(proposal=proposal).count() == 2
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ACCEPTED
    assert Commons.objects.get(pk=proposal.commons_id).status == Commons.Status.VALIDATED
    assert OutboxMessage.objects.filter(to=proposer.email).count() == 1
