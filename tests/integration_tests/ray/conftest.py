"""A local Ray cluster (2 CPUs) per module and an emulator in the test process.

Ray workers reach the emulator on 127.0.0.1; its request log and counters,
read here, are what the tests assert on (never wall-clock durations).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from langchain_mlstudio.emulator import Emulator
from tests.support.live import Account, cleared, frozen_heap

ACCOUNT = Account(api_key="ray-it-key", organization_id="ray-org", model="ray-model")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    import ray
    from ray.data import DataContext

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    # Arrival times at the emulator are what the rate-limit test reads: keep a
    # full collection of the test process's heap from looking like network jitter.
    with frozen_heap(), ACCOUNT.emulator(flavour="ionos", job_duration=0.2) as emu:
        yield emu


def fresh_run(emulator: Emulator) -> Emulator:
    """``emulator`` with Fastino's stats and latency, and the job counters, of a new run."""
    emulator.fastino.reset()
    emulator.fastino.latency = 0.0
    emulator.fastino.fail_marker = None
    emulator.generate.max_parallel_jobs = None  # an overrun must show, not be refused
    emulator.generate.peak_running_jobs = 0
    return emulator


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    """The shared emulator with its counters, log and faults reset."""
    with cleared(fresh_run(emulator_server)) as emu:
        yield emu
