"""``redact_dataset``: a Ray Dataset of texts through a Fastino PII transformer."""

from __future__ import annotations

import logging
from typing import Any, Literal

from langchain_core.documents import Document

from langchain_mlstudio.errors import ConfigurationError, MLStudioError
from langchain_mlstudio.fastino._pipeline import config_failure
from langchain_mlstudio.fastino.transformer import FastinoPIITransformer
from langchain_mlstudio.ray._arrow import assemble
from langchain_mlstudio.ray._errors import require_ray
from langchain_mlstudio.ray._rows import RedactionLayout, Row
from langchain_mlstudio.ray._shared import ClusterRateGate, SharedPseudonymizer

logger = logging.getLogger("langchain_mlstudio.ray")

__all__ = ["RedactionWorker", "redact_dataset"]


class RedactionWorker:
    """The callable class Ray Data runs in each worker: one batch of rows at a time.

    Args:
        transformer: The worker's transformer (with the run's rate gate and,
            for ``pseudonymize``, the run's mapping).
        layout: Where text and id are, and what output rows look like.
        drop_failed: Leave failed rows out (their ids are logged).
    """

    def __init__(
        self, transformer: FastinoPIITransformer, layout: RedactionLayout, drop_failed: bool
    ) -> None:
        self.transformer = transformer
        self.layout = layout
        self.drop_failed = drop_failed

    def rows(self, rows: list[Row]) -> list[Row]:
        """Redact rows; each comes back redacted or marked failed (or is dropped)."""
        return [row for row in self.outcomes(rows) if row is not None]

    def outcomes(self, rows: list[Row]) -> list[Row | None]:
        """Each row's output row, in order; ``None`` for a dropped one."""
        docs: list[Document | None] = []
        early: dict[int, Exception] = {}
        for i, row in enumerate(rows):
            try:
                docs.append(self.layout.document(row))
            except ConfigurationError:
                raise
            except MLStudioError as exc:
                docs.append(None)
                early[i] = exc
        sent = [d for d in docs if d is not None]
        outcomes = iter(self.transformer.transform_each(sent) if sent else [])
        results: list[Document | Exception] = [
            early[i] if d is None else next(outcomes) for i, d in enumerate(docs)
        ]
        self._fail_on_config(docs, results)
        out: list[Row | None] = []
        dropped: list[str] = []
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, Document):
                out.append(self.layout.redacted(row, result))
            elif self.drop_failed:
                dropped.append(str(row.get(self.layout.id_column)))
                out.append(None)
            else:
                out.append(self.layout.failed(row, result))
        if dropped:
            logger.warning(
                "PII detection failed for %d of %d rows; dropped ids: %s",
                len(dropped),
                len(rows),
                ", ".join(dropped),
            )
        return out

    @staticmethod
    def _fail_on_config(docs: list[Document | None], results: list[Document | Exception]) -> None:
        """Raise the typed error when every row that needed a request failed one way.

        A wrong key or unknown model fails every row alike; retrying cannot
        help, so the run stops with the error and its fix (as the transformer
        does) instead of marking millions of rows failed.
        """
        needed = [
            r
            for d, r in zip(docs, results, strict=True)
            if d is not None and (isinstance(r, Exception) or d.page_content.strip())
        ]  # rows refused before any request (a text that is no string) do not count
        failures = [r for r in needed if isinstance(r, Exception)]
        if failures and len(failures) == len(needed):
            typed = config_failure(failures)
            if typed is not None:
                raise typed

    def __call__(self, batch: Any) -> Any:
        """Redact one ``pyarrow.Table`` batch."""
        return assemble(batch, self.outcomes(batch.to_pylist()), self.layout.added)


