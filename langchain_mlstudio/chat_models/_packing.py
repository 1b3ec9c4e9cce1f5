"""Pack the inputs of one ``batch`` call into as few generation jobs as possible.

``batch`` runs every input as its own LangChain run (so callbacks, tracing
and ``return_exceptions`` behave as usual), but the runs do not each submit a
job: they join *groups*. The first run to join a group leads it; once the
group is full (``max_batch_size``), every input of the batch has arrived, or
no one joined for a short window, the leader submits one job with all the
group's conversations and hands each member its own task's outcome.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

R = TypeVar("R")


@dataclass
class Member:
    """One conversation waiting for its task's outcome."""

    conversation: list[dict[str, Any]]
    task_index: int
    progress: list[Callable[[Any], Any]] = field(default_factory=list)

    def alone(self) -> Member:
        """This member as the only task of a job of its own."""
        self.task_index = 0
        return self


@dataclass
class Group(Generic[R]):
    """Conversations that will share one job."""

    key: Hashable
    members: list[Member] = field(default_factory=list)
    closed: bool = False
    last_join: float = field(default_factory=time.monotonic)
    outcome: R | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def finish(self) -> None:
        """Mark the job's outcome known and wake every waiting member."""
        self.done.set()
        for future in self._waiters:
            loop = future.get_loop()
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)

    async def wait(self) -> None:
        """Wait, without blocking the loop, for the leader to finish."""
        if self.done.is_set():
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        if not self.done.is_set():
            await future


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PackTicket(Generic[R]):
    """Shared by the inputs of one ``batch`` / ``abatch`` call.

    Args:
        owner: The model instance whose ``batch`` made the ticket; only its own
            calls join (another model invoked inside the batch, e.g. from a
            callback, runs on its own).
        expected: How many inputs the batch has.
        max_size: The most conversations one job may hold.
        window: Seconds a group waits for another member before it is sent.
    """

    def __init__(self, owner: object, expected: int, max_size: int, window: float = 0.05) -> None:
        self.owner = owner
        self.expected = expected
        self.max_size = max_size
        self.window = window
        self.arrived = 0
        self._open: dict[Hashable, Group[R]] = {}
        self._cond = threading.Condition()

    def join(self, key: Hashable, member: Member) -> tuple[Group[R], bool]:
        """Add a conversation to the open group for ``key``; True if it leads."""
        with self._cond:
            self.arrived += 1
            group = self._open.get(key)
            leader = group is None
            if group is None:
                group = Group(key)
                self._open[key] = group
            member.task_index = len(group.members)
            group.members.append(member)
            group.last_join = time.monotonic()
            if len(group.members) >= self.max_size:
                self._close(group)
            self._cond.notify_all()
            return group, leader

    def skip(self) -> None:
        """Count an input that failed before it could join (it will never join)."""
        with self._cond:
            self.arrived += 1
            self._cond.notify_all()

    def _close(self, group: Group[R]) -> None:
        group.closed = True
        if self._open.get(group.key) is group:
            del self._open[group.key]

    def _ready(self, group: Group[R]) -> float:
        """0 when the group should be sent now, else seconds until it should."""
        if group.closed or self.arrived >= self.expected:
            return 0.0
        return max(0.0, group.last_join + self.window - time.monotonic())

    def seal(self, group: Group[R]) -> None:
        """Block until the group is ready, then close it to newcomers."""
        with self._cond:
            while (wait := self._ready(group)) > 0:
                self._cond.wait(wait)
            self._close(group)

    async def aseal(self, group: Group[R]) -> None:
        """Async twin of :meth:`seal` (all members run on one event loop)."""
        while True:
            with self._cond:
                wait = self._ready(group)
                if wait <= 0:
                    self._close(group)
                    return
            await asyncio.sleep(min(wait, 0.005))


def lead(group: Group[R], run: Callable[[Group[R]], R]) -> None:
    """Run the group's job and wake every member, success or not."""
    try:
        group.outcome = run(group)
    except BaseException as exc:
        group.error = exc
    finally:
        group.finish()


async def alead(group: Group[R], run: Callable[[Group[R]], Awaitable[R]]) -> None:
    """Async twin of :func:`lead`."""
    try:
        group.outcome = await run(group)
    except BaseException as exc:
        group.error = exc
        if isinstance(exc, asyncio.CancelledError):
            raise
    finally:
        group.finish()


ACTIVE_TICKET: contextvars.ContextVar[PackTicket[Any] | None] = contextvars.ContextVar(
    "langchain_mlstudio_pack_ticket", default=None
)
