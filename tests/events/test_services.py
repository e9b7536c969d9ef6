import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conciergerie.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from conciergerie.core.models import AuditEntry, OutboxMessage
from conciergerie.core.permissions import Level
from conciergerie.events import selectors, services
from conciergerie.events.models import Event, Registration, Ticket, TicketTier
from tests.events.conftest import SLIDING, SOON, make_event, visitor
from tests.factories import make_person, make_place, make_user

CONFIRMED = Registration.Status.CONFIRMED
WAITLISTED = Registration.Status.WAITLISTED
OFFERED = Registration.Status.OFFERED
CANCELLED = Registration.Status.CANCELLED


def counts():
    return (Registration.objects.count(), Ticket.objects.count())


# --- event_create --------------------------------------------------------------------------------


def test_event_create_with_tiers_and_audit(place):
    event = make_event(place, tiers=[{"name": "standard", "price": Decimal("12")}])
    assert [t.name for t in event.tiers.all()] == ["standard"]
    assert AuditEntry.objects.filter(action="event.create", target_uuid=event.uuid).exists()


def test_event_create_without_tiers_makes_one_free_tier(place):
    event = make_event(place)
    (tier,) = event.tiers.all()
    assert tier.price == 0 and not tier.pay_what_you_can


@pytest.mark.parametrize(
    ("fields", "tiers", "key"),
    [
        ({"end_at": SOON - dt.timedelta(hours=1)}, None, "end_at"),
        ({"capacity": 0}, None, "capacity"),
        (
            {},
            [{"name": "libre", "pay_what_you_can": True, "floor": 20, "suggested": 10}],
            "tiers.0.floor",
        ),
        ({}, [{"name": "x", "price": Decimal("-1")}], "tiers.0.price"),
        ({"is_stay": True, "end_at": SOON + dt.timedelta(hours=3)}, None, "end_at"),
    ],
)
def test_event_create_refuses_bad_input_and_writes_nothing(place, fields, tiers, key):
    with pytest.raises(InvalidInput) as err:
        make_event(place, tiers=tiers, **fields)
    assert key in err.value.errors
    assert Event.objects.count() == 0 and TicketTier.objects.count() == 0


# --- registration_create: happy paths ------------------------------------------------------------


def test_visitor_registers_and_gets_a_confirmation(
    event, tiers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reg = visitor(
            event,
            attendees=[
                {"tier": str(tiers["standard"].uuid)},
                {"name": "Sam", "email": "SAM@example.org", "tier": tiers["soutien"].pk},
            ],
        )
    assert reg.status == CONFIRMED and reg.confirmed_at is not None
    assert reg.seats == 2 and reg.amount_total == Decimal("40.00")
    assert reg.visitor_email == "camille@example.org"
    tickets = list(reg.tickets.order_by("id"))
    assert [(t.name, t.email, t.amount) for t in tickets] == [
        ("Camille Martin", "camille@example.org", Decimal("15.00")),
        ("Sam", "sam@example.org", Decimal("25.00")),
    ]
    assert len({t.qr_token for t in tickets}) == 2 and all(len(t.qr_token) >= 20 for t in tickets)
    mail = OutboxMessage.objects.get()
    assert mail.to == "camille@example.org"
    assert "Inscription confirmée" in mail.subject
    assert "Sam — soutien — 25,00 €" in mail.body
    assert AuditEntry.objects.filter(action="registration.create", target_uuid=reg.uuid).exists()


def test_member_registers_themselves(event, tiers, member):
    user, person = member
    reg = services.registration_create(
        event=event,
        by=user,
        level=Level.MEMBER,
        person=person,
        attendees=[{"tier": tiers["standard"].uuid}],
    )
    assert reg.person == person and reg.visitor_email == "lina@example.org"
    assert reg.tickets.get().name.startswith("Lina")


def test_a_member_cannot_register_someone_else(event, place, member):
    user, _person = member
    other = make_person(place=place, first_name="Noé", email="noe@example.org")
    with pytest.raises(PermissionDenied):
        services.registration_create(
            event=event, by=user, level=Level.MEMBER, person=other, attendees=[{"tier": "1"}]
        )


def test_a_person_of_another_place_is_unknown(event):
    stranger = make_person(place=make_place(), first_name="X", email="x@example.org")
    with pytest.raises(NotFound):
        services.registration_create(
            event=event, by=None, level=Level.CONCIERGE, person=stranger, attendees=[{}]
        )


# --- amounts -------------------------------------------------------------------------------------


def test_pay_what_you_can_defaults_to_suggested(event, tiers):
    reg = visitor(event, attendees=[{"tier": tiers["prix libre"].uuid}])
    assert reg.amount_total == Decimal("15.00")


@pytest.mark.parametrize(
    ("text", "expected"), [("12,50 €", "12.50"), (" 8 ", "8.00"), ("1 000,00 €", "1000.00")]
)
def test_pay_what_you_can_understands_french_amounts(event, tiers, text, expected):
    reg = visitor(event, attendees=[{"tier": tiers["prix libre"].uuid, "amount": text}])
    assert reg.tickets.get().amount == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("7,99", "Le montant minimum est de 8,00 €."),
        ("abc", "n'est pas un montant"),
        ("-3", "négatif"),
        ("9,999", "deux chiffres"),
    ],
)
def test_pay_what_you_can_refuses_bad_amounts(event, tiers, text, message):
    with pytest.raises(InvalidInput) as err:
        visitor(event, attendees=[{"tier": tiers["prix libre"].uuid, "amount": text}])
    assert message in err.value.errors["attendees.0.amount"][0]
    assert counts() == (0, 0)


