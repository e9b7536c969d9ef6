"""Reads of the open documentation pages ("recettes", code social): lists, a page with its
licence and authors, its history and the differences between two revisions."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conciergerie.commons.models import Commons, Page, PageRevision
from conciergerie.commons.selectors.history import (
    REVISION_MAX,
    replaced_summary,
    too_long_to_compare,
)
from conciergerie.community.models import Person
from conciergerie.core.markdown import render_markdown
from conciergerie.core.models import Place
from conciergerie.core.permissions import Level, visible_levels


@dataclass(frozen=True)
class License:
    code: str
    label: Any  # a lazy translation
    url: str


# The free licences a page may carry; the first is the default.
LICENSES: dict[str, License] = {
    lic.code: lic
    for lic in (
        License(
            "CC-BY-SA-4.0",
            gettext_lazy("Creative Commons Attribution – Partage dans les mêmes conditions 4.0"),
            "https://creativecommons.org/licenses/by-sa/4.0/deed.fr",
        ),
        License(
            "CC-BY-4.0",
            gettext_lazy("Creative Commons Attribution 4.0"),
            "https://creativecommons.org/licenses/by/4.0/deed.fr",
        ),
        License(
            "CC0-1.0",
            gettext_lazy("CC0 1.0 : domaine public, sans condition"),
            "https://creativecommons.org/publicdomain/zero/1.0/deed.fr",
        ),
        License(
            "GFDL-1.3",
            gettext_lazy("Licence de documentation libre GNU 1.3"),
            "https://www.gnu.org/licenses/fdl-1.3.html",
        ),
        License(
            "etalab-2.0",
            gettext_lazy("Licence Ouverte 2.0 (Etalab)"),
            "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        ),
        License(
            "LAL-1.3",
            gettext_lazy("Licence Art Libre 1.3"),
            "https://artlibre.org/licence/lal/",
        ),
    )
}
DEFAULT_LICENSE = "CC-BY-SA-4.0"


def license_info(code: str) -> License:
    """A known licence; an old or unknown code is shown as it is, without a link."""
    return LICENSES.get(code) or License(code, code, "")


def license_choices() -> list[tuple[str, Any]]:
    return [(lic.code, lic.label) for lic in LICENSES.values()]


def commons_choices(*, place: Place) -> list[tuple[str, str]]:
    """The validated commons of a place a page may be attached to: (uuid, name)."""
    rows = Commons.objects.filter(place=place, status=Commons.Status.VALIDATED).order_by(
        "name", "id"
    )
    return [(str(u), name) for u, name in rows.values_list("uuid", "name")]


def commons_for_page(*, place: Place, uuid: str) -> Commons | None:
    return Commons.objects.filter(place=place, uuid=uuid, status=Commons.Status.VALIDATED).first()


def pages_list(*, place: Place) -> QuerySet[Page]:
    """The place's pages by title, each with its commons: one query (plus a page count)."""
    return (
        Page.objects.filter(place=place)
        .select_related("commons", "place")
        .defer("body", "commons__description", "commons__search_body", "commons__keywords")
        .order_by("title", "id")
    )


def pages_for_commons(commons: Commons) -> list[Page]:
    """The documentation pages attached to a commons (for the commons' own page)."""
    return list(
        Page.objects.filter(place_id=commons.place_id, commons=commons)
        .select_related("place")
        .defer("body")
        .order_by("title", "id")
    )


def page_by_slug(*, place: Place, slug: str) -> Page | None:
    return Page.objects.filter(place=place, slug=slug).select_related("commons", "place").first()


# --- Authors ---------------------------------------------------------------------------------


@dataclass
class Author:
    name: str  # "" when the viewer may not see it
    user_id: int | None


def _author_names(
    *, place: Place, revisions: list[PageRevision], viewer_level: Level
) -> dict[int, str]:
    """What a viewer may read of each author's name: the name their directory entry shows
    to this viewer; the team sees every name; without an entry, members see the account's."""
    ids = {r.author_id for r in revisions if r.author_id}
    if not ids:
        return {}
    allowed = visible_levels(viewer_level)
    names: dict[int, str] = {}
    people = Person.objects.filter(place=place, user_id__in=ids).only(
        "first_name", "last_name", "name_visibility", "user_id"
    )
    with_entry: set[int] = set()
    for person in people:
        assert person.user_id is not None
        with_entry.add(person.user_id)
        if person.name_visibility in allowed and person.user_id not in names:
            names[person.user_id] = person.full_name
    for revision in revisions:
        uid = revision.author_id
        if uid and uid not in with_entry and viewer_level >= Level.MEMBER:
            names.setdefault(uid, revision.author.full_name if revision.author else "")
    if viewer_level >= Level.CONCIERGE:
        for revision in revisions:
            if revision.author_id and not names.get(revision.author_id):
                names[revision.author_id] = revision.author_label
    return names


def _author(revision: PageRevision, names: dict[int, str], viewer_level: Level) -> Author:
    if revision.author_id:
        return Author(names.get(revision.author_id, ""), revision.author_id)
    # A deleted account or a script: the label stays for the team only.
    return Author(revision.author_label if viewer_level >= Level.CONCIERGE else "", None)


# --- One page --------------------------------------------------------------------------------


@dataclass
class PageDetail:
    page: Page
    html: str
    license: License
    authors: list[str]  # the names the viewer may see, first author first
    hidden_authors: int  # how many others
    last: PageRevision | None
    last_author: Author | None
    jsonld: SafeString


