"""Agent tools over the FyreToolkit API.

Every tool is a declaration on :class:`~langchain_mlstudio.fyretoolkit._tooling.FyreToolkitTool`:
a name, a short description saying what the call costs or changes, an
argument schema and the client method it calls. The base class gives each the
same behaviour:

* failures come back as ``ToolMessage(status="error")`` with JSON content
  (type, status, code, message, request id, details, what to do);
* creating tools (batch jobs, deployments) derive the idempotency key from
  the tool-call id, the arguments and the LangGraph thread: the same tool call
  twice creates one resource;
* content is compact JSON of at most ``max_output_chars`` characters (default
  4,000), long fields cut with ``...[+N chars]``, list tools one page with
  ``has_more`` and ``starting_after``; the artifact is the whole result.

:class:`FyreToolkitPredictTool` calls one deployed model; the others are what
:class:`~langchain_mlstudio.fyretoolkit.toolkit.FyreToolkit` hands to an agent.

Example:
    >>> for cls in (FyreToolkitListModelsTool, FyreToolkitGetModelTool, FyreToolkitGetJobTool,
    ...             FyreToolkitCancelJobTool, FyreToolkitListDeploymentsTool,
    ...             FyreToolkitGetMetricsTool, FyreToolkitCreateDeploymentTool,
    ...             FyreToolkitDeleteDeploymentTool):
    ...     print(cls(api_key="k", base_url="http://127.0.0.1:1").name)
    fyretoolkit_list_models
    fyretoolkit_get_model
    fyretoolkit_get_job
    fyretoolkit_cancel_job
    fyretoolkit_list_deployments
    fyretoolkit_get_metrics
    fyretoolkit_create_deployment
    fyretoolkit_delete_deployment
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from langchain_mlstudio.errors import InvalidInputError, MalformedResponseError
from langchain_mlstudio.fyretoolkit._output import OutputBounds
from langchain_mlstudio.fyretoolkit._schemas import (
    CreateBatchJobInput,
    CreateBatchJobWithWebhookInput,
    CreateDeploymentInput,
    DeploymentIdInput,
    FyreToolkitModelPredictInput,
    FyreToolkitPredictInput,
    GetMetricsInput,
    JobIdInput,
    ListInput,
    ModelIdInput,
)
from langchain_mlstudio.fyretoolkit._tooling import (
    FyreToolkitTool,
    Operation,
    Render,
    dump,
    render_object,
)
from langchain_mlstudio.fyretoolkit.client import FyreToolkitClient
from langchain_mlstudio.fyretoolkit.types import ListPage, Prediction

__all__ = [
    "FyreToolkitCancelJobTool",
    "FyreToolkitCreateBatchJobTool",
    "FyreToolkitCreateDeploymentTool",
    "FyreToolkitDeleteDeploymentTool",
    "FyreToolkitGetJobTool",
    "FyreToolkitGetMetricsTool",
    "FyreToolkitGetModelTool",
    "FyreToolkitListDeploymentsTool",
    "FyreToolkitListModelsTool",
    "FyreToolkitModelPredictTool",
    "FyreToolkitPredictInput",
    "FyreToolkitPredictTool",
]

C = FyreToolkitClient

# -- how results are shown ------------------------------------------------------


def _render_prediction(prediction: Prediction, bounds: OutputBounds) -> tuple[str, Any]:
    content = bounds.render_list(
        "results",
        prediction.results,
        extra={"model": prediction.model},
        note="Only the first results fit; the artifact has all. Send fewer inputs per call.",
    )
    return content, dump(prediction)


def _page_renderer(key: str, fields: tuple[str, ...]) -> Render:
    def render(page: ListPage[Any], bounds: OutputBounds) -> tuple[str, Any]:
        if page.has_more and not page.data:
            # A cursor cannot come from an empty page: the model would loop.
            msg = f"FyreToolkit answered a {key} page with has_more=true but no records"
            raise MalformedResponseError(msg, hint="Retry later, or page with a larger limit.")
        records = [{f: v for f, v in dump(r).items() if f in fields} for r in page.data]
        content = bounds.render_page(
            key, records, has_more=page.has_more, cursor=lambda r: r.get("id")
        )
        return content, page.model_dump(mode="json", exclude_none=True)

    return render


# -- predict ---------------------------------------------------------------------


class FyreToolkitModelPredictTool(FyreToolkitTool):
    """Run any FyreToolkit model the agent names; the toolkit's predict tool.

    The content is ``{"model": ..., "results": [...], "shown": n, "total": n}``
    (results that do not fit the bound are left out, with a note); the
    artifact the whole :class:`~langchain_mlstudio.fyretoolkit.Prediction`.

    Example:
        >>> tool = FyreToolkitModelPredictTool(api_key="k", base_url="http://127.0.0.1:1")
        >>> sorted(tool.args)
        ['inputs', 'metadata', 'model_id']
    """

    name: str = "fyretoolkit_predict"
    description: str = (
        "Run a deployed FyreToolkit model on a list of inputs; one result per input, in "
        "order. One inference request per call (pass all inputs at once); changes nothing."
    )
    args_schema: type[BaseModel] = FyreToolkitModelPredictInput
    operation = Operation(C.predict, C.apredict, _render_prediction)


def _tool_name(model_id: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "_", model_id).strip("_") or "model"
    return f"fyretoolkit_predict_{slug}"[:64]


class FyreToolkitPredictTool(FyreToolkitModelPredictTool):
    """Run one deployed FyreToolkit model on a list of inputs.

    :class:`FyreToolkitModelPredictTool` with ``model_id`` bound: the agent
    passes only the inputs (and optional metadata). Its name carries the
    model (``fyretoolkit_predict_sentiment-v1``), so it never clashes with
    the toolkit's ``fyretoolkit_predict`` or another bound model's tool.

    Args:
        model_id: The deployed model the tool calls.
        client: A ready :class:`FyreToolkitClient`, or the settings:
        api_key: FyreToolkit key (default: ``FYRETOOLKIT_API_KEY``).
        base_url: API root (default: ``FYRETOOLKIT_BASE_URL``).
        max_output_chars: Bound of the content (default 4,000).

    Example:
        >>> tool = FyreToolkitPredictTool(model_id="sentiment-v1", api_key="k",
        ...                               base_url="http://127.0.0.1:8765")
        >>> tool.name, tool.response_format
        ('fyretoolkit_predict_sentiment-v1', 'content_and_artifact')

        Against a server::

            msg = tool.invoke({"type": "tool_call", "id": "1",
                               "name": tool.name,
                               "args": {"inputs": ["I love it"]}})
            msg.content   # '{"model":"sentiment-v1","results":[{"label":"positive",...}],...}'
            msg.artifact  # {'id': 'pred_...', 'results': [...], 'usage': {...}}
    """

    name: str = ""
    description: str = ""
    args_schema: type[BaseModel] = FyreToolkitPredictInput
    model_id: str = Field(min_length=1)
    """The deployed model's id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = self.name or _tool_name(self.model_id)
        self.description = self.description or (
            f"Run the deployed model '{self.model_id}' on a list of inputs; one result per "
            "input, in order. One inference request per call (pass all inputs at once); "
            "changes nothing."
        )

    def _arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"model_id": self.model_id, **super()._arguments(arguments)}