def test_fixed_price_ignores_a_given_amount(event, tiers):
    reg = visitor(event, attendees=[{"tier": tiers["standard"].uuid, "amount": "1"}])
    assert reg.amount_total == Decimal("15.00")


def test_stay_prices_per_night_week_and_stay(place):
    # Four nights: Thursday 17:00 to Monday 11:00, local dates.
    start = SOON.replace(hour=17)
    stay = make_event(
        place,
        title="Séjour co-living",
        category="sejour",
        is_stay=True,
        start_at=start,
        end_at=(start + dt.timedelta(days=4)).replace(hour=11),
        tiers=[
            {"name": "nuit", "price": Decimal("30"), "price_unit": "nuit"},
            {"name": "semaine", "price": Decimal("140"), "price_unit": "semaine"},
            {"name": "forfait", "price": Decimal("100"), "price_unit": "sejour"},
            {
                "name": "libre",
                "pay_what_you_can": True,
                "floor": Decimal("20"),
                "suggested": Decimal("35"),
                "price_unit": "nuit",
            },
        ],
    )
    assert stay.nights == 4
    t = {x.name: x for x in stay.tiers.all()}
    reg = visitor(
        stay,
        attendees=[
            {"tier": t["nuit"].uuid},
            {"name": "B", "tier": t["semaine"].uuid},
            {"name": "C", "tier": t["forfait"].uuid},
            {"name": "D", "tier": t["libre"].uuid},
        ],
    )
    amounts = [x.amount for x in reg.tickets.order_by("id")]
    assert amounts == [Decimal("120.00"), Decimal("80.00"), Decimal("100.00"), Decimal("140.00")]
    with pytest.raises(InvalidInput, match="80,00"):
        visitor(stay, email="e@example.org", attendees=[{"tier": t["libre"].uuid, "amount": "79"}])


# --- members_only --------------------------------------------------------------------------------


def test_member_price_refused_to_a_visitor_and_an_unpaid_member(event, tiers, member):
    with pytest.raises(PermissionDenied, match="membres à jour"):
        visitor(event, attendees=[{"tier": tiers["membre"].uuid}])
    user, person = member
    with pytest.raises(PermissionDenied):
        services.registration_create(
            event=event,
            by=user,
            level=Level.MEMBER,
            person=person,
            attendees=[{"tier": tiers["membre"].uuid}],
        )
    assert counts() == (0, 0)


def test_member_price_for_an_up_to_date_member(event, tiers, paid_member):
    user, person = paid_member
    reg = services.registration_create(
        event=event,
        by=user,
        level=Level.MEMBER,
        person=person,
        attendees=[{"tier": tiers["membre"].uuid}],
    )
    assert reg.amount_total == Decimal("10.00")


# --- refusals ------------------------------------------------------------------------------------


def test_the_same_email_or_person_cannot_register_twice(place, member):
    event = make_event(place)
    visitor(event)
    with pytest.raises(Conflict, match="déjà inscrit"):
        visitor(event, name="Autre", email="CAMILLE@example.org")
    user, person = member
    services.registration_create(
        event=event, by=user, level=Level.MEMBER, person=person, attendees=[{}]
    )
    with pytest.raises(Conflict):  # the member's e-mail, as a visitor
        visitor(event, email="lina@example.org")
    with pytest.raises(Conflict):  # the member again, under another e-mail
        person.email = "autre@example.org"
        services.registration_create(
            event=event, by=user, level=Level.MEMBER, person=person, attendees=[{}]
        )
    assert counts() == (2, 2)


