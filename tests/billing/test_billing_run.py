"""The monthly billing run: one invoice per customer, consumption net of credits, idempotent,
resumable, gapless, chained, and a constant number of queries per batch."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conciergerie.billing.chain import chain_verify
from conciergerie.billing.models import (
    BillingRun,
    BillingSettings,
    CreditKind,
    CreditLot,
    Invoice,
    InvoiceLine,
    Product,
)
from conciergerie.billing.services.invoices import settings_for
from conciergerie.billing.services.runs import billing_run
from conciergerie.billing.services.subscriptions import subscription_cancel, subscription_create
from conciergerie.core.errors import Conflict
from conciergerie.core.permissions import Level
from conciergerie.spaces import services as spaces
from tests.billing.conftest import make_product
from tests.billing.subscription_helpers import (
    DEC_1,
    NOV,
    book,
    local,
    make_plan,
    make_resource,
    open_all_week,
)
from tests.factories import make_person, make_place

SELLER = {
    "name": "L'Établi",
    "siret": "73282932000074",
    "street": "12 rue des Ateliers",
    "postal_code": "86100",
    "city": "Châtellerault",
    "email": "bonjour@letabli.example",
}


@pytest.fixture(autouse=True)
def opened(place):
    open_all_week(place)


@pytest.fixture
def room(place):
    return make_resource(place, "salle", per_hour="12.00")


def subscribe(place, person, plan, start=dt.date(2026, 10, 1), **kw):
    return subscription_create(place=place, by=None, plan=plan, person=person, start=start, **kw)


def issued(place):
    return list(
        Invoice.objects.filter(place=place, status=Invoice.Status.ISSUED).order_by("sequence")
    )


def assert_gapless_and_chained(place, count):
    invoices = issued(place)
    assert [i.sequence for i in invoices] == list(range(1, count + 1))
    assert [i.number for i in invoices] == [f"F2026-{n:05d}" for n in range(1, count + 1)]
    checked, breaks = chain_verify(place.pk)
    assert (checked, breaks) == (count, [])


def test_one_invoice_per_customer_with_its_plan_and_its_uncovered_bookings(place, room):
    plan = make_plan(place, "Résident", "300.00", room_hours=Decimal("2"))
    anna = make_person(place=place, first_name="Anna", last_name="Blanc")
    bob = make_person(place=place, first_name="Bob", last_name="Carré")
    chloe = make_person(place=place, first_name="Chloé", last_name="Durand")
    subscribe(place, anna, plan)
    subscribe(place, chloe, plan)
    partly = book(room, anna, local(2026, 11, 10, 9), hours=3)  # 36 € TTC, 2 h covered
    bob_booking = book(room, bob, local(2026, 11, 12, 9), hours=2)  # 24 € TTC
    covered = book(room, chloe, local(2026, 11, 13, 9), hours=2)  # all covered
    assert partly.amount_due == Decimal("36.00") and covered.amount_due == Decimal("24.00")

    run = billing_run(place=place, period=NOV, on=DEC_1)

    assert run.invoices_created == 3 and run.finished_at is not None
    assert_gapless_and_chained(place, 3)
    by_name = {i.buyer["name"]: i for i in issued(place)}
    assert [i.buyer["name"] for i in issued(place)] == ["Anna Blanc", "Bob Carré", "Chloé Durand"]
    anna_lines = list(by_name["Anna Blanc"].lines.order_by("position"))
    assert [(x.label, x.quantity, x.unit_price, x.net_amount) for x in anna_lines] == [
        ("Résident — novembre 2026", Decimal("1.000"), Decimal("300.00"), Decimal("300.00")),
        (
            "Salle Jaune — 10/11/2026 09:00–12:00 (1 h sur 3 non couverts par vos crédits)",
            Decimal("1.000"),
            Decimal("10.00"),  # 36 € × 1/3 = 12 € TTC → 10 € HT
            Decimal("10.00"),
        ),
    ]
    assert anna_lines[1].charge_key == f"resa:{partly.uuid}"
    assert by_name["Anna Blanc"].total_gross == Decimal("372.00")
    assert by_name["Anna Blanc"].period_start == NOV
    assert by_name["Anna Blanc"].due_date == DEC_1 + dt.timedelta(days=30)
    (bob_line,) = by_name["Bob Carré"].lines.all()
    assert (bob_line.net_amount, bob_line.charge_key) == (
        Decimal("20.00"),
        f"resa:{bob_booking.uuid}",
    )
    assert by_name["Bob Carré"].total_gross == Decimal("24.00")
    assert by_name["Chloé Durand"].lines.count() == 1  # the plan only
    # Credits were taken from the month's lots of Anna's and Chloé's plans, 2 h each.
    lots = CreditLot.objects.filter(kind=CreditKind.ROOM_HOURS, valid_from=NOV)
    assert sorted(lot.person_id for lot in lots) == sorted([anna.pk, chloe.pk])


def test_running_twice_bills_nothing_twice(place, person, room):
    subscribe(place, person, make_plan(place))
    book(room, person, local(2026, 11, 10, 9), hours=1)
    assert billing_run(place=place, period=NOV, on=DEC_1).invoices_created == 1
    assert billing_run(place=place, period=NOV, on=DEC_1).invoices_created == 0
    assert InvoiceLine.objects.count() == 2
    assert list(BillingRun.objects.order_by("id").values_list("invoices_created", flat=True)) == [
        1,
        0,
    ]


def test_a_later_run_of_the_period_bills_only_what_is_new(place, person, room):
    subscribe(place, person, make_plan(place))
    book(room, person, local(2026, 11, 10, 9), hours=1)
    billing_run(place=place, period=NOV, on=dt.date(2026, 11, 20))
    # Bookings after the issue date wait: the later run of the same period bills them alone.
    late = book(room, person, local(2026, 11, 25, 9), hours=2)
    assert billing_run(place=place, period=NOV, on=DEC_1).invoices_created == 1
    last = issued(place)[-1]
    assert [x.charge_key for x in last.lines.all()] == [f"resa:{late.uuid}"]
    assert_gapless_and_chained(place, 2)


def test_the_next_month_run_bills_last_month_bookings_behind(place, person, room):
    # The usual rhythm: a run on the 1st of each month, plans ahead, use behind.
    subscribe(place, person, make_plan(place))
    assert billing_run(place=place, period=NOV, on=dt.date(2026, 11, 1)).invoices_created == 1
    late = book(room, person, local(2026, 11, 25, 9), hours=2)
    assert billing_run(place=place, period=DEC_1, on=DEC_1).invoices_created == 1
    december = issued(place)[-1]
    keys = sorted(x.charge_key for x in december.lines.all())
    assert keys == sorted([f"resa:{late.uuid}", next(k for k in keys if k.startswith("abo:"))])
    assert any(k.endswith("2026-12") for k in keys)
    assert billing_run(place=place, period=DEC_1, on=DEC_1).invoices_created == 0
    assert InvoiceLine.objects.filter(charge_key=f"resa:{late.uuid}").count() == 1
    assert_gapless_and_chained(place, 2)


def test_booking_lines_use_the_vat_of_the_place_room_product(place, person, room):
    make_product(place, name="Heure de salle", kind=Product.Kind.ROOM_HOUR, vat="10", unit="HUR")
    book(room, person, local(2026, 11, 10, 9), hours=2)  # 24.00 TTC
    billing_run(place=place, period=NOV, on=DEC_1)
    (line,) = InvoiceLine.objects.all()
    assert (line.vat, line.unit_price, line.product.name) == (
        "10",
        Decimal("21.82"),
        "Heure de salle",
    )
    assert line.stream == "locations"
    assert line.invoice.total_gross == Decimal("24.00")  # 21.82 + 2.18


def test_under_the_vat_franchise_the_booking_amount_is_the_net(place, person, room):
    BillingSettings.objects.update_or_create(place=place, defaults={"vat_franchise": True})
    book(room, person, local(2026, 11, 10, 9), hours=2)
    billing_run(place=place, period=NOV, on=DEC_1)
    (line,) = InvoiceLine.objects.all()
    assert (line.vat, line.net_amount, line.invoice.total_gross) == (
        "franchise",
        Decimal("24.00"),
        Decimal("24.00"),
    )


def test_a_crashed_run_resumes_without_gaps(place, room):
    plan = make_plan(place)
    people = [make_person(place=place, first_name=f"P{i}", last_name="Test") for i in range(5)]
    for who in people:
        subscribe(place, who, plan)

    def crash(batch):
        raise RuntimeError("arrêt brutal")

    with pytest.raises(RuntimeError):
        billing_run(place=place, period=NOV, on=DEC_1, batch_size=2, after_batch=crash)
    assert len(issued(place)) == 2  # the first batch was committed
    crashed = BillingRun.objects.get()
    assert crashed.finished_at is None and crashed.invoices_created == 2

    resumed = billing_run(place=place, period=NOV, on=DEC_1, batch_size=2)
    assert resumed.invoices_created == 3
    assert_gapless_and_chained(place, 5)
    assert sorted(i.person_id for i in issued(place)) == sorted(p.pk for p in people)


def test_what_changes_during_a_run_is_read_again_before_billing(place, room):
    plan = make_plan(place)
    first = make_person(place=place, first_name="Alix", last_name="A")
    second = make_person(place=place, first_name="Basile", last_name="B")
    subscribe(place, first, plan)
    later = subscribe(place, second, plan)
    cancelled = book(room, second, local(2026, 11, 10, 9), hours=1)

    def meanwhile(batch):
        if batch == 1:  # while the first customer is billed, the second one changes
            subscription_cancel(subscription=later, by=None, end=dt.date(2026, 11, 15))
            spaces.booking_cancel(booking=cancelled, by=None, level=Level.CONCIERGE)

    billing_run(place=place, period=NOV, on=DEC_1, batch_size=1, after_batch=meanwhile)
    (line,) = InvoiceLine.objects.filter(invoice__person=second)
    assert line.label == "Résident — du 01/11/2026 au 15/11/2026 (15/30 jours)"


def _twin(slug):
    place = make_place(slug=slug, **SELLER)
    open_all_week(place)
    plan = make_plan(place, "Résident", "250.00", room_hours=Decimal("1"))
    nomad = make_plan(place, "Nomade", "95.50")
    room = make_resource(place, "salle", per_hour="13.50")
    for i in range(7):
        who = make_person(place=place, first_name=f"Prénom{i}", last_name="Pareil")
        subscribe(place, who, plan if i % 2 else nomad, start=dt.date(2026, 11, 1 + i * 3))
        if i % 3 == 0:
            book(room, who, local(2026, 11, 10 + i, 9), hours=1.5)
    return place


def test_the_fast_issue_gives_the_same_documents_as_invoices_issue(db):
    fast, reference = _twin("rapide"), _twin("reference")
    billing_run(place=fast, period=NOV, on=DEC_1, batch_size=3)
    billing_run(place=reference, period=NOV, on=DEC_1, batch_size=3, issue="service")

    def documents(place):
        return [
            (
                i.number,
                i.issue_date,
                i.due_date,
                i.seller,
                i.buyer,
                i.total_net,
                i.total_vat,
                i.total_gross,
                i.chain_position,
                i.previous_hash,
                i.chain_hash,
                [
                    (x.position, x.label, x.quantity, x.unit, x.unit_price, x.vat, x.net_amount)
                    for x in i.lines.order_by("position")
                ],
            )
            for i in issued(place)
        ]

    assert len(documents(fast)) == 7
    assert documents(fast) == documents(reference)
    assert_gapless_and_chained(fast, 7)
    assert_gapless_and_chained(reference, 7)


def _customers(place, room, plan, count, offset):
    for i in range(count):
        who = make_person(place=place, first_name=f"C{offset + i}", last_name="Compte")
        subscribe(place, who, plan)
        book(room, who, local(2026, 11, 2 + (offset + i) % 27, 9 + (offset + i) // 27), hours=1)


def test_queries_do_not_grow_per_subscription_only_per_batch(place, room):
    plan = make_plan(place, room_hours=Decimal("0.5"))
    settings_for(place)  # written once, by the first run otherwise
    counts = {}
    previous = 0
    for total in (1, 3, 6, 9):
        _customers(place, room, plan, total - previous, previous)
        previous = total
        Invoice.objects.filter(place=place).delete()  # start from nothing billed
        with CaptureQueriesContext(connection) as ctx:
            run = billing_run(place=place, period=NOV, on=DEC_1, batch_size=3)
        assert run.invoices_created == total
        counts[total] = len(ctx.captured_queries)
    per_batch = counts[6] - counts[3]
    assert per_batch == counts[9] - counts[6], counts  # one more batch, the same cost
    assert counts[1] == counts[3], counts  # within a batch, more customers cost nothing
    assert per_batch <= 15, counts


def test_a_closed_period_is_refused(place, person):
    subscribe(place, person, make_plan(place))
    BillingSettings.objects.update_or_create(
        place=place, defaults={"closed_until": dt.date(2026, 12, 31)}
    )
    with pytest.raises(Conflict) as err:
        billing_run(place=place, period=NOV, on=DEC_1)
    assert "close" in err.value.message
    assert not Invoice.objects.exists() and not BillingRun.objects.exists()


def test_issue_dates_follow_the_series(place, person):
    subscribe(place, person, make_plan(place))
    billing_run(place=place, period=NOV, on=DEC_1)
    subscribe(place, make_person(place=place, first_name="Zoé"), make_plan(place, "Autre"))
    with pytest.raises(Conflict):
        billing_run(place=place, period=NOV, on=dt.date(2026, 11, 30))


# --- the command -----------------------------------------------------------------------------------


def test_command_runs_then_verifies_the_chain(place, person):
    subscribe(place, person, make_plan(place))
    subscribe(place, make_person(place=place, first_name="Zoé"), make_plan(place, "Autre"))
    out = io.StringIO()
    call_command(
        "billing",
        "run",
        "--period",
        "2026-11",
        "--place",
        place.slug,
        "--date",
        "2026-11-20",
        stdout=out,
    )
    assert "2 facture(s) émise(s)" in out.getvalue()
    out = io.StringIO()
    call_command("billing", "run", "--period", "2026-11", "--date", "2026-11-20", stdout=out)
    assert "Total : 0 facture(s)" in out.getvalue()
    out = io.StringIO()
    call_command("billing", "verify", "--place", place.slug, stdout=out)
    assert "2 document(s) vérifié(s), chaîne intacte" in out.getvalue()

    # Removing an issued invoice breaks the chain: verify says where and exits with 1.
    Invoice.objects.filter(place=place, sequence=1).delete()
    out = io.StringIO()
    with pytest.raises(CommandError) as err:
        call_command("billing", "verify", stdout=out)
    assert err.value.returncode == 1
    assert "F2026-00002" in out.getvalue() and "rupture" in out.getvalue()


def test_a_place_not_ready_does_not_stop_the_others(place, person):
    # "aaa-…" sorts before "etabli": without its SIRET it cannot invoice, the other still does.
    bare = make_place(slug="aaa-pas-pret", name="Pas prêt", billable=False)
    make_place(slug="aab-rien", name="Rien à facturer", billable=False)  # nothing due: fine
    subscribe(bare, make_person(place=bare, first_name="Ana"), make_plan(bare))
    subscribe(place, person, make_plan(place))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "billing", "run", "--period", "2026-11", "--date", "2026-11-20", stdout=out, stderr=err
        )
    assert "Pas prêt" in str(failed.value) and "SIRET" in str(failed.value)
    assert "Rien à facturer" not in str(failed.value) and "1 lieu(x)" in str(failed.value)
    assert Invoice.objects.filter(place=place, status=Invoice.Status.ISSUED).count() == 1
    assert not Invoice.objects.filter(place=bare).exists()


def test_the_command_refuses_a_future_issue_date(place):
    with pytest.raises(CommandError) as err:
        call_command("billing", "run", "--period", "2026-11", "--date", "2099-01-01")
    assert "futur" in str(err.value)


def test_command_refuses_bad_input(place):
    with pytest.raises(CommandError, match="AAAA-MM"):
        call_command("billing", "run", "--period", "2026-13")
    with pytest.raises(CommandError, match="Aucun lieu"):
        call_command("billing", "run", "--period", "2026-11", "--place", "nulle-part")
    with pytest.raises(CommandError, match="AAAA-MM-JJ"):
        call_command("billing", "run", "--period", "2026-11", "--date", "1er décembre")
