"""Reads of the network: whom a place follows, and what those places published.

Everything here is received data (remote events, commons, pages and equipment lent to the
network, kept by the inbox), shown
as plain `NetworkItem`s that carry their origin, so the pages, the iCal feed, the API and the
open-data map read the same thing. Tenancy: a place sees only what comes from the actors it
follows itself (accepted), never what another place of the instance follows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat, Substr
from django.db.models.lookups import Contains, EndsWith, StartsWith
from django.utils import timezone
from django.utils.text import Truncator

from conciergerie.commons import search
from conciergerie.commons.models import Commons
from conciergerie.commons.selectors.catalogue import commons_search
from conciergerie.core.models import Place
from conciergerie.core.text import fold, search_keys
from conciergerie.federation import vocab
from conciergerie.federation.models import BlockedDomain, Follow, RemoteActor, RemoteObject

HERE = "ici"  # the origin tag of the place's own items; remote ones carry their domain
EXCERPT_CHARS = 300
# A network search reads at most this many commons and pages (the most recently received)
# and matches them in Python: received text has no search index, and SQL cannot fold
# accents alike on SQLite and PostgreSQL. Only the first CONTENT_HEAD characters of a
# page's text are read, so one search holds at most ~3 MB whatever the network's size.
SCAN_LIMIT = 1000
CONTENT_HEAD = 2000
# What the network page's search looks through (the API and the aiguillage read commons
# and pages only).
SEARCHED_KINDS = (RemoteObject.Kind.COMMONS, RemoteObject.Kind.PAGE, RemoteObject.Kind.EQUIPMENT)
# Heavy columns a list never shows: the raw activity and the remote actor's key.
_HEAVY = ("payload", "content", "actor__public_key_pem", "actor__summary")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an item comes from: a followed remote actor, or the place itself (`tag` "ici")."""

    name: str
    handle: str
    domain: str  # '' for the place itself
    url: str  # the actor's public profile

    @property
    def local(self) -> bool:
        return not self.domain

    @property
    def tag(self) -> str:
        return self.domain or HERE


@dataclass(frozen=True, slots=True)
class NetworkItem:
    """One event, commons or page as a page or the API shows it, with its origin."""

    id: str  # the ActivityPub id for remote items, the page address for local ones
    kind: str  # event, commons, page (remote kinds) or the commons' own kind (local)
    kind_label: str
    name: str
    summary: str
    excerpt: str  # summary, else the start of the text: one short paragraph
    url: str
    origin: Origin
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    location: str = ""
    tags: tuple[str, ...] = ()


@dataclass
class NetworkSearch:
    """A search over the place's own validated commons, then the network's."""

    items: list[NetworkItem] = field(default_factory=list)
    fixes: list[tuple[str, str]] = field(default_factory=list)  # typos corrected (local side)


def handle_of(place: Place) -> str:
    """The address other instances use to follow the place: @slug@host."""
    return f"@{place.slug}@{vocab.host()}"


def origin_of(actor: RemoteActor) -> Origin:
    return Origin(
        name=actor.label,
        handle=f"@{actor.handle}",
        domain=actor.domain,
        url=actor.profile_url or actor.url,
    )


def _on_blocked_domain() -> Exists:
    """Whether the (outer) actor's instance is blocked: the domain itself, its subdomains
    and any port, as the services read a block (`services._blocked_in`), here in SQL."""
    outer = OuterRef("domain")
    return Exists(
        BlockedDomain.objects.filter(
            Q(domain=outer)
            | Q(EndsWith(outer, Concat(Value("."), F("domain"))))
            | Q(StartsWith(outer, Concat(F("domain"), Value(":"))))
            | Q(Contains(outer, Concat(Value("."), F("domain"), Value(":"))))
        )
    )


def followed_actors(place: Place) -> QuerySet[RemoteActor]:
    """The remote actors the place follows (accepted), neither blocked nor on a blocked
    domain, by name."""
    return (
        RemoteActor.objects.filter(
            follows__place=place,
            follows__direction=Follow.Direction.FOLLOWING,
            follows__state=Follow.State.ACCEPTED,
            blocked=False,
        )
        .exclude(_on_blocked_domain())
        .defer("public_key_pem")
        .order_by("name", "url")
    )


