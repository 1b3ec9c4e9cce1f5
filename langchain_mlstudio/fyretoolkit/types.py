"""Typed results of the FyreToolkit API.

Every response the client reads is parsed into one of these pydantic models;
a response of the wrong shape raises
:class:`~langchain_mlstudio.MalformedResponseError` instead of a ``KeyError``
or a pydantic ``ValidationError``. Fields the API adds later are kept
(``extra="allow"``), so a newer server does not break an older client, and
only fields the reference documents are required: an answer it does not
document (create deployment, cancel, delete) requires nothing beyond an id.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "BatchJob",
    "DeletedDeployment",
    "Deployment",
    "DeploymentMetrics",
    "JobProgress",
    "JobStatus",
    "LatencyStats",
    "ListPage",
    "Metrics",
    "Model",
    "Prediction",
    "PredictionUsage",
    "RateLimitInfo",
]

#: The statuses a batch job goes through.
JobStatus = Literal["queued", "processing", "completed", "failed", "canceled"]

#: Statuses after which a batch job never changes again.
_TERMINAL_JOB_STATUSES = frozenset({"completed", "failed", "canceled"})


def _normalize_job_status(status: str) -> str:
    """A job status as the client compares it: trimmed and lower-case.

    The reference documents lower-case words, but a server (or a proxy) that
    answers ``"COMPLETED"`` or ``"Failed"`` means the same; compared as sent,
    such a job would be polled until the deadline. The British ``cancelled``
    is read as ``canceled``. Unknown words stay unknown, so they still mean
    the job is running.

    Example:
        >>> [_normalize_job_status(s) for s in ("COMPLETED", " Failed", "Cancelled", "paused")]
        ['completed', 'failed', 'canceled', 'paused']
    """
    word = status.strip().lower()
    return "canceled" if word == "cancelled" else word


class _Resource(BaseModel):
    """Base of every API object: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", frozen=True)


class PredictionUsage(_Resource):
    """Latency and compute usage of one prediction.

    Example:
        >>> PredictionUsage(latency_ms=12.5).latency_ms
        12.5
    """

    latency_ms: float | None = None
    """Server-side latency in milliseconds."""


class Prediction(_Resource):
    """The answer of ``POST /predict/{model_id}``: one result per input.

    Example:
        >>> p = Prediction(id="pred_1", created=0, model="sentiment-v1",
        ...                results=[{"label": "positive", "score": 0.9}])
        >>> p.results[0]["label"]
        'positive'
    """

    id: str | None = None
    object: str = "prediction"
    created: int | None = None
    model: str | None = None
    results: list[Any]
    """Model outputs, in the order of the inputs."""
    usage: PredictionUsage = Field(default_factory=PredictionUsage)


class JobProgress(_Resource):
    """Processed and total record counts of a batch job.

    Example:
        >>> JobProgress(processed=5, total=10).fraction
        0.5
    """

    processed: int = 0
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        """``processed / total``, or ``None`` while the total is unknown."""
        if not self.total:
            return None
        return self.processed / self.total


class _StatusRecord(_Resource):
    """An API object with a status: a batch job or a model."""

    id: str
    object: str
    status: str
    created: int | None = None


class BatchJob(_StatusRecord):
    """A batch job (``POST /batch/{model_id}``, ``GET /jobs/{job_id}``).

    ``status`` is one of :data:`JobStatus`; it is kept as a plain string (as
    the server sent it) so a status the API adds later does not make the job
    unreadable. :attr:`normalized_status` and :attr:`is_terminal` compare it
    case-insensitively.

    Example:
        >>> job = BatchJob(id="job_1", status="completed", created=0)
        >>> job.is_terminal
        True
        >>> BatchJob(id="job_2", status="Failed").normalized_status
        'failed'
    """

    object: str = "batch_job"
    model: str | None = None
    input_url: str | None = None
    webhook: str | None = None
    progress: JobProgress | None = None
    output_url: str | None = None
    """Where the results are, once ``status == "completed"``."""
    error: dict[str, Any] | None = None
    """Why the job failed, when ``status == "failed"`` and the server said."""

    @property
    def normalized_status(self) -> str:
        """``status`` trimmed and lower-case (see :func:`_normalize_job_status`)."""
        return _normalize_job_status(self.status)

    @property
    def is_terminal(self) -> bool:
        """Whether the job reached a final status (in any letter case)."""
        return self.normalized_status in _TERMINAL_JOB_STATUSES


