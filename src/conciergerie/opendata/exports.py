"""The place exports: CSV (modelled on the ANCT tiers-lieux dataset), GeoJSON and JSON-LD.

CSV: the first 17 columns are those of the ANCT / CGET "Mission coworking" national file of
tiers-lieux (CGET_TiersLieux_2019.csv, github.com/anct-carto/mission_coworking, published on
data.gouv.fr), same names, same order, so both files can be stacked. That file's last 13
columns (METRO … POP_ZE) are statistics the ANCT derives from INSEE zonings: left out. Our own
columns follow. Comma-separated like that file; UTF-8 without BOM, RFC 4180 quoting.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from conciergerie.opendata.selectors import PlaceRecord

LICENCE_NAME = "Licence Ouverte / Open Licence version 2.0 (Etalab)"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


@dataclass(frozen=True)
class Column:
    name: str
    meaning: Promise
    field: str = ""  # the PlaceRecord attribute it shows; '' for a column we cannot fill
    anct: bool = False  # a column of the ANCT file

    def value(self, record: PlaceRecord) -> str:
        value = getattr(record, self.field) if self.field else ""
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.6f}"  # coordinates: fixed decimals, never 1e-05
        return str(value)


CSV_COLUMNS: list[Column] = [
    # The ANCT "Mission coworking" columns, in their order.
    Column(
        "ID",
        _(
            "Identifiant stable du lieu : son UUID, ou l'adresse de son acteur pour un lieu du réseau."
        ),
        "id",
        anct=True,
    ),
    Column("NOM_TL", _("Nom du tiers-lieu."), "name", anct=True),
    Column("ADRESSE", _("Numéro et voie."), "street", anct=True),
    Column("CP", _("Code postal."), "postal_code", anct=True),
    Column("COMINIT", _("Commune, telle que saisie par le lieu."), "city", anct=True),
    Column("INSEECOM", _("Code INSEE de la commune : vide, pas encore connu."), anct=True),
    Column("NOMCOM", _("Nom de la commune."), "city", anct=True),
    Column("WEB", _("Site web."), "website", anct=True),
    Column("TWITTER", _("Compte Twitter : toujours vide ici."), anct=True),
    Column("FACEBOOK", _("Page Facebook : toujours vide ici."), anct=True),
    Column("TYPO", _("Typologie du lieu (coworking, fablab…)."), "typology_label", anct=True),
    Column("LAT", _("Latitude WGS 84, en degrés décimaux."), "latitude", anct=True),
    Column("LONG", _("Longitude WGS 84, en degrés décimaux."), "longitude", anct=True),
    Column("GEOCOD", _("Adresse retenue par un géocodeur : toujours vide ici."), anct=True),
    Column("PRECISION", _("Score du géocodage : toujours vide ici."), anct=True),
    Column("CONTACT", _("Personne à contacter : toujours vide ici."), anct=True),
    Column("MAIL", _("E-mail de contact du lieu."), "email", anct=True),
    # Ours.
    Column("SIRET", _("SIRET de la structure qui porte le lieu."), "siret"),
    Column("FORME_JURIDIQUE", _("Forme juridique (association, SCIC…)."), "legal_form_label"),
    Column("PAYS", _("Pays, code ISO 3166-1 à deux lettres."), "country"),
    Column("TEL", _("Téléphone."), "phone"),
    Column(
        "HORAIRES",
        _("Horaires d'ouverture, syntaxe OpenStreetMap (ex. Mo-Fr 09:00-18:00)."),
        "opening_hours",
    ),
    Column(
        "DESCRIPTION", _("Présentation courte, texte brut (300 caractères au plus)."), "description"
    ),
    Column("URL", _("Page du lieu, sur cette Conciergerie ou sur celle qui l'héberge."), "url"),
    Column(
        "SOURCE",
        _("Adresse de la Conciergerie (ou de l'instance du réseau) qui publie le lieu."),
        "origin_url",
    ),
    Column("MAJ", _("Date de dernière mise à jour de la fiche (AAAA-MM-JJ)."), "updated"),
]

CSV_HEADER = [c.name for c in CSV_COLUMNS]


def places_csv(records: Iterable[PlaceRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # comma, minimal quoting, CRLF: RFC 4180
    writer.writerow(CSV_HEADER)
    for record in records:
        writer.writerow([column.value(record) for column in CSV_COLUMNS])
    return out.getvalue()


def places_geojson(records: Iterable[PlaceRecord]) -> dict[str, Any]:
    """A FeatureCollection (RFC 7946): places without coordinates cannot be drawn, left out."""
    features = [f for f in (record.to_feature() for record in records) if f is not None]
    return {"type": "FeatureCollection", "features": features}


def place_jsonld(record: PlaceRecord) -> dict[str, Any]:
    """schema.org `LocalBusiness` (a Place and an Organization: address, geo, e-mail, hours)."""
    data: dict[str, Any] = {
        "@type": "LocalBusiness",
        "@id": record.url,
        "name": record.name,
        "url": record.url,
        "address": {
            "@type": "PostalAddress",
            **{
                key: value
                for key, value in (
                    ("streetAddress", record.street),
                    ("postalCode", record.postal_code),
                    ("addressLocality", record.city),
                    ("addressCountry", record.country),
                )
                if value  # unknown parts are left out rather than sent empty
            },
        },
    }
    if record.has_position:
        data["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": record.latitude,
            "longitude": record.longitude,
        }
    if record.description:
        data["description"] = record.description
    if record.phone:
        data["telephone"] = record.phone
    if record.email:
        data["email"] = record.email
    if record.website:
        data["sameAs"] = record.website
    if record.opening_hours:
        data["openingHours"] = _schema_hours(record.opening_hours)
    if record.siret:
        data["identifier"] = {
            "@type": "PropertyValue",
            "propertyID": "SIRET",
            "value": record.siret,
        }
    data["keywords"] = record.typology_label
    return data


def _schema_hours(osm: str) -> list[str]:
    """'Mo-Fr 09:00-12:00,14:00-18:00' → ['Mo-Fr 09:00-12:00', 'Mo-Fr 14:00-18:00'].

    schema.org's `openingHours` takes one range per entry; anything unexpected is dropped.
    """
    entries = []
    for part in osm.split(";"):
        days, _sep, spans = part.strip().partition(" ")
        entries += [f"{days} {span.strip()}" for span in spans.split(",") if span.strip()]
    return entries


def places_jsonld(records: Iterable[PlaceRecord], *, url: str, name: str) -> dict[str, Any]:
    items = [
        {"@type": "ListItem", "position": n, "item": place_jsonld(record)}
        for n, record in enumerate(records, start=1)
    ]
    return {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "name": name,
        "url": url,
        "numberOfItems": len(items),
        "itemListElement": items,
    }
