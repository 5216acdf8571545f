"""Template search: words ANDed, the last one prefix-matched, ranked by where they hit.

Name hits weigh most, then tags, then the description, as PostHog's full-text ranking does.
A light English stemmer lets "pony" find "ponies"; the same code runs on every database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_STRIP = re.compile(r"['&|!<>():]")
_WORD = re.compile(r"\w+", re.UNICODE)
WEIGHTS = (1.0, 0.4, 0.2)
MIN_RANK = 0.05


def stem(word: str) -> str:
    word = word.lower()
    for suffix, replacement in (("ies", "i"), ("es", ""), ("s", ""), ("y", "i")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + replacement
    return word


def query_terms(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(_STRIP.sub(" ", text))]


def _hits(terms: Sequence[str], text: str) -> set[int]:
    tokens = [stem(w) for w in _WORD.findall(text)]
    found: set[int] = set()
    for index, term in enumerate(terms):
        last = index == len(terms) - 1
        if any(tok == term or (last and tok.startswith(term)) for tok in tokens):
            found.add(index)
    return found


def rank(
    terms: Sequence[str], name: str | None, tags: Sequence[str] | None, description: str | None
) -> float:
    """0 when some word is missing everywhere; otherwise the weight of the best field for each word."""
    if not terms:
        return 0.0
    fields = (name or "", " ".join(tags or ()), description or "")
    per_field = [_hits(terms, text) for text in fields]
    score = 0.0
    for index in range(len(terms)):
        weights = [w for w, hits in zip(WEIGHTS, per_field, strict=True) if index in hits]
        if not weights:
            return 0.0
        score += max(weights)
    return score / len(terms)
