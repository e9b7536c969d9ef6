"""The SQL query count of the spaces pages and API lists does not grow with the data."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.core import services as core
from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from tests.conftest import login
from tests.factories import make_person, make_user
from tests.spaces.conftest import local

pytestmark = pytest.mark.django_db

DAY = (2030, 3, 12)


def grow(place, person, n):
    """n more resources with prices, each with two bookings of `person` on DAY."""
    for i in range(n):
        r = services.resource_create(
            place=place,
            by=None,
            name=f"Salle {i:02d}",
            features=["écran"],
            horizon_days=3650,
            prices={"membre": ("heure", "5.00"), "non_membre": ("heure", "8.00")},
        )
        for h in (9, 14):
            services.booking_create(
                resource=r,
                by=None,
                level=Level.CONCIERGE,
                start=local(*DAY, h),
                end=local(*DAY, h + 1),
                person=person,
                notify=False,
            )


def count(client, path, data=None, **headers):
    client.get(path, data or {}, **headers)  # once first: a token's last use is noted once
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, data or {}, **headers)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), response


@pytest.fixture
def member(place):
    user = make_user(place=place, role="member", email="lina@example.org")
    return user, make_person(place=place, first_name="Lina", email=user.email, user=user)


@pytest.fixture
def concierge(place):
    return make_user(place=place, role="concierge", email="concierge@etabli.fr")


def flat(client, place, person, path, data=None, expect="Salle 00", **headers):
    grow(place, person, 1)
    small, response = count(client, path, data, **headers)
    assert expect in response.content.decode()
    grow(place, person, 9)
    large, response = count(client, path, data, **headers)
    assert "Salle 00" in response.content.decode()
    assert large == small, f"{path}: {small} queries with 1 resource, {large} with 10"
    return small


def test_api_resource_list_is_flat(client, place, member):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {core.token_create(user=member[0])}"}
    flat(client, place, member[1], "/api/v1/resources", {"place": place.slug}, **headers)


@pytest.mark.parametrize("role", ["member", "concierge"])
def test_api_booking_list_is_flat(client, place, member, concierge, role):
    user = member[0] if role == "member" else concierge
    headers = {"HTTP_AUTHORIZATION": f"Bearer {core.token_create(user=user)}"}
    flat(client, place, member[1], "/api/v1/bookings", {"place": place.slug}, **headers)


def test_my_bookings_page_is_flat(client, place, member):
    login(client, member[0])
    flat(client, place, member[1], reverse("spaces:my_bookings", args=[place.slug]))


@pytest.mark.parametrize("role", ["anonymous", "member", "concierge"])
def test_resource_list_and_search_are_flat(client, place, member, concierge, role):
    if role != "anonymous":
        login(client, member[0] if role == "member" else concierge)
    day = dt.date(*DAY)
    search = {
        "day": day.isoformat(),
        "start": "08:00",
        "end": "20:00",
        "minutes": "60",
        "seats": "1",
    }
    path = reverse("spaces:resources", args=[place.slug])
    flat(client, place, member[1], path)
    # The search reads the resources, their bookings and closures in a fixed number of
    # queries, whatever their number.
    before, response = count(client, path, search)
    assert "Réserver ce créneau" in response.content.decode() or role == "anonymous"
    grow(place, member[1], 10)
    after, _response = count(client, path, search)
    assert after == before
