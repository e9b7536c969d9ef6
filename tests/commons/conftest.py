"""Helpers for the commons tests."""

from __future__ import annotations

from typing import Any

from conciergerie.commons.models import Commons
from conciergerie.commons.services.catalogue import commons_create
from conciergerie.core.models import Place


def commons_data(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Paheko",
        "summary": "Gestion d'association : adhérents, cotisations et comptabilité.",
        "description": "Logiciel libre pour **gérer une association**.",
        "url": "https://paheko.cloud",
        "kind": "logiciel",
        "actions": ["gerer"],
        "domains": ["gestion associative"],
        "tags": ["adhésions", "comptabilité"],
        "license": "AGPL-3.0-or-later",
    }
    data.update(over)
    return data


def make_commons(place: Place, **over: Any) -> Commons:
    return commons_create(place=place, data=commons_data(**over), by=None)
