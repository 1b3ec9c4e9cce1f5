"""Which failures are retried, and how long to wait before each retry."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from enum import Enum

import httpx

__all__ = [
    "NOT_CREATED_STATUSES",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "Safety",
    "parse_reset_header",
    "parse_retry_after",
    "server_advised_delay",
    "should_retry_exception",
    "should_retry_status",
]

#: Statuses worth retrying for a request that is safe to repeat.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Statuses after which a creating request provably did nothing: the server
#: refused it before doing work, so repeating it cannot create a duplicate.
NOT_CREATED_STATUSES = frozenset({429, 503})


class Safety(Enum):
    """How safe a request is to send twice.

    ``IDEMPOTENT`` requests (reads, pure computations, creating calls that
    carry an idempotency key) are retried on every transient failure.
    ``CREATES`` requests (e.g. submitting a generation job) are retried only
    when they provably created nothing: a failed connect, a 429 or a 503.
    """

    IDEMPOTENT = "idempotent"
    CREATES = "creates"


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff with ``Retry-After`` honoured up to a cap.

    Example:
        >>> policy = RetryPolicy(max_retries=2)
        >>> 0.25 <= policy.backoff(0) <= 0.5
        True
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt + 1``: doubling, half jittered."""
        delay = min(self.max_delay, self.initial_delay * (2**attempt))
        return delay * (0.5 + random.random() / 2)

    def delay_for(self, attempt: int, response: httpx.Response | None) -> float:
        """The wait before the next retry, preferring the server's own advice."""
        if response is not None:
            advised = server_advised_delay(response)
            if advised is not None:
                return min(advised, self.max_retry_after)
        return self.backoff(attempt)


def should_retry_status(status: int, safety: Safety) -> bool:
    """Whether a response with ``status`` may be retried for this request."""
    if safety is Safety.CREATES:
        return status in NOT_CREATED_STATUSES
    return status in RETRYABLE_STATUSES


def should_retry_exception(exc: httpx.TransportError, safety: Safety) -> bool:
    """Whether a transport failure may be retried for this request.

    A failed connect never reached the server, so any request may be repeated.
    Any other failure (read timeout, dropped connection) may have happened after
    the server acted, so only idempotent requests are repeated.
    """
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return True
    if safety is Safety.CREATES:
        return False
    return isinstance(
        exc,
        httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError,
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date).

    Example:
        >>> parse_retry_after("3")
        3.0
        >>> parse_retry_after("garbage") is None
        True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, parsed.timestamp() - current)


def parse_reset_header(value: str | None, now: float | None = None) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` Unix timestamp, if it is one."""
    if not value:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    current = time.time() if now is None else now
    return max(0.0, reset - current)


def server_advised_delay(response: httpx.Response) -> float | None:
    """The wait the server asked for: ``Retry-After``, else a 429's reset time."""
    advised = parse_retry_after(response.headers.get("retry-after"))
    if advised is None and response.status_code == 429:
        advised = parse_reset_header(response.headers.get("x-ratelimit-reset"))
    return advised
