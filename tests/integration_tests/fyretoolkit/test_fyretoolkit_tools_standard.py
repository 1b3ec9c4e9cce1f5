"""Standard ``ToolsIntegrationTests`` for every FyreToolkit tool, on the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests

from langchain_mlstudio import FyreToolkitPredictTool
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.fyretoolkit import (
    FyreToolkitCancelJobTool,
    FyreToolkitClient,
    FyreToolkitCreateBatchJobTool,
    FyreToolkitCreateDeploymentTool,
    FyreToolkitDeleteDeploymentTool,
    FyreToolkitGetJobTool,
    FyreToolkitGetMetricsTool,
    FyreToolkitGetModelTool,
    FyreToolkitListDeploymentsTool,
    FyreToolkitListModelsTool,
    FyreToolkitModelPredictTool,
)

DEMO_KEY = "sk_live_demo_12345"


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
        with Emulator(api_key=DEMO_KEY) as emu:
            cls.base_url = emu.base_url
            cls.ids = Fresh(FyreToolkitClient(api_key=DEMO_KEY, base_url=emu.base_url))
            yield emu

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"api_key": DEMO_KEY, "base_url": self.base_url}


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


Example = Callable[[Fresh], dict[str, Any]]

_EXAMPLES: dict[type[BaseTool], Example] = {
    FyreToolkitModelPredictTool: lambda ids: {"model_id": "sentiment-v1", "inputs": ["great"]},
    FyreToolkitListModelsTool: lambda ids: {"limit": 3},
    FyreToolkitGetModelTool: lambda ids: {"model_id": "sentiment-v1"},
    FyreToolkitCreateBatchJobTool: lambda ids: {
        "model_id": "sentiment-v1",
        "input_url": "s3://bucket/in.jsonl",
    },
    FyreToolkitGetJobTool: lambda ids: {"job_id": ids["job"]},
    FyreToolkitCancelJobTool: lambda ids: {"job_id": ids["job"]},
    FyreToolkitListDeploymentsTool: lambda ids: {"limit": 5},
    FyreToolkitGetMetricsTool: lambda ids: {"deployment_id": ids["deployment"], "period": "1h"},
    FyreToolkitCreateDeploymentTool: lambda ids: {
        "model_uri": "s3://bucket/models/sentiment",
        "region": "eu-west-1",
    },
    FyreToolkitDeleteDeploymentTool: lambda ids: {"deployment_id": ids["deployment"]},
}


def _suite(cls: type[BaseTool], example: Example) -> type[_EmulatorBacked]:
    class Suite(_EmulatorBacked):
        @property
        def tool_constructor(self) -> type[BaseTool]:
            return cls

        @property
        def tool_invoke_params_example(self) -> dict[str, Any]:
            return example(self.ids)

    Suite.__name__ = Suite.__qualname__ = f"Test{cls.__name__}Integration"
    return Suite


for _cls, _example in _EXAMPLES.items():
    globals()[f"Test{_cls.__name__}Integration"] = _suite(_cls, _example)
