"""Contribution and moderation pages: who may open them, forms that explain their errors,
votes and decisions through the pages, reports, thresholds, and flat query counts."""

from __future__ import annotations

import html

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from conciergerie.commons import moderation_views
from conciergerie.commons.models import Commons, CommonsSettings, Proposal, Report, Vote
from conciergerie.commons.services import moderation as services
from conciergerie.commons.services.catalogue import snapshot_of
from tests.commons.conftest import commons_data, make_commons
from tests.conftest import login
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def url(name, place, **kwargs):
    return reverse(f"commons:{name}", kwargs={"place_slug": place.slug, **kwargs})


def text(response):
    return html.unescape(response.content.decode())


def form_post(**over):
    """What a person types in the commons form."""
    data = {
        "name": "Loomio",
        "summary": "Décider ensemble en ligne.",
        "description": "Outil de **décision collective**.",
        "url": "https://www.loomio.com",
        "kind": "logiciel",
        "actions": ["animer", "gerer"],
        "domains": "sondages et décisions, gouvernance",
        "tags": "vote, décision, consentement",
        "license": "AGPL-3.0-or-later",
        "links": "Code source | https://github.com/loomio/loomio\nhttps://help.loomio.com",
        "contacts": "Équipe Loomio | éditrice | contact@loomio.com",
        "grid_complexity": "2",
        "grid_hosting": "les_deux",
        "message": "On s'en sert au quotidien",
    }
    data.update(over)
    return data


def client_for(user) -> Client:
    return login(Client(), user)


@pytest.fixture
def commons(place):
    return make_commons(place)


@pytest.fixture
def pending(place, member):
    data = commons_data(name="Garradin", url="https://garradin.example.org")
    return services.proposal_create(place=place, data=data, by=member)


# --- Who may open what ----------------------------------------------------------------------


MEMBER_PAGES = ["propose", "proposals"]
MODERATOR_PAGES = ["reports", "moderation_settings"]


@pytest.mark.parametrize("name", MEMBER_PAGES + MODERATOR_PAGES)
def test_status_per_role(name, place, member, concierge, other_place):
    path = url(name, place)
    response = Client().get(path)
    assert response.status_code == 302 and "connexion" in response["Location"]
    stranger = make_user(place=other_place, role="admin")
    assert client_for(stranger).get(path).status_code == 403
    expected_member = 200 if name in MEMBER_PAGES else 403
    assert client_for(member).get(path).status_code == expected_member
    assert client_for(concierge).get(path).status_code == 200


def test_pages_of_one_commons_or_proposal_per_role(place, member, concierge, commons, pending):
    pages = [
        url("propose_edit", place, slug=commons.slug),
        url("report", place, slug=commons.slug),
        url("proposal", place, uuid=pending.uuid),
    ]
    for path in pages:
        assert Client().get(path).status_code == 302
        assert client_for(member).get(path).status_code == 200
        assert client_for(concierge).get(path).status_code == 200
    # POST-only pages refuse GET; members cannot decide nor handle reports.
    voter = client_for(make_user(place=place, role="member"))
    assert voter.get(url("proposal_vote", place, uuid=pending.uuid)).status_code == 405
    decide = url("proposal_decide", place, uuid=pending.uuid)
    assert voter.post(decide, {"decision": "accepter"}).status_code == 403
    report = services.report_create(commons=commons, by=member, reason="Lien mort")
    handle = url("report_handle", place, uuid=report.uuid)
    assert voter.post(handle, {"status": "resolved"}).status_code == 403


def test_the_addresses_lead_to_these_pages_not_to_a_commons(place):
    """communs/propositions/ must not be read as the page of a commons named "propositions"."""
    for name in ("propose", "proposals", "reports", "moderation_settings"):
        assert resolve(url(name, place)).func.__name__ == getattr(moderation_views, name).__name__