def _from_followed(place: Place) -> Q:
    # A subquery, not a join: the page reads its objects in one statement, without duplicates.
    return Q(actor_id__in=followed_actors(place).order_by().values("pk"))


def _tags(value: object) -> tuple[str, ...]:
    return tuple(str(t) for t in value) if isinstance(value, list) else ()


def _item(obj: RemoteObject, text: str) -> NetworkItem:
    excerpt = obj.summary or " ".join(text.split())
    return NetworkItem(
        id=obj.ap_id,
        kind=obj.kind,
        kind_label=str(obj.get_kind_display()),
        name=obj.name,
        summary=obj.summary,
        excerpt=Truncator(excerpt).chars(EXCERPT_CHARS),
        url=obj.url or obj.ap_id,
        origin=origin_of(obj.actor),
        start=obj.start_at,
        end=obj.end_at,
        location=obj.location,
        tags=_tags(obj.tags),
    )


def _objects(place: Place, kinds: Sequence[str]) -> QuerySet[RemoteObject]:
    return (
        RemoteObject.objects.filter(_from_followed(place), kind__in=kinds, deleted_at__isnull=True)
        .select_related("actor")
        .annotate(head=Substr("content", 1, CONTENT_HEAD))
        .defer(*_HEAVY)
    )


def network_events(
    place: Place, *, start: dt.datetime | None = None, limit: int = 100
) -> list[NetworkItem]:
    """Upcoming events of the followed actors (not ended at `start`, now by default), soonest
    first: one query."""
    start = start or timezone.now()
    rows = (
        _objects(place, [RemoteObject.Kind.EVENT])
        .filter(start_at__isnull=False)
        .filter(Q(end_at__gte=start) | Q(end_at__isnull=True, start_at__gte=start))
        .order_by("start_at", "id")[:limit]
    )
    return [_item(obj, obj.head) for obj in rows]  # type: ignore[attr-defined]


def network_equipment(place: Place, *, limit: int = 100) -> list[NetworkItem]:
    """Equipment the followed actors lend to other places, by name: one query. Its summary
    is the lending terms (see vocab.equipment_object)."""
    rows = _objects(place, [RemoteObject.Kind.EQUIPMENT]).order_by("name", "id")[:limit]
    return [_item(obj, obj.head) for obj in rows]  # type: ignore[attr-defined]


# --- Searching the network's commons and pages ------------------------------------------------

# How much a match weighs in each part of an item: its name, its summary and tags, its text.
_WEIGHTS = (10, 4, 1)


def _patterns(q: str) -> list[re.Pattern[str]]:
    """One pattern per query word: a word of the (folded) text starting with the word or its
    stem, so "cafe" finds "Café", "reparations" finds "réparation"."""
    out = []
    for word in search.words(q)[: search.MAX_QUERY_WORDS]:
        keys = sorted(search_keys(word), key=len)
        out.append(re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keys) + ")"))
    return out


def _score(parts: tuple[str, str, str], patterns: list[re.Pattern[str]]) -> tuple[int, int]:
    """(words found, weight of where they were found)."""
    found = weight = 0
    for pattern in patterns:
        best = max(
            (w for w, part in zip(_WEIGHTS, parts, strict=True) if pattern.search(part)), default=0
        )
        if best:
            found += 1
            weight += best
    return found, weight


