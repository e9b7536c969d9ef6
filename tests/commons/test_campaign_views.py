"""Campaign pages: who sees and does what, amounts typed and shown the French way, pledges
refused once a campaign is over, contributors, tenancy and flat query counts."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.commons.models import Campaign, Pledge
from conciergerie.commons.selectors.campaigns import today_at
from conciergerie.commons.services.campaigns import campaign_create, campaign_update, pledge_create
from conciergerie.core import services as core
from tests.commons.conftest import make_commons
from tests.conftest import login
from tests.factories import make_place, make_user

pytestmark = pytest.mark.django_db


def url(name, place, *args):
    return reverse(f"commons:{name}", args=[place.slug, *args])


def text(response):
    """The page as read: entities decoded, no-break spaces as plain spaces."""
    content = html.unescape(response.content.decode())
    return content.replace("\u00a0", " ").replace("\u202f", " ")


def queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


@pytest.fixture
def commons(place):
    return make_commons(place)


@pytest.fixture
def campaign(place, commons):
    return campaign_create(
        place=place,
        by=None,
        commons=commons,
        title="Soutenir Paheko",
        description="Pour la **traduction**.",
        goal=Decimal("1000.00"),
        ends_on=today_at(place) + dt.timedelta(days=10),
    )


def add_pledge(campaign, amount="10.00", name="Sam", **over):
    over.setdefault("public", True)
    return pledge_create(
        campaign=campaign,
        by=over.pop("by", None),
        amount=Decimal(amount),
        pledger_name=name,
        pledger_email="",
        **over,
    )


def close(campaign):
    campaign_update(
        campaign=campaign,
        by=None,
        commons=campaign.commons,
        title=campaign.title,
        description=campaign.description,
        goal=campaign.goal,
        ends_on=today_at(campaign.place) - dt.timedelta(days=1),
    )


class TestAccess:
    def test_anyone_sees_campaigns(self, client, place, campaign):
        assert client.get(url("campaigns", place)).status_code == 200
        response = client.get(url("campaign", place, campaign.uuid))
        assert response.status_code == 200
        content = text(response)
        assert "Connectez-vous" in content  # no form for visitors
        assert 'name="amount"' not in content

    @pytest.mark.parametrize("name", ["campaign_new", "campaign_edit"])
    def test_managing_is_for_the_team(self, client, place, campaign, member, concierge, name):
        args = [] if name == "campaign_new" else [campaign.uuid]
        response = client.get(url(name, place, *args))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("core:login"))
        login(client, member)
        assert client.get(url(name, place, *args)).status_code == 403
        login(client, concierge)
        assert client.get(url(name, place, *args)).status_code == 200

    def test_pledging_is_for_members(self, client, place, campaign):
        data = {"amount": "10", "pledger_name": "Sam", "public": "on"}
        response = client.post(url("pledge", place, campaign.uuid), data)
        assert response.status_code == 302 and response["Location"].startswith(
            reverse("core:login")
        )
        login(client, make_user())  # an account without a role here
        assert client.post(url("pledge", place, campaign.uuid), data).status_code == 403
        assert client.get(url("pledge", place, campaign.uuid)).status_code in (403, 405)
        assert not Pledge.objects.exists()

    def test_tenancy(self, client, place, other_place, campaign):
        assert client.get(url("campaign", other_place, campaign.uuid)).status_code == 404
        campaign_create(
            place=other_place,
            by=None,
            commons=make_commons(other_place),
            title="Campagne d'ailleurs",
            description="",
            goal=Decimal("50"),
            ends_on=today_at(other_place),
        )
        listing = text(client.get(url("campaigns", place)))
        assert "Soutenir Paheko" in listing and "Campagne d'ailleurs" not in listing

    def test_member_of_another_place_cannot_pledge_here(self, client, place, other_place, campaign):
        login(client, make_user(place=other_place, role="admin"))
        response = client.post(
            url("pledge", place, campaign.uuid), {"amount": "5", "pledger_name": "X"}
        )
        assert response.status_code == 403


class TestPledging:
    def test_member_pledges_in_french_format(self, client, place, campaign, member):
        login(client, member)
        page = text(client.get(url("campaign", place, campaign.uuid)))
        assert 'name="amount"' in page
        response = client.post(
            url("pledge", place, campaign.uuid),
            {
                "amount": "12,50 €",
                "pledger_name": "Sam Membre",
                "pledger_email": "",
                "public": "on",
            },
        )
        assert response.status_code == 302
        made = Pledge.objects.get()
        assert made.amount == Decimal("12.50") and made.created_by == member
        content = text(client.get(url("campaign", place, campaign.uuid)))
        assert "Sam Membre" in content
        assert "12,50 €" in content
        assert "Annuler ma promesse" in content

    def test_bad_amount_is_a_form_error(self, client, place, campaign, member):
        login(client, member)
        response = client.post(
            url("pledge", place, campaign.uuid), {"amount": "douze", "pledger_name": "Sam"}
        )
        assert response.status_code == 400
        assert "n'est pas un montant" in text(response)
        response = client.post(
            url("pledge", place, campaign.uuid), {"amount": "0,50", "pledger_name": "Sam"}
        )
        assert response.status_code == 400
        assert "Le montant va de 1,00" in text(response)
        assert not Pledge.objects.exists()

    def test_refused_after_the_end_with_a_message(self, client, place, campaign, member):
        login(client, member)
        close(campaign)
        response = client.post(
            url("pledge", place, campaign.uuid),
            {"amount": "20", "pledger_name": "Sam", "public": "on"},
            follow=True,
        )
        content = text(response)
        assert "Cette campagne est terminée depuis le" in content
        assert 'name="amount"' not in content
        assert not Pledge.objects.exists()

    def test_anonymous_pledge_shows_anonyme(self, client, place, campaign, member):
        login(client, member)
        client.post(
            url("pledge", place, campaign.uuid),
            {
                "amount": "30",
                "pledger_name": "Dominique Discrète",
                "pledger_email": "d@example.org",
            },
        )
        client.logout()
        content = text(client.get(url("campaign", place, campaign.uuid)))
        assert "Dominique Discrète" not in content and "anonyme" in content
        assert "d@example.org" not in content

    def test_team_sees_names_and_emails(self, client, place, campaign, concierge):
        add_pledge(campaign, name="Dominique Discrète", public=False)
        login(client, concierge)
        content = text(client.get(url("campaign", place, campaign.uuid)))
        assert "Dominique Discrète" in content

    def test_pledge_on_behalf_of_a_place(self, client, place, campaign, member):
        own_place = make_place(name="La Ressourcerie")
        runner = make_user(place=place, role="member")
        core.role_set(place=own_place, user=runner, role="admin", by=None)
        login(client, runner)
        page = text(client.get(url("campaign", place, campaign.uuid)))
        assert "au nom de La Ressourcerie" in page
        response = client.post(
            url("pledge", place, campaign.uuid),
            {"amount": "250", "pledge_as": str(own_place.uuid), "pledger_name": ""},
        )
        assert response.status_code == 302
        made = Pledge.objects.get()
        assert made.pledger_place == own_place and made.pledger_name == "La Ressourcerie"
        # A place it does not run is not in the choices.
        response = client.post(
            url("pledge", place, campaign.uuid),
            {"amount": "250", "pledge_as": str(make_place().uuid), "pledger_name": ""},
        )
        assert response.status_code == 400

    def test_cancel_own_pledge(self, client, place, campaign, member):
        mine = add_pledge(campaign, by=member)
        theirs = add_pledge(campaign, by=make_user(place=place, role="member"))
        login(client, member)
        response = client.post(url("pledge_cancel", place, campaign.uuid), {"pledge": theirs.pk})
        assert response.status_code == 302
        assert Pledge.objects.filter(pk=theirs.pk).exists()
        client.post(url("pledge_cancel", place, campaign.uuid), {"pledge": mine.pk})
        assert not Pledge.objects.filter(pk=mine.pk).exists()

    def test_cancel_pledge_of_another_campaign_is_refused(
        self, client, place, commons, campaign, member
    ):
        other = campaign_create(
            place=place,
            by=None,
            commons=commons,
            title="Autre",
            description="",
            goal=Decimal("10"),
            ends_on=today_at(place),
        )
        mine = add_pledge(other, by=member)
        login(client, member)
        response = client.post(
            url("pledge_cancel", place, campaign.uuid), {"pledge": mine.pk}, follow=True
        )
        assert "n'existe plus" in text(response)
        assert Pledge.objects.filter(pk=mine.pk).exists()


class TestProgress:
    def test_bar_capped_real_figure_shown(self, client, place, campaign):
        add_pledge(campaign, amount="1200")
        add_pledge(campaign, amount="300")
        content = text(client.get(url("campaign", place, campaign.uuid)))
        assert 'value="100"' in content
        assert "150 % de l'objectif" in content
        assert "2 contributions" in content
        assert "encore 10 jours" in content

    @pytest.mark.parametrize("role", [None, "member", "concierge"])
    def test_campaign_page_query_count_is_flat(self, client, place, campaign, role):
        if role:
            login(client, make_user(place=place, role=role))
        network_place = make_place(name="Lieu ami")
        runner = make_user(place=network_place, role="admin")
        add_pledge(campaign)
        one = queries(client, url("campaign", place, campaign.uuid))
        for n in range(2):
            add_pledge(campaign, amount=f"{n + 1}", name=f"Personne {n}", public=bool(n % 2))
        for _n in range(2):
            add_pledge(campaign, by=runner, pledger_place=network_place, name="")
        assert Pledge.objects.count() == 5
        assert queries(client, url("campaign", place, campaign.uuid)) == one

    def test_list_query_count_is_flat(self, client, place, commons, campaign):
        add_pledge(campaign)
        one = queries(client, url("campaigns", place))
        for n in range(4):
            other = campaign_create(
                place=place,
                by=None,
                commons=make_commons(place, name=f"Commun {n}", url=f"https://c{n}.example"),
                title=f"Campagne {n}",
                description="",
                goal=Decimal("100"),
                ends_on=today_at(place),
            )
            add_pledge(other)
        assert queries(client, url("campaigns", place)) == one


class TestManaging:
    def test_concierge_opens_a_campaign(self, client, place, commons, concierge):
        login(client, concierge)
        form = client.get(url("campaign_new", place) + f"?commun={commons.uuid}")
        assert f'value="{commons.uuid}" selected' in form.content.decode()
        ends = today_at(place) + dt.timedelta(days=20)
        response = client.post(
            url("campaign_new", place),
            {
                "commons": str(commons.uuid),
                "title": "Traduire Paheko",
                "description": "",
                "goal": "5 000,50",
                "ends_on": ends.isoformat(),
            },
        )
        assert response.status_code == 302
        campaign = Campaign.objects.get()
        assert response["Location"] == campaign.get_absolute_url()
        assert (campaign.goal, campaign.ends_on, campaign.created_by) == (
            Decimal("5000.50"),
            ends,
            concierge,
        )
        assert "5 000,50 €" in text(client.get(campaign.get_absolute_url()))

    def test_past_end_date_is_refused(self, client, place, commons, concierge):
        login(client, concierge)
        response = client.post(
            url("campaign_new", place),
            {
                "commons": str(commons.uuid),
                "title": "Trop tard",
                "goal": "100",
                "ends_on": (today_at(place) - dt.timedelta(days=1)).isoformat(),
            },
        )
        assert response.status_code == 400
        assert "déjà passée" in text(response)
        assert not Campaign.objects.exists()

    def test_edit_keeps_values(self, client, place, campaign, concierge):
        login(client, concierge)
        form = text(client.get(url("campaign_edit", place, campaign.uuid)))
        assert 'value="1000,00"' in form
        response = client.post(
            url("campaign_edit", place, campaign.uuid),
            {
                "commons": str(campaign.commons.uuid),
                "title": campaign.title,
                "description": campaign.description,
                "goal": "1 500",
                "ends_on": campaign.ends_on.isoformat(),
            },
        )
        assert response.status_code == 302
        campaign.refresh_from_db()
        assert campaign.goal == Decimal("1500.00")
