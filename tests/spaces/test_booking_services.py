"""Booking rules, conflicts, approval, cancellation, waitlist, series, closures, charges."""

import datetime as dt
from decimal import Decimal

import pytest

from conciergerie.community.models import Membership
from conciergerie.core.errors import Conflict, InvalidInput, PermissionDenied
from conciergerie.core.models import OutboxMessage
from conciergerie.core.permissions import Level
from conciergerie.spaces import selectors, services
from conciergerie.spaces.models import Booking, Price, WaitlistEntry
from tests.factories import make_membership, make_person
from tests.spaces.conftest import local

FUTURE = (2030, 3, 12)  # a Tuesday


def book(resource, person, h1, h2, day=FUTURE, level=Level.MEMBER, **kw):
    return services.booking_create(
        resource=resource,
        by=person.user if person else None,
        level=level,
        start=local(*day, h1),
        end=local(*day, h2),
        person=person,
        **kw,
    )


def test_member_books_and_gets_an_ics_by_email(room, member, django_capture_on_commit_callbacks):
    _user, person = member
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(room, person, 10, 12)
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.start_at.tzinfo is not None and booking.start_at.utcoffset() == dt.timedelta(0)
    mail = OutboxMessage.objects.get(to="lina@example.org")
    assert "confirmée" in mail.subject
    ics = mail.attachments[0]
    assert ics["filename"] == "reservation.ics" and "BEGIN:VEVENT" in ics["content"]
    assert "DTSTART:20300312T090000Z" in ics["content"]  # 10:00 in Paris, winter time


def test_overlap_is_refused_with_the_conflicting_interval(room, member, place):
    _user, person = member
    other = make_person(place=place, first_name="Rémi")
    book(room, person, 10, 12)
    with pytest.raises(Conflict) as exc:
        book(room, other, 11, 13, level=Level.CONCIERGE)
    assert "12/03/2030 10:00" in exc.value.message and "12:00" in exc.value.message
    book(room, other, 12, 13, level=Level.CONCIERGE)  # touching is fine


def test_capacity_counts_seats(place, member):
    _user, person = member
    desks = services.resource_create(
        place=place, by=None, name="Open space", kind="bureau", capacity=3, horizon_days=3650
    )
    book(desks, person, 9, 12, seats=2)
    book(desks, person, 10, 11, seats=1)
    book(desks, person, 11, 12, seats=1)  # 2 + 1 = 3 from 11:00: full, not over
    with pytest.raises(Conflict) as exc:
        book(desks, person, 10, 11, seats=1)
    assert "Plus assez de places" in exc.value.message


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ((10, 0), (9, 0), "après le début"),
        ((6, 0), (7, 0), "horaires"),
        ((10, 10), (11, 10), "créneaux de 30"),
        ((10, 0), (10, 15), "trop courte"),
    ],
)
def test_bad_times_are_400_with_a_clear_message(room, member, start, end, message):
    _user, person = member
    with pytest.raises(InvalidInput) as exc:
        services.booking_create(
            resource=room,
            by=None,
            level=Level.MEMBER,
            person=person,
            start=local(*FUTURE, *start),
            end=local(*FUTURE, *end),
        )
    assert message in exc.value.message.lower() or message in str(exc.value.errors).lower()
    assert not Booking.objects.exists()


def test_naive_datetimes_are_refused(room, member):
    _user, person = member
    with pytest.raises(InvalidInput) as exc:
        services.booking_create(
            resource=room,
            by=None,
            level=Level.MEMBER,
            person=person,
            start=dt.datetime(2030, 3, 12, 10),
            end=dt.datetime(2030, 3, 12, 11),
        )
    assert "fuseau" in str(exc.value.errors)


def test_qualification_expired_is_told(place, member):
    _user, person = member
    laser = services.resource_create(
        place=place,
        by=None,
        name="Découpe laser",
        kind="machine",
        requires_qualification=True,
        horizon_days=3650,
    )
    with pytest.raises(PermissionDenied, match="formation"):
        book(laser, person, 10, 11)
    services.qualification_grant(
        person=person,
        resource=laser,
        by=None,
        granted_on=dt.date(2029, 1, 1),
        valid_until=dt.date(2030, 1, 31),
    )
    with pytest.raises(PermissionDenied, match="expiré le 31/01/2030"):
        book(laser, person, 10, 11)
    services.qualification_grant(
        person=person, resource=laser, by=None, granted_on=dt.date(2030, 2, 1)
    )
    assert book(laser, person, 10, 11).status == Booking.Status.CONFIRMED


