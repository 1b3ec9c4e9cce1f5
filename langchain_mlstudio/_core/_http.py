"""The one HTTP layer every service client of the package sends through.

:class:`HTTPTransport` owns a lazily created ``httpx.Client`` and
``httpx.AsyncClient``, sends each request with the package's headers, retries
what is safe to retry with jittered exponential backoff, and turns every
failure into a :class:`~langchain_mlstudio.MLStudioError` subclass.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from langchain_mlstudio._core._calls import APIResponse, Attempt, Call
from langchain_mlstudio._core._errors import error_from_response, request_id_of, troubleshooting
from langchain_mlstudio._core._headers import header_problem
from langchain_mlstudio._core._retry import (
    RetryPolicy,
    Safety,
    should_retry_exception,
    should_retry_status,
)
from langchain_mlstudio._core._settings import Settings
from langchain_mlstudio._version import __version__
from langchain_mlstudio.errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    InvalidInputError,
    MalformedResponseError,
    MLStudioError,
)

__all__ = ["USER_AGENT", "HTTPTransport", "RequestGate"]

logger = logging.getLogger("langchain_mlstudio.http")

T = TypeVar("T")

USER_AGENT = f"langchain-mlstudio/{__version__}"


def _utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class RequestGate:
    """A hook run before every attempt and after every response.

    Subclasses implement client-side rate limits (Fastino's requests per
    second, FyreToolkit's ``X-RateLimit-*`` budget). The transport hands them
    the call's :class:`~langchain_mlstudio._core._calls.Attempt`, so a gate
    knows which call and which attempt it is deciding for. The base class
    does nothing.

    Example:
        >>> gate = RequestGate()
        >>> gate.before_attempt(Attempt("GET", "/"))  # returns at once
    """

    #: The hooks' former names: a gate still defining them would silently stop limiting.
    _FORMER_HOOKS = {
        "wait": "before_attempt",
        "await_": "abefore_attempt",
        "observe": "after_response",
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        former = [name for name in cls._FORMER_HOOKS if name in vars(cls)]
        if former:
            renamed = ", ".join(f"{name} -> {cls._FORMER_HOOKS[name]}" for name in former)
            msg = (
                f"{cls.__name__} defines RequestGate's former hooks ({renamed}); the transport "
                "calls only the new ones, so this gate would never hold a request back. "
                "Rename them (each now takes the call's Attempt)."
            )
            raise TypeError(msg)

    def before_attempt(self, attempt: Attempt) -> None:
        """Block until ``attempt`` may be sent."""

    async def abefore_attempt(self, attempt: Attempt) -> None:
        """Wait, without blocking the event loop, until ``attempt`` may be sent."""

    def after_response(self, attempt: Attempt, response: httpx.Response) -> None:
        """Learn from the answer to ``attempt`` (e.g. its rate-limit headers)."""


class HTTPTransport:
    """Send one service's calls with retries and typed errors.

    Args:
        settings: The client's resolved settings: the service (its name and
            advice per HTTP status), base URL, timeout, retries, default
            headers and any injected ``httpx`` clients.
        auth_headers: A callable returning the authentication headers; called
            for every attempt so the secret never sits in a long-lived dict.
        gate: A :class:`RequestGate` consulted around every attempt.
        retry: The retry policy (default: backoff with the settings'
            ``max_retries``).
        sleep: How the transport waits between attempts (``time.sleep``);
            kept as the public attribute :attr:`sleep`, which the service
            clients also use for their own waits (job polling).
        asleep: The async twin of ``sleep`` (``asyncio.sleep``).

    Example:
        >>> from langchain_mlstudio._core._settings import Service
        >>> example = Service("Example", "EXAMPLE_KEY", "EXAMPLE_URL", "https://example.invalid")
        >>> t = HTTPTransport(example.settings(api_key="k"), lambda: {})
        >>> t.service, t.base_url, t.retry.max_retries
        ('Example', 'https://example.invalid', 2)
    """

    def __init__(
        self,
        settings: Settings,
        auth_headers: Callable[[], dict[str, str]],
        *,
        gate: RequestGate | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.service = settings.service.name
        self.base_url = settings.base_url.rstrip("/")
        self._auth_headers = auth_headers
        self.timeout = settings.timeout
        self.retry = retry or RetryPolicy(max_retries=settings.max_retries)
        self.default_headers = dict(settings.default_headers)
        self.gate = gate or RequestGate()
        self.status_hints = dict(settings.service.status_hints)
        self._injected_client = settings.http_client
        self._injected_async_client = settings.http_async_client
        self.sleep = sleep
        self.asleep = asleep
        self._init_runtime_state()

    # -- lifecycle ---------------------------------------------------------

    def _init_runtime_state(self) -> None:
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._async_clients: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_lock", "_client", "_async_clients"):
            state.pop(name, None)
        # Injected clients hold sockets and cannot cross processes.
        state["_injected_client"] = None
        state["_injected_async_client"] = None
        # Injected clocks are test doubles; a copy in another process uses real time.
        state["sleep"] = None
        state["asleep"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.sleep = time.sleep
        self.asleep = asyncio.sleep
        self._init_runtime_state()

    def __repr__(self) -> str:
        return f"HTTPTransport(service={self.service!r}, base_url={self.base_url!r})"

    @property
    def client(self) -> httpx.Client:
        """The synchronous client, created on first use and then reused."""
        if self._injected_client is not None:
            return self._injected_client
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
            return self._client

    @property
    def async_client(self) -> httpx.AsyncClient:
        """The asynchronous client for the running event loop, reused per loop.

        An ``httpx.AsyncClient`` is bound to the loop it first ran on; a new
        loop (a new ``asyncio.run``) gets its own client instead of a broken
        connection pool.
        """
        if self._injected_async_client is not None:
            return self._injected_async_client
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async_clients.get(id(loop))
            if entry is None or entry[0] is not loop:
                # Forget clients of loops that have closed.
                self._async_clients = {
                    key: value
                    for key, value in self._async_clients.items()
                    if not value[0].is_closed()
                }
                entry = (loop, httpx.AsyncClient(timeout=self.timeout))
                self._async_clients[id(loop)] = entry
            client: httpx.AsyncClient = entry[1]
            return client

    def close(self) -> None:
        """Close the synchronous client the transport created (not an injected one)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    async def aclose(self) -> None:
        """Close the asynchronous client of the running loop, if the transport made it."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async_clients.pop(id(loop), None)
        if entry is not None:
            await entry[1].aclose()

    # -- requests ----------------------------------------------------------

    def _header_parts(self, extra: Mapping[str, str] | None) -> list[tuple[str, Mapping[str, str]]]:
        """Each source of a request's headers, in the order they override each other."""
        agent = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        return [
            ("agent", agent),
            ("default_headers", self.default_headers),
            ("auth", self._auth_headers()),
            ("extra", extra or {}),
        ]

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Every header of a request: agent, defaults, auth, then ``extra``."""
        headers: dict[str, str] = {}
        for _source, part in self._header_parts(extra):
            headers.update(part)
        return headers

    def _checked_headers(self, req: Call[Any]) -> dict[str, str]:
        """:meth:`headers`, or a typed error naming the header httpx could not send.

        A key pasted with a '…' or a line break would otherwise fail inside
        httpx as an encoding or protocol error that names neither the key nor
        the header.
        """
        headers: dict[str, str] = {}
        for source, part in self._header_parts(req.headers):
            for name, value in part.items():
                problem = header_problem(name) or header_problem(value)
                if problem is not None:
                    raise self._header_error(source, name, problem)
            headers.update(part)
        return headers

    def _header_error(self, source: str, name: str, problem: str) -> MLStudioError:
        nothing_sent = f"Nothing was sent to {self.service}."
        if source == "auth":
            return ConfigurationError(
                f"The API key for {self.service} (sent in the {name} header) contains {problem}, "
                "which an HTTP header cannot carry",
                hint="Copy the whole key again from where it was created: a key shown "
                "shortened with '…', or pasted with quotes, spaces or a line break, is not "
                f"the key. {nothing_sent} {troubleshooting('pasted-key')}",
            )
        if source == "default_headers":
            return ConfigurationError(
                f"default_headers[{name!r}] for {self.service} contains {problem}, "
                "which an HTTP header cannot carry",
                hint=f"Fix the header's value (visible ASCII only). {nothing_sent}",
            )
        return InvalidInputError(
            f"The request's {name} header for {self.service} contains {problem}, "
            "which an HTTP header cannot carry",
            hint=f"Fix the value (visible ASCII only). {nothing_sent}",
        )

    def call(self, call: Call[T]) -> T:
        """Send ``call``, retrying what is safe to retry, and read its answer.

        Every attempt passes the gate first. An error that a retried attempt
        meets and ``call.already_done`` reads as the work of an earlier
        attempt becomes the call's result (after its ``confirm`` call).

        Raises:
            MLStudioError: A subclass for every failure.
        """
        client = self.client  # set up before the gate hands out a start
        attempt = Attempt(call.method, call.path)
        while True:
            self.gate.before_attempt(attempt)
            step = self._step(call, attempt, self._send(client, call))
            if isinstance(step, _Outcome):
                return step.finish(None if step.confirm is None else self.call(step.confirm))
            self.sleep(step)

    async def acall(self, call: Call[T]) -> T:
        """Async twin of :meth:`call`."""
        client = self.async_client
        attempt = Attempt(call.method, call.path)
        while True:
            await self.gate.abefore_attempt(attempt)
            step = self._step(call, attempt, await self._asend(client, call))
            if isinstance(step, _Outcome):
                confirmed = None if step.confirm is None else await self.acall(step.confirm)
                return step.finish(confirmed)
            await self.asleep(step)

    def _step(
        self, call: Call[T], attempt: Attempt, result: httpx.Response | httpx.TransportError
    ) -> _Outcome[T] | float:
        """What follows an attempt: the call's outcome, or the wait before the next attempt.

        Raises:
            MLStudioError: The attempt failed, may not be retried, and is not
                an earlier attempt's success.
        """
        classified = self._classify(call, attempt, result)
        if isinstance(classified, APIResponse):
            value = call.read(classified)
            return _Outcome(None, lambda _confirmed: value)
        delay, error = classified
        if delay is not None:
            self._log_retry(call, attempt, delay, error)
            attempt.number += 1
            return delay
        done = call.already_done
        if done is None or attempt.number <= 1 or not isinstance(error, done.error):
            raise error
        return _Outcome(done.confirm, functools.partial(done.outcome, error))

    def _build(self, client: httpx.Client | httpx.AsyncClient, req: Call[Any]) -> httpx.Request:
        timeout = self.timeout if req.timeout is None else req.timeout
        headers = self._checked_headers(req)
        try:
            return client.build_request(
                req.method,
                self.base_url + req.path,
                json=req.json_body,
                params=req.params,
                headers=headers,
                timeout=timeout,
            )
        except ValueError as exc:  # UnicodeEncodeError included
            raise self._unencodable(req, exc) from None

    def _unencodable(self, req: Call[Any], exc: ValueError) -> InvalidInputError:
        """The typed error for a request httpx could not encode, naming the field.

        Lone surrogates (e.g. from a badly decoded file) cannot be UTF-8
        encoded, and NaN or infinity are not JSON. The error says where, without
        the offending text, before anything is sent.
        """
        if not isinstance(exc, UnicodeEncodeError):
            what = "a value JSON cannot carry (NaN or infinity) in the request body"
        else:
            where = "the request body"
            if not _utf8_encodable(req.path):
                where = "the URL path (an id or name in it)"
            elif not all(_utf8_encodable(f"{k}={v}") for k, v in (req.params or {}).items()):
                where = "the query parameters"
            what = (
                "text that cannot be encoded as UTF-8 (a lone surrogate such as '\\ud800') "
                f"in {where}"
            )
        path = req.path.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        return InvalidInputError(
            f"The request to {self.service} ({req.method} {path}) contains {what}",
            hint=(
                "Clean the input (e.g. text.encode('utf-8', 'replace').decode()); "
                "nothing was sent to the service."
            ),
        )

    def _send(self, client: httpx.Client, req: Call[Any]) -> httpx.Response | httpx.TransportError:
        try:
            response = client.send(self._build(client, req))
            response.read()
        except httpx.TransportError as exc:
            return exc
        return response

    async def _asend(
        self, client: httpx.AsyncClient, req: Call[Any]
    ) -> httpx.Response | httpx.TransportError:
        try:
            response = await client.send(self._build(client, req))
            await response.aread()
        except httpx.TransportError as exc:
            return exc
        return response

    def _classify(
        self,
        req: Call[Any],
        attempt: Attempt,
        result: httpx.Response | httpx.TransportError,
    ) -> APIResponse | tuple[float | None, MLStudioError]:
        """A decoded response, or the error with the delay before a retry.

        The delay is ``None`` when the error must not be retried.
        """
        retries_before = attempt.number - 1
        can_retry = retries_before < self.retry.max_retries
        if isinstance(result, httpx.TransportError):
            failure = self._transport_error(req, result)
            if can_retry and should_retry_exception(result, req.safety):
                return self.retry.delay_for(retries_before, None), failure
            return None, failure
        response = result
        self.gate.after_response(attempt, response)
        logger.debug("%s %s %s -> %s", self.service, req.method, req.path, response.status_code)
        if response.is_success:
            return self._decode(req, response)
        error = error_from_response(
            response, self.service, hint=self.status_hints.get(response.status_code)
        )
        if can_retry and should_retry_status(response.status_code, req.safety):
            return self.retry.delay_for(retries_before, response), error
        return None, error

    def _decode(self, req: Call[Any], response: httpx.Response) -> APIResponse:
        request_id = request_id_of(response, None)
        if not response.content.strip():
            return APIResponse(response.status_code, response.headers, None, request_id)
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            if req.any_body:
                return APIResponse(response.status_code, response.headers, None, request_id)
            raise MalformedResponseError(
                f"{self.service} answered {req.method} {req.path} with a body that is not JSON",
                status_code=response.status_code,
                request_id=request_id,
                hint=f"{MalformedResponseError.default_hint} {troubleshooting('base-url')}",
            ) from exc
        return APIResponse(
            response.status_code,
            response.headers,
            data,
            request_id_of(response, data),
        )

    def _transport_error(self, req: Call[Any], exc: httpx.TransportError) -> APIConnectionError:
        where = f"{req.method} {self.base_url}{req.path}"
        cls: type[APIConnectionError] = APIConnectionError
        message = f"Could not complete {where}: {type(exc).__name__}"
        if isinstance(exc, httpx.TimeoutException):
            timeout = self.timeout if req.timeout is None else req.timeout
            cls = APITimeoutError
            message = f"{self.service} did not answer {where} within {timeout} s"
            hint = f"{APITimeoutError.default_hint} {troubleshooting('proxies-and-timeouts')}"
        else:
            hint = f"{APIConnectionError.default_hint} {troubleshooting('base-url')}"
        if req.safety is Safety.CREATES and not isinstance(
            exc, httpx.ConnectError | httpx.ConnectTimeout
        ):
            # The request may have reached the server: say so, never repeat it.
            message += (
                "; the connection was lost after the request was sent, so it may have "
                "been received and created what it asked for (e.g. a job)"
            )
            hint = (
                "It was not sent again, so nothing was created twice; check for it "
                "(or wait) before sending it again."
            )
        err = cls(message, hint=hint)
        err.__cause__ = exc
        return err

    def _log_retry(self, req: Call[Any], attempt: Attempt, delay: float, error: Exception) -> None:
        logger.info(
            "%s %s %s failed (%s); retry %d/%d in %.2f s",
            self.service,
            req.method,
            req.path,
            type(error).__name__,
            attempt.number,
            self.retry.max_retries,
            delay,
        )


@dataclass(frozen=True)
class _Outcome(Generic[T]):
    """How a call ends: ``finish`` of the ``confirm`` call's value (``None`` without one)."""

    confirm: Call[Any] | None
    finish: Callable[[Any], T]
