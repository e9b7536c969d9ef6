"""The demo's billing: L'Établi's current year of money, written through billing.services.

Billing settings, the products of a fablab + coworking, a dozen subscriptions (some starting
mid-month, one change of plan, one pause, some cancelled), then the year replayed day by day
up to today: the monthly billing run on the first of each month, counter sales in between
(day passes, books of 10 days, room and machine hours, a training for a company, event
tickets, memberships), payments (in full, partial, some never: overdue), one credit note, a
public grant and a private donation. Invoice numbers follow dates because everything is
issued in date order. Reproducible for a given day: a random generator seeded with the demo
SEED; the calendar scales to how much of the year has gone by, so a demo loaded in January
has the same kinds of things as one loaded in December, only fewer.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.fr import siren as stdnum_siren

from conciergerie.billing import periods
from conciergerie.billing.models import CreditKind, Funding, Invoice, Payment, Product, Vat
from conciergerie.billing.selectors.payments import open_invoices
from conciergerie.billing.services import credits, invoices, setup
from conciergerie.billing.services.accounting import funding_record
from conciergerie.billing.services.payments import payment_record
from conciergerie.billing.services.runs import billing_run
from conciergerie.billing.services.subscriptions import (
    subscription_cancel,
    subscription_change_plan,
    subscription_create,
    subscription_pause,
)
from conciergerie.community.models import Organisation, Person
from conciergerie.core.models import Place, User
from conciergerie.demo.data import ADMIN_EMAIL, CONCIERGE_EMAIL, MAIN_SLUG, MEMBER_EMAIL, SEED

LEGAL_NAME = "Association L'Établi"
# A demo bank account: syntactically valid (RIB key and IBAN check digits), no real bank.
BANK, BRANCH, ACCOUNT = "99999", "00001", "00012345678"
BIC = "DEMOFRPP"

PRODUCTS: dict[str, dict[str, Any]] = {
    "adhesion": {
        "name": "Adhésion annuelle à l'association",
        "kind": Product.Kind.MEMBERSHIP,
        "unit_price": Decimal("20.00"),
        "vat": Vat.EXEMPT,  # a membership fee is not a sale
        "description": "Donne accès aux machines et à l'annuaire des membres.",
    },
    "illimite": {
        "name": "Coworking illimité",
        "kind": Product.Kind.PLAN,
        "unit_price": Decimal("180.00"),
        "unit": Product.Unit.MONTH,
        "desk_days": None,
        "room_hours": Decimal("4"),
        "description": "Un poste tous les jours d'ouverture, 4 heures de salle par mois.",
    },
    "huit_jours": {
        "name": "Coworking 8 jours par mois",
        "kind": Product.Kind.PLAN,
        "unit_price": Decimal("110.00"),
        "unit": Product.Unit.MONTH,
        "desk_days": Decimal("8"),
        "room_hours": Decimal("2"),
        "description": "Huit journées de coworking par mois, 2 heures de salle.",
    },
    "pass_jour": {
        "name": "Pass journée coworking",
        "kind": Product.Kind.DAY_PASS,
        "unit_price": Decimal("15.00"),
        "unit": Product.Unit.DAY,
    },
    "carnet": {
        "name": "Carnet de 10 journées",
        "kind": Product.Kind.PACK,
        "unit_price": Decimal("130.00"),
        "pack_kind": CreditKind.DESK_DAYS,
        "pack_quantity": Decimal("10"),
        "pack_valid_days": 365,
        "description": "Dix journées de coworking à utiliser dans l'année.",
    },
    "salle": {
        "name": "Salle de réunion (heure)",
        "kind": Product.Kind.ROOM_HOUR,
        "unit_price": Decimal("20.00"),
        "unit": Product.Unit.HOUR,
    },
    "machine": {
        "name": "Découpeuse laser (heure)",
        "kind": Product.Kind.MACHINE_HOUR,
        "unit_price": Decimal("25.00"),
        "unit": Product.Unit.HOUR,
    },
    "formation": {
        "name": "Formation découpe laser (une journée)",
        "kind": Product.Kind.SERVICE,
        "unit_price": Decimal("240.00"),
        # Vocational training by a registered body is VAT-exempt (art. 261-4-4° du CGI).
        "vat": Vat.EXEMPT,
    },
    "billet": {
        "name": "Billet d'atelier",
        "kind": Product.Kind.TICKET,
        "unit_price": Decimal("12.00"),
        "vat": Vat.REDUCED,
    },
}

ADDRESSES = {
    "Atelier Bois & Cie": ("7 rue des Artisans", "86100", "Châtellerault"),
    "Vélo-Cité Châtellerault": ("3 rue de la Taillée", "86100", "Châtellerault"),
}


@dataclass(frozen=True)
class Sub:
    """One subscription: its plan, the month (of a 12-month year, scaled to the months gone
    by) and day it starts, and what happens to it."""

    plan: str
    month: int
    day: int = 1
    end_month: int | None = None  # cancelled at the end of that month
    change_to: str = ""  # a change of plan on the first of `change_month`
    change_month: int = 0
    pause_month: int = 0  # paused that whole month


SUBSCRIPTIONS: list[Sub] = [
    Sub("huit_jours", 1, change_to="illimite", change_month=7),  # the member account
    Sub("illimite", 1),  # the cooperative (an organisation)
    Sub("illimite", 1, end_month=4),
    Sub("huit_jours", 2, day=15),
    Sub("illimite", 3, pause_month=8),
    Sub("huit_jours", 4, day=10, end_month=8),
    Sub("illimite", 5, day=18),
    Sub("huit_jours", 6, end_month=9),
    Sub("illimite", 7, day=7),
    Sub("huit_jours", 9),
    Sub("illimite", 9, day=22),
    Sub("huit_jours", 10, day=13),
]

METHODS = [
    (Payment.Method.TRANSFER, 5),
    (Payment.Method.CARD, 3),
    (Payment.Method.CHEQUE, 2),
    (Payment.Method.CASH, 1),
]


def demo_iban() -> str:
    """FR76 + bank, branch, account and RIB key, with the IBAN check digits."""
    key = 97 - (89 * int(BANK) + 15 * int(BRANCH) + 3 * int(ACCOUNT)) % 97
    bban = f"{BANK}{BRANCH}{ACCOUNT}{key:02d}"
    iban = "FR" + stdnum_iban.calc_check_digits("FR00" + bban) + bban
    return stdnum_iban.validate(iban)


def vat_number(siret: str) -> str:
    """The French intra-EU VAT number of a SIRET's company (key computed from the SIREN)."""
    return "FR" + stdnum_siren.to_tva(siret[:9]).replace(" ", "")


