"""What the generate-job API reports: a job's status and each task's result.

IONOS says ``FINISHED``, ModelStudio ``completed``; running and failure words
are undocumented, so statuses are compared case-insensitively and anything
unknown counts as still running.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from langchain_mlstudio.errors import TaskFailedError

__all__ = ["GenerationJob", "JobState", "TaskResult", "parse_state"]


class JobState(str, Enum):
    """A job's or task's status, reduced to what a client acts on."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_SUCCESS_WORDS = frozenset({"finished", "completed", "succeeded", "done", "success"})
_FAILURE_WORDS = frozenset({"failed", "error", "canceled", "cancelled", "expired"})


def parse_state(status: str | None) -> JobState:
    """Reduce a status word to a :class:`JobState`, case-insensitively.

    Unknown words (and ``None``) mean the job is still running.

    Example:
        >>> [parse_state(s).value for s in ("FINISHED", "Cancelled", "warming_up")]
        ['succeeded', 'failed', 'running']
    """
    word = (status or "").strip().lower()
    if word in _SUCCESS_WORDS:
        return JobState.SUCCEEDED
    if word in _FAILURE_WORDS:
        return JobState.FAILED
    return JobState.RUNNING


class TaskResult(BaseModel):
    """The outcome of one conversation of a job.

    Attributes:
        task_index: The conversation's position in the submitted job.
        status: The task's raw status word.
        result: The generated text (``None`` while running or on failure).
        error: The server's error message for a failed task.
    """

    model_config = ConfigDict(extra="allow")

    task_index: int = Field(strict=True)
    status: str | None = None
    result: str | None = None
    error: str | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _stringify_error(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return str(value)

    @property
    def state(self) -> JobState:
        """The task's state; a result without a status counts as success."""
        if self.status is None and self.result is not None:
            return JobState.SUCCEEDED
        return parse_state(self.status)


class GenerationJob(BaseModel):
    """A generation job's status as reported by ``GET .../generate/{job_id}``.

    Example:
        >>> job = GenerationJob.model_validate({"job_id": "j", "job_status": "FINISHED",
        ...     "results": [{"task_index": 0, "status": "completed", "result": "Hi"}]})
        >>> job.state, job.result_for(0).result
        (<JobState.SUCCEEDED: 'succeeded'>, 'Hi')
    """

    model_config = ConfigDict(extra="allow")

    job_id: str
    job_status: str | None = None
    total_tasks: int | None = None
    completed_tasks: int | None = None
    results: list[TaskResult] = Field(default_factory=list)

    @field_validator("results", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def state(self) -> JobState:
        """The job's state."""
        return parse_state(self.job_status)

    def result_for(self, task_index: int) -> TaskResult | None:
        """The result of the conversation at ``task_index``, matched by index."""
        for item in self.results:
            if item.task_index == task_index:
                return item
        return None

    def text_for(self, task_index: int) -> str:
        """The generated text of one conversation.

        Raises:
            TaskFailedError: The task failed, or the finished job has no result
                for it.
        """
        item = self.result_for(task_index)
        if item is None:
            raise TaskFailedError(
                f"Job {self.job_id} finished without a result for task {task_index}",
                job_id=self.job_id,
                task_index=task_index,
                job_status=self.job_status,
            )
        if item.state is not JobState.SUCCEEDED or item.result is None:
            raise TaskFailedError(
                f"Task {task_index} of job {self.job_id} ended as {item.status!r}",
                job_id=self.job_id,
                task_index=task_index,
                job_status=self.job_status,
                server_message=item.error,
                hint="The other conversations of the job are unaffected; retry this one.",
            )
        return item.result
