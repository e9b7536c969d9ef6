"""The demo's events: a month of them at L'Établi, written through events.services.

Two weeks back and a month ahead, relative to today: weekly repair cafés, workshops, a
digital-mediation session, a members' meeting, a training and a 4-night co-living stay with
three tiers and pay-what-you-can. Past events have their registrations and arrivals, so the
reports have something to show. Reproducible: a random generator seeded with the demo SEED.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from decimal import Decimal
from typing import Any

from django.utils import timezone

from conciergerie.community.models import Person
from conciergerie.core.errors import DomainError
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level
from conciergerie.demo.data import CONCIERGE_EMAIL, MAIN_SLUG, SEED
from conciergerie.events import services
from conciergerie.events.models import Event, Registration, TicketTier
from conciergerie.spaces.models import Resource

PARIS = zoneinfo.ZoneInfo("Europe/Paris")

SLIDING = [
    {"name": "solidaire", "price": Decimal("5")},
    {"name": "standard", "price": Decimal("15")},
    {"name": "soutien", "price": Decimal("25")},
]
STAY_TIERS = [
    {"name": "solidaire", "price": Decimal("25"), "price_unit": TicketTier.Unit.NIGHT, "quota": 4},
    {"name": "standard", "price": Decimal("40"), "price_unit": TicketTier.Unit.NIGHT},
    {"name": "soutien", "price": Decimal("60"), "price_unit": TicketTier.Unit.NIGHT},
    {
        "name": "prix libre",
        "pay_what_you_can": True,
        "floor": Decimal("20"),
        "suggested": Decimal("40"),
        "price_unit": TicketTier.Unit.NIGHT,
    },
]

FIRST_NAMES = ["Alix", "Bastien", "Chloé", "Driss", "Emma", "Farid", "Gaëlle", "Hugo", "Inès"]
LAST_NAMES = ["Bernard", "Caron", "Diallo", "Faure", "Garnier", "Henry", "Lemoine", "Roux"]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def _room(place: Place, name: str) -> Resource | None:
    return Resource.objects.filter(place=place, name=name).first()


class _EventsLoader:
    def __init__(self, place: Place, by: User, rng: random.Random) -> None:
        self.place, self.by, self.rng = place, by, rng
        self.people = list(Person.objects.filter(place=place).exclude(email="").order_by("id")[:40])
        self.events: list[Event] = []
        self.registrations = 0
        self.visitor_n = 0

    def create(self, *, past: bool = False, **fields: Any) -> Event | None:
        """An event; a past one is created ahead then moved back, once its people came."""
        start, end = fields["start_at"], fields["end_at"]
        if past:
            lead = dt.timedelta(days=60)
            fields = {**fields, "start_at": start + lead, "end_at": end + lead}
        try:
            event = services.event_create(place=self.place, by=self.by, **fields)
        except DomainError:
            # The room is taken by a demo booking: hold it elsewhere in the place.
            fields.pop("resource", None)
            event = services.event_create(place=self.place, by=self.by, **fields)
        self.events.append(event)
        return event

    def fill(self, event: Event, share: float, *, arrived: float = 0.0) -> None:
        """Register people until about `share` of the seats are taken."""
        tiers = list(event.tiers.all())
        target = int(event.capacity * share)
        taken = 0
        people = self.rng.sample(self.people, k=min(len(self.people), target))
        while taken < target:
            size = min(self.rng.choice([1, 1, 1, 2]), target - taken)
            tier = self.rng.choices(tiers, weights=[3 if i == 1 else 1 for i in range(len(tiers))])[
                0
            ]
            amount: Decimal | None = None
            if tier.pay_what_you_can:
                scale = self.rng.choice([Decimal("0.6"), Decimal(1), Decimal(1), Decimal("1.5")])
                amount = max(tier.suggested * scale, tier.floor).quantize(Decimal("1"))
                if tier.price_unit == TicketTier.Unit.NIGHT:
                    amount *= event.nights or 1
            attendees: list[dict[str, Any]] = [
                {"tier": tier, "amount": amount, "name": self._name()} for _ in range(size)
            ]
            try:
                if people and self.rng.random() < 0.6:
                    person = people.pop()
                    attendees[0]["name"] = ""
                    registration = services.registration_create(
                        event=event,
                        by=self.by,
                        level=Level.CONCIERGE,
                        person=person,
                        attendees=attendees,
                        notify=False,
                    )
                else:
                    self.visitor_n += 1
                    registration = services.registration_create(
                        event=event,
                        by=None,
                        level=Level.ANONYMOUS,
                        visitor_name=str(attendees[0]["name"]),
                        visitor_email=f"visiteur{self.visitor_n}@exemple.org",
                        attendees=attendees,
                        notify=False,
                    )
            except DomainError:
                taken += size  # a quota reached or a duplicate: move on
                continue
            taken += size
            self.registrations += 1
            if registration.status == Registration.Status.CONFIRMED and arrived:
                for ticket in registration.tickets.all():
                    if self.rng.random() < arrived:
                        services.ticket_check_in(ticket=ticket, by=self.by)

    def move_back(self, event: Event, start: dt.datetime, end: dt.datetime) -> None:
        services.event_update(event=event, by=self.by, notify=False, start_at=start, end_at=end)

    def _name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"


def load(place: Place | None = None) -> dict[str, int]:
    place = place or Place.objects.get(slug=MAIN_SLUG)
    by = User.objects.get(email=CONCIERGE_EMAIL)
    rng = random.Random(SEED + 4)
    loader = _EventsLoader(place, by, rng)
    today = timezone.now().astimezone(PARIS).date()
    monday = today - dt.timedelta(days=today.weekday())
    salle = _room(place, "Salle de réunion")

    # Weekly repair café, Saturday mornings: two past, four ahead.
    first_saturday = monday - dt.timedelta(days=14) + dt.timedelta(days=5)
    for week in range(6):
        day = first_saturday + dt.timedelta(days=7 * week)
        past = _at(day, 12) < timezone.now()
        event = loader.create(
            past=past,
            title="Repair café",
            category=Event.Category.REPAIR_CAFE,
            description=(
                "Apportez ce qui est cassé : petit électroménager, vélos, vêtements. "
                "Des bénévoles réparent **avec vous**.\n\n- Gratuit\n- Café offert"
            ),
            audience="Tout public",
            start_at=_at(day, 9, 30),
            end_at=_at(day, 12, 30),
            capacity=25,
            accessibility="Plain-pied, accessible en fauteuil.",
        )
        if event is None:
            continue
        loader.fill(event, rng.uniform(0.5, 0.95), arrived=0.85 if past else 0.0)
        if past:
            loader.move_back(event, _at(day, 9, 30), _at(day, 12, 30))

    # Workshops on a sliding scale, in the meeting room when it is free.
    workshops = [
        (-10, "Initiation à la soudure", Event.Category.WORKSHOP, 8, 0.9),
        (-4, "Fresque du climat", Event.Category.WORKSHOP, 14, 0.7),
        (3, "Découdre et recoudre : atelier couture", Event.Category.WORKSHOP, 10, 0.6),
        (9, "Impression 3D : premiers pas", Event.Category.TRAINING, 8, 1.0),
        (16, "Conférence : les communs numériques", Event.Category.CONFERENCE, 40, 0.4),
        (24, "Menuiserie : fabriquer un tabouret", Event.Category.WORKSHOP, 6, 0.3),
    ]
    for offset, title, category, capacity, share in workshops:
        day = today + dt.timedelta(days=offset)
        past = offset < 0
        fields: dict[str, Any] = {
            "title": title,
            "category": category,
            "description": "Sur inscription. Choisissez le tarif qui correspond à vos moyens.",
            "start_at": _at(day, 18),
            "end_at": _at(day, 21),
            "capacity": capacity,
            "tiers": SLIDING,
            "waitlist_enabled": True,
        }
        if salle is not None and capacity <= salle.capacity and not past:
            fields["resource"] = salle
        event = loader.create(past=past, **fields)
        if event is None:
            continue
        loader.fill(event, share, arrived=0.8 if past else 0.0)
        if past:
            loader.move_back(event, _at(day, 18), _at(day, 21))

    # Free digital-mediation sessions for the public, and a members-only meeting.
    for offset in (1, 8, 15, 22):
        day = today + dt.timedelta(days=offset)
        event = loader.create(
            title="Permanence numérique : vos démarches en ligne",
            category=Event.Category.DIGITAL_MEDIATION,
            audience="Personnes éloignées du numérique",
            start_at=_at(day, 14),
            end_at=_at(day, 16),
            capacity=6,
            max_per_order=1,
        )
        if event is not None:
            loader.fill(event, rng.uniform(0.2, 0.8))
    day = today + dt.timedelta(days=12)
    meeting = loader.create(
        title="Assemblée des membres",
        category=Event.Category.OTHER,
        visibility=Event.Visibility.MEMBERS,
        start_at=_at(day, 19),
        end_at=_at(day, 21),
        capacity=60,
        online_url="https://visio.exemple.org/assemblee",
    )
    if meeting is not None:
        loader.fill(meeting, 0.3)

    # The co-living stay: 4 nights, three tiers and pay-what-you-can, nearly full.
    arrive = today + dt.timedelta(days=18)
    stay = loader.create(
        title="Séjour co-living : résidence « faire ensemble »",
        category=Event.Category.STAY,
        description=(
            "Quatre nuits pour travailler, fabriquer et vivre ensemble au tiers-lieu. "
            "Repas partagés compris.\n\nTarifs **par nuit**, tout compris."
        ),
        is_stay=True,
        start_at=_at(arrive, 17),
        end_at=_at(arrive + dt.timedelta(days=4), 11),
        capacity=12,
        max_per_order=2,
        tiers=STAY_TIERS,
        accessibility="Chambres à l'étage (pas d'ascenseur) ; une chambre de plain-pied.",
    )
    if stay is not None:
        loader.fill(stay, 0.9)
    return {"events": len(loader.events), "registrations": loader.registrations}
