"""The argument schemas of the FyreToolkit tools: what an agent may pass to each.

Every field says what it is in its ``description`` (the model reads it), with
the limits the API documents (a page holds 1 to 100 records).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from langchain_mlstudio.fyretoolkit._paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = [
    "CreateBatchJobInput",
    "CreateBatchJobWithWebhookInput",
    "CreateDeploymentInput",
    "DeploymentIdInput",
    "FyreToolkitModelPredictInput",
    "FyreToolkitPredictInput",
    "GetMetricsInput",
    "JobIdInput",
    "ListInput",
    "ModelIdInput",
]

_INPUTS_DOC = 'Inputs to score (texts, or JSON objects such as {"text": "..."}); one result each.'
_METADATA_DOC = "Optional request metadata, e.g. correlation_id."
_CURSOR_DOC = "Continue after this id: the starting_after of the previous call."


class FyreToolkitPredictInput(BaseModel):
    """Arguments of :class:`FyreToolkitPredictTool`.

    Example:
        >>> FyreToolkitPredictInput(inputs=["I love it"]).metadata is None
        True
    """

    inputs: list[str | dict[str, Any]] = Field(min_length=1, description=_INPUTS_DOC)
    metadata: dict[str, Any] | None = Field(default=None, description=_METADATA_DOC)


class FyreToolkitModelPredictInput(BaseModel):
    """Arguments of :class:`FyreToolkitModelPredictTool`: a model id, then inputs.

    Example:
        >>> list(FyreToolkitModelPredictInput.model_fields)
        ['model_id', 'inputs', 'metadata']
    """

    model_id: str = Field(min_length=1, description="Id of a 'ready' model.")
    inputs: list[str | dict[str, Any]] = Field(min_length=1, description=_INPUTS_DOC)
    metadata: dict[str, Any] | None = Field(default=None, description=_METADATA_DOC)


class ListInput(BaseModel):
    """One page of a list: its size and where it starts."""

    limit: int = Field(
        default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Page size (1-100)."
    )
    starting_after: str | None = Field(default=None, description=_CURSOR_DOC)


class ModelIdInput(BaseModel):
    """A model id."""

    model_id: str = Field(min_length=1, description="The model's id, e.g. 'sentiment-v1'.")


class JobIdInput(BaseModel):
    """A batch job id."""

    job_id: str = Field(min_length=1, description="The batch job's id, e.g. 'job_...'.")


class DeploymentIdInput(BaseModel):
    """A deployment id."""

    deployment_id: str = Field(min_length=1, description="The deployment's id, e.g. 'dep_...'.")


class GetMetricsInput(DeploymentIdInput):
    """Arguments of :class:`FyreToolkitGetMetricsTool`."""

    period: str | None = Field(default=None, description="Window such as '1h' or '24h'.")


class CreateBatchJobInput(BaseModel):
    """Arguments of :class:`FyreToolkitCreateBatchJobTool` (no webhook allowed)."""

    model_id: str = Field(min_length=1, description="The model to run.")
    input_url: str = Field(min_length=1, description="URL of the CSV or JSONL input file.")


class CreateBatchJobWithWebhookInput(CreateBatchJobInput):
    """Arguments of :class:`FyreToolkitCreateBatchJobTool` when webhooks are allowed."""

    webhook: str | None = Field(
        default=None, description="One of the allowed webhook URLs, called on completion."
    )


class CreateDeploymentInput(BaseModel):
    """Arguments of :class:`FyreToolkitCreateDeploymentTool`."""

    model_uri: str = Field(min_length=1, description="Model artifact URI, e.g. 's3://...'.")
    region: str = Field(min_length=1, description="Target region, e.g. 'eu-west-1'.")
    replicas: int = Field(default=1, ge=1, le=100, description="Initial replica count.")