def test_a_cancelled_registration_does_not_block_a_new_one(event):
    reg = visitor(event, attendees=[{"tier": event.tiers.get(name="standard").pk}])
    services.registration_cancel(registration=reg, by=None, level=Level.CONCIERGE)
    visitor(event, attendees=[{"tier": event.tiers.get(name="standard").pk}])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"registration_closes_at": timezone.now() - dt.timedelta(hours=1)}, "closes"),
        ({"registration_opens_at": timezone.now() + dt.timedelta(days=1)}, "pas encore ouvertes"),
    ],
)
def test_registration_window(place, fields, message):
    event = make_event(place, **fields)
    with pytest.raises(Conflict, match=message):
        visitor(event)
    assert counts() == (0, 0)


def test_an_event_that_started_is_closed(place):
    now = timezone.now()
    event = make_event(
        place, start_at=now - dt.timedelta(hours=1), end_at=now + dt.timedelta(hours=1)
    )
    with pytest.raises(Conflict, match="closes"):
        visitor(event)


def test_too_many_or_no_attendees(event, tiers):
    std = tiers["standard"].uuid
    with pytest.raises(InvalidInput) as err:
        visitor(event, attendees=[{"name": f"P{i}", "tier": std} for i in range(7)])
    assert "6 personnes au plus" in err.value.errors["attendees"][0]
    with pytest.raises(InvalidInput):
        visitor(event, attendees=[])
    assert counts() == (0, 0)


@pytest.mark.parametrize(
    ("name", "email", "key"),
    [("", "a@example.org", "visitor_name"), ("A", "pas-un-email", "visitor_email")],
)
def test_a_visitor_needs_a_name_and_an_email(event, tiers, name, email, key):
    with pytest.raises(InvalidInput) as err:
        visitor(event, name=name, email=email, attendees=[{"tier": tiers["standard"].uuid}])
    assert key in err.value.errors


def test_a_tier_is_required_when_there_are_several(event):
    with pytest.raises(InvalidInput):
        visitor(event, attendees=[{}])
    with pytest.raises(InvalidInput):
        visitor(event, attendees=[{"tier": "999999"}])


def test_private_and_members_events(place):
    private = make_event(place, visibility="prive")
    with pytest.raises(PermissionDenied):
        visitor(private)
    members = make_event(place, visibility="membres")
    with pytest.raises(PermissionDenied):
        visitor(members)
    assert services.registration_create(
        event=private,
        by=None,
        level=Level.CONCIERGE,
        visitor_name="A",
        visitor_email="a@b.fr",
        attendees=[{}],
    )


# --- capacity ------------------------------------------------------------------------------------


def test_full_goes_to_the_waitlist(place, django_capture_on_commit_callbacks):
    event = make_event(place, capacity=2)
    visitor(event, email="a@example.org", attendees=[{}, {"name": "B"}])
    with django_capture_on_commit_callbacks(execute=True):
        reg = visitor(event, email="c@example.org")
    assert reg.status == WAITLISTED and reg.confirmed_at is None
    assert "Liste d'attente" in OutboxMessage.objects.get().subject


def test_full_without_waitlist_is_a_conflict_and_writes_nothing(place):
    event = make_event(place, capacity=2, waitlist_enabled=False)
    visitor(event, email="a@example.org", attendees=[{}])
    with pytest.raises(Conflict, match="Complet : plus de place pour cet évènement."):
        visitor(event, email="c@example.org", attendees=[{}, {"name": "D"}])
    assert counts() == (1, 1)
    visitor(event, email="c@example.org")  # one more still fits
    assert counts() == (2, 2)


def test_tier_quota(place):
    event = make_event(place, tiers=SLIDING_NO_WAITLIST, waitlist_enabled=False)
    sol = event.tiers.get(name="solidaire")
    visitor(
        event, email="a@example.org", attendees=[{"tier": sol.pk}, {"name": "B", "tier": sol.pk}]
    )
    with pytest.raises(Conflict, match="Plus de place au tarif « solidaire »."):
        visitor(event, email="c@example.org", attendees=[{"tier": sol.pk}])
    assert counts() == (1, 2)


SLIDING_NO_WAITLIST = [
    {"name": "solidaire", "price": Decimal("5"), "quota": 2},
    {"name": "standard", "price": Decimal("15")},
]


# --- cancel, waitlist offers ---------------------------------------------------------------------


