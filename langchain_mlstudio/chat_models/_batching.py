"""``batch`` and ``abatch`` (and their ``_as_completed`` twins) over a :class:`BatchPlan`.

Each input is still its own ``invoke`` run (callbacks, tracing,
``return_exceptions`` as usual), but runs carry their input index so the
plan packs them in input order: ``n`` inputs make ``ceil(n / max_batch_size)``
jobs whatever the timing. ``max_concurrency`` bounds the jobs in flight for
the batch, not the number of conversations per job.

The sync twins run the inputs on daemon threads: Ctrl-C returns at once,
no job is submitted afterwards, and the ids of the jobs already submitted
are logged (they keep their slot until they end, like a cancelled call's).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_config_list

from langchain_mlstudio._core._limits import Slots
from langchain_mlstudio._core._progress import Progress
from langchain_mlstudio.chat_models._packing import BATCH_SLOT, BatchPlan, BatchSlot

__all__ = ["BatchRun"]

if TYPE_CHECKING:
    from langchain_mlstudio.chat_models.base import BaseChatGenerationJob

logger = logging.getLogger("langchain_mlstudio.chat_models")

#: Threads a sync ``batch`` uses at most (each mostly waits on a job).
MAX_BATCH_THREADS = 256
#: Seconds a batch job waits for a missing input that was never counted.
PLAN_SAFETY_WINDOW = 2.0

Outcome = tuple[int, Any, bool]  # index, result or exception, succeeded


def _plan(
    model: BaseChatGenerationJob,
    inputs: Sequence[Any],
    config: RunnableConfig | Sequence[RunnableConfig] | None,
) -> tuple[BatchPlan, list[RunnableConfig]]:
    configs = get_config_list(config, len(inputs))
    concurrency = configs[0].get("max_concurrency") if configs else None
    for cfg in configs:
        cfg.pop("max_concurrency", None)  # it bounds jobs here, not runs
    plan = BatchPlan(
        model,
        len(inputs),
        # a sync batch's job must fit its threads, or it would wait for itself
        min(model.max_batch_size, MAX_BATCH_THREADS),
        max(model.pack_window, PLAN_SAFETY_WINDOW),
        Slots(concurrency) if concurrency else None,
    )
    plan.progress = Progress(
        len(inputs), description=f"{model.get_name()} batch", unit="task", enabled=model.progress
    )
    return plan, configs


def _count_input_done(slot: BatchSlot) -> None:
    """Count the input done (one answered from the cache no longer holds its job)."""
    if not slot.used:
        slot.used = True
        slot.plan.skip(slot.index)
    slot.plan.input_finished()


def _end_progress(plan: BatchPlan) -> None:
    """End the batch's progress display (also after an error)."""
    if plan.progress is not None:
        plan.progress.close()


def _interrupted(plan: BatchPlan) -> None:
    plan.stop.set()
    logger.warning(
        "Batch interrupted: no further job is submitted. %d job(s) were already submitted "
        "and may still run: %s (resume with client.wait_for_job(job_id)).",
        len(plan.job_ids),
        ", ".join(plan.job_ids) or "none",
    )


def _start_workers(
    model: BaseChatGenerationJob,
    plan: BatchPlan,
    inputs: Sequence[Any],
    configs: list[RunnableConfig],
    kwargs: dict[str, Any],
) -> queue.Queue[Outcome]:
    """Run every input's ``invoke`` on daemon threads; outcomes arrive on the queue."""
    outcomes: queue.Queue[Outcome] = queue.Queue()
    indices = iter(range(len(inputs)))
    lock = threading.Lock()

    def work() -> None:
        while not plan.stop.is_set():
            with lock:
                index = next(indices, None)
            if index is None:
                return
            slot = BatchSlot(plan, index)
            token = BATCH_SLOT.set(slot)
            try:
                outcome: Outcome = (
                    index,
                    model.invoke(inputs[index], configs[index], **kwargs),
                    True,
                )
            except Exception as exc:
                outcome = (index, exc, False)
            finally:
                BATCH_SLOT.reset(token)
                _count_input_done(slot)
            outcomes.put(outcome)

    context = contextvars.copy_context()
    for number in range(min(len(inputs), MAX_BATCH_THREADS)):
        threading.Thread(
            target=context.copy().run, args=(work,), name=f"mlstudio-batch-{number}", daemon=True
        ).start()
    return outcomes