def test_membership_required_and_charged_only_at_confirmation(place, member):
    _user, person = member
    room = services.resource_create(
        place=place,
        by=None,
        name="Salle Verte",
        requires_membership=True,
        requires_approval=True,
        horizon_days=3650,
        prices={
            Price.Category.MEMBER: (Price.Unit.HOUR, Decimal("10")),
            Price.Category.NON_MEMBER: (Price.Unit.HOUR, Decimal("20")),
        },
    )
    with pytest.raises(PermissionDenied, match="adhésion à jour"):
        book(room, person, 10, 11)
    make_membership(person=person, start=dt.date(2030, 1, 1), status=Membership.Status.PAID)
    pending = book(room, person, 10, 11)
    assert pending.status == Booking.Status.PENDING and pending.amount_due is None
    services.booking_decide(booking=pending, by=None, level=Level.CONCIERGE, approve=True)
    pending.refresh_from_db()
    assert pending.status == Booking.Status.CONFIRMED and pending.amount_due == Decimal("10.00")
    half = services.booking_create(
        resource=room,
        by=None,
        level=Level.CONCIERGE,
        person=person,
        start=local(*FUTURE, 14),
        end=local(*FUTURE, 14, 30),
    )
    assert half.amount_due == Decimal("5.00")  # 30 minutes at 10 €/h is 5 €, not an hour


def test_cancel_offers_the_slot_to_the_waitlist(
    room, member, place, django_capture_on_commit_callbacks
):
    _user, person = member
    other = make_person(place=place, first_name="Rémi", email="remi@example.org")
    first = book(room, person, 10, 12)
    with pytest.raises(Conflict):
        book(room, other, 10, 12, level=Level.CONCIERGE)
    services.waitlist_join(
        resource=room,
        person=other,
        by=None,
        level=Level.CONCIERGE,
        start=local(*FUTURE, 10),
        end=local(*FUTURE, 12),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=first, by=None, level=Level.CONCIERGE)
    entry = WaitlistEntry.objects.get()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert entry.booking.person == other and entry.booking.status == Booking.Status.CONFIRMED
    assert OutboxMessage.objects.filter(to="remi@example.org", subject__contains="libérée").exists()


def test_series_reports_each_conflict_and_books_the_rest(room, member, place):
    _user, person = member
    other = make_person(place=place, first_name="Rémi")
    book(room, other, 10, 12, day=(2030, 3, 26), level=Level.CONCIERGE)  # the 3rd Tuesday
    report = services.series_preview(
        resource=room,
        person=person,
        level=Level.MEMBER,
        rrule="FREQ=WEEKLY;INTERVAL=1;COUNT=4",
        first_start=local(*FUTURE, 10),
        duration=dt.timedelta(hours=2),
    )
    assert [r["ok"] for r in report] == [True, True, False, True]
    assert "déjà pris" in report[2]["problem"]
    _series, booked, skipped = services.series_create(
        resource=room,
        person=person,
        by=None,
        level=Level.MEMBER,
        rrule="FREQ=WEEKLY;COUNT=4",
        first_start=local(*FUTURE, 10),
        duration=dt.timedelta(hours=2),
    )
    assert len(booked) == 3 and len(skipped) == 1


def test_series_across_daylight_saving_keeps_local_time(room, member):
    _user, person = member
    # 2030-03-31 is the switch to summer time in France.
    report = services.series_preview(
        resource=room,
        person=person,
        level=Level.MEMBER,
        rrule="FREQ=WEEKLY;COUNT=2",
        first_start=local(2030, 3, 26, 10),
        duration=dt.timedelta(hours=1),
    )
    assert [r["start"].astimezone(local(2030, 1, 1, 0).tzinfo).hour for r in report] == [10, 10]
    assert [r["start"].hour for r in report] == [9, 8]  # in UTC


def test_out_of_service_cancels_and_tells_with_alternatives(
    room, member, place, django_capture_on_commit_callbacks
):
    _user, person = member
    other_room = services.resource_create(
        place=place, by=None, name="Salle Bleue", horizon_days=3650
    )
    booking = book(room, person, 10, 12)
    with django_capture_on_commit_callbacks(execute=True):
        _closure, hit = services.closure_create(
            place=place,
            resource=room,
            by=None,
            start=local(*FUTURE, 0),
            end=local(*FUTURE, 23),
            reason="dégât des eaux",
        )
    assert hit == [booking]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    mail = OutboxMessage.objects.filter(
        to="lina@example.org", subject__contains="indisponible"
    ).get()
    assert "dégât des eaux" in mail.body and other_room.name in mail.body
    with pytest.raises(Conflict, match="indisponible"):
        book(room, person, 14, 15)


