"""Events endpoints: events and their tiers, registrations (with the waitlist), figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.schema import DjangoGetter
from pydantic import BaseModel, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from conciergerie.api.auth import Unauthorized, api_caller
from conciergerie.api.places import choose_place
from conciergerie.community.models import Person
from conciergerie.core import permissions
from conciergerie.core.errors import InvalidInput, NotFound, PermissionDenied
from conciergerie.core.models import User
from conciergerie.core.money import parse_amount
from conciergerie.core.permissions import Level
from conciergerie.events import selectors, services
from conciergerie.events.models import Event, Registration, Ticket, TicketTier
from conciergerie.spaces.models import Resource

router = Router(tags=["events"])

DATES = (
    "Dates ISO 8601 avec fuseau (ex. `2030-03-12T10:00:00+01:00`, `+` encodé `%2B` dans "
    "l'URL). Les heures rendues sont dans le fuseau du lieu."
)
AMOUNT_HELP = "Montant en euros : nombre ou texte (« 12,50 € » accepté)"
# Datetimes outside these years are typing mistakes (and some overflow a time-zone shift).
YEARS = (1970, 2999)


def _amount_shape(value: Any) -> Any:
    """An amount is a JSON number or a text ("12,50 €"): read later by parse_amount, so that
    one message names the field, whatever the shape."""
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError("decimal_parsing", "Valeur de type incorrect.")


Amount = Annotated[
    Any,
    PlainValidator(_amount_shape),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}),
]


# --- Schemas -------------------------------------------------------------------------------------


class ObjectIn(Schema):
    """An input object: a JSON object, nothing else (a Schema would read any value's
    attributes and see a number or a list as an object with every field left out)."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value: Any) -> Any:
        # Schema's own validator hands over the value wrapped in a DjangoGetter.
        given = value._obj if isinstance(value, DjangoGetter) else value
        if not isinstance(given, dict | BaseModel):
            raise PydanticCustomError("dict_type", "Valeur de type incorrect.")
        return value


class TierOut(Schema):
    id: UUID
    name: str
    price: Decimal
    pay_what_you_can: bool
    floor: Decimal
    suggested: Decimal
    members_only: bool
    quota: int | None
    price_unit: str
    amount: Decimal = Field(..., description="Ce que paie une personne par défaut à ce tarif")


class EventOut(Schema):
    id: UUID
    place: str
    url: str
    title: str
    description: str
    category: str
    start: dt.datetime
    end: dt.datetime
    is_stay: bool
    nights: int
    capacity: int
    registered: int = Field(..., description="Places confirmées")
    available: int = Field(..., description="Places encore libres (0 quand complet)")
    waitlist_enabled: bool
    max_per_order: int
    registration_open: bool = Field(..., description="Les inscriptions sont ouvertes maintenant")
    cancelled: bool = Field(False, description="L'évènement est annulé")
    registration_opens: dt.datetime | None
    registration_closes: dt.datetime
    visibility: str
    location: str = Field(..., description="La salle du lieu, ou l'adresse")
    online_url: str
    tiers: list[TierOut]


class EventPage(Schema):
    count: int
    items: list[EventOut]


class TierIn(ObjectIn):
    name: str
    price: Amount = Field(0, description=AMOUNT_HELP)
    pay_what_you_can: bool = False
    floor: Amount = Field(0, description=AMOUNT_HELP)
    suggested: Amount = Field(0, description=AMOUNT_HELP)
    members_only: bool = False
    quota: int | None = Field(None, description="Places à ce tarif au plus ; vide : sans limite")
    price_unit: str = Field(
        TicketTier.Unit.STAY, description="Séjours : sejour, nuit ou semaine (prix au prorata)"
    )


