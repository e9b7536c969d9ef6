"""Subscriptions: validation, pro-rata, pause, resumption, cancellation, change of plan."""

import datetime as dt
from decimal import Decimal

import pytest

from conciergerie.billing import periods
from conciergerie.billing.models import Invoice, InvoiceLine, Product, Subscription
from conciergerie.billing.services import invoices
from conciergerie.billing.services.runs import billing_run
from conciergerie.billing.services.subscriptions import (
    subscription_cancel,
    subscription_change_plan,
    subscription_create,
    subscription_pause,
    subscription_resume,
)
from conciergerie.community import services as community
from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.models import AuditEntry
from tests.billing.conftest import make_product
from tests.billing.subscription_helpers import DEC_1, NOV, make_plan
from tests.factories import make_person, make_place


@pytest.fixture
def plan(place):
    return make_plan(place, "Résident", "300.00")


def subscribe(place, person, plan, start, **kw):
    return subscription_create(place=place, by=None, plan=plan, person=person, start=start, **kw)


def november_lines(place, person):
    billing_run(place=place, period=NOV, on=DEC_1)
    return list(
        InvoiceLine.objects.filter(invoice__person=person, invoice__period_start=NOV).order_by(
            "position"
        )
    )


# --- the rule ------------------------------------------------------------------------------------


def test_prorata_rule_is_days_over_days_in_month_to_three_decimals():
    class Sub:
        start, end, paused_from, paused_until = dt.date(2026, 11, 15), None, None, None

    cov = periods.coverage(Sub, NOV)
    assert (cov.first, cov.last, cov.days, cov.month_days) == (
        dt.date(2026, 11, 15),
        dt.date(2026, 11, 30),
        16,
        30,
    )
    assert periods.prorata(cov) == Decimal("0.533")
    assert periods.plan_line_label("Résident", cov) == (
        "Résident — du 15/11/2026 au 30/11/2026 (16/30 jours)"
    )
    # Credits: 10 days × 16/30 = 5.33 → rounded down to the half unit.
    assert periods.prorated_credits(Decimal("10"), cov) == Decimal("5.0")
    assert periods.prorated_credits(Decimal("8"), cov) == Decimal("4.0")
    assert periods.prorated_credits(Decimal("15"), cov) == Decimal("8.0")  # 8.0 exactly
    assert periods.prorated_credits(Decimal("20"), cov) == Decimal("10.5")  # 10.67


# --- create --------------------------------------------------------------------------------------


def test_create_writes_the_subscription_and_an_audit_entry(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 11, 15))
    assert (sub.start, sub.end, sub.plan) == (dt.date(2026, 11, 15), None, plan)
    entry = AuditEntry.objects.get(action="subscription.create", target_uuid=sub.uuid)
    assert entry.changes["start"] == [None, "2026-11-15"]


def test_create_refuses_bad_input_with_field_messages_and_writes_nothing(place, person, plan):
    other = make_place(slug="ailleurs", name="Ailleurs")
    foreign_plan = make_plan(other, "Forfait d'ailleurs")
    stranger = make_person(place=other, first_name="Sam")
    day_pass = make_product(place)
    org = community.organisation_create(place=place, by=None, name="Coop")
    cases = [
        ({"plan": foreign_plan, "person": person, "start": NOV}, "plan", "pas de ce lieu"),
        ({"plan": day_pass, "person": person, "start": NOV}, "plan", "pas un forfait"),
        ({"plan": plan, "start": NOV}, "customer", "une seule"),
        (
            {"plan": plan, "person": person, "organisation": org, "start": NOV},
            "customer",
            "une seule",
        ),
        ({"plan": plan, "person": stranger, "start": NOV}, "customer", "pas de ce lieu"),
        ({"plan": plan, "person": person, "start": "hier"}, "start", "Date attendue"),
        (
            {"plan": plan, "person": person, "start": dt.date(1990, 1, 1)},
            "start",
            "invraisemblable",
        ),
        (
            {"plan": plan, "person": person, "start": NOV, "end": dt.date(2026, 10, 31)},
            "end",
            "précède",
        ),
    ]
    for kwargs, field, words in cases:
        with pytest.raises(InvalidInput) as err:
            subscription_create(place=place, by=None, **kwargs)
        assert words in err.value.as_errors()[field][0], (kwargs, err.value.as_errors())
    plan.active = False
    plan.save()
    with pytest.raises(InvalidInput) as err:
        subscribe(place, person, plan, NOV)
    assert "plus en vente" in err.value.as_errors()["plan"][0]
    assert not Subscription.objects.exists()