def test_availability_counts_seats_buffers_and_closures(place, member):
    """Free time is what is left once seats, the buffer between bookings and closures are
    taken out: the sweep must agree with what booking_create would accept."""
    _user, person = member
    desks = services.resource_create(
        place=place, by=None, name="Open space", kind="bureau", capacity=3, horizon_days=3650
    )
    book(desks, person, 9, 12, seats=2, level=Level.CONCIERGE)
    book(desks, person, 10, 11, seats=1, level=Level.CONCIERGE)
    window = (local(*FUTURE, 8), local(*FUTURE, 20))
    # One seat: full only 10-11 (2 + 1 = 3).
    assert selectors.free_intervals(resource=desks, start=window[0], end=window[1]) == [
        (local(*FUTURE, 8), local(*FUTURE, 10)),
        (local(*FUTURE, 11), local(*FUTURE, 20)),
    ]
    # Two seats: only one left 9-12.
    assert selectors.free_intervals(resource=desks, start=window[0], end=window[1], seats=2) == [
        (local(*FUTURE, 8), local(*FUTURE, 9)),
        (local(*FUTURE, 12), local(*FUTURE, 20)),
    ]
    lathe = services.resource_create(
        place=place, by=None, name="Tour", kind="machine", buffer_minutes=30, horizon_days=3650
    )
    book(lathe, person, 14, 15, level=Level.CONCIERGE)
    services.closure_create(
        place=place,
        resource=lathe,
        by=None,
        start=local(*FUTURE, 17),
        end=local(*FUTURE, 18),
        reason="entretien",
    )
    assert selectors.free_intervals(resource=lathe, start=window[0], end=window[1]) == [
        (local(*FUTURE, 8), local(*FUTURE, 13, 30)),
        (local(*FUTURE, 15, 30), local(*FUTURE, 17)),
        (local(*FUTURE, 18), local(*FUTURE, 20)),
    ]
    with pytest.raises(Conflict):  # inside the buffer: the service agrees
        book(lathe, person, 15, 16, level=Level.CONCIERGE)


def test_search_returns_the_earliest_slots_first_and_counts_the_rest(place, member):
    _user, person = member
    rooms = [
        services.resource_create(place=place, by=None, name=f"Salle {i}", horizon_days=3650)
        for i in range(5)
    ]
    for i, r in enumerate(rooms):
        book(r, person, 8, 9 + i, level=Level.CONCIERGE)  # room i is free from 9 + i
    found = selectors.search(
        place=place,
        level=Level.MEMBER,
        start=local(*FUTURE, 8),
        end=local(*FUTURE, 20),
        minutes=60,
        limit=2,
    )
    assert found.total == 5
    assert [m.resource.name for m in found.matches] == ["Salle 0", "Salle 1"]
    assert [m.slot[0] for m in found.matches] == [local(*FUTURE, 9), local(*FUTURE, 10)]


def test_search_looks_past_the_first_day_and_across_midnight(place, member):
    """The search tries the first day first; a slot that starts late on it and ends the
    next day is still found, and is the earliest."""
    _user, person = member
    always = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    workshop = services.resource_create(
        place=place,
        by=None,
        name="Atelier",
        opening_hours=always,
        max_minutes=24 * 60,
        horizon_days=3650,
    )
    services.booking_create(
        resource=workshop,
        by=None,
        level=Level.CONCIERGE,
        start=local(*FUTURE, 0),
        end=local(*FUTURE, 23),
        person=person,
    )
    found = selectors.search(
        place=place,
        level=Level.CONCIERGE,
        start=local(*FUTURE, 0),
        end=local(*FUTURE, 0) + dt.timedelta(days=3),
        minutes=120,
        kind="salle",
    )
    assert [(m.resource, m.slot) for m in found.matches] == [
        (workshop, (local(*FUTURE, 23), local(2030, 3, 13, 1)))
    ]


def test_availability_search_finds_a_room_with_a_projector(room, place, member):
    _user, person = member
    services.resource_create(
        place=place, by=None, name="Petit bureau", capacity=2, horizon_days=3650
    )
    big = services.resource_create(
        place=place,
        by=None,
        name="Grande salle",
        capacity=12,
        features=["Vidéoprojecteur"],
        horizon_days=3650,
    )
    book(room, person, 14, 18)
    found = selectors.search(
        place=place,
        level=Level.MEMBER,
        start=local(*FUTURE, 14),
        end=local(*FUTURE, 18),
        minutes=120,
        seats=8,
        features=["vidéoprojecteur"],
    )
    matches = found.matches
    assert [m.resource for m in matches] == [big] and found.total == 1
    assert matches[0].slot == (local(*FUTURE, 14), local(*FUTURE, 16))
    free = selectors.free_intervals(resource=room, start=local(*FUTURE, 8), end=local(*FUTURE, 20))
    assert free == [
        (local(*FUTURE, 8), local(*FUTURE, 14)),
        (local(*FUTURE, 18), local(*FUTURE, 20)),
    ]


def test_member_cannot_cancel_someone_elses_booking(room, member, place):
    user, person = member
    other = make_person(place=place, first_name="Rémi")
    booking = book(room, other, 10, 12, level=Level.CONCIERGE)
    with pytest.raises(PermissionDenied):
        services.booking_cancel(booking=booking, by=user, level=Level.MEMBER)


def test_too_many_seats_is_said_in_the_right_number(room, place, member):
    _user, person = member
    with pytest.raises(InvalidInput) as exc:
        book(room, person, 10, 11, seats=2)
    assert exc.value.errors == {"seats": ["1 place au plus."]}
    desks = services.resource_create(
        place=place, by=None, name="Open space", kind="bureau", capacity=3, horizon_days=3650
    )
    with pytest.raises(InvalidInput) as exc:
        book(desks, person, 10, 11, seats=4)
    assert exc.value.errors == {"seats": ["3 places au plus."]}
    assert not Booking.objects.exists()
