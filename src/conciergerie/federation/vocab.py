"""The ActivityStreams documents a place publishes, and the reading of those it receives.

Events use Mobilizon's vocabulary (schema.org location with a PostalAddress, `maximumAttendeeCapacity`,
`joinMode`, `timezone`) so that Mobilizon and Mastodon read them; commons are `Document`s,
documentation pages `Page`s, and equipment lent to the network `Page`s marked with our own
`conciergerie:lending` term (see `equipment_object`), all attributed to the place.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import linebreaks, strip_tags

from conciergerie.core.markdown import render_markdown
from conciergerie.core.models import Place

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Our own terms. The namespace names the vocabulary, it is not fetched; it must never change,
# since other instances recognise the compacted term (`conciergerie:lending`) as written.
NS = "https://example.org/conciergerie/ns#"
LENDING = "conciergerie:lending"
CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    {
        "schema": "http://schema.org#",
        "mz": "https://joinmobilizon.org/ns#",
        "toot": "http://joinmastodon.org/ns#",
        "conciergerie": NS,
        "PostalAddress": "schema:PostalAddress",
        "address": {"@id": "schema:address", "@type": "@id"},
        "addressCountry": "schema:addressCountry",
        "addressLocality": "schema:addressLocality",
        "postalCode": "schema:postalCode",
        "streetAddress": "schema:streetAddress",
        "maximumAttendeeCapacity": "schema:maximumAttendeeCapacity",
        "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
        "timezone": {"@id": "mz:timezone", "@type": "schema:Text"},
        "discoverable": "toot:discoverable",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    },
]
ACTOR_TYPES = {"Organization", "Group", "Person", "Service", "Application"}
OBJECT_KINDS = {"Event": "event", "Document": "commons", "Page": "page", "Article": "page"}
TEXT_LIMIT = 20000


def absolute(path: str) -> str:
    return settings.BASE_URL + path


def actor_url(place: Place) -> str:
    return absolute(reverse("federation:actor", kwargs={"place_slug": place.slug}))


def actor_path(place_slug: str, name: str) -> str:
    return absolute(reverse(f"federation:{name}", kwargs={"place_slug": place_slug}))


def key_id(place: Place) -> str:
    return actor_url(place) + "#main-key"


def object_url(place: Place, kind: str, uuid: Any) -> str:
    return absolute(
        reverse("federation:object", kwargs={"place_slug": place.slug, "kind": kind, "uuid": uuid})
    )


def host() -> str:
    return settings.BASE_URL.split("://", 1)[1].split("/", 1)[0]


def _address(place: Place) -> dict[str, Any]:
    return {
        "type": "PostalAddress",
        "streetAddress": place.street,
        "postalCode": place.postal_code,
        "addressLocality": place.city,
        "addressCountry": place.country,
    }


def _location(place: Place, name: str) -> dict[str, Any]:
    """The place as an AS `Place`: its postal address, and its position when known."""
    location: dict[str, Any] = {"type": "Place", "name": name, "address": _address(place)}
    if place.latitude is not None and place.longitude is not None:
        location["latitude"] = float(place.latitude)
        location["longitude"] = float(place.longitude)
    return location


def _plain(markdown: str) -> str:
    return strip_tags(render_markdown(markdown)).strip()


def actor_document(place: Place, public_key_pem: str, *, approve_followers: bool) -> dict:
    """The place as an `Organization` actor, with its key and its location."""
    url = actor_url(place)
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": url,
        "type": "Organization",
        "preferredUsername": place.slug,
        "name": place.name,
        "summary": render_markdown(place.description),
        "url": absolute(place.get_absolute_url()),
        "inbox": actor_path(place.slug, "inbox"),
        "outbox": actor_path(place.slug, "outbox"),
        "followers": actor_path(place.slug, "followers"),
        "following": actor_path(place.slug, "following"),
        "endpoints": {"sharedInbox": absolute(reverse("federation:shared_inbox"))},
        "manuallyApprovesFollowers": approve_followers,
        "discoverable": True,
        "publicKey": {"id": url + "#main-key", "owner": url, "publicKeyPem": public_key_pem},
    }
    if place.city or place.street:
        doc["location"] = _location(place, place.name)
    return doc


def event_object(event: Any) -> dict:
    """A public event in Mobilizon's vocabulary."""
    place = event.place
    url = object_url(place, "evenement", event.uuid)
    location: dict[str, Any]
    if event.address:
        location = {"type": "Place", "name": event.address, "address": event.address}
    else:
        name = f"{event.resource.name}, {place.name}" if event.resource_id else place.name
        location = _location(place, name)
    doc: dict[str, Any] = {
        "id": url,
        "type": "Event",
        "name": event.title,
        "content": render_markdown(event.description),
        "startTime": event.start_at.isoformat(),
        "endTime": event.end_at.isoformat(),
        "timezone": place.timezone,
        "attributedTo": actor_url(place),
        "url": absolute(event.get_absolute_url()),
        "location": location,
        "maximumAttendeeCapacity": event.capacity,
        "joinMode": "external",
        "category": event.category.upper(),
        "to": [AS_PUBLIC],
        "cc": [actor_path(place.slug, "followers")],
        "published": event.created_at.isoformat(),
    }
    if event.online_url:
        doc["attachment"] = [{"type": "Link", "name": "Lien en ligne", "href": event.online_url}]
    if event.cancelled_at:
        doc["ical:status"] = "CANCELLED"
    return doc


