"""The emulator's request log: every request it received, without headers."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["LoggedRequest", "RequestLog"]


@dataclass
class LoggedRequest:
    """One request the server received. Headers (and so keys) are not kept."""

    at: float
    method: str
    path: str
    service: str
    status: int | None
    json: Any
    fault: str | None = None


class RequestLog:
    """Every request the server saw, in arrival order.

    Example:
        >>> log = RequestLog()
        >>> log.append(LoggedRequest(0.0, "POST", "/run", "fastino", 200, None))
        >>> log.count("POST", "/run"), log.count("GET")
        (1, 0)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record a request."""
        with self._lock:
            self.entries.append(entry)

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self.entries.clear()

    def matching(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Requests with this method whose path matches ``path`` (``re.search``)."""
        with self._lock:
            entries = list(self.entries)
        return [
            e
            for e in entries
            if (method is None or e.method == method.upper())
            and (path is None or re.search(path, e.path))
        ]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests match."""
        return len(self.matching(method, path))
