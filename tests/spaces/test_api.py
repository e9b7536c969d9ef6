"""The spaces JSON API: resources, availability, bookings."""

import json

import pytest

from conciergerie.core import services as core
from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from conciergerie.spaces.models import Booking
from tests.factories import make_person, make_user
from tests.spaces.conftest import WEEK, local

DAY = (2030, 3, 12)  # a Tuesday, winter time in Paris (+01:00)


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {core.token_create(user=user)}"}


def iso(h, mi=0, day=DAY):
    return local(*day, h, mi).isoformat()


def book(resource, person, h1, h2, level=Level.MEMBER):
    return services.booking_create(
        resource=resource,
        by=person.user,
        level=level,
        start=local(*DAY, h1),
        end=local(*DAY, h2),
        person=person,
    )


def post(client, user, body):
    return client.post(
        "/api/v1/bookings", json.dumps(body), content_type="application/json", **bearer(user)
    )


@pytest.fixture
def other(place):
    user = make_user(place=place, role="member", email="remi@example.org")
    person = make_person(place=place, first_name="Rémi", user=user)
    return user, person


@pytest.fixture
def elsewhere(other_place):
    other_place.opening_hours = WEEK
    other_place.save()
    resource = services.resource_create(
        place=other_place, by=None, name="Atelier bois", kind="machine", horizon_days=3650
    )
    user = make_user(place=other_place, role="member", email="ailleurs@example.org")
    person = make_person(place=other_place, first_name="Ava", user=user)
    booking = services.booking_create(
        resource=resource,
        by=user,
        level=Level.MEMBER,
        start=local(*DAY, 10),
        end=local(*DAY, 11),
        person=person,
    )
    return resource, user, booking


class TestResources:
    def test_lists_the_place_resources(self, client, room, member):
        user, _ = member
        data = client.get("/api/v1/resources", {"place": "etabli"}, **bearer(user)).json()
        assert len(data) == 1
        r = data[0]
        assert r["id"] == str(room.uuid)
        assert r["name"] == "Salle Jaune" and r["kind"] == "salle" and r["capacity"] == 1
        assert set(r["features"]) == {"vidéoprojecteur", "écran"}
        assert r["requires_qualification"] is False and r["requires_approval"] is False

    def test_place_is_inferred_for_a_single_place_caller(self, client, room, member):
        user, _ = member
        data = client.get("/api/v1/resources", **bearer(user)).json()
        assert [r["id"] for r in data] == [str(room.uuid)]

    def test_unknown_place_is_404(self, client, room):
        assert client.get("/api/v1/resources", {"place": "nope"}).status_code == 404

    def test_inactive_resources_only_for_the_team(self, client, room, member, concierge):
        services.resource_update(resource=room, by=None, active=False)
        user, _ = member
        assert client.get("/api/v1/resources", {"place": "etabli"}, **bearer(user)).json() == []
        team = client.get("/api/v1/resources", {"place": "etabli"}, **bearer(concierge)).json()
        assert len(team) == 1

    def test_another_place_resources_never_appear(self, client, room, member, elsewhere):
        user, _ = member
        data = client.get("/api/v1/resources", {"place": "etabli"}, **bearer(user)).json()
        assert str(elsewhere[0].uuid) not in {r["id"] for r in data}
        there = client.get("/api/v1/resources", {"place": "autre-lieu"}).json()
        assert [r["id"] for r in there] == [str(elsewhere[0].uuid)]