def commons_object(commons: Any) -> dict:
    place = commons.place
    return {
        "id": object_url(place, "commun", commons.uuid),
        "type": "Document",
        "name": commons.name,
        "summary": commons.summary,
        "content": render_markdown(commons.description),
        "url": absolute(commons.get_absolute_url()),
        "attributedTo": actor_url(place),
        "tag": [{"type": "Hashtag", "name": f"#{t}"} for t in (commons.tags or [])][:20],
        "attachment": [{"type": "Link", "name": "Site", "href": commons.url}]
        if commons.url
        else [],
        "to": [AS_PUBLIC],
        "cc": [actor_path(place.slug, "followers")],
        "published": commons.created_at.isoformat(),
        "updated": commons.updated_at.isoformat(),
    }


def page_object(page: Any) -> dict:
    place = page.place
    return {
        "id": object_url(place, "page", page.uuid),
        "type": "Page",
        "name": page.title,
        "content": render_markdown(page.body),
        "url": absolute(page.get_absolute_url()),
        "attributedTo": actor_url(place),
        "license": page.license,
        "to": [AS_PUBLIC],
        "cc": [actor_path(place.slug, "followers")],
        "published": page.created_at.isoformat(),
        "updated": page.updated_at.isoformat(),
    }


def equipment_object(resource: Any) -> dict:
    """Equipment a place lends to the other places of the network.

    ActivityStreams has no type for a thing one lends. `Page` is one Mastodon's documentation
    says it turns into a post (it drops types it does not know), and `conciergerie:lending`
    tells our receiving side it is equipment, not a documentation page; other software
    ignores the term. The summary is the lending terms, what a borrower asks first.
    """
    place = resource.place
    terms = resource.lending_terms.strip()
    content = render_markdown(resource.description)
    if terms:
        content += linebreaks(f"Conditions de prêt : {terms}", autoescape=True)
    doc: dict[str, Any] = {
        "id": object_url(place, "materiel", resource.uuid),
        "type": "Page",
        LENDING: True,
        "name": resource.name,
        "summary": terms,
        "content": content,
        "url": absolute(resource.get_absolute_url()),
        "attributedTo": actor_url(place),
        "location": _location(place, place.name),
        "to": [AS_PUBLIC],
        "cc": [actor_path(place.slug, "followers")],
        "published": resource.created_at.isoformat(),
    }
    if resource.photo:  # the cover, i.e. the first photo
        url = resource.photo.url
        url = url if url.startswith(("https://", "http://")) else absolute(url)
        image = {
            "type": "Image",
            "url": url,
            "mediaType": mimetypes.guess_type(resource.photo.name)[0] or "image/jpeg",
            "name": resource.name,
        }
        doc["image"] = image
        doc["attachment"] = [image]  # Mastodon shows attachments, not `image`
    return doc


def activity(
    place: Place, kind: str, obj: Any, activity_id: str, *, to: list[str] | None = None
) -> dict:
    """An activity wrapping `obj` (a document or an id), addressed to the public and followers."""
    return {
        "@context": CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor_url(place),
        "object": obj,
        "to": to if to is not None else [AS_PUBLIC],
        "cc": [actor_path(place.slug, "followers")],
        "published": dt.datetime.now(dt.UTC).isoformat(),
    }


# --- Reading what others send ----------------------------------------------------------------


