"""The transformer's progress display: documents done of total, rate and time left.

A document is done once every input (chunk of its text or metadata) that it
sent has come back; documents that need no request count as done at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TextIO

from langchain_mlstudio._core._progress import Backend, Progress
from langchain_mlstudio.fastino._pipeline import DocumentField

__all__ = ["DocumentProgress", "input_counter"]


def input_counter(callback: Callable[[int, int], None] | None, total: int) -> Callable[[int], None]:
    """A thread-safe ``on_batch``: ``callback(inputs_done, total)`` after every request.

    Example:
        >>> seen = []
        >>> count = input_counter(lambda done, total: seen.append((done, total)), 5)
        >>> count(2); count(3)
        >>> seen
        [(2, 5), (5, 5)]
    """
    done = 0
    lock = threading.Lock()

    def report(n: int) -> None:
        nonlocal done
        with lock:
            done += n
            current = done
        if callback is not None:
            callback(current, total)

    return report


class DocumentProgress:
    """Turns finished inputs into finished documents on a :class:`Progress`.

    Args:
        documents: How many documents the run has.
        fields: The run's fields, as planned (they say which inputs are whose).
        enabled: The transformer's ``progress`` setting (``None``: automatic).
        stream: Where to draw (default: stderr).
        backend: ``"tqdm"``, ``"plain"`` or ``"auto"``.

    Example:
        >>> import io
        >>> from langchain_mlstudio.fastino._pipeline import ChunkBounds, plan
        >>> fields, inputs = plan([(0, (), "a"), (1, (), "b")], ChunkBounds(100, 0, 100, 0))
        >>> out = io.StringIO()
        >>> with DocumentProgress(2, fields, enabled=True, stream=out, backend="plain") as bar:
        ...     bar.inputs_done(range(0, 2))
        >>> out.getvalue().splitlines()[-1]
        'Fastino PII: 2/2 documents (100%), done in 0 s'
    """

    def __init__(
        self,
        documents: int,
        fields: Sequence[DocumentField],
        *,
        enabled: bool | None,
        stream: TextIO | None = None,
        backend: Backend = "auto",
    ) -> None:
        self._owner: dict[int, int] = {}
        self._pending: dict[int, int] = {}
        for field in fields:
            if not field.sent:
                continue
            for index in range(field.first_input, field.first_input + len(field.chunks)):
                self._owner[index] = field.document
                self._pending[field.document] = self._pending.get(field.document, 0) + 1
        self._lock = threading.Lock()
        self.bar = Progress(
            documents,
            description="Fastino PII",
            unit="document",
            enabled=enabled,
            stream=stream,
            backend=backend,
        )
        if documents:
            self.bar.update(documents - len(self._pending))

    def inputs_done(self, indices: range) -> None:
        """Count the documents that ``indices`` (one request's inputs) completed."""
        finished = 0
        with self._lock:
            for index in indices:
                document = self._owner.get(index)
                if document is None:
                    continue
                self._pending[document] -= 1
                if not self._pending[document]:
                    finished += 1
        if finished:
            self.bar.update(finished)

    def __enter__(self) -> DocumentProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
