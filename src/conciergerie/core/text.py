"""Plain-text helpers for search and matching in French: accents, case, plurals."""

from __future__ import annotations

import re
import unicodedata

import snowballstemmer

STOPWORDS = frozenset(
    [
        "a",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "cette",
        "dans",
        "de",
        "des",
        "du",
        "elle",
        "en",
        "et",
        "est",
        "etre",
        "il",
        "ils",
        "je",
        "la",
        "le",
        "les",
        "leur",
        "lui",
        "mais",
        "me",
        "mes",
        "moi",
        "mon",
        "ne",
        "nos",
        "notre",
        "nous",
        "on",
        "ou",
        "par",
        "pas",
        "pour",
        "qu",
        "que",
        "qui",
        "sa",
        "se",
        "ses",
        "son",
        "sur",
        "ta",
        "te",
        "tes",
        "toi",
        "ton",
        "tu",
        "un",
        "une",
        "vos",
        "votre",
        "vous",
        "besoin",
        "cherche",
        "recherche",
        "aide",
        "faire",
        "quelqu",
        "quelqun",
        "quelquun",
        "personne",
        "veux",
        "voudrais",
        "aimerait",
        "aimerais",
        "souhaite",
        "the",
        "and",
        "for",
        "with",
        "need",
        "help",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, no accents, single spaces: 'Électronique  Soudée' → 'electronique soudee'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().replace("œ", "oe").replace("æ", "ae").split())


_stemmer = snowballstemmer.stemmer("french")


def stem(word: str) -> str:
    """Snowball's French stem, taken before removing accents (its rules use them), then folded."""
    stemmed = fold(_stemmer.stemWord(word.lower()))
    # Snowball keeps the plural -s after a vowel (vélos); people do not mean a different thing.
    if len(stemmed) > 3 and stemmed[-1] in "sx":
        stemmed = stemmed[:-1]
    return stemmed


def related(a: str, b: str) -> bool:
    """Two stems name the same thing: 'soud'~'soudur', 'graphism'~'graphist', not 'art'~'cart'.

    Snowball leaves derived words apart (souder/soudure); a shared start long enough
    to be more than a common prefix brings them back together.
    """
    shortest = min(len(a), len(b))
    needed = max(4, shortest - 1) if shortest >= 4 else shortest
    return a[:needed] == b[:needed] and len(_common_prefix(a, b)) >= needed


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def search_keys(word: str) -> set[str]:
    """Forms a search word may take in folded text: itself, or its stem (plurals, derived).

    Both, because Snowball sometimes rewrites letters (chevaux → cheval) rather than cut.
    """
    folded = fold(word)
    stemmed = stem(word)
    return {folded, stemmed} if len(stemmed) >= 3 else {folded}


def keywords(text: str) -> list[str]:
    """Distinct stems of the meaningful words of a text, in order."""
    return list(keyword_words(text))


def keyword_words(text: str) -> dict[str, str]:
    """Stem → the word as the person wrote it, so reasons quote their words, not stems."""
    seen: dict[str, str] = {}
    for original in re.findall(r"\w+", text or ""):
        folded = fold(original)
        if len(folded) >= 3 and folded not in STOPWORDS and not folded.isdigit():
            seen.setdefault(stem(original), original.lower())
    return seen
