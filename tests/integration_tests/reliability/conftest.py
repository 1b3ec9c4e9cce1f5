"""Shared helpers of the reliability suite: a fresh emulator per test, fast retries."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from langchain_mlstudio._core._http import HTTPTransport
from langchain_mlstudio._core._retry import RetryPolicy
from langchain_mlstudio.emulator import Emulator

API_KEY = "rel-key-5c1d9e"
ORG = "org-reliability"
MODEL = "ft-reliability"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A fresh emulator (all three APIs) with short jobs, so counters start at zero."""
    with Emulator(api_key=API_KEY, organization_id=ORG, model=MODEL, job_duration=0.02) as emulator:
        svc = emulator.fyretoolkit
        svc.queue_duration = 0.02
        svc.processing_duration = 0.05
        yield emulator


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


def status_body(message: str, fyretoolkit: bool = False) -> dict[str, Any]:
    """An error body in the shape of the API under test, carrying ``message``."""
    if fyretoolkit:
        return {"error": {"code": "injected", "message": message, "request_id": "req_inj"}}
    return {"detail": message}


def format_log(emulator: Emulator) -> str:
    """The emulator's request log, one line per request (it never holds headers)."""
    return "\n".join(
        f"{e.at:.3f} {e.method} {e.path} -> {e.status} fault={e.fault} "
        f"body={json.dumps(e.json, default=repr)[:200]}"
        for e in emulator.log.entries
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    """Print the emulator's request log under a failed test's report."""
    outcome = yield
    report = outcome.get_result()
    emulator = getattr(item, "funcargs", {}).get("emu")
    if report.when == "call" and report.failed and isinstance(emulator, Emulator):
        report.sections.append(("emulator request log", format_log(emulator)))
