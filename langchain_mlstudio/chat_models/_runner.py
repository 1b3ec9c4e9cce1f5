"""Run one group of conversations as generation jobs, and hand each its outcome.

The runner seals the group, takes a slot of the credential's shared limit
(and of the batch's own ``max_concurrency``), submits, and follows the job
until it ends, releasing the slot only then. A job the server refuses as a
whole (HTTP 400, 413 or 422: nothing was created) is split in halves until
the parts fit, so one conversation the server cannot take fails alone and a
job that is merely too large still runs in as few jobs as possible. Errors
are handed to each conversation with its own ``task_index``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from dataclasses import dataclass
from typing import Any

from langchain_mlstudio._core._limits import Slots
from langchain_mlstudio.chat_models._packing import PACKER, BatchPlan, Group, Member
from langchain_mlstudio.chat_models._progress import JobLog
from langchain_mlstudio.chat_models.client import ModelStudioClient
from langchain_mlstudio.chat_models.types import GenerationJob
from langchain_mlstudio.errors import APIStatusError, JobTimeoutError

__all__ = ["JobSpec", "start_task", "start_thread"]

logger = logging.getLogger("langchain_mlstudio.chat_models")

#: Statuses that refuse a job as a whole before creating it.
_REFUSED_WHOLE = frozenset({400, 413, 422})

Part = list[Member]


class BatchInterruptedError(InterruptedError):
    """The batch was interrupted (Ctrl-C) before this conversation's job was submitted."""


@dataclass
class JobSpec:
    """Everything a runner needs: the client, the limits and the job parameters."""

    client: ModelStudioClient
    slots: Slots
    limit: int | None
    model: str
    temperature: float | None
    max_tokens: int | None
    job_timeout: float | None
    plan: BatchPlan | None = None

    def payload_args(self) -> dict[str, Any]:
        """Keyword arguments of ``submit`` shared by every part."""
        return {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens}


def refused_whole(error: BaseException, part: Part) -> bool:
    """Whether a part of several conversations was refused before a job was created."""
    return (
        len(part) > 1 and isinstance(error, APIStatusError) and error.status_code in _REFUSED_WHOLE
    )


def halves(part: list[Any]) -> list[list[Any]]:
    """A part cut in two, order kept.

    Example:
        >>> halves(["a", "b", "c"])
        [['a', 'b'], ['c']]
    """
    middle = (len(part) + 1) // 2
    return [part[:middle], part[middle:]]


def _as_seen_by(error: BaseException, member: Member) -> BaseException:
    """The error as this member should see it: a timeout names its own task."""
    if isinstance(error, JobTimeoutError):
        copy = JobTimeoutError(
            f"Task {member.task_index} of job {error.job_id} did not finish in time "
            f"(waited {error.waited:.1f} s)",
            job_id=error.job_id,
            waited=error.waited,
            task_index=member.task_index,
            hint=(
                "The job may still finish: resume with "
                f"client.wait_for_job({error.job_id!r}).text_for({member.task_index}), "
                "or raise job_timeout."
            ),
        )
        copy.__cause__ = error
        return copy
    return error


def _fail(part: Part, error: BaseException) -> None:
    for member in part:
        member.error = _as_seen_by(error, member)


def _still_waiting(part: Part, group: Group) -> Part:
    """The members still waiting; their task indices follow the part's order."""
    with group.lock:
        live = [m for m in part if not m.cancelled]
        for index, member in enumerate(live):
            member.task_index = index
    return live


def _submitted(spec: JobSpec, group: Group, part: Part, job_id: str) -> list[Member]:
    """Record the job on its members; the ones cancelled meanwhile are returned."""
    if spec.plan is not None:
        spec.plan.submitted(job_id)
        if spec.plan.stop.is_set():  # its request was on its way when Ctrl-C came
            logger.warning(
                "Job %s was submitted while the batch was interrupted; it may still run "
                "(resume with client.wait_for_job(%r)).",
                job_id,
                job_id,
            )
    late: list[Member] = []
    with group.lock:
        for member in part:
            member.job_id = job_id
            if member.cancelled and not member.cancel_reported:
                member.cancel_reported = True
                late.append(member)
    for member in late:
        logger.warning(
            "Job %s (task %d) belongs to a cancelled call; it keeps running and its slot "
            "is held until it ends. Resume with client.wait_for_job(%r).",
            job_id,
            member.task_index,
            job_id,
        )
    return late


def _close_and_wake(group: Group) -> None:
    """No one may join any more (also when collecting was cut short); wake everyone."""
    with group.lock:
        group.closed = True
    PACKER.forget(group)
    group.finish()


# -- sync -------------------------------------------------------------------


def run_group(spec: JobSpec, group: Group) -> None:
    """Collect, submit and follow a group from a (daemon) runner thread."""
    stop = spec.plan.stop if spec.plan is not None else None
    try:
        members = group.collect(stop)
        PACKER.forget(group)
        followers: list[threading.Thread] = []
        try:
            _submit_all(spec, group, members, followers, stop)
        finally:
            for follower in followers:
                follower.join()
    except BaseException as exc:
        _fail([m for m in group.members if m.outcome is None and m.error is None], exc)
    finally:
        _close_and_wake(group)


