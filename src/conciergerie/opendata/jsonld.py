"""schema.org JSON-LD of a place, ready to sit inside a <script type="application/ld+json">."""

from __future__ import annotations

import json
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from conciergerie.core.models import Place
from conciergerie.opendata.exports import place_jsonld
from conciergerie.opendata.selectors import record_from_place


def script_json(data: dict[str, Any]) -> SafeString:
    """JSON that cannot end the <script> element it sits in, whatever the place's texts say."""
    text = json.dumps(data, ensure_ascii=False)
    # "</script>" or "<!--" in a name would close or confuse the element: escape <, > and &.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above


def place_jsonld_script(place: Place) -> SafeString:
    """The place page's JSON-LD; no query beyond the place itself."""
    data = {"@context": "https://schema.org", **place_jsonld(record_from_place(place))}
    return script_json(data)
