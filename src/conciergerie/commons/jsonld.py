"""schema.org JSON-LD for a commons' page, so search engines and other catalogues read it."""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from conciergerie.commons.models import Commons, Kind

SCHEMA_TYPES: dict[str, str] = {
    Kind.LOGICIEL: "SoftwareApplication",
    Kind.METHODE: "HowTo",
    Kind.MODELE: "DigitalDocument",
    Kind.COMMUNAUTE: "Organization",
    Kind.SERVICE: "Service",
    Kind.MATERIEL: "Product",
    Kind.FORMATION: "Course",
}
# An SPDX licence id ("AGPL-3.0-or-later", "CC-BY-SA-4.0"): one word of letters, digits, . - +
_SPDX = re.compile(r"^[A-Za-z][A-Za-z0-9.+-]*-[0-9][A-Za-z0-9.+-]*$|^(MIT|ISC|Unlicense|CC0-1\.0)$")


def license_value(license: str) -> str:
    """An SPDX id as the licence's address on spdx.org; free text as it is."""
    license = (license or "").strip()
    if _SPDX.match(license):
        return f"https://spdx.org/licenses/{license}.html"
    return license


def commons_data(commons: Commons, *, page_url: str, domain_names: list[str]) -> dict[str, Any]:
    """The commons as a schema.org object (`page_url`: the absolute address of its page)."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": SCHEMA_TYPES.get(commons.kind, "CreativeWork"),
        "@id": page_url,
        "name": commons.name,
        "description": commons.summary,
        "url": commons.url,
        "mainEntityOfPage": page_url,
    }
    if commons.license:
        data["license"] = license_value(commons.license)
    keywords = list(dict.fromkeys([*(str(t) for t in commons.tags or []), *domain_names]))
    if keywords:
        data["keywords"] = ", ".join(keywords)
    same_as = [
        str(link["url"])
        for link in commons.links or []
        if isinstance(link, dict) and link.get("url") and link["url"] != commons.url
    ]
    if same_as:
        data["sameAs"] = list(dict.fromkeys(same_as))
    if commons.updated_at:
        data["dateModified"] = commons.updated_at.isoformat()
    return data


def script_text(data: dict[str, Any]) -> SafeString:
    """JSON safe inside <script type="application/ld+json">: "</script>" cannot end it early."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # JavaScript parsers treat these two as line ends; JSON does not mind the escapes.
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return mark_safe(text)  # noqa: S308 - escaped above


def commons_jsonld(commons: Commons, *, page_url: str, domain_names: list[str]) -> SafeString:
    return script_text(commons_data(commons, page_url=page_url, domain_names=domain_names))