def test_one_running_subscription_per_plan_and_customer(place, person, plan):
    first = subscribe(place, person, plan, NOV, end=dt.date(2026, 12, 31))
    with pytest.raises(Conflict) as err:
        subscribe(place, person, plan, dt.date(2026, 12, 15))
    assert "existe déjà" in err.value.message
    # After it, or another plan, or someone else: fine.
    subscribe(place, person, plan, dt.date(2027, 1, 1))
    subscribe(place, person, make_plan(place, "Nomade", "90.00"), NOV)
    subscribe(place, make_person(place=place, first_name="Noé"), plan, NOV)
    assert Subscription.objects.filter(plan=plan, person=person).count() == 2
    assert first.pk


def test_an_organisation_subscribes_too(place, plan):
    org = community.organisation_create(place=place, by=None, name="Coopérative Bois")
    sub = subscription_create(place=place, by=None, plan=plan, organisation=org, start=NOV)
    billing_run(place=place, period=NOV, on=DEC_1)
    invoice = Invoice.objects.get(organisation=org)
    assert invoice.buyer["name"] == "Coopérative Bois" and invoice.total_net == Decimal("300.00")
    assert sub.lines.count() == 1


# --- pro-rata on the invoice ------------------------------------------------------------------------


def test_mid_month_start_is_prorated_on_the_invoice(place, person, plan):
    subscribe(place, person, plan, dt.date(2026, 11, 15))
    (line,) = november_lines(place, person)
    assert line.label == "Résident — du 15/11/2026 au 30/11/2026 (16/30 jours)"
    assert (line.quantity, line.unit, line.unit_price) == (Decimal("0.533"), "MON", Decimal("300"))
    assert line.net_amount == Decimal("159.90")  # line_net(0.533, 300.00)
    assert (line.period_start, line.period_end) == (dt.date(2026, 11, 15), dt.date(2026, 11, 30))


def test_a_full_month_is_one_month(place, person, plan):
    subscribe(place, person, plan, dt.date(2026, 10, 3))
    (line,) = november_lines(place, person)
    assert (line.label, line.quantity, line.net_amount) == (
        "Résident — novembre 2026",
        Decimal("1"),
        Decimal("300.00"),
    )


def test_change_of_plan_bills_each_plan_for_its_own_days(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 10, 1))
    nomad = make_plan(place, "Nomade", "90.00")
    new = subscription_change_plan(subscription=sub, by=None, plan=nomad, on=dt.date(2026, 11, 20))
    sub.refresh_from_db()
    assert sub.end == dt.date(2026, 11, 19) and new.start == dt.date(2026, 11, 20)
    assert new.replaces == sub and new.end is None and new.plan == nomad
    old_line, new_line = november_lines(place, person)
    assert old_line.label == "Résident — du 01/11/2026 au 19/11/2026 (19/30 jours)"
    assert (old_line.quantity, old_line.net_amount) == (Decimal("0.633"), Decimal("189.90"))
    assert new_line.label == "Nomade — du 20/11/2026 au 30/11/2026 (11/30 jours)"
    assert (new_line.quantity, new_line.net_amount) == (Decimal("0.367"), Decimal("33.03"))
    assert Invoice.objects.filter(person=person).count() == 1  # one invoice for the month
    assert AuditEntry.objects.filter(action="subscription.change_plan", target_uuid=sub.uuid)


