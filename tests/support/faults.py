"""Fault cases and the helpers the fault-injection suites share (tests/integration_tests/reliability).

A :class:`Case` is one misbehaviour of the emulator and what the caller must
see; each suite reads the fields that speak of its API (``sends`` counts the
creating requests the server saw: submits, ``/run`` requests per input, or
batch-job creates).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_mlstudio._core._http import HTTPTransport
from langchain_mlstudio._core._retry import RetryPolicy
from langchain_mlstudio.emulator import Emulator, Fault
from langchain_mlstudio.errors import MLStudioError

__all__ = [
    "Case",
    "body_fault",
    "fast_retries",
    "format_log",
    "settle",
    "status_body",
    "status_fault",
]


@dataclass(frozen=True)
class Case:
    """One fault and what the caller must see.

    Attributes:
        id: The test id.
        faults: What the emulator does wrong (a copy of each is armed).
        error: The typed error the failing inputs get; ``None``: all succeed.
        server_message: The server's message the error must carry, if any.
        sends: Creating requests the server must see (per input for Fastino).
        jobs: Jobs the server must have created in the end.
        settings: Settings of the client or call under test (``timeout`` ...).
        failed_inputs: The inputs that get ``error`` (the others succeed).
        fail_next_jobs: Jobs the emulator fails as a whole.
    """

    id: str
    faults: tuple[Fault, ...]
    error: type[MLStudioError] | None = None
    server_message: str | None = None
    sends: int = 1
    jobs: int = 1
    settings: Mapping[str, Any] = field(default_factory=dict)
    failed_inputs: tuple[int, ...] = (0, 1, 2)
    fail_next_jobs: int = 0

    def arm(self, emulator: Emulator) -> None:
        """Add a fresh copy of every fault to ``emulator`` (a fault counts its uses)."""
        for fault in self.faults:
            emulator.faults.add(dataclasses.replace(fault))

    def setting(self, name: str, default: Any) -> Any:
        """One of :attr:`settings`, or ``default``."""
        return self.settings.get(name, default)


def status_body(message: str, fyretoolkit: bool = False) -> dict[str, Any]:
    """An error body in the shape of the API under test, carrying ``message``."""
    if fyretoolkit:
        return {"error": {"code": "injected", "message": message, "request_id": "req_inj"}}
    return {"detail": message}


def status_fault(status: int, path: str, body: Any, times: int | None = 1, **headers: str) -> Fault:
    """A fault answering ``status`` with ``body`` on ``path``, ``times`` times."""
    return Fault(status=status, path=path, times=times, headers=dict(headers), body=body)


def body_fault(path: str, body: Any, times: int | None = 1) -> Fault:
    """A fault answering 200 with ``body`` (of the wrong shape) on ``path``, ``times`` times."""
    return Fault(kind="body", path=path, body=body, times=times)


def fast_retries(transport: HTTPTransport, max_retries: int = 2) -> None:
    """Keep the retry count but shrink the backoff, so bursts cost milliseconds."""
    transport.retry = RetryPolicy(max_retries=max_retries, initial_delay=0.005, max_delay=0.02)


def settle(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until the server caught up (e.g. a delayed request was finally logged)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)


def format_log(emulator: Emulator) -> str:
    """The emulator's request log, one line per request (it never holds headers)."""
    return "\n".join(
        f"{e.at:.3f} {e.method} {e.path} -> {e.status} fault={e.fault} "
        f"body={json.dumps(e.json, default=repr)[:200]}"
        for e in emulator.log.entries
    )
