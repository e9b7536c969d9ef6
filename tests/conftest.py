from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import PASSWORD, make_place, make_user


@pytest.fixture
def place(db):
    return make_place(slug="fabrique", name="La Fabrique")


@pytest.fixture
def other_place(db):
    return make_place(slug="autre-lieu", name="Autre lieu")


@pytest.fixture
def admin(place):
    return make_user(place=place, role="admin", email="admin@example.org")


@pytest.fixture
def concierge(place):
    return make_user(place=place, role="concierge", email="concierge@example.org")


@pytest.fixture
def member(place):
    return make_user(place=place, role="member", email="membre@example.org")


def login(client: Client, user) -> Client:
    assert client.login(username=user.email, password=PASSWORD)
    return client


@pytest.fixture
def concierge_client(client, concierge):
    return login(client, concierge)


@pytest.fixture
def member_client(client, member):
    return login(client, member)
