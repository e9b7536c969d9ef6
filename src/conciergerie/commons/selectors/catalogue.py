"""Reads of the catalogue: the grid, searching and browsing commons."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet

from conciergerie.commons import grid, search
from conciergerie.commons.models import Commons, Domain, GridField
from conciergerie.core.models import Place


def grid_questions(*, place: Place) -> list[grid.Question]:
    """The place's own grid once its team changed it, the default grid until then."""
    rows = list(GridField.objects.filter(place=place))
    return grid.from_rows(rows) if rows else grid.default_questions()


def visible_statuses(*, can_moderate: bool) -> tuple[str, ...]:
    """Everyone sees validated commons; moderators also see those awaiting validation."""
    if can_moderate:
        return (Commons.Status.VALIDATED, Commons.Status.PENDING)
    return (Commons.Status.VALIDATED,)


def _base(place: Place) -> QuerySet[Commons]:
    return (
        Commons.objects.filter(place=place)
        .select_related("place")
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("name")))
    )


@dataclass
class Results:
    commons: list[Commons]
    query: search.Query | None = None
    total: int = 0
    fixes: list[tuple[str, str]] = field(default_factory=list)


def commons_search(
    *,
    place: Place,
    q: str = "",
    kind: str = "",
    action: str = "",
    domain: str = "",
    statuses: tuple[str, ...] = (Commons.Status.VALIDATED,),
    limit: int = 50,
) -> Results:
    """Commons matching a search, best first; without words, by name. Query count is flat.

    All the words must match; when nothing does, any of them is enough (still ranked).
    """
    qs = _base(place).filter(status__in=statuses)
    if kind:
        qs = qs.filter(kind=kind)
    if action:
        qs = qs.filter(actions__contains=f",{action},")
    if domain:
        qs = qs.filter(domains__slug=domain)
    query = search.parse(place=place, text=q) if q.strip() else None
    if query is None or query.empty:
        items = list(qs.order_by("name", "id")[:limit])
        return Results(commons=items, query=query, total=len(items))
    domain_id = None
    if domain:
        domain_id = (
            Domain.objects.filter(place=place, slug=domain).values_list("pk", flat=True).first()
        )
        if domain_id is None:
            return Results(commons=[], query=query, total=0, fixes=list(query.fixes))
    pool: list[tuple[int, float]] = []
    for any_word in (False, True):
        pool = search.ranked_ids(
            place=place,
            query=query,
            any_word=any_word,
            statuses=statuses,
            limit=limit,
            kind=kind,
            action=action,
            domain_id=domain_id,
        )
        if pool:
            break
    order = {pk: i for i, (pk, _r) in enumerate(pool)}
    items = sorted(_loaded(place, list(order)), key=lambda c: order[c.pk])
    return Results(commons=items, query=query, total=len(items), fixes=list(query.fixes))


def _loaded(place: Place, ids: list[int]) -> list[Commons]:
    """The commons of a result page with their domains, in two queries (the place is known:
    no join; a place has few domains)."""
    # A result lists a commons, it does not show it: its long texts stay in the database.
    heavy = ("description", "keywords", "search_title", "search_keywords", "search_body")
    found = {c.pk: c for c in Commons.objects.filter(place=place, pk__in=ids).defer(*heavy)}
    domains = {d.pk: d for d in Domain.objects.filter(place=place)}
    through = Commons.domains.through.objects.filter(commons_id__in=list(found))
    per_commons: dict[int, list[Domain]] = {}
    for commons_id, domain_id in through.values_list("commons_id", "domain_id"):
        per_commons.setdefault(commons_id, []).append(domains[domain_id])
    for c in found.values():
        c.place = place
        c._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "domains": sorted(per_commons.get(c.pk, []), key=lambda d: d.name)
        }
    return list(found.values())


def commons_by_slug(*, place: Place, slug: str, statuses: tuple[str, ...]) -> Commons | None:
    return _base(place).filter(slug=slug, status__in=statuses).first()
