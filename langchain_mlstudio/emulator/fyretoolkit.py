"""Emulated FyreToolkit API: predictions, batch jobs, models, deployments, metrics.

Behaves like the FyreToolkit reference, section by section:

- **Authentication**: HTTP Basic auth, the key as user name (else 401).
- **Rate limits**: ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` on
  every authenticated response, a 429 once a budget (read, write, inference)
  is spent.
- **Pagination**: ``limit`` (default 20, at most 100), ``starting_after``,
  ``has_more``.
- **Errors**: ``{"error": {"code", "message", "request_id", "details"}}``.
- **Endpoints**, one handler each, in the page's order: predictions; batch
  jobs that move ``queued`` -> ``processing`` -> ``completed`` with time and
  answer 409 ``job_not_cancelable`` once final; models; deployments (422 for a
  bad one); metrics. Creating calls honour ``idempotency_key``.

What every endpoint shares lives in
:mod:`~langchain_mlstudio.emulator._fyretoolkit_conventions`, the seeded
models and their predictions in :mod:`~langchain_mlstudio.emulator._fyretoolkit_models`.

Example:
    >>> svc = FyreToolkitService(api_key="sk_live_demo_12345")
    >>> len(svc.models), svc.models["sentiment-v1"]["status"]
    (45, 'ready')
"""

from __future__ import annotations

import base64
import binascii
import math
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_mlstudio.emulator import _fyretoolkit_conventions as conventions
from langchain_mlstudio.emulator._fyretoolkit_conventions import (
    DOCUMENTED_LIMITS,
    IdempotencyKeys,
    RateWindows,
    json_object,
    page,
    required,
)
from langchain_mlstudio.emulator._fyretoolkit_models import predict, seed_models
from langchain_mlstudio.emulator._server import (
    EmulatedAPIError,
    EmulatedRequest,
    EmulatedResponse,
    EmulatedService,
    Route,
)

__all__ = [
    "INPUT_URL_SCHEMES",
    "MAX_INPUTS",
    "MAX_REPLICAS",
    "MODEL_URI_SCHEMES",
    "PERIODS",
    "REGIONS",
    "FyreToolkitService",
]

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")
MODEL_URI_SCHEMES = ("s3://", "gs://", "https://")
INPUT_URL_SCHEMES = ("http://", "https://", "s3://", "gs://")
MAX_REPLICAS = 20
PERIODS = {"1h": 1.0, "24h": 24.0, "7d": 168.0}
MAX_INPUTS = 1000
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="FyreToolkit"'}