def test_another_places_proposal_is_not_found(place, other_place, pending):
    outsider = make_user(place=other_place, role="member")
    assert client_for(outsider).get(
        url("proposal", other_place, uuid=pending.uuid)
    ).status_code == (404)
    response = client_for(outsider).post(
        url("proposal_vote", other_place, uuid=pending.uuid), {"value": "pour"}
    )
    assert response.status_code == 404
    assert not Vote.objects.exists()


def test_a_pending_commons_cannot_be_edited_or_reported_by_members(place, member, pending):
    other = client_for(make_user(place=place, role="member"))
    slug = pending.commons.slug
    assert other.get(url("propose_edit", place, slug=slug)).status_code == 404
    assert other.get(url("report", place, slug=slug)).status_code == 404


# --- Proposing a new commons ----------------------------------------------------------------


def test_a_member_proposes_a_commons(place, member):
    response = client_for(member).post(url("propose", place), form_post())
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert response["Location"] == url("proposal", place, uuid=proposal.uuid)
    commons = proposal.commons
    assert commons.status == Commons.Status.PENDING and commons.name == "Loomio"
    assert commons.action_list == ["gerer", "animer"]
    assert sorted(d.name for d in commons.domains.all()) == [
        "gouvernance",
        "sondages et décisions",
    ]
    assert commons.links == [
        {"label": "Code source", "url": "https://github.com/loomio/loomio"},
        {"label": "", "url": "https://help.loomio.com"},
    ]
    assert commons.contacts == [
        {"name": "Équipe Loomio", "role": "éditrice", "url": "", "email": "contact@loomio.com"}
    ]
    assert commons.grid == {"complexity": 2, "hosting": "les_deux"}

    page = text(client_for(member).get(response["Location"]))
    assert "Nouveau commun : Loomio" in page and "Décider ensemble en ligne." in page
    assert "Votre proposition : les autres membres votent." in page


def test_form_errors_are_shown_on_their_fields(place, member):
    response = client_for(member).post(
        url("propose", place),
        form_post(
            name="",
            url="loomio",
            links="Code | pas-une-adresse",
            contacts="Jean | jean-at-example",
            grid_complexity="",
            grid_last_activity="hier",
            kind="methode",
        ),
    )
    assert response.status_code == 400
    page = text(response)
    assert "Rien n'a été enregistré" in page
    assert "Ce champ est obligatoire." in page
    assert "Adresse web invalide" in page
    assert "Ligne 1 : Adresse web invalide" in page
    assert "Année ou mois attendu" in page
    assert not Commons.objects.exists() and not Proposal.objects.exists()
    # What was typed is kept.
    assert "Code | pas-une-adresse" in page


def test_a_commons_named_like_a_page_of_the_site_gets_another_address(place, member):
    response = client_for(member).post(
        url("propose", place), form_post(name="Propositions", url="https://p.example.org")
    )
    assert response.status_code == 302
    assert Commons.objects.get().slug == "propositions-2"


def test_a_question_of_another_kind_is_ignored(place, member):
    # "Hébergement" concerns software only: for a method it is dropped, as the form says.
    client_for(member).post(url("propose", place), form_post(kind="methode"))
    assert Commons.objects.get().grid == {"complexity": 2}


def test_an_empty_form_is_refused_not_a_500(place, member):
    response = client_for(member).post(url("propose", place), {})
    assert response.status_code == 400
    assert "Ce champ est obligatoire." in text(response)


def test_a_moderator_adds_a_commons_at_once(place, concierge):
    response = client_for(concierge).post(url("propose", place), form_post())
    commons = Commons.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("detail", place, slug=commons.slug)
    assert commons.status == Commons.Status.VALIDATED
    assert Proposal.objects.get().status == Proposal.Status.ACCEPTED


# --- Proposing an edit ----------------------------------------------------------------------


def test_the_edit_form_is_prefilled(place, member):
    commons = make_commons(
        place,
        links=[{"label": "Forum", "url": "https://forum.paheko.cloud"}],
        grid={"complexity": 2},
    )
    page = text(client_for(member).get(url("propose_edit", place, slug=commons.slug)))
    assert 'value="Paheko"' in page
    assert "Forum | https://forum.paheko.cloud" in page
    assert "adhésions, comptabilité" in page
    assert 'name="base_revision" value="1"' in page


