"""Turning a model's answers into the spans of a text to replace.

The one path from answers to spans, shared by the transformer and the tool:
each chunk's answer is read under the offset convention that fits it
(:func:`~langchain_mlstudio.fastino.offsets.locate_answer`), widened by what its
``redacted_text`` claims (the conservative reading wins), shifted back to
offsets in the original text, every other occurrence of a found value added
(:func:`find_other_occurrences`: case-, normalisation- and zero-width-blind)
and overlaps resolved (:func:`resolve_overlaps`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from langchain_mlstudio.fastino.chunking import Chunk
from langchain_mlstudio.fastino.matching import find_occurrences
from langchain_mlstudio.fastino.offsets import locate_answer, redacted_readings
from langchain_mlstudio.fastino.results import FastinoEntity, FastinoResult

__all__ = [
    "Answer",
    "Span",
    "Value",
    "answer_spans",
    "find_other_occurrences",
    "locate",
    "pii_spans",
    "resolve_overlaps",
    "values_of",
]

Answer = FastinoResult | Sequence[FastinoEntity]


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


@dataclass(frozen=True)
class Value:
    """A detected value, to be searched for everywhere else."""

    text: str
    label: str
    score: float


def _entities(answer: Answer) -> tuple[Sequence[FastinoEntity], str | None]:
    if isinstance(answer, FastinoResult):
        return answer.pii_entities(), answer.redacted_text
    return answer, None


def answer_spans(chunk: Chunk, answer: Answer) -> list[Span]:
    """The spans one answer marks in ``chunk``, with offsets into the original text.

    Raises:
        SpanError: No offset convention fits the entities, or ``redacted_text``
            does not fit the chunk.

    Example:
        >>> e = FastinoEntity(start=3, end=6, label="full_name", text="Ann")
        >>> answer_spans(Chunk(10, "Hi Ann"), [e])
        [Span(start=13, end=16, label='full_name', score=1.0)]
    """
    entities, redacted_text = _entities(answer)
    readings = locate_answer(chunk.text, entities)
    readings += redacted_readings(chunk.text, redacted_text)
    return [Span(chunk.offset + r.start, chunk.offset + r.end, r.label, r.score) for r in readings]


def locate(chunk: Chunk, entity: FastinoEntity) -> Span:
    """One entity's span in the original text (see :func:`answer_spans`).

    Example:
        >>> e = FastinoEntity(start=0, end=5, label="full_name", text="Jamie")
        >>> locate(Chunk(10, "Jamie, hi"), e)
        Span(start=10, end=15, label='full_name', score=1.0)
    """
    [span] = answer_spans(chunk, [entity])
    return span


def values_of(text: str, spans: Iterable[Span], answers: Iterable[Answer] = ()) -> list[Value]:
    """The values to search for: each span's text and each entity's own ``text``.

    Example:
        >>> values_of("Hi Ann", [Span(3, 6, "full_name", 0.9)])
        [Value(text='Ann', label='full_name', score=0.9)]
    """
    values = [Value(text[s.start : s.end], s.label, s.score) for s in spans]
    for answer in answers:
        entities, _ = _entities(answer)
        values.extend(Value(e.text, e.label, e.score) for e in entities if e.text)
    return values


def find_other_occurrences(
    text: str, spans: Sequence[Span], values: Iterable[Value] = ()
) -> list[Span]:
    """Spans for every other whole-word occurrence of a detected value.

    Values are the spans' own texts plus ``values`` (e.g. found in another
    field of the same document); matching ignores case, Unicode normalisation
    and zero-width characters, and works in scripts written without spaces.

    Example:
        >>> find_other_occurrences("Ann met ANN", [Span(0, 3, "full_name", 0.9)])
        [Span(start=8, end=11, label='full_name', score=0.9)]
    """
    wanted = sorted([*values_of(text, spans), *values], key=lambda v: -v.score)
    by_text: dict[str, Value] = {}
    for value in wanted:
        by_text.setdefault(value.text, value)
    known = {(s.start, s.end) for s in spans}
    found: list[Span] = []
    for start, end, matched in find_occurrences(text, by_text):
        if (start, end) in known:
            continue
        known.add((start, end))
        value = by_text[matched]
        found.append(Span(start, end, value.label, value.score))
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
    found: Iterable[tuple[Chunk, Answer]],
    *,
    all_occurrences: bool = True,
    values: Iterable[Value] = (),
) -> list[Span]:
    """The disjoint, sorted spans of ``text`` to replace, from the model's answers.

    Args:
        text: The whole original text.
        found: Each chunk of ``text`` with the answer for it (a
            :class:`FastinoResult` or its entities).
        all_occurrences: Also replace other occurrences of a found value.
        values: Values found elsewhere (another field of the same document)
            to replace here too (with ``all_occurrences``).

    Raises:
        SpanError: An answer does not fit its chunk.

    Example:
        >>> e = FastinoEntity(start=0, end=3, label="full_name", text="Ann")
        >>> [(s.start, s.end) for s in pii_spans("Ann met Ann", [(Chunk(0, "Ann met Ann"), [e])])]
        [(0, 3), (8, 11)]
    """
    found = list(found)
    spans = [span for chunk, answer in found for span in answer_spans(chunk, answer)]
    if all_occurrences:
        extra = [*values_of(text, [], [a for _, a in found]), *values]
        spans.extend(find_other_occurrences(text, spans, extra))
    return resolve_overlaps(spans)
