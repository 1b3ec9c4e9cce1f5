"""Adaptive polling, the job-slot semaphore and the requests-per-second gate."""

from __future__ import annotations

import asyncio
import itertools
import pickle
import threading
import time

import pytest

from langchain_mlstudio import JobTimeoutError, NotFoundError, ServerError
from langchain_mlstudio._core._calls import Attempt
from langchain_mlstudio._core._limits import RequestsPerSecond, Slots
from langchain_mlstudio._core._polling import PollResult, PollSchedule, apoll_job, poll_job


def test_first_check_is_quick_and_later_ones_back_off_to_the_cap() -> None:
    schedule = PollSchedule()
    delays = []
    elapsed = 0.0
    for _ in range(60):
        delay = schedule.next_delay(elapsed)
        delays.append(delay)
        elapsed += delay

    assert 0.1 <= delays[0] <= 0.25
    assert delays == sorted(delays)  # never shrinks
    assert delays[-1] == 2.0  # reaches the cap
    assert max(delays) <= 2.0
    # geometric: once past the floor, each check time is ~1.1x the previous
    checks = [sum(delays[: i + 1]) for i in range(len(delays))]
    grown = [b / a for a, b in itertools.pairwise(checks) if 0.15 * 10 < a < 15]
    assert all(abs(ratio - 1.1) < 0.01 for ratio in grown)


def test_schedule_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="interval"):
        PollSchedule(initial_interval=3, max_interval=2)
    with pytest.raises(ValueError, match="multiplier"):
        PollSchedule(multiplier=0.5)


class FakeClock:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)


def test_poll_waits_by_the_schedule_and_returns_the_final_state() -> None:
    states = iter(["a", "b", "c"])
    clock = FakeClock()

    result = poll_job(
        "j1",
        lambda: _step(states),
        schedule=PollSchedule(0.15, 2.0),
        timeout=None,
        sleep=clock.sleep,
    )

    assert result == "c"
    assert clock.sleeps[0] == 0.15
    assert len(clock.sleeps) == 3


def _step(states: object) -> PollResult[str]:
    value = next(states)  # type: ignore[call-overload]
    return PollResult(value, final=value == "c")


def test_retry_after_on_a_status_response_wins() -> None:
    answers = iter([PollResult("run", False, retry_after=7.0), PollResult("done", True)])
    clock = FakeClock()

    poll_job("j", lambda: next(answers), schedule=PollSchedule(), timeout=None, sleep=clock.sleep)

    assert clock.sleeps[1] == 7.0


def test_transient_errors_on_a_status_check_are_retried() -> None:
    answers = iter([ServerError("503"), ServerError("502"), PollResult("done", True)])
    clock = FakeClock()

    def check() -> PollResult[str]:
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    assert poll_job("j", check, schedule=PollSchedule(), timeout=None, sleep=clock.sleep) == "done"


def test_too_many_transient_errors_in_a_row_give_up() -> None:
    def check() -> PollResult[str]:
        raise ServerError("down", status_code=500)

    with pytest.raises(ServerError):
        poll_job(
            "j",
            check,
            schedule=PollSchedule(),
            timeout=None,
            max_consecutive_errors=3,
            sleep=FakeClock().sleep,
        )


def test_a_vanished_job_is_not_retried() -> None:
    calls = 0

    def check() -> PollResult[str]:
        nonlocal calls
        calls += 1
        raise NotFoundError("gone", status_code=404)

    with pytest.raises(NotFoundError):
        poll_job("j", check, schedule=PollSchedule(), timeout=None, sleep=FakeClock().sleep)
    assert calls == 1


def test_deadline_raises_with_the_job_id() -> None:
    with pytest.raises(JobTimeoutError) as info:
        poll_job(
            "job_77",
            lambda: PollResult("running", final=False),
            schedule=PollSchedule(0.001, 0.002),
            timeout=0.01,
        )
    assert info.value.job_id == "job_77"
    assert info.value.waited >= 0.01
    assert "job_77" in str(info.value)
    assert isinstance(info.value, TimeoutError)


async def test_async_poll_behaves_like_sync() -> None:
    answers = iter([PollResult("run", False), PollResult("done", True)])

    async def check() -> PollResult[str]:
        return next(answers)

    async def no_sleep(_: float) -> None:
        return None

    assert (
        await apoll_job("j", check, schedule=PollSchedule(), timeout=None, sleep=no_sleep) == "done"
    )


def test_slots_never_exceed_their_size_across_threads() -> None:
    slots = Slots(2)
    active = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal active, peak
        with slots:
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.005)
            with lock:
                active -= 1

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert peak == 2
    assert slots.peak == 2
    assert slots.in_use == 0


async def test_slots_are_shared_by_threads_and_tasks() -> None:
    slots = Slots(1)
    order: list[str] = []
    slots.acquire()  # held by "a thread"

    async def task() -> None:
        async with slots:
            order.append("task")

    pending = asyncio.ensure_future(task())
    await asyncio.sleep(0.01)
    assert order == []  # the task waits for the thread's slot
    slots.release()
    await pending
    assert order == ["task"]
    assert slots.in_use == 0


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    slots = Slots(1)
    await slots.aacquire()
    waiter = asyncio.ensure_future(slots.aacquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    slots.release()
    assert slots.in_use == 0
    await asyncio.wait_for(slots.aacquire(), 1)


def test_requests_per_second_spaces_reservations_with_a_jitter_margin() -> None:
    gate = RequestsPerSecond(50, jitter=0.05)
    delays = [gate._reserve() for _ in range(5)]
    assert delays[0] == 0
    gaps = [b - a for a, b in itertools.pairwise(delays)]
    assert all(gap == pytest.approx(1.05 / 50, abs=0.003) for gap in gaps)


async def test_requests_per_second_holds_across_threads_and_tasks() -> None:
    gate = RequestsPerSecond(20, jitter=0.0)
    starts: list[float] = []
    lock = threading.Lock()

    def sync_caller() -> None:
        for _ in range(5):
            gate.before_attempt(Attempt("POST", "/run"))
            with lock:
                starts.append(time.monotonic())

    async def async_caller() -> None:
        for _ in range(5):
            await gate.abefore_attempt(Attempt("POST", "/run"))
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=sync_caller) for _ in range(3)]
    for t in threads:
        t.start()
    await asyncio.gather(*(async_caller() for _ in range(3)))
    for t in threads:
        t.join()

    starts.sort()
    assert len(starts) == 30
    # No 1-second window holds more than 20 starts.
    assert all(b - a >= 1.0 for a, b in zip(starts, starts[20:], strict=False))


def test_limits_pickle_without_their_locks() -> None:
    gate = pickle.loads(pickle.dumps(RequestsPerSecond(5)))
    slots = pickle.loads(pickle.dumps(Slots(3)))
    assert gate.rate == 5
    assert slots.size == 3
    gate.before_attempt(Attempt("POST", "/run"))
    with slots:
        assert slots.in_use == 1


async def test_waiter_cancelled_while_a_slot_is_released_does_not_free_a_second_slot() -> None:
    slots = Slots(1)
    await slots.aacquire()  # a job holds the only slot
    waiter = asyncio.create_task(slots.aacquire())
    await asyncio.sleep(0)
    waiter.cancel()  # its future is cancelled before it runs again
    slots.release()  # the job ends before the waiter handles its cancellation
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert slots.in_use == 0
    await slots.aacquire()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(slots.aacquire(), 0.05)  # the cap still holds
    assert slots.in_use == 1