def edit_post(commons, **over):
    data = snapshot_of(commons, list(commons.domains.values_list("name", flat=True)))
    post = {
        "name": data["name"],
        "summary": data["summary"],
        "description": data["description"],
        "url": data["url"],
        "kind": data["kind"],
        "actions": data["actions"],
        "domains": ", ".join(data["domains"]),
        "tags": ", ".join(data["tags"]),
        "license": data["license"],
        "links": "",
        "contacts": "",
        "base_revision": str(commons.revision),
    }
    post.update(over)
    return post


def test_a_member_proposes_an_edit(place, member, commons):
    response = client_for(member).post(
        url("propose_edit", place, slug=commons.slug),
        edit_post(commons, summary="Adhérents, cotisations et comptabilité.", message="Plus court"),
    )
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.base_revision == 1 and proposal.commons == commons
    commons.refresh_from_db()
    assert commons.summary.startswith("Gestion d'association")

    page = text(client_for(member).get(response["Location"]))
    assert "Modification de « Paheko »" in page
    assert "Adhérents, cotisations et comptabilité." in page and "Plus court" in page


def test_a_moderators_edit_is_saved_at_once(place, concierge, commons):
    response = client_for(concierge).post(
        url("propose_edit", place, slug=commons.slug),
        edit_post(commons, license="AGPL-3.0-only"),
    )
    assert response.status_code == 302
    assert response["Location"] == url("detail", place, slug=commons.slug)
    commons.refresh_from_db()
    assert commons.license == "AGPL-3.0-only" and commons.revision == 2
    assert commons.slug == "paheko"


def test_an_edit_sent_after_someone_else_changed_the_commons(place, member, concierge, commons):
    form = edit_post(commons, name="Paheko (ex-Garradin)")
    services.proposal_create(
        place=place,
        commons=commons,
        data=snapshot_of(commons, ["gestion associative"]) | {"summary": "Changé."},
        by=concierge,
    )
    response = client_for(member).post(url("propose_edit", place, slug=commons.slug), form)
    assert response.status_code == 400
    page = text(response)
    assert "modifié pendant que vous écriviez" in page
    assert 'value="Paheko (ex-Garradin)"' in page
    assert 'name="base_revision" value="2"' in page
    assert not Proposal.objects.filter(proposed_by=member).exists()


# --- The proposals, votes and decisions -----------------------------------------------------


def list_queries(client, place) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url("proposals", place))
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["member", "concierge"])
def test_the_proposals_list_reads_in_a_fixed_number_of_queries(place, role):
    viewer = client_for(make_user(place=place, role=role))
    proposers = [make_user(place=place, role="member") for _ in range(5)]
    voter = make_user(place=place, role="member")

    def propose(i):
        p = services.proposal_create(
            place=place,
            data=commons_data(name=f"Commun {i}", url=f"https://c{i}.example.org"),
            by=proposers[i],
        )
        services.proposal_vote(proposal=p, by=voter, value=1)

    propose(0)
    one = list_queries(viewer, place)
    for i in range(1, 5):
        propose(i)
    commons = make_commons(place, name="Édité", url="https://edite.example.org")
    services.proposal_create(
        place=place,
        commons=commons,
        data=snapshot_of(commons, []) | {"summary": "Autre résumé."},
        by=proposers[0],
    )
    assert list_queries(viewer, place) == one
    page = text(viewer.get(url("proposals", place)))
    assert all(f"Nouveau commun : Commun {i}" in page for i in range(5))
    assert "Modification de « Édité »" in page
    assert "Pour : 1 / 3" in page


