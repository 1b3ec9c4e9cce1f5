"""The per-run coordinator: one Ray actor holding every limit and record of a run.

Every worker of a run talks to one named async actor, so what must be held
across the cluster is held in one place:

* **request rate** (redaction): request starts are spaced
  ``(1 + 0.05) / requests_per_second`` apart by the same
  :class:`~langchain_mlstudio._core._limits.RequestsPerSecond` schedule a
  single process uses, granted in the actor, so all workers together stay
  within the plan's limit at the server and use all of it;
* **the pseudonym mapping** (redaction): tokens are numbered here, once per
  ``(label, value)`` for the whole run;
* **job slots and the job ledger** (generation): at most
  ``max_concurrent_jobs`` jobs hold a slot at once, and each job's id is
  recorded under a key derived from its rows, so a retried task resumes it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import ray

from langchain_mlstudio._core._calls import Attempt
from langchain_mlstudio._core._limits import RequestsPerSecond
from langchain_mlstudio.fastino.pseudonymizer import Pseudonymizer

__all__ = ["RunCoordinator", "start_coordinator"]

SUBMITTING = "\x00submitting"


class RunCoordinator:
    """State shared by every worker of one run (used as an async Ray actor).

    Args:
        requests_per_second: The run's request rate limit, or ``None``.
        job_slots: Jobs that may be in flight at once, or ``None`` for no cap.
        mapping: A :meth:`Pseudonymizer.to_dict` mapping to continue (its
            namespace and numbering), or ``None`` for no mapping.

    Example:
        >>> import asyncio
        >>> run = RunCoordinator(requests_per_second=None, job_slots=1, mapping=None)
        >>> asyncio.run(run.claim("k"))
        ('submit', None)
    """

    def __init__(
        self,
        *,
        requests_per_second: float | None,
        job_slots: int | None,
        mapping: dict[str, Any] | None,
    ) -> None:
        self._gate = RequestsPerSecond(requests_per_second) if requests_per_second else None
        self._granted = 0
        self._mapping: Pseudonymizer | None = None
        if mapping is not None:
            self._mapping = Pseudonymizer(mapping["namespace"])
            self._mapping.merge(mapping)
        self._cap = job_slots
        self._holders: set[str] = set()
        self._peak = 0
        self._freed: asyncio.Condition | None = None
        self._jobs: dict[str, str] = {}
        self._submissions = 0

    # -- request rate ------------------------------------------------------

    async def admit(self) -> float:
        """Return when the caller may start its request (one start per call).

        Returns the grant's wall-clock time, so a caller that receives it late
        (a busy worker) can tell and ask again instead of bunching up with the
        next caller.
        """
        if self._gate is not None:
            await self._gate.abefore_attempt(Attempt("POST", "/run"))
        self._granted += 1
        return time.time()

    # -- mapping -----------------------------------------------------------

    async def tokens(self, pairs: list[tuple[str, str]]) -> list[str]:
        """The run's token of each ``(label, value)``, numbering new ones once."""
        if self._mapping is None:
            raise RuntimeError("this run has no pseudonym mapping")
        return [self._mapping.token(label, value) for label, value in pairs]

    async def export(self, since: int = 0) -> dict[str, Any]:
        """The mapping's entries from position ``since`` on (``to_dict`` shape)."""
        if self._mapping is None:
            return {"version": 2, "namespace": "", "entries": []}
        data = self._mapping.to_dict()
        data["entries"] = data["entries"][since:]
        return data

    # -- job slots ---------------------------------------------------------

    def _condition(self) -> asyncio.Condition:
        if self._freed is None:  # made on the actor's own event loop
            self._freed = asyncio.Condition()
        return self._freed

    async def acquire_slot(self, key: str) -> None:
        """Hold a slot for job ``key``; a key that already holds one keeps it."""
        freed = self._condition()
        async with freed:
            while key not in self._holders:
                if self._cap is None or len(self._holders) < self._cap:
                    self._holders.add(key)
                    self._peak = max(self._peak, len(self._holders))
                    return
                await freed.wait()

    async def release_slot(self, key: str) -> None:
        """Give job ``key``'s slot back (nothing if it holds none)."""
        freed = self._condition()
        async with freed:
            if key in self._holders:
                self._holders.discard(key)
                freed.notify_all()

    # -- job ledger --------------------------------------------------------

    async def claim(self, key: str) -> tuple[str, str | None]:
        """``("submit", None)`` the first time, then ``("resume", job_id)``.

        ``("unknown", None)`` when an earlier claim never recorded a job: its
        attempt died while submitting.
        """
        known = self._jobs.get(key)
        if known is None:
            self._jobs[key] = SUBMITTING
            return "submit", None
        if known == SUBMITTING:
            return "unknown", None
        return "resume", known

    async def record(self, key: str, job_id: str) -> None:
        """Record the job submitted for ``key``."""
        self._jobs[key] = job_id
        self._submissions += 1

    async def abandon(self, key: str) -> None:
        """Forget a claim whose submission provably created no job."""
        if self._jobs.get(key) == SUBMITTING:
            del self._jobs[key]

    # -- figures -----------------------------------------------------------

    async def stats(self) -> dict[str, int]:
        """Counts for tests and benchmarks (no values, no ids)."""
        return {
            "requests_admitted": self._granted,
            "jobs_submitted": self._submissions,
            "slots_in_use": len(self._holders),
            "peak_slots": self._peak,
            "mapping_size": len(self._mapping) if self._mapping is not None else 0,
        }


def start_coordinator(
    purpose: str,
    *,
    requests_per_second: float | None = None,
    job_slots: int | None = None,
    mapping: dict[str, Any] | None = None,
) -> Any:
    """Start a run's coordinator actor (named ``langchain-mlstudio-<purpose>-<id>``).

    It takes no CPU, so it never competes with the workers for one; it is not
    restarted if it dies (a new one would start with an empty mapping and
    ledger), so the run fails instead. It lives as long as a handle to it
    does: the Dataset's plan and the transformer hold one.
    """
    name = f"langchain-mlstudio-{purpose}-{uuid.uuid4().hex[:12]}"
    actor_class = ray.remote(RunCoordinator)
    return actor_class.options(name=name, num_cpus=0, max_restarts=0, max_concurrency=1000).remote(
        requests_per_second=requests_per_second, job_slots=job_slots, mapping=mapping
    )
