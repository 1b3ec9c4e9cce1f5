from __future__ import annotations

import pytest

from tests.unit_tests.fastino.fastino_fakes import FakeFastino


@pytest.fixture
def fake() -> FakeFastino:
    return FakeFastino()
