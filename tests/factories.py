"""Small builders for test data, going through the services like real users do."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from conciergerie.community import services as community
from conciergerie.community.models import Person
from conciergerie.core import services as core
from conciergerie.core.models import Place, User

_seq = itertools.count(1)
PASSWORD = "mot-de-passe-solide-42"


# A real-looking legal identity, so that places can issue invoices (billing asks for both).
SIRET = "73282932000074"
VAT_NUMBER = "FR44732829320"


def make_place(*, billable: bool = True, **fields: Any) -> Place:
    n = next(_seq)
    fields.setdefault("slug", f"lieu-{n}")
    fields.setdefault("name", f"Lieu {n}")
    if billable:
        fields.setdefault("siret", SIRET)
    place = core.place_create(by=None, **fields)
    if billable:
        from conciergerie.billing.models import BillingSettings

        BillingSettings.objects.update_or_create(place=place, defaults={"vat_number": VAT_NUMBER})
    return place


def make_user(
    *, place: Place | None = None, role: str | None = None, email: str = "", **extra: Any
) -> User:
    email = email or f"compte{next(_seq)}@example.org"
    return core.user_create(email=email, password=PASSWORD, place=place, role=role, **extra)


def make_person(
    *,
    place: Place,
    first_name: str = "",
    skills: list[str] | None = None,
    needs: list[str] | None = None,
    **fields: Any,
) -> Person:
    n = next(_seq)
    fields.setdefault("last_name", f"Nom{n}")
    tags = {"skill": skills or [], "need": needs or []}
    return community.person_create(
        place=place, by=None, first_name=first_name or f"Prénom{n}", tags=tags, **fields
    )


def make_membership(*, person: Person, start: dt.date, **fields: Any) -> Any:
    fields.setdefault("fee", Decimal("20.00"))
    return community.membership_create(person=person, by=None, start=start, **fields)
