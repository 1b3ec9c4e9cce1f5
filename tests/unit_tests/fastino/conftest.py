from __future__ import annotations

import pytest

from tests.support.fastino import FakeFastino


@pytest.fixture
def fake() -> FakeFastino:
    return FakeFastino()
