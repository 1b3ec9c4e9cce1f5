"""Report a job's progress to the logs and to a run's callbacks."""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)

from langchain_mlstudio.chat_models._jobs import GenerationJob

logger = logging.getLogger("langchain_mlstudio.chat_models")

#: The custom callback event carrying ``completed_tasks`` / ``total_tasks``.
PROGRESS_EVENT = "mlstudio_job_progress"


class ProgressReporter:
    """Tells one run's callbacks (and, with ``log=True``, the log) of a job's progress.

    Each change is reported once; a packed job is logged once, not once per
    conversation.

    The callbacks receive a custom event named :data:`PROGRESS_EVENT` with
    ``job_id``, ``job_status``, ``completed_tasks`` and ``total_tasks``.
    """

    def __init__(self, run_manager: CallbackManagerForLLMRun | None, *, log: bool = False) -> None:
        self.run_manager = run_manager
        self.log = log
        self._last: tuple[Any, ...] | None = None

    def _news(self, job: GenerationJob) -> dict[str, Any] | None:
        """The event data when the job's progress changed, else ``None``."""
        state = (job.job_status, job.completed_tasks, job.total_tasks)
        if state == self._last:
            return None
        self._last = state
        if self.log:
            logger.info(
                "Job %s: %s, %s/%s tasks done",
                job.job_id,
                job.job_status,
                job.completed_tasks,
                job.total_tasks,
            )
        return {
            "job_id": job.job_id,
            "job_status": job.job_status,
            "completed_tasks": job.completed_tasks,
            "total_tasks": job.total_tasks,
        }

    def __call__(self, job: GenerationJob) -> None:
        """Report one status check."""
        data = self._news(job)
        manager = self.run_manager
        if data is not None and manager is not None and manager.handlers:
            CallbackManager(
                handlers=manager.handlers,
                parent_run_id=manager.parent_run_id,
                tags=manager.tags,
                metadata=manager.metadata,
            ).on_custom_event(PROGRESS_EVENT, data, run_id=manager.run_id)


class AsyncProgressReporter(ProgressReporter):
    """Async twin of :class:`ProgressReporter`."""

    def __init__(self, run_manager: AsyncCallbackManagerForLLMRun | None) -> None:
        self.async_run_manager = run_manager
        super().__init__(None)

    async def __call__(self, job: GenerationJob) -> None:  # type: ignore[override]
        """Report one status check."""
        data = self._news(job)
        manager = self.async_run_manager
        if data is not None and manager is not None and manager.handlers:
            await AsyncCallbackManager(
                handlers=manager.handlers,
                parent_run_id=manager.parent_run_id,
                tags=manager.tags,
                metadata=manager.metadata,
            ).on_custom_event(PROGRESS_EVENT, data, run_id=manager.run_id)
