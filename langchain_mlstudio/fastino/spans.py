"""Chunking long texts and turning a model's entities into safe spans.

GLiNER-style models read about 384 words and silently ignore the rest, so a
long text is cut at whitespace into overlapping chunks (:func:`chunk_text`);
each chunk's entities are checked against the chunk, shifted back to offsets
in the original text (:func:`locate`), duplicates from the overlaps merged and
overlapping spans resolved (:func:`resolve_overlaps`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from langchain_mlstudio.fastino.client import FastinoEntity

__all__ = [
    "Chunk",
    "Span",
    "SpanError",
    "chunk_text",
    "find_other_occurrences",
    "locate",
    "pii_spans",
    "resolve_overlaps",
]


@dataclass(frozen=True)
class Chunk:
    """A piece of a text and where it starts in that text."""

    offset: int
    text: str


@dataclass(frozen=True)
class Span:
    """An entity with offsets into the original text.

    Example:
        >>> Span(3, 8, "full_name", 0.9).length
        5
    """

    start: int
    end: int
    label: str
    score: float

    @property
    def length(self) -> int:
        """``end - start``."""
        return self.end - self.start


class SpanError(ValueError):
    """An entity's offsets and text do not match the text it came from."""


_SPACE = re.compile(r"\s")


def chunk_text(text: str, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split ``text`` at whitespace into chunks of at most ``chunk_size``.

    Consecutive chunks share about ``chunk_overlap`` characters, so a value
    cut by one chunk's end appears whole at the start of the next one. A run
    of text without whitespace longer than ``chunk_size`` is cut hard.

    Args:
        text: The text to split.
        chunk_size: The longest chunk, in characters.
        chunk_overlap: Characters shared by neighbouring chunks
            (``0 <= chunk_overlap < chunk_size``).

    Example:
        >>> [c.text for c in chunk_text("aa bb cc dd", 5, 2)]
        ['aa bb', 'bb cc', 'cc dd']
    """
    if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
        msg = "need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size"
        raise ValueError(msg)
    if len(text) <= chunk_size:
        return [Chunk(0, text)]
    chunks: list[Chunk] = []
    start = 0
    prev_end = 0
    n = len(text)
    while True:
        end = min(start + chunk_size, n)
        if end < n and not text[end].isspace():
            # Cut at the last whitespace inside the window, if that progresses.
            cut = max((m.start() for m in _SPACE.finditer(text, start + 1, end)), default=-1)
            if cut > max(start, prev_end):
                end = cut
        chunks.append(Chunk(start, text[start:end]))
        if end >= n:
            break
        prev_end = end
        # The next chunk starts at the word start at or before end - overlap.
        nxt = max(end - chunk_overlap, start + 1)
        if not text[nxt - 1].isspace():
            back = max((m.end() for m in _SPACE.finditer(text, start + 1, nxt)), default=-1)
            if back > start:
                nxt = back
        while nxt < n and text[nxt].isspace():
            nxt += 1
        if nxt >= n:
            break
        start = nxt
    return chunks


def locate(chunk: Chunk, entity: FastinoEntity) -> Span:
    """The entity's span in the original text, checked against the chunk.

    Where ``chunk.text[start:end]`` is not the entity's ``text``, the value is
    searched for in the chunk and the occurrence nearest to the reported
    offset is used.

    Raises:
        SpanError: The value is empty or does not occur in the chunk.

    Example:
        >>> e = FastinoEntity(start=0, end=5, label="full_name", text="Jamie")
        >>> locate(Chunk(10, "Hi Jamie"), e)
        Span(start=13, end=18, label='full_name', score=1.0)
    """
    value = entity.text
    if not value:
        msg = f"entity {entity.label!r} has no text"
        raise SpanError(msg)
    text = chunk.text
    start, end = entity.start, entity.end
    if not (0 <= start < end <= len(text) and text[start:end] == value):
        positions = [m.start() for m in re.finditer(re.escape(value), text)]
        if not positions:
            msg = f"entity {entity.label!r} at {start}:{end} is not in the text"
            raise SpanError(msg)
        start = min(positions, key=lambda p: abs(p - entity.start))
        end = start + len(value)
    return Span(chunk.offset + start, chunk.offset + end, entity.label, entity.score)


def _bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    first, last = text[start], text[end - 1]
    return not ((first.isalnum() and before.isalnum()) or (last.isalnum() and after.isalnum()))


def find_other_occurrences(text: str, spans: Sequence[Span]) -> list[Span]:
    """Spans for every other whole-word occurrence of a detected value.

    A model may flag a name once and miss it a sentence later; replacing every
    occurrence of a value it did flag keeps that value out of the output.

    Example:
        >>> find_other_occurrences("Ann met Ann", [Span(0, 3, "full_name", 0.9)])
        [Span(start=8, end=11, label='full_name', score=0.9)]
    """
    found: list[Span] = []
    known = {(s.start, s.end) for s in spans}
    seen: set[str] = set()
    for span in sorted(spans, key=lambda s: -s.score):
        value = text[span.start : span.end]
        if value in seen or not value.strip():
            continue
        seen.add(value)
        for match in re.finditer(re.escape(value), text):
            key = (match.start(), match.end())
            if key in known or not _bounded(text, *key):
                continue
            known.add(key)
            found.append(Span(key[0], key[1], span.label, span.score))
    return found


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Merge duplicates and resolve overlaps; the result is sorted and disjoint.

    Spans that overlap form one group; the group becomes one span covering
    all of them (so no character any of them flagged survives), labelled by
    the longest member, ties broken by the highest score.

    Example:
        >>> resolve_overlaps([Span(0, 5, "a", 0.5), Span(3, 12, "b", 0.4),
        ...                   Span(0, 5, "a", 0.9)])
        [Span(start=0, end=12, label='b', score=0.4)]
    """
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    groups: list[list[Span]] = []
    group_end = -1
    for span in ordered:
        if groups and span.start < group_end:
            groups[-1].append(span)
            group_end = max(group_end, span.end)
        else:
            groups.append([span])
            group_end = span.end
    resolved: list[Span] = []
    for group in groups:
        best = max(group, key=lambda s: (s.length, s.score))
        start = min(s.start for s in group)
        end = max(s.end for s in group)
        resolved.append(Span(start, end, best.label, best.score))
    return resolved


def pii_spans(
    text: str,
    found: Iterable[tuple[Chunk, Iterable[FastinoEntity]]],
    *,
    all_occurrences: bool = True,
) -> list[Span]:
    """The disjoint, sorted spans of ``text`` to replace, from the model's entities.

    The one path from entities to spans used by the transformer and the tool,
    so both replace the same characters: each chunk's entities are located
    (:func:`locate`), other whole-word occurrences of a found value added
    (:func:`find_other_occurrences`, unless ``all_occurrences`` is false) and
    overlaps resolved (:func:`resolve_overlaps`).

    Args:
        text: The whole original text.
        found: Each chunk of ``text`` with the entities found in it.
        all_occurrences: Also replace other occurrences of a found value.

    Raises:
        SpanError: An entity does not occur in its chunk.

    Example:
        >>> e = FastinoEntity(start=0, end=3, label="full_name", text="Ann")
        >>> [(s.start, s.end) for s in pii_spans("Ann met Ann", [(Chunk(0, "Ann met Ann"), [e])])]
        [(0, 3), (8, 11)]
    """
    spans = [locate(chunk, entity) for chunk, entities in found for entity in entities]
    if all_occurrences and spans:
        spans.extend(find_other_occurrences(text, spans))
    return resolve_overlaps(spans)
