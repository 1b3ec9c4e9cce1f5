"""Rows to documents and conversations, and back: the pure part of the Ray helpers.

Nothing here imports Ray: a row is a ``dict`` as ``pyarrow.Table.to_pylist``
gives it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages

from langchain_mlstudio.chat_models._messages import convert_messages
from langchain_mlstudio.errors import ConfigurationError, InvalidInputError

__all__ = [
    "GenerationLayout",
    "RedactionLayout",
    "Row",
    "conversation_of",
    "error_name",
    "has_text",
    "job_key",
]

Row = dict[str, Any]


def error_name(error: BaseException | None) -> str | None:
    """What a failed row records of its error: the class name only (never a message).

    Example:
        >>> error_name(InvalidInputError("bad")), error_name(None)
        ('InvalidInputError', None)
    """
    return None if error is None else type(error).__name__


def has_text(value: Any) -> bool:
    """Whether a column value holds a string anywhere (in lists and dicts too).

    Example:
        >>> has_text({"to": ["a@b.example"]}), has_text([1, 2.0, None])
        (True, False)
    """
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(has_text(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_text(v) for v in value)
    return False


def _require(row: Row, column: str, role: str) -> Any:
    if column not in row:
        raise ConfigurationError(
            f"The dataset has no {role} column {column!r} (columns: {', '.join(map(str, row))})",
            hint=f"Pass {role}_column=... naming the column that holds it.",
        )
    return row[column]


@dataclass(frozen=True)
class RedactionLayout:
    """Where a row's text and id are, and what a redacted or failed row looks like.

    The row's other columns are the document's metadata: the transformer
    redacts their strings (unless ``redact_metadata`` is off) except the
    columns in ``keep``. A failed row keeps its id, ``keep`` columns and
    columns holding no string; its text and every other column are ``None``.

    Example:
        >>> layout = RedactionLayout("text", "id", "pii_entities", frozenset(), True)
        >>> row = {"id": 7, "text": "Call Ann", "note": "Ann's", "n": 3}
        >>> layout.document(row).id
        '7'
        >>> layout.failed(row, TimeoutError())
        {'id': 7, 'text': None, 'note': None, 'n': 3, 'pii_status': 'failed', \
'pii_error': 'TimeoutError', 'pii_entities': None}
    """

    text_column: str
    id_column: str
    entities_column: str | None
    keep: frozenset[str]
    redact_metadata: bool

    @property
    def added(self) -> list[str]:
        """The columns every output row gains."""
        extra = [self.entities_column] if self.entities_column else []
        return ["pii_status", "pii_error", *extra]

    def document(self, row: Row) -> Document:
        """The row as a document (its other columns as metadata).

        Raises:
            ConfigurationError: The text or id column is missing.
            InvalidInputError: The text is not a string.
        """
        text = _require(row, self.text_column, "text")
        row_id = _require(row, self.id_column, "id")
        if not isinstance(text, str):
            raise InvalidInputError(f"Row {row_id!r}: the text column holds no string")
        metadata = {k: v for k, v in row.items() if k not in (self.text_column, self.id_column)}
        return Document(
            page_content=text, metadata=metadata, id=None if row_id is None else str(row_id)
        )

    def redacted(self, row: Row, doc: Document) -> Row:
        """The output row of a redacted document."""
        out: Row = {}
        for column, value in row.items():
            if column == self.text_column:
                out[column] = doc.page_content
            elif column == self.id_column:
                out[column] = value
            else:
                out[column] = doc.metadata.get(column, value)
        out["pii_status"] = "ok"
        out["pii_error"] = None
        if self.entities_column:
            out[self.entities_column] = json.dumps(doc.metadata.get("pii_entities", []))
        return out

    def failed(self, row: Row, error: BaseException) -> Row:
        """The output row of a document whose detection failed: no raw text in it."""
        out: Row = {}
        for column, value in row.items():
            if column == self.id_column:
                out[column] = value
            elif column == self.text_column:
                out[column] = None
            elif column in self.keep or not self.redact_metadata or not has_text(value):
                out[column] = value
            else:
                out[column] = None
        out["pii_status"] = "failed"
        out["pii_error"] = error_name(error)
        if self.entities_column:
            out[self.entities_column] = None
        return out


def conversation_of(prompt: Any) -> list[dict[str, Any]]:
    """A prompt column value as an API conversation.

    A string is one user message; a list holds messages (``BaseMessage``,
    ``{"role", "content"}`` dicts or ``(role, content)`` pairs).

    Raises:
        InvalidInputError: Neither a string nor a list of messages.

    Example:
        >>> conversation_of("Hi")
        [{'role': 'user', 'content': 'Hi'}]
        >>> conversation_of([{"role": "system", "content": "Be brief"}, ("user", "Hi")])[0]
        {'role': 'system', 'content': 'Be brief'}
    """
    messages: Sequence[BaseMessage]
    if isinstance(prompt, str):
        messages = [HumanMessage(prompt)]
    elif isinstance(prompt, list | tuple):
        try:
            messages = convert_to_messages(list(prompt))
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise InvalidInputError(
                f"The prompt is not a list of messages ({type(exc).__name__})"
            ) from None
    else:
        raise InvalidInputError(
            f"A prompt must be a string or a list of messages, not {type(prompt).__name__}"
        )
    return convert_messages(messages)


def job_key(row_ids: Sequence[Any], conversations: Sequence[Any]) -> str:
    """The ledger key of a job: a digest of its rows' ids and conversations.

    The same rows give the same key on every attempt (so a retried task finds
    its job); rows that share ids but not content do not.

    Example:
        >>> job_key([1, 2], ["a", "b"]) == job_key([1, 2], ["a", "b"]) != job_key([1], ["a"])
        True
    """
    blob = json.dumps([list(row_ids), list(conversations)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class GenerationLayout:
    """Where a row's prompt and id are, and the columns the answer goes to.

    Example:
        >>> layout = GenerationLayout("prompt", "answer", "id")
        >>> layout.answered({"id": 1, "prompt": "Hi"}, "Hello", None, "job-1")
        {'id': 1, 'prompt': 'Hi', 'answer': 'Hello', 'answer_error': None, 'answer_job_id': 'job-1'}
    """

    prompt_column: str
    output_column: str
    id_column: str

    @property
    def added(self) -> list[str]:
        """The columns every output row gains."""
        return [self.output_column, f"{self.output_column}_error", f"{self.output_column}_job_id"]

    def row_id(self, row: Row) -> Any:
        """The row's id (``ConfigurationError`` when the column is missing)."""
        return _require(row, self.id_column, "id")

    def prompt(self, row: Row) -> Any:
        """The row's prompt (``ConfigurationError`` when the column is missing)."""
        return _require(row, self.prompt_column, "prompt")

    def answered(
        self, row: Row, text: str | None, error: BaseException | None, job_id: str | None
    ) -> Row:
        """The output row: the answer, or ``None`` and the error's class."""
        answer, failed, job = self.added
        return {**row, answer: text, failed: error_name(error), job: job_id}