class EventIn(ObjectIn):
    place: str | None = Field(None, description="Slug du lieu ; facultatif si vous n'en avez qu'un")
    title: str
    description: str = ""
    category: str = Event.Category.WORKSHOP
    audience: str = ""
    resource: UUID | None = Field(None, description="Une salle du lieu")
    address: str = Field("", description="Adresse, quand l'évènement a lieu ailleurs")
    online_url: str = ""
    start: dt.datetime = Field(..., description="ISO 8601 avec fuseau")
    end: dt.datetime = Field(..., description="ISO 8601 avec fuseau")
    is_stay: bool = False
    capacity: int = 20
    max_per_order: int = 6
    registration_opens: dt.datetime | None = None
    registration_closes: dt.datetime | None = Field(
        None, description="Par défaut : au début de l'évènement"
    )
    visibility: str = Event.Visibility.PUBLIC
    accessibility: str = ""
    waitlist_enabled: bool = True
    offer_hours: int = 24
    cancel_hours: int = 24
    tiers: list[TierIn] = Field([], description="Par défaut, un tarif gratuit « Entrée »")


class AttendeeIn(ObjectIn):
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    tier: UUID | None = None
    amount: Amount = Field(None, description=AMOUNT_HELP + " ; pour un prix libre")


class RegistrationIn(ObjectIn):
    tier: UUID | None = Field(None, description="Le tarif des personnes qui n'en donnent pas")
    amount: Amount = Field(
        None, description="Prix libre : le montant des personnes qui n'en donnent pas"
    )
    attendees: list[AttendeeIn] | None = Field(
        None, description="Une personne par place ; par défaut, vous seul·e"
    )
    name: str = Field("", max_length=200, description="Sans compte : votre nom (obligatoire)")
    email: str = Field("", max_length=254, description="Sans compte : votre e-mail (obligatoire)")
    person: UUID | None = Field(
        None, description="Pour le compte de qui (équipe du lieu seulement) ; par défaut vous"
    )


class TicketOut(Schema):
    id: UUID
    name: str
    tier: UUID
    amount: Decimal


class RegistrationOut(Schema):
    id: UUID
    event: UUID
    status: str
    seats: int
    amount_total: Decimal
    tickets: list[TicketOut]
    offer_expires_at: dt.datetime | None


class TeamTicketOut(TicketOut):
    email: str
    checked_in: bool
    checked_in_at: dt.datetime | None


class TeamRegistrationOut(RegistrationOut):
    person: UUID | None
    name: str
    email: str
    created_at: dt.datetime
    checked_in: int = Field(..., description="Personnes arrivées")
    tickets: list[TeamTicketOut]  # type: ignore[assignment]


class TeamRegistrationPage(Schema):
    count: int
    items: list[TeamRegistrationOut]


class TierStatsOut(Schema):
    id: UUID
    name: str
    registered: int
    waitlisted: int
    checked_in: int
    revenue: Decimal


class EventStatsOut(Schema):
    event: UUID
    capacity: int
    registered: int = Field(..., description="Places confirmées")
    offered: int = Field(..., description="Places proposées à la liste d'attente, non acceptées")
    waitlisted: int
    checked_in: int
    occupancy: float = Field(..., description="Inscrits / places")
    attendance_occupancy: float = Field(..., description="Présents / places")
    attendance_rate: float = Field(..., description="Présents / inscrits")
    revenue: Decimal
    average_amount: Decimal | None = Field(..., description="Payé en moyenne par personne")
    standard_price: Decimal | None
    average_vs_standard: float | None = Field(
        ..., description="Moyenne / prix standard : sous 1, le tarif solidaire baisse le prix payé"
    )
    tiers: list[TierStatsOut]


# --- Helpers -------------------------------------------------------------------------------------

_FIELD_NAMES = {
    "start_at": "start",
    "end_at": "end",
    "registration_opens_at": "registration_opens",
    "registration_closes_at": "registration_closes",
    "visitor_name": "name",
    "visitor_email": "email",
}


