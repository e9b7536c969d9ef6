import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from conciergerie.core.permissions import Level
from conciergerie.events import services
from tests.factories import make_membership, make_person, make_place, make_user

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SOON = (timezone.now().astimezone(PARIS) + dt.timedelta(days=10)).replace(
    hour=18, minute=0, second=0, microsecond=0
)


def make_event(place, *, tiers=None, **fields):
    fields.setdefault("title", "Atelier soudure")
    fields.setdefault("start_at", SOON)
    fields.setdefault("end_at", SOON + dt.timedelta(hours=2))
    fields.setdefault("capacity", 10)
    return services.event_create(place=place, by=None, tiers=tiers, **fields)


def visitor(event, *, name="Camille Martin", email="camille@example.org", attendees=None, **kw):
    return services.registration_create(
        event=event,
        by=None,
        level=Level.ANONYMOUS,
        visitor_name=name,
        visitor_email=email,
        attendees=attendees if attendees is not None else [{}],
        **kw,
    )


SLIDING = [
    {"name": "solidaire", "price": Decimal("5"), "quota": 2},
    {"name": "standard", "price": Decimal("15")},
    {"name": "soutien", "price": Decimal("25")},
    {
        "name": "prix libre",
        "pay_what_you_can": True,
        "floor": Decimal("8"),
        "suggested": Decimal("15"),
    },
    {"name": "membre", "price": Decimal("10"), "members_only": True},
]


@pytest.fixture
def place(db):
    return make_place(slug="moulin", name="Le Moulin")


@pytest.fixture
def event(place):
    return make_event(place, tiers=SLIDING)


@pytest.fixture
def tiers(event):
    return {t.name: t for t in event.tiers.all()}


@pytest.fixture
def member(place):
    user = make_user(place=place, role="member", email="lina@example.org")
    person = make_person(place=place, first_name="Lina", email="Lina@Example.org", user=user)
    return user, person


@pytest.fixture
def paid_member(member):
    user, person = member
    make_membership(person=person, start=SOON.date() - dt.timedelta(days=30), status="paid")
    return user, person


@pytest.fixture
def concierge(place):
    return make_user(place=place, role="concierge", email="equipe@moulin.fr")