@dataclass(eq=False, kw_only=True)
class FyreToolkitService(EmulatedService):
    """FyreToolkit's REST API, in memory.

    Args:
        api_key: The key accepted as the Basic-auth user name.
        queue_duration: Seconds a batch job stays ``queued``.
        processing_duration: Seconds a batch job stays ``processing``.
        deployment_duration: Seconds a deployment stays ``provisioning``.
        rate_limit: Requests per window for every budget (read, write,
            inference); ``None`` uses the documented 120/60 per minute for
            reads/writes and 600 for inference.
        rate_window: The window's length in seconds.
        clock: The time source (tests pass a fake clock to move time).
        terse: Answer what the reference leaves undocumented (cancel, delete
            and create deployment, the shape of metrics) as sparely as it
            allows: 202 / 204 without a body, a deployment as ``{id, status}``,
            errors as counts by kind, to test clients against it.

    Counters for tests: ``created_jobs``, ``created_deployments``,
    ``predictions``, ``rate_limited`` (429s served), ``idempotent_replays``.

    Example:
        >>> svc = FyreToolkitService(api_key="k", rate_limit=5, rate_window=1.0)
        >>> svc.budget("read")
        5
    """

    name = "fyretoolkit"

    api_key: str = field(repr=False)
    queue_duration: float = 0.2
    processing_duration: float = 1.0
    deployment_duration: float = 0.5
    rate_limit: int | None = None
    rate_window: float = 60.0
    clock: Callable[[], float] = time.time
    terse: bool = False
    models: dict[str, dict[str, Any]] = field(default_factory=seed_models, init=False, repr=False)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    created_jobs: int = field(default=0, init=False)
    created_deployments: int = field(default=0, init=False)
    predictions: int = field(default=0, init=False)
    rate_limited: int = field(default=0, init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _windows: RateWindows = field(default_factory=RateWindows, init=False, repr=False)
    _keys: IdempotencyKeys = field(default_factory=IdempotencyKeys, init=False, repr=False)

    @property
    def idempotent_replays(self) -> int:
        """How many creating calls got an earlier call's object back by its key."""
        return self._keys.replays

    # -- the page's sections before its endpoints ----------------------------

    def routes(self) -> list[Route]:
        """Every endpoint of the reference, in the page's order."""
        return [
            Route("POST", "/predict/{model_id}", self.predict),
            Route("POST", "/batch/{model_id}", self.create_job),
            Route("GET", "/jobs/{job_id}", self.get_job),
            Route("POST", "/jobs/{job_id}/cancel", self.cancel_job),
            Route("GET", "/models", self.list_models),
            Route("GET", "/models/{model_id}", self.get_model),
            Route("POST", "/deployments", self.create_deployment),
            Route("GET", "/deployments", self.list_deployments),
            Route("DELETE", "/deployments/{deployment_id}", self.delete_deployment),
            Route("GET", "/metrics/{deployment_id}", self.get_metrics),
        ]

    def authenticate(self, request: EmulatedRequest) -> None:
        """HTTP Basic auth: the key is the user name, the password is ignored."""
        header = request.header("authorization") or ""
        if not header:
            raise EmulatedAPIError(
                401,
                "No API key provided. Use HTTP Basic auth with your API key as the user name.",
                code="missing_api_key",
                headers=_CHALLENGE,
            )
        if _basic_user(header) != self.api_key:
            raise EmulatedAPIError(
                401, "Invalid API key provided.", code="invalid_api_key", headers=_CHALLENGE
            )

    def budget(self, category: str) -> int:
        """Requests per window for a category."""
        if self.rate_limit is not None:
            return self.rate_limit
        return DOCUMENTED_LIMITS[category]

    def admit(self, request: EmulatedRequest) -> Mapping[str, str]:
        """Spend the request's budget: its ``X-RateLimit-*`` headers, or a 429."""
        category = (
            "inference"
            if request.path.startswith("/predict/")
            else ("read" if request.method == "GET" else "write")
        )
        allowed, headers = self._windows.spend(
            category, limit=self.budget(category), window=self.rate_window, now=self.clock()
        )
        if allowed:
            return headers
        with self._lock:
            self.rate_limited += 1
        retry_after = max(1, math.ceil(float(headers["X-RateLimit-Reset"]) - self.clock()))
        raise EmulatedAPIError(
            429,
            f"Too many {category} requests; retry after the window resets.",
            code="rate_limit_exceeded",
            details={"category": category, "limit": int(headers["X-RateLimit-Limit"])},
            headers={**headers, "Retry-After": str(retry_after)},
        )

    def serve(
        self, route: Route, request: EmulatedRequest, params: dict[str, str]
    ) -> EmulatedResponse:
        """Run the handler under the service's lock: one request changes state at a time."""
        with self._lock:
            return route.handler(request, **params)

    def error_body(self, request: EmulatedRequest, error: EmulatedAPIError) -> dict[str, Any]:
        """``{"error": {"code", "message", "request_id", "details"}}``."""
        return conventions.error_body(request, error.code, error.message, error.details)

    # -- real-time prediction ------------------------------------------------

    def predict(self, request: EmulatedRequest, model_id: str) -> EmulatedResponse:
        """``POST /predict/{model_id}``."""
        body = json_object(request)
        model = self._model(model_id)
        inputs = required(body, "inputs")
        if not isinstance(inputs, list) or not inputs:
            raise _invalid(400, "invalid_request", "inputs must be a non-empty array.", "inputs")
        if len(inputs) > MAX_INPUTS:
            raise _invalid(
                422, "too_many_inputs", f"At most {MAX_INPUTS} inputs per request.", "inputs"
            )
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise _invalid(400, "invalid_request", "metadata must be an object.", "metadata")
        _check_ready(model)
        texts = [_input_text(item, index) for index, item in enumerate(inputs)]
        self.predictions += 1
        latency = round(2.0 + 0.8 * len(texts) + sum(len(t) for t in texts) / 200, 2)
        return EmulatedResponse(
            200,
            {
                "id": "pred_" + uuid.uuid4().hex[:24],
                "object": "prediction",
                "created": int(self.clock()),
                "model": model_id,
                "results": [predict(model["task"], text) for text in texts],
                "usage": {"latency_ms": latency, "inputs": len(texts)},
                "metadata": metadata or {},
            },
        )

    # -- batch jobs ----------------------------------------------------------

    def create_job(self, request: EmulatedRequest, model_id: str) -> EmulatedResponse:
        """``POST /batch/{model_id}``: 202 with a queued job."""
        body = json_object(request)
        input_url = required(body, "input_url")
        webhook = body.get("webhook")
        fingerprint = repr((model_id, input_url, webhook))
        replay = self._keys.replay("batch", body, fingerprint)
        if replay is not None:
            return EmulatedResponse(202, self._job_view(self.jobs[replay]))
        model = self._model(model_id)
        if not isinstance(input_url, str) or not input_url.startswith(INPUT_URL_SCHEMES):
            raise _invalid(
                422,
                "invalid_input_url",
                "input_url must be an http(s), s3:// or gs:// URL of a CSV or JSONL file.",
                "input_url",
            )
        if webhook is not None and (
            not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))
        ):
            raise _invalid(422, "invalid_webhook", "webhook must be an http(s) URL.", "webhook")
        _check_ready(model)
        job_id = "job_" + uuid.uuid4().hex[:24]
        now = self.clock()
        self.jobs[job_id] = {
            "id": job_id,
            "model": model_id,
            "input_url": input_url,
            "webhook": webhook,
            "created": int(now),
            "started": now,
            "canceled_at": None,
            "total": 100 + zlib.crc32(input_url.encode()) % 900,
        }
        self.created_jobs += 1
        self._keys.remember("batch", body, fingerprint, job_id)
        return EmulatedResponse(202, self._job_view(self.jobs[job_id]))

    def get_job(self, request: EmulatedRequest, job_id: str) -> EmulatedResponse:
        """``GET /jobs/{job_id}``."""
        return EmulatedResponse(200, self._job_view(self._job(job_id)))

    def cancel_job(self, request: EmulatedRequest, job_id: str) -> EmulatedResponse:
        """``POST /jobs/{job_id}/cancel``: 409 once the job is final."""
        job = self._job(job_id)
        status = self._job_view(job)["status"]
        if status not in {"queued", "processing"}:
            raise EmulatedAPIError(
                409,
                f"Batch job {job_id} is {status} and can no longer be canceled.",
                code="job_not_cancelable",
                details={"job_id": job_id, "status": status},
            )
        job["canceled_at"] = self.clock()
        if self.terse:
            return EmulatedResponse(202)
        return EmulatedResponse(200, self._job_view(job))

    # -- models --------------------------------------------------------------

    def list_models(self, request: EmulatedRequest) -> EmulatedResponse:
        """``GET /models`` with cursor pagination."""
        return EmulatedResponse(200, page(request, list(self.models.values())))

    def get_model(self, request: EmulatedRequest, model_id: str) -> EmulatedResponse:
        """``GET /models/{model_id}``."""
        return EmulatedResponse(200, self._model(model_id))

    # -- deployments and their metrics ---------------------------------------

    def create_deployment(self, request: EmulatedRequest) -> EmulatedResponse:
        """``POST /deployments``: 201, or 422 for a bad model_uri/region/replicas."""
        body = json_object(request)
        model_uri = required(body, "model_uri")
        region = required(body, "region")
        replicas = body.get("replicas", 1)
        fingerprint = repr((model_uri, region, replicas))
        replay = self._keys.replay("deployments", body, fingerprint)
        if replay is not None:
            return EmulatedResponse(201, self._deployment_view(self.deployments[replay]))
        _check_deployment(model_uri, region, replicas)
        deployment_id = "dep_" + uuid.uuid4().hex[:24]
        now = self.clock()
        self.deployments[deployment_id] = {
            "id": deployment_id,
            "object": "deployment",
            "model_uri": model_uri,
            "region": region,
            "replicas": replicas,
            "created": int(now),
            "started": now,
            "endpoint_url": f"https://{region}.fyretoolkit.invalid/v1/{deployment_id}",
        }
        self.created_deployments += 1
        self._keys.remember("deployments", body, fingerprint, deployment_id)
        view = self._deployment_view(self.deployments[deployment_id])
        if self.terse:
            view = {"id": view["id"], "status": view.get("status")}
        return EmulatedResponse(201, view)

    def list_deployments(self, request: EmulatedRequest) -> EmulatedResponse:
        """``GET /deployments``: active deployments, paginated."""
        views = [self._deployment_view(d) for d in self.deployments.values()]
        return EmulatedResponse(200, page(request, views))

    def delete_deployment(self, request: EmulatedRequest, deployment_id: str) -> EmulatedResponse:
        """``DELETE /deployments/{deployment_id}``."""
        self._deployment(deployment_id)
        del self.deployments[deployment_id]
        if self.terse:
            return EmulatedResponse(204)
        return EmulatedResponse(200, {"id": deployment_id, "object": "deployment", "deleted": True})

    def get_metrics(self, request: EmulatedRequest, deployment_id: str) -> EmulatedResponse:
        """``GET /metrics/{deployment_id}``: deterministic numbers per deployment."""
        self._deployment(deployment_id)
        period = request.param("period") or "1h"
        if period not in PERIODS:
            raise _invalid(
                400, "invalid_period", f"period must be one of {', '.join(PERIODS)}.", "period"
            )
        return EmulatedResponse(
            200,
            {
                "object": "metrics",
                "deployment_id": deployment_id,
                "period": period,
                "metrics": _metrics(deployment_id, PERIODS[period], terse=self.terse),
            },
        )

    # -- lookups and views ---------------------------------------------------

    def _model(self, model_id: str) -> dict[str, Any]:
        return _found(self.models, model_id, "model", "No model with id")

    def _job(self, job_id: str) -> dict[str, Any]:
        return _found(self.jobs, job_id, "job", "No batch job with id")

    def _deployment(self, deployment_id: str) -> dict[str, Any]:
        return _found(self.deployments, deployment_id, "deployment", "No deployment with id")

    def _job_view(self, job: dict[str, Any]) -> dict[str, Any]:
        elapsed = self.clock() - job["started"]
        total = job["total"]
        processed = 0
        output_url = None
        error = None
        if job["canceled_at"] is not None:
            status = "canceled"
            processed = self._processed(job["canceled_at"] - job["started"], total)
        elif elapsed < self.queue_duration:
            status = "queued"
        elif elapsed < self.queue_duration + self.processing_duration:
            status = "processing"
            processed = self._processed(elapsed, total)
        elif "fail" in job["input_url"]:
            status = "failed"
            processed = total // 2
            error = {
                "code": "input_unreadable",
                "message": "Record 1 of the input is not valid JSON.",
            }
        else:
            status = "completed"
            processed = total
            output_url = f"https://storage.fyretoolkit.invalid/outputs/{job['id']}.jsonl"
        return {
            "id": job["id"],
            "object": "batch_job",
            "model": job["model"],
            "status": status,
            "created": job["created"],
            "input_url": job["input_url"],
            "webhook": job["webhook"],
            "progress": {"processed": processed, "total": total},
            "output_url": output_url,
            "error": error,
        }

    def _processed(self, elapsed: float, total: int) -> int:
        if self.processing_duration <= 0:
            return total
        fraction = (elapsed - self.queue_duration) / self.processing_duration
        return max(0, min(total, int(total * fraction)))

    def _deployment_view(self, deployment: dict[str, Any]) -> dict[str, Any]:
        ready = self.clock() - deployment["started"] >= self.deployment_duration
        view = {k: v for k, v in deployment.items() if k != "started"}
        view["status"] = "active" if ready else "provisioning"
        return view


