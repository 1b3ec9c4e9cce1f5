from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_mlstudio.emulator import Emulator
from tests.support.fastino import frozen_heap_emulator

API_KEY = "fastino-it-key"


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    with frozen_heap_emulator(api_key=API_KEY) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    """The shared emulator, with Fastino's settings, stats and faults reset."""
    svc = emulator_server.fastino
    svc.reset()
    svc.latency = 0.0
    svc.max_batch_size = 64
    svc.max_text_length = 20_000
    svc.fail_marker = None
    svc.offset_unit = "code points"
    svc.answer_order = "input"
    emulator_server.faults.clear()
    emulator_server.log.clear()
    yield emulator_server
    emulator_server.faults.clear()
