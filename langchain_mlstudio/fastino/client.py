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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, overload

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
)

from langchain_mlstudio._core._calls import APIResponse
from langchain_mlstudio._core._errors import describe_validation_error
from langchain_mlstudio._core._http import HTTPTransport, RequestGate
from langchain_mlstudio._core._limits import RequestsPerSecond
from langchain_mlstudio._core._locks import InstanceLock
from langchain_mlstudio._core._retry import Safety
from langchain_mlstudio._core._settings import require
from langchain_mlstudio.errors import MalformedResponseError, MLStudioError
from langchain_mlstudio.fastino import _echo

DEFAULT_BASE_URL = "https://api.fastino.com"
SERVICE = "Fastino"
PROPAGATION_HINT = (
    "Check FASTINO_API_KEY (or api_key). A new Fastino key needs about a minute to "
    "propagate (about 60 s) after it is created: if the key is new, wait and retry."
)

__all__ = [
    "FastinoClient",
    "FastinoEntity",
    "FastinoInput",
    "FastinoInputError",
    "FastinoResult",
]


class FastinoEntity(BaseModel):
    """One entity the model found, with offsets into the input it was sent.

    Example:
        >>> e = FastinoEntity(start=0, end=4, label="time", text="9 AM", score=0.59)
        >>> e.end - e.start
        4
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    start: int
    end: int
    label: str
    text: str
    score: float = 1.0


class FastinoResult(BaseModel):
    """The model's answer for one input.

    Attributes:
        input: The text as the server received it.
        entities: The entities found (PII models), in the server's order.
        redacted_text: The text with each entity replaced by ``<LABEL>``.
        latency_ms: Model inference time reported by the server.
        status: ``"success"`` (results with another status are raised or
            returned as :class:`FastinoInputError`).
        message: The server's message for this input.
        output: The raw ``output`` object (its shape varies by model).

    Example:
        >>> r = FastinoResult(input="hi", status="success", output={"entities": []})
        >>> r.pii_entities()
        []
    """

    model_config = ConfigDict(extra="ignore")

    input: str = ""
    entities: list[FastinoEntity] = Field(default_factory=list)
    redacted_text: str | None = None
    latency_ms: float | None = None
    status: str
    message: str | None = None
    output: dict[str, Any] = Field(default_factory=dict)

    def pii_entities(self) -> list[FastinoEntity]:
        """The entities of a PII model's answer, refusing an answer that has none.

        A PII answer without an ``entities`` list is not "nothing found": it is
        a malformed answer, and treating it as clean text would fail open.

        Raises:
            MalformedResponseError: ``output`` has no ``entities`` list.
        """
        if not isinstance(self.output.get("entities"), list):
            msg = "Fastino's answer has no 'entities' list, so nothing can be trusted as clean"
            raise MalformedResponseError(msg)
        return self.entities


class FastinoInput(BaseModel):
    """One object of a request's ``input`` array.

    Example:
        >>> FastinoInput(text="Jamie", parameters={"threshold": 0.3}).text
        'Jamie'
    """

    text: str
    parameters: dict[str, Any] | None = None


class FastinoInputError(MLStudioError):
    """Fastino answered, but one input's ``status`` was not ``success``.

    Attributes:
        index: The input's position in the ``inputs`` passed to ``run``.
        input_status: The status the server reported for it.

    Example:
        >>> err = FastinoInputError("Input 2 failed", index=2, input_status="error")
        >>> err.index
        2
    """

    default_hint = "Retry the input; report the request id if it keeps failing."

    def __init__(
        self, message: str, *, index: int, input_status: str | None, **kwargs: Any
    ) -> None:
        self.index = index
        self.input_status = input_status
        super().__init__(message, **kwargs)


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
        return HTTPTransport(
            SERVICE,
            self.base_url,
            self._auth_headers,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers,
            http_client=self.http_client,
            http_async_client=self.http_async_client,
            gate=(
                self.rate_gate
                if self.rate_gate is not None
                else RequestsPerSecond(self.requests_per_second)
            ),
            status_hints={401: PROPAGATION_HINT},
        )

    def _auth_headers(self) -> dict[str, str]:
        key = require(self.api_key, setting="api_key", env_var="FASTINO_API_KEY", service=SERVICE)
        return {"x-api-key": key}

    def close(self) -> None:
        """Close the synchronous HTTP client the instance created."""
        if self._transport is not None:
            self._transport.close()

    async def aclose(self) -> None:
        """Close the running loop's asynchronous HTTP client, if created here."""
        if self._transport is not None:
            await self._transport.aclose()

    # -- requests ----------------------------------------------------------

    def _payloads(
        self,
        model_id: str,
        inputs: Sequence[str | FastinoInput | Mapping[str, Any]],
        parameters: Mapping[str, Any] | None,
    ) -> list[tuple[int, dict[str, Any]]]:
        items: list[dict[str, Any]] = []
        for item in inputs:
            if isinstance(item, str):
                obj: dict[str, Any] = {"text": item}
                if parameters is not None:
                    obj["parameters"] = dict(parameters)
            else:
                parsed = (
                    item if isinstance(item, FastinoInput) else FastinoInput.model_validate(item)
                )
                obj = {"text": parsed.text}
                params = parsed.parameters if parsed.parameters is not None else parameters
                if params is not None:
                    obj["parameters"] = dict(params)
            items.append(obj)
        size = self.batch_size
        return [
            (start, {"model_id": model_id, "input": items[start : start + size]})
            for start in range(0, len(items), size)
        ]

    def _parse(
        self, response: APIResponse, offset: int, inputs: Sequence[str | Mapping[str, Any]]
    ) -> list[FastinoResult | MLStudioError]:
        items = [{"text": item} if isinstance(item, str) else item for item in inputs]
        texts = [item["text"] for item in items]
        data = response.data
        sent = len(texts)
        if not isinstance(data, list) or len(data) != sent:
            got = f"{len(data)} results" if isinstance(data, list) else type(data).__name__
            msg = f"Fastino /run answered {sent} inputs with {got}"
            raise MalformedResponseError(
                msg, status_code=response.status_code, request_id=response.request_id
            )
        slots = _echo.match_echoes(texts, data)
        contradicted = _echo.contradicted_in_batch(items, data)
        return [
            _echo.disagreement(offset + i, response.status_code, response.request_id)
            if texts[i] in contradicted
            else self._parse_one(response, offset + i, texts[i], data[slot])
            if slot is not None
            else MalformedResponseError(
                f"No answer of Fastino's batch echoes input {offset + i} (each answer's "
                "'input' must equal the text sent), so its entities cannot be trusted",
                status_code=response.status_code,
                request_id=response.request_id,
            )
            for i, slot in enumerate(slots)
        ]

    @staticmethod
    def _parse_one(
        response: APIResponse, index: int, text: str, raw: Any
    ) -> FastinoResult | MLStudioError:
        try:
            if not isinstance(raw, dict) or not isinstance(raw.get("status"), str):
                raise TypeError("a result needs a 'status' string")
            output = raw.get("output")
            if output is None and raw["status"].lower() != "success":
                output = {}
            if not isinstance(output, dict):
                raise TypeError("a result needs an 'output' object")
            result = FastinoResult.model_validate(
                {
                    **raw,
                    "output": output,
                    "entities": output.get("entities") or [],
                    "redacted_text": output.get("redacted_text"),
                }
            )
        except (TypeError, ValidationError) as exc:
            # Only field names: the raw result may quote the input's PII.
            problem = describe_validation_error(exc) if isinstance(exc, ValidationError) else exc
            return MalformedResponseError(
                f"Fastino's result for input {index} is not in the documented shape ({problem})",
                status_code=response.status_code,
                request_id=response.request_id,
            )
        if result.status.lower() != "success":
            status = _echo.withhold_echo(result.status, [text])
            return FastinoInputError(
                f"Fastino could not process input {index} (status {status!r})",
                index=index,
                input_status=status,
                server_message=_echo.withhold_echo(result.message, [text]),
                request_id=response.request_id,
            )
        return result

    def _send_batch(
        self, offset: int, payload: dict[str, Any]
    ) -> list[FastinoResult | MLStudioError]:
        texts = [item["text"] for item in payload["input"]]
        try:
            response = self.transport.request(
                "POST", "/run", json_body=payload, safety=Safety.IDEMPOTENT
            )
        except MLStudioError as exc:
            raise _echo.scrub_error(exc, texts) from None
        return self._parse(response, offset, payload["input"])

    async def _asend_batch(
        self, offset: int, payload: dict[str, Any]
    ) -> list[FastinoResult | MLStudioError]:
        texts = [item["text"] for item in payload["input"]]
        try:
            response = await self.transport.arequest(
                "POST", "/run", json_body=payload, safety=Safety.IDEMPOTENT
            )
        except MLStudioError as exc:
            raise _echo.scrub_error(exc, texts) from None
        return self._parse(response, offset, payload["input"])

    @staticmethod
    def _finish(
        payloads: list[tuple[int, dict[str, Any]]],
        outcomes: list[list[FastinoResult | MLStudioError]],
        *,
        return_exceptions: bool,
    ) -> list[Any]:
        flat = [item for batch in outcomes for item in batch]
        keys = [_echo.request_key(item) for _, payload in payloads for item in payload["input"]]
        _echo.fail_disagreeing(keys, flat)  # one input answered differently in two requests
        if not return_exceptions:
            for item in flat:
                if isinstance(item, MLStudioError):
                    raise item
        return flat

    @overload
    def run(
        self,
        model_id: str,
        inputs: Sequence[str | FastinoInput | Mapping[str, Any]],
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
        inputs: Sequence[str | FastinoInput | Mapping[str, Any]],
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
        inputs: Sequence[str | FastinoInput | Mapping[str, Any]],
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
        payloads = self._payloads(model_id, inputs, parameters)
        if not payloads:
            return []

        concurrency = self.max_concurrency if max_concurrency is None else max_concurrency

        def send(job: tuple[int, dict[str, Any]]) -> list[FastinoResult | MLStudioError]:
            offset, payload = job
            try:
                results = self._send_batch(offset, payload)
            except MLStudioError as exc:
                if not return_exceptions:
                    raise
                results = [exc] * len(payload["input"])
            if on_batch is not None:
                on_batch(len(results))
            if on_done is not None:
                on_done(range(offset, offset + len(results)))
            return results

        if len(payloads) == 1 or concurrency <= 1:
            outcomes = [send(job) for job in payloads]
        else:
            with ThreadPoolExecutor(
                min(concurrency, len(payloads)),
                thread_name_prefix="fastino",
            ) as pool:
                outcomes = list(pool.map(send, payloads))
        return self._finish(payloads, outcomes, return_exceptions=return_exceptions)

    @overload
    async def arun(
        self,
        model_id: str,
        inputs: Sequence[str | FastinoInput | Mapping[str, Any]],
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
        inputs: Sequence[str | FastinoInput | Mapping[str, Any]],
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
        inputs: Sequence[str | FastinoInput | Mapping[str, Any]],
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
        payloads = self._payloads(model_id, inputs, parameters)
        if not payloads:
            return []
        concurrency = self.max_concurrency if max_concurrency is None else max_concurrency
        semaphore = asyncio.Semaphore(max(1, concurrency))

        async def send(
            job: tuple[int, dict[str, Any]],
        ) -> list[FastinoResult | MLStudioError]:
            offset, payload = job
            async with semaphore:
                try:
                    results = await self._asend_batch(offset, payload)
                except MLStudioError as exc:
                    if not return_exceptions:
                        raise
                    results = [exc] * len(payload["input"])
            if on_batch is not None:
                on_batch(len(results))
            if on_done is not None:
                on_done(range(offset, offset + len(results)))
            return results

        outcomes = await asyncio.gather(*(send(job) for job in payloads))
        return self._finish(payloads, list(outcomes), return_exceptions=return_exceptions)
