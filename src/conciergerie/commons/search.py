"""French full-text search over a place's commons, on SQLite (FTS5) and PostgreSQL.

Both engines stem with French Snowball and ignore accents and case, so "adhésion",
"Adhesions" and "adherent" meet; a word absent from the catalogue's vocabulary is replaced by
the nearest known word (one or two letters off), so "comptabilté" still finds "comptabilité".
SQLite's FTS5 has no French stemmer: Python stems the text into the `search_*` columns at
write time and the query the same way. PostgreSQL stems with its own `conciergerie_fr`
configuration (Snowball + unaccent) over a generated tsvector column (migration 0002).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models.functions import Length

from conciergerie.commons.models import Commons, SearchTerm
from conciergerie.core.models import Place
from conciergerie.core.text import STOPWORDS, fold, stem

_WORD = re.compile(r"\w+")
MAX_QUERY_WORDS = 12


def words(text: str) -> list[str]:
    """Folded, meaningful words of a text, in order, each once."""
    seen: dict[str, None] = {}
    for raw in _WORD.findall(text or ""):
        folded = fold(raw)
        if len(folded) >= 2 and folded not in STOPWORDS and not folded.isdigit():
            seen.setdefault(folded, None)
    return list(seen)


def _stems(text: str) -> str:
    # Stems of the folded words, as PostgreSQL does (unaccent, then Snowball): what people
    # type often lacks accents, and both sides must be cut alike.
    out = []
    for raw in _WORD.findall(text or ""):
        folded = fold(raw)
        if len(folded) >= 2 and folded not in STOPWORDS:
            out.append(stem(folded))
    return " ".join(out)


def index_fields(commons: Commons, domain_names: Iterable[str]) -> None:
    """Fill the search columns of an (unsaved) commons from its text, tags and domains."""
    tags = [str(t) for t in (commons.tags or [])]
    commons.keywords = " ".join([*tags, *domain_names])
    commons.search_title = _stems(commons.name)
    commons.search_keywords = _stems(f"{commons.summary} {commons.keywords}")
    commons.search_body = _stems(commons.description)


def vocabulary_add(*, place: Place, texts: Iterable[str]) -> None:
    """Remember the words of new text, for typo correction (never forgotten: harmless)."""
    found: set[str] = set()
    for text in texts:
        found.update(w for w in words(text) if 4 <= len(w) <= 40 and w.isalpha())
    if found:
        SearchTerm.objects.bulk_create(
            [SearchTerm(place=place, word=w) for w in sorted(found)], ignore_conflicts=True
        )


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with transpositions, giving up beyond `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _after(prefix: str) -> str:
    """The first string after every word starting with `prefix` (an index range's end)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _known(place: Place, word: str) -> bool:
    # Known: the word itself, or the start of a word (the engines match prefixes: "compta").
    return SearchTerm.objects.filter(place=place, word__gte=word, word__lt=_after(word)).exists()


def corrected(*, place: Place, query_words: list[str]) -> dict[str, str]:
    """Unknown words → the nearest known word of the catalogue.

    Index ranges only: a word is known when a word of the vocabulary starts with it; the
    look-alikes share its first two letters (or the two swapped), then letter pairs in common
    rule out most of them before the distance is computed (40,000 words stay fast)."""
    fixes: dict[str, str] = {}
    for w in (w for w in query_words if len(w) >= 4 and w.isalpha()):
        if _known(place, w):
            continue
        limit = 1 if len(w) <= 5 else 2
        pool: list[str] = []
        for start in dict.fromkeys([w[:2], w[1] + w[0]]):
            pool += (
                SearchTerm.objects.filter(place=place, word__gte=start, word__lt=_after(start))
                .annotate(length=Length("word"))
                .filter(length__gte=len(w) - limit, length__lte=len(w) + limit)
                .values_list("word", flat=True)[:3000]
            )
        pairs = {w[i : i + 2] for i in range(len(w) - 1)}
        best: tuple[int, str] | None = None
        for term in pool:
            # One edit changes at most three letter pairs: skip words too unlike to be near.
            shared = len(pairs.intersection(term[i : i + 2] for i in range(len(term) - 1)))
            if shared < len(pairs) - 3 * limit:
                continue
            d = _distance(w, term, limit)
            # Prefer the nearest, then a longer word (a prefix of the typed one is likely).
            if d <= limit and (best is None or (d, -len(term)) < (best[0], -len(best[1]))):
                best = (d, term)
        if best is not None:
            fixes[w] = best[1]
    return fixes


@dataclass(frozen=True)
class Query:
    """What a search looks for, after stopwords and typo correction."""

    words: tuple[str, ...]  # folded words, corrected
    fixes: tuple[tuple[str, str], ...]  # (typed, used instead)

    @property
    def empty(self) -> bool:
        return not self.words


def parse(*, place: Place, text: str) -> Query:
    typed = words(text)[:MAX_QUERY_WORDS]
    fixes = corrected(place=place, query_words=typed)
    used = list(dict.fromkeys(fixes.get(w, w) for w in typed))
    return Query(words=tuple(used), fixes=tuple(fixes.items()))


def _fts5_expression(query: Query, *, any_word: bool) -> str:
    terms = []
    for w in query.words:
        s = stem(w)
        # A prefix brings derived words back together: "soud" finds soudure and souder.
        terms.append(f'"{s}"*' if len(s) >= 3 else f'"{s}"')
    return (" OR " if any_word else " AND ").join(terms)


def _tsquery(query: Query, *, any_word: bool) -> str:
    return (" | " if any_word else " & ").join(f"{w}:*" for w in query.words)


# Each tier ranks at most this many matches (the newest): a common word matches a quarter of
# a large catalogue, and scoring all of them cost seconds (bench/commons.py).
TIER_CAP = 1000


def _filters(kind: str, action: str, domain_id: int | None) -> tuple[str, list[Any]]:
    sql = ""
    params: list[Any] = []
    if kind:
        sql += " AND c.kind = %s"
        params.append(kind)
    if action:
        sql += " AND c.actions LIKE %s"
        params.append(f"%,{action},%")
    if domain_id is not None:
        sql += (
            " AND EXISTS (SELECT 1 FROM commons_commons_domains d"
            " WHERE d.commons_id = c.id AND d.domain_id = %s)"
        )
        params.append(domain_id)
    return sql, params


def ranked_ids(
    *,
    place: Place,
    query: Query,
    any_word: bool = False,
    statuses: tuple[str, ...] = (Commons.Status.VALIDATED,),
    limit: int = 50,
    kind: str = "",
    action: str = "",
    domain_id: int | None = None,
) -> list[tuple[int, float]]:
    """(commons id, relevance ≥ 0 within its tier), best first, with the filters applied.

    Two tiers: matches in the name, summary or keywords first, then in the whole text, each
    ranking at most TIER_CAP matches; the second is read only when the first has fewer than
    `limit`. On SQLite the tiers are FTS5 column filters; on PostgreSQL, the small
    `search_head` vector then `search_vector` (migrations 0002 and 0003)."""
    if query.empty:
        return []
    marks = ", ".join(["%s"] * len(statuses))
    where, where_params = _filters(kind, action, domain_id)
    if connection.vendor == "postgresql":
        text = _tsquery(query, any_word=any_word)
        tiers = [("search_head", text), ("search_vector", text)]
    else:
        expr = _fts5_expression(query, any_word=any_word)
        tiers = [("", "{search_title search_keywords} : (" + expr + ")"), ("", expr)]
    found: dict[int, float] = {}
    for column, text in tiers:
        if connection.vendor == "postgresql":
            # Only this module's column names and %s placeholders are formatted in.
            sql = (
                f"SELECT id, ts_rank(v, q, 1) AS r FROM (SELECT c.id, c.{column} AS v, q"  # noqa: S608
                " FROM commons_commons c, to_tsquery('conciergerie_fr', %s) q"
                f" WHERE c.place_id = %s AND c.status IN ({marks}) AND c.{column} @@ q{where}"
                " LIMIT %s) s ORDER BY r DESC, id LIMIT %s"
            )
        else:
            # bm25 is lower for better matches; the name weighs most, then summary and tags.
            sql = (
                "SELECT id, r FROM (SELECT c.id AS id, -bm25(commons_fts, 10.0, 4.0, 1.0) AS r"  # noqa: S608
                " FROM commons_fts JOIN commons_commons c ON c.id = commons_fts.rowid"
                f" WHERE commons_fts MATCH %s AND c.place_id = %s AND c.status IN ({marks}){where}"
                " ORDER BY commons_fts.rowid DESC LIMIT %s) ORDER BY r DESC, id LIMIT %s"
            )
        params: list[Any] = [text, place.pk, *statuses, *where_params]
        params += [TIER_CAP + len(found), limit + len(found)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for pk, r in cursor.fetchall():
                found.setdefault(int(pk), max(float(r), 0.0))  # an earlier tier comes first
        if len(found) >= limit:
            break
    return list(found.items())[:limit]


def matched_words(commons: Commons, query: Query) -> list[str]:
    """Which query words a commons' name, summary or keywords contain (for reasons)."""
    own = set((commons.search_title + " " + commons.search_keywords).split())
    hits = []
    for w in query.words:
        s = stem(w)
        if any(o.startswith(s) or s.startswith(o) and len(o) >= 4 for o in own):
            hits.append(w)
    return hits
