"""Agent tools over the FyreToolkit API.

:class:`FyreToolkitPredictTool` calls one deployed model; the other tools are
what :class:`~langchain_mlstudio.fyretoolkit.toolkit.FyreToolkit` hands to an
agent (predict with any model, browse models, run and watch batch jobs, read
metrics, and, only when allowed, create or delete deployments).

Every tool answers ``content_and_artifact``: compact JSON an agent can read as
the content, the whole typed result (as a dict) as the artifact for code. A
failure raises ``ToolException`` carrying the error's message (status, code,
request id and what to do), so ``handle_tool_error=True`` turns it into an
error ``ToolMessage``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
)
from langchain_core.tools import BaseTool, ToolException
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from langchain_mlstudio.errors import MLStudioError
from langchain_mlstudio.fyretoolkit.client import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    FyreToolkitClient,
)
from langchain_mlstudio.fyretoolkit.types import ListPage, Model, Prediction

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

ResponseFormat = Literal["content", "content_and_artifact"]


def _compact(value: Any) -> str:
    """Short JSON for an agent's context."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


class _FyreToolkitTool(BaseTool):
    """Base of the FyreToolkit tools: a client, or the settings to build one."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    client: FyreToolkitClient | None = Field(default=None, exclude=True)
    """A ready client; when ``None``, one is built from the settings below."""
    fyretoolkit_api_key: SecretStr | None = Field(
        alias="api_key", default_factory=secret_from_env(API_KEY_ENV, default=None)
    )
    """FyreToolkit API key (default: ``FYRETOOLKIT_API_KEY``)."""
    base_url: str | None = Field(default_factory=from_env(BASE_URL_ENV, default=None))
    """API root (default: ``FYRETOOLKIT_BASE_URL``; there is no public default)."""
    timeout: float | None = 60.0
    """Seconds one HTTP request may take."""
    max_retries: int = 2
    """Retries of transient failures, where safe."""
    response_format: ResponseFormat = "content_and_artifact"

    _client: FyreToolkitClient = PrivateAttr()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Built outside pydantic validation so a missing setting surfaces as
        # ConfigurationError (naming the variable), not a ValidationError.
        if self.client is not None:
            self._client = self.client
            self.base_url = self.client.base_url
        else:
            self._client = FyreToolkitClient(
                api_key=self.fyretoolkit_api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Where the key comes from when the tool is serialised."""
        return {"fyretoolkit_api_key": API_KEY_ENV}

    @property
    def fyretoolkit_client(self) -> FyreToolkitClient:
        """The client the tool sends through."""
        return self._client

    # Subclasses implement these two; errors become ToolException below.
    def _call(self, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        raise NotImplementedError

    async def _acall(self, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        raise NotImplementedError

    def _run(
        self, run_manager: CallbackManagerForToolRun | None = None, **kwargs: Any
    ) -> tuple[str, Any]:
        try:
            return self._call(**kwargs)
        except MLStudioError as exc:
            raise ToolException(str(exc)) from exc

    async def _arun(
        self, run_manager: AsyncCallbackManagerForToolRun | None = None, **kwargs: Any
    ) -> tuple[str, Any]:
        try:
            return await self._acall(**kwargs)
        except MLStudioError as exc:
            raise ToolException(str(exc)) from exc


# -- predict -----------------------------------------------------------------


_INPUTS_DOC = (
    "The inputs to score, one result each: texts, or JSON objects such as "
    '{"text": "..."} when the model expects objects.'
)
_METADATA_DOC = "Optional metadata for the request (e.g. correlation_id)."


class FyreToolkitPredictInput(BaseModel):
    """Arguments of :class:`FyreToolkitPredictTool`.

    Example:
        >>> FyreToolkitPredictInput(inputs=["I love it"]).metadata is None
        True
    """

    inputs: list[str | dict[str, Any]] = Field(min_length=1, description=_INPUTS_DOC)
    metadata: dict[str, Any] | None = Field(default=None, description=_METADATA_DOC)


def _prediction_content(prediction: Prediction) -> str:
    return _compact({"model": prediction.model, "results": prediction.results})


class FyreToolkitModelPredictInput(BaseModel):
    """Arguments of :class:`FyreToolkitModelPredictTool`: a model id, then inputs.

    Example:
        >>> FyreToolkitModelPredictInput(model_id="sentiment-v1", inputs=["ok"]).model_id
        'sentiment-v1'
    """

    model_id: str = Field(
        min_length=1,
        description="Id of a model whose status is 'ready' (see fyretoolkit_list_models).",
    )
    inputs: list[str | dict[str, Any]] = Field(min_length=1, description=_INPUTS_DOC)
    metadata: dict[str, Any] | None = Field(default=None, description=_METADATA_DOC)


class FyreToolkitModelPredictTool(_FyreToolkitTool):
    """Run any FyreToolkit model the agent names; the toolkit's predict tool.

    The one predict implementation: :class:`FyreToolkitPredictTool` is this
    tool with ``model_id`` bound. The content is compact JSON
    ``{"model": ..., "results": [...]}``; the artifact the whole
    :class:`~langchain_mlstudio.fyretoolkit.Prediction` as a dict.

    Example:
        >>> tool = FyreToolkitModelPredictTool(api_key="k", base_url="http://127.0.0.1:1")
        >>> sorted(tool.args)
        ['inputs', 'metadata', 'model_id']
    """

    name: str = "fyretoolkit_predict"
    description: str = (
        "Runs a deployed FyreToolkit machine-learning model on a list of inputs "
        "(texts or JSON objects) and returns one result per input, in order, e.g. "
        "a sentiment label and a confidence score. Needs the model's id; find ids "
        "with fyretoolkit_list_models. Pass all inputs in one call."
    )
    args_schema: type[BaseModel] = FyreToolkitModelPredictInput

    def _call(
        self, model_id: str, inputs: list[Any], metadata: dict[str, Any] | None = None
    ) -> tuple[str, Any]:
        prediction = self.fyretoolkit_client.predict(model_id, inputs, metadata)
        return _prediction_content(prediction), _dump(prediction)

    async def _acall(
        self, model_id: str, inputs: list[Any], metadata: dict[str, Any] | None = None
    ) -> tuple[str, Any]:
        prediction = await self.fyretoolkit_client.apredict(model_id, inputs, metadata)
        return _prediction_content(prediction), _dump(prediction)


class FyreToolkitPredictTool(FyreToolkitModelPredictTool):
    """Run one deployed FyreToolkit model on a list of inputs.

    :class:`FyreToolkitModelPredictTool` with ``model_id`` bound: the agent
    passes only the inputs (and optional metadata).

    The content is compact JSON ``{"model": ..., "results": [...]}`` with one
    result per input (for a sentiment model: ``label`` and ``score``); the
    artifact is the whole :class:`~langchain_mlstudio.fyretoolkit.Prediction`
    as a dict (id, usage with ``latency_ms``, ...).

    Args:
        model_id: The deployed model the tool calls.
        client: A ready :class:`FyreToolkitClient`, or the settings:
        api_key: FyreToolkit key (default: ``FYRETOOLKIT_API_KEY``).
        base_url: API root (default: ``FYRETOOLKIT_BASE_URL``).
        timeout: Seconds one HTTP request may take.
        max_retries: Retries of transient failures.

    Example:
        >>> tool = FyreToolkitPredictTool(model_id="sentiment-v1", api_key="k",
        ...                               base_url="http://127.0.0.1:8765")
        >>> tool.name, tool.response_format
        ('fyretoolkit_predict', 'content_and_artifact')

        Against a server::

            msg = tool.invoke({"type": "tool_call", "id": "1",
                               "name": "fyretoolkit_predict",
                               "args": {"inputs": ["I love it"]}})
            msg.content   # '{"model":"sentiment-v1","results":[{"label":"positive",...}]}'
            msg.artifact  # {'id': 'pred_...', 'results': [...], 'usage': {...}}
    """

    description: str = ""
    args_schema: type[BaseModel] = FyreToolkitPredictInput
    model_id: str = Field(min_length=1)
    """The deployed model's id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.description:
            self.description = (
                f"Runs the deployed machine-learning model '{self.model_id}' on a "
                "list of inputs (texts or JSON objects) and returns one result per "
                "input, in order, e.g. a label and a confidence score. Pass all "
                "inputs in one call rather than one call per input."
            )

    # The agent's arguments are inputs and metadata; the bound id comes first.
    def _call(self, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        return super()._call(self.model_id, *args, **kwargs)

    async def _acall(self, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        return await super()._acall(self.model_id, *args, **kwargs)


# -- models ------------------------------------------------------------------


class ListModelsInput(BaseModel):
    """Arguments of :class:`FyreToolkitListModelsTool`."""

    limit: int = Field(
        default=DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"How many models to return (1-{MAX_PAGE_SIZE}).",
    )
    starting_after: str | None = Field(
        default=None,
        description="Return models after this model id (the next_cursor of a previous call).",
    )


def _models_content(page: ListPage[Model]) -> str:
    models = [{"id": m.id, "status": m.status, "description": m.description} for m in page.data]
    nxt = page.data[-1].id if page.has_more and page.data else None
    return _compact({"models": models, "has_more": page.has_more, "next_cursor": nxt})


class FyreToolkitListModelsTool(_FyreToolkitTool):
    """List the organization's models, one page at a time.

    Example:
        >>> FyreToolkitListModelsTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_list_models'
    """

    name: str = "fyretoolkit_list_models"
    description: str = (
        "Lists the FyreToolkit models of the organization with their id, status "
        "(ready, training or archived) and description. Only 'ready' models can "
        "make predictions. If has_more is true, call again with starting_after set "
        "to next_cursor."
    )
    args_schema: type[BaseModel] = ListModelsInput

    def _call(
        self, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> tuple[str, Any]:
        page = self.fyretoolkit_client.get_models_page(limit=limit, starting_after=starting_after)
        return _models_content(page), _dump(page)

    async def _acall(
        self, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> tuple[str, Any]:
        page = await self.fyretoolkit_client.aget_models_page(
            limit=limit, starting_after=starting_after
        )
        return _models_content(page), _dump(page)


class ModelIdInput(BaseModel):
    """A model id."""

    model_id: str = Field(min_length=1, description="The model's id, e.g. 'sentiment-v1'.")


class FyreToolkitGetModelTool(_FyreToolkitTool):
    """Read one model's status and description.

    Example:
        >>> FyreToolkitGetModelTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_get_model'
    """

    name: str = "fyretoolkit_get_model"
    description: str = (
        "Gets one FyreToolkit model by id: its status (ready, training or "
        "archived), creation time and description."
    )
    args_schema: type[BaseModel] = ModelIdInput

    def _call(self, model_id: str) -> tuple[str, Any]:
        model = self.fyretoolkit_client.get_model(model_id)
        return _compact(_dump(model)), _dump(model)

    async def _acall(self, model_id: str) -> tuple[str, Any]:
        model = await self.fyretoolkit_client.aget_model(model_id)
        return _compact(_dump(model)), _dump(model)


# -- batch jobs --------------------------------------------------------------


class CreateBatchJobInput(BaseModel):
    """Arguments of :class:`FyreToolkitCreateBatchJobTool`."""

    model_id: str = Field(min_length=1, description="The model to run over the file.")
    input_url: str = Field(min_length=1, description="URL of a CSV or JSONL file with the inputs.")
    webhook: str | None = Field(
        default=None, description="Optional URL to call when the job completes."
    )


class FyreToolkitCreateBatchJobTool(_FyreToolkitTool):
    """Start a batch job (asynchronous predictions over a file).

    Example:
        >>> FyreToolkitCreateBatchJobTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_create_batch_job'
    """

    name: str = "fyretoolkit_create_batch_job"
    description: str = (
        "Starts a FyreToolkit batch job that runs a model over every record of a "
        "CSV or JSONL file at input_url. Returns the job id and its status "
        "('queued'); check progress later with fyretoolkit_get_job. Use it for "
        "large datasets instead of many predict calls."
    )
    args_schema: type[BaseModel] = CreateBatchJobInput

    def _call(self, model_id: str, input_url: str, webhook: str | None = None) -> tuple[str, Any]:
        job = self.fyretoolkit_client.create_batch_job(model_id, input_url, webhook=webhook)
        return _compact(_dump(job)), _dump(job)

    async def _acall(
        self, model_id: str, input_url: str, webhook: str | None = None
    ) -> tuple[str, Any]:
        job = await self.fyretoolkit_client.acreate_batch_job(model_id, input_url, webhook=webhook)
        return _compact(_dump(job)), _dump(job)


class JobIdInput(BaseModel):
    """A batch job id."""

    job_id: str = Field(min_length=1, description="The batch job's id, e.g. 'job_...'.")


class FyreToolkitGetJobTool(_FyreToolkitTool):
    """Read a batch job's status and progress.

    Example:
        >>> FyreToolkitGetJobTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_get_job'
    """

    name: str = "fyretoolkit_get_job"
    description: str = (
        "Gets a FyreToolkit batch job's status (queued, processing, completed, "
        "failed or canceled), its progress (processed/total records) and, once "
        "completed, the output_url of its results."
    )
    args_schema: type[BaseModel] = JobIdInput

    def _call(self, job_id: str) -> tuple[str, Any]:
        job = self.fyretoolkit_client.get_job(job_id)
        return _compact(_dump(job)), _dump(job)

    async def _acall(self, job_id: str) -> tuple[str, Any]:
        job = await self.fyretoolkit_client.aget_job(job_id)
        return _compact(_dump(job)), _dump(job)


class FyreToolkitCancelJobTool(_FyreToolkitTool):
    """Cancel a queued or processing batch job.

    Example:
        >>> FyreToolkitCancelJobTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_cancel_job'
    """

    name: str = "fyretoolkit_cancel_job"
    description: str = (
        "Cancels a FyreToolkit batch job that is still queued or processing. "
        "Completed, failed or already canceled jobs cannot be canceled (the tool "
        "then reports a 409 conflict)."
    )
    args_schema: type[BaseModel] = JobIdInput

    def _call(self, job_id: str) -> tuple[str, Any]:
        job = self.fyretoolkit_client.cancel_job(job_id)
        return _compact(_dump(job)), _dump(job)

    async def _acall(self, job_id: str) -> tuple[str, Any]:
        job = await self.fyretoolkit_client.acancel_job(job_id)
        return _compact(_dump(job)), _dump(job)


# -- deployments and metrics -------------------------------------------------


class ListDeploymentsInput(BaseModel):
    """Arguments of :class:`FyreToolkitListDeploymentsTool`."""

    limit: int = Field(
        default=DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"The most deployments to return (1-{MAX_PAGE_SIZE}).",
    )


class FyreToolkitListDeploymentsTool(_FyreToolkitTool):
    """List active deployments (read-only: ids for the metrics tool).

    Example:
        >>> FyreToolkitListDeploymentsTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_list_deployments'
    """

    name: str = "fyretoolkit_list_deployments"
    description: str = (
        "Lists the active FyreToolkit deployments with their id, model_uri, region, "
        "replicas and status. Use a deployment id with fyretoolkit_get_metrics."
    )
    args_schema: type[BaseModel] = ListDeploymentsInput

    def _call(self, limit: int = DEFAULT_PAGE_SIZE) -> tuple[str, Any]:
        deployments = []
        for deployment in self.fyretoolkit_client.list_deployments(limit=limit):
            deployments.append(_dump(deployment))
            if len(deployments) >= limit:
                break
        return _compact({"deployments": deployments}), deployments

    async def _acall(self, limit: int = DEFAULT_PAGE_SIZE) -> tuple[str, Any]:
        deployments = []
        async for deployment in self.fyretoolkit_client.alist_deployments(limit=limit):
            deployments.append(_dump(deployment))
            if len(deployments) >= limit:
                break
        return _compact({"deployments": deployments}), deployments


class GetMetricsInput(BaseModel):
    """Arguments of :class:`FyreToolkitGetMetricsTool`."""

    deployment_id: str = Field(min_length=1, description="The deployment's id, e.g. 'dep_...'.")
    period: str | None = Field(
        default=None, description="Time window such as '1h' or '24h' (default: the server's)."
    )


class FyreToolkitGetMetricsTool(_FyreToolkitTool):
    """Read a deployment's requests, errors and latency.

    Example:
        >>> FyreToolkitGetMetricsTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_get_metrics'
    """

    name: str = "fyretoolkit_get_metrics"
    description: str = (
        "Gets performance metrics of a FyreToolkit deployment over a time window: "
        "request count, errors, error rate, throughput and latency percentiles "
        "(p50/p95/p99 in milliseconds)."
    )
    args_schema: type[BaseModel] = GetMetricsInput

    def _call(self, deployment_id: str, period: str | None = None) -> tuple[str, Any]:
        metrics = self.fyretoolkit_client.get_metrics(deployment_id, period=period)
        return _compact(_dump(metrics)), _dump(metrics)

    async def _acall(self, deployment_id: str, period: str | None = None) -> tuple[str, Any]:
        metrics = await self.fyretoolkit_client.aget_metrics(deployment_id, period=period)
        return _compact(_dump(metrics)), _dump(metrics)


class CreateDeploymentInput(BaseModel):
    """Arguments of :class:`FyreToolkitCreateDeploymentTool`."""

    model_uri: str = Field(
        min_length=1, description="Model artifact URI, e.g. 's3://bucket/models/sentiment'."
    )
    region: str = Field(min_length=1, description="Target region, e.g. 'us-east-1', 'eu-west-1'.")
    replicas: int = Field(default=1, ge=1, description="Initial number of replicas.")


class FyreToolkitCreateDeploymentTool(_FyreToolkitTool):
    """Deploy a model artifact (changes infrastructure; opt-in in the toolkit).

    Example:
        >>> FyreToolkitCreateDeploymentTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_create_deployment'
    """

    name: str = "fyretoolkit_create_deployment"
    description: str = (
        "Deploys a model artifact to production infrastructure in a region, with "
        "the given number of replicas. This provisions paid resources: only use it "
        "when the user explicitly asked for a deployment."
    )
    args_schema: type[BaseModel] = CreateDeploymentInput

    def _call(self, model_uri: str, region: str, replicas: int = 1) -> tuple[str, Any]:
        deployment = self.fyretoolkit_client.create_deployment(model_uri, region, replicas)
        return _compact(_dump(deployment)), _dump(deployment)

    async def _acall(self, model_uri: str, region: str, replicas: int = 1) -> tuple[str, Any]:
        deployment = await self.fyretoolkit_client.acreate_deployment(model_uri, region, replicas)
        return _compact(_dump(deployment)), _dump(deployment)


class DeploymentIdInput(BaseModel):
    """A deployment id."""

    deployment_id: str = Field(min_length=1, description="The deployment's id, e.g. 'dep_...'.")


class FyreToolkitDeleteDeploymentTool(_FyreToolkitTool):
    """Delete a deployment (changes infrastructure; opt-in in the toolkit).

    Example:
        >>> FyreToolkitDeleteDeploymentTool(api_key="k", base_url="http://127.0.0.1:1").name
        'fyretoolkit_delete_deployment'
    """

    name: str = "fyretoolkit_delete_deployment"
    description: str = (
        "Deletes a FyreToolkit deployment: it stops serving traffic immediately "
        "(model artifacts are kept). Only use it when the user explicitly asked."
    )
    args_schema: type[BaseModel] = DeploymentIdInput

    def _call(self, deployment_id: str) -> tuple[str, Any]:
        deleted = self.fyretoolkit_client.delete_deployment(deployment_id)
        return _compact(_dump(deleted)), _dump(deleted)

    async def _acall(self, deployment_id: str) -> tuple[str, Any]:
        deleted = await self.fyretoolkit_client.adelete_deployment(deployment_id)
        return _compact(_dump(deleted)), _dump(deleted)