class _Timeline:
    """Actions run in date order (then by rank): invoice numbers must follow dates."""

    RUN, SALE, CREDIT_NOTE, PAYMENT, FUNDING = range(5)

    def __init__(self) -> None:
        self._heap: list[tuple[dt.date, int, int, Callable[[], object]]] = []
        self._n = itertools.count()

    def at(self, day: dt.date, rank: int, action: Callable[[], object]) -> None:
        heapq.heappush(self._heap, (day, rank, next(self._n), action))

    def run(self) -> None:
        while self._heap:
            _day, _rank, _n, action = heapq.heappop(self._heap)
            action()


class _BillingLoader:
    def __init__(self, place: Place, rng: random.Random) -> None:
        self.place, self.rng = place, rng
        self.by = User.objects.get(email=CONCIERGE_EMAIL)
        self.admin = User.objects.get(email=ADMIN_EMAIL)
        self.today = invoices.today(place)
        self.year = self.today.year
        self.months = self.today.month  # months of the year begun so far
        self.timeline = _Timeline()
        self.products: dict[str, Product] = {}
        self.credit_notes = 0
        self.payments = 0
        people = Person.objects.filter(place=place).exclude(email="").order_by("id")
        self.member = Person.objects.get(place=place, user__email=MEMBER_EMAIL)
        team = {ADMIN_EMAIL, CONCIERGE_EMAIL, MEMBER_EMAIL}
        self.people = [p for p in people if p.email not in team]
        self.orgs = {o.name: o for o in Organisation.objects.filter(place=place)}

    # --- Dates ---------------------------------------------------------------------------------

    def month(self, month12: int) -> int:
        """A month of a 12-month calendar, squeezed into the months gone by this year."""
        return max(1, min(self.months, math.ceil(month12 * self.months / 12)))

    def day(self, month: int, day: int) -> dt.date:
        return dt.date(
            self.year, month, min(day, periods.days_in_month(dt.date(self.year, month, 1)))
        )

    def past(self, day: dt.date) -> dt.date:
        return min(day, self.today)

    # --- Set-up --------------------------------------------------------------------------------

    def settings(self) -> None:
        iban = demo_iban()
        assert stdnum_bic.is_valid(BIC)
        setup.billing_settings_update(
            place=self.place,
            by=self.admin,
            legal_name=LEGAL_NAME,
            vat_number=vat_number(self.place.siret) if self.place.siret else "",
            iban=iban,
            bic=BIC,
            payment_days=30,
        )

    def catalogue(self) -> None:
        for key, fields in PRODUCTS.items():
            self.products[key] = setup.product_create(place=self.place, by=self.admin, **fields)

    def subscriptions(self) -> list[Person | Organisation]:
        """Create the year's subscriptions; returns who subscribed, in order."""
        coop = self.orgs["Les Ruches Vives"]
        subscribers: list[Person | Organisation] = [self.member, coop]
        subscribers += self.rng.sample(self.people, len(SUBSCRIPTIONS) - 2)
        for spec, who in zip(SUBSCRIPTIONS, subscribers, strict=True):
            month = self.month(spec.month)
            customer = {"organisation": who} if isinstance(who, Organisation) else {"person": who}
            sub = subscription_create(
                place=self.place,
                by=self.by,
                plan=self.products[spec.plan],
                start=self.day(month, spec.day if spec.month > 1 else 1),
                **customer,
            )
            if spec.pause_month:
                paused = max(self.month(spec.pause_month), month + 1)
                if paused <= 12:
                    first = dt.date(self.year, paused, 1)
                    subscription_pause(
                        subscription=sub, by=self.by, start=first, end=periods.month_end(first)
                    )
            if spec.change_to:
                changed = max(self.month(spec.change_month), month + 1)
                if changed <= 12:
                    subscription_change_plan(
                        subscription=sub,
                        by=self.by,
                        plan=self.products[spec.change_to],
                        on=dt.date(self.year, changed, 1),
                    )
            if spec.end_month:
                ended = max(self.month(spec.end_month), month)
                subscription_cancel(
                    subscription=sub,
                    by=self.by,
                    end=periods.month_end(dt.date(self.year, ended, 1)),
                )
        return subscribers

    # --- What happens during the year -----------------------------------------------------------

    def monthly_runs(self) -> None:
        for month in range(1, self.months + 1):
            first = dt.date(self.year, month, 1)
            self.timeline.at(first, _Timeline.RUN, functools.partial(self._run, first))

    def _run(self, first: dt.date) -> None:
        before = set(Invoice.objects.filter(place=self.place).values_list("pk", flat=True))
        billing_run(place=self.place, period=first, by=self.by, on=first)
        issued = list(
            Invoice.objects.filter(place=self.place, issue_date=first)
            .exclude(pk__in=before)
            .order_by("sequence")
        )
        for position, invoice in enumerate(issued):
            if position == 0 and first.month == self.month(9):
                self._credit_note_later(invoice, first)
            else:
                # The second customer of January pays a part first: a partial payment.
                self._settle(invoice, partial=first.month == 1 and position == 1)

    def sale(
        self,
        day: dt.date,
        product: str,
        quantity: Any,
        *,
        person: Person | None = None,
        organisation: Organisation | None = None,
        pay: str = "auto",
    ) -> None:
        """A counter sale on `day` if that day has come."""
        if day > self.today:
            return
        self.timeline.at(
            day,
            _Timeline.SALE,
            lambda: self._sell(day, product, quantity, person, organisation, pay),
        )

    def _sell(
        self,
        day: dt.date,
        product: str,
        quantity: Any,
        person: Person | None,
        organisation: Organisation | None,
        pay: str,
    ) -> None:
        item = self.products[product]
        if item.kind == Product.Kind.PACK:
            invoice, _lots = credits.pack_sell(
                place=self.place, by=self.by, product=item, person=person, on=day
            )
        else:
            invoice = invoices.invoice_draft_create(
                place=self.place, by=self.by, person=person, organisation=organisation
            )
            if organisation is not None:
                street, postal_code, city = ADDRESSES.get(organisation.name, ("", "", ""))
                buyer = {"street": street, "postal_code": postal_code, "city": city}
                if organisation.siret:
                    buyer["vat_number"] = vat_number(organisation.siret)
                invoices.invoice_draft_update(invoice=invoice, by=self.by, buyer=buyer)
            invoices.invoice_line_add(invoice=invoice, by=self.by, product=item, quantity=quantity)
            invoice = invoices.invoice_issue(invoice=invoice, by=self.by, on=day)
        self._settle(invoice, partial=pay == "deposit", paid_now=pay == "now")

    def counter_sales(self, subscribers: list[Person | Organisation]) -> None:
        walk_ins = [p for p in self.people if p not in subscribers]
        rng = self.rng
        bois, velo = self.orgs["Atelier Bois & Cie"], self.orgs["Vélo-Cité Châtellerault"]
        first = self.month(1)
        for i, person in enumerate(rng.sample(walk_ins, 3)):
            self.sale(self.day(first, 8 + i), "adhesion", 1, person=person, pay="now")
        for month in range(1, self.months + 1):
            if month % 2 == 1:
                person = rng.choice(walk_ins)
                self.sale(
                    self.day(month, rng.randint(5, 25)),
                    "pass_jour",
                    rng.randint(1, 3),
                    person=person,
                    pay="now",
                )
            if month % 3 == 2:
                self.sale(
                    self.day(month, rng.randint(5, 25)),
                    "salle",
                    rng.choice([2, 3, 4]),
                    organisation=velo,
                )
            if month % 4 == 3:
                self.sale(
                    self.day(month, rng.randint(5, 25)),
                    "machine",
                    rng.choice(["1.5", "2", "3"]),
                    organisation=bois,
                )
        self.sale(self.day(self.month(2), 20), "formation", 2, organisation=bois, pay="deposit")
        for month12 in (3, 8):
            self.sale(
                self.day(self.month(month12), 16),
                "carnet",
                1,
                person=rng.choice(walk_ins),
                pay="now",
            )
        for month12 in (5, 10):
            self.sale(
                self.day(self.month(month12), 24),
                "billet",
                rng.choice([1, 2, 3]),
                person=rng.choice(walk_ins),
                pay="now",
            )

    def fundings(self) -> None:
        for kind, funder, amount, day, purpose in (
            (
                Funding.Kind.PUBLIC_GRANT,
                "Région Nouvelle-Aquitaine",
                "12000.00",
                self.day(self.month(3), 14),
                "Appel à projets « tiers-lieux » : fonctionnement de l'année",
            ),
            (
                Funding.Kind.DONATION,
                "Dons de particuliers (campagne en ligne)",
                "1240.00",
                self.day(self.month(6), 21),
                "Campagne pour la nouvelle découpeuse laser",
            ),
        ):
            self.timeline.at(
                self.past(day),
                _Timeline.FUNDING,
                functools.partial(
                    funding_record,
                    place=self.place,
                    by=self.by,
                    kind=kind,
                    funder=funder,
                    amount=amount,
                    received_on=self.past(day),
                    purpose=purpose,
                ),
            )

    # --- Money in ------------------------------------------------------------------------------

    def _settle(
        self,
        invoice: Invoice,
        *,
        partial: bool = False,
        paid_now: bool = False,
        after: dt.date | None = None,
    ) -> None:
        """Decide how the invoice gets paid, and schedule it (never after today)."""
        issued = after or invoice.issue_date
        assert issued is not None
        roll = self.rng.random()
        if paid_now:
            when, share = issued, Decimal(1)
        elif partial:
            when, share = issued + dt.timedelta(days=self.rng.randint(3, 10)), Decimal("0.3")
        elif roll < 0.78:
            when, share = issued + dt.timedelta(days=self.rng.randint(2, 25)), Decimal(1)
        elif roll < 0.86:
            when, share = issued + dt.timedelta(days=self.rng.randint(5, 20)), Decimal("0.5")
        else:
            return  # never paid: overdue once its due date has passed
        if partial:
            when = self.past(when)  # the demo always has a partial payment
        if when > self.today:
            return
        method = (
            Payment.Method.TRANSFER
            if invoice.organisation_id
            else self.rng.choices([m for m, _w in METHODS], [w for _m, w in METHODS])[0]
        )
        self.timeline.at(when, _Timeline.PAYMENT, lambda: self._pay(invoice, share, when, method))

    def _pay(self, invoice: Invoice, share: Decimal, when: dt.date, method: str) -> None:
        left = open_invoices(self.place).filter(pk=invoice.pk).values_list("left", flat=True)[0]
        amount = (left * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if share < 1:
            amount = amount.quantize(Decimal("1")) or Decimal("1.00")  # a round deposit
        if amount <= 0:
            return
        payment_record(
            place=self.place,
            by=self.by,
            method=method,
            amount=min(amount, left),
            received_on=when,
            person=invoice.person,
            organisation=invoice.organisation,
            reference=invoice.number if method == Payment.Method.TRANSFER else "",
            allocations=[(invoice, min(amount, left))],
        )
        self.payments += 1

    def _credit_note_later(self, invoice: Invoice, issued: dt.date) -> None:
        """Half a month given back on a subscription invoice, a few days after it was issued
        and before it is paid: the room was closed for works."""
        when = self.past(issued + dt.timedelta(days=4))

        def credit() -> None:
            line = invoice.lines.order_by("position").first()
            assert line is not None
            note = invoices.credit_note_create(
                invoice=invoice,
                by=self.by,
                quantities={line.pk: min(Decimal("0.5"), line.quantity)},
                reason="Espace de coworking fermé deux semaines pour travaux.",
            )
            invoices.invoice_issue(invoice=note, by=self.by, on=when)
            self.credit_notes += 1
            # The customer pays the rest as soon as the credit note reaches them.
            self._settle(invoice, paid_now=True, after=when)

        self.timeline.at(when, _Timeline.CREDIT_NOTE, credit)

    # --- All of it ----------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        self.settings()
        self.catalogue()
        subscribers = self.subscriptions()
        self.monthly_runs()
        self.counter_sales(subscribers)
        self.fundings()
        self.timeline.run()
        issued = Invoice.objects.filter(place=self.place, status=Invoice.Status.ISSUED)
        return {
            "invoices": issued.filter(kind=Invoice.Kind.INVOICE).count(),
            "credit_notes": self.credit_notes,
            "payments": self.payments,
            "subscriptions": len(SUBSCRIPTIONS),
        }


def load(place: Place | None = None) -> dict[str, int]:
    place = place or Place.objects.get(slug=MAIN_SLUG)
    return _BillingLoader(place, random.Random(SEED + 5)).run()
