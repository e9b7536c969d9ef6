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
from django.db.models import Q
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


def corrected(*, place: Place, query_words: list[str]) -> dict[str, str]:
    """Unknown words → the nearest known word of the catalogue (two queries at most)."""
    candidates = [w for w in query_words if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return {}
    known = set(
        SearchTerm.objects.filter(place=place, word__in=candidates).values_list("word", flat=True)
    )
    unknown = [w for w in candidates if w not in known]
    if not unknown:
        return {}
    near = Q()
    for w in unknown:
        near |= Q(word__startswith=w[0], length__gte=len(w) - 2, length__lte=len(w) + 2)
    pool = list(
        SearchTerm.objects.filter(place=place)
        .annotate(length=Length("word"))
        .filter(near)
        .values_list("word", flat=True)[:5000]
    )
    fixes: dict[str, str] = {}
    for w in unknown:
        limit = 1 if len(w) <= 5 else 2
        best: tuple[int, str] | None = None
        for term in pool:
            if term[0] != w[0]:
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


def ranked_ids(
    *,
    place: Place,
    query: Query,
    any_word: bool = False,
    statuses: tuple[str, ...] = (Commons.Status.VALIDATED,),
    limit: int = 50,
) -> list[tuple[int, float]]:
    """(commons id, relevance ≥ 0, higher is better), best first, in one query."""
    if query.empty:
        return []
    status_marks = ", ".join(["%s"] * len(statuses))
    if connection.vendor == "postgresql":
        sql = (
            "SELECT c.id, ts_rank(c.search_vector, q, 1) AS r "  # noqa: S608
            "FROM commons_commons c, to_tsquery('conciergerie_fr', %s) q "
            # Only %s placeholders are formatted in.
            f"WHERE c.place_id = %s AND c.status IN ({status_marks}) AND c.search_vector @@ q "
            "ORDER BY r DESC, c.id LIMIT %s"
        )
        params: list[Any] = [_tsquery(query, any_word=any_word), place.pk, *statuses, limit]
    else:
        # bm25 is lower for better matches; the name weighs most, then summary and tags.
        sql = (
            "SELECT c.id, -bm25(commons_fts, 10.0, 4.0, 1.0) AS r "  # noqa: S608
            "FROM commons_fts JOIN commons_commons c ON c.id = commons_fts.rowid "
            f"WHERE commons_fts MATCH %s AND c.place_id = %s AND c.status IN ({status_marks}) "
            "ORDER BY r DESC, c.id LIMIT %s"
        )
        params = [_fts5_expression(query, any_word=any_word), place.pk, *statuses, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(pk), float(r)) for pk, r in cursor.fetchall()]


def matched_words(commons: Commons, query: Query) -> list[str]:
    """Which query words a commons' name, summary or keywords contain (for reasons)."""
    own = set((commons.search_title + " " + commons.search_keywords).split())
    hits = []
    for w in query.words:
        s = stem(w)
        if any(o.startswith(s) or s.startswith(o) and len(o) >= 4 for o in own):
            hits.append(w)
    return hits
