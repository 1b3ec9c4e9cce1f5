"""FyreToolkit's ``X-RateLimit-*`` budget, honoured before a request is sent.

FyreToolkit reports its budget on every response: ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (a Unix timestamp). Its
reference documents separate budgets for reads (GET), writes (POST/DELETE)
and real-time inference (``/predict``). :class:`RateLimitGate` remembers the
latest headers of each category and, once a category's ``Remaining`` reached
0, makes the next request of that category wait until its ``Reset`` instead
of spending a request on a 429.

Waiting is bounded per call, not per wait: ``max_wait`` is the most one
client call (all its attempts) spends waiting for rate limits. A call that
would need longer raises :class:`~langchain_mlstudio.RateLimitError` at once,
carrying ``retry_after``, instead of sleeping through most of the window and
failing anyway. After a 429, the server's ``Retry-After`` wins over a later
``X-RateLimit-Reset``, and a retry never comes without a delay: the jittered
backoff of :class:`FyreToolkitRetryPolicy` is the floor.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from langchain_mlstudio._core._calls import Attempt
from langchain_mlstudio._core._errors import parse_error_body, request_id_of
from langchain_mlstudio._core._http import RequestGate
from langchain_mlstudio._core._retry import RetryPolicy, parse_retry_after
from langchain_mlstudio.errors import RateLimitError
from langchain_mlstudio.fyretoolkit.types import RateLimitInfo

__all__ = ["DEFAULT_MAX_WAIT", "FyreToolkitRetryPolicy", "RateLimitGate", "category_of"]

#: The most one call waits for rate limits in total: one documented window (a
#: minute), with room for the reset's whole-second rounding and a backoff.
DEFAULT_MAX_WAIT = 75.0


class FyreToolkitRetryPolicy(RetryPolicy):
    """Backoff that never retries at once, leaving rate-limit waits to the gate.

    A 429 is retried after the jittered backoff only; the gate then waits
    whatever the server asked for beyond it (``Retry-After``, else the
    ``Reset``), counted against the call's budget. Other retries wait the
    server's advice or the backoff, whichever is longer, so a ``Retry-After:
    0`` or a reset already past never makes a zero-delay retry.

    Example:
        >>> policy = FyreToolkitRetryPolicy()
        >>> import httpx
        >>> past = httpx.Response(503, headers={"Retry-After": "0"})
        >>> policy.delay_for(0, past) > 0
        True
    """

    def delay_for(self, attempt: int, response: httpx.Response | None) -> float:
        """The wait before retry ``attempt + 1``: never zero."""
        backoff = self.backoff(attempt)
        if response is not None and response.status_code == 429:
            return backoff
        return max(backoff, super().delay_for(attempt, response))


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
class _CallState:
    """What the gate learns about one client call across its attempts.

    Kept in :attr:`Attempt.gate_state`; how long the call waited so far is
    :attr:`Attempt.waited`, and which attempt it is :attr:`Attempt.number`.
    """

    category: str
    retry_at: float | None = None
    """When the server said this call may try again (after a 429)."""
    limited_at: float | None = None
    """When the last 429 of this call arrived (the backoff since counts as waiting)."""
    refusal: tuple[str | None, str | None, str | None] | None = None
    """The last 429's code, message and request id, quoted if the call gives up."""


