import datetime as dt
from decimal import Decimal

import pytest

from conciergerie.billing import services
from conciergerie.billing.models import Product
from tests.factories import make_person, make_place, make_user


def make_product(place, **fields):
    fields.setdefault("name", "Journée de coworking")
    fields.setdefault("kind", Product.Kind.DAY_PASS)
    fields.setdefault("unit_price", Decimal("15.00"))
    fields.setdefault("vat", "20")
    fields.setdefault("unit", Product.Unit.DAY)
    return Product.objects.create(place=place, **fields)


def issued_invoice(
    place, person, *, lines=(("Journée de coworking", "2", "15.00", "20"),), on=None
):
    invoice = services.invoice_draft_create(place=place, by=None, person=person)
    for label, quantity, price, vat in lines:
        services.invoice_line_add(
            invoice=invoice, by=None, label=label, quantity=quantity, unit_price=price, vat=vat
        )
    return services.invoice_issue(invoice=invoice, by=None, on=on)


@pytest.fixture
def place(db):
    return make_place(
        slug="etabli",
        name="L'Établi",
        siret="73282932000074",
        street="12 rue des Ateliers",
        postal_code="86100",
        city="Châtellerault",
        email="bonjour@letabli.example",
    )


@pytest.fixture
def person(place):
    return make_person(place=place, first_name="Lina", last_name="Roux", email="lina@example.org")


@pytest.fixture
def concierge(place):
    return make_user(place=place, role="concierge", email="conciergerie@example.org")


@pytest.fixture
def day_pass(place):
    return make_product(place)


ON = dt.date(2026, 11, 20)
