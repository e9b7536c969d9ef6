"""Reads of the open-data exports: every place of the instance as a flat `PlaceRecord`.

All places of an instance are public entities (the `Place` model has no hidden or unlisted
flag), so every one is listed. The places its places follow on other instances (through
federation) are appended to the same list, with `origin` set to the remote instance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from conciergerie.core.models import AuditEntry, Place
from conciergerie.federation.models import RemoteActor
from conciergerie.federation.selectors import instance_url, network_places
from conciergerie.opendata.formats import DESCRIPTION_CHARS, opening_hours_osm, plain_text

LOCAL = "local"


@dataclass(frozen=True, slots=True)
class PlaceRecord:
    """One place as published: what the map, GeoJSON, CSV and JSON-LD say about it."""

    id: str  # stable identifier: the place's UUID for local places
    name: str
    slug: str
    url: str  # the place's public page, absolute
    typology: str  # the code (`coworking`, `fablab`…), stable across languages
    typology_label: str
    legal_form_label: str
    siret: str
    street: str
    postal_code: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    latitude: float | None
    longitude: float | None
    website: str
    email: str
    phone: str
    opening_hours: str  # OpenStreetMap `opening_hours` syntax, '' when unknown
    description: str  # plain text, at most 300 characters
    updated: str  # date of the last change, AAAA-MM-JJ
    origin: str = LOCAL  # "local", or the remote instance's domain for a followed place
    origin_url: str = ""  # base URL of the instance that holds the place

    @property
    def address_line(self) -> str:
        parts = [self.street, " ".join(p for p in (self.postal_code, self.city) if p)]
        return ", ".join(p for p in parts if p)

    @property
    def has_position(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_feature(self) -> dict[str, Any] | None:
        """A GeoJSON Point feature (RFC 7946: longitude first), or None without a position."""
        if not self.has_position:
            return None
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": {"type": "Point", "coordinates": [self.longitude, self.latitude]},
            "properties": self.to_dict(),
        }


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def record_from_place(place: Place, *, updated: dt.datetime | None = None) -> PlaceRecord:
    """The record of a local place; reads nothing more from the database."""
    updated = updated or getattr(place, "last_change", None) or place.created_at
    return PlaceRecord(
        id=str(place.uuid),
        name=place.name,
        slug=place.slug,
        url=settings.BASE_URL + reverse("core:place", kwargs={"place_slug": place.slug}),
        typology=place.typology,
        typology_label=str(place.get_typology_display()),
        legal_form_label=str(place.get_legal_form_display()),
        siret=place.siret,
        street=place.street,
        postal_code=place.postal_code,
        city=place.city,
        country=place.country,
        latitude=_float(place.latitude),
        longitude=_float(place.longitude),
        website=place.website,
        email=place.email,
        phone=place.phone,
        opening_hours=opening_hours_osm(place.opening_hours),
        description=plain_text(place.description),
        updated=timezone.localtime(updated).date().isoformat(),
        origin=LOCAL,
        origin_url=settings.BASE_URL,
    )


def record_from_actor(actor: RemoteActor) -> PlaceRecord:
    """The record of a place followed on another instance, from what its actor says."""
    profile = actor.profile_url or actor.url
    return PlaceRecord(
        id=actor.url,
        name=actor.label,
        slug=actor.username,
        url=profile,
        typology="",
        typology_label="",
        legal_form_label="",
        siret="",
        street=actor.street,
        postal_code=actor.postal_code,
        city=actor.city,
        country=actor.country,
        latitude=actor.latitude,
        longitude=actor.longitude,
        website=profile,
        email="",
        phone="",
        opening_hours="",
        # Received text is plain already (tags stripped on receipt): cut, not re-rendered.
        description=Truncator(" ".join(actor.summary.split())).chars(DESCRIPTION_CHARS),
        updated=timezone.localtime(actor.fetched_at).date().isoformat(),
        origin=actor.domain,
        origin_url=instance_url(actor),
    )


def places_for_map() -> list[PlaceRecord]:
    """Every place of the instance, by name, then the places they follow elsewhere that have
    a position or an address: two queries whatever their number.

    The date of the last change comes from the audit log (`place.create` / `place.update`),
    read in the same query: the Etalab licence asks reusers to cite it.
    """
    last_change = (
        AuditEntry.objects.filter(place=OuterRef("pk"), action__in=["place.create", "place.update"])
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    places = Place.objects.annotate(
        last_change=Coalesce(Subquery(last_change), F("created_at"))
    ).order_by("name", "id")
    records = [record_from_place(place) for place in places]
    return records + [record_from_actor(actor) for actor in network_places()]
