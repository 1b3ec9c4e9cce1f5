"""Pack conversations from concurrent calls into shared generation jobs.

Every call of a chat model becomes a :class:`Member` of a :class:`Group`; a
group's conversations go to the server as one job. Two ways to form groups:

* the process-wide :data:`PACKER` collects concurrent ``invoke`` / ``ainvoke``
  calls (threads, ``asyncio.gather``, a LangGraph fan-out, copies of a model)
  that share a credential and job parameters: a group is sent once it is full
  (``max_batch_size``) or no call joined it for a short window;
* a :class:`BatchPlan` gives ``batch`` input ``i`` the place ``i % size`` of
  group ``i // size``, so inputs keep their order and ``n`` inputs make
  ``ceil(n / size)`` jobs; a group is sent as soon as all its inputs arrived.

Each group is run by one runner (a daemon thread for sync calls, a task for
async ones) that is independent of the callers: a caller that is cancelled
only stops waiting, the job keeps its slot until it ends.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from langchain_mlstudio._core._progress import Progress
from langchain_mlstudio.chat_models._progress import ProgressReporter
from langchain_mlstudio.chat_models.types import GenerationJob

__all__ = ["BATCH_SLOT", "PACKER", "BatchPlan", "BatchSlot", "Group", "Member"]

_ORDER = itertools.count()


@dataclass(eq=False)
class Member:
    """One conversation of one call, waiting for its task's outcome.

    Attributes:
        conversation: The API conversation.
        reporter: Where the call's progress events go.
        order: Position among the group's members (the input index in a batch).
        task_index: The conversation's index in the job it was submitted in.
        job_id: That job's id, once submitted.
        outcome: The finished job (read the text at ``task_index``).
        error: What failed for this conversation.
        cancelled: The caller stopped waiting.
    """

    conversation: list[dict[str, Any]]
    reporter: ProgressReporter
    order: int = field(default_factory=lambda: next(_ORDER))
    task_index: int = 0
    job_id: str | None = None
    outcome: GenerationJob | None = None
    error: BaseException | None = None
    cancelled: bool = False
    cancel_reported: bool = False


@dataclass(eq=False)
class Group:
    """Conversations that will share one job (or, if refused, its halves)."""

    key: Hashable
    max_size: int
    window: float
    expected: int | None = None
    members: list[Member] = field(default_factory=list)
    arrived: int = 0
    closed: bool = False
    started: bool = False
    created: float = field(default_factory=time.monotonic)
    last_event: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Condition = field(default_factory=threading.Condition)
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    # -- forming ------------------------------------------------------------

    def add(self, member: Member) -> None:
        """Join (the caller holds ``lock``)."""
        self.members.append(member)
        self.arrived += 1
        self.last_event = time.monotonic()
        self.lock.notify_all()

    def enter(self, member: Member) -> tuple[bool, bool]:
        """Join unless closed or full: ``(joined, caller_must_start_the_runner)``."""
        with self.lock:
            if self.closed or len(self.members) >= self.max_size:
                return False, False
            self.add(member)
            first, self.started = not self.started, True
            return True, first

    def skip(self) -> None:
        """Count an expected member that will never join (bad input, cache hit)."""
        with self.lock:
            self.arrived += 1
            self.last_event = time.monotonic()
            self.lock.notify_all()

    def full(self) -> bool:
        """Whether no one else may join."""
        return len(self.members) >= self.max_size or (
            self.expected is not None and self.arrived >= self.expected
        )

    def ready_in(self, stop: threading.Event | None = None) -> float:
        """0 when the group should be sent now, else seconds until it should."""
        if self.full() or (stop is not None and stop.is_set()):
            return 0.0
        now = time.monotonic()
        until = self.last_event + self.window
        if self.expected is None:  # concurrent calls: never more than 4 windows in all
            until = min(until, self.created + 4 * self.window)
        return max(0.0, until - now)

    def collect(self, stop: threading.Event | None = None) -> list[Member]:
        """Block until the group is ready, close it, and return its members in order."""
        with self.lock:
            while (wait := self.ready_in(stop)) > 0:
                self.lock.wait(min(wait, 0.05) if stop is not None else wait)
            return self._close_now()

    async def acollect(self) -> list[Member]:
        """Async twin of :meth:`collect` (members join from the same event loop)."""
        while True:
            with self.lock:
                wait = self.ready_in()
                if wait <= 0:
                    return self._close_now()
            await asyncio.sleep(min(wait, 0.005))

    def _close_now(self) -> list[Member]:
        self.closed = True
        self.members.sort(key=lambda m: m.order)
        return list(self.members)

    def withdraw(self, member: Member) -> bool:
        """Take a cancelled caller's conversation out; False once it was collected."""
        with self.lock:
            member.cancelled = True
            if not self.closed and member in self.members:
                self.members.remove(member)
                self.lock.notify_all()
                return True
            return False

    # -- finishing ----------------------------------------------------------

    def finish(self) -> None:
        """Mark every outcome known and wake every waiting member."""
        with self.lock:
            self.done.set()
            waiters, self._waiters = self._waiters, []
        for future in waiters:
            loop = future.get_loop()
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)

    async def wait(self) -> None:
        """Wait, without blocking the loop, until :meth:`finish`."""
        with self.lock:
            if self.done.is_set():
                return
            future = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
        await future


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


