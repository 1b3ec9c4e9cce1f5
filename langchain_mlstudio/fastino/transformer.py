"""``FastinoPIITransformer``: fail-closed PII removal for RAG preprocessing."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.documents import BaseDocumentTransformer, Document
from langchain_core.utils import secret_from_env
from pydantic import Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from langchain_mlstudio._core._http import RequestGate
from langchain_mlstudio.errors import MLStudioError
from langchain_mlstudio.fastino._documents import (
    by_document,
    document_id,
    plan_documents,
    rebuild_document,
    warn_if_split,
)
from langchain_mlstudio.fastino._failures import report_failures
from langchain_mlstudio.fastino._pipeline import DocumentField, entity_dicts, spans_of_document
from langchain_mlstudio.fastino._progress import DocumentProgress, input_counter
from langchain_mlstudio.fastino.client import FastinoClient
from langchain_mlstudio.fastino.offsets import SpanError
from langchain_mlstudio.fastino.pseudonymizer import Pseudonymizer
from langchain_mlstudio.fastino.results import FastinoResult
from langchain_mlstudio.fastino.settings import FastinoSettings
from langchain_mlstudio.fastino.spans import Span
from langchain_mlstudio.fastino.strategies import Strategy, hash_token, redact_token, replace_spans

__all__ = ["DEFAULT_KEEP_METADATA_KEYS", "FastinoPIITransformer"]

_ID_KEYS = ("id", "doc_id", "document_id", "parent_id", "chunk_id")  # name a document or part
_ORIGIN_KEYS = ("source", "start_index", "page")  # where its text comes from, and where in it

#: Metadata keys left alone by default: ids, sources and offsets, not personal data.
DEFAULT_KEEP_METADATA_KEYS: tuple[str, ...] = _ID_KEYS + _ORIGIN_KEYS


class FastinoPIITransformer(FastinoSettings, BaseDocumentTransformer):
    """Remove personal data from documents with Fastino's PII model, failing closed.

    Sits between loading and splitting in a RAG pipeline: **redact whole
    documents, then split** (a splitter cuts values at chunk edges, and a
    fragment such as ``Derr`` is no longer a name the model can find; the
    transformer warns once when its input looks split). Each document's text
    and every string in its metadata are sent to Fastino (long texts in
    overlapping chunks bounded in characters and in words, so no part of a
    chunk falls outside the model's window); every answer is checked against
    the text it was sent for (its echo, its offsets in code points, UTF-16
    units or UTF-8 bytes, its ``redacted_text``: the widest reading wins),
    overlaps are resolved and each span is replaced according to ``strategy``.
    Other occurrences of a detected value anywhere in the same document are
    replaced too, whatever their case, Unicode normalisation or zero-width
    characters.

    The output documents come in input order with the same ``id`` and the
    caller's metadata (its strings and dict keys redacted too, except the keys
    in ``keep_metadata_keys``) plus ``pii_entities`` (label, start, end and score,
    with offsets into the text; the values only with ``include_values=True``),
    ``pii_metadata_entities`` (the same, per metadata path such as ``to.0``,
    named by redacted keys; a key's own entities under ``rsvp.<EMAIL>(key)``),
    ``pii_strategy`` and ``pii_model_id``.

    **Unforgeable placeholders.** Placeholder-like text already in an input
    (``<FULL_NAME_1>``, ``<<EMAIL>>``) is neutralised to ``‹FULL_NAME_1›`` on
    the way in (same length, so offsets hold), also in metadata that is not
    redacted (kept keys, ``redact_metadata=False``), so it can never be
    restored to a value.

    **Fail closed.** A document whose detection failed (a request or an input
    failed, an answer does not echo its input, or its entities fit no reading
    of the text) never comes back unredacted: ``on_error="raise"`` raises
    :class:`PIIDetectionError` naming the failed documents by id (never by
    text) and its first cause; ``on_error="drop"`` leaves them out and logs
    their ids. When every document failed for the same non-transient reason
    (a wrong key, an unknown model, a request the plan refuses), that typed
    error is raised instead, with its fix, whatever ``on_error`` says.

    **Strategies.** ``redact`` writes ``<FULL_NAME>`` as the API does; ``mask``
    writes ``mask_char`` once per character; ``hash`` writes
    ``<FULL_NAME_3f9a0c1e>``, a keyed HMAC-SHA256 of the value (same value,
    same key: same token); ``pseudonymize`` writes ``<FULL_NAME_1_K7Q2X>``,
    numbered per mapping (``K7Q2X`` is the mapping's own namespace) and
    consistent across every document the instance sees; :meth:`restore` puts
    the originals back into a model's answer, scoped to what the model saw.
    Save the mapping with :meth:`save_mapping` (owner-only file) and load it
    with :meth:`load_mapping`.

    **Plans and speed.** ``batch_size=1`` works on every plan. On a Pro or Team
    plan raise it (e.g. ``batch_size=32``) to send that many chunks per request;
    ``requests_per_second`` (default 10, the documented limit of every plan) is
    held across every call on the instance, sync and async.

    **Distributed runs.** A configured transformer pickles (without its
    ``progress_callback`` and without any raw value of its mapping); its HTTP
    clients are created lazily in each worker, so it runs inside Ray Data's
    ``map_batches`` or Spark's ``mapPartitions``. ``redact`` and ``mask`` are
    stateless; ``hash`` stays consistent across workers when they share one
    ``hash_key`` (set it, e.g. from ``FASTINO_PII_HASH_KEY``; without it a
    random key is made per instance and travels with the pickle, but not to
    other runs); ``pseudonymize`` starts every worker with an empty mapping
    in a namespace of its own, so workers never issue the same token for two
    people (collect a worker's ``pseudonymizer.to_dict()`` to restore its
    tokens). Each worker also has its own ``requests_per_second`` limit, so
    divide the plan's limit by the number of workers::

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
                docs = pii.transform_documents(
                    [Document("Jamie Derran wrote from jamie@example.com")])
                docs[0].page_content  # '<FULL_NAME_1_K7Q2X> wrote from <EMAIL_1_K7Q2X>'
                answer = llm.invoke(docs[0].page_content).content
                pii.restore(answer, scope=docs)  # only tokens the model saw
    """

    batch_size: int = Field(default=1, ge=1)
    """Chunks per request (1 on every plan; e.g. 32 on Pro or Team). With a
    ready ``client``, that client's own ``batch_size`` and
    ``requests_per_second`` apply instead of these two fields."""
    max_concurrency: int = Field(default=4, ge=1)
    """Requests in flight at once."""
    requests_per_second: float = Field(default=10.0, gt=0)
    """Client-side request rate limit (Fastino's plan limit is 10)."""
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
    pseudonym_namespace: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,16}$")
    """The part ending every ``pseudonymize`` token (``K7Q2X`` in
    ``<FULL_NAME_1_K7Q2X>``); random per instance by default, so no two mappings
    issue the same token. Fix it only for reproducible examples: two mappings
    with one namespace issue the same tokens for different people. A copy or
    pickle always numbers in a new random namespace."""
    include_values: bool = False
    """Put the detected raw values into ``pii_entities`` (off by default)."""
    replace_all_occurrences: bool = True
    """Also replace other whole-word occurrences of a detected value."""
    redact_metadata: bool = True
    """Redact every string in ``Document.metadata`` (also inside lists, sets and dicts,
    and the keys of nested dicts); top-level keys and integers are searched for the
    values found in the document and replaced where they hold one."""
    keep_metadata_keys: tuple[str, ...] = DEFAULT_KEEP_METADATA_KEYS
    """Top-level metadata keys left unredacted (ids, sources, offsets); placeholder-like
    text in them is still neutralised, like everywhere else in the output."""
    progress: bool | None = None
    """Show documents done of total, rate and time left on stderr (through
    ``tqdm`` where installed): ``None`` (default) once a run lasts 2 s,
    ``True`` always, ``False`` never (``LANGCHAIN_MLSTUDIO_PROGRESS=off``
    turns the automatic display off for a whole process)."""
    progress_callback: Callable[[int, int], None] | None = Field(
        default=None, exclude=True, repr=False
    )
    """Called with ``(inputs_done, inputs_total)`` after every request. Not
    pickled: a copy sent to a Ray or Spark worker has none (callbacks are
    often lambdas or closures that cannot be pickled)."""
    rate_gate: RequestGate | None = Field(default=None, exclude=True, repr=False)
    """A request gate used instead of ``requests_per_second`` (e.g. one limit
    shared by every worker of a cluster, as ``langchain_mlstudio.ray`` injects);
    ignored with a ready ``client``, whose own gate applies."""

    _pseudonymizer: Pseudonymizer = PrivateAttr(default_factory=Pseudonymizer)
    _hash_secret: bytes | None = PrivateAttr(default=None)
    _warned_split: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.pseudonym_namespace is not None:
            self._pseudonymizer = Pseudonymizer(self.pseudonym_namespace)
        if self.strategy == "hash" and self.hash_key is None:
            self._hash_secret = secrets.token_bytes(32)
        return self

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        # A progress callback is usually a lambda or closure that cannot be
        # pickled, and it reports to this process anyway: workers get none.
        # The pseudonymizer pickles empty (no raw value travels).
        state["__dict__"] = {**state["__dict__"], "progress_callback": None}
        return state

    def _build_client(self) -> FastinoClient:
        return FastinoClient(
            **self._client_kwargs(),
            batch_size=self.batch_size,
            requests_per_second=self.requests_per_second,
            max_concurrency=self.max_concurrency,
            rate_gate=self.rate_gate,
        )

    # -- mapping -----------------------------------------------------------

    @property
    def pseudonymizer(self) -> Pseudonymizer:
        """The ``pseudonymize`` strategy's mapping of values to placeholders."""
        return self._pseudonymizer

    def use_pseudonymizer(self, pseudonymizer: Pseudonymizer) -> None:
        """Number ``pseudonymize`` tokens with ``pseudonymizer`` from now on.

        The hook for a mapping shared beyond this instance (one mapping for
        every worker of a run, as ``langchain_mlstudio.ray`` installs):
        :meth:`restore` and :meth:`save_mapping` then use it too.

        Example:
            >>> pii = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
            >>> shared = Pseudonymizer(namespace="RUN")
            >>> pii.use_pseudonymizer(shared)
            >>> pii.pseudonymizer is shared
            True
        """
        self._pseudonymizer = pseudonymizer

    def restore(self, text: str, *, scope: Iterable[str | Document] | None = None) -> str:
        """Put original values back in place of this instance's placeholders.

        Tokens an LLM mangled in common ways (case, spaces, full-width or
        doubled brackets) are restored whole; unknown tokens, tokens of other
        mappings and, with ``scope``, tokens the model did not see stay as
        they are.

        Args:
            text: A model's answer.
            scope: What the model actually saw: the documents (or texts, or
                tokens) given to it. Pass it whenever you can: a token that a
                user typed or guessed (``<FULL_NAME_2_...>``) then stays a token.

        Example:
            >>> pii = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
            >>> seen = pii.pseudonymizer.token("full_name", "Jamie Derran")
            >>> other = pii.pseudonymizer.token("full_name", "Anna Rossi")
            >>> answer = f"Call {seen.lower()}, not {other}"
            >>> pii.restore(answer, scope=[seen]) == f"Call Jamie Derran, not {other}"
            True
        """
        return self._pseudonymizer.restore(text, scope=scope)

    def save_mapping(self, path: str | Path) -> None:
        """Save the placeholder mapping as JSON, readable by its owner only (0600).

        The file holds the raw values; it is written atomically (a temporary
        file created with mode 0600, then renamed), whatever the umask.

        Example:
            >>> import tempfile, os, stat
            >>> pii = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
            >>> token = pii.pseudonymizer.token("email", "a@b.example")
            >>> path = os.path.join(tempfile.mkdtemp(), "map.json")
            >>> pii.save_mapping(path)
            >>> oct(stat.S_IMODE(os.stat(path).st_mode))
            '0o600'
            >>> other = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
            >>> other.load_mapping(path)
            >>> other.restore(token)
            'a@b.example'
        """
        self._pseudonymizer.save(path)

    def load_mapping(self, path: str | Path) -> None:
        """Load a mapping saved with :meth:`save_mapping`; its tokens resolve here too."""
        self._pseudonymizer.load(path)

    # -- replacement -------------------------------------------------------

    def _hash_secret_bytes(self) -> bytes:
        if self.hash_key is not None:
            return self.hash_key.get_secret_value().encode()
        if self._hash_secret is None:
            self._hash_secret = secrets.token_bytes(32)
        return self._hash_secret

    def _replacement(self, span: Span, value: str) -> str:
        if self.strategy == "mask":
            return self.mask_char * len(value)
        if self.strategy == "hash":
            return hash_token(span.label, value, self._hash_secret_bytes())
        if self.strategy == "pseudonymize":
            return self._pseudonymizer.token(span.label, value)
        return redact_token(span.label)

    def _entities(self, text: str, spans: Sequence[Span]) -> list[dict[str, Any]]:
        return entity_dicts(text, spans, include_values=self.include_values)

    def _replaced_text(self, field: DocumentField) -> str:
        values = [field.text[s.start : s.end] for s in field.spans]
        tokens = [self._replacement(s, v) for s, v in zip(field.spans, values, strict=True)]
        return replace_spans(field.text, field.spans, tokens)

    # -- planning and finishing --------------------------------------------

    def _plan(self, documents: Sequence[Document]) -> tuple[list[DocumentField], list[str]]:
        if not self._warned_split:
            self._warned_split = warn_if_split(documents, stacklevel=5)
        return plan_documents(
            documents,
            self.chunk_bounds,
            redact_metadata=self.redact_metadata,
            keep=self.keep_metadata_keys,
        )

    def _per_document(
        self,
        documents: Sequence[Document],
        fields: list[DocumentField],
        outcomes: Sequence[FastinoResult | BaseException],
    ) -> list[Document | Exception]:
        """Each document's redacted copy, or the error that failed it (never the input)."""
        grouped = by_document(fields)
        output: list[Document | Exception] = []
        for i, doc in enumerate(documents):
            try:
                spans_of_document(
                    grouped[i], outcomes, all_occurrences=self.replace_all_occurrences
                )
            except (MLStudioError, SpanError) as exc:
                output.append(exc)
                continue
            output.append(self._redacted_copy(doc, grouped[i]))
        return output

    def _finish(
        self,
        documents: Sequence[Document],
        fields: list[DocumentField],
        outcomes: Sequence[FastinoResult | BaseException],
        *,
        on_error: Literal["raise", "drop"],
    ) -> list[Document]:
        each = self._per_document(documents, fields, outcomes)
        failed = {
            document_id(doc, i): outcome
            for i, (doc, outcome) in enumerate(zip(documents, each, strict=True))
            if isinstance(outcome, Exception)
        }
        if failed:
            sent = {field.document for field in fields if field.chunks}  # blank: no request
            report_failures(failed, len(documents), len(sent), on_error)
        return [outcome for outcome in each if isinstance(outcome, Document)]

    def _redacted_copy(self, doc: Document, fields: list[DocumentField]) -> Document:
        return rebuild_document(
            doc,
            fields,
            self._replaced_text,
            self._entities,
            {"pii_strategy": self.strategy, "pii_model_id": self.model_id},
        )

    # -- transform ---------------------------------------------------------

    def _run_kwargs(self, inputs: list[str], bar: DocumentProgress) -> dict[str, Any]:
        return {
            "parameters": self._parameters(self.entity_types, self.threshold),
            "return_exceptions": True,
            "max_concurrency": self.max_concurrency,
            "on_batch": input_counter(self.progress_callback, len(inputs)),
            "on_done": bar.inputs_done,
        }

    def _detect(
        self, documents: list[Document]
    ) -> tuple[list[DocumentField], list[FastinoResult | MLStudioError]]:
        fields, inputs = self._plan(documents)
        with DocumentProgress(len(documents), fields, enabled=self.progress) as bar:
            outcomes = self.fastino_client.run(
                self.model_id, inputs, **self._run_kwargs(inputs, bar)
            )
        return fields, outcomes

    async def _adetect(
        self, documents: list[Document]
    ) -> tuple[list[DocumentField], list[FastinoResult | MLStudioError]]:
        fields, inputs = self._plan(documents)
        with DocumentProgress(len(documents), fields, enabled=self.progress) as bar:
            outcomes = await self.fastino_client.arun(
                self.model_id, inputs, **self._run_kwargs(inputs, bar)
            )
        return fields, outcomes

    def _transform(
        self, documents: Sequence[Document], on_error: Literal["raise", "drop"]
    ) -> list[Document]:
        documents = list(documents)
        fields, outcomes = self._detect(documents)
        return self._finish(documents, fields, outcomes, on_error=on_error)

    async def _atransform(
        self, documents: Sequence[Document], on_error: Literal["raise", "drop"]
    ) -> list[Document]:
        documents = list(documents)
        fields, outcomes = await self._adetect(documents)
        return self._finish(documents, fields, outcomes, on_error=on_error)

    def transform_documents(
        self, documents: Sequence[Document], **kwargs: Any
    ) -> Sequence[Document]:
        """Return redacted copies of ``documents`` (in input order).

        Requests run on up to ``max_concurrency`` threads.

        Raises:
            PIIDetectionError: With ``on_error="raise"``, when any document's
                detection failed (no document is returned then).
            MLStudioError: Every document failed for the same non-transient
                reason (e.g. ``AuthenticationError`` for a wrong key).
        """
        return self._transform(documents, self.on_error)

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
        return await self._atransform(documents, self.on_error)

    def redact(self, text: str) -> str:
        """``text`` with its personal data replaced by ``strategy``; always fails closed.

        The one-text form of :meth:`transform_documents` (same chunking,
        checks and placeholders), for code such as agent middleware that
        holds strings, not documents. It raises whatever ``on_error`` says.

        Raises:
            PIIDetectionError: Detection failed.
            MLStudioError: A non-transient failure (e.g. a wrong key).

        Example:
            >>> FastinoPIITransformer(api_key="k").redact("   ")
            '   '
        """
        [doc] = self._transform([Document(text)], "raise")
        return doc.page_content

    async def aredact(self, text: str) -> str:
        """Async twin of :meth:`redact`.

        Example:
            >>> import asyncio
            >>> asyncio.run(FastinoPIITransformer(api_key="k").aredact(""))
            ''
        """
        [doc] = await self._atransform([Document(text)], "raise")
        return doc.page_content

    def transform_each(self, documents: Sequence[Document]) -> list[Document | Exception]:
        """One outcome per document, in input order: its redacted copy or its error.

        The per-document form of :meth:`transform_documents` for callers that
        keep their own record of failures (``langchain_mlstudio.ray`` marks a
        row ``failed``): a document whose detection failed is replaced by the
        error, never returned unredacted, and nothing is raised or logged for
        it whatever ``on_error`` says.

        Example:
            >>> pii = FastinoPIITransformer(api_key="k")
            >>> [d.page_content for d in pii.transform_each([Document("  ")])]
            ['  ']
        """
        documents = list(documents)
        fields, outcomes = self._detect(documents)
        return self._per_document(documents, fields, outcomes)
