"""schema.org `Event` JSON-LD for an event's page, so search engines and agendas read it."""

from __future__ import annotations

import json
from typing import Any

from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

from conciergerie.core.markdown import render_markdown
from conciergerie.events.models import Event, TicketTier

ONLINE = "https://schema.org/OnlineEventAttendanceMode"
OFFLINE = "https://schema.org/OfflineEventAttendanceMode"
MIXED = "https://schema.org/MixedEventAttendanceMode"


def _in_person(event: Event) -> bool:
    return bool(event.resource or event.address or not event.online_url)


def _location(event: Event) -> list[dict[str, Any]]:
    place = event.place
    where: list[dict[str, Any]] = []
    if event.address:
        where.append({"@type": "Place", "name": event.address, "address": event.address})
    elif _in_person(event):
        name = f"{event.resource.name}, {place.name}" if event.resource else place.name
        where.append({"@type": "Place", "name": name, "address": place.address_line or name})
    if event.online_url:
        where.append({"@type": "VirtualLocation", "url": event.online_url})
    return where


def _offer(event: Event, tier: TicketTier, available: int, url: str) -> dict[str, Any]:
    from conciergerie.events.services import tier_amount

    offer: dict[str, Any] = {
        "@type": "Offer",
        "name": tier.name,
        "price": str(tier_amount(event=event, tier=tier)),
        "priceCurrency": "EUR",
        "availability": "https://schema.org/InStock"
        if available > 0
        else "https://schema.org/SoldOut",
        "url": url,
    }
    if tier.pay_what_you_can:
        offer["priceSpecification"] = {
            "@type": "PriceSpecification",
            "minPrice": str(tier.floor),
            "price": str(tier.suggested),
            "priceCurrency": "EUR",
        }
    if event.registration_opens_at:
        offer["validFrom"] = event.registration_opens_at.isoformat()
    return offer


def event_jsonld(event: Event, *, tiers: list[TicketTier], available: int, url: str) -> SafeString:
    """The <script type="application/ld+json"> content, safe to put in the page as is."""
    zone = event.zone()
    online, offline = bool(event.online_url), _in_person(event)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "startDate": event.start_at.astimezone(zone).isoformat(),
        "endDate": event.end_at.astimezone(zone).isoformat(),
        "eventStatus": "https://schema.org/EventCancelled"
        if event.cancelled_at
        else "https://schema.org/EventScheduled",
        "eventAttendanceMode": MIXED if online and offline else (ONLINE if online else OFFLINE),
        "location": _location(event),
        "description": strip_tags(render_markdown(event.description)).strip()[:5000],
        "organizer": {
            "@type": "Organization",
            "name": event.place.name,
            "url": event.place.website or url.split("/lieux/")[0] + event.place.get_absolute_url(),
        },
        "maximumAttendeeCapacity": event.capacity,
        "remainingAttendeeCapacity": available,
        "offers": [_offer(event, t, available, url) for t in tiers],
        "url": url,
    }
    if event.audience:
        data["audience"] = {"@type": "Audience", "audienceType": event.audience}
    if event.accessibility:
        data["accessibilitySummary"] = event.accessibility
    text = json.dumps(data, ensure_ascii=False)
    # Inside <script>, "</" would end the element: escape the characters HTML cares about.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above