def _jsonld(page: Page, *, url: str, place_url: str, license: License) -> SafeString:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "CreativeWork",
        "name": page.title,
        "url": url,
        "inLanguage": "fr",
        "dateCreated": page.created_at.isoformat(),
        "dateModified": page.updated_at.isoformat(),
        "version": page.revision,
        "license": license.url or license.code,
        "text": strip_tags(render_markdown(page.body)).strip()[:5000],
        # Authors' names stay off machine-readable data: the place publishes the page.
        "publisher": {"@type": "Organization", "name": page.place.name, "url": place_url},
    }
    if page.commons_id and page.commons is not None:
        data["about"] = {
            "@type": "CreativeWork",
            "name": page.commons.name,
            "url": page.commons.url,
        }
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above


def page_detail(*, page: Page, viewer_level: Level, url: str, place_url: str) -> PageDetail:
    """The page rendered (sanitised Markdown), its licence, authors and last change."""
    revisions = list(
        PageRevision.objects.filter(page=page)
        .select_related("author")
        .defer("body", "title")
        .order_by("number")
    )
    names = _author_names(place=page.place, revisions=revisions, viewer_level=viewer_level)
    seen: set[Any] = set()
    authors: list[str] = []
    hidden = 0
    for revision in revisions:
        key = revision.author_id or f"label:{revision.author_label}"
        if key in seen:
            continue
        seen.add(key)
        author = _author(revision, names, viewer_level)
        if author.name:
            authors.append(author.name)
        else:
            hidden += 1
    last = revisions[-1] if revisions else None
    lic = license_info(page.license)
    return PageDetail(
        page=page,
        html=render_markdown(page.body),
        license=lic,
        authors=authors,
        hidden_authors=hidden,
        last=last,
        last_author=_author(last, names, viewer_level) if last else None,
        jsonld=_jsonld(page, url=url, place_url=place_url, license=lic),
    )


@dataclass
class HistoryRow:
    revision: PageRevision
    author: Author
    license: License


def page_history(*, page: Page, viewer_level: Level) -> list[HistoryRow]:
    """Every revision, newest first, with what the viewer may see of its author."""
    revisions = list(
        PageRevision.objects.filter(page=page)
        .select_related("author")
        .defer("body")
        .order_by("-number")
    )
    names = _author_names(place=page.place, revisions=revisions, viewer_level=viewer_level)
    return [
        HistoryRow(r, _author(r, names, viewer_level), license_info(r.license)) for r in revisions
    ]


def page_revision(*, page: Page, number: int) -> PageRevision | None:
    if not 1 <= number <= REVISION_MAX:
        return None  # a number from the address too big for the database: no such revision
    return PageRevision.objects.filter(page=page, number=number).select_related("author").first()


# --- Differences -----------------------------------------------------------------------------


@dataclass
class DiffLine:
    kind: str  # "added", "removed", "same", "hunk", or "summary" (texts too long to compare)
    text: str


@dataclass
class PageDiff:
    old: PageRevision | None  # None: the page's first revision, compared with nothing
    new: PageRevision
    title_change: tuple[str, str] | None
    license_change: tuple[License, License] | None
    lines: list[DiffLine] = field(default_factory=list)
    added: int = 0
    removed: int = 0


def diff_lines(old: str, new: str, *, context: int = 3) -> list[DiffLine]:
    """A unified line diff of two texts, as lines a template shows one by one; one "summary"
    line instead when the texts are too long to compare line by line."""
    a, b = old.splitlines(), new.splitlines()
    if too_long_to_compare(a, b):
        return [DiffLine("summary", replaced_summary(len(a), len(b)))]
    out: list[DiffLine] = []
    # unified_diff's SequenceMatcher skips lines repeated all over a long text (autojunk).
    diff = difflib.unified_diff(a, b, lineterm="", n=context, fromfile="", tofile="")
    for line in diff:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            out.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            out.append(DiffLine("removed", line[1:]))
        else:
            out.append(DiffLine("same", line[1:]))
    return out


def _hunk_label(line: str) -> str:
    # "@@ -3,7 +3,8 @@" -> "Ligne 3"
    try:
        start = line.split("+", 1)[1].split(",", 1)[0].split(" ", 1)[0]
    except IndexError:
        return ""
    return _("À partir de la ligne %(n)s") % {"n": start}


def revision_diff(*, page: Page, new: PageRevision, old: PageRevision | None = None) -> PageDiff:
    """What changed from `old` (by default the revision before `new`) to `new`."""
    if old is None and new.number > 1:
        old = (
            PageRevision.objects.filter(page=page, number__lt=new.number)
            .select_related("author")
            .order_by("-number")
            .first()
        )
    old_title, old_body, old_license = (
        (old.title, old.body, old.license) if old is not None else ("", "", "")
    )
    lines = diff_lines(old_body, new.body)
    for line in lines:
        if line.kind == "hunk":
            line.text = _hunk_label(line.text)
    if lines and lines[0].kind == "summary":  # every line counts as replaced
        added, removed = len(new.body.splitlines()), len(old_body.splitlines())
    else:
        added = sum(1 for line in lines if line.kind == "added")
        removed = sum(1 for line in lines if line.kind == "removed")
    return PageDiff(
        old=old,
        new=new,
        title_change=(old_title, new.title) if old is not None and old_title != new.title else None,
        license_change=(license_info(old_license), license_info(new.license))
        if old is not None and old_license != new.license
        else None,
        lines=lines,
        added=added,
        removed=removed,
    )
