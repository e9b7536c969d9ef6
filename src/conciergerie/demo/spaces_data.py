"""The demo's bookable resources and a month of bookings, all written through spaces.services.

Everything is relative to today (two weeks back, two weeks ahead) so the demo always looks
current, and drawn from a random generator seeded with the demo SEED so it is reproducible.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from decimal import Decimal
from typing import Any

from django.utils import timezone

from conciergerie.community.models import Organisation, Person
from conciergerie.core.errors import Conflict, InvalidInput, PermissionDenied
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level
from conciergerie.demo.data import (
    CONCIERGE_EMAIL,
    MAIN_SLUG,
    MEMBER_EMAIL,
    SECOND_CONCIERGE_EMAIL,
    SECOND_SLUG,
    SEED,
)
from conciergerie.spaces import rules, services
from conciergerie.spaces.models import Booking, Price, Resource

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
DAYS_BACK = DAYS_AHEAD = 14

M, NM, PARTNER = Price.Category.MEMBER, Price.Category.NON_MEMBER, Price.Category.PARTNER
HOUR, HALF_DAY, DAY = Price.Unit.HOUR, Price.Unit.HALF_DAY, Price.Unit.DAY

# key: (fields for resource_create, prices, bookings per open day (mean), durations in minutes)
MAIN_RESOURCES: dict[str, tuple[dict[str, Any], dict[str, tuple[str, Any]], float, list[int]]] = {
    "reunion": (
        {
            "name": "Salle de réunion",
            "kind": Resource.Kind.ROOM,
            "capacity": 12,
            "features": ["vidéoprojecteur", "écran", "tableau blanc"],
            "location": "Rez-de-chaussée, à gauche de l'accueil",
            "description": "Grande table, 12 places assises, vidéoprojecteur et écran.",
            "buffer_minutes": 15,
        },
        {M: (HOUR, Decimal("8.00")), NM: (HOUR, Decimal("20.00"))},
        1.2,
        [60, 90, 120, 180],
    ),
    "petite": (
        {
            "name": "Petite salle",
            "kind": Resource.Kind.ROOM,
            "capacity": 4,
            "features": ["écran"],
            "location": "Mezzanine",
            "description": "Pour un rendez-vous ou une visio à quatre.",
        },
        {M: (HOUR, Decimal("0")), NM: (HOUR, Decimal("10.00"))},
        1.5,
        [30, 60, 90],
    ),
    "bois": (
        {
            "name": "Atelier bois",
            "kind": Resource.Kind.ROOM,
            "capacity": 6,
            "features": ["établis", "aspiration"],
            "location": "Halle, côté Vienne",
            "description": "Établis, scie sur table et outillage à main. Réservation validée "
            "par l'équipe (formation sécurité exigée).",
            "requires_membership": True,
            "requires_approval": True,
        },
        {M: (HALF_DAY, Decimal("15.00")), NM: (HALF_DAY, Decimal("40.00"))},
        0.6,
        [120, 180, 240],
    ),
    "openspace": (
        {
            "name": "Open space coworking",
            "kind": Resource.Kind.DESK,
            "capacity": 10,
            "features": ["wifi", "écran"],
            "location": "Premier étage",
            "description": "Dix postes en accès libre, wifi et café.",
            "max_minutes": 10 * 60,
        },
        {M: (DAY, Decimal("12.00")), NM: (DAY, Decimal("20.00"))},
        3.0,
        [120, 240, 360, 480],
    ),
    "laser": (
        {
            "name": "Découpeuse laser",
            "kind": Resource.Kind.MACHINE,
            "capacity": 1,
            "features": ["laser co2", "60 x 40 cm"],
            "location": "Fablab",
            "requires_qualification": True,
            "max_minutes": 180,
            "buffer_minutes": 15,
        },
        {M: (HOUR, Decimal("10.00")), NM: (HOUR, Decimal("25.00"))},
        1.0,
        [30, 60, 90, 120],
    ),
    "print1": (
        {
            "name": "Imprimante 3D Prusa n°1",
            "kind": Resource.Kind.MACHINE,
            "capacity": 1,
            "features": ["pla", "petg"],
            "location": "Fablab",
            "requires_qualification": True,
        },
        {M: (HOUR, Decimal("2.00")), NM: (HOUR, Decimal("5.00"))},
        0.9,
        [60, 120, 180, 240],
    ),
    "print2": (
        {
            "name": "Imprimante 3D Prusa n°2",
            "kind": Resource.Kind.MACHINE,
            "capacity": 1,
            "features": ["pla", "tpu"],
            "location": "Fablab",
            "requires_qualification": True,
        },
        {M: (HOUR, Decimal("2.00")), NM: (HOUR, Decimal("5.00"))},
        0.9,
        [60, 120, 180, 240],
    ),
    "camion": (
        {
            "name": "Camion",
            "kind": Resource.Kind.EQUIPMENT,
            "capacity": 1,
            "features": ["12 m³", "permis b"],
            "location": "Parking de la halle",
            "description": "Renault Master 12 m³, permis B. Plein à faire au retour.",
            "requires_membership": True,
            "max_minutes": 12 * 60,
        },
        {M: (HALF_DAY, Decimal("25.00")), NM: (HALF_DAY, Decimal("60.00"))},
        0.3,
        [180, 240, 360],
    ),
    "proj1": (
        {
            "name": "Vidéoprojecteur Epson",
            "kind": Resource.Kind.EQUIPMENT,
            "capacity": 1,
            "features": ["vidéoprojecteur", "hdmi"],
            "location": "Armoire du bureau",
            "description": "Prêté aux associations du lieu, avec câbles et rallonge.",
            "max_minutes": 12 * 60,
        },
        {PARTNER: (DAY, Decimal("0")), NM: (DAY, Decimal("15.00"))},
        0.0,
        [],
    ),
    "proj2": (
        {
            "name": "Vidéoprojecteur BenQ",
            "kind": Resource.Kind.EQUIPMENT,
            "capacity": 1,
            "features": ["vidéoprojecteur", "hdmi", "enceinte"],
            "location": "Armoire du bureau",
            "description": "Prêté aux associations du lieu, avec sa sacoche.",
            "max_minutes": 12 * 60,
        },
        {PARTNER: (DAY, Decimal("0")), NM: (DAY, Decimal("15.00"))},
        0.0,
        [],
    ),
}

TITLES = {
    Resource.Kind.ROOM: ["Réunion de bureau", "Atelier", "Rendez-vous", "Formation", "Visio"],
    Resource.Kind.DESK: ["", "", "Coworking"],
    Resource.Kind.MACHINE: ["Prototype", "Pièces de rechange", "Cadeaux", "Projet perso"],
    Resource.Kind.EQUIPMENT: ["Déménagement", "Collecte", "Repair Café"],
}


def _at(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=PARIS)


def _random_slot(
    resource: Resource, day: dt.date, minutes: int, rng: random.Random
) -> tuple[dt.datetime, dt.datetime] | None:
    """A slot of `minutes` inside the day's opening hours, on the resource's slot grid."""
    day_start, day_end = _at(day, 0), _at(day + dt.timedelta(days=1), 0)
    fits = [
        (s, e)
        for s, e in rules.opening_intervals(resource, day_start, day_end)
        if (e - s) >= dt.timedelta(minutes=minutes)
    ]
    if not fits:
        return None
    s, e = rng.choice(fits)
    step = resource.slot_minutes
    choices = int(((e - s) - dt.timedelta(minutes=minutes)).total_seconds() // 60 // step)
    start = s.astimezone(PARIS) + dt.timedelta(minutes=step * rng.randint(0, choices))
    return start, start + dt.timedelta(minutes=minutes)


class _SpacesLoader:
    def __init__(self, place: Place, by: User) -> None:
        self.place, self.by = place, by
        self.rng = random.Random(SEED)
        self.today = timezone.localdate()
        self.people = list(Person.objects.filter(place=place).order_by("pk"))
        self.bookings: list[Booking] = []

    def book(
        self, resource: Resource, start: dt.datetime, end: dt.datetime, **kw: Any
    ) -> Booking | None:
        kw.setdefault("level", Level.CONCIERGE)
        try:
            booking = services.booking_create(
                resource=resource, by=self.by, start=start, end=end, notify=False, **kw
            )
        except (Conflict, InvalidInput, PermissionDenied):
            return None  # taken, closed or out of hours: the demo simply skips the slot
        self.bookings.append(booking)
        return booking

    def fill(
        self, resource: Resource, per_day: float, durations: list[int], pool: list[Person]
    ) -> None:
        """About `per_day` bookings each open day, two weeks back and two weeks ahead."""
        titles = TITLES[Resource.Kind(resource.kind)]
        for offset in range(-DAYS_BACK, DAYS_AHEAD + 1):
            day = self.today + dt.timedelta(days=offset)
            wanted = int(per_day) + (1 if self.rng.random() < per_day % 1 else 0)
            for _i in range(wanted):
                minutes = max(
                    resource.min_minutes, min(self.rng.choice(durations), resource.max_minutes)
                )
                slot = _random_slot(resource, day, minutes, self.rng)
                if slot is None:
                    continue
                seats = self.rng.choice([1, 1, 1, 2]) if resource.capacity > 2 else 1
                if resource.kind == Resource.Kind.ROOM and resource.capacity > 4:
                    seats = self.rng.randint(2, min(resource.capacity, 8))
                self.book(
                    resource,
                    *slot,
                    person=self.rng.choice(pool),
                    seats=seats,
                    title=self.rng.choice(titles),
                )


def _main(place: Place) -> dict[str, int]:
    by = User.objects.get(email=CONCIERGE_EMAIL)
    loader = _SpacesLoader(place, by)
    rng, today = loader.rng, loader.today
    res = {
        key: services.resource_create(place=place, by=by, prices=prices, **fields)
        for key, (fields, prices, _n, _d) in MAIN_RESOURCES.items()
    }
    people = loader.people
    camille = Person.objects.filter(place=place, user__email=MEMBER_EMAIL).first()

    # Machine qualifications: a dozen trained people, one of them out of date.
    trained = rng.sample(people, 12)
    if camille is not None and camille not in trained:
        trained[0] = camille
    qualified: dict[str, list[Person]] = {"laser": [], "print1": [], "print2": []}
    for i, person in enumerate(trained):
        machines = (
            ["laser"]
            if i % 3 == 0
            else ["print1", "print2"]
            if i % 3 == 1
            else ["laser", "print1", "print2"]
        )
        granted = today - dt.timedelta(days=rng.randint(20, 300))
        for key in machines:
            services.qualification_grant(
                person=person,
                resource=res[key],
                by=by,
                granted_on=granted,
                valid_until=granted + dt.timedelta(days=730),
                trainer="Karim Benali",
            )
            qualified[key].append(person)
    expired = next(p for p in people if p not in trained)
    services.qualification_grant(
        person=expired,
        resource=res["laser"],
        by=by,
        granted_on=today - dt.timedelta(days=800),
        valid_until=today - dt.timedelta(days=70),
        trainer="Karim Benali",
        note="À refaire : nouvelle buse et nouvelles consignes.",
    )

    # A 3D printer is out of service next week: set before the bookings, which skip it.
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    services.closure_create(
        place=place,
        by=by,
        resource=res["print2"],
        start=_at(next_monday, 0),
        end=_at(next_monday + dt.timedelta(days=3), 0),
        reason="Plateau chauffant en panne, pièce commandée",
    )

    members = [p for p in people if p.kind != Person.Kind.VOLUNTEER] or people
    for key, (_fields, _prices, per_day, durations) in MAIN_RESOURCES.items():
        if per_day:
            pool = qualified.get(key) or members
            loader.fill(res[key], per_day, durations, pool)

    # Projectors lent between associations, for whole opening days.
    orgs = list(Organisation.objects.filter(place=place).order_by("pk"))
    loans: list[Booking] = []
    for i, offset in enumerate((-9, -4, -1, 0, 2, 5, 8, 11)):
        day = today + dt.timedelta(days=offset)
        proj = res["proj1"] if i % 2 == 0 else res["proj2"]
        slot = _random_slot(proj, day, 180, rng)
        if slot is None:
            continue
        booking = loader.book(
            proj,
            *slot,
            organisation=orgs[i % len(orgs)],
            title=rng.choice(
                ["Projection-débat", "Assemblée générale", "Soirée jeux", "Conférence"]
            ),
        )
        if booking is not None:
            loans.append(booking)
    past_loans = [b for b in loans if b.start_at <= timezone.now()]
    if past_loans:
        services.loan_hand_over(
            booking=past_loans[0],
            by=by,
            notes="Bon état. Câble HDMI et télécommande fournis ; petite rayure sur le capot.",
        )
        services.loan_return(booking=past_loans[0], by=by, notes="Rendu complet, lampe OK.")
    if len(past_loans) > 1:
        services.loan_hand_over(
            booking=past_loans[-1],
            by=by,
            notes="Remis avec sacoche et rallonge. Filtre à dépoussiérer au retour.",
        )

    # One request waiting for the team: a member asks for the wood workshop.
    if camille is not None:
        for offset in range(3, 10):
            slot = _random_slot(res["bois"], today + dt.timedelta(days=offset), 180, rng)
            if slot and loader.book(
                res["bois"], *slot, person=camille, level=Level.MEMBER, title="Étagère en chêne"
            ):
                break
    return {"resources": len(res), "bookings": len(loader.bookings)}


def _second(place: Place) -> dict[str, int]:
    by = User.objects.get(email=SECOND_CONCIERGE_EMAIL)
    loader = _SpacesLoader(place, by)
    atelier = services.resource_create(
        place=place,
        by=by,
        name="Atelier bois du moulin",
        kind=Resource.Kind.ROOM,
        capacity=4,
        features=["établis"],
        location="Grange",
        prices={M: (Price.Unit.FREE, Decimal("0"))},
    )
    remorque = services.resource_create(
        place=place,
        by=by,
        name="Remorque",
        kind=Resource.Kind.EQUIPMENT,
        capacity=1,
        location="Cour du moulin",
        prices={M: (HALF_DAY, Decimal("5.00"))},
    )
    if loader.people:
        loader.fill(atelier, 0.6, [120, 180], loader.people)
        loader.fill(remorque, 0.2, [180], loader.people)
    return {"resources": 2, "bookings": len(loader.bookings)}


def load(result: dict[str, Any]) -> dict[str, Any]:
    """Add the spaces to what data._Loader created; returns the (completed) summary."""
    result["spaces"] = {
        MAIN_SLUG: _main(Place.objects.get(slug=MAIN_SLUG)),
        SECOND_SLUG: _second(Place.objects.get(slug=SECOND_SLUG)),
    }
    return result