class TestAvailability:
    def url(self, resource):
        return f"/api/v1/resources/{resource.uuid}/availability"

    def test_gaps_around_an_existing_booking(self, client, room, member):
        _user, person = member
        book(room, person, 10, 12)
        resp = client.get(self.url(room), {"start": iso(8), "end": iso(20)})
        assert resp.status_code == 200, resp.content
        assert resp.json()["free"] == [
            {"start": "2030-03-12T08:00:00+01:00", "end": "2030-03-12T10:00:00+01:00"},
            {"start": "2030-03-12T12:00:00+01:00", "end": "2030-03-12T20:00:00+01:00"},
        ]

    def test_end_before_start_is_400(self, client, room):
        resp = client.get(self.url(room), {"start": iso(12), "end": iso(10)})
        assert resp.status_code == 400
        assert "end" in resp.json()["errors"]

    def test_window_longer_than_62_days_is_400(self, client, room):
        resp = client.get(self.url(room), {"start": iso(8), "end": iso(8, day=(2030, 6, 1))})
        assert resp.status_code == 400
        assert "end" in resp.json()["errors"]

    def test_naive_datetime_is_400(self, client, room):
        resp = client.get(self.url(room), {"start": "2030-03-12T08:00:00", "end": iso(20)})
        assert resp.status_code == 400
        assert "fuseau" in resp.json()["errors"]["start"][0]

    def test_garbage_datetime_is_400(self, client, room):
        resp = client.get(self.url(room), {"start": "demain", "end": iso(20)})
        assert resp.status_code == 400
        assert "start" in resp.json()["errors"]

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            ("9999-12-31T20:00:00-05:00", "9999-12-31T22:00:00-05:00"),
            ("0001-01-01T00:00:00+14:00", "0001-01-01T10:00:00+14:00"),
        ],
    )
    def test_dates_at_the_ends_of_the_calendar_are_400(self, client, room, member, start, end):
        resp = client.get(self.url(room), {"start": start, "end": end})
        assert resp.status_code == 400, resp.content
        assert "hors limites" in resp.json()["errors"]["start"][0]
        resp = post(client, member[0], {"resource": str(room.uuid), "start": start, "end": end})
        assert resp.status_code == 400, resp.content
        assert not room.bookings.exists()

    def test_unknown_resource_is_404(self, client, room):
        url = "/api/v1/resources/00000000-0000-0000-0000-000000000000/availability"
        assert client.get(url, {"start": iso(8), "end": iso(20)}).status_code == 404

    def test_seats_above_capacity_has_no_free_time(self, client, room):
        resp = client.get(self.url(room), {"start": iso(8), "end": iso(20), "seats": 2})
        assert resp.status_code == 200 and resp.json()["free"] == []


class TestCreate:
    def test_member_books_for_themself(self, client, room, member):
        user, person = member
        resp = post(client, user, {"resource": str(room.uuid), "start": iso(10), "end": iso(12)})
        assert resp.status_code == 201, resp.content
        data = resp.json()
        booking = Booking.objects.get(uuid=data["id"])
        assert booking.person == person and booking.created_by == user
        assert data["resource"] == str(room.uuid)
        assert data["start"] == "2030-03-12T10:00:00+01:00"
        assert data["end"] == "2030-03-12T12:00:00+01:00"
        assert data["seats"] == 1 and data["status"] == "confirmee"
        assert data["amount_due"] == "0.00"

    def test_overlap_is_409_naming_the_interval(self, client, room, member, other):
        book(room, member[1], 10, 12)
        resp = post(
            client, other[0], {"resource": str(room.uuid), "start": iso(11), "end": iso(13)}
        )
        assert resp.status_code == 409
        detail = resp.json()["detail"]
        assert "12/03/2030 10:00" in detail and "12:00" in detail

    def test_end_before_start_is_400_with_field_errors(self, client, room, member):
        resp = post(
            client, member[0], {"resource": str(room.uuid), "start": iso(12), "end": iso(10)}
        )
        assert resp.status_code == 400
        assert resp.json()["errors"]["end"]
        assert not Booking.objects.exists()

    def test_naive_datetime_is_400(self, client, room, member):
        resp = post(
            client,
            member[0],
            {"resource": str(room.uuid), "start": "2030-03-12T10:00:00", "end": iso(12)},
        )
        assert resp.status_code == 400
        assert "fuseau" in resp.json()["errors"]["start"][0]

    def test_unknown_resource_is_a_field_error(self, client, room, member):
        resp = post(
            client,
            member[0],
            {"resource": "00000000-0000-0000-0000-000000000000", "start": iso(10), "end": iso(12)},
        )
        assert resp.status_code == 400
        assert "resource" in resp.json()["errors"]

    def test_malformed_body_is_400(self, client, room, member):
        resp = post(client, member[0], {"resource": "pas-un-uuid", "start": iso(10)})
        assert resp.status_code == 400
        assert {"resource", "end"} <= set(resp.json()["errors"])

    def test_anonymous_cannot_book(self, client, room):
        resp = client.post(
            "/api/v1/bookings",
            json.dumps({"resource": str(room.uuid), "start": iso(10), "end": iso(12)}),
            content_type="application/json",
        )
        assert resp.status_code in (401, 403)
        assert not Booking.objects.exists()

    def test_member_cannot_book_for_someone_else(self, client, room, member, other):
        resp = post(
            client,
            member[0],
            {
                "resource": str(room.uuid),
                "start": iso(10),
                "end": iso(12),
                "person": str(other[1].uuid),
            },
        )
        assert resp.status_code == 403

    def test_concierge_books_for_a_person(self, client, room, concierge, other):
        resp = post(
            client,
            concierge,
            {
                "resource": str(room.uuid),
                "start": iso(10),
                "end": iso(12),
                "person": str(other[1].uuid),
            },
        )
        assert resp.status_code == 201
        assert Booking.objects.get(uuid=resp.json()["id"]).person == other[1]

    def test_member_of_another_place_cannot_book_here(self, client, room, elsewhere):
        resp = post(
            client, elsewhere[1], {"resource": str(room.uuid), "start": iso(10), "end": iso(12)}
        )
        assert resp.status_code == 403
        assert not Booking.objects.filter(resource=room).exists()