def test_change_of_plan_is_validated(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 11, 10))
    with pytest.raises(InvalidInput) as err:
        subscription_change_plan(subscription=sub, by=None, plan=plan, on=dt.date(2026, 11, 20))
    assert "déjà le forfait" in err.value.as_errors()["plan"][0]
    with pytest.raises(InvalidInput) as err:
        subscription_change_plan(
            subscription=sub, by=None, plan=make_plan(place, "Nomade"), on=dt.date(2026, 11, 10)
        )
    assert "après ce jour" in err.value.as_errors()["on"][0]
    with pytest.raises(InvalidInput) as err:
        subscription_change_plan(
            subscription=sub, by=None, plan=make_product(place), on=dt.date(2026, 11, 20)
        )
    assert "pas un forfait" in err.value.as_errors()["plan"][0]
    assert Subscription.objects.count() == 1


def test_a_second_change_of_plan_on_a_replaced_subscription_is_refused(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 10, 1))
    nomad = make_plan(place, "Nomade", "90.00")
    new = subscription_change_plan(subscription=sub, by=None, plan=nomad, on=dt.date(2026, 12, 1))
    # The old subscription still runs until 30/11: change it again, earlier.
    with pytest.raises(Conflict) as err:
        subscription_change_plan(
            subscription=sub, by=None, plan=make_plan(place, "Libre"), on=dt.date(2026, 11, 15)
        )
    assert "déjà prévu" in err.value.message and "« Nomade » à partir du 01/12/2026" in (
        err.value.message
    )
    assert "l'abonnement qui le remplace" in err.value.message
    sub.refresh_from_db()
    assert sub.end == dt.date(2026, 11, 30) and sub.plan == plan
    assert list(Subscription.objects.order_by("start").values_list("plan__name", flat=True)) == [
        "Résident",
        "Nomade",
    ]
    # The subscription that replaces it may still change.
    later = subscription_change_plan(
        subscription=new, by=None, plan=Product.objects.get(name="Libre"), on=dt.date(2027, 1, 1)
    )
    assert later.replaces == new and later.start == dt.date(2027, 1, 1)


# --- pause and resumption --------------------------------------------------------------------------


def test_paused_days_are_not_billed(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 10, 1))
    subscription_pause(
        subscription=sub, by=None, start=dt.date(2026, 11, 5), end=dt.date(2026, 11, 14)
    )
    (line,) = november_lines(place, person)
    assert line.label == (
        "Résident — novembre 2026, hors pause du 05/11/2026 au 14/11/2026 (20/30 jours)"
    )
    assert (line.quantity, line.net_amount) == (Decimal("0.667"), Decimal("200.10"))


def test_a_month_paused_throughout_is_not_billed(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 10, 1))
    subscription_pause(subscription=sub, by=None, start=dt.date(2026, 10, 20), end=None)
    assert november_lines(place, person) == []
    assert not Invoice.objects.filter(person=person).exists()
    # Resumed on 21/11: ten days of November are due.
    subscription_resume(subscription=sub, by=None, on=dt.date(2026, 11, 21))
    sub.refresh_from_db()
    assert (sub.paused_from, sub.paused_until) == (dt.date(2026, 10, 20), dt.date(2026, 11, 20))
    (line,) = november_lines(place, person)
    assert (line.quantity, line.net_amount) == (Decimal("0.333"), Decimal("99.90"))


def test_resume_before_the_pause_starts_removes_it(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 10, 1))
    subscription_pause(
        subscription=sub, by=None, start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 31)
    )
    sub = subscription_resume(subscription=sub, by=None, on=dt.date(2026, 11, 25))
    assert (sub.paused_from, sub.paused_until) == (None, None)
    with pytest.raises(Conflict):
        subscription_resume(subscription=sub, by=None, on=dt.date(2026, 11, 26))