def test_cancel_deadline(place, member, concierge):
    user, person = member
    event = make_event(
        place,
        start_at=timezone.now() + dt.timedelta(hours=12),
        end_at=timezone.now() + dt.timedelta(hours=14),
        cancel_hours=24,
    )
    reg = services.registration_create(
        event=event, by=user, level=Level.MEMBER, person=person, attendees=[{}]
    )
    with pytest.raises(Conflict, match="Trop tard pour annuler"):
        services.registration_cancel(registration=reg, by=user, level=Level.MEMBER)
    intruder = make_user(place=place, role="member")
    with pytest.raises(PermissionDenied):
        services.registration_cancel(registration=reg, by=intruder, level=Level.MEMBER)
    reg = services.registration_cancel(registration=reg, by=concierge, level=Level.CONCIERGE)
    assert reg.status == CANCELLED and reg.cancelled_at is not None
    with pytest.raises(Conflict, match="déjà annulée"):
        services.registration_cancel(registration=reg, by=concierge, level=Level.CONCIERGE)


def test_cancel_offers_the_seat_then_accept(place, member, django_capture_on_commit_callbacks):
    user, person = member
    event = make_event(place, capacity=2, offer_hours=12)
    mine = services.registration_create(
        event=event, by=user, level=Level.MEMBER, person=person, attendees=[{}, {"name": "Ami"}]
    )
    big = visitor(event, email="big@example.org", attendees=[{}, {"name": "B"}, {"name": "C"}])
    small = visitor(event, email="small@example.org")
    later = visitor(event, email="later@example.org")
    assert [r.status for r in (big, small, later)] == [WAITLISTED] * 3
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_cancel(registration=mine, by=user, level=Level.MEMBER)
    big.refresh_from_db()
    small.refresh_from_db()
    later.refresh_from_db()
    # The 3-seat order does not fit in 2 seats: the next ones that fit get the offer.
    assert (big.status, small.status, later.status) == (WAITLISTED, OFFERED, OFFERED)
    assert small.offer_expires_at >= before + dt.timedelta(hours=12)
    offers = OutboxMessage.objects.filter(subject__startswith="Une place s'est libérée")
    assert sorted(m.to for m in offers) == ["later@example.org", "small@example.org"]
    assert "avant le" in offers[0].body
    small = services.offer_accept(registration=small, by=None, holder=True)
    assert small.status == CONFIRMED and small.offer_expires_at is None
    with pytest.raises(Conflict):
        services.offer_accept(registration=small, by=None, holder=True)
    assert selectors.event_stats(event=event).registered == 1


def test_offer_expiry_passes_the_seat_to_the_next(place):
    event = make_event(place, capacity=1, offer_hours=24)
    first = visitor(event, email="a@example.org")
    second = visitor(event, email="b@example.org")
    third = visitor(event, email="c@example.org")
    services.registration_cancel(registration=first, by=None, level=Level.CONCIERGE)
    second.refresh_from_db()
    assert second.status == OFFERED
    assert services.offers_expire(now=timezone.now()) == 0  # not yet
    later = timezone.now() + dt.timedelta(hours=25)
    assert services.offers_expire(now=later) == 1
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == CANCELLED and third.status == OFFERED
    assert third.offer_expires_at == later + dt.timedelta(hours=24)