def _acquire(spec: JobSpec, stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise BatchInterruptedError("the batch was interrupted; no job was submitted")
    job_slots = spec.plan.job_slots if spec.plan is not None else None
    if job_slots is not None:
        job_slots.acquire(cancel=stop)
    try:
        spec.slots.acquire(spec.limit, cancel=stop)
    except BaseException:
        if job_slots is not None:
            job_slots.release()
        raise


def _release(spec: JobSpec) -> None:
    spec.slots.release()
    if spec.plan is not None and spec.plan.job_slots is not None:
        spec.plan.job_slots.release()


def _submit_all(
    spec: JobSpec,
    group: Group,
    members: Part,
    followers: list[threading.Thread],
    stop: threading.Event | None,
) -> None:
    """Submit the members, split on refusal, each job followed on its own thread.

    So a part waiting for a slot never waits for a job this runner holds.
    """
    queue: list[Part] = [members]
    while queue:
        part = _still_waiting(queue.pop(0), group)
        if not part:
            continue
        try:
            _acquire(spec, stop)
        except InterruptedError:
            _fail(part, BatchInterruptedError("the batch was interrupted; no job was submitted"))
            continue
        try:
            job_id = spec.client.submit(
                [m.conversation for m in part],
                **spec.payload_args(),
                wait_for_capacity=spec.job_timeout,
                stop=stop,
            )
        except BaseException as exc:
            _release(spec)
            if refused_whole(exc, part):
                queue[0:0] = halves(part)
            else:
                _fail(part, exc)
            continue
        follower = threading.Thread(
            target=_follow, args=(spec, job_id, part), name="mlstudio-follow", daemon=True
        )
        follower.start()
        followers.append(follower)
        for member in _submitted(spec, group, part, job_id):
            member.reporter.cancelled(job_id, member.task_index)


def _follow(spec: JobSpec, job_id: str, part: Part) -> None:
    log = JobLog()

    def on_progress(job: GenerationJob) -> None:
        log(job)
        if spec.plan is not None and job.completed_tasks is not None:
            spec.plan.job_progress(job_id, job.completed_tasks)
        for member in part:
            member.reporter.progress(job, member.task_index)

    try:
        job = spec.client.wait_for_job(job_id, on_progress=on_progress)
    except BaseException as exc:
        _fail(part, exc)
    else:
        for member in part:
            member.outcome = job
    finally:
        _release(spec)


def start_thread(spec: JobSpec, group: Group) -> None:
    """Run a group on a daemon thread (a Ctrl-C never waits for it)."""
    threading.Thread(target=run_group, args=(spec, group), name="mlstudio-job", daemon=True).start()


# -- async ------------------------------------------------------------------

_TASKS: set[asyncio.Task[None]] = set()


def start_task(spec: JobSpec, group: Group) -> None:
    """Run a group on a task of the running loop, kept alive until it ends."""
    task = asyncio.get_running_loop().create_task(arun_group(spec, group))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


async def arun_group(spec: JobSpec, group: Group) -> None:
    """Async twin of :func:`run_group`."""
    try:
        members = await group.acollect()
        PACKER.forget(group)
        followers: list[asyncio.Task[None]] = []
        try:
            await _asubmit_all(spec, group, members, followers)
        finally:
            if followers:
                await asyncio.gather(*followers)
    except BaseException as exc:
        _fail([m for m in group.members if m.outcome is None and m.error is None], exc)
        if isinstance(exc, asyncio.CancelledError):  # the loop is closing
            raise
    finally:
        _close_and_wake(group)


async def _aacquire(spec: JobSpec) -> None:
    job_slots = spec.plan.job_slots if spec.plan is not None else None
    if job_slots is not None:
        await job_slots.aacquire()
    try:
        await spec.slots.aacquire(spec.limit)
    except BaseException:
        if job_slots is not None:
            job_slots.release()
        raise


async def _asubmit_all(
    spec: JobSpec, group: Group, members: Part, followers: list[asyncio.Task[None]]
) -> None:
    queue: list[Part] = [members]
    while queue:
        part = _still_waiting(queue.pop(0), group)
        if not part:
            continue
        await _aacquire(spec)
        try:
            job_id = await spec.client.asubmit(
                [m.conversation for m in part],
                **spec.payload_args(),
                wait_for_capacity=spec.job_timeout,
            )
        except BaseException as exc:
            _release(spec)
            if refused_whole(exc, part):
                queue[0:0] = halves(part)
                continue
            _fail(part, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            continue
        followers.append(asyncio.get_running_loop().create_task(_afollow(spec, job_id, part)))
        for member in _submitted(spec, group, part, job_id):
            await _maybe_await(member.reporter.cancelled(job_id, member.task_index))


async def _afollow(spec: JobSpec, job_id: str, part: Part) -> None:
    log = JobLog()

    async def on_progress(job: GenerationJob) -> None:
        log(job)
        if spec.plan is not None and job.completed_tasks is not None:
            spec.plan.job_progress(job_id, job.completed_tasks)
        for member in part:
            await _maybe_await(member.reporter.progress(job, member.task_index))

    try:
        job = await spec.client.await_job(job_id, on_progress=on_progress)
    except BaseException as exc:
        _fail(part, exc)
        if isinstance(exc, asyncio.CancelledError):
            logger.warning(
                "Stopped following job %s (the event loop is closing); it may still run. "
                "Resume with client.wait_for_job(%r).",
                job_id,
                job_id,
            )
            raise
    else:
        for member in part:
            member.outcome = job
    finally:
        _release(spec)


async def _maybe_await(outcome: Any) -> None:
    if inspect.isawaitable(outcome):
        await outcome
