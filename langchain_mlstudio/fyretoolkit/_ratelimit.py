"""FyreToolkit's ``X-RateLimit-*`` budget, honoured before a request is sent.

FyreToolkit reports its budget on every response: ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (a Unix timestamp). Its
reference documents separate budgets for reads (GET), writes (POST/DELETE)
and real-time inference (``/predict``). :class:`RateLimitGate` remembers the
latest headers of each category and, once a category's ``Remaining`` reached
0, makes the next request of that category wait until its ``Reset`` instead
of spending a request on a 429.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from langchain_mlstudio._core._http import RequestGate
from langchain_mlstudio.fyretoolkit.types import RateLimitInfo

#: Never wait longer than this for one reset (the documented windows are a minute).
DEFAULT_MAX_WAIT = 60.0


def category_of(method: str, path: str) -> str:
    """The rate-limit budget a request draws from.

    Example:
        >>> category_of("POST", "/predict/sentiment-v1"), category_of("GET", "/models")
        ('inference', 'read')
    """
    if "/predict/" in path:
        return "inference"
    return "read" if method.upper() in {"GET", "HEAD"} else "write"


@dataclass
class CallScope:
    """What the gate learns about one client call (all its attempts)."""

    category: str
    attempts: int = 0


_current: contextvars.ContextVar[CallScope | None] = contextvars.ContextVar(
    "fyretoolkit_call_scope", default=None
)


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _float_header(response: httpx.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


class RateLimitGate(RequestGate):
    """Wait for ``X-RateLimit-Reset`` once ``X-RateLimit-Remaining`` hit 0.

    One gate is shared by every thread and event loop using a client. The
    category of the current call comes from :meth:`scope`, which the client
    enters around each request; the transport calls :meth:`wait` /
    :meth:`await_` before every attempt and :meth:`observe` after every
    response.

    Args:
        max_wait: Longest single wait in seconds (a reset further away is
            treated as this far away).

    Example:
        >>> gate = RateLimitGate()
        >>> with gate.scope("read"):
        ...     gate.wait()  # nothing observed yet: returns at once
        >>> gate.last is None
        True
    """

    def __init__(self, *, max_wait: float = DEFAULT_MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._clock: Callable[[], float] = time.time
        self._sleep: Callable[[float], None] = time.sleep
        self._asleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._init_runtime_state()

    def _init_runtime_state(self) -> None:
        self._lock = threading.Lock()
        self._by_category: dict[str, RateLimitInfo] = {}
        self.last: RateLimitInfo | None = None
        self.waits: list[float] = []

    def __getstate__(self) -> dict[str, Any]:
        return {"max_wait": self.max_wait}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(max_wait=state["max_wait"])  # type: ignore[misc]

    @property
    def by_category(self) -> dict[str, RateLimitInfo]:
        """The latest headers seen for each category."""
        with self._lock:
            return dict(self._by_category)

    @contextmanager
    def scope(self, category: str) -> Iterator[CallScope]:
        """Mark the requests sent inside the block as one call of ``category``."""
        call = CallScope(category)
        token = _current.set(call)
        try:
            yield call
        finally:
            _current.reset(token)

    def delay(self, category: str | None = None) -> float:
        """Seconds the next request of ``category`` must wait (0 if none)."""
        if category is None:
            call = _current.get()
            category = call.category if call is not None else None
        with self._lock:
            info = self._by_category.get(category) if category is not None else self.last
        if info is None or not info.exhausted or info.reset is None:
            return 0.0
        return min(self.max_wait, max(0.0, info.reset - self._clock()))

    def _before_attempt(self) -> float:
        call = _current.get()
        if call is not None:
            call.attempts += 1
        delay = self.delay()
        if delay > 0:
            with self._lock:
                self.waits.append(delay)
        return delay

    def wait(self) -> None:
        """Block until the current category's window resets, if it is spent."""
        delay = self._before_attempt()
        if delay > 0:
            self._sleep(delay)

    async def await_(self) -> None:
        """Async twin of :meth:`wait`; never blocks the event loop."""
        delay = self._before_attempt()
        if delay > 0:
            await self._asleep(delay)

    def observe(self, response: httpx.Response) -> None:
        """Remember the response's ``X-RateLimit-*`` headers, if it has any."""
        limit = _int_header(response, "x-ratelimit-limit")
        remaining = _int_header(response, "x-ratelimit-remaining")
        reset = _float_header(response, "x-ratelimit-reset")
        if limit is None and remaining is None and reset is None:
            return
        call = _current.get()
        if call is not None:
            category = call.category
        else:
            request = response.request
            category = category_of(request.method, request.url.path)
        info = RateLimitInfo(limit=limit, remaining=remaining, reset=reset, category=category)
        with self._lock:
            self._by_category[category] = info
            self.last = info