Starter = Callable[[Group], None]


class Packer:
    """Open groups of concurrent calls, by what they must share to be packed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Hashable, Group] = {}

    def join(
        self, key: Hashable, member: Member, *, max_size: int, window: float, start: Starter
    ) -> Group:
        """Add ``member`` to the open group for ``key``; ``start`` runs a new group."""
        with self._lock:
            group = self._open.get(key)
            if group is not None:
                joined, _ = group.enter(member)
                if group.full() or not joined:
                    del self._open[key]
                if joined:
                    return group
            group = Group(key, max_size, window)
            group.enter(member)
            if not group.full():
                self._open[key] = group
        start(group)
        return group

    def forget(self, group: Group) -> None:
        """Stop offering a group that was collected by its runner."""
        with self._lock:
            if self._open.get(group.key) is group:
                del self._open[group.key]


#: Concurrent calls of the whole process.
PACKER = Packer()


@dataclass(eq=False)
class BatchPlan:
    """The groups of one ``batch`` call: input ``i`` is place ``i % size`` of group ``i // size``.

    Attributes:
        owner: The model whose ``batch`` made the plan; only its own calls use it.
        count: How many inputs the batch has.
        size: The most conversations per job (``max_batch_size``).
        window: Seconds a group waits after its last arrival before it is sent
            without the inputs still missing. Inputs that never reach the model
            (a cache hit, an early error) are counted by :meth:`skip`, so this
            is only a safety net.
        job_slots: The batch's own cap on jobs in flight (``max_concurrency``).
        stop: Set when the batch is interrupted: no job is submitted after it.
        key: What every call of the batch shares (set by the first call).
        job_ids: The batch's jobs, in submission order.
        progress: Where tasks done are shown, if anywhere.
    """

    owner: object
    count: int
    size: int
    window: float
    job_slots: Any = None
    stop: threading.Event = field(default_factory=threading.Event)
    key: Hashable | None = None
    job_ids: list[str] = field(default_factory=list)
    progress: Progress | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _groups: dict[int, Group] = field(default_factory=dict, init=False, repr=False)
    #: Tasks done per job, by the server's count.
    _completed: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    #: Inputs whose call has returned (also without a job).
    _inputs_done: int = field(default=0, init=False, repr=False)

    def group_for(self, index: int, key: Hashable) -> Group | None:
        """The group of input ``index`` (``None`` if ``key`` is not the plan's)."""
        with self._lock:
            if self.key is None:
                self.key = key
            if key != self.key:
                return None
            return self._group(index)

    def _group(self, index: int) -> Group:
        """The group holding input ``index``, created on first use (the caller holds the lock)."""
        number = index // self.size
        group = self._groups.get(number)
        if group is None:
            expected = min(self.size, self.count - number * self.size)
            group = Group(("batch", id(self), number), self.size, self.window, expected)
            self._groups[number] = group
        return group

    def skip(self, index: int) -> None:
        """Input ``index`` will never join (it failed early or came from the cache)."""
        with self._lock:
            group = self._group(index)
        group.skip()

    def submitted(self, job_id: str) -> None:
        """Remember a job of this batch (logged if the batch is interrupted)."""
        with self._lock:
            self.job_ids.append(job_id)

    def job_progress(self, job_id: str, completed: int) -> None:
        """A job of this batch reports ``completed`` of its tasks done."""
        with self._lock:
            self._completed[job_id] = max(completed, self._completed.get(job_id, 0))
            self._show()

    def input_finished(self) -> None:
        """One input's call returned (answered, failed, or from the cache)."""
        with self._lock:
            self._inputs_done += 1
            self._show()

    def _show(self) -> None:
        """Tasks done across all jobs (the caller holds the lock)."""
        if self.progress is not None:
            done = max(self._inputs_done, sum(self._completed.values()))
            self.progress.advance_to(min(done, self.count))


@dataclass
class BatchSlot:
    """The plan and input index of the call running in this context."""

    plan: BatchPlan
    index: int
    used: bool = False


#: Set by ``batch`` around each input's call.
BATCH_SLOT: contextvars.ContextVar[BatchSlot | None] = contextvars.ContextVar(
    "langchain_mlstudio_batch_slot", default=None
)