def _basic_user(header: str) -> str | None:
    """The user name of a ``Basic`` authorization header, or ``None``."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None


def _invalid(status: int, code: str, message: str, param: str) -> EmulatedAPIError:
    """The error for one bad request parameter."""
    return EmulatedAPIError(status, message, code=code, details={"param": param})


def _found(objects: dict[str, dict[str, Any]], key: str, kind: str, missing: str) -> dict[str, Any]:
    """``objects[key]``, or 404 ``{kind}_not_found``."""
    found = objects.get(key)
    if found is None:
        raise EmulatedAPIError(
            404, f"{missing} {key!r}.", code=f"{kind}_not_found", details={f"{kind}_id": key}
        )
    return found


def _check_ready(model: Mapping[str, Any]) -> None:
    """409 ``model_not_ready`` unless the model is ready."""
    if model["status"] != "ready":
        raise EmulatedAPIError(
            409,
            f"Model {model['id']!r} is {model['status']}, not ready.",
            code="model_not_ready",
            details={"status": model["status"]},
        )


def _input_text(item: Any, index: int) -> str:
    """The text of one prediction input: a string or an object's ``text``; else 422."""
    text = item.get("text") if isinstance(item, dict) else item
    if not isinstance(text, str):
        raise _invalid(
            422,
            "invalid_input",
            f"inputs[{index}] must be a text or an object with a 'text' field.",
            f"inputs[{index}]",
        )
    return text


