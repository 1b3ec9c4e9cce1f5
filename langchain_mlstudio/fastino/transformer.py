"""``FastinoPIITransformer``: fail-closed PII removal for RAG preprocessing."""

from __future__ import annotations

import logging
import secrets
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_core.documents import BaseDocumentTransformer, Document
from langchain_core.utils import secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)
from typing_extensions import Self

from langchain_mlstudio.errors import MLStudioError, PIIDetectionError
from langchain_mlstudio.fastino.client import (
    FastinoClient,
    FastinoResult,
    _InstanceLock,
)
from langchain_mlstudio.fastino.spans import (
    Chunk,
    Span,
    SpanError,
    chunk_text,
    pii_spans,
)
from langchain_mlstudio.fastino.strategies import (
    Pseudonymizer,
    hash_token,
    redact_token,
    replace_spans,
)

logger = logging.getLogger("langchain_mlstudio.fastino")

__all__ = ["DEFAULT_ENTITY_TYPES", "FastinoPIITransformer"]

#: The labels asked for by default: personal data found in customer records.
DEFAULT_ENTITY_TYPES: tuple[str, ...] = (
    "full_name",
    "email",
    "phone_number",
    "street_address",
    "date_of_birth",
    "credit_card_number",
    "cvv",
    "iban",
    "account_number",
    "social_security_number",
    "passport_number",
    "medical_record_number",
    "username",
    "ip_address",
)

Strategy = Literal["redact", "mask", "hash", "pseudonymize"]