# -- models ----------------------------------------------------------------------


class FyreToolkitListModelsTool(FyreToolkitTool):
    """List the organization's models, one bounded page per call."""

    name: str = "fyretoolkit_list_models"
    description: str = (
        "List the organization's models (id, status, description), one page per call. "
        "Read-only. If has_more is true, call again with starting_after as given."
    )
    args_schema: type[BaseModel] = ListInput
    operation = Operation(
        C.get_models_page,
        C.aget_models_page,
        _page_renderer("models", ("id", "status", "description")),
    )


class FyreToolkitGetModelTool(FyreToolkitTool):
    """Read one model's status and description."""

    name: str = "fyretoolkit_get_model"
    description: str = (
        "Get one model's status (ready, training or archived) and description. Read-only."
    )
    args_schema: type[BaseModel] = ModelIdInput
    operation = Operation(C.get_model, C.aget_model, render_object)


# -- batch jobs ------------------------------------------------------------------


class FyreToolkitCreateBatchJobTool(FyreToolkitTool):
    """Start a batch job (asynchronous predictions over a file).

    The same tool call made twice starts one job (the idempotency key comes
    from the tool-call id and the arguments). The model may name a
    ``webhook`` only when ``allowed_webhooks`` lists URLs, and only one of them.

    Example:
        >>> tool = FyreToolkitCreateBatchJobTool(api_key="k", base_url="http://127.0.0.1:1")
        >>> tool.name, "webhook" in tool.args
        ('fyretoolkit_create_batch_job', False)
        >>> tool = FyreToolkitCreateBatchJobTool(
        ...     api_key="k", base_url="http://127.0.0.1:1",
        ...     allowed_webhooks=["https://hooks.example/done"])
        >>> "webhook" in tool.args
        True
    """

    name: str = "fyretoolkit_create_batch_job"
    description: str = (
        "Start a batch job running a model over every record of the CSV/JSONL file at "
        "input_url. Spends compute on the whole file; returns the job id (status 'queued'). "
        "Follow it with fyretoolkit_get_job."
    )
    args_schema: type[BaseModel] = CreateBatchJobInput
    allowed_webhooks: tuple[str, ...] = ()
    """Webhook URLs the model may pass (exact matches); none by default."""
    operation = Operation(C.create_batch_job, C.acreate_batch_job, render_object, creates=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.allowed_webhooks and self.args_schema is CreateBatchJobInput:
            self.args_schema = CreateBatchJobWithWebhookInput

    def _arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        webhook = arguments.get("webhook")
        if webhook is not None and webhook not in self.allowed_webhooks:
            msg = "webhook is not one of the URLs the caller allowed"
            allowed = ", ".join(self.allowed_webhooks) or "none"
            raise InvalidInputError(msg, hint=f"Allowed webhooks: {allowed}; or leave it out.")
        return super()._arguments(arguments)


class FyreToolkitGetJobTool(FyreToolkitTool):
    """Read a batch job's status and progress."""

    name: str = "fyretoolkit_get_job"
    description: str = (
        "Get a batch job's status (queued, processing, completed, failed, canceled), "
        "progress and, once completed, output_url. Read-only."
    )
    args_schema: type[BaseModel] = JobIdInput
    operation = Operation(C.get_job, C.aget_job, render_object)


class FyreToolkitCancelJobTool(FyreToolkitTool):
    """Cancel a queued or processing batch job (cannot be undone)."""

    name: str = "fyretoolkit_cancel_job"
    description: str = (
        "Cancel a queued or processing batch job. Cannot be undone; the work done is lost. "
        "A finished job answers a 409 error."
    )
    args_schema: type[BaseModel] = JobIdInput
    operation = Operation(C.cancel_job, C.acancel_job, render_object)


# -- deployments and metrics -----------------------------------------------------


class FyreToolkitListDeploymentsTool(FyreToolkitTool):
    """List active deployments, one bounded page per call."""

    name: str = "fyretoolkit_list_deployments"
    description: str = (
        "List active deployments (id, model_uri, region, replicas, status), one page per "
        "call. Read-only. If has_more is true, call again with starting_after as given."
    )
    args_schema: type[BaseModel] = ListInput
    operation = Operation(
        C.get_deployments_page,
        C.aget_deployments_page,
        _page_renderer("deployments", ("id", "model_uri", "region", "replicas", "status")),
    )


class FyreToolkitGetMetricsTool(FyreToolkitTool):
    """Read a deployment's requests, errors and latency."""

    name: str = "fyretoolkit_get_metrics"
    description: str = (
        "Get a deployment's request count, errors and latency percentiles (ms) over a "
        "period such as '1h'. Read-only."
    )
    args_schema: type[BaseModel] = GetMetricsInput
    operation = Operation(C.get_metrics, C.aget_metrics, render_object)


class FyreToolkitCreateDeploymentTool(FyreToolkitTool):
    """Deploy a model artifact (provisions paid infrastructure; opt-in in the toolkit)."""

    name: str = "fyretoolkit_create_deployment"
    description: str = (
        "Deploy a model artifact to a region with a replica count. Provisions paid "
        "infrastructure: only when the user asked for a deployment."
    )
    args_schema: type[BaseModel] = CreateDeploymentInput
    operation = Operation(C.create_deployment, C.acreate_deployment, render_object, creates=True)


class FyreToolkitDeleteDeploymentTool(FyreToolkitTool):
    """Delete a deployment (stops serving at once; opt-in in the toolkit)."""

    name: str = "fyretoolkit_delete_deployment"
    description: str = (
        "Delete a deployment: it stops serving traffic at once (artifacts are kept). "
        "Cannot be undone: only when the user asked."
    )
    args_schema: type[BaseModel] = DeploymentIdInput
    operation = Operation(C.delete_deployment, C.adelete_deployment, render_object)
