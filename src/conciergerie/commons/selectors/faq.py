"""Reads of the FAQ: questions and answers grouped by domain, and the place's domains."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from conciergerie.commons.models import Domain, FaqEntry
from conciergerie.core.models import Place


@dataclass
class FaqGroup:
    domain: Domain
    entries: list[FaqEntry] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return faq_anchor(self.domain.slug)


def faq_anchor(domain_slug: str) -> str:
    """The id of a domain's section on the FAQ page (pages link to `…/questions/#<anchor>`)."""
    return f"domaine-{domain_slug}"


def faq_groups(*, place: Place) -> list[FaqGroup]:
    """Every FAQ entry of a place, grouped by domain (by name), in one query."""
    groups: dict[int, FaqGroup] = {}
    entries = (
        FaqEntry.objects.filter(place=place)
        .select_related("domain")
        .order_by("domain__name", "domain_id", "position", "id")
    )
    for entry in entries:
        groups.setdefault(entry.domain_id, FaqGroup(entry.domain)).entries.append(entry)
    return list(groups.values())


def faq_entry_of(*, place: Place, pk: int) -> FaqEntry | None:
    return FaqEntry.objects.filter(place=place, pk=pk).select_related("domain").first()


def domains_with_faq(*, place: Place, domain_ids: Iterable[int]) -> set[int]:
    """Which of these domains have at least one FAQ entry."""
    ids = list(domain_ids)
    if not ids:
        return set()
    return set(
        FaqEntry.objects.filter(place=place, domain_id__in=ids)
        .values_list("domain_id", flat=True)
        .distinct()
    )


def place_domains(*, place: Place) -> list[Domain]:
    """The place's domains, by name: filters and choices."""
    return list(Domain.objects.filter(place=place).order_by("name", "id"))
