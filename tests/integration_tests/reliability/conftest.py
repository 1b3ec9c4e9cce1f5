"""Fixtures of the reliability suite: a fresh emulator per test, its log under a failure."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest

from langchain_mlstudio.emulator import Emulator
from tests.support.faults import format_log
from tests.support.live import Account

ACCOUNT = Account(
    api_key="rel-key-5c1d9e", organization_id="org-reliability", model="ft-reliability"
)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A fresh emulator (all three APIs) with short jobs, so counters start at zero."""
    with ACCOUNT.emulator(job_duration=0.02) as emulator:
        svc = emulator.fyretoolkit
        svc.queue_duration = 0.02
        svc.processing_duration = 0.05
        yield emulator


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    """Print the emulator's request log under a failed test's report."""
    outcome = yield
    report = outcome.get_result()
    emulator = getattr(item, "funcargs", {}).get("emu")
    if report.when == "call" and report.failed and isinstance(emulator, Emulator):
        report.sections.append(("emulator request log", format_log(emulator)))
