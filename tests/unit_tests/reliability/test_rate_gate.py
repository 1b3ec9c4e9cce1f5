"""The requests-per-second gate keeps its spacing when a waiter wakes up late."""

from __future__ import annotations

import asyncio
import itertools

from langchain_mlstudio._core._calls import Attempt
from langchain_mlstudio._core._limits import RequestsPerSecond

RATE = 20.0


class VirtualTime:
    """A clock and an ``asleep`` for one event loop; time moves only when told to.

    Sleepers wake in deadline order when :meth:`run` finds nothing left to do,
    or all at once after :meth:`stall` (a loop busy with other work).
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def asleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.now + seconds, woken))
        await woken

    def stall(self, seconds: float) -> None:
        """Let ``seconds`` pass without the loop waking anyone."""
        self.now += seconds

    async def run(self, tasks: list[asyncio.Task[None]]) -> None:
        """Drive ``tasks`` to their end, moving time to the next deadline when all sleep."""
        while not all(task.done() for task in tasks):
            for _ in range(5):  # woken tasks run on to their next sleep
                await asyncio.sleep(0)
            due = [sleeper for sleeper in self.sleepers if sleeper[0] <= self.now]
            if not due and self.sleepers:
                self.now = min(deadline for deadline, _ in self.sleepers)
                continue
            for sleeper in due:
                self.sleepers.remove(sleeper)
                sleeper[1].set_result(None)


async def test_starts_stay_spaced_when_the_event_loop_wakes_waiters_late() -> None:
    time = VirtualTime()
    gate = RequestsPerSecond(RATE, clock=time.clock, asleep=time.asleep)
    starts: list[float] = []

    async def request() -> None:
        await gate.abefore_attempt(Attempt("POST", "/run"))
        starts.append(time.clock())

    tasks = [asyncio.create_task(request()) for _ in range(4)]
    await asyncio.sleep(0)  # every task reserves its start time
    time.stall(3 * gate.interval)  # a busy loop: every reserved time passes unserved
    await time.run(tasks)

    gaps = [b - a for a, b in itertools.pairwise(sorted(starts))]
    assert len(starts) == 4
    assert min(gaps) >= gate.interval - 1e-9, gaps
