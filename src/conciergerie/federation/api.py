"""Network endpoints: what a place receives from the places it follows, each item with its
origin. Public, like the network page: everything here was published publicly elsewhere."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from conciergerie.api.auth import api_caller
from conciergerie.api.places import choose_place
from conciergerie.federation import selectors
from conciergerie.federation.models import RemoteObject
from conciergerie.federation.network_forms import Q_MAX
from conciergerie.federation.selectors import NetworkItem

router = Router(tags=["network"])

PLACE = "Slug du lieu ; facultatif si vous n'en avez qu'un"


class OriginOut(Schema):
    name: str = Field(..., description="Le nom du lieu qui a publié")
    handle: str = Field(..., description="Son adresse sur le Fédivers : @nom@domaine")
    domain: str = Field(..., description="L'instance qui l'héberge")
    url: str = Field(..., description="Sa page publique")


class NetworkItemOut(Schema):
    id: str = Field(..., description="L'identifiant ActivityPub de l'objet")
    kind: str = Field(..., description=", ".join(RemoteObject.Kind.values))
    name: str
    summary: str
    url: str = Field(..., description="Sa page sur l'instance d'origine")
    start: dt.datetime | None = Field(None, description="Évènements : début, fuseau du lieu")
    end: dt.datetime | None = Field(None, description="Évènements : fin, fuseau du lieu")
    location: str
    origin: OriginOut


class NetworkPage(Schema):
    count: int
    items: list[NetworkItemOut]


def _out(item: NetworkItem, zone: zoneinfo.ZoneInfo) -> NetworkItemOut:
    o = item.origin
    return NetworkItemOut(
        id=item.id,
        kind=item.kind,
        name=item.name,
        summary=item.summary,
        url=item.url,
        start=item.start.astimezone(zone) if item.start else None,
        end=item.end.astimezone(zone) if item.end else None,
        location=item.location,
        origin=OriginOut(name=o.name, handle=o.handle, domain=o.domain, url=o.url),
    )


def _page(items: list[NetworkItem], zone: str) -> NetworkPage:
    tz = zoneinfo.ZoneInfo(zone)
    return NetworkPage(count=len(items), items=[_out(i, tz) for i in items])


@router.get(
    "/network/events",
    response=NetworkPage,
    summary="Les évènements à venir des lieux suivis",
    description=(
        "Les évènements publics à venir des lieux que ce lieu suit (abonnement accepté), "
        "les plus proches d'abord, chacun avec son origine. `start` : ceux qui ne sont pas "
        "finis à cette date (maintenant par défaut)."
    ),
)
def network_events(
    request: HttpRequest,
    place: str | None = Query(None, description=PLACE),  # type: ignore[type-arg]
    start: dt.datetime | None = None,
    limit: int = Query(50, ge=1, le=100),  # type: ignore[type-arg]
) -> NetworkPage:
    place_obj = choose_place(api_caller(request), place)
    if start is not None and timezone.is_naive(start):  # a date without zone: the place's
        start = timezone.make_aware(start, zoneinfo.ZoneInfo(place_obj.timezone))
    items = selectors.network_events(place_obj, start=start, limit=limit)
    return _page(items, place_obj.timezone)


@router.get(
    "/network/commons",
    response=NetworkPage,
    summary="Les communs et pages de documentation des lieux suivis",
    description=(
        "Sans `q`, les plus récemment reçus d'abord ; avec `q`, ceux qui contiennent tous les "
        "mots (sinon l'un d'eux), accents et majuscules ignorés, les plus pertinents d'abord. "
        "Chacun avec son origine."
    ),
)
def network_commons(
    request: HttpRequest,
    q: str = Query("", max_length=Q_MAX),  # type: ignore[type-arg]
    place: str | None = Query(None, description=PLACE),  # type: ignore[type-arg]
    limit: int = Query(50, ge=1, le=100),  # type: ignore[type-arg]
) -> NetworkPage:
    place_obj = choose_place(api_caller(request), place)
    items = selectors.network_commons(place_obj, q=q, limit=limit)
    return _page(items, place_obj.timezone)
