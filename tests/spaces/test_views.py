import pytest
from django.urls import reverse

from conciergerie.core.models import OutboxMessage
from conciergerie.spaces import services
from conciergerie.spaces.models import Booking, Closure
from tests.conftest import login
from tests.factories import make_person
from tests.spaces.conftest import local

pytestmark = pytest.mark.django_db


def url(name, place, *args):
    return reverse(f"spaces:{name}", args=[place.slug, *args])


def book_post(client, place, room, follow=False, **overrides):
    data = {"date": "2030-03-05", "start": "10:00", "end": "11:00", "seats": "1", **overrides}
    return client.post(url("book", place, room.uuid), data, follow=follow)


def test_anonymous_sees_resource_list_and_page(client, place, room):
    response = client.get(url("resources", place))
    assert response.status_code == 200
    assert "Salle Jaune" in response.content.decode()
    assert client.get(url("resource", place, room.uuid)).status_code == 200


def test_anonymous_cannot_book(client, place, room):
    response = book_post(client, place, room)
    assert response.status_code == 302 and "/connexion/" in response["Location"]
    assert not Booking.objects.exists()


def test_search_proposes_a_slot(client, place, room):
    response = client.get(
        url("resources", place),
        {
            "day": "2030-03-05",
            "start": "09:00",
            "end": "12:00",
            "minutes": "60",
            "seats": "1",
            "features": "Vidéoprojecteur",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Réserver ce créneau" not in body  # anonymous: invited to log in
    assert "09:00" in body and "10:00" in body and "Connectez-vous pour réserver" in body


def test_search_form_errors_are_shown(client, place, room):
    response = client.get(url("resources", place), {"day": "pas une date", "minutes": "60"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_member_books(member_client, place, room, member):
    response = book_post(member_client, place, room)
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("booking", place, booking.uuid)
    assert booking.person == member[1]
    assert booking.start_at == local(2030, 3, 5, 10) and booking.end_at == local(2030, 3, 5, 11)
    page = member_client.get(response["Location"])
    assert "Réservation confirmée." in page.content.decode()


def test_conflicting_post_shows_conflict_and_creates_nothing(member_client, place, room):
    other = make_person(place=place, first_name="Paul", email="paul@example.org")
    services.booking_create(
        resource=room,
        by=None,
        level=2,
        person=other,
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    response = book_post(member_client, place, room, start="10:30", end="11:30")
    body = response.content.decode()
    assert response.status_code == 409
    assert 'role="alert"' in body
    assert (
        "Créneau déjà pris : Salle Jaune est réservée du 05/03/2030 10:00 au 05/03/2030 11:00."
        in body
    )
    assert Booking.objects.count() == 1


def test_invalid_times_are_form_errors(member_client, place, room):
    response = book_post(member_client, place, room, start="10:10", end="11:10")
    assert response.status_code == 400
    assert "créneaux de 30 minutes" in response.content.decode()
    assert not Booking.objects.exists()


def test_member_sees_busy_not_who(member_client, client, place, room, concierge):
    other = make_person(place=place, first_name="Paul", last_name="Secret")
    services.booking_create(
        resource=room,
        by=None,
        level=3,
        person=other,
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    page = member_client.get(url("resource", place, room.uuid), {"week": "2030-03-05"})
    body = page.content.decode()
    assert "Occupé" in body and "Secret" not in body
    client.logout()
    login(client, concierge)
    body = client.get(url("resource", place, room.uuid), {"week": "2030-03-05"}).content.decode()
    assert "Paul Secret" in body


def test_member_gets_403_on_out_of_service(member_client, place, room):
    response = member_client.post(
        url("out_of_service", place, room.uuid),
        {
            "closure-start": "2030-03-05T09:00",
            "closure-end": "2030-03-05T12:00",
            "closure-reason": "Panne",
        },
    )
    assert response.status_code == 403
    assert not Closure.objects.exists()


def test_concierge_puts_out_of_service(client, place, room, member, concierge):
    booking = services.booking_create(
        resource=room,
        by=None,
        level=2,
        person=member[1],
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    login(client, concierge)
    response = client.post(
        url("out_of_service", place, room.uuid),
        {
            "closure-start": "2030-03-05T09:00",
            "closure-end": "2030-03-05T12:00",
            "closure-reason": "Fuite d'eau",
        },
        follow=True,
    )
    body = response.content.decode()
    assert "1 réservation(s) annulée(s)" in body and "prévenues" in body
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert Closure.objects.get().start_at == local(2030, 3, 5, 9)


def test_concierge_out_of_service_errors_shown(client, place, room, concierge):
    login(client, concierge)
    response = client.post(
        url("out_of_service", place, room.uuid),
        {
            "closure-start": "2030-03-05T12:00",
            "closure-end": "2030-03-05T09:00",
            "closure-reason": "Panne",
        },
    )
    assert response.status_code == 400
    assert "La fin doit être après le début." in response.content.decode()


def test_member_cancels_own_booking(member_client, place, room, member):
    booking = services.booking_create(
        resource=room,
        by=None,
        level=2,
        person=member[1],
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    response = member_client.post(
        url("booking_action", place, booking.uuid), {"action": "cancel"}, follow=True
    )
    assert "Réservation annulée." in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_member_cannot_check_in(member_client, place, room, member):
    booking = services.booking_create(
        resource=room,
        by=None,
        level=2,
        person=member[1],
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    response = member_client.post(
        url("booking_action", place, booking.uuid), {"action": "check_in"}
    )
    assert response.status_code == 403


def test_member_cannot_see_others_booking(member_client, place, room):
    other = make_person(place=place, first_name="Paul")
    booking = services.booking_create(
        resource=room,
        by=None,
        level=3,
        person=other,
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    assert member_client.get(url("booking", place, booking.uuid)).status_code == 404


def test_concierge_approves_and_checks_in(client, place, room, member, concierge):
    services.resource_update(resource=room, by=None, requires_approval=True)
    room.refresh_from_db()
    booking = services.booking_create(
        resource=room,
        by=member[0],
        level=2,
        person=member[1],
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    assert booking.status == Booking.Status.PENDING
    login(client, concierge)
    target = url("booking_action", place, booking.uuid)
    assert (
        "Demande acceptée."
        in client.post(target, {"action": "approve"}, follow=True).content.decode()
    )
    assert (
        "Arrivée enregistrée."
        in client.post(target, {"action": "check_in"}, follow=True).content.decode()
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.checked_in_at is not None


def test_pending_booking_message(member_client, place, room):
    services.resource_update(resource=room, by=None, requires_approval=True)
    response = book_post(member_client, place, room, follow=True)
    assert "Demande envoyée" in response.content.decode()


def test_my_bookings(member_client, place, room, member):
    services.booking_create(
        resource=room,
        by=None,
        level=2,
        person=member[1],
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )
    response = member_client.get(url("my_bookings", place))
    assert response.status_code == 200
    assert "Salle Jaune" in response.content.decode()


def test_anonymous_my_bookings_redirects(client, place):
    assert client.get(url("my_bookings", place)).status_code == 302


def test_book_requires_post(member_client, place, room):
    assert member_client.get(url("book", place, room.uuid)).status_code == 405


def test_resource_page_query_count_is_flat(member_client, place, room, django_assert_num_queries):
    other = make_person(place=place, first_name="Paul")
    page_url = url("resource", place, room.uuid) + "?week=2030-03-04"

    def add(hour, day=5):
        services.booking_create(
            resource=room,
            by=None,
            level=3,
            person=other,
            start=local(2030, 3, day, hour),
            end=local(2030, 3, day, hour + 1),
        )

    add(9)
    member_client.get(page_url)  # warm the session
    with django_assert_num_queries(8):
        assert member_client.get(page_url).status_code == 200
    for hour in range(10, 18):
        add(hour)
        add(hour, day=6)
    with django_assert_num_queries(8):
        body = member_client.get(page_url).content.decode()
    assert body.count("Occupé") == 17
    assert OutboxMessage.objects.count() == 0
