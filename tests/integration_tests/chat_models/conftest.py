"""An emulator per flavour, started by the tests on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_mlstudio.emulator import Emulator

API_KEY = "integration-key-7f3a"
ORG = "org-integration"
MODEL = "ft-model"
OVERRIDE_MODEL = "ft-model-2"


def start(flavour: str) -> Emulator:
    emulator = Emulator(
        api_key=API_KEY, organization_id=ORG, model=MODEL, flavour=flavour, job_duration=0.05
    )
    emulator.generate.models.add(OVERRIDE_MODEL)
    return emulator.start()


@pytest.fixture(scope="session")
def modelstudio_emulator() -> Iterator[Emulator]:
    emulator = start("modelstudio")
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def ionos_emulator() -> Iterator[Emulator]:
    emulator = start("ionos")
    yield emulator
    emulator.stop()
