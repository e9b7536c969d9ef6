"""Importing commons from a file or the API: one report line per item, idempotent.

Each item is checked with `commons_clean`, then matched to a commons of the place by its
slug, else by its address (case of the scheme and host and a trailing slash ignored), and
created or updated through the catalogue's services. Each item runs in its own savepoint: a
bad item leaves nothing behind (not even the domains it named), and the good items of the
same file are still imported. Importing the same file twice changes nothing the second
time: every item is "inchangé" and no revision is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import DatabaseError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conciergerie.commons.exchange import MAX_ITEMS, check_count, not_a_list_message
from conciergerie.commons.models import Commons
from conciergerie.commons.services.catalogue import (
    commons_clean,
    commons_create,
    commons_update,
    snapshot_of,
)
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import DomainError, InvalidInput
from conciergerie.core.models import Place, User

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
ERROR = "error"
OUTCOME_LABELS = {
    CREATED: gettext_lazy("créé"),
    UPDATED: gettext_lazy("mis à jour"),
    UNCHANGED: gettext_lazy("inchangé"),
    ERROR: gettext_lazy("erreur"),
}

__all__ = ["MAX_ITEMS", "ImportReport", "ItemReport", "commons_import", "normalise_url"]


@dataclass
class ItemReport:
    index: int  # 1-based, the item's position in the file
    name: str
    slug: str
    outcome: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    uuid: str = ""

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS[self.outcome])

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "slug": self.slug,
            "outcome": self.outcome,
            "outcome_label": self.outcome_label,
            "uuid": self.uuid or None,
            "errors": self.errors,
        }


@dataclass
class ImportReport:
    items: list[ItemReport] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {o: self.count(o) for o in (CREATED, UPDATED, UNCHANGED, ERROR)}

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def failed(self) -> list[ItemReport]:
        return [i for i in self.items if i.outcome == ERROR]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        c = self.counts
        return _(
            "%(total)s commun(s) lu(s) : %(created)s créé(s), %(updated)s mis à jour, "
            "%(unchanged)s inchangé(s), %(errors)s en erreur."
        ) % {
            "total": self.total,
            "created": c[CREATED],
            "updated": c[UPDATED],
            "unchanged": c[UNCHANGED],
            "errors": c[ERROR],
        }

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, **self.counts, "items": [i.as_dict() for i in self.items]}


def normalise_url(url: str) -> str:
    """The address as matching sees it: scheme and host in lower case, no trailing slash."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def _domain_key(names: list[str]) -> list[str]:
    # As services.catalogue.domains_for matches them: by slug, whatever the order.
    return sorted({slugify(n)[:90] or "domaine" for n in names})


def _same(commons: Commons, clean: dict[str, Any]) -> bool:
    before = snapshot_of(commons, [d.name for d in commons.domains.all()])
    before["domains"] = _domain_key(before["domains"])
    return before == {**clean, "domains": _domain_key(clean["domains"])}


class _Index:
    """The place's commons by slug and by address, kept up to date during the import."""

    def __init__(self, place: Place) -> None:
        self.by_slug: dict[str, int] = {}
        self.by_url: dict[str, int] = {}
        self.slug_of: dict[int, str] = {}
        for pk, slug, url in (
            Commons.objects.filter(place=place).order_by("id").values_list("pk", "slug", "url")
        ):
            self.by_slug[slug] = pk
            self.slug_of[pk] = slug
            self.by_url.setdefault(normalise_url(url), pk)

    def find(self, slug: str, url: str) -> tuple[int | None, bool]:
        """The matching commons' pk, and whether it was found by its slug."""
        if slug in self.by_slug:
            return self.by_slug[slug], True
        return self.by_url.get(normalise_url(url)), False

    def remember(self, commons: Commons) -> None:
        old_slug = self.slug_of.get(commons.pk)
        if old_slug and self.by_slug.get(old_slug) == commons.pk:
            del self.by_slug[old_slug]
        self.by_slug[commons.slug] = commons.pk
        self.slug_of[commons.pk] = commons.slug
        self.by_url.setdefault(normalise_url(commons.url), commons.pk)


def _import_one(
    *,
    place: Place,
    item: Any,
    index: _Index,
    by: User | None,
    status: str,
    message: str,
) -> tuple[str, Commons | None]:
    clean = commons_clean(place=place, data=item)
    pk, by_slug = index.find(clean["slug"], clean["url"])
    if pk is None:
        commons = commons_create(place=place, data=clean, by=by, status=status, message=message)
        return CREATED, commons
    existing = Commons.objects.prefetch_related("domains").get(pk=pk)
    if not by_slug and not (isinstance(item, dict) and item.get("slug")):
        # Found by its address and the file names no slug: keep the one it has.
        clean["slug"] = existing.slug
    if _same(existing, clean):
        return UNCHANGED, existing
    commons = commons_update(commons=existing, data=clean, by=by, message=message)
    return UPDATED, commons


def _label(value: Any) -> str:
    """What the report calls an item before it is checked."""
    try:
        return str(value or "")[:120]
    except ValueError:  # str() of an int of more than 4,300 digits
        return ""


def commons_import(
    *,
    place: Place,
    items: Any,
    by: User | None,
    status: str = Commons.Status.VALIDATED,
    message: str = "",
) -> ImportReport:
    """Create or update each item (the import format); a report line for every item.

    `items` is the parsed JSON: anything but a list, or more than MAX_ITEMS items, is refused
    as a whole (InvalidInput). New commons get `status`; existing ones keep theirs.
    """
    if not isinstance(items, list):
        raise InvalidInput({"__all__": [not_a_list_message()]}, not_a_list_message())
    check_count(items, "__all__")
    message = message or _("Import")
    report = ImportReport()
    with transaction.atomic():
        index = _Index(place)
        for number, item in enumerate(items, start=1):
            raw = item if isinstance(item, dict) else {}
            line = ItemReport(
                index=number,
                name=_label(raw.get("name")),
                slug=_label(raw.get("slug")),
                outcome=ERROR,
            )
            try:
                with transaction.atomic():
                    outcome, commons = _import_one(
                        place=place,
                        item=item,
                        index=index,
                        by=by,
                        status=status,
                        message=message,
                    )
            except DomainError as exc:
                line.errors = exc.as_errors()
            except DatabaseError:
                line.errors = {
                    "__all__": [_("Ce commun n'a pas pu être enregistré ; rien n'en a été gardé.")]
                }
            else:
                assert commons is not None
                index.remember(commons)
                line.outcome = outcome
                line.slug = commons.slug
                line.name = commons.name
                line.uuid = str(commons.uuid)
            report.items.append(line)
        counts = report.counts
        audit_record(
            place=place,
            actor=by,
            action="commons.import",
            target_type="commons",
            changes={key: [None, value] for key, value in counts.items()},
        )
    return report
