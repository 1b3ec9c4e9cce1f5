"""Report a job's progress to the logs, to a run's callbacks and to LangGraph.

Two custom callback events are sent to the run of each conversation:

* :data:`PROGRESS_EVENT` after every status check that changed something,
  with ``job_id``, ``job_status``, ``completed_tasks``, ``total_tasks`` and
  the conversation's own ``task_index``;
* :data:`CANCELLED_EVENT` when the call was cancelled (``asyncio`` cancel,
  Ctrl-C) after its job was submitted, with ``job_id`` and ``task_index``, so
  the job can be resumed with ``client.wait_for_job(job_id)``.

Inside a LangGraph node the same data also goes to the graph's ``custom``
stream mode, as ``{event_name: data}``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
)

from langchain_mlstudio.chat_models.types import GenerationJob

if TYPE_CHECKING:
    from langchain_core.callbacks import BaseCallbackManager, CallbackManagerForLLMRun

__all__ = ["CANCELLED_EVENT", "PROGRESS_EVENT", "JobLog", "ProgressReporter", "langgraph_writer"]

logger = logging.getLogger("langchain_mlstudio.chat_models")

#: The custom callback event carrying ``completed_tasks`` / ``total_tasks``.
PROGRESS_EVENT = "mlstudio_job_progress"
#: The custom callback event naming the job a cancelled call leaves running.
CANCELLED_EVENT = "mlstudio_call_cancelled"

Writer = Callable[[Any], None]


def langgraph_writer() -> Writer | None:
    """LangGraph's ``custom`` stream writer when called inside a graph node, else ``None``.

    Example:
        >>> langgraph_writer() is None  # not inside a graph
        True
    """
    try:
        config = importlib.import_module("langgraph.config")
        writer: Writer = config.get_stream_writer()
    except (ImportError, RuntimeError, KeyError, AttributeError):
        return None
    return writer


def progress_data(job: GenerationJob, task_index: int) -> dict[str, Any]:
    """The progress event's data for one conversation of a job.

    Example:
        >>> progress_data(GenerationJob(job_id="j", job_status="RUNNING", total_tasks=2,
        ...                        completed_tasks=1), 1)["completed_tasks"]
        1
    """
    return {
        "job_id": job.job_id,
        "job_status": job.job_status,
        "completed_tasks": job.completed_tasks,
        "total_tasks": job.total_tasks,
        "task_index": task_index,
    }


class JobLog:
    """Logs a job's progress once per change (a packed job once, not per conversation)."""

    def __init__(self) -> None:
        self._last: tuple[Any, ...] | None = None

    def __call__(self, job: GenerationJob) -> None:
        """Log one status check if something changed."""
        state = (job.job_status, job.completed_tasks, job.total_tasks)
        if state != self._last:
            self._last = state
            logger.info(
                "Job %s: %s, %s/%s tasks done",
                job.job_id,
                job.job_status,
                job.completed_tasks,
                job.total_tasks,
            )


class ProgressReporter:
    """Sends one run's custom events to its callbacks (and LangGraph's writer).

    Built from the run's callback manager, or, on the ``stream`` path where
    LangChain gives ``_stream`` no run manager, from the configured manager
    and the run's id.
    """

    def __init__(
        self,
        manager: BaseCallbackManager | None,
        run_id: UUID | None,
        writer: Writer | None = None,
    ) -> None:
        self.manager = manager
        self.run_id = run_id
        self.writer = writer
        self._last: tuple[Any, ...] | None = None

    @classmethod
    def for_run(
        cls, run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None
    ) -> ProgressReporter:
        """The reporter of a run, from the manager LangChain handed the model."""
        writer = langgraph_writer()
        if run_manager is None:
            return cls(None, None, writer)
        manager_cls = (
            AsyncCallbackManager
            if isinstance(run_manager, AsyncCallbackManagerForLLMRun)
            else CallbackManager
        )
        manager = manager_cls(
            handlers=run_manager.handlers,
            parent_run_id=run_manager.parent_run_id,
            tags=run_manager.tags,
            metadata=run_manager.metadata,
        )
        return cls(manager, run_manager.run_id, writer)

    def _changed(self, data: dict[str, Any]) -> bool:
        state = (data["job_status"], data["completed_tasks"], data["total_tasks"])
        if state == self._last:
            return False
        self._last = state
        return True

    def progress(self, job: GenerationJob, task_index: int) -> Any:
        """Report one status check (awaitable for an async manager)."""
        data = progress_data(job, task_index)
        if not self._changed(data):
            return None
        return self.emit(PROGRESS_EVENT, data)

    def cancelled(self, job_id: str, task_index: int) -> Any:
        """Report that the call was cancelled while its job keeps running."""
        return self.emit(CANCELLED_EVENT, {"job_id": job_id, "task_index": task_index})

    def emit(self, name: str, data: dict[str, Any]) -> Any:
        """Send one custom event; an awaitable when the manager is async."""
        if self.writer is not None:
            try:
                self.writer({name: data})
            except Exception:  # a closed graph stream must not fail the job
                logger.debug("LangGraph stream writer refused %s", name, exc_info=True)
        manager = self.manager
        if manager is None or not manager.handlers:
            return None
        outcome = manager.on_custom_event(name, data, run_id=self.run_id)  # type: ignore[attr-defined]
        return outcome if inspect.isawaitable(outcome) else None