class Model(_StatusRecord):
    """A model of the organization (``GET /models/{model_id}``).

    Example:
        >>> Model(id="sentiment-v1", status="ready", created=0).status
        'ready'
    """

    object: str = "model"
    description: str | None = None
    """What the model does; its ``status`` is ``ready``, ``training`` or ``archived``."""


class Deployment(_Resource):
    """A model deployment (``POST /deployments``, ``GET /deployments``).

    Example:
        >>> Deployment(id="dep_1", model_uri="s3://b/m", region="eu-west-1").region
        'eu-west-1'
        >>> Deployment(id="dep_2", status="provisioning").model_uri is None
        True
    """

    id: str
    object: str = "deployment"
    model_uri: str | None = None
    region: str | None = None
    replicas: int | None = None
    status: str | None = None
    created: int | None = None


class DeletedDeployment(_Resource):
    """The answer of ``DELETE /deployments/{deployment_id}``.

    Example:
        >>> DeletedDeployment(id="dep_1").deleted
        True
    """

    id: str
    object: str = "deployment"
    deleted: bool = True


class LatencyStats(_Resource):
    """Latency percentiles in milliseconds.

    Example:
        >>> LatencyStats(p50=10.0, p95=20.0).p95
        20.0
    """

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class DeploymentMetrics(_Resource):
    """A typed view of a deployment's metrics (see :attr:`Metrics.typed`).

    Example:
        >>> DeploymentMetrics(requests=10, errors=1).errors
        1
    """

    requests: int | None = None
    errors: int | None = None
    error_rate: float | None = None
    throughput_rps: float | None = None
    latency_ms: LatencyStats | None = None


class Metrics(_Resource):
    """The answer of ``GET /metrics/{deployment_id}``.

    The reference names the figures (requests, latency, errors) but not their
    shape, so :attr:`metrics` is a loose mapping: ``errors`` may be a count
    or an object of counts by kind. :attr:`typed` reads the common shape.

    Example:
        >>> m = Metrics(deployment_id="dep_1", period="1h",
        ...             metrics={"requests": 3, "errors": {"5xx": 1}})
        >>> m.metrics["errors"]
        {'5xx': 1}
        >>> Metrics(metrics={"latency_ms": {"p95": 9}}).typed.latency_ms.p95
        9.0
    """

    deployment_id: str | None = None
    period: str | None = None
    """The time window, e.g. ``"1h"`` or ``"24h"``."""
    metrics: dict[str, Any] = Field(default_factory=dict)
    """The figures as the server sent them."""

    @property
    def typed(self) -> DeploymentMetrics | None:
        """The figures as :class:`DeploymentMetrics`, or ``None`` if they do not fit."""
        try:
            return DeploymentMetrics.model_validate(self.metrics)
        except ValidationError:
            return None


class RateLimitInfo(_Resource):
    """The latest ``X-RateLimit-*`` headers the client saw.

    Attributes:
        limit: Maximum requests per window (``X-RateLimit-Limit``).
        remaining: Requests left in the window (``X-RateLimit-Remaining``).
        reset: Unix timestamp when the window resets (``X-RateLimit-Reset``).
        category: Which budget the headers describe: ``read`` (GET),
            ``write`` (POST/DELETE) or ``inference`` (``/predict``).

    Example:
        >>> RateLimitInfo(limit=120, remaining=0, reset=1700000000).exhausted
        True
    """

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    category: str | None = None

    @property
    def exhausted(self) -> bool:
        """Whether the window's budget is used up."""
        return self.remaining is not None and self.remaining <= 0


T = TypeVar("T")


class ListPage(BaseModel, Generic[T]):
    """One page of a cursor-paginated list (``object: "list"``).

    Example:
        >>> page = ListPage[Model](data=[{"id": "m", "status": "ready"}], has_more=False)
        >>> page.data[0].id
        'm'
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    object: str = "list"
    data: list[T]
    has_more: bool
