"""The transformer's progress display: documents done of total, rate and time left.

A document is done once every input (chunk of its text or metadata) that it
sent has come back; documents that need no request count as done at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TextIO

from langchain_mlstudio._core._progress import Backend, Progress
from langchain_mlstudio.fastino._pipeline import FieldJob


class DocumentProgress:
    """Turns finished inputs into finished documents on a :class:`Progress`.

    Args:
        documents: How many documents the run has.
        jobs: The run's fields, as planned (they say which inputs are whose).
        enabled: The transformer's ``progress`` setting (``None``: automatic).
        stream: Where to draw (default: stderr).
        backend: ``"tqdm"``, ``"plain"`` or ``"auto"``.

    Example:
        >>> import io
        >>> from langchain_mlstudio.fastino._pipeline import ChunkBounds, plan
        >>> jobs, inputs = plan([(0, (), "a"), (1, (), "b")], ChunkBounds(100, 0, 100, 0))
        >>> out = io.StringIO()
        >>> with DocumentProgress(2, jobs, enabled=True, stream=out, backend="plain") as bar:
        ...     bar.inputs_done(range(0, 2))
        >>> out.getvalue().splitlines()[-1]
        'Fastino PII: 2/2 documents (100%), done in 0 s'
    """

    def __init__(
        self,
        documents: int,
        jobs: Sequence[FieldJob],
        *,
        enabled: bool | None,
        stream: TextIO | None = None,
        backend: Backend = "auto",
    ) -> None:
        self._owner: dict[int, int] = {}
        self._pending: dict[int, int] = {}
        for job in jobs:
            if not job.sent:
                continue
            for index in range(job.first_input, job.first_input + len(job.chunks)):
                self._owner[index] = job.document
                self._pending[job.document] = self._pending.get(job.document, 0) + 1
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