def test_accepting_an_expired_offer_is_refused(place):
    event = make_event(place, capacity=1)
    first = visitor(event, email="a@example.org")
    second = visitor(event, email="b@example.org")
    services.registration_cancel(registration=first, by=None, level=Level.CONCIERGE)
    Registration.objects.filter(pk=second.pk).update(
        offer_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    with pytest.raises(Conflict, match="expiré"):
        services.offer_accept(registration=second, by=None, holder=True)
    second.refresh_from_db()
    assert second.status == OFFERED


# --- check-in ------------------------------------------------------------------------------------


def test_check_in_once(event, concierge):
    reg = visitor(event, attendees=[{"tier": event.tiers.get(name="standard").pk}])
    ticket = services.ticket_by_token(event=event, token=reg.tickets.get().qr_token)
    ticket = services.ticket_check_in(ticket=ticket, by=concierge)
    assert ticket.checked_in_at is not None
    with pytest.raises(Conflict, match="Déjà enregistré·e à l'arrivée le"):
        services.ticket_check_in(ticket=ticket, by=concierge)
    with pytest.raises(NotFound):
        services.ticket_by_token(event=event, token="nope")


def test_check_in_of_a_waitlisted_ticket_is_refused(place, concierge):
    event = make_event(place, capacity=1)
    visitor(event, email="a@example.org")
    waiting = visitor(event, email="b@example.org")
    with pytest.raises(Conflict, match="pas confirmé"):
        services.ticket_check_in(ticket=waiting.tickets.get(), by=concierge)
    assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 0


# --- stats ---------------------------------------------------------------------------------------


def test_event_stats(place, concierge, django_assert_num_queries):
    event = make_event(place, capacity=4, tiers=SLIDING)
    t = {x.name: x for x in event.tiers.all()}
    a = visitor(
        event,
        email="a@example.org",
        attendees=[{"tier": t["solidaire"].pk}, {"name": "B", "tier": t["soutien"].pk}],
    )
    visitor(event, email="c@example.org", attendees=[{"tier": t["prix libre"].pk, "amount": "9"}])
    visitor(
        event,
        email="d@example.org",
        attendees=[{"tier": t["standard"].pk}, {"name": "E", "tier": t["standard"].pk}],
    )
    services.ticket_check_in(ticket=a.tickets.first(), by=concierge)
    with django_assert_num_queries(2):
        stats = selectors.event_stats(event=event)
    assert (stats.registered, stats.waitlisted, stats.checked_in, stats.capacity) == (3, 2, 1, 4)
    assert stats.occupancy == 0.75 and stats.attendance_occupancy == 0.25
    assert stats.revenue == Decimal("39.00")
    per = {ts.tier.name: ts for ts in stats.tiers}
    assert per["soutien"].revenue == Decimal("25.00") and per["standard"].waitlisted == 2
    assert stats.standard_price == Decimal("15.00")
    assert stats.average_amount == Decimal("13.00")
    assert stats.average_vs_standard == pytest.approx(13 / 15)


# --- the hot path --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_attendee_registration_statement_count(place):
    """Measured outside a test transaction, as in production (on PostgreSQL the guard sends
    its lock_timeout and advisory lock with the seats-held read, as one statement; on SQLite,
    BEGIN IMMEDIATE)."""
    event = Event.objects.select_related("place").get(pk=make_event(place).pk)
    with CaptureQueriesContext(connection) as ctx:
        visitor(event, notify=False)
    statements = [q["sql"] for q in ctx.captured_queries]
    print(f"\n{connection.vendor}: {len(statements)} statements", *statements, sep="\n  ")
    work = [s for s in statements if s.split()[0] not in ("BEGIN", "COMMIT")]
    # SQLite: tiers, 3 inserts (registration, tickets, audit), seats held + duplicate, the
    # seat counter's update. PostgreSQL: tiers, the registration, then one batch: tickets,
    # audit, lock_timeout, advisory lock, check, seat counter, COMMIT.
    assert "events_seatcount" in work[-1]
    if connection.vendor == "postgresql":
        assert len(work) == 3, statements
        batch = work[-1]
        assert batch.index('"events_ticket"') < batch.index("pg_advisory_xact_lock"), batch
        assert batch.index('"core_auditentry"') < batch.index("pg_advisory_xact_lock"), batch
        assert batch.endswith("COMMIT"), batch
    else:
        assert len(work) == 6, statements


# --- backup --------------------------------------------------------------------------------------


def test_backup_saves_the_events_tables_after_what_they_point_to():
    from conciergerie.core.backup import backed_up_models

    order = [m._meta.label_lower for m in backed_up_models()]
    for label in ("events.event", "events.tickettier", "events.registration", "events.ticket"):
        assert label in order
    assert order.index("spaces.resource") < order.index("events.event")
    assert order.index("community.person") < order.index("events.registration")
    assert order.index("events.event") < order.index("events.tickettier")
    assert order.index("events.registration") < order.index("events.ticket")
    assert order.index("events.tickettier") < order.index("events.ticket")


def test_only_the_person_registered_or_the_team_accepts_an_offer(place):
    event = make_event(place, capacity=1)
    first = visitor(event, email="a@example.org")
    second = visitor(event, email="b@example.org")
    services.registration_cancel(registration=first, by=None, level=Level.CONCIERGE)
    second.refresh_from_db()
    assert second.status == Registration.Status.OFFERED
    stranger = make_user(email="passant@example.org")
    with pytest.raises(PermissionDenied):
        services.offer_accept(registration=second, by=stranger, level=Level.AUTHENTICATED)
    second.refresh_from_db()
    assert second.status == Registration.Status.OFFERED
    accepted = services.offer_accept(registration=second, by=None, holder=True)
    assert accepted.status == Registration.Status.CONFIRMED
