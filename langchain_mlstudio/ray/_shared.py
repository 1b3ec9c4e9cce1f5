"""Worker-side handles on the run's coordinator: a rate gate and a shared mapping.

Both pickle as the actor handle alone (no raw value travels), so they reach
every worker inside the transformer that Ray ships there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from langchain_mlstudio._core._calls import Attempt
from langchain_mlstudio._core._http import RequestGate
from langchain_mlstudio.fastino.pseudonymizer import Pseudonymizer
from langchain_mlstudio.fastino.strategies import label_token
from langchain_mlstudio.ray._errors import RunCoordinatorError, require_ray

__all__ = [
    "ClusterRateGate",
    "SharedPseudonymizer",
    "aask_coordinator",
    "ask_coordinator",
]


def ask_coordinator(ref: Any, what: str) -> Any:
    """``ray.get(ref)``, a lost coordinator raised as :class:`RunCoordinatorError`.

    The error names only ``what`` was asked (never the arguments, which may
    be raw values).
    """
    ray = require_ray()
    try:
        return ray.get(ref)
    except ray.exceptions.RayActorError:
        raise RunCoordinatorError(f"The run's coordinator actor is gone ({what})") from None


async def aask_coordinator(ref: Any, what: str) -> Any:
    """Async twin of :func:`ask_coordinator`: awaits ``ref`` without blocking the loop."""
    ray = require_ray()
    try:
        return await ref
    except ray.exceptions.RayActorError:
        raise RunCoordinatorError(f"The run's coordinator actor is gone ({what})") from None


class ClusterRateGate(RequestGate):
    """A request gate whose starts are granted by the run's coordinator.

    Every attempt of every worker (first tries and retries alike) waits for
    its start from the one actor, so the run's ``requests_per_second`` holds
    across the cluster, not per worker. A grant that reaches the worker more
    than ``late`` seconds after it was given (a descheduled thread, a busy
    node) is not used: the request asks for a new start, so late requests
    never bunch up with punctual ones at the server.

    Args:
        coordinator: The run's coordinator actor handle.
        late: Seconds after which a grant is too old to use.
        attempts: Grants asked for at most before one is used however late.
    """

    def __init__(self, coordinator: Any, *, late: float = 0.02, attempts: int = 5) -> None:
        self.coordinator = coordinator
        self.late = late
        self.attempts = attempts

    def before_attempt(self, attempt: Attempt) -> None:
        """Block until the coordinator grants this attempt a start, in time."""
        for _ in range(self.attempts):
            granted = ask_coordinator(self.coordinator.admit.remote(), "a request start")
            if time.time() - granted <= self.late:
                return

    async def abefore_attempt(self, attempt: Attempt) -> None:
        """Await the coordinator's grant without blocking the event loop."""
        for _ in range(self.attempts):
            granted = await aask_coordinator(self.coordinator.admit.remote(), "a request start")
            if time.time() - granted <= self.late:
                return


class SharedPseudonymizer(Pseudonymizer):
    """A :class:`Pseudonymizer` numbered by the run's coordinator.

    Tokens are assigned once per ``(label, value)`` for the whole run, in the
    namespace the run continues; each process caches the tokens it was given.
    :meth:`restore`, :meth:`to_dict`, :meth:`save` and ``len`` first fetch the
    entries issued elsewhere, so on the driver they cover every token of the
    run. It pickles as the actor handle and namespace only: a copy starts with
    an empty cache and asks the actor again.

    Args:
        coordinator: The run's coordinator actor handle.
        namespace: The namespace the run numbers in.
    """

    def __init__(self, coordinator: Any, namespace: str) -> None:
        super().__init__(namespace)
        self.coordinator = coordinator
        self._fetched = 0
        self._cache: dict[tuple[str, str], str] = {}
        self._fetch_lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        return (SharedPseudonymizer, (self.coordinator, self.namespace))

    def token(self, label: str, value: str) -> str:
        """The run's token of ``value`` (asked of the coordinator once per process)."""
        key = (label_token(label), value)
        token = self._cache.get(key)
        if token is None:
            [token] = ask_coordinator(self.coordinator.tokens.remote([key]), "a pseudonym")
            self._cache[key] = token
            self.merge({"entries": [{"label": key[0], "value": value, "token": token}]})
        return token

    def refresh(self) -> None:
        """Fetch the entries issued anywhere in the run since the last fetch.

        Once Ray is shut down there is nothing left to fetch from: the entries
        fetched so far (every one, if the mapping was read or saved after the
        run) keep resolving, and a token issued after the last fetch stays a
        token (never a wrong value).
        """
        if not require_ray().is_initialized():
            return
        with self._fetch_lock:
            data = ask_coordinator(self.coordinator.export.remote(self._fetched), "the mapping")
            self.merge(data)
            self._fetched += len(data["entries"])

    def restore(self, text: str, *, scope: Iterable[str | Document] | None = None) -> str:
        """:meth:`Pseudonymizer.restore` over every token of the run."""
        self.refresh()
        return super().restore(text, scope=scope)

    def to_dict(self) -> dict[str, Any]:
        """The whole run's mapping as JSON-ready data (contains the raw values)."""
        self.refresh()
        return super().to_dict()

    def save(self, path: str | Path) -> None:
        """Save the whole run's mapping (owner-only file)."""
        self.refresh()
        super().save(path)

    def __len__(self) -> int:
        self.refresh()
        return super().__len__()
