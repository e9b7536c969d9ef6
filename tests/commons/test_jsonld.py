"""schema.org JSON-LD for a commons' page."""

from __future__ import annotations

import json

import pytest

from conciergerie.commons.jsonld import commons_data, commons_jsonld, license_value, script_text
from conciergerie.commons.models import Commons, Kind

PAGE = "https://tiers-lieu.example.org/lieux/fabrique/communs/paheko/"


def commons(**over):
    fields = {
        "name": "Paheko",
        "summary": "Gestion d'association.",
        "description": "Long **Markdown**",
        "url": "https://paheko.cloud",
        "kind": Kind.LOGICIEL,
        "tags": ["adhésions", "compta"],
        "license": "AGPL-3.0-or-later",
        "links": [
            {"label": "Code", "url": "https://fossil.kd2.org/paheko"},
            {"label": "Accueil", "url": "https://paheko.cloud"},
            {"label": "Sans adresse", "url": ""},
        ],
        "grid": {"cost": "Gratuit"},
    }
    fields.update(over)
    return Commons(**fields)


@pytest.mark.parametrize(
    ("kind", "schema_type"),
    [
        (Kind.LOGICIEL, "SoftwareApplication"),
        (Kind.METHODE, "HowTo"),
        (Kind.MODELE, "DigitalDocument"),
        (Kind.COMMUNAUTE, "Organization"),
        (Kind.SERVICE, "Service"),
        (Kind.MATERIEL, "Product"),
        (Kind.FORMATION, "Course"),
    ],
)
def test_each_kind_has_its_schema_type(kind, schema_type):
    data = commons_data(commons(kind=kind), page_url=PAGE, domain_names=[])
    assert data["@type"] == schema_type
    assert data["@context"] == "https://schema.org"


def test_the_fields_a_reader_expects():
    data = commons_data(commons(), page_url=PAGE, domain_names=["gestion associative"])
    assert data["name"] == "Paheko"
    assert data["description"] == "Gestion d'association."  # the summary, not the Markdown
    assert data["url"] == "https://paheko.cloud"
    assert data["@id"] == PAGE and data["mainEntityOfPage"] == PAGE
    assert data["license"] == "https://spdx.org/licenses/AGPL-3.0-or-later.html"
    assert data["keywords"] == "adhésions, compta, gestion associative"
    # Other addresses of the same thing; its own address and empty links are left out.
    assert data["sameAs"] == ["https://fossil.kd2.org/paheko"]
    # "Gratuit" in the grid is free text: nothing is guessed from it.
    assert "isAccessibleForFree" not in data


def test_missing_values_are_left_out():
    data = commons_data(commons(license="", tags=[], links=[]), page_url=PAGE, domain_names=[])
    assert "license" not in data and "keywords" not in data and "sameAs" not in data


@pytest.mark.parametrize(
    ("license", "expected"),
    [
        ("MPL-2.0", "https://spdx.org/licenses/MPL-2.0.html"),
        ("CC-BY-SA-4.0", "https://spdx.org/licenses/CC-BY-SA-4.0.html"),
        ("ODbL-1.0", "https://spdx.org/licenses/ODbL-1.0.html"),
        ("MIT", "https://spdx.org/licenses/MIT.html"),
        ("Service libre (logiciel sous AGPL)", "Service libre (logiciel sous AGPL)"),
        ("Licence libre", "Licence libre"),
    ],
)
def test_spdx_ids_become_addresses_free_text_stays(license, expected):
    assert license_value(license) == expected


def test_the_script_cannot_be_closed_early():
    text = script_text({"name": "</script><script>alert('x')</script> & co", "x": "\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": "</script><script>alert('x')</script> & co", "x": "\u2028"}


def test_commons_jsonld_is_the_escaped_json():
    evil = commons(name="A </script> B")
    parsed = json.loads(commons_jsonld(evil, page_url=PAGE, domain_names=[]))
    assert parsed["name"] == "A </script> B"