def _renamed(exc: InvalidInput) -> InvalidInput:
    """The service's field names (model fields) as the API names them."""
    errors: dict[str, list[str]] = {}
    for key, messages in exc.errors.items():
        errors.setdefault(_FIELD_NAMES.get(key, key), []).extend(messages)
    return InvalidInput(errors, exc.message)


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            {field: [_("Indiquez le fuseau horaire (ex. 2026-12-03T14:00:00+01:00).")]}
        )
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise InvalidInput({field: [_("Date hors limites.")]})
    return value.astimezone(dt.UTC)


def _amount(value: Any, field: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    return parse_amount(value, field=field)


def _tier_out(event: Event, tier: TicketTier) -> TierOut:
    return TierOut(
        id=tier.uuid,
        name=tier.name,
        price=tier.price,
        pay_what_you_can=tier.pay_what_you_can,
        floor=tier.floor,
        suggested=tier.suggested,
        members_only=tier.members_only,
        quota=tier.quota,
        price_unit=tier.price_unit,
        amount=services.tier_amount(event=event, tier=tier),
    )


def _event_out(event: Event, seats: selectors.Seats, now: dt.datetime) -> EventOut:
    zone = event.zone()
    opens = event.registration_opens_at
    closes = event.registration_closes_at or event.start_at
    return EventOut(
        id=event.uuid,
        place=event.place.slug,
        url=event.get_canonical_url(),
        title=event.title,
        description=event.description,
        category=event.category,
        start=event.start_at.astimezone(zone),
        end=event.end_at.astimezone(zone),
        is_stay=event.is_stay,
        nights=event.nights,
        capacity=event.capacity,
        registered=seats.registered,
        available=max(0, event.capacity - seats.held),
        waitlist_enabled=event.waitlist_enabled,
        max_per_order=event.max_per_order,
        registration_open=event.cancelled_at is None
        and (opens is None or opens <= now)
        and now < closes,
        cancelled=event.cancelled_at is not None,
        registration_opens=opens.astimezone(zone) if opens else None,
        registration_closes=closes.astimezone(zone),
        visibility=event.visibility,
        location=event.resource.name if event.resource is not None else event.address,
        online_url=event.online_url,
        tiers=[_tier_out(event, t) for t in event.tiers.all()],
    )


def _events_out(events: list[Event]) -> list[EventOut]:
    seats = selectors.event_seats(events=events)
    now = timezone.now()
    return [_event_out(e, seats.get(e.pk, selectors.Seats()), now) for e in events]


def _ticket_out(ticket: Ticket, tiers: dict[int, TicketTier]) -> TicketOut:
    return TicketOut(
        id=ticket.uuid, name=ticket.name, tier=tiers[ticket.tier_id].uuid, amount=ticket.amount
    )


def _registration_out(registration: Registration, tickets: list[Ticket]) -> RegistrationOut:
    event = registration.event
    tiers = {t.pk: t for t in event.tiers.all()}
    expires = registration.offer_expires_at
    return RegistrationOut(
        id=registration.uuid,
        event=event.uuid,
        status=registration.status,
        seats=registration.seats,
        amount_total=registration.amount_total,
        tickets=[_ticket_out(t, tiers) for t in tickets],
        offer_expires_at=expires.astimezone(event.zone()) if expires else None,
    )


def _team_registration_out(registration: Registration, event: Event) -> TeamRegistrationOut:
    zone = event.zone()
    tickets = list(registration.tickets.all())
    person = registration.person
    expires = registration.offer_expires_at
    return TeamRegistrationOut(
        id=registration.uuid,
        event=event.uuid,
        status=registration.status,
        seats=registration.seats,
        amount_total=registration.amount_total,
        offer_expires_at=expires.astimezone(zone) if expires else None,
        person=person.uuid if person is not None else None,
        name=registration.visitor_name
        or (f"{person.first_name} {person.last_name}".strip() if person else ""),
        email=registration.visitor_email or (person.email if person else ""),
        created_at=registration.created_at.astimezone(zone),
        checked_in=sum(1 for t in tickets if t.checked_in_at is not None),
        tickets=[
            TeamTicketOut(
                id=t.uuid,
                name=t.name,
                tier=t.tier.uuid,
                amount=t.amount,
                email=t.email,
                checked_in=t.checked_in_at is not None,
                checked_in_at=t.checked_in_at.astimezone(zone) if t.checked_in_at else None,
            )
            for t in tickets
        ],
    )


def _visible_event(viewer: User | None, event_id: UUID) -> tuple[Event, Level]:
    """The event and the caller's level in its place; 404 when the caller may not see it."""
    event = (
        Event.objects.filter(uuid=event_id)
        .select_related("place", "resource")
        .prefetch_related("tiers")
        .first()
    )
    if event is None:
        raise NotFound(_("Évènement introuvable."))
    level = permissions.level(viewer, event.place)
    if not selectors.event_visible(event=event, level=level):
        raise NotFound(_("Évènement introuvable."))
    return event, level


def _require_team(viewer: User | None, event: Event) -> None:
    if viewer is None:
        raise Unauthorized(_("Authentification requise."))
    if not permissions.can(viewer, "event.manage", event.place):
        raise PermissionDenied(_("Réservé à l'équipe du lieu."))


# --- Events --------------------------------------------------------------------------------------


@router.get(
    "/events",
    response=EventPage,
    summary="Les évènements d'un lieu (à venir par défaut ; selon vos droits)",
    description=DATES
    + " `start` : les évènements qui finissent après ; sans lui, ceux pas encore terminés. "
    "`end` : ceux qui commencent avant. `category` : "
    + ", ".join(Event.Category.values)
    + ". Publics pour tout le monde ; réservés aux membres pour les membres du lieu ; "
    "privés pour l'équipe.",
)
def list_events(
    request: HttpRequest,
    place: str | None = Query(
        None, description="Slug du lieu ; facultatif si vous n'en avez qu'un"
    ),  # type: ignore[type-arg]
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    category: str = "",
    limit: int = Query(50, ge=1, le=200),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0, le=1_000_000_000),  # type: ignore[type-arg]
) -> EventPage:
    viewer = api_caller(request)
    start_utc = _aware(start, "start") if start is not None else timezone.now()
    end_utc = _aware(end, "end") if end is not None else None
    if end_utc is not None and end_utc <= start_utc:
        raise InvalidInput({"end": [_("La fin doit être après le début.")]})
    if category and category not in Event.Category.values:
        raise InvalidInput({"category": [_("Catégorie inconnue.")]})
    place_obj = choose_place(viewer, place)
    level = permissions.level(viewer, place_obj)
    qs = selectors.events_visible(place=place_obj, level=level).filter(end_at__gt=start_utc)
    if end_utc is not None:
        qs = qs.filter(start_at__lt=end_utc)
    if category:
        qs = qs.filter(category=category)
    return EventPage(count=qs.count(), items=_events_out(list(qs[offset : offset + limit])))


