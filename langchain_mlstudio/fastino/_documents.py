"""Documents in and out of the pipeline: which of their texts are sent, and the copies made.

A document becomes :class:`~langchain_mlstudio.fastino._pipeline.DocumentField` s
(its text first, then each string in its metadata unless the key is kept);
once their spans are known, :func:`rebuild_document` writes the redacted copy
with the caller's ``id``, its metadata redacted the same way, and the
``pii_*`` keys.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.documents import Document

from langchain_mlstudio.fastino._metadata import (
    MetaKey,
    MetaPath,
    path_name,
    rebuild,
    searched_leaves,
    string_leaves,
)
from langchain_mlstudio.fastino._pipeline import ChunkBounds, DocumentField, plan
from langchain_mlstudio.fastino.placeholders import neutralise
from langchain_mlstudio.fastino.spans import Span

__all__ = [
    "SPLITTER_KEYS",
    "by_document",
    "document_id",
    "plan_documents",
    "rebuild_document",
    "warn_if_split",
]

#: Metadata keys a text splitter adds: their presence means the input was split first.
SPLITTER_KEYS: tuple[str, ...] = ("start_index",)

#: The keys the transformer writes (never sent again when its output comes back).
_OWN_KEYS = ("pii_entities", "pii_metadata_entities", "pii_strategy", "pii_model_id")

#: _Entities of one text as reported in ``pii_entities``.
_Entities = Callable[[str, Sequence[Span]], list[dict[str, Any]]]


def warn_if_split(documents: Sequence[Document], *, stacklevel: int) -> bool:
    """Warn (and return ``True``) when ``documents`` look like text-splitter output."""
    if not any(key in doc.metadata for doc in documents for key in SPLITTER_KEYS):
        return False
    warnings.warn(
        "FastinoPIITransformer got documents that look like text-splitter output "
        f"(metadata has {' or '.join(SPLITTER_KEYS)}). Redact whole documents first, "
        "then split: a splitter cuts values at chunk edges, and the fragments are "
        "no longer names the model can find.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )
    return True


def plan_documents(
    documents: Sequence[Document],
    bounds: ChunkBounds,
    *,
    redact_metadata: bool,
    keep: Sequence[str],
) -> tuple[list[DocumentField], list[str]]:
    """Every document's fields (text first) and the flat list of inputs to send.

    Example:
        >>> fields, inputs = plan_documents(
        ...     [Document("Hi Ann", metadata={"to": "Ann", "id": "7"})],
        ...     ChunkBounds(100, 0, 100, 0), redact_metadata=True, keep=["id"])
        >>> [(f.path, f.sent) for f in fields]
        [((), True), (('to',), True), ((MetaKey(name='to'),), False)]
        >>> inputs
        ['Hi Ann', 'Ann']
    """
    sent: list[tuple[int, MetaPath, str]] = []
    searched: list[tuple[int, MetaPath, str]] = []
    kept = set(keep)
    for i, doc in enumerate(documents):
        sent.append((i, (), doc.page_content))
        if redact_metadata:
            meta = {k: v for k, v in doc.metadata.items() if k not in _OWN_KEYS}
            sent.extend((i, path, value) for path, value in string_leaves(meta, kept))
            searched.extend((i, path, value) for path, value in searched_leaves(meta, kept))
    return plan(sent, bounds, searched)


def by_document(fields: Sequence[DocumentField]) -> dict[int, list[DocumentField]]:
    """The fields grouped by the position of their document, in planned order."""
    grouped: dict[int, list[DocumentField]] = {}
    for field in fields:
        grouped.setdefault(field.document, []).append(field)
    return grouped


def document_id(doc: Document, index: int) -> str:
    """How errors and logs name a document: its ``id``, else ``#<position>``."""
    return str(doc.id) if doc.id is not None else f"#{index}"


def rebuild_document(
    doc: Document,
    fields: list[DocumentField],
    apply: Callable[[DocumentField], str],
    entities: _Entities,
    extra: dict[str, Any],
) -> Document:
    """The redacted copy of ``doc``: ``apply`` writes each field, ``extra`` joins the metadata."""
    text_field, meta_fields = fields[0], fields[1:]
    # Strings and keys always come out neutralised; a number only when found.
    replaced = {
        field.path: apply(field)
        for field in meta_fields
        if field.sent or field.spans or isinstance(field.path[-1], MetaKey)
    }
    renamed: dict[MetaPath, str] = {}

    def replace(path: MetaPath, value: Any) -> Any:
        # What is not redacted (kept keys, redact_metadata=False) is still
        # neutralised: a planted token must never count as one the model saw.
        if path in replaced:
            return replaced[path]
        return neutralise(value) if isinstance(value, str) else value

    metadata = rebuild(doc.metadata, replace, renamed)
    metadata.update(
        {
            "pii_entities": entities(text_field.text, text_field.spans),
            "pii_metadata_entities": {
                path_name(field.path, renamed): entities(field.text, field.spans)
                for field in meta_fields
                if field.spans
            },
            **extra,
        }
    )
    return Document(page_content=apply(text_field), metadata=metadata, id=doc.id)
