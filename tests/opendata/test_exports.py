"""The open-data downloads: GeoJSON, CSV and JSON-LD of the instance's places."""

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from conciergerie.core.models import AuditEntry
from conciergerie.core.services import place_update
from conciergerie.opendata import exports
from conciergerie.opendata.formats import opening_hours_osm
from conciergerie.opendata.selectors import places_for_map
from tests.factories import SIRET, make_user
from tests.opendata.conftest import seed

# The documented columns (docs/opendata.md): the ANCT "Mission coworking" ones, then ours.
ANCT_COLUMNS = [
    "ID", "NOM_TL", "ADRESSE", "CP", "COMINIT", "INSEECOM", "NOMCOM", "WEB", "TWITTER",
    "FACEBOOK", "TYPO", "LAT", "LONG", "GEOCOD", "PRECISION", "CONTACT", "MAIL",
]  # fmt: skip
OUR_COLUMNS = [
    "SIRET", "FORME_JURIDIQUE", "PAYS", "TEL", "HORAIRES", "DESCRIPTION", "URL", "SOURCE", "MAJ",
]  # fmt: skip
DOCS = Path(__file__).resolve().parents[2] / "docs" / "opendata.md"


def geojson(client, **headers):
    response = client.get(reverse("opendata:places_geojson"), **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json; charset=utf-8"
    return json.loads(response.content)


def csv_rows(client, **headers):
    response = client.get(reverse("opendata:places_csv"), **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response, list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


def jsonld(client):
    response = client.get(reverse("opendata:places_jsonld"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json; charset=utf-8"
    return json.loads(response.content)


# --- The records ---------------------------------------------------------------------------------


def test_records_are_plain_local_data(cafe, nowhere):
    records = {r.slug: r for r in places_for_map()}
    record = records["cafe-tricot"]
    assert record.id == str(cafe.uuid)
    assert record.url == settings.BASE_URL + "/lieux/cafe-tricot/"
    assert (record.latitude, record.longitude) == (45.764043, 4.835659)
    assert isinstance(record.latitude, float)
    assert record.typology_label == "Tiers-lieu culturel"
    assert record.opening_hours == "Mo-Tu 09:00-12:30,14:00-18:00; Sa 10:00-12:00"
    assert record.description == "Un café associatif. On y tricote le jeudi."
    assert record.updated == timezone.localdate().isoformat()
    assert (record.origin, record.origin_url) == ("local", settings.BASE_URL)
    assert records["sans-carte"].latitude is None
    assert records["sans-carte"].to_feature() is None


def test_opening_hours_group_consecutive_days_only():
    same = [["09:00", "18:00"]]
    hours = {"mon": same, "tue": same, "wed": same, "fri": same, "sun": [["10:00", "12:00"]]}
    assert opening_hours_osm(hours) == "Mo-We 09:00-18:00; Fr 09:00-18:00; Su 10:00-12:00"
    assert opening_hours_osm({}) == ""


# --- GeoJSON -------------------------------------------------------------------------------------


def test_geojson_is_a_feature_collection_of_points_lon_first(client, cafe, nowhere):
    data = geojson(client)
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 1  # the place without coordinates is left out
    feature = data["features"][0]
    assert feature["type"] == "Feature"
    assert feature["id"] == str(cafe.uuid)
    assert feature["geometry"] == {"type": "Point", "coordinates": [4.835659, 45.764043]}
    props = feature["properties"]
    assert props["name"] == "Café, Tricot & Cie"
    assert props["url"] == settings.BASE_URL + cafe.get_absolute_url()
    assert props["city"] == "Lyon"
    assert props["typology"] == "culturel"
    assert props["typology_label"] == "Tiers-lieu culturel"
    assert props["origin"] == "local"


def test_geojson_may_be_fetched_by_map_tools(client, cafe):
    response = client.get(reverse("opendata:places_geojson"))
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"].startswith("public")


def test_geojson_of_an_empty_instance(client, db):
    assert geojson(client) == {"type": "FeatureCollection", "features": []}


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_header_is_exactly_the_documented_columns(client, cafe):
    response, rows = csv_rows(client)
    assert rows[0] == ANCT_COLUMNS + OUR_COLUMNS == exports.CSV_HEADER
    assert response.content.startswith(b"ID,NOM_TL,")  # UTF-8 without BOM, comma-separated
    disposition = response["Content-Disposition"]
    assert disposition == f'attachment; filename="tiers-lieux-{timezone.localdate()}.csv"'


def test_every_csv_column_is_documented():
    docs = DOCS.read_text(encoding="utf-8")
    for name in exports.CSV_HEADER:
        assert f"| `{name}` |" in docs, name


def test_csv_row_values_with_quoting(client, cafe, nowhere):
    response, rows = csv_rows(client)
    # A comma in the name is quoted, accents stay UTF-8.
    assert '"Café, Tricot & Cie"' in response.content.decode("utf-8")
    by_name = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"Café, Tricot & Cie", "Sans Carte"}
    row = by_name["Café, Tricot & Cie"]
    assert row == {
        "ID": str(cafe.uuid),
        "NOM_TL": "Café, Tricot & Cie",
        "ADRESSE": "3 rue de l'Église",
        "CP": "69001",
        "COMINIT": "Lyon",
        "INSEECOM": "",
        "NOMCOM": "Lyon",
        "WEB": "https://cafe.example.org",
        "TWITTER": "",
        "FACEBOOK": "",
        "TYPO": "Tiers-lieu culturel",
        "LAT": "45.764043",
        "LONG": "4.835659",
        "GEOCOD": "",
        "PRECISION": "",
        "CONTACT": "",
        "MAIL": "bonjour@cafe.example.org",
        "SIRET": SIRET,
        "FORME_JURIDIQUE": "Association",
        "PAYS": "FR",
        "TEL": "04 72 00 00 00",
        "HORAIRES": "Mo-Tu 09:00-12:30,14:00-18:00; Sa 10:00-12:00",
        "DESCRIPTION": "Un café associatif. On y tricote le jeudi.",
        "URL": settings.BASE_URL + "/lieux/cafe-tricot/",
        "SOURCE": settings.BASE_URL,
        "MAJ": timezone.localdate().isoformat(),
    }
    # Without coordinates: still a row, with empty LAT and LONG.
    assert (by_name["Sans Carte"]["LAT"], by_name["Sans Carte"]["LONG"]) == ("", "")
    assert by_name["Sans Carte"]["TYPO"] == "Fablab / makerspace / hackerspace"


def test_csv_is_the_same_whatever_the_visitor_language(client, cafe):
    _, french = csv_rows(client)
    _, english = csv_rows(client, HTTP_ACCEPT_LANGUAGE="en")
    assert english == french
    assert english[1][exports.CSV_HEADER.index("TYPO")] == "Tiers-lieu culturel"


def test_update_date_follows_the_last_change(client, cafe):
    long_ago = timezone.now() - dt.timedelta(days=40)
    AuditEntry.objects.filter(place=cafe).update(created_at=long_ago)
    _, rows = csv_rows(client)
    assert rows[1][-1] == timezone.localtime(long_ago).date().isoformat()
    place_update(place=cafe, by=make_user(), data={"phone": "04 72 11 11 11"})
    _, rows = csv_rows(client)
    assert rows[1][-1] == timezone.localdate().isoformat()


# --- JSON-LD -------------------------------------------------------------------------------------


def test_jsonld_lists_places_with_their_address(client, cafe, nowhere):
    data = jsonld(client)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "ItemList"
    assert data["numberOfItems"] == 2
    items = {i["item"]["name"]: i["item"] for i in data["itemListElement"]}
    place = items["Café, Tricot & Cie"]
    assert place["@type"] == "LocalBusiness"
    assert place["url"] == settings.BASE_URL + "/lieux/cafe-tricot/"
    assert place["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "3 rue de l'Église",
        "postalCode": "69001",
        "addressLocality": "Lyon",
        "addressCountry": "FR",
    }
    assert place["geo"] == {"@type": "GeoCoordinates", "latitude": 45.764043, "longitude": 4.835659}
    assert place["telephone"] == "04 72 00 00 00"
    assert place["email"] == "bonjour@cafe.example.org"
    assert place["sameAs"] == "https://cafe.example.org"
    assert place["openingHours"] == [
        "Mo-Tu 09:00-12:30",
        "Mo-Tu 14:00-18:00",
        "Sa 10:00-12:00",
    ]
    assert place["identifier"]["value"] == SIRET
    assert "geo" not in items["Sans Carte"]
    # Unknown address parts are left out, not sent empty.
    assert items["Sans Carte"]["address"] == {
        "@type": "PostalAddress",
        "addressLocality": "Die",
        "addressCountry": "FR",
    }


# --- Query counts --------------------------------------------------------------------------------

EXPORTS = ["opendata:places_geojson", "opendata:places_csv", "opendata:places_jsonld"]


@pytest.mark.parametrize("name", EXPORTS)
def test_exports_read_two_queries_whatever_the_number_of_places(
    client, db, name, django_assert_num_queries
):
    url = reverse(name)
    seed(1)
    # The instance's places, then the places they follow elsewhere: two queries.
    with django_assert_num_queries(2):
        assert client.get(url).status_code == 200
    seed(9, start=1)
    with django_assert_num_queries(2):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("Semis ") >= 10