def test_pause_is_validated(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 11, 10), end=dt.date(2027, 1, 31))
    with pytest.raises(InvalidInput) as err:
        subscription_pause(subscription=sub, by=None, start=dt.date(2026, 11, 1), end=None)
    assert "ne peut pas commencer avant" in err.value.as_errors()["start"][0]
    with pytest.raises(InvalidInput) as err:
        subscription_pause(
            subscription=sub, by=None, start=dt.date(2026, 12, 10), end=dt.date(2026, 12, 1)
        )
    assert "précède" in err.value.as_errors()["end"][0]
    # Beyond the subscription's end: the pause stops with it.
    sub = subscription_pause(subscription=sub, by=None, start=dt.date(2027, 1, 10), end=None)
    assert sub.paused_until == dt.date(2027, 1, 31)


# --- cancellation ----------------------------------------------------------------------------------


def test_cancel_ends_at_the_end_of_the_current_month_by_default(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 1, 1))
    sub = subscription_cancel(subscription=sub, by=None)
    now = invoices.today(place)
    assert sub.end == periods.month_end(now) and sub.cancelled_at is not None
    assert AuditEntry.objects.filter(action="subscription.cancel", target_uuid=sub.uuid).exists()


def test_cancel_cannot_end_before_what_is_invoiced(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 10, 1))
    billing_run(place=place, period=NOV, on=DEC_1)
    number = Invoice.objects.get(person=person).number
    with pytest.raises(Conflict) as err:
        subscription_cancel(subscription=sub, by=None, end=dt.date(2026, 11, 15))
    assert "Novembre 2026 est déjà facturé" in err.value.message
    assert number in err.value.message and "avoir" in err.value.message
    with pytest.raises(Conflict):
        subscription_pause(subscription=sub, by=None, start=dt.date(2026, 11, 20), end=None)
    with pytest.raises(Conflict):
        subscription_change_plan(
            subscription=sub, by=None, plan=make_plan(place, "Nomade"), on=dt.date(2026, 11, 20)
        )
    sub.refresh_from_db()
    assert sub.end is None and sub.paused_from is None
    # The end of the invoiced month is fine.
    sub = subscription_cancel(subscription=sub, by=None, end=dt.date(2026, 11, 30))
    assert sub.end == dt.date(2026, 11, 30)
    billing_run(place=place, period=dt.date(2026, 12, 1), on=dt.date(2027, 1, 2))
    assert not InvoiceLine.objects.filter(subscription=sub, period_start__month=12).exists()


def test_cancel_before_the_start_removes_a_subscription_never_invoiced(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2027, 2, 1))
    assert subscription_cancel(subscription=sub, by=None, end=dt.date(2027, 1, 31)) is None
    assert not Subscription.objects.exists()
    assert AuditEntry.objects.get(action="subscription.cancel").changes["deleted"] == [None, True]


def test_cancel_twice_or_to_lengthen_is_refused(place, person, plan):
    sub = subscribe(place, person, plan, dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    with pytest.raises(InvalidInput) as err:
        subscription_cancel(subscription=sub, by=None, end=dt.date(2027, 3, 31))
    assert "ne le prolonge pas" in err.value.as_errors()["end"][0]
    ended = subscribe(
        place, person, make_plan(place, "Ancien"), dt.date(2025, 1, 1), end=dt.date(2025, 6, 30)
    )
    with pytest.raises(Conflict) as err:
        subscription_cancel(subscription=ended, by=None)
    assert "déjà terminé" in err.value.message


def test_plan_must_be_a_monthly_plan_of_the_place(place, person):
    pack = make_product(place, kind=Product.Kind.PACK, name="Carnet")
    with pytest.raises(InvalidInput):
        subscribe(place, person, pack, NOV)
