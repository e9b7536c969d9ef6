"""The credit ledger: plan credits and packs taken by confirmed bookings, given back on a
cancellation within policy, never outside a subscription's days."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from conciergerie.billing.models import CreditKind, CreditLot, CreditUse, Invoice, Product
from conciergerie.billing.selectors.subscriptions import credit_balance
from conciergerie.billing.services.credits import (
    credit_need,
    credits_give_back,
    credits_take,
    pack_lots_grant,
    pack_sell,
)
from conciergerie.billing.services.subscriptions import (
    subscription_cancel,
    subscription_create,
    subscription_pause,
)
from conciergerie.community import services as community
from conciergerie.core.errors import InvalidInput
from conciergerie.core.permissions import Level
from conciergerie.spaces import services as spaces
from conciergerie.spaces.models import Booking
from tests.billing.conftest import make_product
from tests.billing.subscription_helpers import (
    PARIS,
    book,
    local,
    make_plan,
    make_resource,
    open_all_week,
)


@pytest.fixture(autouse=True)
def opened(place):
    open_all_week(place)


@pytest.fixture
def room(place):
    return make_resource(place, "salle")


def held(booking):
    return sum((u.quantity for u in CreditUse.objects.filter(booking=booking)), Decimal("0"))


def subscribe(place, person, plan, start, **kw):
    return subscription_create(place=place, by=None, plan=plan, person=person, start=start, **kw)


def balance(place, person, day, kind):
    found = {b.kind: b for b in credit_balance(place=place, person=person, on=day)}
    return found.get(kind)


def test_a_confirmed_booking_takes_plan_hours_and_the_lot_is_the_month(place, person, room):
    subscribe(place, person, make_plan(place, room_hours=Decimal("8")), dt.date(2026, 10, 1))
    assert balance(place, person, dt.date(2026, 11, 10), CreditKind.ROOM_HOURS).left == 8
    booking = book(room, person, local(2026, 11, 10, 9), hours=3)
    assert held(booking) == Decimal("3")
    lot = CreditLot.objects.get()
    assert (lot.kind, lot.quantity, lot.valid_from, lot.valid_until) == (
        CreditKind.ROOM_HOURS,
        Decimal("8"),
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
    )
    assert balance(place, person, dt.date(2026, 11, 10), CreditKind.ROOM_HOURS).left == 5
    # Taking again changes nothing (idempotent).
    assert credits_take(booking=booking) == Decimal("3")
    assert CreditUse.objects.count() == 1


def test_partial_coverage_leaves_the_rest_billable(place, person, room):
    subscribe(place, person, make_plan(place, room_hours=Decimal("4")), dt.date(2026, 10, 1))
    first = book(room, person, local(2026, 11, 10, 9), hours=3)
    second = book(room, person, local(2026, 11, 12, 9), hours=3)
    assert (held(first), held(second)) == (Decimal("3"), Decimal("1"))
    third = book(room, person, local(2026, 11, 13, 9), hours=1)
    assert held(third) == 0


def test_a_booking_outside_the_subscription_period_is_not_covered(place, person, room):
    subscribe(
        place,
        person,
        make_plan(place, room_hours=Decimal("8")),
        dt.date(2026, 11, 10),
        end=dt.date(2026, 11, 20),
    )
    before = book(room, person, local(2026, 11, 5, 9), hours=2)
    after = book(room, person, local(2026, 11, 25, 9), hours=2)
    inside = book(room, person, local(2026, 11, 15, 9), hours=2)
    assert (held(before), held(after), held(inside)) == (0, 0, Decimal("2"))
    # 11 days of 30: 8 × 11/30 = 2.93 → 2.5 hours, valid on those days only.
    lot = CreditLot.objects.get()
    assert (lot.quantity, lot.valid_from, lot.valid_until) == (
        Decimal("2.5"),
        dt.date(2026, 11, 10),
        dt.date(2026, 11, 20),
    )


def test_paused_days_give_no_credits(place, person, room):
    sub = subscribe(place, person, make_plan(place, room_hours=Decimal("8")), dt.date(2026, 10, 1))
    subscription_pause(
        subscription=sub, by=None, start=dt.date(2026, 11, 10), end=dt.date(2026, 11, 19)
    )
    paused = book(room, person, local(2026, 11, 12, 9), hours=2)
    running = book(room, person, local(2026, 11, 22, 9), hours=2)
    assert (held(paused), held(running)) == (0, Decimal("2"))
    # 20 days of 30: 5.33 → 5 hours.
    assert CreditLot.objects.get().quantity == Decimal("5")


def test_a_pause_written_later_gives_back_what_paused_days_took(place, person, room):
    sub = subscribe(place, person, make_plan(place, room_hours=Decimal("8")), dt.date(2026, 10, 1))
    booking = book(room, person, local(2026, 12, 12, 9), hours=2)
    assert held(booking) == 2
    subscription_pause(
        subscription=sub, by=None, start=dt.date(2026, 12, 10), end=dt.date(2026, 12, 31)
    )
    assert held(booking) == 0
    assert CreditLot.objects.get().quantity == Decimal("2")  # 8 × 9/31 = 2.32 → 2


def test_desks_take_a_day_and_unlimited_plans_cover_everything(place, person):
    desk = make_resource(place, "bureau", max_minutes=24 * 60)
    subscribe(place, person, make_plan(place, desk_days=None), dt.date(2026, 10, 1))
    days = [book(desk, person, local(2026, 11, d, 9), hours=8) for d in range(2, 27)]
    assert all(held(b) == 1 for b in days)
    # A desk booked over two local days needs two desk days (not counted in UTC).
    overnight = Booking(
        resource=desk, start_at=local(2026, 11, 27, 20), end_at=local(2026, 11, 28, 10)
    )
    assert credit_need(overnight, PARIS) == (CreditKind.DESK_DAYS, Decimal("2"))
    midnight = Booking(
        resource=desk, start_at=local(2026, 11, 27, 9), end_at=local(2026, 11, 28, 0)
    )
    assert credit_need(midnight, PARIS) == (CreditKind.DESK_DAYS, Decimal("1"))
    assert balance(place, person, dt.date(2026, 11, 27), CreditKind.DESK_DAYS).unlimited


def test_desk_days_are_prorated_down_to_half_a_day(place, person):
    desk = make_resource(place, "bureau")
    subscribe(place, person, make_plan(place, desk_days=Decimal("10")), dt.date(2026, 11, 15))
    for d in range(16, 23):
        book(desk, person, local(2026, 11, d, 9), hours=4)
    assert CreditLot.objects.get().quantity == Decimal("5")  # 10 × 16/30 = 5.33
    assert balance(place, person, dt.date(2026, 11, 20), CreditKind.DESK_DAYS).left == 0
    assert CreditUse.objects.filter(quantity__gt=0).count() == 5


def test_machine_hours_come_from_the_plan_not_from_room_hours(place, person):
    laser = make_resource(place, "machine")
    subscribe(
        place,
        person,
        make_plan(place, room_hours=Decimal("8"), machine_hours=Decimal("2")),
        dt.date(2026, 10, 1),
    )
    booking = book(laser, person, local(2026, 11, 10, 9), hours=3)
    assert held(booking) == Decimal("2")
    assert CreditUse.objects.get().lot.kind == CreditKind.MACHINE_HOURS


def _upcoming(days, hour=10):
    day = timezone.now().astimezone(PARIS).date() + dt.timedelta(days=days)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def test_credits_come_back_on_a_cancellation_within_policy_only(place, person):
    room = make_resource(place, "salle", cancel_minutes=3 * 24 * 60)  # 3 days before
    today = timezone.now().astimezone(PARIS).date()
    subscribe(
        place,
        person,
        make_plan(place, room_hours=Decimal("100")),
        today.replace(day=1) - dt.timedelta(days=1),
    )
    early = book(room, person, _upcoming(20), hours=2)
    late = book(room, person, _upcoming(1), hours=2)
    assert (held(early), held(late)) == (2, 2)
    concierge = Level.CONCIERGE
    spaces.booking_cancel(booking=early, by=None, level=concierge)
    spaces.booking_cancel(booking=late, by=None, level=concierge)  # after the deadline
    assert held(early) == 0
    assert held(late) == 2
    # Giving back again changes nothing.
    early.refresh_from_db()
    assert credits_give_back(booking=early) == 0
    assert CreditUse.objects.filter(booking=early).count() == 2


def test_a_closure_gives_credits_back_whatever_the_deadline(place, person):
    room = make_resource(place, "salle", cancel_minutes=30 * 24 * 60)
    today = timezone.now().astimezone(PARIS).date()
    subscribe(place, person, make_plan(place, room_hours=Decimal("100")), today.replace(day=1))
    booking = book(room, person, _upcoming(2), hours=2)
    assert held(booking) == 2
    spaces.closure_create(
        place=place,
        by=None,
        start=_upcoming(2, 7),
        end=_upcoming(2, 21),
        reason="Dégât des eaux",
        resource=room,
    )
    assert held(booking) == 0


def test_moving_a_booking_takes_again_on_the_new_day(place, person, room):
    subscribe(
        place,
        person,
        make_plan(place, room_hours=Decimal("8")),
        dt.date(2026, 11, 1),
        end=dt.date(2026, 11, 30),
    )
    booking = book(room, person, local(2026, 11, 10, 9), hours=2)
    assert held(booking) == 2
    spaces.booking_move(
        booking=booking,
        by=None,
        level=Level.CONCIERGE,
        start=local(2026, 12, 3, 9),
        end=local(2026, 12, 3, 12),
    )
    assert held(booking) == 0  # December is outside the subscription
    spaces.booking_move(
        booking=booking,
        by=None,
        level=Level.CONCIERGE,
        start=local(2026, 11, 20, 9),
        end=local(2026, 11, 20, 12),
    )
    assert held(booking) == 3


def test_cancelling_a_subscription_gives_back_what_later_days_took(place, person, room):
    sub = subscribe(place, person, make_plan(place, room_hours=Decimal("8")), dt.date(2026, 10, 1))
    december = book(room, person, local(2026, 12, 15, 9), hours=2)
    november = book(room, person, local(2026, 11, 25, 9), hours=2)
    assert (held(december), held(november)) == (2, 2)
    subscription_cancel(subscription=sub, by=None, end=dt.date(2026, 11, 30))
    assert (held(december), held(november)) == (0, 2)
    assert not CreditLot.objects.filter(valid_from__month=12).exists()


def test_an_organisation_booking_takes_the_organisation_credits(place, person, room):
    org = community.organisation_create(place=place, by=None, name="Coop")
    subscription_create(
        place=place,
        by=None,
        plan=make_plan(place, room_hours=Decimal("8")),
        organisation=org,
        start=dt.date(2026, 10, 1),
    )
    own = book(room, person, local(2026, 11, 10, 9), hours=2)
    for_org = book(room, person, local(2026, 11, 11, 9), hours=2, organisation=org)
    assert (held(own), held(for_org)) == (0, 2)


# --- packs ------------------------------------------------------------------------------------------


@pytest.fixture
def pack(place):
    return make_product(
        place,
        name="Carnet 10 heures de salle",
        kind=Product.Kind.PACK,
        unit=Product.Unit.PIECE,
        unit_price=Decimal("100.00"),
        pack_kind=CreditKind.ROOM_HOURS,
        pack_quantity=Decimal("10"),
        pack_valid_days=365,
    )


def test_pack_sell_issues_the_invoice_and_grants_the_credits(place, person, pack, room):
    invoice, lots = pack_sell(
        place=place, by=None, product=pack, person=person, quantity=2, on=dt.date(2026, 11, 5)
    )
    assert invoice.is_issued and invoice.number == "F2026-00001"
    assert invoice.total_gross == Decimal("240.00")
    (lot,) = lots
    assert (lot.kind, lot.quantity, lot.valid_from, lot.valid_until) == (
        CreditKind.ROOM_HOURS,
        Decimal("20"),
        dt.date(2026, 11, 5),
        dt.date(2027, 11, 4),
    )
    assert lot.invoice_line == invoice.lines.get()
    assert pack_lots_grant(invoice=invoice) == []  # once
    booking = book(room, person, local(2026, 12, 1, 9), hours=3)
    assert held(booking) == 3


def test_plan_credits_expiring_first_are_taken_first(place, person, pack, room):
    pack_sell(place=place, by=None, product=pack, person=person, on=dt.date(2026, 11, 2))
    subscribe(place, person, make_plan(place, room_hours=Decimal("2")), dt.date(2026, 10, 1))
    booking = book(room, person, local(2026, 11, 10, 9), hours=3)
    uses = {
        "plan" if u.lot.subscription_id else "carnet": u.quantity for u in CreditUse.objects.all()
    }
    assert uses == {"plan": Decimal("2"), "carnet": Decimal("1")}
    assert held(booking) == 3


def test_pack_sell_is_validated(place, person, pack):
    with pytest.raises(InvalidInput) as err:
        pack_sell(place=place, by=None, product=make_product(place), person=person)
    assert "pas un carnet" in err.value.as_errors()["product"][0]
    with pytest.raises(InvalidInput) as err:
        pack_sell(place=place, by=None, product=pack, person=person, quantity="deux")
    assert "entier" in err.value.as_errors()["quantity"][0]
    assert not Invoice.objects.exists() and not CreditLot.objects.exists()


def test_credit_balance_reads_in_two_queries_whatever_the_lots(
    place, person, pack, room, django_assert_num_queries
):
    subscribe(place, person, make_plan(place, room_hours=Decimal("8")), dt.date(2026, 10, 1))
    day = dt.date(2026, 11, 20)
    with django_assert_num_queries(2):
        (only,) = credit_balance(place=place, person=person, on=day)
    assert (only.kind, only.granted, only.used) == (CreditKind.ROOM_HOURS, 8, 0)
    for n in range(3):
        pack_sell(place=place, by=None, product=pack, person=person, on=dt.date(2026, 11, 2 + n))
    book(room, person, local(2026, 11, 10, 9), hours=3)
    with django_assert_num_queries(2):
        (room_hours,) = credit_balance(place=place, person=person, on=day)
    assert (room_hours.granted, room_hours.used, room_hours.left) == (38, 3, 35)