def _state(attempt: Attempt) -> _CallState:
    """The gate's state of ``attempt``'s call, made on its first attempt."""
    if not isinstance(attempt.gate_state, _CallState):
        attempt.gate_state = _CallState(category_of(attempt.method, attempt.path))
    return attempt.gate_state


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
    transport calls :meth:`before_attempt` / :meth:`abefore_attempt` before
    every attempt and :meth:`after_response` after every response, handing
    over the call's :class:`Attempt`: its method and path say which budget it
    draws from, and what the gate learns about the call stays with it.

    Args:
        max_wait: The most one call waits in total, in seconds; a call that
            would need longer raises ``RateLimitError`` before sleeping.
        clock: The wall clock ``X-RateLimit-Reset`` is compared with.
        sleep: How a sync call waits for its window.
        asleep: How an async call waits for its window.

    Example:
        >>> gate = RateLimitGate()
        >>> gate.before_attempt(Attempt("GET", "/models"))  # nothing seen yet: at once
        >>> gate.last is None
        True
    """

    def __init__(
        self,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self.asleep = asleep
        self._init_runtime_state()

    def _init_runtime_state(self) -> None:
        self._lock = threading.Lock()
        self._by_category: dict[str, RateLimitInfo] = {}
        self.last: RateLimitInfo | None = None
        # The latest waits (bounded, so a long-running process does not grow it).
        self.waits: deque[float] = deque(maxlen=1000)

    def __getstate__(self) -> dict[str, Any]:
        return {"max_wait": self.max_wait}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(max_wait=state["max_wait"])  # type: ignore[misc]

    @property
    def by_category(self) -> dict[str, RateLimitInfo]:
        """The latest headers seen for each category."""
        with self._lock:
            return dict(self._by_category)

    def _window_delay(self, category: str | None, now: float) -> float:
        with self._lock:
            info = self._by_category.get(category) if category is not None else self.last
        if info is None or not info.exhausted or info.reset is None:
            return 0.0
        return max(0.0, info.reset - now)

    def delay(self, category: str | None = None) -> float:
        """Seconds the next request of ``category`` (default: the latest seen) must wait."""
        return min(self.max_wait, self._window_delay(category, self.clock()))

    def _before_attempt(self, attempt: Attempt) -> float:
        delay = self._attempt_delay(attempt, _state(attempt), self.clock())
        if delay > 0:
            with self._lock:
                self.waits.append(delay)
        return delay

    def _attempt_delay(self, attempt: Attempt, call: _CallState, now: float) -> float:
        """The wait before ``attempt``, within what its call may still wait."""
        if call.limited_at is not None:
            attempt.waited += max(0.0, now - call.limited_at)  # the backoff already slept
            call.limited_at = None
        if call.retry_at is not None:
            # The server's advice for this call wins over the window's Reset.
            needed, call.retry_at = max(0.0, call.retry_at - now), None
        else:
            needed = self._window_delay(call.category, now)
        if needed <= 0:
            return 0.0
        budget = max(0.0, self.max_wait - attempt.waited)
        if needed > budget:
            raise self._too_long(call, needed, budget)
        attempt.waited += needed
        return needed

    def _too_long(self, call: _CallState, needed: float, budget: float) -> RateLimitError:
        """The error of a call whose window resets later than it may still wait."""
        code, message, request_id = call.refusal or (None, None, None)
        return RateLimitError(
            f"FyreToolkit's {call.category} rate limit is spent for {needed:.0f} s more, "
            f"longer than this call may still wait ({budget:.0f} s of "
            f"max_rate_limit_wait={self.max_wait:g} s)",
            retry_after=needed,
            status_code=429 if call.refusal else None,
            code=code,
            server_message=message,
            request_id=request_id,
            hint=(
                "Retry after retry_after seconds, or raise max_rate_limit_wait on the "
                "client; nothing was sent for this attempt."
            ),
        )

    def before_attempt(self, attempt: Attempt) -> None:
        """Block until the window of ``attempt``'s category resets, if it is spent."""
        delay = self._before_attempt(attempt)
        if delay > 0:
            self.sleep(delay)

    async def abefore_attempt(self, attempt: Attempt) -> None:
        """Async twin of :meth:`before_attempt`; never blocks the event loop."""
        delay = self._before_attempt(attempt)
        if delay > 0:
            await self.asleep(delay)

    def after_response(self, attempt: Attempt, response: httpx.Response) -> None:
        """Remember the response's ``X-RateLimit-*`` headers, if it has any."""
        limit = _int_header(response, "x-ratelimit-limit")
        remaining = _int_header(response, "x-ratelimit-remaining")
        reset = _float_header(response, "x-ratelimit-reset")
        call = _state(attempt)
        if response.status_code == 429:
            self._note_refusal(call, response, reset)
        if limit is None and remaining is None and reset is None:
            return
        category = call.category
        info = RateLimitInfo(limit=limit, remaining=remaining, reset=reset, category=category)
        with self._lock:
            self._by_category[category] = info
            self.last = info

    def _note_refusal(
        self, call: _CallState, response: httpx.Response, reset: float | None
    ) -> None:
        """Remember when a refused call may retry: ``Retry-After`` first, else the reset."""
        now = self.clock()
        call.limited_at = now
        try:
            body = response.json()
        except ValueError:
            body = None
        code, message, _details = parse_error_body(body)
        call.refusal = (code, message, request_id_of(response, body))
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            call.retry_at = now + retry_after
        elif reset is not None:
            call.retry_at = reset