@router.get("/events/{event_id}", response=EventOut, summary="Un évènement et ses tarifs")
def get_event(request: HttpRequest, event_id: UUID) -> EventOut:
    event, _level = _visible_event(api_caller(request), event_id)
    return _events_out([event])[0]


@router.post(
    "/events",
    response={201: EventOut},
    summary="Créer un évènement et ses tarifs (équipe du lieu)",
    description=DATES,
)
def create_event(request: HttpRequest, payload: EventIn) -> Status:
    viewer = api_caller(request)
    if viewer is None:
        raise Unauthorized(_("Authentification requise."))
    place = choose_place(viewer, payload.place)
    if not permissions.can(viewer, "event.manage", place):
        raise PermissionDenied(_("Seule l'équipe du lieu crée des évènements."))
    errors: dict[str, list[str]] = {}
    times: dict[str, dt.datetime | None] = {}
    for name in ("start", "end", "registration_opens", "registration_closes"):
        value = getattr(payload, name)
        try:
            times[name] = _aware(value, name) if value is not None else None
        except InvalidInput as exc:
            errors.update(exc.errors)
    resource = None
    if payload.resource is not None:
        resource = Resource.objects.filter(place=place, uuid=payload.resource).first()
        if resource is None:
            errors["resource"] = [_("Salle inconnue dans ce lieu.")]
    tiers: list[dict[str, Any]] = []
    for i, tier in enumerate(payload.tiers):
        spec = tier.model_dump()
        for name in ("price", "floor", "suggested"):
            try:
                spec[name] = _amount(spec[name], f"tiers.{i}.{name}")
            except InvalidInput as exc:
                errors.update(exc.errors)
        tiers.append(spec)
    if errors:
        raise InvalidInput(errors)
    try:
        event = services.event_create(
            place=place,
            by=viewer,
            tiers=tiers or None,
            title=payload.title,
            description=payload.description,
            category=payload.category,
            audience=payload.audience,
            resource=resource,
            address=payload.address,
            online_url=payload.online_url,
            start_at=times["start"],
            end_at=times["end"],
            is_stay=payload.is_stay,
            capacity=payload.capacity,
            max_per_order=payload.max_per_order,
            registration_opens_at=times["registration_opens"],
            registration_closes_at=times["registration_closes"],
            visibility=payload.visibility,
            accessibility=payload.accessibility,
            waitlist_enabled=payload.waitlist_enabled,
            offer_hours=payload.offer_hours,
            cancel_hours=payload.cancel_hours,
        )
    except InvalidInput as exc:
        raise _renamed(exc) from None
    event, _level = _visible_event(viewer, event.uuid)
    return Status(201, _events_out([event])[0])


