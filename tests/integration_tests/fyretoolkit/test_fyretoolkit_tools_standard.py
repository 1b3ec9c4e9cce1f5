"""Standard ``ToolsIntegrationTests`` for the FyreToolkit predict tools, on the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import ToolsIntegrationTests

from langchain_mlstudio import FyreToolkitPredictTool
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.fyretoolkit import FyreToolkitModelPredictTool

DEMO_KEY = "sk_live_demo_12345"


class _EmulatorBacked(ToolsIntegrationTests):
    base_url = ""

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _emulator(cls) -> Iterator[Emulator]:
        with Emulator(api_key=DEMO_KEY) as emu:
            cls.base_url = emu.base_url
            yield emu


class TestFyreToolkitPredictToolIntegration(_EmulatorBacked):
    @property
    def tool_constructor(self) -> type[FyreToolkitPredictTool]:
        return FyreToolkitPredictTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"model_id": "sentiment-v1", "api_key": DEMO_KEY, "base_url": self.base_url}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"inputs": ["I love this product", {"text": "terrible support"}]}


class TestFyreToolkitModelPredictToolIntegration(_EmulatorBacked):
    @property
    def tool_constructor(self) -> type[FyreToolkitModelPredictTool]:
        return FyreToolkitModelPredictTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"api_key": DEMO_KEY, "base_url": self.base_url}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"model_id": "sentiment-v1", "inputs": ["great", "awful"]}
