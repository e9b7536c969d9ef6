"""Open data about the instance's places: the map page, the data page and three downloads.

Everything here is public. The downloads are fixed to French labels so that the same file
comes out whatever the visitor's language, and carry `Access-Control-Allow-Origin: *` so map
tools that fetch from the browser (uMap, GoGoCarto…) can read them directly.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from conciergerie.opendata import exports, selectors
from conciergerie.opendata.selectors import PlaceRecord

CACHE = "public, max-age=900"
EXPORT_LANGUAGE = "fr"
# OpenStreetMap's tiles: their usage policy wants the attribution and a Referer (see map.js).
TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def _records_for_export() -> list[PlaceRecord]:
    with translation.override(EXPORT_LANGUAGE):
        return selectors.places_for_map()


def _download(body: str, content_type: str, disposition: str) -> HttpResponse:
    response = HttpResponse(body.encode(), content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = disposition
    response["Cache-Control"] = CACHE
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)


@require_GET
def places_geojson(request: HttpRequest) -> HttpResponse:
    """The places that have coordinates, as a GeoJSON FeatureCollection: two queries."""
    body = _json(exports.places_geojson(_records_for_export()))
    return _download(body, "application/geo+json", 'inline; filename="lieux.geojson"')


@require_GET
def places_csv(request: HttpRequest) -> HttpResponse:
    """Every place, one row each, with the documented columns: two queries."""
    body = exports.places_csv(_records_for_export())
    filename = f"tiers-lieux-{timezone.localdate():%Y-%m-%d}.csv"
    return _download(body, "text/csv", f'attachment; filename="{filename}"')


@require_GET
def places_jsonld(request: HttpRequest) -> HttpResponse:
    """Every place as schema.org JSON-LD (an ItemList of LocalBusiness): two queries."""
    url = settings.BASE_URL + reverse("opendata:places_jsonld")
    with translation.override(EXPORT_LANGUAGE):
        data = exports.places_jsonld(
            _records_for_export(), url=url, name=_("Les lieux de cette Conciergerie")
        )
    return _download(_json(data), "application/ld+json", 'inline; filename="lieux.jsonld"')


@require_GET
def places_map(request: HttpRequest) -> HttpResponse:
    """The map, and under it the same places as a plain list (no JS, no tiles needed)."""
    records = selectors.places_for_map()
    return render(
        request,
        "opendata/map.html",
        {
            "records": records,
            "local_count": sum(1 for r in records if r.origin == selectors.LOCAL),
            "network_count": sum(1 for r in records if r.origin != selectors.LOCAL),
            "located": sum(1 for r in records if r.has_position),
            "tiles_url": TILES_URL,
        },
    )


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """What can be downloaded, under which licence, and what each CSV column means."""
    return render(
        request,
        "opendata/index.html",
        {
            "columns": exports.CSV_COLUMNS,
            "licence_name": exports.LICENCE_NAME,
            "licence_url": exports.LICENCE_URL,
        },
    )