def network_commons(
    place: Place,
    *,
    q: str = "",
    limit: int = 50,
    kinds: Sequence[str] = (RemoteObject.Kind.COMMONS, RemoteObject.Kind.PAGE),
) -> list[NetworkItem]:
    """Commons and documentation pages (or other `kinds`) of the followed actors: one query
    whatever their number.

    Without words, the most recently received first. With words, all of them must be found
    (in the name, summary, tags or the start of the text, accents and case aside) — or, when
    nothing has them all, any of them; best first. At most SCAN_LIMIT items are searched.
    """
    rows = _objects(place, kinds).order_by("-received_at", "-id")
    patterns = _patterns(q) if q.strip() else []
    if not patterns:
        return [_item(obj, obj.head) for obj in rows[:limit]]  # type: ignore[attr-defined]
    scored = []
    for rank, obj in enumerate(rows[:SCAN_LIMIT]):
        head: str = obj.head  # type: ignore[attr-defined]
        parts = (
            fold(obj.name),
            fold(" ".join([obj.summary, *_tags(obj.tags)])),
            fold(head),
        )
        found, weight = _score(parts, patterns)
        if found:
            scored.append((found, weight, rank, obj))
    everything = [s for s in scored if s[0] == len(patterns)]
    chosen = everything or scored  # any word is enough when no item has them all
    chosen.sort(key=lambda s: (-s[0], -s[1], s[2]))  # more words, better placed, newest
    return [_item(obj, obj.head) for *_rest, obj in chosen[:limit]]  # type: ignore[attr-defined]


def network_search(place: Place, q: str, *, limit: int = 50) -> NetworkSearch:
    """The place's own validated commons matching `q` (the catalogue's French search), then
    the network's commons, pages and lent equipment, each tagged with its origin ("ici" or
    a domain)."""
    if not q.strip():
        return NetworkSearch()
    local = commons_search(place=place, q=q, statuses=(Commons.Status.VALIDATED,), limit=limit)
    here = Origin(name=place.name, handle=handle_of(place), domain="", url=place.get_absolute_url())
    items = [
        NetworkItem(
            id=c.get_absolute_url(),
            kind=c.kind,
            kind_label=str(c.get_kind_display()),
            name=c.name,
            summary=c.summary,
            excerpt=Truncator(c.summary).chars(EXCERPT_CHARS),
            url=c.get_absolute_url(),
            origin=here,
            tags=_tags(c.tags),
        )
        for c in local.commons
    ]
    items += network_commons(place, q=q, limit=limit, kinds=SEARCHED_KINDS)
    return NetworkSearch(items=items, fixes=list(local.fixes))


# --- The map and the management page ------------------------------------------------------------


def network_places() -> list[RemoteActor]:
    """Remote actors followed (accepted) by any place of the instance, neither blocked nor on
    a blocked domain, that have a position or an address: one query, by name."""
    followed = Follow.objects.filter(
        direction=Follow.Direction.FOLLOWING, state=Follow.State.ACCEPTED
    ).values("remote_id")
    located = Q(latitude__isnull=False, longitude__isnull=False)
    addressed = ~Q(city="") | ~Q(street="") | ~Q(postal_code="")
    return list(
        RemoteActor.objects.filter(located | addressed, pk__in=followed, blocked=False)
        .exclude(_on_blocked_domain())
        .defer("public_key_pem")
        .order_by("name", "url")
    )


def instance_url(actor: RemoteActor) -> str:
    """The base address of the instance that holds an actor (https://exemple.org)."""
    parts = urlsplit(actor.url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"https://{actor.domain}"


def place_follows(place: Place, direction: str) -> list[Follow]:
    """The place's follows one way, with their remote actor: pending first, then by name."""
    rows = (
        Follow.objects.filter(place=place, direction=direction)
        .select_related("remote")
        .defer("remote__public_key_pem", "remote__summary")
        .order_by("remote__name", "remote__url")
    )
    pending = Follow.State.PENDING
    return sorted(rows, key=lambda f: f.state != pending)  # stable: names stay in order


def follow_of(place: Place, follow_id: int, direction: str) -> Follow | None:
    """One follow of this place (never another place's), or None."""
    return (
        Follow.objects.filter(place=place, pk=follow_id, direction=direction)
        .select_related("remote")
        .first()
    )


def blocked_domains() -> list[BlockedDomain]:
    return list(BlockedDomain.objects.order_by("domain"))


def blocked_actors() -> list[RemoteActor]:
    """Every blocked remote account, by name: a block holds for every place here."""
    return list(
        RemoteActor.objects.filter(blocked=True)
        .only("url", "domain", "username", "name", "profile_url")
        .order_by("name", "url")
    )