class FastinoSettings(BaseModel):
    """Client settings shared by the transformer and the tool."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    api_key: SecretStr | None = Field(
        alias="api_key",
        default_factory=secret_from_env("FASTINO_API_KEY", default=None),
        repr=False,
    )
    """Fastino key (default: ``FASTINO_API_KEY``)."""
    base_url: str | None = None
    """API root (default: ``FASTINO_BASE_URL`` or ``https://api.fastino.com``)."""
    timeout: float | None = 30.0
    """Seconds one HTTP request may take."""
    max_retries: int = Field(default=2, ge=0)
    """Retries of transient failures (429, 5xx, network errors)."""
    client: FastinoClient | None = None
    """A ready client; when given, the settings above are not used."""
    model_id: str = "fastino-pii"
    """The PII model or custom endpoint id."""
    entity_types: list[str] | None = Field(default_factory=lambda: list(DEFAULT_ENTITY_TYPES))
    """Labels to detect; ``None`` sends none, so the endpoint's setup applies."""
    threshold: float | None = Field(default=0.3, ge=0, le=1)
    """Minimum score of an entity; ``None`` uses the endpoint's default."""

    _own_client: FastinoClient | None = PrivateAttr(default=None)
    _client_lock: _InstanceLock = PrivateAttr(default_factory=_InstanceLock)

    @property
    def fastino_client(self) -> FastinoClient:
        """The client in use: ``client``, or one built from the settings."""
        if self.client is not None:
            return self.client
        if self._own_client is None:
            with self._client_lock:
                if self._own_client is None:
                    self._own_client = self._build_client()
        return self._own_client

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
        if self.api_key is not None:
            kwargs["api_key"] = self.api_key
        if self.base_url is not None:
            kwargs["base_url"] = self.base_url
        return kwargs

    def _build_client(self) -> FastinoClient:
        return FastinoClient(**self._client_kwargs())

    def _parameters(
        self, entity_types: list[str] | None, threshold: float | None
    ) -> dict[str, Any] | None:
        params: dict[str, Any] = {}
        if entity_types is not None:
            params["entity_types"] = list(entity_types)
        if threshold is not None:
            params["threshold"] = threshold
        return params or None

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private["_own_client"] = None
        private["_client_lock"] = _InstanceLock()
        state["__pydantic_private__"] = self._pickle_private(private)
        return state

    def _pickle_private(self, private: dict[str, Any]) -> dict[str, Any]:
        return private


@dataclass
class _DocJob:
    index: int
    doc_id: str
    text: str
    chunks: list[Chunk]
    first_input: int  # position of its first chunk in the flat input list


class FastinoPIITransformer(FastinoSettings, BaseDocumentTransformer):
    """Remove personal data from documents with Fastino's PII model, failing closed.

    Sits between loading/splitting and embedding in a RAG pipeline. Each
    document's text is sent to Fastino (long texts in overlapping chunks cut at
    whitespace, so a value on a chunk boundary is still found); every entity is
    checked against the text, overlaps are resolved (longest span, then highest
    score) and each span is replaced according to ``strategy``. Other
    occurrences of a detected value in the same document are replaced too.

    The output documents come in input order with the same ``id`` and the
    caller's metadata plus ``pii_entities`` (label, start, end and score, with
    offsets into the original text; the values only with
    ``include_values=True``), ``pii_strategy`` and ``pii_model_id``.

    **Fail closed.** A document whose detection failed (a request or an input
    failed, or an entity cannot be located in the text) never comes back
    unredacted: ``on_error="raise"`` raises :class:`PIIDetectionError` naming
    the failed documents by id (never by text); ``on_error="drop"`` leaves them
    out and logs their ids.

    **Strategies.** ``redact`` writes ``<FULL_NAME>`` as the API does; ``mask``
    writes ``mask_char`` once per character; ``hash`` writes
    ``<FULL_NAME_3f9a0c1e>``, a keyed HMAC-SHA256 of the value (same value,
    same key: same token); ``pseudonymize`` writes ``<FULL_NAME_1>``, numbered
    per instance and consistent across every document the instance sees, and
    :meth:`restore` puts the originals back into a model's answer. Save the
    mapping with :meth:`save_mapping` and load it with :meth:`load_mapping`.

    **Plans and speed.** ``batch_size=1`` works on every plan. On a Pro or Team
    plan raise it (e.g. ``batch_size=32``) to send that many chunks per request;
    ``requests_per_second`` (default 10, the documented limit of every plan) is
    held across every call on the instance, sync and async.

    **Distributed runs.** A configured transformer pickles (without its
    ``progress_callback``); its HTTP clients are created lazily in each
    worker, so it runs inside Ray Data's ``map_batches`` or Spark's
    ``mapPartitions``. ``redact`` and ``mask`` are stateless; ``hash`` stays
    consistent across workers when they share one ``hash_key`` (set it, e.g.
    from ``FASTINO_PII_HASH_KEY``; without it a random key is made per
    instance and travels with the pickle, but not to other runs);
    ``pseudonymize`` is **not** consistent across workers, as each worker
    numbers values on its own copy. Each worker also has its own
    ``requests_per_second`` limit, so divide the plan's limit by the number of
    workers::

        import ray
        from langchain_core.documents import Document

        pii = FastinoPIITransformer(strategy="hash", batch_size=32,
                                    requests_per_second=10 / 4)

        def scrub(batch):
            docs = [Document(page_content=t, id=i)
                    for t, i in zip(batch["text"], batch["id"])]
            out = pii.transform_documents(docs)
            return {"id": [d.id for d in out],
                    "text": [d.page_content for d in out]}

        ray.data.read_parquet("s3://corpus").map_batches(
            scrub, concurrency=4).write_parquet("s3://scrubbed")

    With Spark: ``rdd.mapPartitions(lambda rows:
    pii.transform_documents(list(rows)))`` (``on_error="drop"`` keeps one bad
    document from failing a whole partition; its id is logged).

    Example:
        >>> pii = FastinoPIITransformer(api_key="k", strategy="mask")
        >>> pii.transform_documents([])
        []

        Against the emulator (or the real API with a key)::

            from langchain_mlstudio.emulator import Emulator
            with Emulator(api_key="k") as emu:
                pii = FastinoPIITransformer(api_key="k", base_url=emu.base_url,
                                            strategy="pseudonymize")
                [doc] = pii.transform_documents(
                    [Document("Jamie Derran wrote from jamie@example.com")])
                doc.page_content   # '<FULL_NAME_1> wrote from <EMAIL_1>'
                pii.restore("Reply to <FULL_NAME_1>")  # 'Reply to Jamie Derran'
    """

    batch_size: int = Field(default=1, ge=1)
    """Chunks per request (1 on every plan; e.g. 32 on Pro or Team). With a
    ready ``client``, that client's own ``batch_size`` and
    ``requests_per_second`` apply instead of these two fields."""
    max_concurrency: int = Field(default=4, ge=1)
    """Requests in flight at once."""
    requests_per_second: float = Field(default=10.0, gt=0)
    """Client-side request rate limit (Fastino's plan limit is 10)."""
    chunk_size: int = Field(default=1500, ge=50)
    """Longest text sent in one input, in characters (about 250 words, well
    inside the ~384-word window of GLiNER-style models)."""
    chunk_overlap: int = Field(default=200, ge=0)
    """Characters shared by neighbouring chunks."""
    strategy: Strategy = "redact"
    """How a detected value is replaced."""
    mask_char: str = Field(default="*", min_length=1, max_length=1)
    """The character ``mask`` writes."""
    hash_key: SecretStr | None = Field(
        default_factory=secret_from_env("FASTINO_PII_HASH_KEY", default=None),
        repr=False,
    )
    """The ``hash`` strategy's key (share it across workers for stable tokens)."""
    on_error: Literal["raise", "drop"] = "raise"
    """What happens to documents whose detection failed."""
    include_values: bool = False
    """Put the detected raw values into ``pii_entities`` (off by default)."""
    replace_all_occurrences: bool = True
    """Also replace other whole-word occurrences of a detected value."""
    progress: bool = False
    """Show a progress line on stderr."""
    progress_callback: Callable[[int, int], None] | None = Field(
        default=None, exclude=True, repr=False
    )
    """Called with ``(inputs_done, inputs_total)`` after every request. Not
    pickled: a copy sent to a Ray or Spark worker has none (callbacks are
    often lambdas or closures that cannot be pickled)."""

    _pseudonymizer: Pseudonymizer = PrivateAttr(default_factory=Pseudonymizer)
    _hash_secret: bytes | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.chunk_overlap >= self.chunk_size:
            msg = "chunk_overlap must be smaller than chunk_size"
            raise ValueError(msg)
        if self.strategy == "hash" and self.hash_key is None:
            self._hash_secret = secrets.token_bytes(32)
        return self

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        # A progress callback is usually a lambda or closure that cannot be
        # pickled, and it reports to this process anyway: workers get none.
        state["__dict__"] = {**state["__dict__"], "progress_callback": None}
        return state

    def _build_client(self) -> FastinoClient:
        return FastinoClient(
            **self._client_kwargs(),
            batch_size=self.batch_size,
            requests_per_second=self.requests_per_second,
            max_concurrency=self.max_concurrency,
        )

    # -- mapping -----------------------------------------------------------

    @property
    def pseudonymizer(self) -> Pseudonymizer:
        """The ``pseudonymize`` strategy's mapping of values to placeholders."""
        return self._pseudonymizer

    def restore(self, text: str) -> str:
        """Put original values back in place of this instance's placeholders.

        Example:
            >>> pii = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
            >>> token = pii.pseudonymizer.token("full_name", "Jamie Derran")
            >>> pii.restore(f"Call {token}")
            'Call Jamie Derran'
        """
        return self._pseudonymizer.restore(text)

    def save_mapping(self, path: str | Path) -> None:
        """Save the placeholder mapping as JSON (it holds the raw values).

        Example:
            >>> import tempfile, os
            >>> pii = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
            >>> _ = pii.pseudonymizer.token("email", "a@b.example")
            >>> path = os.path.join(tempfile.mkdtemp(), "map.json")
            >>> pii.save_mapping(path)
            >>> other = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
            >>> other.load_mapping(path)
            >>> other.restore("<EMAIL_1>")
            'a@b.example'
        """
        self._pseudonymizer.save(path)

    def load_mapping(self, path: str | Path) -> None:
        """Load a mapping saved with :meth:`save_mapping` (numbering continues)."""
        self._pseudonymizer.load(path)

    # -- replacement -------------------------------------------------------

    def _key(self) -> bytes:
        if self.hash_key is not None:
            return self.hash_key.get_secret_value().encode()
        if self._hash_secret is None:
            self._hash_secret = secrets.token_bytes(32)
        return self._hash_secret

    def _replacement(self, span: Span, value: str) -> str:
        if self.strategy == "mask":
            return self.mask_char * len(value)
        if self.strategy == "hash":
            return hash_token(span.label, value, self._key())
        if self.strategy == "pseudonymize":
            return self._pseudonymizer.token(span.label, value)
        return redact_token(span.label)

    def _jobs(self, documents: Sequence[Document]) -> tuple[list[_DocJob], list[Chunk]]:
        jobs: list[_DocJob] = []
        inputs: list[Chunk] = []
        for i, doc in enumerate(documents):
            text = doc.page_content
            chunks = chunk_text(text, self.chunk_size, self.chunk_overlap) if text.strip() else []
            doc_id = str(doc.id) if doc.id is not None else f"#{i}"
            jobs.append(_DocJob(i, doc_id, text, chunks, len(inputs)))
            inputs.extend(chunks)
        return jobs, inputs

    def _finish(
        self,
        documents: Sequence[Document],
        jobs: list[_DocJob],
        outcomes: Sequence[FastinoResult | BaseException],
    ) -> list[Document]:
        output: list[Document] = []
        failed: dict[str, BaseException] = {}
        for job in jobs:
            try:
                results = outcomes[job.first_input : job.first_input + len(job.chunks)]
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
                doc = self._transform_one(documents[job.index], job, results)  # type: ignore[arg-type]
            except (MLStudioError, SpanError) as exc:
                failed[job.doc_id] = exc
                continue
            output.append(doc)
        if failed:
            ids = list(failed)
            if self.on_error == "raise":
                msg = (
                    f"PII detection failed for {len(ids)} of {len(jobs)} documents "
                    f"(ids: {', '.join(ids[:20])}{', ...' if len(ids) > 20 else ''})"
                )
                raise PIIDetectionError(msg, document_ids=ids, causes=failed)
            logger.warning(
                "PII detection failed for %d of %d documents; dropped ids: %s",
                len(ids),
                len(jobs),
                ", ".join(ids),
            )
        return output

    def _transform_one(self, doc: Document, job: _DocJob, results: list[FastinoResult]) -> Document:
        text = job.text
        resolved = pii_spans(
            text,
            [(c, r.pii_entities()) for c, r in zip(job.chunks, results, strict=True)],
            all_occurrences=self.replace_all_occurrences,
        )
        values = [text[s.start : s.end] for s in resolved]
        new_text = replace_spans(
            text, resolved, [self._replacement(s, v) for s, v in zip(resolved, values, strict=True)]
        )
        entities: list[dict[str, Any]] = []
        for span, value in zip(resolved, values, strict=True):
            entry: dict[str, Any] = {
                "label": span.label,
                "start": span.start,
                "end": span.end,
                "score": span.score,
            }
            if self.include_values:
                entry["text"] = value
            entities.append(entry)
        metadata = {
            **doc.metadata,
            "pii_entities": entities,
            "pii_strategy": self.strategy,
            "pii_model_id": self.model_id,
        }
        return Document(page_content=new_text, metadata=metadata, id=doc.id)

    # -- progress ----------------------------------------------------------

    def _reporter(self, total: int) -> Callable[[int], None]:
        done = 0
        lock = threading.Lock()

        def report(n: int) -> None:
            nonlocal done
            with lock:
                done += n
                current = done
            if self.progress_callback is not None:
                self.progress_callback(current, total)
            if self.progress:
                end = "\n" if current >= total else ""
                sys.stderr.write(f"\rFastino PII: {current}/{total} inputs{end}")
                sys.stderr.flush()

        return report

    # -- transform ---------------------------------------------------------

    def transform_documents(
        self, documents: Sequence[Document], **kwargs: Any
    ) -> Sequence[Document]:
        """Return redacted copies of ``documents`` (in input order).

        Requests run on up to ``max_concurrency`` threads.

        Raises:
            PIIDetectionError: With ``on_error="raise"``, when any document's
                detection failed (no document is returned then).
        """
        documents = list(documents)
        jobs, inputs = self._jobs(documents)
        outcomes = self.fastino_client.run(
            self.model_id,
            [c.text for c in inputs],
            parameters=self._parameters(self.entity_types, self.threshold),
            return_exceptions=True,
            max_concurrency=self.max_concurrency,
            on_batch=self._reporter(len(inputs)),
        )
        return self._finish(documents, jobs, outcomes)

    async def atransform_documents(
        self, documents: Sequence[Document], **kwargs: Any
    ) -> Sequence[Document]:
        """Async twin of :meth:`transform_documents` (bounded by ``max_concurrency``).

        Example:
            >>> import asyncio
            >>> pii = FastinoPIITransformer(api_key="k")
            >>> asyncio.run(pii.atransform_documents([]))
            []
        """
        documents = list(documents)
        jobs, inputs = self._jobs(documents)
        outcomes = await self.fastino_client.arun(
            self.model_id,
            [c.text for c in inputs],
            parameters=self._parameters(self.entity_types, self.threshold),
            return_exceptions=True,
            max_concurrency=self.max_concurrency,
            on_batch=self._reporter(len(inputs)),
        )
        return self._finish(documents, jobs, outcomes)
