import datetime as dt
import zoneinfo

import pytest

from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from tests.conftest import login
from tests.factories import make_person, make_place, make_user

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WEEK = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def local(y, m, d, h, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=PARIS)


@pytest.fixture
def place(db):
    p = make_place(slug="etabli", name="L'Établi")
    p.opening_hours = WEEK
    p.save()
    return p


@pytest.fixture
def room(place):
    return services.resource_create(
        place=place,
        by=None,
        name="Salle Jaune",
        kind="salle",
        capacity=1,
        features=["vidéoprojecteur", "écran"],
        horizon_days=3650,
    )


@pytest.fixture
def member(place):
    user = make_user(place=place, role="member", email="lina@example.org")
    person = make_person(place=place, first_name="Lina", email="lina@example.org", user=user)
    return user, person


@pytest.fixture
def staff_level():
    return Level.CONCIERGE


@pytest.fixture
def concierge(place):
    return make_user(place=place, role="concierge", email="concierge@etabli.fr")


@pytest.fixture
def member_client(client, member):
    return login(client, member[0])