@router.get(
    "/events/{event_id}/stats",
    response=EventStatsOut,
    summary="Les chiffres d'un évènement : inscrits, présents, remplissage, recettes (équipe)",
)
def event_stats(request: HttpRequest, event_id: UUID) -> EventStatsOut:
    viewer = api_caller(request)
    event, _level = _visible_event(viewer, event_id)
    _require_team(viewer, event)
    stats = selectors.event_stats(event=event)
    return EventStatsOut(
        event=event.uuid,
        capacity=stats.capacity,
        registered=stats.registered,
        offered=stats.offered,
        waitlisted=stats.waitlisted,
        checked_in=stats.checked_in,
        occupancy=stats.occupancy,
        attendance_occupancy=stats.attendance_occupancy,
        attendance_rate=stats.attendance_rate,
        revenue=stats.revenue,
        average_amount=stats.average_amount,
        standard_price=stats.standard_price,
        average_vs_standard=stats.average_vs_standard,
        tiers=[
            TierStatsOut(
                id=ts.tier.uuid,
                name=ts.tier.name,
                registered=ts.registered,
                waitlisted=ts.waitlisted,
                checked_in=ts.checked_in,
                revenue=ts.revenue,
            )
            for ts in stats.tiers
        ],
    )


# --- Registrations -------------------------------------------------------------------------------


