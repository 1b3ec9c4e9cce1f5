"""Cutting long texts into chunks a GLiNER-style model reads whole.

GLiNER-style models read about 384 words and silently ignore the rest, and
"words" are what their splitter makes: every run of letters or digits and every
punctuation mark counts, so 1,500 characters of JSON lines, tables or logs can
be 700 words. :func:`chunk_text` bounds each chunk in characters **and** in
those words, cuts only at whitespace (a run without whitespace longer than the
bounds is cut hard, in pieces no longer than half the overlap) and starts every
chunk at a word, so a value is never cut by the start of a chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Chunk", "chunk_text", "count_words"]

#: How GLiNER's own splitter finds words: word runs (with inner - or _) and single marks.
_WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")
_UNIT = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    """A piece of a text and where it starts in that text."""

    offset: int
    text: str


def count_words(text: str) -> int:
    """Words as a GLiNER-style model counts them (punctuation counts too).

    Example:
        >>> count_words('{"name": "Ann"}')
        9
    """
    return len(_WORD.findall(text))


def _units(
    text: str, bounds: tuple[int, int], piece_chars: int, piece_words: int
) -> list[tuple[int, int, int]]:
    """``(start, end, words)`` of each whitespace-separated run; one past the bounds cut hard."""
    units: list[tuple[int, int, int]] = []
    for match in _UNIT.finditer(text):
        start, end = match.span()
        words = count_words(match.group())
        if end - start <= bounds[0] and words <= bounds[1]:
            units.append((start, end, words))
            continue
        pos = start
        while pos < end:
            stop = min(pos + piece_chars, end)
            while count_words(text[pos:stop]) > piece_words and stop > pos + 1:
                stop = pos + max(1, (stop - pos) // 2)
            units.append((pos, stop, count_words(text[pos:stop])))
            pos = stop
    return units


def chunk_text(
    text: str,
    chunk_size: int,
    chunk_overlap: int,
    *,
    chunk_words: int | None = None,
    chunk_overlap_words: int = 0,
) -> list[Chunk]:
    """Split ``text`` at whitespace into chunks within both bounds.

    Consecutive chunks share about ``chunk_overlap`` characters (and about
    ``chunk_overlap_words`` words; at least one whitespace-separated run
    however long, until either bound is reached), so a value cut by one
    chunk's end appears whole at the start of the next one, also in dense
    text whose runs are longer than the overlap; each chunk starts at a
    word, also after a short chunk.

    Args:
        text: The text to split.
        chunk_size: The longest chunk, in characters.
        chunk_overlap: Characters shared by neighbouring chunks
            (``0 <= chunk_overlap < chunk_size``).
        chunk_words: The most words in a chunk (``None``: no word bound).
        chunk_overlap_words: The most words shared by neighbouring chunks
            (ignored without ``chunk_words``).

    Example:
        >>> [c.text for c in chunk_text("aa bb cc dd", 5, 2)]
        ['aa bb', 'bb cc', 'cc dd']
        >>> [c.text for c in chunk_text("a, b, c, d", 100, 0, chunk_words=4)]
        ['a, b,', 'c, d']
    """
    if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
        msg = "need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size"
        raise ValueError(msg)
    max_words = chunk_words if chunk_words is not None else len(text) + 1
    if chunk_words is not None and not 0 <= chunk_overlap_words < chunk_words:
        msg = "need chunk_words >= 1 and 0 <= chunk_overlap_words < chunk_words"
        raise ValueError(msg)
    overlap_words = chunk_overlap_words if chunk_words is not None else max_words
    if len(text) <= chunk_size and (chunk_words is None or count_words(text) <= max_words):
        return [Chunk(0, text)]
    piece_chars = max(1, min(chunk_size, chunk_overlap // 2 or chunk_size))
    piece_words = max(1, min(max_words, overlap_words // 2 or max_words))
    units = _units(text, (chunk_size, max_words), piece_chars, piece_words)
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last, words = first, units[first][2]
        while (
            last + 1 < len(units)
            and units[last + 1][1] - units[first][0] <= chunk_size
            and words + units[last + 1][2] <= max_words
        ):
            last += 1
            words += units[last][2]
        start, end = units[first][0], units[last][1]
        chunks.append(Chunk(start, text[start:end]))
        if last + 1 >= len(units):
            break
        # The next chunk starts at the earliest unit of this one's tail that
        # fits the overlap; while the tail is still short of either overlap
        # bound it takes one more unit even if that unit is longer (a run of
        # dense JSON holding the start of a value); always after this
        # chunk's first unit.
        nxt, tail_words = last + 1, 0
        while nxt - 1 > first:
            unit_start, _, unit_words = units[nxt - 1]
            tail_chars = end - units[nxt][0] if nxt <= last else 0
            fits = end - unit_start <= chunk_overlap and tail_words + unit_words <= overlap_words
            short = tail_chars < chunk_overlap and tail_words < overlap_words
            if not (fits or short):
                break
            nxt -= 1
            tail_words += unit_words
        first = nxt
    return chunks
