"""Adaptive polling of long-running jobs, shared by every job-based service.

The first status check comes quickly; later checks happen at geometrically
growing times, so a short job is noticed within a fraction of its own duration
and a long one does not hammer the server. ``Retry-After`` on a status response
wins, transient errors on a status check are retried rather than fatal, and an
overall deadline raises :class:`~langchain_mlstudio.JobTimeoutError` carrying
the job's id so the caller can resume.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from langchain_mlstudio.errors import (
    APIConnectionError,
    JobTimeoutError,
    MLStudioError,
    RateLimitError,
    ServerError,
)

__all__ = ["TRANSIENT_ERRORS", "PollResult", "PollSchedule", "apoll_job", "poll_job"]

logger = logging.getLogger("langchain_mlstudio.polling")

T = TypeVar("T")

#: Errors on a status check that say nothing about the job itself.
TRANSIENT_ERRORS: tuple[type[MLStudioError], ...] = (
    APIConnectionError,
    RateLimitError,
    ServerError,
)


@dataclass(frozen=True)
class PollSchedule:
    """When to check a job's status.

    Checks happen ``initial_interval`` seconds apart at first; once
    ``elapsed * (multiplier - 1)`` exceeds that, the wait grows with the time
    already waited (geometric check times), up to ``max_interval``. The extra
    latency after a job ends is therefore at most about
    ``(multiplier - 1) * job_duration``.

    Example:
        >>> s = PollSchedule(initial_interval=0.15, max_interval=2.0, multiplier=1.1)
        >>> s.next_delay(0.0), s.next_delay(5.0), s.next_delay(60.0)
        (0.15, 0.5, 2.0)
    """

    initial_interval: float = 0.15
    max_interval: float = 2.0
    multiplier: float = 1.1

    def __post_init__(self) -> None:
        if self.initial_interval <= 0 or self.max_interval < self.initial_interval:
            msg = "poll intervals must satisfy 0 < initial_interval <= max_interval"
            raise ValueError(msg)
        if self.multiplier < 1:
            msg = "poll multiplier must be >= 1"
            raise ValueError(msg)

    def next_delay(self, elapsed: float) -> float:
        """Seconds to wait before the next check, ``elapsed`` after submission."""
        grown = elapsed * (self.multiplier - 1)
        return round(min(self.max_interval, max(self.initial_interval, grown)), 6)


@dataclass
class PollResult(Generic[T]):
    """One status check: the parsed state, whether it is final, and server advice."""

    state: T
    final: bool
    retry_after: float | None = None


@dataclass
class _Poller(Generic[T]):
    job_id: str
    schedule: PollSchedule
    timeout: float | None
    max_consecutive_errors: int
    started: float
    failures: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def failed(self, error: MLStudioError) -> None:
        """Count a failed check, or raise ``error`` when it is not worth another."""
        if not isinstance(error, TRANSIENT_ERRORS):
            raise error
        self.failures += 1
        if self.failures > self.max_consecutive_errors:
            raise error
        logger.info(
            "Status check of job %s failed (%s); will check again (%d/%d)",
            self.job_id,
            type(error).__name__,
            self.failures,
            self.max_consecutive_errors,
        )

    def wait_after(self, result: PollResult[T] | None) -> float:
        """The wait before the next check after ``result`` (``None``: a failed check)."""
        if result is not None:
            self.failures = 0
        return self.next_wait(None if result is None else result.retry_after)

    def next_wait(self, retry_after: float | None) -> float:
        """The wait before the next check, or raise once the deadline passed."""
        elapsed = self.elapsed()
        if self.timeout is not None and elapsed >= self.timeout:
            raise JobTimeoutError(
                f"Job {self.job_id} did not finish within {self.timeout:g} s",
                job_id=self.job_id,
                waited=elapsed,
            )
        delay = self.schedule.next_delay(elapsed) if retry_after is None else retry_after
        if self.timeout is not None:
            delay = min(delay, max(0.0, self.timeout - elapsed))
        return delay


def poll_job(
    job_id: str,
    check: Callable[[], PollResult[T]],
    *,
    schedule: PollSchedule,
    timeout: float | None,
    first_delay: float | None = None,
    max_consecutive_errors: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``check`` on an adaptive schedule until it reports a final state.

    Args:
        job_id: The job's id, for logs and the timeout error.
        check: One status check.
        schedule: When to check.
        timeout: Overall deadline in seconds (``None`` waits forever).
        first_delay: Wait before the first check (default: the schedule's).
        max_consecutive_errors: Transient status-check failures tolerated in a row.
        sleep: The sleep function (tests pass a fake clock).

    Returns:
        The final state.

    Raises:
        JobTimeoutError: The deadline passed; the job may still finish.
        MLStudioError: A non-transient error, or too many transient ones.
    """
    poller: _Poller[T] = _Poller(
        job_id, schedule, timeout, max_consecutive_errors, time.monotonic()
    )
    sleep(schedule.initial_interval if first_delay is None else first_delay)
    while True:
        result: PollResult[T] | None = None
        try:
            result = check()
        except MLStudioError as error:
            poller.failed(error)
        if result is not None and result.final:
            return result.state
        sleep(poller.wait_after(result))


async def apoll_job(
    job_id: str,
    check: Callable[[], Awaitable[PollResult[T]]],
    *,
    schedule: PollSchedule,
    timeout: float | None,
    first_delay: float | None = None,
    max_consecutive_errors: int = 5,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Async twin of :func:`poll_job`."""
    poller: _Poller[T] = _Poller(
        job_id, schedule, timeout, max_consecutive_errors, time.monotonic()
    )
    await sleep(schedule.initial_interval if first_delay is None else first_delay)
    while True:
        result: PollResult[T] | None = None
        try:
            result = await check()
        except MLStudioError as error:
            poller.failed(error)
        if result is not None and result.final:
            return result.state
        await sleep(poller.wait_after(result))
