"""``FyreToolkit``: the FyreToolkit tools for an agent, with safe defaults."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict, Field

from langchain_mlstudio.errors import ConfigurationError
from langchain_mlstudio.fyretoolkit import tools
from langchain_mlstudio.fyretoolkit._output import (
    DEFAULT_MAX_FIELD_CHARS,
    DEFAULT_MAX_OUTPUT_CHARS,
)
from langchain_mlstudio.fyretoolkit._tooling import FyreToolkitTool
from langchain_mlstudio.fyretoolkit.client import FyreToolkitClient

__all__ = ["FyreToolkit"]

_READ_ONLY: tuple[type[FyreToolkitTool], ...] = (
    tools.FyreToolkitModelPredictTool,
    tools.FyreToolkitListModelsTool,
    tools.FyreToolkitGetModelTool,
    tools.FyreToolkitGetJobTool,
    tools.FyreToolkitListDeploymentsTool,
    tools.FyreToolkitGetMetricsTool,
)


class FyreToolkit(BaseToolkit):
    """Tools that let an agent use FyreToolkit, sharing one client.

    By default an agent can only predict and read: models, batch jobs,
    deployments and metrics. What spends compute or cannot be undone is
    opt-in:

    * ``allow_batch_jobs=True`` adds ``fyretoolkit_create_batch_job`` and
      ``fyretoolkit_cancel_job``; the model may name a webhook only from
      ``allowed_webhooks`` (none by default, and then the argument is not
      even offered);
    * ``allow_deployments=True`` adds ``fyretoolkit_create_deployment`` and
      ``fyretoolkit_delete_deployment``.

    Every tool returns failures as error ``ToolMessage``s, bounds its content
    to ``max_output_chars`` and, when it creates something, makes one
    resource per tool call.

    Args:
        client: The :class:`FyreToolkitClient` every tool sends through.
        allow_batch_jobs: Offer the tools that start and cancel batch jobs.
        allow_deployments: Offer the tools that create and delete deployments.
        allowed_webhooks: Webhook URLs the model may pass to a batch job.
        max_output_chars: Bound of every tool's content, in characters.
        max_field_chars: Longer string fields are cut with a marker.

    Example:
        >>> client = FyreToolkitClient(api_key="k", base_url="http://127.0.0.1:1")
        >>> names = [t.name for t in FyreToolkit(client=client).get_tools()]
        >>> names  # doctest: +NORMALIZE_WHITESPACE
        ['fyretoolkit_predict', 'fyretoolkit_list_models', 'fyretoolkit_get_model',
         'fyretoolkit_get_job', 'fyretoolkit_list_deployments', 'fyretoolkit_get_metrics']
        >>> sorted(t.name for t in FyreToolkit(client=client, allow_batch_jobs=True,
        ...        allow_deployments=True).get_tools())[:4]  # doctest: +NORMALIZE_WHITESPACE
        ['fyretoolkit_cancel_job', 'fyretoolkit_create_batch_job',
         'fyretoolkit_create_deployment', 'fyretoolkit_delete_deployment']
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: FyreToolkitClient = Field(exclude=True)
    allow_batch_jobs: bool = False
    allow_deployments: bool = False
    allowed_webhooks: Sequence[str] = ()
    max_output_chars: int = Field(default=DEFAULT_MAX_OUTPUT_CHARS, ge=200)
    max_field_chars: int = Field(default=DEFAULT_MAX_FIELD_CHARS, ge=16)

    def get_tools(self) -> list[BaseTool]:
        """The allowed tools, all sharing :attr:`client` (and so its rate-limit state)."""
        common = {
            "client": self.client,
            "max_output_chars": self.max_output_chars,
            "max_field_chars": self.max_field_chars,
        }
        offered: list[BaseTool] = [cls(**common) for cls in _READ_ONLY]
        if self.allow_batch_jobs:
            webhooks = tuple(self.allowed_webhooks)
            offered.append(tools.FyreToolkitCreateBatchJobTool(**common, allowed_webhooks=webhooks))
            offered.append(tools.FyreToolkitCancelJobTool(**common))
        elif self.allowed_webhooks:
            msg = "allowed_webhooks only matters with allow_batch_jobs=True"
            raise ConfigurationError(msg, hint="Pass allow_batch_jobs=True as well.")
        if self.allow_deployments:
            offered.append(tools.FyreToolkitCreateDeploymentTool(**common))
            offered.append(tools.FyreToolkitDeleteDeploymentTool(**common))
        names = [tool.name for tool in offered]
        if len(set(names)) != len(names):  # pragma: no cover - a programming error
            msg = f"FyreToolkit tool names must be unique, got {names}"
            raise ConfigurationError(msg)
        return offered
