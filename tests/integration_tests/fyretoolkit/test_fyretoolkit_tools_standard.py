"""Standard ``ToolsIntegrationTests`` for every FyreToolkit tool, on the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests

from langchain_mlstudio import FyreToolkitPredictTool
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.fyretoolkit import FyreToolkitClient
from langchain_mlstudio.fyretoolkit import tools as t
from tests.support.fyretoolkit import KEY, Example, suite_per_tool


class Fresh:
    """Ids of resources made for one example, so a cancel or delete always finds its own."""

    def __init__(self, client: FyreToolkitClient) -> None:
        self.client = client

    def __getitem__(self, kind: str) -> str:
        if kind == "job":
            return self.client.create_batch_job("sentiment-v1", "s3://bucket/in.jsonl").id
        return self.client.create_deployment("s3://bucket/models/sentiment", "eu-west-1").id


class _EmulatorBacked(ToolsIntegrationTests):
    base_url = ""
    ids: ClassVar[Fresh]

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _emulator(cls) -> Iterator[Emulator]:
        with Emulator(api_key=KEY) as emu:
            cls.base_url = emu.base_url
            cls.ids = Fresh(FyreToolkitClient(api_key=KEY, base_url=emu.base_url))
            yield emu

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"api_key": KEY, "base_url": self.base_url}


class TestFyreToolkitPredictToolIntegration(_EmulatorBacked):
    @property
    def tool_constructor(self) -> type[FyreToolkitPredictTool]:
        return FyreToolkitPredictTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"model_id": "sentiment-v1", **super().tool_constructor_params}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"inputs": ["I love this product", {"text": "terrible support"}]}


_EXAMPLES: dict[type[BaseTool], Example] = {
    t.FyreToolkitModelPredictTool: lambda _: {"model_id": "sentiment-v1", "inputs": ["great"]},
    t.FyreToolkitListModelsTool: lambda _: {"limit": 3},
    t.FyreToolkitGetModelTool: lambda _: {"model_id": "sentiment-v1"},
    t.FyreToolkitCreateBatchJobTool: lambda _: {
        "model_id": "sentiment-v1",
        "input_url": "s3://bucket/in.jsonl",
    },
    t.FyreToolkitGetJobTool: lambda suite: {"job_id": suite.ids["job"]},
    t.FyreToolkitCancelJobTool: lambda suite: {"job_id": suite.ids["job"]},
    t.FyreToolkitListDeploymentsTool: lambda _: {"limit": 5},
    t.FyreToolkitGetMetricsTool: lambda suite: {
        "deployment_id": suite.ids["deployment"],
        "period": "1h",
    },
    t.FyreToolkitCreateDeploymentTool: lambda _: {
        "model_uri": "s3://bucket/models/sentiment",
        "region": "eu-west-1",
    },
    t.FyreToolkitDeleteDeploymentTool: lambda suite: {"deployment_id": suite.ids["deployment"]},
}

globals().update(suite_per_tool(_EmulatorBacked, _EXAMPLES, "Integration"))
