from decimal import Decimal

import pytest

from tests.factories import make_place

HOURS = {
    "mon": [["09:00", "12:30"], ["14:00", "18:00"]],
    "tue": [["09:00", "12:30"], ["14:00", "18:00"]],
    "sat": [["10:00", "12:00"]],
}


@pytest.fixture
def cafe(db):
    """A located place whose name has an accent, a comma and an ampersand."""
    return make_place(
        slug="cafe-tricot",
        name="Café, Tricot & Cie",
        typology="culturel",
        legal_form="association",
        description="Un **café** associatif.\n\nOn y [tricote](https://example.org) le jeudi.",
        street="3 rue de l'Église",
        postal_code="69001",
        city="Lyon",
        latitude=Decimal("45.764043"),
        longitude=Decimal("4.835659"),
        email="bonjour@cafe.example.org",
        phone="04 72 00 00 00",
        website="https://cafe.example.org",
        opening_hours=HOURS,
    )


@pytest.fixture
def nowhere(db):
    """A place without coordinates: in the CSV and the list, not on the map."""
    return make_place(slug="sans-carte", name="Sans Carte", typology="fablab", city="Die")


def seed(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        make_place(
            slug=f"semis-{i}",
            name=f"Semis {i}",
            city="Nantes",
            latitude=Decimal("47.2") + Decimal(i) / 100,
            longitude=Decimal("-1.55"),
            opening_hours=HOURS,
        )
