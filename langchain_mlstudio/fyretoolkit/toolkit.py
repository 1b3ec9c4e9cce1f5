"""``FyreToolkit``: the FyreToolkit tools for an agent, with safe defaults."""

from __future__ import annotations

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict, Field

from langchain_mlstudio.fyretoolkit.client import FyreToolkitClient
from langchain_mlstudio.fyretoolkit.tools import (
    FyreToolkitCancelJobTool,
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

__all__ = ["FyreToolkit"]


class FyreToolkit(BaseToolkit):
    """Tools that let an agent use FyreToolkit, sharing one client.

    By default an agent can predict, browse models, run, watch and cancel
    batch jobs, and read deployments and their metrics. It gets no way to
    change infrastructure: the tools that create or delete deployments are
    offered only with ``allow_deployments=True``.

    Args:
        client: The :class:`FyreToolkitClient` every tool sends through.
        allow_deployments: Also offer ``fyretoolkit_create_deployment`` and
            ``fyretoolkit_delete_deployment``.

    Example:
        >>> client = FyreToolkitClient(api_key="k", base_url="http://127.0.0.1:1")
        >>> [t.name for t in FyreToolkit(client=client).get_tools()][:3]
        ['fyretoolkit_predict', 'fyretoolkit_list_models', 'fyretoolkit_get_model']
        >>> "fyretoolkit_delete_deployment" in {
        ...     t.name for t in FyreToolkit(client=client).get_tools()}
        False
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: FyreToolkitClient = Field(exclude=True)
    allow_deployments: bool = False

    def get_tools(self) -> list[BaseTool]:
        """The tools, all sharing :attr:`client` (and so its rate-limit state)."""
        tools: list[BaseTool] = [
            FyreToolkitModelPredictTool(client=self.client),
            FyreToolkitListModelsTool(client=self.client),
            FyreToolkitGetModelTool(client=self.client),
            FyreToolkitCreateBatchJobTool(client=self.client),
            FyreToolkitGetJobTool(client=self.client),
            FyreToolkitCancelJobTool(client=self.client),
            FyreToolkitListDeploymentsTool(client=self.client),
            FyreToolkitGetMetricsTool(client=self.client),
        ]
        if self.allow_deployments:
            tools += [
                FyreToolkitCreateDeploymentTool(client=self.client),
                FyreToolkitDeleteDeploymentTool(client=self.client),
            ]
        return tools
