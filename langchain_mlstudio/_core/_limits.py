"""Client-side limits shared by sync and async callers of one instance."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from langchain_mlstudio._core._calls import Attempt
from langchain_mlstudio._core._http import RequestGate

__all__ = ["RequestsPerSecond", "Slots", "secret_fingerprint", "shared_slots"]


class RequestsPerSecond(RequestGate):
    """Space request starts ``(1 + jitter) / rate`` seconds apart.

    Every attempt (first tries and retries alike), sync or async, reserves the
    next free start time under one lock, so the limit holds across threads and
    event loops sharing the instance. The ``jitter`` margin keeps every
    1-second window at the server within ``rate`` even when a request is
    delayed on its way by up to ``jitter`` seconds (scheduling, a
    garbage-collection pause, the network).

    Args:
        rate: Request starts per second.
        jitter: The margin, as a fraction of the interval.
        clock: The monotonic clock the spacing is measured with.
        sleep: How a sync caller waits for its start.
        asleep: How an async caller waits for its start.

    Example:
        >>> gate = RequestsPerSecond(10)
        >>> round(gate.interval, 3)
        0.105
        >>> gate.before_attempt(Attempt("POST", "/run"))  # returns at once the first time
    """

    def __init__(
        self,
        rate: float,
        *,
        jitter: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            msg = "requests_per_second must be > 0"
            raise ValueError(msg)
        self.rate = rate
        self.jitter = jitter
        self.clock = clock
        self.sleep = sleep
        self.asleep = asleep
        self._init_runtime_state()

    @property
    def interval(self) -> float:
        """Seconds between two request starts."""
        return (1.0 + self.jitter) / self.rate

    def _init_runtime_state(self) -> None:
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._last_start = float("-inf")

    def __getstate__(self) -> dict[str, Any]:
        return {"rate": self.rate, "jitter": self.jitter}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["rate"], jitter=state["jitter"])  # type: ignore[misc]

    def _reserve(self) -> float:
        """Seconds until this caller's turn (reservations keep callers in order)."""
        with self._lock:
            now = self.clock()
            start = max(now, self._next_start)
            self._next_start = start + self.interval
        return start - now

    def _admit(self) -> float:
        """0 (and the start is recorded) if a request may start now, else the wait.

        Reservations spread callers out, but a caller can wake up late (a busy
        event loop, a descheduled thread) while the next one wakes on time, and
        their real starts would bunch up. This check makes the spacing hold at
        the moment each request really starts.
        """
        with self._lock:
            now = self.clock()
            wait = self._last_start + self.interval - now
            if wait <= 0:
                self._last_start = now
                return 0.0
            return wait

    def before_attempt(self, attempt: Attempt) -> None:
        """Block until this caller's turn and a free start."""
        self.sleep(self._reserve())
        while (delay := self._admit()) > 0:
            self.sleep(delay)

    async def abefore_attempt(self, attempt: Attempt) -> None:
        """Sleep (without blocking the loop) until this caller's turn and a free start."""
        await self.asleep(self._reserve())
        while (delay := self._admit()) > 0:
            await self.asleep(delay)


