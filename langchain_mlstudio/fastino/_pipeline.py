"""The one path from texts to redacted texts, shared by the transformer and the tool.

A document is a list of *fields* (its text and, in the transformer, each string
in its metadata). Every field is neutralised (placeholder-like text can never
equal an issued token), chunked within the model's bounds and sent in one
client call with every other field; the answers are turned into spans per
field, and a value found in any field of a document is searched for in all of
them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_mlstudio.errors import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    MLStudioError,
    RateLimitError,
    ServerError,
)
from langchain_mlstudio.fastino._metadata import MetaPath
from langchain_mlstudio.fastino.chunking import Chunk, chunk_text
from langchain_mlstudio.fastino.placeholders import neutralise
from langchain_mlstudio.fastino.results import FastinoResult
from langchain_mlstudio.fastino.spans import (
    Span,
    answer_spans,
    find_other_occurrences,
    resolve_overlaps,
    values_of,
)

__all__ = [
    "ChunkBounds",
    "DocumentField",
    "config_failure",
    "entity_dicts",
    "is_transient",
    "plan",
    "spans_of_document",
]


@dataclass(frozen=True)
class ChunkBounds:
    """How long one input sent to the model may be."""

    chunk_size: int
    chunk_overlap: int
    chunk_words: int
    chunk_overlap_words: int

    def chunks(self, text: str) -> list[Chunk]:
        """``text`` cut within these bounds (nothing for blank text)."""
        if not text.strip():
            return []
        return chunk_text(
            text,
            self.chunk_size,
            self.chunk_overlap,
            chunk_words=self.chunk_words,
            chunk_overlap_words=self.chunk_overlap_words,
        )


@dataclass
class DocumentField:
    """One field of one document: its neutralised text and its chunks' inputs.

    A field that is not ``sent`` has no inputs: it is only searched for the
    values found in the document's other fields.
    """

    document: int
    path: MetaPath  # () for the text itself
    text: str
    chunks: list[Chunk]
    first_input: int
    spans: list[Span] = dataclasses.field(default_factory=list)
    sent: bool = True


def plan(
    texts: Sequence[tuple[int, MetaPath, str]],
    bounds: ChunkBounds,
    searched: Sequence[tuple[int, MetaPath, str]] = (),
) -> tuple[list[DocumentField], list[str]]:
    """Neutralise and chunk each ``(document, path, text)``; the flat list of inputs.

    ``searched`` fields are neutralised but not sent (see :class:`DocumentField`).
    """
    fields: list[DocumentField] = []
    inputs: list[str] = []
    for document, path, raw in texts:
        text = neutralise(raw)
        chunks = bounds.chunks(text)
        fields.append(DocumentField(document, path, text, chunks, len(inputs)))
        inputs.extend(c.text for c in chunks)
    for document, path, raw in searched:
        fields.append(DocumentField(document, path, neutralise(raw), [], len(inputs), sent=False))
    return fields, inputs


def spans_of_document(
    fields: Sequence[DocumentField],
    outcomes: Sequence[FastinoResult | BaseException],
    *,
    all_occurrences: bool,
) -> None:
    """Fill each field's ``spans``; raise the first failure of any of its inputs.

    Raises:
        MLStudioError: A request or an input of the document failed.
        SpanError: An answer does not fit the text it was given for.
    """
    answers: list[list[tuple[Chunk, FastinoResult]]] = []
    for field in fields:
        results = outcomes[field.first_input : field.first_input + len(field.chunks)]
        for result in results:
            if isinstance(result, BaseException):
                raise result
        answers.append(list(zip(field.chunks, results, strict=True)))  # type: ignore[arg-type]
    for field, found in zip(fields, answers, strict=True):
        field.spans = [span for chunk, answer in found for span in answer_spans(chunk, answer)]
    if all_occurrences:
        everywhere = [
            value
            for field, found in zip(fields, answers, strict=True)
            for value in values_of(field.text, field.spans, [a for _, a in found])
        ]
        for field in fields:
            field.spans = field.spans + find_other_occurrences(field.text, field.spans, everywhere)
    for field in fields:
        field.spans = resolve_overlaps(field.spans)


def entity_dicts(text: str, spans: Sequence[Span], *, include_values: bool) -> list[dict[str, Any]]:
    """What ``pii_entities`` and the tool's artifact report: no value unless asked.

    Example:
        >>> entity_dicts("Hi Ann", [Span(3, 6, "full_name", 0.9)], include_values=False)
        [{'label': 'full_name', 'start': 3, 'end': 6, 'score': 0.9}]
    """
    entities: list[dict[str, Any]] = []
    for span in spans:
        entry: dict[str, Any] = {
            "label": span.label,
            "start": span.start,
            "end": span.end,
            "score": span.score,
        }
        if include_values:
            entry["text"] = text[span.start : span.end]
        entities.append(entry)
    return entities


_TRANSIENT = (APIConnectionError, RateLimitError, ServerError)


def config_failure(causes: Sequence[BaseException]) -> MLStudioError | None:
    """The typed error to raise when every document failed for one non-transient reason.

    A wrong or missing key, an unknown model or a request the plan refuses
    fails every document the same way; retrying cannot help, so the typed
    error (with its fix) is what the caller should see, not a retry hint.

    Example:
        >>> from langchain_mlstudio.errors import AuthenticationError, ServerError
        >>> auth = AuthenticationError("Bad key", status_code=401)
        >>> config_failure([auth, auth]) is auth
        True
        >>> config_failure([ServerError("Down", status_code=500)]) is None
        True
    """
    if not causes:
        return None
    first = causes[0]
    if not isinstance(first, ConfigurationError | APIStatusError) or isinstance(first, _TRANSIENT):
        return None
    reason = (type(first), getattr(first, "status_code", None))
    if all((type(c), getattr(c, "status_code", None)) == reason for c in causes):
        return first
    return None


def is_transient(err: BaseException) -> bool:
    """Whether the same request may succeed later (a network, rate or server failure)."""
    return isinstance(err, _TRANSIENT)
