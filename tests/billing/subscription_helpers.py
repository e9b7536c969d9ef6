"""Builders shared by the subscription, credit and billing-run tests."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from conciergerie.billing.models import Product
from conciergerie.core.permissions import Level
from conciergerie.spaces import services as spaces
from tests.billing.conftest import make_product

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WEEK = {d: [["07:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NOV = dt.date(2026, 11, 1)
DEC_1 = dt.date(2026, 12, 1)


def local(y, m, d, h=10, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=PARIS)


def open_all_week(place):
    place.opening_hours = WEEK
    place.save(update_fields=["opening_hours"])
    return place


def make_plan(place, name="Résident", price="300.00", **credits):
    credits.setdefault("desk_days", Decimal("0"))
    return make_product(
        place,
        name=name,
        kind=Product.Kind.PLAN,
        unit=Product.Unit.MONTH,
        unit_price=Decimal(price),
        **credits,
    )


def make_resource(place, kind, name="", per_hour="12.00", **fields):
    fields.setdefault("max_minutes", 12 * 60)
    fields.setdefault("horizon_days", 3650)
    return spaces.resource_create(
        place=place,
        by=None,
        name=name or {"salle": "Salle Jaune", "bureau": "Poste 1", "machine": "Laser"}[kind],
        kind=kind,
        capacity=1,
        prices={"non_membre": ("heure", per_hour), "membre": ("heure", per_hour)},
        **fields,
    )


def book(resource, person, start, hours=1, *, level=Level.CONCIERGE, organisation=None):
    return spaces.booking_create(
        resource=resource,
        by=None,
        level=level,
        start=start,
        end=start + dt.timedelta(hours=hours),
        person=person,
        organisation=organisation,
        notify=False,
    )