def test_members_vote_from_the_list(place, member, pending):
    CommonsSettings.objects.create(place=place, votes_to_accept=2, votes_to_reject=2)
    first = client_for(make_user(place=place, role="member"))
    response = first.post(url("proposal_vote", place, uuid=pending.uuid), {"value": "pour"})
    assert response.status_code == 302 and response["Location"] == url("proposals", place)
    assert "Pour : 1 / 2" in text(first.get(url("proposals", place)))
    assert "Vous avez voté pour." in text(first.get(url("proposals", place)))

    second = client_for(make_user(place=place, role="member"))
    response = second.post(
        url("proposal_vote", place, uuid=pending.uuid), {"value": "pour", "back": "proposition"}
    )
    assert response["Location"] == url("proposal", place, uuid=pending.uuid)
    assert "la proposition est acceptée" in text(second.get(response["Location"]))
    pending.commons.refresh_from_db()
    assert pending.commons.status == Commons.Status.VALIDATED


def test_the_proposer_gets_no_vote_buttons_and_a_refusal(place, member, pending):
    own = client_for(member)
    page = text(own.get(url("proposals", place)))
    assert "Votre proposition : les autres membres votent." in page
    assert "Voter pour" not in page
    response = own.post(url("proposal_vote", place, uuid=pending.uuid), {"value": "pour"})
    assert response.status_code == 302
    assert "votre propre proposition" in text(own.get(response["Location"]))
    assert not Vote.objects.exists()


def test_a_moderator_accepts_and_rejects_from_the_pages(place, member, concierge):
    team = client_for(concierge)
    one = services.proposal_create(place=place, data=commons_data(), by=member)
    two = services.proposal_create(
        place=place, data=commons_data(name="Loomio", url="https://loomio.com"), by=member
    )
    page = text(team.get(url("proposals", place)))
    assert "Accepter" in page and "Refuser" in page
    team.post(url("proposal_decide", place, uuid=one.uuid), {"decision": "accepter"})
    team.post(
        url("proposal_decide", place, uuid=two.uuid), {"decision": "refuser", "note": "Doublon"}
    )
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.status == Proposal.Status.ACCEPTED
    assert one.commons.status == Commons.Status.VALIDATED
    assert two.status == Proposal.Status.REJECTED and two.decision_note == "Doublon"
    page = text(team.get(url("proposal", place, uuid=two.uuid)))
    assert "Refusée" in page and "Doublon" in page


def test_a_stale_edit_is_explained_then_rebased_and_accepted(place, member, concierge, commons):
    team = client_for(concierge)
    stale = services.proposal_create(
        place=place,
        commons=commons,
        data=snapshot_of(commons, ["gestion associative"]) | {"name": "Paheko (ex-Garradin)"},
        by=member,
    )
    services.proposal_create(
        place=place,
        commons=commons,
        data=snapshot_of(commons, ["gestion associative"]) | {"summary": "Changé entre-temps."},
        by=concierge,
    )
    detail = url("proposal", place, uuid=stale.uuid)
    response = team.post(url("proposal_decide", place, uuid=stale.uuid), {"decision": "accepter"})
    assert response["Location"] == detail
    page = text(team.get(detail))
    assert "a changé depuis cette proposition" in page
    assert "modifié entre-temps" in page
    assert "Mettre à jour sur la version actuelle" in page
    commons.refresh_from_db()
    assert commons.name == "Paheko"

    team.post(
        url("proposal_decide", place, uuid=stale.uuid),
        {"decision": "mettre_a_jour", "seen_revision": "2"},
    )
    team.post(url("proposal_decide", place, uuid=stale.uuid), {"decision": "accepter"})
    commons.refresh_from_db()
    assert commons.name == "Paheko (ex-Garradin)" and commons.revision == 3


# --- Reports --------------------------------------------------------------------------------