@router.post(
    "/events/{event_id}/registrations",
    response={201: RegistrationOut, 202: RegistrationOut},
    summary="S'inscrire (201 confirmée ; 202 sur liste d'attente quand c'est complet)",
    description=(
        "Avec un jeton : vous (votre fiche du lieu), ou la personne `person` pour l'équipe. "
        "Sans jeton : `name` et `email` obligatoires. `tier` et `amount` valent pour les "
        "personnes qui n'en donnent pas. 409 : complet sans liste d'attente, inscriptions "
        "closes ou déjà inscrit·e."
    ),
)
def create_registration(request: HttpRequest, event_id: UUID, payload: RegistrationIn) -> Status:
    viewer = api_caller(request)
    event, level = _visible_event(viewer, event_id)
    place = event.place
    person = None
    if payload.person is not None:
        if viewer is None:
            raise Unauthorized(_("Authentification requise."))
        if not permissions.can(viewer, "event.manage", place):
            raise PermissionDenied(_("Seule l'équipe du lieu inscrit quelqu'un d'autre."))
        person = Person.objects.filter(place=place, uuid=payload.person).first()
        if person is None:
            raise InvalidInput({"person": [_("Personne inconnue dans ce lieu.")]})
    elif viewer is not None:
        person = Person.objects.filter(place=place, user=viewer).first()
    given = [a.model_dump() for a in payload.attendees] if payload.attendees is not None else [{}]
    name, email = payload.name, payload.email
    if person is None:
        # A visitor: the first attendee's name and e-mail stand for the registrant's.
        first = given[0] if given else {}
        name = name or first.get("name", "")
        email = email or first.get("email", "") or (viewer.email if viewer else "")
    attendees = []
    for spec in given:
        amount = spec.get("amount")
        amount = payload.amount if amount is None else amount
        attendees.append(
            {
                "name": spec.get("name", ""),
                "email": spec.get("email", ""),
                "tier": spec.get("tier") or payload.tier,
                # A JSON number: its shortest decimal writing (12.5, not 12.4999…).
                "amount": repr(amount) if isinstance(amount, float) else amount,
            }
        )
    try:
        registration = services.registration_create(
            event=event,
            by=viewer,
            level=level,
            attendees=attendees,
            person=person,
            visitor_name=name,
            visitor_email=email,
        )
    except InvalidInput as exc:
        raise _renamed(exc) from None
    tickets = list(registration.tickets.order_by("id"))
    status = 202 if registration.status == Registration.Status.WAITLISTED else 201
    return Status(status, _registration_out(registration, tickets))


@router.get(
    "/events/{event_id}/registrations",
    response=TeamRegistrationPage,
    summary="Les inscriptions à un évènement, avec leurs billets (équipe)",
    description="`status` : " + ", ".join(Registration.Status.values),
)
def list_registrations(
    request: HttpRequest,
    event_id: UUID,
    status: str = "",
    limit: int = Query(100, ge=1, le=500),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0, le=1_000_000_000),  # type: ignore[type-arg]
) -> TeamRegistrationPage:
    viewer = api_caller(request)
    event, _level = _visible_event(viewer, event_id)
    _require_team(viewer, event)
    qs = selectors.event_registrations(event=event)
    if status:
        if status not in Registration.Status.values:
            raise InvalidInput({"status": [_("État inconnu.")]})
        qs = qs.filter(status=status)
    return TeamRegistrationPage(
        count=qs.count(),
        items=[_team_registration_out(r, event) for r in qs[offset : offset + limit]],
    )


@router.delete(
    "/registrations/{registration_id}",
    response=RegistrationOut,
    summary="Annuler une inscription (la vôtre ; toute inscription du lieu pour l'équipe)",
)
def cancel_registration(request: HttpRequest, registration_id: UUID) -> RegistrationOut:
    viewer = api_caller(request)
    found = (
        Registration.objects.filter(uuid=registration_id)
        .select_related("event__place", "event__resource", "person")
        .first()
    )
    if found is None:
        raise NotFound(_("Inscription introuvable."))
    event = found.event
    level = permissions.level(viewer, event.place)
    own = (
        viewer is not None
        and found.person is not None
        and found.person.user_id is not None
        and found.person.user_id == viewer.pk
    )
    if not own and level < Level.CONCIERGE:
        raise NotFound(_("Inscription introuvable."))
    registration = services.registration_cancel(registration=found, by=viewer, level=level)
    registration.event = event
    tickets = list(registration.tickets.order_by("id"))
    return _registration_out(registration, tickets)
