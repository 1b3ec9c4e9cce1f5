"""Finding every other occurrence of a detected value, however it is written.

A model may flag a name once and miss it a sentence later, or in another
casing (``JAMIE DERRAN``), another Unicode normalisation (``René`` as one
code point or as ``e`` plus a combining accent), with zero-width characters
inside, in full-width letters, or glued to CJK text, which has no spaces.
:func:`find_occurrences` compares a folded view of the text (NFKD, case-folded,
without zero-width characters) and maps each match back to the original.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

__all__ = ["ZERO_WIDTH", "find_occurrences", "fold"]

#: Characters that render as nothing and may hide inside a value.
ZERO_WIDTH = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff")

# Scripts written without spaces: a value may sit right next to other letters.
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x9FFF),  # CJK radicals, kana, ideographs
    (0xA000, 0xA4CF),  # Yi
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width katakana
    (0x20000, 0x3FFFF),  # CJK extensions
)


def _unspaced(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _UNSPACED)


def _word_char(ch: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    return (ch.isalnum() or unicodedata.combining(ch) > 0) and not _unspaced(ch)


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in ZERO_WIDTH:
        return ""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold())
    return "".join(c for c in folded if c not in ZERO_WIDTH)


def fold(text: str) -> tuple[str, list[int]]:
    r"""The folded view of ``text`` and, per folded character, its original index.

    Example:
        >>> fold("RÉ\u200bNE")[0] == fold("re\u0301ne")[0]
        True
    """
    if text.isascii():  # the common case: folding is lower-casing, position for position
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        piece = _fold_char(ch)
        out.append(piece)
        where.extend([i] * len(piece))
    return "".join(out), where


def _bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    first, last = text[start], text[end - 1]
    return not (
        (_word_char(first) and _word_char(before)) or (_word_char(last) and _word_char(after))
    )


def find_occurrences(text: str, values: Iterable[str]) -> list[tuple[int, int, str]]:
    r"""``(start, end, value)`` of every whole-word occurrence of each value in ``text``.

    Matching ignores case, Unicode normalisation and zero-width characters;
    a match is whole-word unless it touches a script written without spaces.
    Combining marks following a match are included in it.

    Example:
        >>> text = "Jamie met JAMIE and Ja\u200bmie, 私はJamieです; Jamieson left"
        >>> [text[s:e] for s, e, _ in find_occurrences(text, ["Jamie"])]
        ['Jamie', 'JAMIE', 'Ja\u200bmie', 'Jamie']
    """
    view, where = fold(text)
    found: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for value in values:
        needle = fold(value)[0].strip()
        if not needle or needle in seen:
            continue
        seen.add(needle)
        pos = view.find(needle)
        while pos >= 0:
            start, end = where[pos], where[pos + len(needle) - 1] + 1
            while end < len(text) and (unicodedata.combining(text[end]) or text[end] in ZERO_WIDTH):
                end += 1
            if _bounded(text, start, end):
                found.append((start, end, value))
            pos = view.find(needle, pos + 1)
    return found