def test_a_member_reports_and_a_moderator_handles_it(place, member, concierge, commons):
    path = url("report", place, slug=commons.slug)
    reporter = client_for(member)
    assert "Qu'est-ce qui n'est plus à jour" in text(reporter.get(path))
    response = reporter.post(path, {"reason": ""})
    assert response.status_code == 400 and "Ce champ est obligatoire." in text(response)
    response = reporter.post(path, {"reason": "Le forum a fermé."})
    assert response.status_code == 302
    assert response["Location"] == url("detail", place, slug=commons.slug)

    team = client_for(concierge)
    page = text(team.get(url("reports", place)))
    assert "Le forum a fermé." in page and "Paheko" in page
    report = Report.objects.get()
    team.post(url("report_handle", place, uuid=report.uuid), {"status": "resolved"})
    report.refresh_from_db()
    assert report.status == Report.Status.RESOLVED
    assert "Le forum a fermé." not in text(team.get(url("reports", place)))
    assert "Le forum a fermé." in text(team.get(url("reports", place), {"etat": "traites"}))


def test_a_fourth_open_report_is_refused_on_the_form(place, member, commons):
    for i in range(3):
        services.report_create(commons=commons, by=member, reason=f"Problème {i}")
    response = client_for(member).post(
        url("report", place, slug=commons.slug), {"reason": "Encore"}
    )
    assert response.status_code == 400
    assert "déjà 3 signalements" in text(response)


def test_the_reports_queue_reads_in_a_fixed_number_of_queries(place, concierge):
    team = client_for(concierge)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert team.get(url("reports", place)).status_code == 200
        return len(ctx.captured_queries)

    reporters = [make_user(place=place, role="member") for _ in range(5)]
    items = [
        make_commons(place, name=f"Commun {i}", url=f"https://c{i}.example.org") for i in range(5)
    ]
    services.report_create(commons=items[0], by=reporters[0], reason="Vieux")
    one = count()
    for i in range(1, 5):
        services.report_create(commons=items[i], by=reporters[i], reason="Vieux")
    assert count() == one


# --- Thresholds -----------------------------------------------------------------------------


def test_a_moderator_sets_the_thresholds(place, concierge):
    team = client_for(concierge)
    path = url("moderation_settings", place)
    assert 'value="3"' in text(team.get(path))
    response = team.post(path, {"votes_to_accept": "0", "votes_to_reject": "2"})
    assert response.status_code == 400
    assert not CommonsSettings.objects.exists()
    response = team.post(path, {"votes_to_accept": "5", "votes_to_reject": "2"})
    assert response.status_code == 302
    row = CommonsSettings.objects.get(place=place)
    assert (row.votes_to_accept, row.votes_to_reject) == (5, 2)


def test_no_page_shows_a_members_email_and_names_follow_the_directory(client):
    """The history is public: it names a contributor only as their directory entry allows,
    and never by e-mail; the proposals list does the same for members."""
    from conciergerie.commons.models import Commons
    from conciergerie.commons.services.moderation import proposal_accept, proposal_create
    from conciergerie.community import services as community_services
    from tests.commons.conftest import commons_data, make_commons
    from tests.conftest import login
    from tests.factories import make_place, make_user

    place = make_place()
    commons = make_commons(place)
    secret = make_user(place=place, role="member", email="discrete@example.org")
    person = community_services.person_link_account(place=place, user=secret)
    person.first_name, person.last_name, person.name_visibility = "Zoé", "Discrète", "private"
    person.save()
    proposal = proposal_create(
        place=place, commons=commons, data=commons_data(summary="Mieux dit."), by=secret
    )
    other = make_user(place=place, role="member", email="autre@example.org")
    login(client, other)
    listing = client.get(f"/lieux/{place.slug}/communs/propositions/").content.decode()
    assert "discrete@example.org" not in listing and "Discrète" not in listing
    concierge = make_user(place=place, role="concierge")
    proposal_accept(proposal=proposal, by=concierge, note="")
    client.logout()
    history = client.get(f"/lieux/{place.slug}/communs/{commons.slug}/historique/")
    page = history.content.decode()
    assert history.status_code == 200
    assert "discrete@example.org" not in page and "Discrète" not in page
    assert "un·e membre du lieu" in page
    assert Commons.objects.get(pk=commons.pk).summary == "Mieux dit."