def first_id(value: Any) -> str:
    """The id of a reference that may be a string, an object or a list of either."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("id") or value.get("href") or ""
    return value if isinstance(value, str) else ""


def text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Plain text from a remote HTML field: tags dropped, whitespace tidied, length capped."""
    if isinstance(value, dict):  # a language map
        value = next(iter(value.values()), "")
    if not isinstance(value, str):
        return ""
    plain = strip_tags(value)
    return re.sub(r"[ \t\r\f\v]+", " ", plain).strip()[:limit]


def when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def _location_text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value[:300]
    if not isinstance(value, dict):
        return ""
    address = value.get("address")
    if isinstance(address, dict):
        parts = [
            address.get("streetAddress"),
            " ".join(
                str(p) for p in (address.get("postalCode"), address.get("addressLocality")) if p
            ),
        ]
        line = ", ".join(str(p) for p in parts if p)
    else:
        line = address if isinstance(address, str) else ""
    raw_name = value.get("name")
    name: str = raw_name if isinstance(raw_name, str) else ""
    if line and line != name:
        return ", ".join(p for p in (name, line) if p)[:300]
    return name[:300]


def object_fields(doc: dict) -> dict[str, Any] | None:
    """The `RemoteObject` fields of a received Event / Document / Page, or None to ignore it."""
    kind = OBJECT_KINDS.get(str(doc.get("type")))
    if kind is None:
        return None
    if doc.get(LENDING) is True and kind != "event":  # see equipment_object
        kind = "equipment"
    name = text(doc.get("name") or doc.get("summary"), 300)
    if not name:
        return None
    capacity = doc.get("maximumAttendeeCapacity")
    url = first_id(doc.get("url"))
    tags = [
        text(t.get("name"), 60).lstrip("#")
        for t in (doc.get("tag") or [])[:20]
        if isinstance(t, dict) and t.get("name")
    ]
    return {
        "kind": kind,
        "name": name,
        "summary": text(doc.get("summary"), 1000) if doc.get("name") else "",
        "content": text(doc.get("content")),
        "url": url if url.startswith(("https://", "http://")) else "",
        "start_at": when(doc.get("startTime")),
        "end_at": when(doc.get("endTime")),
        "location": _location_text(doc.get("location")),
        "capacity": capacity if isinstance(capacity, int) and 0 <= capacity < 10**7 else None,
        "tags": [t for t in tags if t],
        "published_at": when(doc.get("published")),
        "updated_at": when(doc.get("updated")),
    }


def actor_fields(doc: dict) -> dict[str, Any]:
    """The `RemoteActor` fields of a fetched actor document (its id already checked)."""
    raw_key, raw_endpoints = doc.get("publicKey"), doc.get("endpoints")
    key: dict[str, Any] = raw_key if isinstance(raw_key, dict) else {}
    endpoints: dict[str, Any] = raw_endpoints if isinstance(raw_endpoints, dict) else {}
    location = doc.get("location")
    if isinstance(location, list):
        location = location[0] if location else None
    address = location.get("address") if isinstance(location, dict) else None
    fields: dict[str, Any] = {
        "type": str(doc.get("type"))[:30],
        "username": text(doc.get("preferredUsername"), 100),
        "name": text(doc.get("name"), 200),
        "summary": text(doc.get("summary"), 5000),
        "profile_url": first_id(doc.get("url"))[:500],
        "inbox": first_id(doc.get("inbox"))[:500],
        "shared_inbox": first_id(endpoints.get("sharedInbox"))[:500],
        "outbox": first_id(doc.get("outbox"))[:500],
        "key_id": first_id(key.get("id"))[:500],
        "public_key_pem": str(key.get("publicKeyPem") or "")[:10000],
        "street": "",
        "postal_code": "",
        "city": "",
        "country": "",
        "latitude": None,
        "longitude": None,
    }
    if isinstance(address, dict):
        fields["street"] = text(address.get("streetAddress"), 200)
        fields["postal_code"] = text(address.get("postalCode"), 20)
        fields["city"] = text(address.get("addressLocality"), 100)
        fields["country"] = text(address.get("addressCountry"), 60)
    if isinstance(location, dict):
        lat, lon = location.get("latitude"), location.get("longitude")
        if (
            isinstance(lat, int | float)
            and isinstance(lon, int | float)
            and -90 <= lat <= 90
            and -180 <= lon <= 180
        ):
            fields["latitude"], fields["longitude"] = float(lat), float(lon)
    return fields