def _check_deployment(model_uri: Any, region: Any, replicas: Any) -> None:
    """422 for a bad ``model_uri``, ``region`` or ``replicas``."""
    if (
        not isinstance(model_uri, str)
        or not model_uri.startswith(MODEL_URI_SCHEMES)
        or model_uri.endswith("://")
    ):
        raise EmulatedAPIError(
            422,
            "model_uri must be an s3://, gs:// or https:// URI of a model artifact.",
            code="invalid_model_uri",
            details={"field": "model_uri", "value": str(model_uri)[:200]},
        )
    if region not in REGIONS:
        raise EmulatedAPIError(
            422,
            f"Unknown region {region!r}.",
            code="invalid_region",
            details={"field": "region", "allowed": list(REGIONS)},
        )
    if (
        isinstance(replicas, bool)
        or not isinstance(replicas, int)
        or not 1 <= replicas <= MAX_REPLICAS
    ):
        raise EmulatedAPIError(
            422,
            f"replicas must be an integer from 1 to {MAX_REPLICAS}.",
            code="invalid_replicas",
            details={"field": "replicas", "min": 1, "max": MAX_REPLICAS},
        )


def _metrics(deployment_id: str, hours: float, *, terse: bool) -> dict[str, Any]:
    """Deterministic metrics of a deployment over ``hours``."""
    seed = zlib.crc32(deployment_id.encode())
    requests = int((1000 + seed % 4000) * hours)
    errors = int(requests * ((seed >> 8) % 20) / 1000)
    p50 = 20 + (seed >> 4) % 40
    return {
        "requests": requests,
        "errors": {"4xx": errors // 2, "5xx": errors - errors // 2} if terse else errors,
        "error_rate": round(errors / requests, 4) if requests else 0.0,
        "throughput_rps": round(requests / (hours * 3600), 3),
        "latency_ms": {"p50": float(p50), "p95": float(p50 * 2.5), "p99": float(p50 * 4)},
    }
