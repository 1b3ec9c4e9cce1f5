"""A job the emulated generate-job API accepted, and what each flavour calls its state."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["JOB_STATUS", "EmulatedJob", "EmulatedJobState", "Flavour"]

#: The two front doors of the generate-job API.
Flavour = Literal["modelstudio", "ionos"]
#: An emulated job's state, whatever the flavour calls it (see :data:`JOB_STATUS`).
EmulatedJobState = Literal["queued", "running", "finished", "failed"]

#: What each flavour calls a job's state.
JOB_STATUS: dict[Flavour, dict[EmulatedJobState, str]] = {
    "modelstudio": {
        "queued": "pending",
        "running": "running",
        "finished": "completed",
        "failed": "failed",
    },
    "ionos": {
        "queued": "QUEUED",
        "running": "RUNNING",
        "finished": "FINISHED",
        "failed": "FAILED",
    },
}


@dataclass
class EmulatedJob:
    """One job the emulator accepted; its state follows from the clock.

    Attributes:
        job_id: ``job_`` and 12 hex digits.
        created_at: The clock reading when the job was created.
        conversations: The ``messages`` of the request (one task each).
        duration: Seconds from creation until the job ends.
        replies: The text of each task (``None`` for a task that fails).
        doomed: Whether the whole job ends failed (``fail_next_jobs``).
        clock: The service's clock (``time.monotonic`` unless replaced).

    Example:
        >>> job = EmulatedJob("job_1", 0.0, [[]], duration=3.0, replies=["hi"], clock=lambda: 2.0)
        >>> job.state, job.done
        ('running', False)
    """

    job_id: str
    created_at: float
    conversations: list[list[dict[str, Any]]]
    duration: float
    replies: list[str | None]
    doomed: bool = False
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @property
    def progress(self) -> float:
        """The fraction of the duration elapsed, from 0 to 1."""
        if self.duration <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.clock() - self.created_at) / self.duration))

    @property
    def state(self) -> EmulatedJobState:
        """``queued`` (first third), ``running``, then ``finished`` or ``failed``."""
        progress = self.progress
        if progress >= 1:
            return "failed" if self.doomed else "finished"
        return "queued" if progress < 1 / 3 else "running"

    @property
    def done(self) -> bool:
        """Whether the job reached a final state."""
        return self.progress >= 1

    def completed_tasks(self, state: EmulatedJobState) -> int:
        """Tasks done so far in ``state``: none of a failed job, all of a finished one."""
        total = len(self.conversations)
        if state == "failed":
            return 0
        if state == "finished":
            return total
        return int(total * self.progress)
