"""Core endpoints: the places of this instance."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema

from conciergerie.core import selectors
from conciergerie.core.errors import NotFound
from conciergerie.core.models import Place

router = Router(tags=["places"])


class PlaceOut(Schema):
    id: UUID
    slug: str
    name: str
    url: str
    typology: str
    legal_form: str
    address: str
    postal_code: str
    city: str
    latitude: Decimal | None
    longitude: Decimal | None

    @staticmethod
    def from_place(place: Place) -> PlaceOut:
        return PlaceOut(
            id=place.uuid,
            slug=place.slug,
            name=place.name,
            url=place.get_canonical_url(),
            typology=place.typology,
            legal_form=place.legal_form,
            address=place.street,
            postal_code=place.postal_code,
            city=place.city,
            latitude=place.latitude,
            longitude=place.longitude,
        )


@router.get("/places", response=list[PlaceOut], summary="Lieux de cette instance (public)")
def list_places(request: HttpRequest) -> list[PlaceOut]:
    return [PlaceOut.from_place(p) for p in selectors.places_public()]


@router.get("/places/{place_id}", response=PlaceOut, summary="Un lieu (public)")
def get_place(request: HttpRequest, place_id: UUID) -> PlaceOut:
    place = Place.objects.filter(uuid=place_id).first()
    if place is None:
        raise NotFound("Lieu introuvable.")
    return PlaceOut.from_place(place)
