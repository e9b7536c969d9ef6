"""Events that use a room, repeat, change or are cancelled."""

import datetime as dt
import zoneinfo

import pytest

from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.models import OutboxMessage
from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.models import Event, Registration
from conciergerie.spaces import services as spaces
from conciergerie.spaces.models import Booking
from tests.events.conftest import SOON, make_event, visitor

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture
def room(place):
    return spaces.resource_create(place=place, by=None, name="Grande salle", horizon_days=3650)


def test_an_event_in_a_room_books_the_room(place, room):
    event = make_event(place, resource=room)
    booking = event.room_booking
    assert booking is not None and booking.resource == room
    assert (booking.start_at, booking.end_at) == (event.start_at, event.end_at)
    assert booking.status == Booking.Status.CONFIRMED
    # Nobody else can then book the room over the event.
    with pytest.raises(Conflict):
        spaces.booking_create(
            resource=room,
            by=None,
            level=Level.CONCIERGE,
            start=event.start_at + dt.timedelta(minutes=30),
            end=event.end_at,
        )


def test_a_room_already_taken_refuses_the_event_and_writes_nothing(place, room):
    spaces.booking_create(
        resource=room, by=None, level=Level.CONCIERGE, start=SOON, end=SOON + dt.timedelta(hours=1)
    )
    with pytest.raises(InvalidInput) as caught:
        make_event(place, resource=room, title="Conflit")
    assert "resource" in caught.value.errors
    assert not Event.objects.filter(title="Conflit").exists()


def test_moving_an_event_moves_its_room_booking(place, room):
    event = make_event(place, resource=room)
    old = event.room_booking
    later = event.start_at + dt.timedelta(days=1)
    event = services.event_update(
        event=event, by=None, start_at=later, end_at=later + dt.timedelta(hours=2)
    )
    old.refresh_from_db()
    assert old.status == Booking.Status.CANCELLED
    assert event.room_booking.start_at == later


def test_capacity_cannot_go_below_the_seats_taken(place):
    event = make_event(place, capacity=5)
    visitor(event, attendees=[{}, {"name": "B"}, {"name": "C"}])
    with pytest.raises(InvalidInput) as caught:
        services.event_update(event=event, by=None, capacity=2)
    assert "capacity" in caught.value.errors
    event.refresh_from_db()
    assert event.capacity == 5
    assert services.event_update(event=event, by=None, capacity=3).capacity == 3


def test_a_new_date_is_told_to_the_people_registered(place, django_capture_on_commit_callbacks):
    event = make_event(place)
    visitor(event, notify=False)
    later = event.start_at + dt.timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        services.event_update(
            event=event, by=None, start_at=later, end_at=later + dt.timedelta(hours=2)
        )
    assert OutboxMessage.objects.filter(subject__startswith="Changement").count() == 1


def test_cancelling_an_event_cancels_registrations_and_frees_the_room(
    place, room, django_capture_on_commit_callbacks
):
    event = make_event(place, resource=room)
    reg = visitor(event, notify=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.event_cancel(event=event, by=None, reason="Intervenant malade")
    reg.refresh_from_db()
    assert reg.status == Registration.Status.CANCELLED
    event.refresh_from_db()
    assert event.room_booking_id is None
    assert Booking.objects.get(resource=room).status == Booking.Status.CANCELLED
    message = OutboxMessage.objects.get(subject__startswith="Évènement annulé")
    assert "Intervenant malade" in message.body
    with pytest.raises(Conflict):
        visitor(event, email="tard@example.org")


def test_a_weekly_series_keeps_the_local_hour_across_the_clock_change(place):
    # 20 October 2026 18:00 in Paris; the clocks go back on 25 October.
    start = dt.datetime(2031, 10, 20, 18, tzinfo=PARIS)
    events = services.event_series_create(
        place=place,
        by=None,
        every_days=7,
        count=3,
        title="Repair café",
        start_at=start,
        end_at=start + dt.timedelta(hours=2),
    )
    assert [e.start_at.astimezone(PARIS).hour for e in events] == [18, 18, 18]
    assert len({e.series for e in events}) == 1
    assert [e.start_at.astimezone(PARIS).day for e in events] == [20, 27, 3]


def test_a_series_with_one_bad_date_creates_nothing(place, room):
    start = SOON + dt.timedelta(days=7)
    spaces.booking_create(
        resource=room,
        by=None,
        level=Level.CONCIERGE,
        start=start,
        end=start + dt.timedelta(hours=1),
    )
    with pytest.raises(InvalidInput) as caught:
        services.event_series_create(
            place=place,
            by=None,
            every_days=7,
            count=3,
            title="Série",
            resource=room,
            start_at=SOON,
            end_at=SOON + dt.timedelta(hours=2),
        )
    assert "resource" in caught.value.errors
    assert not Event.objects.filter(title="Série").exists()
