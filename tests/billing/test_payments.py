"""Payments, their allocation, balances, reminders, period closing and fundings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from conciergerie.billing import services
from conciergerie.billing.models import Funding, Invoice, Payment, PaymentAllocation, Reminder
from conciergerie.billing.selectors.payments import (
    customer_balance,
    invoices_due,
    open_invoices,
    payments_list,
)
from conciergerie.billing.services.accounting import funding_delete, funding_record, period_close
from conciergerie.billing.services.payments import (
    payment_allocate,
    payment_cancel,
    payment_record,
    reminder_send,
    reminders_due,
)
from conciergerie.core.errors import Conflict, InvalidInput, PermissionDenied
from conciergerie.core.models import AuditEntry, OutboxMessage
from tests.billing.conftest import ON, issued_invoice
from tests.concurrency.test_booking_race import run_together
from tests.factories import make_person, make_place, make_user

RECEIVED = ON + dt.timedelta(days=1)


def left(invoice: Invoice) -> Decimal:
    return open_invoices(invoice.place).get(pk=invoice.pk).left


def pay(place, person, amount, **options):
    options.setdefault("method", Payment.Method.TRANSFER)
    options.setdefault("received_on", RECEIVED)
    return payment_record(place=place, by=None, person=person, amount=amount, **options)


# --- Allocation -------------------------------------------------------------------------------


def test_a_partial_payment_leaves_the_rest_to_pay(place, person):
    invoice = issued_invoice(place, person, on=ON)  # 2 × 15 € HT + 20 % = 36,00 €
    payment = pay(place, person, "20,00 €", allocations=[(invoice, "20")])
    assert payment.amount == Decimal("20.00")
    assert left(invoice) == Decimal("16.00")
    assert customer_balance(place, person=person).owed == Decimal("16.00")
    [due] = invoices_due(place)
    assert (due.pk, due.left, due.paid) == (invoice.pk, Decimal("16.00"), Decimal("20.00"))

    pay(place, person, "16")
    assert left(invoice) == Decimal("0.00")
    assert list(invoices_due(place)) == []
    assert customer_balance(place, person=person).owed == Decimal("0.00")


def test_automatic_allocation_pays_the_oldest_first_and_keeps_the_rest_as_credit(place, person):
    older = issued_invoice(place, person, on=ON)
    newer = issued_invoice(place, person, on=ON + dt.timedelta(days=1))
    first = pay(place, person, "50")
    assert {a.invoice_id: a.amount for a in first.allocations.all()} == {
        older.pk: Decimal("36.00"),
        newer.pk: Decimal("14.00"),
    }
    second = pay(place, person, "30")
    assert [(a.invoice_id, a.amount) for a in second.allocations.all()] == [
        (newer.pk, Decimal("22.00"))
    ]
    balance = customer_balance(place, person=person)
    # 72 € invoiced, 80 € paid: 8 € of credit, not allocated to anything.
    assert (balance.owed, balance.unallocated) == (Decimal("-8.00"), Decimal("8.00"))
    [listed_second, listed_first] = payments_list(place)
    assert (listed_second.allocated, listed_second.unallocated) == (
        Decimal("22.00"),
        Decimal("8.00"),
    )
    assert listed_first.unallocated == Decimal("0.00")


def test_a_credit_allocated_later_pays_the_next_invoice(place, person):
    payment = pay(place, person, "40", allocations=[])
    assert not payment.allocations.exists()
    invoice = issued_invoice(place, person, on=ON)
    [allocation] = payment_allocate(payment=payment, by=None)
    assert (allocation.invoice_id, allocation.amount) == (invoice.pk, Decimal("36.00"))
    with pytest.raises(Conflict):  # 4 € left, but nothing left to pay
        payment_allocate(payment=payment, by=None)


def test_over_allocation_is_refused_and_nothing_is_written(place, person):
    invoice = issued_invoice(place, person, on=ON)
    with pytest.raises(InvalidInput) as caught:
        pay(place, person, "50", allocations=[(invoice, "40")])
    [message] = caught.value.as_errors()[f"allocations.{invoice.number}"]
    assert "36,00" in message.replace("\u202f", " ")
    other = issued_invoice(place, person, on=ON)
    with pytest.raises(InvalidInput) as caught:
        pay(place, person, "30", allocations=[(invoice, "20"), (other, "20")])
    assert "allocations" in caught.value.as_errors()
    # The same invoice given twice counts twice.
    with pytest.raises(InvalidInput):
        pay(place, person, "50", allocations=[(invoice, "20"), (invoice, "20")])
    assert not Payment.objects.exists() and not PaymentAllocation.objects.exists()


def test_credit_notes_reduce_what_is_left_to_pay(place, person):
    invoice = issued_invoice(place, person, on=ON)
    line = invoice.lines.get()
    credit = services.credit_note_create(invoice=invoice, by=None, quantities={line.pk: "1"})
    draft_left = left(invoice)
    services.invoice_issue(invoice=credit, by=None, on=ON)
    assert (draft_left, left(invoice)) == (Decimal("36.00"), Decimal("18.00"))
    with pytest.raises(InvalidInput):
        pay(place, person, "20", allocations=[(invoice, "20")])
    pay(place, person, "18", allocations=[(invoice, "18")])
    assert customer_balance(place, person=person).owed == Decimal("0.00")


def test_only_the_customers_own_issued_invoices_take_a_payment(place, person):
    someone = make_person(place=place, first_name="Sam")
    theirs = issued_invoice(place, someone, on=ON)
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    for invoice in (theirs, draft):
        with pytest.raises(InvalidInput):
            pay(place, person, "10", allocations=[(invoice, "10")])
    assert left(theirs) == Decimal("36.00")


def test_bad_input_gets_a_message_per_field(place, person):
    elsewhere = make_person(place=make_place(slug="ailleurs"), first_name="Ailleurs")
    with pytest.raises(InvalidInput) as caught:
        payment_record(
            place=place,
            by=None,
            person=elsewhere,
            method="troc",
            amount="douze",
            received_on=timezone.now().date() + dt.timedelta(days=3),
        )
    assert set(caught.value.as_errors()) == {"customer", "method", "amount", "received_on"}
    for amount in ("-5", "0", "1,234"):
        with pytest.raises(InvalidInput) as caught:
            pay(place, person, amount)
        assert "amount" in caught.value.as_errors()
    with pytest.raises(InvalidInput) as caught:
        pay(place, None, "10")
    assert "customer" in caught.value.as_errors()
    assert not Payment.objects.exists()


def test_cancelling_a_payment_makes_the_invoice_owed_again(place, person):
    invoice = issued_invoice(place, person, on=ON)
    payment = pay(place, person, "36")
    payment_cancel(payment=payment, by=None, reason="chèque refusé")
    assert left(invoice) == Decimal("36.00")
    entry = AuditEntry.objects.get(action="payment.cancel")
    assert entry.changes["amount"] == ["36.00", None]
    assert entry.changes["reason"] == [None, "chèque refusé"]


# --- Concurrency ------------------------------------------------------------------------------


def _race(settings, *, guard: bool) -> tuple[Invoice, int]:
    place = make_place(slug=f"course-paiement-{int(guard)}", name="Course")
    person = make_person(place=place, first_name="Lina")
    invoice = issued_invoice(place, person, on=ON)  # 36 €
    settings.CAPACITY_GUARD = guard
    settings.CAPACITY_RACE_WINDOW = 0.05

    def job():
        pay(place, person, "10")  # each payment goes to the oldest open invoice

    run_together([job for _ in range(8)])
    allocated = sum(a.amount for a in PaymentAllocation.objects.filter(invoice=invoice))
    return invoice, allocated


@pytest.mark.django_db(transaction=True)
def test_without_the_guard_concurrent_payments_over_allocate(settings):
    _invoice, allocated = _race(settings, guard=False)
    assert allocated > Decimal("36.00")  # the race the guard prevents


@pytest.mark.django_db(transaction=True)
def test_with_the_guard_concurrent_payments_never_over_allocate(settings):
    invoice, allocated = _race(settings, guard=True)
    assert allocated == Decimal("36.00")
    assert Payment.objects.filter(place=invoice.place).count() == 8
    balance = customer_balance(invoice.place, person=invoice.person)
    assert (balance.owed, balance.unallocated) == (Decimal("-44.00"), Decimal("44.00"))


# --- Reminders --------------------------------------------------------------------------------


def after_due(invoice: Invoice, days: int) -> dt.datetime:
    return dt.datetime.combine(
        invoice.due_date + dt.timedelta(days=days), dt.time(9), tzinfo=dt.UTC
    )


def test_the_reminder_chore_sends_once_per_interval_three_times_at_most(
    place, person, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(place, person, on=ON)
    pay(place, person, "6", allocations=[(invoice, "6")])
    assert services.settings_for(place).reminder_days == 15
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_due(now=after_due(invoice, 0)) == 0  # due today: not late yet
        assert reminders_due(now=after_due(invoice, 1)) == 1
        assert reminders_due(now=after_due(invoice, 2)) == 0
        assert reminders_due(now=after_due(invoice, 15)) == 0
        assert reminders_due(now=after_due(invoice, 16)) == 1
        assert reminders_due(now=after_due(invoice, 31)) == 1
        assert reminders_due(now=after_due(invoice, 100)) == 0  # three is enough
    assert Reminder.objects.filter(invoice=invoice).count() == 3
    message = OutboxMessage.objects.filter(to="lina@example.org").first()
    body = message.body.replace("\u202f", " ")
    assert invoice.number in message.subject
    assert "30,00 €" in body  # what is left, not the total
    assert invoice.due_date.strftime("%Y") in body


def test_paid_invoices_and_invoices_without_email_get_no_reminder(place, person):
    paid = issued_invoice(place, person, on=ON)
    pay(place, person, "36")
    nobody = make_person(place=place, first_name="Sans", email="")
    silent = issued_invoice(place, nobody, on=ON)
    assert reminders_due(now=after_due(paid, 5)) == 0
    assert not Reminder.objects.exists()
    with pytest.raises(Conflict):
        reminder_send(invoice=paid, by=None)
    with pytest.raises(InvalidInput):
        reminder_send(invoice=silent, by=None)


def test_a_place_can_turn_automatic_reminders_off(place, person):
    invoice = issued_invoice(place, person, on=ON)
    billing = services.settings_for(place)
    billing.reminder_days = 0
    billing.save()
    assert reminders_due(now=after_due(invoice, 10)) == 0


def test_a_manual_reminder_is_sent_with_the_iban(place, person, django_capture_on_commit_callbacks):
    billing = services.settings_for(place)
    billing.iban = "FR7630006000011234567890189"
    billing.save()
    invoice = issued_invoice(place, person, on=ON)
    with django_capture_on_commit_callbacks(execute=True):
        reminder_send(invoice=invoice, by=None)
    message = OutboxMessage.objects.get(to="lina@example.org")
    assert "FR7630006000011234567890189" in message.body
    assert Reminder.objects.filter(invoice=invoice).count() == 1


def test_the_worker_chores_include_the_reminders(place, person, django_capture_on_commit_callbacks):
    from conciergerie.core.management.commands.worker import run_chores

    invoice = issued_invoice(place, person, on=dt.date(2026, 9, 1))  # due 1 October: late now
    with django_capture_on_commit_callbacks(execute=True):
        assert run_chores() >= 1
    assert Reminder.objects.filter(invoice=invoice).count() == 1


# --- Closing a period, fundings ---------------------------------------------------------------


def test_a_closed_period_refuses_payments_cancellations_and_fundings(place, person):
    admin = make_user(place=place, role="admin")
    invoice = issued_invoice(place, person, on=ON)
    early = pay(place, person, "10", received_on=ON)
    grant = funding_record(
        place=place,
        by=None,
        kind=Funding.Kind.PUBLIC_GRANT,
        funder="Région",
        amount="1 000,00",
        received_on=ON,
    )
    period_close(place=place, by=admin, until=ON)
    for attempt in (
        lambda: pay(place, person, "5", received_on=ON),
        lambda: payment_cancel(payment=early, by=None),
        lambda: funding_delete(funding=grant, by=None),
        lambda: funding_record(
            place=place, by=None, kind="don", funder="X", amount="5", received_on=ON
        ),
    ):
        with pytest.raises(InvalidInput) as caught:
            attempt()
        assert "close" in caught.value.as_errors()["received_on"][0]
    with pytest.raises(Conflict):  # issuing is refused too (invoices.py)
        issued_invoice(place, person, on=ON)
    # After the closing date all goes on; an old payment may still be allocated.
    pay(place, person, "26", received_on=RECEIVED)
    assert left(invoice) == Decimal("0.00")
    assert Payment.objects.filter(pk=early.pk).exists() and Funding.objects.count() == 1


def test_closing_only_moves_forward_and_only_for_admins(place, person):
    admin = make_user(place=place, role="admin")
    concierge = make_user(place=place, role="concierge")
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    with pytest.raises(PermissionDenied):
        period_close(place=place, by=concierge, until=ON)
    today = services.today(place)
    with pytest.raises(InvalidInput):
        period_close(place=place, by=admin, until=today)
    period_close(place=place, by=admin, until=ON)
    with pytest.raises(Conflict):
        period_close(place=place, by=admin, until=ON - dt.timedelta(days=1))
    assert services.settings_for(place).closed_until == ON
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT  # drafts stay drafts
    services.invoice_line_add(invoice=draft, by=None, label="x", quantity=1, unit_price="10")
    assert services.invoice_issue(invoice=draft, by=None).issue_date > ON


def test_fundings_are_validated(place):
    with pytest.raises(InvalidInput) as caught:
        funding_record(
            place=place, by=None, kind="loterie", funder=" ", amount="x", received_on="hier"
        )
    assert set(caught.value.as_errors()) == {"kind", "funder", "amount", "received_on"}
    gift = funding_record(
        place=place, by=None, kind="don", funder="Amie", amount="50", received_on=ON
    )
    funding_delete(funding=gift, by=None)
    assert not Funding.objects.exists()


def test_lists_of_dues_and_payments_cost_the_same_for_1_or_10_invoices(place, person):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            dues = [(i.number, i.left, i.reminders_sent) for i in invoices_due(place)]
            paid = [
                (p.amount, [a.invoice.number for a in p.allocations.all()])
                for p in payments_list(place)
            ]
            customer_balance(place, person=person)
        return len(ctx), len(dues), len(paid)

    issued_invoice(place, person, on=ON)
    pay(place, person, "1")
    one = queries()
    for _ in range(9):
        issued_invoice(place, make_person(place=place, first_name="P"), on=ON)
        pay(place, person, "1")
    ten = queries()
    assert (one[1:], ten[1:]) == ((1, 1), (10, 10))
    assert one[0] == ten[0] == 1 + 2 + 3
