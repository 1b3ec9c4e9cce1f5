"""Fastino's inference API: ``POST /run``.

Request: ``{"model_id": ..., "input": [{"text": ..., "parameters": {...}}]}``
with the key in the ``x-api-key`` header. Several objects in ``input`` (batch
inference) are a Pro and Team plan feature; every plan may send 10 requests
per second. Parameters left out fall back to the custom endpoint's defaults.

Response: a JSON array, one object per input, each echoing its input::

    [{"input": "...", "latency_ms": 77.3, "message": "Responses from endpoint.",
      "output": {"entities": [{"start", "end", "label", "text", "score"}],
                 "redacted_text": "<TIME> for a <CAR> for <FULL_NAME>"},
      "status": "success"}]

Answers are matched to inputs by their ``input`` echo, not by position: a
batch answered in another order is re-matched, and an input that no answer
echoes fails closed. Errors never keep a server message or body that quotes
an input's text.

Errors: a 401 right after creating a key is expected (a new key needs about
a minute to propagate); 429 is retried by the shared HTTP layer; an input
whose ``status`` is not ``success`` becomes a :class:`FastinoInputError`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, overload

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from langchain_mlstudio._core._calls import Call
from langchain_mlstudio._core._http import HTTPTransport, RequestGate
from langchain_mlstudio._core._limits import RequestsPerSecond
from langchain_mlstudio._core._locks import InstanceLock
from langchain_mlstudio._core._retry import Safety
from langchain_mlstudio._core._settings import Service
from langchain_mlstudio.errors import MLStudioError
from langchain_mlstudio.fastino import _echo
from langchain_mlstudio.fastino._batches import Batch, BatchRun, Inputs, Outcome, cut, read_answers
from langchain_mlstudio.fastino.results import FastinoResult

DEFAULT_BASE_URL = "https://api.fastino.com"
PROPAGATION_HINT = (
    "Check FASTINO_API_KEY (or api_key). A new Fastino key needs about a minute to "
    "propagate (about 60 s) after it is created: if the key is new, wait and retry."
)

#: Fastino's configuration: its key and base URL variables, its public host,
#: and the advice a 401 gets (a new key takes about a minute to work).
FASTINO = Service(
    "Fastino",
    api_key_env="FASTINO_API_KEY",
    base_url_env="FASTINO_BASE_URL",
    default_base_url=DEFAULT_BASE_URL,
    status_hints={401: PROPAGATION_HINT},
)

__all__ = ["DEFAULT_BASE_URL", "FASTINO", "PROPAGATION_HINT", "FastinoClient"]

#: The client's fields that :meth:`Service.settings` takes as they are.
_HANDED_ON = (
    "api_key",
    "base_url",
    "timeout",
    "max_retries",
    "default_headers",
    "http_client",
    "http_async_client",
)


class FastinoClient(BaseModel):
    """A client for Fastino's ``/run`` endpoint, sync and async.

    One instance holds one HTTP connection pool per event loop and one
    ``requests_per_second`` limit shared by every call on it, sync and async,
    first tries and retries alike. A configured client pickles (the HTTP
    clients and locks are created again, lazily, after unpickling).

    Args:
        api_key: The key (default: ``FASTINO_API_KEY``).
        base_url: The API root (default: ``FASTINO_BASE_URL`` or
            ``https://api.fastino.com``).
        timeout: Seconds one HTTP request may take.
        max_retries: Retries of transient failures (429, 5xx, network).
        batch_size: The most inputs sent in one request. ``1`` works on every
            plan; batch inference needs a Pro or Team plan, where e.g. ``32``
            cuts the number of requests (and the time) by that factor.
        requests_per_second: Client-side limit (Fastino's documented plan
            limit is 10 per second). Requests start at least
            ``(1 + 0.05) / requests_per_second`` seconds apart, so no 1-second
            window at the server sees more even if a request is delayed by up
            to 50 ms on its way.
        max_concurrency: Requests in flight at once when a call splits into
            several batches.
        default_headers: Headers merged into every request.
        http_client: An ``httpx.Client`` to use instead of creating one.
        http_async_client: An ``httpx.AsyncClient`` to use instead.
        rate_gate: A :class:`~langchain_mlstudio._core._http.RequestGate` to
            consult before every attempt instead of the client's own
            ``requests_per_second`` limit, e.g. one limit shared by every
            worker of a cluster (``langchain_mlstudio.ray`` injects one). It
            must pickle if the client is to be pickled.

    Example:
        >>> client = FastinoClient(api_key="k", base_url="http://127.0.0.1:1")
        >>> client.batch_size, client.requests_per_second
        (1, 10.0)

        With a key and the emulator (or the real API)::

            results = client.run("fastino-pii", ["Call Jamie Derran at 9 AM"])
            print(results[0].redacted_text)
    """

    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, validate_assignment=False
    )

    api_key: SecretStr | None = Field(
        alias="api_key",
        default_factory=secret_from_env("FASTINO_API_KEY", default=None),
        repr=False,
    )
    base_url: str = Field(default_factory=from_env("FASTINO_BASE_URL", default=DEFAULT_BASE_URL))
    timeout: float | None = 30.0
    max_retries: int = Field(default=2, ge=0)
    batch_size: int = Field(default=1, ge=1)
    requests_per_second: float = Field(default=10.0, gt=0)
    max_concurrency: int = Field(default=4, ge=1)
    default_headers: dict[str, str] | None = None
    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)
    rate_gate: RequestGate | None = Field(default=None, exclude=True, repr=False)

    _transport: HTTPTransport | None = PrivateAttr(default=None)
    _lock: InstanceLock = PrivateAttr(default_factory=InstanceLock)

    # -- lifecycle ---------------------------------------------------------

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        fields = dict(state["__dict__"])
        fields["http_client"] = None
        fields["http_async_client"] = None
        state["__dict__"] = fields
        # The transport (and its rate gate) is rebuilt lazily in each process.
        # The lock pickles as a new one (it is never shared across processes).
        state["__pydantic_private__"] = {"_transport": None, "_lock": InstanceLock()}
        return state

    @property
    def transport(self) -> HTTPTransport:
        """The HTTP transport, created on first use with the rate gate."""
        if self._transport is None:
            with self._lock:
                if self._transport is None:
                    self._transport = self._build_transport()
        return self._transport

    def _build_transport(self) -> HTTPTransport:
        settings = FASTINO.settings(
            **{name: getattr(self, name) for name in _HANDED_ON},
            require_key=False,  # checked by the first request, like a missing key
        )
        gate = self.rate_gate
        return settings.transport(
            self._auth_headers,
            gate=gate if gate is not None else RequestsPerSecond(self.requests_per_second),
        )

    def _auth_headers(self) -> dict[str, str]:
        return {"x-api-key": FASTINO.key_of(self.api_key)}

    def close(self) -> None:
        """Close the synchronous HTTP client the instance created."""
        if self._transport is not None:
            self._transport.close()

    async def aclose(self) -> None:
        """Close the running loop's asynchronous HTTP client, if created here."""
        if self._transport is not None:
            await self._transport.aclose()

    # -- requests ----------------------------------------------------------

    @staticmethod
    def _run_call(batch: Batch) -> Call[list[Outcome]]:
        """``POST /run`` with the batch's inputs; the answer read input by input."""
        return Call(
            "POST",
            "/run",
            functools.partial(read_answers, batch=batch),
            json_body=batch.payload,
            safety=Safety.IDEMPOTENT,
        )

    def _send_batch(self, batch: Batch) -> list[Outcome]:
        try:
            return self.transport.call(self._run_call(batch))
        except MLStudioError as exc:  # no server text quoting an input escapes
            scrubbed = _echo.scrub_error(exc, batch.texts)
            raise scrubbed from scrubbed.__cause__  # the network error, or nothing

    async def _asend_batch(self, batch: Batch) -> list[Outcome]:
        try:
            return await self.transport.acall(self._run_call(batch))
        except MLStudioError as exc:
            scrubbed = _echo.scrub_error(exc, batch.texts)
            raise scrubbed from scrubbed.__cause__

    def _batch_run(
        self,
        model_id: str,
        inputs: Inputs,
        *,
        parameters: Mapping[str, Any] | None,
        return_exceptions: bool,
        on_batch: Callable[[int], None] | None,
        on_done: Callable[[range], None] | None,
    ) -> BatchRun:
        batches = cut(model_id, inputs, parameters, self.batch_size)
        return BatchRun(batches, return_exceptions, on_batch, on_done)

    @overload
    def run(
        self,
        model_id: str,
        inputs: Inputs,
        *,
        parameters: Mapping[str, Any] | None = ...,
        return_exceptions: Literal[False] = ...,
        max_concurrency: int | None = ...,
        on_batch: Callable[[int], None] | None = ...,
        on_done: Callable[[range], None] | None = ...,
    ) -> list[FastinoResult]: ...

    @overload
    def run(
        self,
        model_id: str,
        inputs: Inputs,
        *,
        parameters: Mapping[str, Any] | None = ...,
        return_exceptions: Literal[True],
        max_concurrency: int | None = ...,
        on_batch: Callable[[int], None] | None = ...,
        on_done: Callable[[range], None] | None = ...,
    ) -> list[FastinoResult | MLStudioError]: ...

    def run(
        self,
        model_id: str,
        inputs: Inputs,
        *,
        parameters: Mapping[str, Any] | None = None,
        return_exceptions: bool = False,
        max_concurrency: int | None = None,
        on_batch: Callable[[int], None] | None = None,
        on_done: Callable[[range], None] | None = None,
    ) -> list[Any]:
        """Run a model on each input; one result per input, in input order.

        Inputs are sent in requests of at most ``batch_size`` each, up to
        ``max_concurrency`` at a time, within ``requests_per_second``.

        Args:
            model_id: The model or custom endpoint id, e.g. ``"fastino-pii"``.
            inputs: Texts, or ``{"text", "parameters"}`` objects.
            parameters: Parameters for every plain-text input (e.g.
                ``{"entity_types": [...], "threshold": 0.3}``); ``None`` sends
                none, so the endpoint's own defaults apply.
            return_exceptions: Put a failed input's (or failed request's)
                :class:`MLStudioError` in its place instead of raising it.
            max_concurrency: Requests in flight at once for this call
                (default: the client's ``max_concurrency``).
            on_batch: Called with the number of inputs a request carried once
                that request is done (also when it failed and
                ``return_exceptions`` is set), e.g. to drive a progress bar.
                It may be called from worker threads.
            on_done: Like ``on_batch``, but called with the indices (into
                ``inputs``) of the inputs the request carried, to tell which
                inputs are done.

        Returns:
            One :class:`FastinoResult` per input.

        Raises:
            FastinoInputError: An input's status was not success.
            MLStudioError: The request failed (subclass by cause).

        Example:
            >>> FastinoClient(api_key="k").run("fastino-pii", [])
            []
        """
        run = self._batch_run(
            model_id,
            inputs,
            parameters=parameters,
            return_exceptions=return_exceptions,
            on_batch=on_batch,
            on_done=on_done,
        )
        concurrency = self.max_concurrency if max_concurrency is None else max_concurrency
        send = functools.partial(run.send, send=self._send_batch)
        if len(run.batches) <= 1 or concurrency <= 1:
            outcomes = [send(batch) for batch in run.batches]
        else:
            workers = min(concurrency, len(run.batches))
            with ThreadPoolExecutor(workers, thread_name_prefix="fastino") as pool:
                outcomes = list(pool.map(send, run.batches))
        return run.results(outcomes)

    @overload
    async def arun(
        self,
        model_id: str,
        inputs: Inputs,
        *,
        parameters: Mapping[str, Any] | None = ...,
        return_exceptions: Literal[False] = ...,
        max_concurrency: int | None = ...,
        on_batch: Callable[[int], None] | None = ...,
        on_done: Callable[[range], None] | None = ...,
    ) -> list[FastinoResult]: ...

    @overload
    async def arun(
        self,
        model_id: str,
        inputs: Inputs,
        *,
        parameters: Mapping[str, Any] | None = ...,
        return_exceptions: Literal[True],
        max_concurrency: int | None = ...,
        on_batch: Callable[[int], None] | None = ...,
        on_done: Callable[[range], None] | None = ...,
    ) -> list[FastinoResult | MLStudioError]: ...

    async def arun(
        self,
        model_id: str,
        inputs: Inputs,
        *,
        parameters: Mapping[str, Any] | None = None,
        return_exceptions: bool = False,
        max_concurrency: int | None = None,
        on_batch: Callable[[int], None] | None = None,
        on_done: Callable[[range], None] | None = None,
    ) -> list[Any]:
        """Async twin of :meth:`run` (batches run concurrently on the loop).

        Example:
            >>> import asyncio
            >>> asyncio.run(FastinoClient(api_key="k").arun("fastino-pii", []))
            []
        """
        run = self._batch_run(
            model_id,
            inputs,
            parameters=parameters,
            return_exceptions=return_exceptions,
            on_batch=on_batch,
            on_done=on_done,
        )
        concurrency = self.max_concurrency if max_concurrency is None else max_concurrency
        semaphore = asyncio.Semaphore(max(1, concurrency))

        async def send(batch: Batch) -> list[Outcome]:
            async with semaphore:
                return await self._asend_batch(batch)

        outcomes = await asyncio.gather(*(run.asend(batch, send) for batch in run.batches))
        return run.results(outcomes)