class _AsyncWaiter:
    def __init__(self, limit: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[None] = self.loop.create_future()
        self.limit = limit
        self.handed = False  # set (under the lock) when release() gives it a slot


class _ThreadWaiter:
    def __init__(self, limit: int) -> None:
        self.event = threading.Event()
        self.limit = limit


W = TypeVar("W", _AsyncWaiter, _ThreadWaiter)


class Slots:
    """A counting semaphore usable from threads and event loops at once.

    ``max_concurrent_jobs`` is held from a job's submission until it reaches a
    final state, across every sync and async call that shares the slots.
    Waiters are served first come, first served. A caller may bring a
    stricter ``limit`` of its own (two models sharing one credential but set
    to different caps): it waits until fewer than ``limit`` slots are held.

    Example:
        >>> slots = Slots(3)
        >>> with slots:
        ...     slots.in_use
        1
        >>> slots.acquire(limit=1); slots.in_use
        1
        >>> slots.release()
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            msg = "the number of slots must be >= 1"
            raise ValueError(msg)
        self.size = size
        self._init_runtime_state()

    def _init_runtime_state(self) -> None:
        self._lock = threading.Lock()
        self._in_use = 0
        self.peak = 0
        self._waiters: deque[_ThreadWaiter | _AsyncWaiter] = deque()

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.size = state["size"]
        self._init_runtime_state()

    @property
    def in_use(self) -> int:
        """Slots held right now."""
        return self._in_use

    def _limit(self, limit: int | None) -> int:
        return self.size if limit is None else max(1, min(limit, self.size))

    def _take(self) -> None:
        self._in_use += 1
        self.peak = max(self.peak, self._in_use)

    def _take_or_queue(self, limit: int | None, waiter: Callable[[int], W]) -> W | None:
        """Take a free slot (``None``), or queue and return a new waiter for one."""
        with self._lock:
            if self._in_use < self._limit(limit) and not self._waiters:
                self._take()
                return None
            queued = waiter(self._limit(limit))
            self._waiters.append(queued)
            return queued

    def acquire(self, limit: int | None = None, *, cancel: threading.Event | None = None) -> None:
        """Take a slot, blocking the thread until one is free.

        Args:
            limit: This caller's own cap (at most ``size``).
            cancel: When set while waiting, stop waiting and raise
                :class:`InterruptedError` (no slot is taken).
        """
        waiter = self._take_or_queue(limit, _ThreadWaiter)
        if waiter is None:
            return
        # release() hands its slot over before setting the event
        while not waiter.event.wait(0.05 if cancel is not None else None):
            if cancel is not None and cancel.is_set():
                with self._lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
                        raise InterruptedError("stopped waiting for a slot")
                break  # handed over while we looked: keep it

    async def aacquire(self, limit: int | None = None) -> None:
        """Take a slot, suspending the task until one is free."""
        waiter = self._take_or_queue(limit, _AsyncWaiter)
        if waiter is None:
            return
        try:
            await waiter.future
        except asyncio.CancelledError:
            with self._lock:
                handed = waiter.handed
                if not handed and waiter in self._waiters:
                    self._waiters.remove(waiter)
            if handed:  # a slot reached us while we were being cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        """Give a slot back, handing it to the oldest waiter it fits."""
        with self._lock:
            self._in_use -= 1
            for waiter in list(self._waiters):
                if self._in_use >= waiter.limit:
                    continue
                if isinstance(waiter, _AsyncWaiter):
                    if waiter.loop.is_closed() or waiter.future.done():
                        self._waiters.remove(waiter)
                        continue
                    waiter.handed = True
                    waiter.loop.call_soon_threadsafe(_wake, waiter.future)
                else:
                    waiter.event.set()
                self._waiters.remove(waiter)
                self._take()
                return

    def __enter__(self) -> Slots:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    async def __aenter__(self) -> Slots:
        await self.aacquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()


_SHARED_LOCK = threading.Lock()
_SHARED: weakref.WeakValueDictionary[Hashable, Slots] = weakref.WeakValueDictionary()
_SALT = os.urandom(16)
_UNBOUNDED = 1_000_000


def secret_fingerprint(secret: str) -> str:
    """A salted, process-local digest of a secret, safe to use as a dict key.

    Example:
        >>> secret_fingerprint("k") == secret_fingerprint("k") != secret_fingerprint("j")
        True
    """
    return hmac.new(_SALT, secret.encode(), hashlib.sha256).hexdigest()


def shared_slots(key: Hashable) -> Slots:
    """The process-wide :class:`Slots` for one credential, created on first use.

    Every caller that passes the same ``key`` (e.g. provider, base URL,
    organization and :func:`secret_fingerprint` of the key) shares one count of
    jobs in flight, however many model instances or copies it comes from. The
    slots themselves are unbounded: each caller passes its own cap as
    ``limit`` to :meth:`Slots.acquire`.

    Example:
        >>> shared_slots(("doc", "k")) is shared_slots(("doc", "k"))
        True
    """
    with _SHARED_LOCK:
        slots = _SHARED.get(key)
        if slots is None:
            slots = Slots(_UNBOUNDED)
            _SHARED[key] = slots
        return slots


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
