"""The events JSON API: events and tiers, registrations, cancellation, the team's figures."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conciergerie.core import services as core
from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.models import Event, Registration, Ticket, TicketTier
from conciergerie.spaces import services as spaces
from tests.events.conftest import PARIS, SOON, make_event, visitor
from tests.factories import make_person, make_user

CONFIRMED = Registration.Status.CONFIRMED
WAITLISTED = Registration.Status.WAITLISTED


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {core.token_create(user=user)}"}


def auth(user):
    return bearer(user) if user is not None else {}


def post(client, url, body, user=None):
    return client.post(url, json.dumps(body), content_type="application/json", **auth(user))


def register(client, event, body, user=None):
    return post(client, f"/api/v1/events/{event.uuid}/registrations", body, user)


def counts():
    return (Registration.objects.count(), Ticket.objects.count())


def ids(data):
    return [item["id"] for item in data["items"]]


def events(client, user=None, **params):
    params.setdefault("place", "moulin")
    resp = client.get("/api/v1/events", params, **auth(user))
    assert resp.status_code == 200, resp.content
    return resp.json()


CAMILLE = {"name": "Camille Martin", "email": "camille@example.org"}


@pytest.fixture
def members_event(place):
    return make_event(place, title="Assemblée des membres", visibility="membres")


@pytest.fixture
def private_event(place):
    return make_event(place, title="Réunion d'équipe", visibility="prive")


@pytest.fixture
def elsewhere(other_place):
    """Another place with a public and a members-only event, and one of its members."""
    public = make_event(other_place, title="Zz public ailleurs")
    members = make_event(other_place, title="Zz membres ailleurs", visibility="membres")
    user = make_user(place=other_place, role="member", email="ava@ailleurs.org")
    make_person(place=other_place, first_name="Ava", user=user)
    return public, members, user


@pytest.fixture
def small(place):
    """One seat, no waitlist."""
    return make_event(place, title="Visite", capacity=1, waitlist_enabled=False)


# --- Listing and reading -------------------------------------------------------------------------


class TestList:
    def test_item_fields(self, client, event, tiers):
        room = spaces.resource_create(place=event.place, by=None, name="Grande salle")
        walk = make_event(
            event.place,
            title="Balade",
            resource=room,
            start_at=SOON + dt.timedelta(days=1),
            end_at=SOON + dt.timedelta(days=1, hours=2),
            registration_opens_at=timezone.now() - dt.timedelta(days=1),
            online_url="https://visio.example.org/balade",
        )
        visitor(
            event,
            attendees=[
                {"tier": tiers["standard"].pk},
                {"name": "Sam", "tier": tiers["standard"].pk},
            ],
        )
        data = events(client)
        assert data["count"] == 2 and ids(data) == [str(event.uuid), str(walk.uuid)]
        item = data["items"][0]
        assert item["place"] == "moulin" and item["title"] == "Atelier soudure"
        assert item["url"].startswith("http") and item["url"].endswith(
            f"/lieux/moulin/evenements/{event.uuid}/"
        )
        assert item["start"] == SOON.isoformat()
        assert item["end"] == (SOON + dt.timedelta(hours=2)).isoformat()
        assert item["category"] == "atelier" and item["visibility"] == "public"
        assert item["is_stay"] is False and item["nights"] == 0
        assert item["capacity"] == 10 and item["registered"] == 2 and item["available"] == 8
        assert item["waitlist_enabled"] is True and item["registration_open"] is True
        assert item["registration_opens"] is None
        assert item["registration_closes"] == SOON.isoformat()
        assert item["location"] == "" and item["online_url"] == ""
        by_name = {t["name"]: t for t in item["tiers"]}
        assert list(by_name) == ["solidaire", "standard", "soutien", "prix libre", "membre"]
        assert by_name["solidaire"]["quota"] == 2 and by_name["solidaire"]["amount"] == "5.00"
        free = by_name["prix libre"]
        assert free["pay_what_you_can"] is True and free["floor"] == "8.00"
        assert free["suggested"] == "15.00" and free["amount"] == "15.00"
        assert by_name["membre"]["members_only"] is True
        assert by_name["standard"]["id"] == str(tiers["standard"].uuid)
        other = data["items"][1]
        assert other["location"] == "Grande salle"
        assert other["online_url"] == "https://visio.example.org/balade"
        assert other["registration_opens"] is not None

    def test_stay_nights_and_amount_per_night(self, client, place):
        stay = make_event(
            place,
            title="Résidence",
            is_stay=True,
            start_at=SOON,
            end_at=SOON + dt.timedelta(days=3),
            address="12 rue des Prés, Lyon",
            tiers=[{"name": "nuit", "price": Decimal("20"), "price_unit": "nuit"}],
        )
        (item,) = events(client)["items"]
        assert item["id"] == str(stay.uuid) and item["is_stay"] is True and item["nights"] == 3
        assert item["location"] == "12 rue des Prés, Lyon"
        assert item["tiers"][0]["price"] == "20.00" and item["tiers"][0]["amount"] == "60.00"

    def test_available_counts_held_seats_and_never_goes_below_zero(self, client, small):
        visitor(small)
        (item,) = events(client)["items"]
        assert item["registered"] == 1 and item["available"] == 0

    def test_visibility_by_level(
        self, client, event, members_event, private_event, member, concierge
    ):
        assert ids(events(client)) == [str(event.uuid)]
        seen = set(ids(events(client, member[0])))
        assert seen == {str(event.uuid), str(members_event.uuid)}
        assert len(events(client, concierge)["items"]) == 3

    def test_upcoming_by_default_start_end_and_category(self, client, place, event):
        past = make_event(
            place,
            title="Passé",
            category="conference",
            start_at=timezone.now() - dt.timedelta(days=3),
            end_at=timezone.now() - dt.timedelta(days=3) + dt.timedelta(hours=1),
        )
        assert ids(events(client)) == [str(event.uuid)]
        since = (timezone.now() - dt.timedelta(days=7)).astimezone(PARIS).isoformat()
        assert ids(events(client, start=since)) == [str(past.uuid), str(event.uuid)]
        until = (timezone.now() - dt.timedelta(days=1)).astimezone(PARIS).isoformat()
        assert ids(events(client, start=since, end=until)) == [str(past.uuid)]
        assert ids(events(client, start=since, category="conference")) == [str(past.uuid)]

    def test_pagination(self, client, place):
        made = [
            make_event(
                place,
                title=f"Atelier {i}",
                start_at=SOON + dt.timedelta(days=i),
                end_at=SOON + dt.timedelta(days=i, hours=1),
            )
            for i in range(5)
        ]
        data = events(client, limit=2, offset=1)
        assert data["count"] == 5 and ids(data) == [str(e.uuid) for e in made[1:3]]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"start": "2030-03-12T10:00:00"}, "start"),
            ({"start": "demain"}, "start"),
            ({"start": "2030-03-12T10:00:00+01:00", "end": "2030-03-12T09:00:00+01:00"}, "end"),
            ({"category": "karaoke"}, "category"),
            ({"limit": "0"}, "limit"),
            ({"start": "9999-12-31T23:59:59-05:00"}, "start"),
        ],
    )
    def test_bad_filters_are_400(self, client, event, params, field):
        resp = client.get("/api/v1/events", {"place": "moulin", **params})
        assert resp.status_code == 400, resp.content
        assert field in resp.json()["errors"]

    def test_unknown_place_is_404(self, client, event):
        assert client.get("/api/v1/events", {"place": "nulle-part"}).status_code == 404

    def test_place_is_inferred_for_a_single_place_caller(self, client, event, member):
        resp = client.get("/api/v1/events", **bearer(member[0]))
        assert ids(resp.json()) == [str(event.uuid)]

    def test_query_count_is_flat(self, client, place, concierge):
        def grow(first, n):
            for i in range(first, first + n):
                e = make_event(
                    place,
                    title=f"Atelier {i}",
                    start_at=SOON + dt.timedelta(days=i),
                    end_at=SOON + dt.timedelta(days=i, hours=2),
                    tiers=[
                        {"name": "standard", "price": Decimal("10")},
                        {
                            "name": "libre",
                            "pay_what_you_can": True,
                            "floor": Decimal("2"),
                            "suggested": Decimal("5"),
                        },
                    ],
                )
                for tier in e.tiers.all():
                    visitor(e, email=f"w{i}{tier.pk}@example.org", attendees=[{"tier": tier.pk}])

        headers = bearer(concierge)

        def measure():
            with CaptureQueriesContext(connection) as ctx:
                resp = client.get("/api/v1/events", {"place": "moulin"}, **headers)
            assert resp.status_code == 200
            return len(ctx.captured_queries), resp.json()["count"]

        grow(0, 1)
        measure()  # the token's first use is written down once
        one, n = measure()
        assert n == 1
        grow(1, 9)
        ten, n = measure()
        assert n == 10
        assert ten == one, f"1 event: {one} queries, 10 events: {ten}"


class TestDetail:
    def test_same_item_as_the_list(self, client, event):
        resp = client.get(f"/api/v1/events/{event.uuid}")
        assert resp.status_code == 200
        assert resp.json() == events(client)["items"][0]

    def test_not_visible_is_404(self, client, members_event, private_event, member, concierge):
        assert client.get(f"/api/v1/events/{members_event.uuid}").status_code == 404
        resp = client.get(f"/api/v1/events/{members_event.uuid}", **bearer(member[0]))
        assert resp.status_code == 200
        url = f"/api/v1/events/{private_event.uuid}"
        assert client.get(url, **bearer(member[0])).status_code == 404
        assert client.get(url, **bearer(concierge)).status_code == 200

    def test_unknown_is_404(self, client, db):
        url = "/api/v1/events/00000000-0000-0000-0000-000000000000"
        assert client.get(url).status_code == 404


class TestTenancy:
    def test_place_b_events_never_listed_for_place_a(self, client, event, elsewhere, concierge):
        public_b, members_b, _ = elsewhere
        for user in (None, concierge):
            data = events(client, user, start="2000-01-01T00:00:00+00:00")
            assert ids(data) == [str(event.uuid)]
            assert "Zz" not in json.dumps(data)
        there = events(client, place="autre-lieu")
        assert ids(there) == [str(public_b.uuid)]

    def test_member_of_a_cannot_see_b_members_event(self, client, event, elsewhere, member):
        _public_b, members_b, user_b = elsewhere
        headers = bearer(member[0])
        assert client.get(f"/api/v1/events/{members_b.uuid}", **headers).status_code == 404
        data = client.get("/api/v1/events", {"place": "autre-lieu"}, **headers).json()
        assert str(members_b.uuid) not in ids(data)
        before = counts()
        assert register(client, members_b, {}, member[0]).status_code == 404
        assert counts() == before
        # Its own members do see it.
        resp = client.get(f"/api/v1/events/{members_b.uuid}", **bearer(user_b))
        assert resp.status_code == 200

    def test_concierge_of_a_cannot_create_in_b(self, client, event, elsewhere, concierge):
        body = {
            "place": "autre-lieu",
            "title": "Intrus",
            "start": SOON.isoformat(),
            "end": (SOON + dt.timedelta(hours=1)).isoformat(),
        }
        assert post(client, "/api/v1/events", body, concierge).status_code == 403
        assert not Event.objects.filter(title="Intrus").exists()


# --- Creating events -----------------------------------------------------------------------------


def new_event(**fields):
    body = {
        "place": "moulin",
        "title": "Repair café",
        "category": "repair_cafe",
        "start": SOON.isoformat(),
        "end": (SOON + dt.timedelta(hours=3)).isoformat(),
        "capacity": 12,
        "tiers": [
            {"name": "solidaire", "price": "3,50 €"},
            {"name": "standard", "price": 7.5},
            {"name": "libre", "pay_what_you_can": True, "floor": "2", "suggested": "6,00"},
        ],
    }
    body.update(fields)
    return body


class TestCreate:
    def test_concierge_creates_with_tiers(self, client, place, concierge):
        resp = post(client, "/api/v1/events", new_event(), concierge)
        assert resp.status_code == 201, resp.content
        data = resp.json()
        event = Event.objects.get(uuid=data["id"])
        assert event.place == place and event.title == "Repair café" and event.capacity == 12
        assert data["start"] == SOON.isoformat() and data["registered"] == 0
        prices = [(t["name"], t["price"], t["amount"]) for t in data["tiers"]]
        assert prices == [
            ("solidaire", "3.50", "3.50"),
            ("standard", "7.50", "7.50"),
            ("libre", "0.00", "6.00"),
        ]
        assert TicketTier.objects.filter(event=event).count() == 3

    def test_without_tiers_one_free_tier(self, client, place, concierge):
        resp = post(client, "/api/v1/events", new_event(tiers=[]), concierge)
        assert resp.status_code == 201
        assert [t["amount"] for t in resp.json()["tiers"]] == ["0.00"]

    def test_in_a_room_of_the_place(self, client, place, concierge):
        room = spaces.resource_create(place=place, by=None, name="Atelier")
        resp = post(client, "/api/v1/events", new_event(resource=str(room.uuid)), concierge)
        assert resp.status_code == 201 and resp.json()["location"] == "Atelier"

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"end": (SOON - dt.timedelta(hours=1)).isoformat()}, "end"),
            ({"start": "2030-03-12T10:00:00"}, "start"),
            ({"tiers": [{"name": "x", "price": "-5"}]}, "tiers.0.price"),
            ({"tiers": [{"name": "x", "price": "cinq"}]}, "tiers.0.price"),
            (
                {"tiers": [{"name": "x", "pay_what_you_can": True, "floor": 9, "suggested": 5}]},
                "tiers.0.floor",
            ),
            ({"tiers": [{"name": "x", "quota": 0}]}, "tiers.0.quota"),
            ({"tiers": [{"name": "x", "price_unit": "heure"}]}, "tiers.0.price_unit"),
            ({"resource": "00000000-0000-0000-0000-000000000000"}, "resource"),
            ({"capacity": 0}, "capacity"),
            ({"capacity": "beaucoup"}, "capacity"),
            ({"title": ""}, "title"),
            ({"title": "x" * 300}, "title"),
            ({"category": "karaoke"}, "category"),
            ({"visibility": "secret"}, "visibility"),
            ({"online_url": "pas une adresse"}, "online_url"),
            ({"registration_closes": (SOON - dt.timedelta(days=30)).isoformat()}, None),
            ({"tiers": "gratuit"}, "tiers"),
            ({"tiers": [{"name": 5}]}, "tiers.0.name"),
            ({"tiers": [{"price": 5}]}, "tiers.0.name"),
            ({"tiers": [{"name": "x", "price": [5]}]}, "tiers.0.price"),
            ({"tiers": [{"name": "x", "price": float("inf")}]}, "tiers.0.price"),
            ({"tiers": [{"name": "x", "quota": 10**30}]}, "tiers.0.quota"),
            ({"capacity": 10**30}, "capacity"),
            ({"max_per_order": -1}, "max_per_order"),
            ({"end": "9999-12-31T23:59:59-05:00"}, "end"),
            ({"resource": 12}, "resource"),
            ({"is_stay": True}, "end"),
        ],
    )
    def test_bad_input_is_400_and_writes_nothing(self, client, place, concierge, fields, field):
        body = new_event(**fields)
        if field is None:  # closes before it opens
            body["registration_opens"] = (SOON - dt.timedelta(days=20)).isoformat()
            field = "registration_closes"
        resp = post(client, "/api/v1/events", body, concierge)
        assert resp.status_code == 400, resp.content
        assert field in resp.json()["errors"], resp.json()
        assert Event.objects.count() == 0 and TicketTier.objects.count() == 0

    def test_room_of_another_place_is_refused(self, client, place, other_place, concierge):
        room = spaces.resource_create(place=other_place, by=None, name="Salle ailleurs")
        resp = post(client, "/api/v1/events", new_event(resource=str(room.uuid)), concierge)
        assert resp.status_code == 400 and "resource" in resp.json()["errors"]

    def test_member_is_403_anonymous_401(self, client, place, member):
        assert post(client, "/api/v1/events", new_event(), member[0]).status_code == 403
        resp = post(client, "/api/v1/events", new_event())
        assert resp.status_code == 401 and resp.json()["detail"]
        assert Event.objects.count() == 0


# --- Registering ---------------------------------------------------------------------------------


class TestRegister:
    def test_visitor_is_confirmed(self, client, event, tiers):
        body = {
            **CAMILLE,
            "tier": str(tiers["standard"].uuid),
            "attendees": [{}, {"name": "Sam", "tier": str(tiers["soutien"].uuid)}],
        }
        resp = register(client, event, body)
        assert resp.status_code == 201, resp.content
        data = resp.json()
        reg = Registration.objects.get(uuid=data["id"])
        assert reg.person is None and reg.visitor_email == "camille@example.org"
        assert data["event"] == str(event.uuid) and data["status"] == "confirmee"
        assert data["seats"] == 2 and data["amount_total"] == "40.00"
        assert data["offer_expires_at"] is None
        assert [(t["name"], t["tier"], t["amount"]) for t in data["tickets"]] == [
            ("Camille Martin", str(tiers["standard"].uuid), "15.00"),
            ("Sam", str(tiers["soutien"].uuid), "25.00"),
        ]

    def test_first_attendee_stands_for_the_visitor(self, client, event, tiers):
        body = {"tier": str(tiers["standard"].uuid), "attendees": [CAMILLE]}
        resp = register(client, event, body)
        assert resp.status_code == 201, resp.content
        assert Registration.objects.get().visitor_name == "Camille Martin"

    def test_french_amount_on_a_sliding_scale(self, client, event, tiers):
        body = {**CAMILLE, "tier": str(tiers["prix libre"].uuid), "amount": "12,50 €"}
        resp = register(client, event, body)
        assert resp.status_code == 201, resp.content
        assert resp.json()["amount_total"] == "12.50"
        assert Ticket.objects.get().amount == Decimal("12.50")

    def test_attendee_amount_overrides_the_top_level_one(self, client, event, tiers):
        body = {
            **CAMILLE,
            "tier": str(tiers["prix libre"].uuid),
            "amount": "10",
            "attendees": [{}, {"name": "Sam", "amount": 20.5}],
        }
        resp = register(client, event, body)
        assert resp.status_code == 201, resp.content
        assert [t["amount"] for t in resp.json()["tickets"]] == ["10.00", "20.50"]

    def test_member_registers_as_their_person(self, client, event, tiers, member):
        user, person = member
        resp = register(client, event, {"tier": str(tiers["standard"].uuid)}, user)
        assert resp.status_code == 201, resp.content
        reg = Registration.objects.get(uuid=resp.json()["id"])
        assert reg.person == person and reg.visitor_email == "lina@example.org"
        assert resp.json()["tickets"][0]["name"].startswith("Lina")

    def test_paid_member_takes_the_members_tier(self, client, event, tiers, paid_member):
        resp = register(client, event, {"tier": str(tiers["membre"].uuid)}, paid_member[0])
        assert resp.status_code == 201 and resp.json()["amount_total"] == "10.00"

    def test_concierge_registers_a_person(self, client, event, tiers, member, concierge):
        body = {"person": str(member[1].uuid), "tier": str(tiers["solidaire"].uuid)}
        resp = register(client, event, body, concierge)
        assert resp.status_code == 201, resp.content
        assert Registration.objects.get().person == member[1]

    def test_members_event_for_its_members(self, client, members_event, member):
        assert register(client, members_event, {}, member[0]).status_code == 201

    def test_full_with_waitlist_is_202(self, client, place):
        event = make_event(place, capacity=1)
        visitor(event)
        resp = register(client, event, {"name": "Sam", "email": "sam@example.org"})
        assert resp.status_code == 202, resp.content
        assert resp.json()["status"] == "liste_attente"
        assert Registration.objects.get(uuid=resp.json()["id"]).status == WAITLISTED

    # Refusals: each answers its code and writes nothing.

    def refused(self, client, event, body, status, user=None):
        before = counts()
        resp = register(client, event, body, user)
        assert resp.status_code == status, resp.content
        assert counts() == before
        data = resp.json()
        assert data["detail"] and isinstance(data["errors"], dict)
        return data

    def test_full_without_waitlist_is_409(self, client, small):
        visitor(small)
        self.refused(client, small, {"name": "Sam", "email": "sam@example.org"}, 409)

    def test_closed_window_is_409(self, client, place):
        event = make_event(place, registration_closes_at=timezone.now() - dt.timedelta(hours=1))
        self.refused(client, event, CAMILLE, 409)

    def test_not_yet_open_is_409(self, client, place):
        event = make_event(place, registration_opens_at=timezone.now() + dt.timedelta(days=1))
        self.refused(client, event, CAMILLE, 409)

    def test_already_registered_is_409(self, client, event, tiers):
        body = {**CAMILLE, "tier": str(tiers["standard"].uuid)}
        assert register(client, event, body).status_code == 201
        self.refused(client, event, body, 409)

    def test_member_registered_twice_is_409(self, client, members_event, member):
        assert register(client, members_event, {}, member[0]).status_code == 201
        self.refused(client, members_event, {}, 409, member[0])

    def test_amount_below_the_floor_is_400(self, client, event, tiers):
        body = {**CAMILLE, "tier": str(tiers["prix libre"].uuid), "amount": "5,00 €"}
        data = self.refused(client, event, body, 400)
        assert "attendees.0.amount" in data["errors"]

    def test_amount_not_a_number_is_400(self, client, event, tiers):
        body = {**CAMILLE, "tier": str(tiers["prix libre"].uuid), "amount": "douze"}
        assert "attendees.0.amount" in self.refused(client, event, body, 400)["errors"]

    def test_too_many_attendees_is_400(self, client, event, tiers):
        body = {
            **CAMILLE,
            "tier": str(tiers["standard"].uuid),
            "attendees": [{"name": f"P{i}"} for i in range(7)],
        }
        assert "attendees" in self.refused(client, event, body, 400)["errors"]

    def test_bad_email_is_400(self, client, event, tiers):
        body = {"name": "Camille", "email": "camille@", "tier": str(tiers["standard"].uuid)}
        assert "email" in self.refused(client, event, body, 400)["errors"]

    def test_bad_attendee_email_is_400(self, client, event, tiers):
        body = {
            **CAMILLE,
            "tier": str(tiers["standard"].uuid),
            "attendees": [{}, {"name": "Sam", "email": "sam@@"}],
        }
        assert "attendees.1.email" in self.refused(client, event, body, 400)["errors"]

    def test_visitor_without_name_or_email_is_400(self, client, event, tiers):
        data = self.refused(client, event, {"tier": str(tiers["standard"].uuid)}, 400)
        assert {"name", "email"} <= set(data["errors"])

    def test_tier_needed_when_several(self, client, event):
        assert "attendees.0.tier" in self.refused(client, event, CAMILLE, 400)["errors"]

    def test_unknown_tier_is_400(self, client, event, elsewhere):
        foreign = elsewhere[0].tiers.get()
        body = {**CAMILLE, "tier": str(foreign.uuid)}
        assert "attendees.0.tier" in self.refused(client, event, body, 400)["errors"]

    def test_members_tier_for_a_visitor_is_403(self, client, event, tiers):
        self.refused(client, event, {**CAMILLE, "tier": str(tiers["membre"].uuid)}, 403)

    def test_members_tier_for_an_unpaid_member_is_403(self, client, event, tiers, member):
        self.refused(client, event, {"tier": str(tiers["membre"].uuid)}, 403, member[0])

    def test_members_event_for_a_member_without_a_profile_is_403(self, client, members_event):
        user = make_user(place=members_event.place, role="member", email="sans@fiche.org")
        self.refused(client, members_event, CAMILLE, 403, user)

    def test_members_and_private_events_are_404_for_visitors(
        self, client, members_event, private_event
    ):
        self.refused(client, members_event, CAMILLE, 404)
        self.refused(client, private_event, CAMILLE, 404)

    def test_member_cannot_register_someone_else(self, client, event, tiers, member):
        other = make_person(place=event.place, first_name="Rémi", email="remi@example.org")
        body = {"person": str(other.uuid), "tier": str(tiers["standard"].uuid)}
        self.refused(client, event, body, 403, member[0])

    def test_concierge_unknown_person_is_400(self, client, event, concierge, elsewhere):
        stranger = make_person(place=elsewhere[0].place, first_name="Zz")
        data = self.refused(client, event, {"person": str(stranger.uuid)}, 400, concierge)
        assert "person" in data["errors"]

    def test_bad_token_is_401(self, client, event):
        before = counts()
        resp = client.post(
            f"/api/v1/events/{event.uuid}/registrations",
            json.dumps(CAMILLE),
            content_type="application/json",
            HTTP_AUTHORIZATION="Bearer faux",
        )
        assert resp.status_code == 401 and counts() == before

    @pytest.mark.parametrize(
        "raw",
        [
            "[]",
            '"bonjour"',
            "null",
            "42",
            "{pas du json",
            "",
            '{"attendees": "Camille"}',
            '{"attendees": [1, 2]}',
            '{"attendees": [null]}',
            '{"attendees": {"name": "Camille"}}',
            '{"attendees": [{"name": ["Camille"]}]}',
            '{"attendees": [{"name": "x", "email": "' + "a" * 300 + '@example.org"}]}',
            '{"name": 5, "email": "camille@example.org"}',
            '{"name": "C", "email": {"a": 1}}',
            '{"tier": 5}',
            '{"tier": "pas-un-uuid"}',
            '{"tier": []}',
            '{"person": "pas-un-uuid"}',
            '{"name": "C", "email": "c@example.org", "amount": [12]}',
            '{"name": "C", "email": "c@example.org", "amount": {"euros": 12}}',
            '{"name": "C", "email": "c@example.org", "amount": true}',
            '{"name": "C", "email": "c@example.org", "amount": 1e400}',
            '{"name": "C", "email": "c@example.org", "amount": NaN}',
            '{"name": "C", "email": "c@example.org", "amount": -3}',
            '{"name": "C", "email": "c@example.org", "amount": "99999999999999999999"}',
            '{"name": "C", "email": "c@example.org", "amount": 12.345}',
            '{"name": "", "email": ""}',
            '{"attendees": []}',
        ],
    )
    def test_any_json_shape_is_400_never_500(self, client, event, tiers, raw):
        # The sliding-scale tier, so that the amount matters; for bodies naming no tier
        # the event has several, which is itself a 400.
        if raw.startswith('{"name": "C"'):
            raw = raw[:-1] + f', "tier": "{tiers["prix libre"].uuid}"}}'
        before = counts()
        resp = client.post(
            f"/api/v1/events/{event.uuid}/registrations", raw, content_type="application/json"
        )
        assert resp.status_code == 400, (raw, resp.content)
        data = resp.json()
        assert data["detail"], data
        # A body that is not JSON at all has no field to name.
        assert data["errors"] or raw.startswith("{pas") or raw == "", data
        assert counts() == before

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            ("[]", "__all__"),
            ("3", "__all__"),
            ('{"attendees": [1]}', "attendees.0"),
            ('{"attendees": [null]}', "attendees.0"),
            ('{"attendees": [[]]}', "attendees.0"),
            ('{"attendees": [{"tier": {}}]}', "attendees.0.tier"),
            ('{"person": 7}', "person"),
        ],
    )
    def test_member_wrong_shapes_are_400_not_defaults(self, client, place, member, raw, field):
        # One free tier: an empty body would register the member; a wrong one must not.
        event = make_event(place, title="Portes ouvertes")
        before = counts()
        resp = client.post(
            f"/api/v1/events/{event.uuid}/registrations",
            raw,
            content_type="application/json",
            **bearer(member[0]),
        )
        assert resp.status_code == 400, (raw, resp.content)
        assert field in resp.json()["errors"], resp.json()
        assert counts() == before
        assert register(client, event, {}, member[0]).status_code == 201


# --- Cancelling and the team's views -------------------------------------------------------------


class TestCancel:
    def test_member_cancels_their_own_and_the_waitlist_gets_an_offer(self, client, place, member):
        event = make_event(place, capacity=1)
        user, person = member
        mine = register(client, event, {}, user).json()
        waiting = visitor(event)
        assert waiting.status == WAITLISTED
        resp = client.delete(f"/api/v1/registrations/{mine['id']}", **bearer(user))
        assert resp.status_code == 200, resp.content
        assert resp.json()["status"] == "annulee" and resp.json()["id"] == mine["id"]
        waiting.refresh_from_db()
        assert waiting.status == Registration.Status.OFFERED

    def test_not_someone_elses(self, client, event, tiers, member):
        theirs = visitor(event, attendees=[{"tier": tiers["standard"].pk}])
        for headers in ({}, bearer(member[0])):
            resp = client.delete(f"/api/v1/registrations/{theirs.uuid}", **headers)
            assert resp.status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == CONFIRMED

    def test_team_cancels_any_and_twice_is_409(self, client, event, tiers, concierge):
        theirs = visitor(event, attendees=[{"tier": tiers["standard"].pk}])
        url = f"/api/v1/registrations/{theirs.uuid}"
        assert client.delete(url, **bearer(concierge)).status_code == 200
        assert client.delete(url, **bearer(concierge)).status_code == 409

    def test_another_place_team_cannot(self, client, event, tiers, elsewhere):
        theirs = visitor(event, attendees=[{"tier": tiers["standard"].pk}])
        team_b = make_user(place=elsewhere[0].place, role="concierge", email="equipe@b.org")
        resp = client.delete(f"/api/v1/registrations/{theirs.uuid}", **bearer(team_b))
        assert resp.status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == CONFIRMED

    def test_unknown_is_404(self, client, concierge):
        url = "/api/v1/registrations/00000000-0000-0000-0000-000000000000"
        assert client.delete(url, **bearer(concierge)).status_code == 404


class TestTeamViews:
    @pytest.fixture
    def filled(self, event, tiers, member):
        first = visitor(
            event,
            attendees=[
                {"tier": tiers["standard"].pk},
                {"name": "Sam", "tier": tiers["soutien"].pk},
            ],
        )
        services.registration_create(
            event=event,
            by=member[0],
            level=Level.MEMBER,
            person=member[1],
            attendees=[{"tier": tiers["prix libre"].pk, "amount": "9"}],
        )
        services.ticket_check_in(ticket=first.tickets.order_by("id").first(), by=None)
        return event

    def test_registrations_with_tickets(self, client, filled, tiers, member, concierge):
        resp = client.get(f"/api/v1/events/{filled.uuid}/registrations", **bearer(concierge))
        assert resp.status_code == 200, resp.content
        data = resp.json()
        assert data["count"] == 2
        first, second = data["items"]
        assert first["name"] == "Camille Martin" and first["email"] == "camille@example.org"
        assert first["person"] is None and first["checked_in"] == 1 and first["seats"] == 2
        assert [t["checked_in"] for t in first["tickets"]] == [True, False]
        assert first["tickets"][0]["checked_in_at"] is not None
        assert first["tickets"][1]["tier"] == str(tiers["soutien"].uuid)
        assert second["person"] == str(member[1].uuid) and second["amount_total"] == "9.00"
        confirmed = client.get(
            f"/api/v1/events/{filled.uuid}/registrations",
            {"status": "liste_attente"},
            **bearer(concierge),
        ).json()
        assert confirmed["count"] == 0

    def test_registrations_query_count_is_flat(self, client, filled, tiers, concierge):
        headers = bearer(concierge)
        url = f"/api/v1/events/{filled.uuid}/registrations"

        def measure():
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url, **headers).status_code == 200
            return len(ctx.captured_queries)

        measure()  # the token's first use is written down once
        few = measure()
        for i in range(5):
            visitor(filled, email=f"x{i}@example.org", attendees=[{"tier": tiers["solidaire"].pk}])
        assert measure() == few

    def test_stats(self, client, filled, tiers, concierge):
        resp = client.get(f"/api/v1/events/{filled.uuid}/stats", **bearer(concierge))
        assert resp.status_code == 200, resp.content
        data = resp.json()
        assert data["event"] == str(filled.uuid) and data["capacity"] == 10
        assert data["registered"] == 3 and data["checked_in"] == 1 and data["waitlisted"] == 0
        assert data["revenue"] == "49.00"  # 15 + 25 + 9
        assert data["occupancy"] == pytest.approx(0.3)
        assert data["attendance_rate"] == pytest.approx(1 / 3)
        assert data["standard_price"] == "15.00" and data["average_amount"] == "16.33"
        assert data["average_vs_standard"] == pytest.approx(16.33 / 15)
        per_tier = {t["name"]: t for t in data["tiers"]}
        assert per_tier["standard"]["registered"] == 1 and per_tier["standard"]["checked_in"] == 1
        assert per_tier["prix libre"]["revenue"] == "9.00"

    @pytest.mark.parametrize("path", ["stats", "registrations"])
    def test_team_only(self, client, filled, member, path):
        url = f"/api/v1/events/{filled.uuid}/{path}"
        assert client.get(url).status_code == 401
        assert client.get(url, **bearer(member[0])).status_code == 403

    @pytest.mark.parametrize("path", ["stats", "registrations"])
    def test_not_for_another_place_team(self, client, filled, elsewhere, path):
        team_b = make_user(place=elsewhere[0].place, role="concierge", email="equipe@b.org")
        resp = client.get(f"/api/v1/events/{filled.uuid}/{path}", **bearer(team_b))
        assert resp.status_code == 403
        private = make_event(filled.place, title="Privé", visibility="prive")
        resp = client.get(f"/api/v1/events/{private.uuid}/{path}", **bearer(team_b))
        assert resp.status_code == 404


def test_openapi_documents_the_events_paths(client, db):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    for path in (
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/events/{event_id}/registrations",
        "/api/v1/events/{event_id}/stats",
        "/api/v1/registrations/{registration_id}",
    ):
        assert path in doc["paths"], path
    assert {"get", "post"} <= set(doc["paths"]["/api/v1/events"])
    assert {"get", "post"} <= set(doc["paths"]["/api/v1/events/{event_id}/registrations"])
    assert "delete" in doc["paths"]["/api/v1/registrations/{registration_id}"]
    assert {"EventOut", "EventIn", "RegistrationIn", "RegistrationOut", "EventStatsOut"} <= set(
        doc["components"]["schemas"]
    )


def test_a_cancelled_event_says_so_and_is_not_open(client, place):
    event = make_event(place)
    services.event_cancel(event=event, by=None)
    item = client.get(f"/api/v1/events/{event.uuid}").json()
    assert item["cancelled"] is True and item["registration_open"] is False
