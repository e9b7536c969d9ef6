"""Spaces endpoints: bookable resources, their availability, and bookings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from conciergerie.api.auth import api_caller
from conciergerie.api.places import choose_place
from conciergerie.community.models import Person
from conciergerie.core import permissions
from conciergerie.core.errors import InvalidInput, NotFound, PermissionDenied
from conciergerie.core.models import User
from conciergerie.spaces import rules, selectors, services
from conciergerie.spaces.models import Booking, Resource

router = Router(tags=["spaces"])

MAX_WINDOW = dt.timedelta(days=62)
DATES = (
    "`start` et `end` : ISO 8601 avec fuseau (ex. `2030-03-12T10:00:00+01:00`, "
    "`+` encodé `%2B` dans l'URL). Les heures rendues sont dans le fuseau du lieu."
)


# --- Schemas -------------------------------------------------------------------------------------


class ResourceOut(Schema):
    id: UUID
    place: str
    name: str
    kind: str
    capacity: int
    features: list[str]
    location: str
    requires_qualification: bool
    requires_approval: bool
    min_minutes: int
    max_minutes: int
    slot_minutes: int


class IntervalOut(Schema):
    start: dt.datetime
    end: dt.datetime


class AvailabilityOut(Schema):
    resource: UUID
    timezone: str
    seats: int
    free: list[IntervalOut]


class BookingIn(Schema):
    resource: UUID
    start: dt.datetime = Field(
        ..., description="ISO 8601 avec fuseau, ex. 2030-03-12T10:00:00+01:00"
    )
    end: dt.datetime = Field(..., description="ISO 8601 avec fuseau")
    seats: int = Field(1, ge=1, le=10_000)
    title: str = Field("", max_length=200)
    person: UUID | None = Field(
        None, description="Pour le compte de qui (équipe du lieu seulement) ; par défaut vous"
    )


class BookingOut(Schema):
    id: UUID
    place: str
    resource: UUID
    resource_name: str
    person: UUID | None = None
    title: str
    start: dt.datetime
    end: dt.datetime
    seats: int
    status: str
    amount_due: Decimal | None = None


class BookingPage(Schema):
    count: int
    items: list[BookingOut]


# --- Helpers -------------------------------------------------------------------------------------


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    return rules.require_aware(value, field)


def _window(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        raise InvalidInput({"end": [_("La fin doit être après le début.")]})
    if end - start > MAX_WINDOW:
        raise InvalidInput({"end": [_("Période trop longue : 62 jours au plus.")]})
    return start, end


def _resource_out(r: Resource) -> ResourceOut:
    return ResourceOut(
        id=r.uuid,
        place=r.place.slug,
        name=r.name,
        kind=r.kind,
        capacity=r.capacity,
        features=list(r.features or []),
        location=r.location,
        requires_qualification=r.requires_qualification,
        requires_approval=r.requires_approval,
        min_minutes=r.min_minutes,
        max_minutes=r.max_minutes,
        slot_minutes=r.slot_minutes,
    )


def _booking_out(b: Booking) -> BookingOut:
    zone = rules.place_zone(b.resource)
    return BookingOut(
        id=b.uuid,
        place=b.resource.place.slug,
        resource=b.resource.uuid,
        resource_name=b.resource.name,
        person=b.person.uuid if b.person is not None else None,
        title=b.title,
        start=b.start_at.astimezone(zone),
        end=b.end_at.astimezone(zone),
        seats=b.seats,
        status=b.status,
        amount_due=b.amount_due,
    )


def _visible_resource(viewer: User | None, resource_id: UUID) -> Resource | None:
    """The resource if the caller may see it (inactive ones only for the team)."""
    resource = Resource.objects.filter(uuid=resource_id).select_related("place").first()
    if resource is None:
        return None
    if not selectors.resource_visible(resource, permissions.level(viewer, resource.place)):
        return None
    return resource


# --- Resources -----------------------------------------------------------------------------------


@router.get(
    "/resources",
    response=list[ResourceOut],
    summary="Les ressources réservables d'un lieu",
)
def list_resources(
    request: HttpRequest,
    place: str | None = Query(
        None, description="Slug du lieu ; facultatif si vous n'en avez qu'un"
    ),  # type: ignore[type-arg]
    kind: str = "",
) -> list[ResourceOut]:
    viewer = api_caller(request)
    place_obj = choose_place(viewer, place)
    qs = selectors.resources(place=place_obj, level=permissions.level(viewer, place_obj))
    if kind:
        qs = qs.filter(kind=kind)
    return [_resource_out(r) for r in qs]


@router.get(
    "/resources/{resource_id}/availability",
    response=AvailabilityOut,
    summary="Les créneaux libres d'une ressource (62 jours au plus)",
    description=DATES,
)
def resource_availability(
    request: HttpRequest,
    resource_id: UUID,
    start: dt.datetime,
    end: dt.datetime,
    seats: int = Query(1, ge=1, le=10_000),  # type: ignore[type-arg]
) -> AvailabilityOut:
    viewer = api_caller(request)
    start, end = _window(start, end)
    resource = _visible_resource(viewer, resource_id)
    if resource is None:
        raise NotFound(_("Ressource introuvable."))
    zone = rules.place_zone(resource)
    free = selectors.free_intervals(resource=resource, start=start, end=end, seats=seats)
    return AvailabilityOut(
        resource=resource.uuid,
        timezone=str(zone),
        seats=seats,
        free=[IntervalOut(start=s.astimezone(zone), end=e.astimezone(zone)) for s, e in free],
    )


# --- Bookings ------------------------------------------------------------------------------------


@router.post(
    "/bookings",
    response={201: BookingOut},
    summary="Réserver (pour vous, ou pour une personne du lieu si vous êtes de l'équipe)",
)
def create_booking(request: HttpRequest, payload: BookingIn) -> Status:
    viewer = api_caller(request)
    if viewer is None:
        raise PermissionDenied(_("Authentification requise."))
    start, end = _aware(payload.start, "start"), _aware(payload.end, "end")
    resource = _visible_resource(viewer, payload.resource)
    if resource is None:
        raise InvalidInput({"resource": [_("Ressource inconnue.")]})
    place = resource.place
    level = permissions.level(viewer, place)
    if payload.person is not None:
        if not permissions.can(viewer, "booking.manage", place):
            raise PermissionDenied(_("Seule l'équipe du lieu réserve pour quelqu'un d'autre."))
        person = Person.objects.filter(place=place, uuid=payload.person).first()
        if person is None:
            raise InvalidInput({"person": [_("Personne inconnue dans ce lieu.")]})
    else:
        person = Person.objects.filter(place=place, user=viewer).first()
    booking = services.booking_create(
        resource=resource,
        by=viewer,
        level=level,
        start=start,
        end=end,
        person=person,
        seats=payload.seats,
        title=payload.title,
    )
    return Status(201, _booking_out(booking))


@router.get(
    "/bookings",
    response=BookingPage,
    summary="Réservations (les vôtres ; toutes celles du lieu pour l'équipe)",
    description=DATES,
)
def list_bookings(
    request: HttpRequest,
    place: str | None = Query(
        None,
        description="Slug du lieu ; facultatif si vous n'en avez qu'un ou si resource est donné",
    ),  # type: ignore[type-arg]
    resource: UUID | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    status: str = "",
    limit: int = Query(100, ge=1, le=500),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0),  # type: ignore[type-arg]
) -> BookingPage:
    viewer = api_caller(request)
    start_utc = _aware(start, "start") if start is not None else None
    end_utc = _aware(end, "end") if end is not None else None
    if start_utc and end_utc and end_utc <= start_utc:
        raise InvalidInput({"end": [_("La fin doit être après le début.")]})
    resource_obj = None
    if resource is not None:
        resource_obj = _visible_resource(viewer, resource)
        if resource_obj is None or (place and resource_obj.place.slug != place):
            raise NotFound(_("Ressource introuvable."), field="resource")
        place_obj = resource_obj.place
    else:
        place_obj = choose_place(viewer, place)
    level = permissions.level(viewer, place_obj)
    qs = selectors.bookings_visible(place=place_obj, user=viewer, level=level).select_related(
        "resource__place", "person"
    )
    if resource_obj is not None:
        qs = qs.filter(resource=resource_obj)
    if start_utc is not None:
        qs = qs.filter(end_at__gt=start_utc)
    if end_utc is not None:
        qs = qs.filter(start_at__lt=end_utc)
    if status:
        qs = qs.filter(status=status)
    return BookingPage(
        count=qs.count(), items=[_booking_out(b) for b in qs[offset : offset + limit]]
    )


@router.delete(
    "/bookings/{booking_id}",
    response=BookingOut,
    summary="Annuler une réservation (la vôtre ; toute réservation du lieu pour l'équipe)",
)
def cancel_booking(request: HttpRequest, booking_id: UUID) -> BookingOut:
    viewer = api_caller(request)
    found = Booking.objects.filter(uuid=booking_id).select_related("place").first()
    if found is None:
        raise NotFound(_("Réservation introuvable."))
    level = permissions.level(viewer, found.place)
    booking = (
        selectors.bookings_visible(place=found.place, user=viewer, level=level)
        .filter(pk=found.pk)
        .first()
    )
    if booking is None:
        raise NotFound(_("Réservation introuvable."))
    booking = services.booking_cancel(booking=booking, by=viewer, level=level)
    return _booking_out(booking)