async def _arun_one(
    model: BaseChatGenerationJob,
    plan: BatchPlan,
    index: int,
    value: Any,
    *,
    config: RunnableConfig,
    return_exceptions: bool,
    kwargs: dict[str, Any],
) -> tuple[int, Any]:
    slot = BatchSlot(plan, index)
    BATCH_SLOT.set(slot)  # this task's own context
    try:
        return index, await model.ainvoke(value, config, **kwargs)
    except Exception as exc:
        if return_exceptions:
            return index, exc
        raise
    finally:
        _count_input_done(slot)


@dataclass(frozen=True)
class BatchRun:
    """One ``batch`` call of a model (or ``abatch``, or an ``_as_completed`` twin).

    Attributes:
        model: The model whose ``batch`` was called.
        inputs: The inputs, in order.
        config: The config for all inputs, or one per input.
        return_exceptions: Hand back a failed input's error in its place.
        kwargs: The call's keyword arguments, for every input.
    """

    model: BaseChatGenerationJob
    inputs: Sequence[Any]
    config: RunnableConfig | Sequence[RunnableConfig] | None
    return_exceptions: bool
    kwargs: dict[str, Any]

    def _outcomes(self, plan: BatchPlan, configs: list[RunnableConfig]) -> Iterator[Outcome]:
        """Every input's outcome, as it finishes, from the worker threads."""
        outcomes = _start_workers(self.model, plan, self.inputs, configs, self.kwargs)
        for _ in self.inputs:
            yield outcomes.get()

    def run(self) -> list[Any]:
        """``batch``: results in input order; the first error (by input) raised unless returned."""
        plan, configs = _plan(self.model, self.inputs, self.config)
        results: list[Any] = [None] * len(self.inputs)
        failed: list[int] = []
        try:
            for index, value, ok in self._outcomes(plan, configs):
                results[index] = value
                if not ok:
                    failed.append(index)
        except BaseException:
            _interrupted(plan)
            raise
        finally:
            _end_progress(plan)
        if failed and not self.return_exceptions:
            raise results[min(failed)]
        return results

    def run_as_completed(self) -> Iterator[tuple[int, Any]]:
        """``batch_as_completed``: ``(index, result)`` as each input finishes."""
        plan, configs = _plan(self.model, self.inputs, self.config)
        try:
            for index, value, ok in self._outcomes(plan, configs):
                if not ok and not self.return_exceptions:
                    raise value
                yield index, value
        except (KeyboardInterrupt, GeneratorExit):
            _interrupted(plan)
            raise
        finally:
            _end_progress(plan)

    def _acalls(
        self, plan: BatchPlan, configs: Sequence[RunnableConfig]
    ) -> list[Coroutine[Any, Any, tuple[int, Any]]]:
        """One call per input, in input order, for ``gather`` or ``as_completed``."""
        return [
            _arun_one(
                self.model,
                plan,
                i,
                value,
                config=configs[i],
                return_exceptions=self.return_exceptions,
                kwargs=self.kwargs,
            )
            for i, value in enumerate(self.inputs)
        ]

    async def arun(self) -> list[Any]:
        """Async twin of :meth:`run` (cancelling it cancels every input's call)."""
        plan, configs = _plan(self.model, self.inputs, self.config)
        try:
            pairs = await asyncio.gather(*self._acalls(plan, configs))
        finally:
            _end_progress(plan)
        return [result for _, result in pairs]

    async def arun_as_completed(self) -> AsyncIterator[tuple[int, Any]]:
        """Async twin of :meth:`run_as_completed`."""
        plan, configs = _plan(self.model, self.inputs, self.config)
        tasks = [asyncio.ensure_future(call) for call in self._acalls(plan, configs)]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            for task in tasks:
                task.cancel()
            _end_progress(plan)
