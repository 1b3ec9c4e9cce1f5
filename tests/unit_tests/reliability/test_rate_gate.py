"""The requests-per-second gate keeps its spacing when a waiter wakes up late."""

from __future__ import annotations

import asyncio
import itertools
import time

from langchain_mlstudio._core._calls import Attempt
from langchain_mlstudio._core._limits import RequestsPerSecond

RATE = 20.0


async def test_starts_stay_spaced_when_the_event_loop_wakes_waiters_late() -> None:
    gate = RequestsPerSecond(RATE)
    starts: list[float] = []

    async def request() -> None:
        await gate.abefore_attempt(Attempt("POST", "/run"))
        starts.append(time.monotonic())

    tasks = [asyncio.create_task(request()) for _ in range(4)]
    await asyncio.sleep(0)  # every task reserves its start time
    time.sleep(3 * gate.interval)  # a busy loop: every reserved time passes unserved
    await asyncio.gather(*tasks)

    gaps = [b - a for a, b in itertools.pairwise(sorted(starts))]
    assert min(gaps) >= gate.interval - 0.002, gaps
