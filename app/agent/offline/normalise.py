"""Stage 1, normalise: one spelling of a message for every later pattern, and text helpers.

Lower case, straight quotes, plain hyphens, single spaces, "half a million" -> "500k". The
helpers (masking understood spans, building alternations from the vocabulary's tables, reading
a count spelled as a word) are shared by the extractors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from app.agent.offline import vocabulary as vocab


def normalise(text: str) -> str:
    """Lower case, straight quotes, plain hyphens and single spaces: what every pattern expects."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub("[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"\s+", " ", text).strip().lower()
    text = re.sub(r"\bhalf (?:a )?(?:million|mil)\b", "500k", text)
    return re.sub(r"\b(?:a|one) (million|mil)\b", r"1 \1", text)


def mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Blank out already-understood spans (same length) so later extractors do not reread them."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def alternation(patterns: Iterable[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def table_matches(text: str, table: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """The keys of `table` whose patterns occur in `text`, in order of first occurrence.

    Where matches overlap, the longer one wins: "row houses" is a townhouse, not also a house.
    """
    matches: list[tuple[int, int, str]] = []
    for key, patterns in table:
        for match in re.finditer(rf"\b(?:{alternation(patterns)})\b", text):
            matches.append((match.start(), match.end(), key))
    kept: list[tuple[int, int, str]] = []
    for start, end, key in sorted(matches, key=lambda m: (m[0] - m[1], m[0])):
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, key))
    return list(dict.fromkeys(key for _, _, key in sorted(kept)))


NUMBER_WORD = alternation(
    sorted(
        (re.escape(w) for w, n in vocab.NUMBER_WORDS.items() if w not in {"a", "an", "no"}),
        key=len,
        reverse=True,
    )
)


def parse_count(token: str) -> int | None:
    """ "3" or "three" -> 3; None for anything else."""
    token = token.strip().lower()
    if token.isdigit():
        return int(token)
    return vocab.NUMBER_WORDS.get(token)
