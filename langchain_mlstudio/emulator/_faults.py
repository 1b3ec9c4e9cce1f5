"""Fault injection: misbehaviours the emulator shows for matching requests.

Arm a :class:`Fault` with ``emulator.faults.add(...)``; the server asks its
:class:`FaultInjector` for the fault to apply to each request it receives.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fault", "FaultInjector", "FaultKind"]

FaultKind = Literal["status", "drop", "drop_mid", "delay", "non_json", "body"]


@dataclass
class Fault:
    """A misbehaviour the server shows for matching requests.

    Attributes:
        kind: ``status`` answers ``status`` with ``body`` and ``headers``
            instead of handling the request; ``drop`` closes the connection
            before any response; ``delay`` sleeps ``delay`` seconds, then
            handles the request normally; ``drop_mid`` handles the request,
            then closes the connection halfway through the response;
            ``non_json`` handles it, then answers 200 with an HTML body;
            ``body`` handles it, then answers 200 with ``body`` instead.
        times: How many matching requests it affects (``None``: unlimited).
        method: Only requests with this method (``None``: any).
        path: Only paths matching this regular expression (``re.search``).
        probability: The chance a matching request is affected (seeded).
    """

    kind: FaultKind = "status"
    status: int = 503
    times: int | None = 1
    method: str | None = None
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    probability: float = 1.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request (ignores its budget)."""
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path and not re.search(self.path, path))


class FaultInjector:
    """The faults armed on a server; the first matching one with budget wins.

    Example:
        >>> faults = FaultInjector()
        >>> _ = faults.add(Fault(status=429, headers={"Retry-After": "1"}))
        >>> faults.take("GET", "/models").status, faults.take("GET", "/models")
        (429, None)
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        """Arm a fault and return it (its ``hits`` count what it did)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this request, if any, spending its budget."""
        with self._lock:
            for fault in self._faults:
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                if not fault.matches(method, path):
                    continue
                if fault.probability < 1 and self._random.random() >= fault.probability:
                    continue
                fault.hits += 1
                return fault
        return None