def redact_dataset(
    ds: Any,
    transformer: FastinoPIITransformer,
    *,
    text_column: str = "text",
    id_column: str = "id",
    failed: Literal["keep", "drop"] = "keep",
    entities_column: str | None = "pii_entities",
    rows_per_batch: int = 256,
    concurrency: int = 2,
    num_cpus: float = 1.0,
) -> Any:
    """Redact a Ray ``Dataset`` of texts with ``transformer``, streaming, failing closed per row.

    Each row is one document: ``text_column`` is its text, ``id_column`` its
    id, every other column its metadata, redacted as the transformer redacts
    metadata (``redact_metadata``, ``keep_metadata_keys``). The rows come back
    with their columns and three more: ``pii_status`` (``"ok"`` or
    ``"failed"``), ``pii_error`` (a failed row's error class, e.g.
    ``"MalformedResponseError"``) and ``entities_column`` (the entities as
    JSON, without values unless ``include_values``). A failed row keeps its id
    and its columns that hold no string (and ``keep_metadata_keys``); its text
    and its other columns are ``None``, never raw text. ``failed="drop"``
    leaves such rows out and logs their ids. When every row of a batch that
    needed a request failed for the same non-transient reason (a wrong key,
    an unknown model), the run stops with that typed error.

    Limits are held for the whole run, not per worker: one coordinator actor
    grants every request start (``requests_per_second`` of the transformer,
    or of its ``client``), so all workers together stay within the plan's
    limit and use it fully. With ``strategy="pseudonymize"`` the same actor
    numbers every value once for the run, and ``transformer`` itself is
    switched to the run's mapping: after the run, ``transformer.restore`` and
    ``transformer.save_mapping`` cover every token any worker wrote. ``hash``
    tokens match across workers (the key travels with the transformer).

    Nothing is collected on the driver: the result is a lazy ``Dataset``
    (write it, iterate it or ``materialize()`` it); keep the transformer
    until it has been consumed.

    Args:
        ds: A Ray ``Dataset``.
        transformer: A configured :class:`FastinoPIITransformer` (its
            ``on_error`` is replaced by the per-row status).
        text_column: The column holding each document's text.
        id_column: The column holding each document's id.
        failed: ``"keep"`` failed rows (marked) or ``"drop"`` them.
        entities_column: Where each row's entities go as JSON (``None``: nowhere).
        rows_per_batch: Rows per Ray batch (each a ``transform_each`` call).
        concurrency: Worker actors.
        num_cpus: CPUs reserved per worker.

    Returns:
        A lazy Ray ``Dataset`` of redacted (or failed) rows.

    Raises:
        RayNotInstalledError: Ray is not installed.
        ConfigurationError: ``transformer`` is not a ``FastinoPIITransformer``.

    Example:
        >>> redact_dataset(None, "not a transformer")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        langchain_mlstudio.errors.ConfigurationError: redact_dataset needs...

        On a cluster (or ``ray.init()`` locally)::

            pii = FastinoPIITransformer(strategy="pseudonymize", batch_size=32)
            ds = ray.data.read_parquet("s3://corpus")
            redact_dataset(ds, pii).write_parquet("s3://scrubbed")
            pii.save_mapping("mapping.json")  # every token of the run
    """
    if not isinstance(transformer, FastinoPIITransformer):
        raise ConfigurationError(
            f"redact_dataset needs a FastinoPIITransformer, got {type(transformer).__name__}",
            hint="Pass FastinoPIITransformer(...) configured as for a single process.",
        )
    ray = require_ray()
    from langchain_mlstudio.ray._coordinator import start_coordinator

    if failed not in ("keep", "drop"):
        raise ConfigurationError(
            f"failed must be 'keep' or 'drop', not {failed!r}",
            hint="Keep failed rows (marked pii_status='failed') or drop them.",
        )
    client = transformer.client
    rate = client.requests_per_second if client is not None else transformer.requests_per_second
    pseudonymize = transformer.strategy == "pseudonymize"
    mapping = transformer.pseudonymizer.to_dict() if pseudonymize else None
    coordinator = start_coordinator("redact", requests_per_second=rate, mapping=mapping)
    gate = ClusterRateGate(coordinator)
    # Ray Data shows the dataset's own progress; a bar per worker batch would only add noise.
    update: dict[str, Any] = {"rate_gate": gate, "progress": False}
    if client is not None:
        update["client"] = client.model_copy(update={"rate_gate": gate})
    worker = transformer.model_copy(update=update)
    if mapping is not None:
        shared = SharedPseudonymizer(coordinator, mapping["namespace"])
        worker.use_pseudonymizer(shared)
        transformer.use_pseudonymizer(shared)
    layout = RedactionLayout(
        text_column,
        id_column,
        entities_column,
        frozenset(transformer.keep_metadata_keys),
        transformer.redact_metadata,
    )
    return ds.map_batches(
        RedactionWorker,
        fn_constructor_kwargs={
            "transformer": worker,
            "layout": layout,
            "drop_failed": failed == "drop",
        },
        batch_size=rows_per_batch,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=num_cpus,
    )
