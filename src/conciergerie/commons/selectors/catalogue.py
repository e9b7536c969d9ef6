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
    # The full-text engine ranks a wide pool; the filters above then keep their part of it.
    pool = search.ranked_ids(place=place, query=query, statuses=statuses, limit=max(limit, 500))
    if not pool:
        pool = search.ranked_ids(
            place=place, query=query, any_word=True, statuses=statuses, limit=max(limit, 500)
        )
    order = {pk: i for i, (pk, _r) in enumerate(pool)}
    if not (kind or action or domain):
        wanted = [pk for pk, _r in pool[:limit]]
        found = {c.pk: c for c in qs.filter(pk__in=wanted)}
    else:
        found = {c.pk: c for c in qs.filter(pk__in=list(order))}
    items = sorted(found.values(), key=lambda c: order[c.pk])[:limit]
    return Results(commons=items, query=query, total=len(items), fixes=list(query.fixes))


def commons_by_slug(*, place: Place, slug: str, statuses: tuple[str, ...]) -> Commons | None:
    return _base(place).filter(slug=slug, status__in=statuses).first()