class TestListAndCancel:
    def test_member_sees_only_their_own_bookings(self, client, room, member, other):
        mine = book(room, member[1], 10, 11)
        book(room, other[1], 12, 13)
        data = client.get(
            "/api/v1/bookings", {"resource": str(room.uuid)}, **bearer(member[0])
        ).json()
        assert data["count"] == 1
        assert [b["id"] for b in data["items"]] == [str(mine.uuid)]

    def test_concierge_sees_all_and_window_filters(self, client, room, member, other, concierge):
        book(room, member[1], 10, 11)
        late = book(room, other[1], 12, 13)
        data = client.get("/api/v1/bookings", {"place": "etabli"}, **bearer(concierge)).json()
        assert data["count"] == 2
        data = client.get(
            "/api/v1/bookings",
            {"place": "etabli", "start": iso(11, 30), "end": iso(20)},
            **bearer(concierge),
        ).json()
        assert [b["id"] for b in data["items"]] == [str(late.uuid)]

    def test_anonymous_sees_no_bookings(self, client, room, member):
        book(room, member[1], 10, 11)
        data = client.get("/api/v1/bookings", {"place": "etabli"}).json()
        assert data["count"] == 0

    def test_another_place_bookings_never_visible(self, client, room, member, concierge, elsewhere):
        resource, _user, booking = elsewhere
        book(room, member[1], 10, 11)
        data = client.get("/api/v1/bookings", {"place": "etabli"}, **bearer(concierge)).json()
        assert str(booking.uuid) not in {b["id"] for b in data["items"]}
        there = client.get("/api/v1/bookings", {"place": "autre-lieu"}, **bearer(concierge))
        assert there.json()["count"] == 0
        mixed = client.get(
            "/api/v1/bookings",
            {"place": "etabli", "resource": str(resource.uuid)},
            **bearer(concierge),
        )
        assert mixed.status_code == 404
        gone = client.delete(f"/api/v1/bookings/{booking.uuid}", **bearer(concierge))
        assert gone.status_code == 404
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CONFIRMED

    def test_member_cancels_own_booking(self, client, room, member):
        mine = book(room, member[1], 10, 11)
        resp = client.delete(f"/api/v1/bookings/{mine.uuid}", **bearer(member[0]))
        assert resp.status_code == 200, resp.content
        assert resp.json()["status"] == "annulee"
        mine.refresh_from_db()
        assert mine.status == Booking.Status.CANCELLED

    def test_member_cannot_cancel_someone_elses(self, client, room, member, other):
        theirs = book(room, other[1], 10, 11)
        resp = client.delete(f"/api/v1/bookings/{theirs.uuid}", **bearer(member[0]))
        assert resp.status_code in (403, 404)
        theirs.refresh_from_db()
        assert theirs.status == Booking.Status.CONFIRMED

    def test_cancel_twice_is_409(self, client, room, member):
        mine = book(room, member[1], 10, 11)
        client.delete(f"/api/v1/bookings/{mine.uuid}", **bearer(member[0]))
        resp = client.delete(f"/api/v1/bookings/{mine.uuid}", **bearer(member[0]))
        assert resp.status_code == 409

    def test_cancel_past_the_deadline_is_409(self, client, room, member):
        mine = book(room, member[1], 10, 11)
        # A cancellation deadline further back than the booking is from now.
        services.resource_update(resource=room, by=None, cancel_minutes=10 * 365 * 24 * 60)
        resp = client.delete(f"/api/v1/bookings/{mine.uuid}", **bearer(member[0]))
        assert resp.status_code == 409
        assert "Trop tard" in resp.json()["detail"]

    def test_unknown_booking_is_404(self, client, member):
        url = "/api/v1/bookings/00000000-0000-0000-0000-000000000000"
        assert client.delete(url, **bearer(member[0])).status_code == 404


def test_openapi_documents_the_paths(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/resources",
        "/api/v1/resources/{resource_id}/availability",
        "/api/v1/bookings",
        "/api/v1/bookings/{booking_id}",
    ):
        assert path in doc["paths"], path
    assert {"ResourceOut", "AvailabilityOut", "BookingIn", "BookingOut", "BookingPage"} <= set(
        doc["components"]["schemas"]
    )
    assert "delete" in doc["paths"]["/api/v1/bookings/{booking_id}"]
