"""Emulated FyreToolkit API: predictions, batch jobs, models, deployments, metrics.

Behaves like the FyreToolkit reference: HTTP Basic auth (the key as user
name), cursor pagination (``limit`` default 20, at most 100, ``starting_after``,
``has_more``), batch jobs that move ``queued`` -> ``processing`` ->
``completed`` with time, cancel rules (409 ``job_not_cancelable`` once a job
is final), idempotency keys on creating calls, 422 for a bad deployment, and
``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` headers on every
authenticated response, with a 429 once a budget is spent. Every error has the
shape ``{"error": {"code", "message", "request_id", "details"}}``.

Example:
    >>> svc = FyreToolkitService(api_key="sk_live_demo_12345")
    >>> len(svc.models), svc.models["sentiment-v1"]["status"]
    (45, 'ready')
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from langchain_mlstudio.emulator._server import (
    EmulatedRequest,
    EmulatedResponse,
    Route,
    Service,
)

#: Budgets per minute documented by the reference (inference is plan-dependent).
DOCUMENTED_LIMITS = {"read": 120, "write": 60, "inference": 600}

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")
MODEL_URI_SCHEMES = ("s3://", "gs://", "https://")
MAX_REPLICAS = 20
PERIODS = {"1h": 1.0, "24h": 24.0, "7d": 168.0}
MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_INPUTS = 1000
BASE_CREATED = 1_700_000_000


def _kw(words: str) -> frozenset[str]:
    return frozenset(words.split())


_POSITIVE = _kw(
    "good great excellent amazing love loved lovely like liked wonderful fantastic "
    "happy best awesome nice perfect pleasant recommend superb brilliant fast "
    "helpful enjoy enjoyed delightful satisfied beautiful"
)
_NEGATIVE = _kw(
    "bad terrible awful hate hated horrible worst poor slow broken disappointing "
    "disappointed sad angry useless refund annoying ugly boring fail failed "
    "problem problems never worse waste rude"
)
_NEGATORS = frozenset({"not", "no", "never", "don't", "dont", "isn't", "wasn't", "n't"})

#: Keyword classifiers of the other model families: label -> keywords, default.
_KEYWORD_FAMILIES: dict[str, tuple[dict[str, frozenset[str]], str]] = {
    "toxicity": (
        {"toxic": _kw("idiot stupid hate kill dumb shut")},
        "non_toxic",
    ),
    "language-detect": (
        {
            "de": _kw("der die das und ist nicht ich sie"),
            "fr": _kw("le la les et est pas je vous"),
            "es": _kw("el los las y es no yo usted"),
        },
        "en",
    ),
    "intent": (
        {
            "refund": _kw("refund money back return"),
            "cancel": _kw("cancel stop unsubscribe"),
            "support": _kw("help broken error issue"),
        },
        "other",
    ),
    "topic": (
        {
            "billing": _kw("invoice bill payment charge price"),
            "shipping": _kw("delivery shipping package arrived"),
            "product": _kw("quality product feature size"),
        },
        "general",
    ),
    "spam": ({"spam": _kw("free winner prize click offer urgent")}, "ham"),
    "emotion": (
        {
            "joy": _kw("happy glad joy love great"),
            "anger": _kw("angry furious hate annoyed"),
            "sadness": _kw("sad unhappy cry miss"),
        },
        "neutral",
    ),
    "urgency": (
        {"urgent": _kw("urgent asap immediately now emergency")},
        "normal",
    ),
    "formality": ({"informal": _kw("hey lol gonna wanna yo")}, "formal"),
}
_FAMILIES = ("sentiment", *_KEYWORD_FAMILIES)


class _APIError(Exception):
    """An API error a handler raises; rendered in the error schema."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})


def error_body(
    request: EmulatedRequest, code: str, message: str, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """FyreToolkit's error schema for ``request``."""
    return {
        "error": {
            "code": code,
            "message": message,
            "request_id": request.request_id,
            "details": dict(details or {}),
        }
    }


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def sentiment(text: str) -> dict[str, Any]:
    """Lexicon-based sentiment: a label and a confidence score, deterministic.

    Example:
        >>> sentiment("I love it")["label"], sentiment("not good")["label"]
        ('positive', 'negative')
    """
    score = 0
    negate = False
    for word in _words(text):
        if word in _NEGATORS or word.endswith("n't"):
            negate = True
            continue
        polarity = (word in _POSITIVE) - (word in _NEGATIVE)
        if polarity:
            score += -polarity if negate else polarity
        negate = False
    label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
    confidence = 0.5 + 0.5 * abs(score) / (abs(score) + 1)
    return {"label": label, "score": round(confidence if score else 0.6, 4)}


def classify(family: str, text: str) -> dict[str, Any]:
    """A keyword classifier of one of the non-sentiment families."""
    labels, default = _KEYWORD_FAMILIES[family]
    words = set(_words(text))
    hits = {label: len(words & keywords) for label, keywords in labels.items()}
    best = max(hits, key=lambda label: hits[label]) if hits else default
    if not hits or hits[best] == 0:
        return {"label": default, "score": 0.55}
    return {"label": best, "score": round(0.5 + 0.5 * hits[best] / (hits[best] + 1), 4)}


def _seed_models() -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    index = 0
    for version in range(1, 6):
        for family in _FAMILIES:
            if version == 5:
                status = "training"
            elif version == 1 and family != "sentiment":
                status = "archived"
            else:
                status = "ready"
            model_id = f"{family}-v{version}"
            models[model_id] = {
                "id": model_id,
                "object": "model",
                "status": status,
                "created": BASE_CREATED + index * 3600,
                "description": f"{family.replace('-', ' ').capitalize()} classifier, "
                f"version {version}",
                "task": family,
                "version": version,
            }
            index += 1
    return models


class FyreToolkitService(Service):
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

    Counters for tests: ``created_jobs``, ``created_deployments``,
    ``predictions``, ``rate_limited`` (429s served), ``idempotent_replays``.

    Example:
        >>> svc = FyreToolkitService(api_key="k", rate_limit=5, rate_window=1.0)
        >>> svc.budget("read")
        5
    """

    name = "fyretoolkit"

    def __init__(
        self,
        *,
        api_key: str,
        queue_duration: float = 0.2,
        processing_duration: float = 1.0,
        deployment_duration: float = 0.5,
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        clock: Callable[[], float] = time.time,
        terse: bool = False,
    ) -> None:
        self.api_key = api_key
        self.queue_duration = queue_duration
        self.processing_duration = processing_duration
        self.deployment_duration = deployment_duration
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.clock = clock
        # The reference documents no answer for cancel, delete and create
        # deployment, nor the shape of metrics: ``terse`` answers them as
        # sparely as that allows (202 / 204 without a body, a deployment as
        # {id, status}, errors as counts by kind), to test clients against it.
        self.terse = terse
        self._lock = threading.RLock()
        self.models = _seed_models()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, str]] = {}
        self._windows: dict[str, list[float]] = {}
        self.created_jobs = 0
        self.created_deployments = 0
        self.predictions = 0
        self.rate_limited = 0
        self.idempotent_replays = 0

    # -- routing -----------------------------------------------------------

    def routes(self) -> list[Route]:
        """Every endpoint of the reference."""
        table: list[tuple[str, str, Callable[..., EmulatedResponse]]] = [
            ("POST", r"/predict/([^/]+)", self.predict),
            ("POST", r"/batch/([^/]+)", self.create_job),
            ("GET", r"/jobs/([^/]+)", self.get_job),
            ("POST", r"/jobs/([^/]+)/cancel", self.cancel_job),
            ("GET", r"/models", self.list_models),
            ("GET", r"/models/([^/]+)", self.get_model),
            ("POST", r"/deployments", self.create_deployment),
            ("GET", r"/deployments", self.list_deployments),
            ("DELETE", r"/deployments/([^/]+)", self.delete_deployment),
            ("GET", r"/metrics/([^/]+)", self.get_metrics),
        ]
        return [
            Route(method, re.compile(pattern), self._wrap(method, handler))
            for method, pattern, handler in table
        ]

    def _wrap(
        self, method: str, handler: Callable[..., EmulatedResponse]
    ) -> Callable[[EmulatedRequest, re.Match[str]], EmulatedResponse]:
        def wrapped(request: EmulatedRequest, match: re.Match[str]) -> EmulatedResponse:
            category = (
                "inference"
                if request.path.startswith("/predict/")
                else ("read" if method == "GET" else "write")
            )
            allowed, headers = self._spend(category)
            if not allowed:
                with self._lock:
                    self.rate_limited += 1
                retry_after = max(1, math.ceil(float(headers["X-RateLimit-Reset"]) - self.clock()))
                headers["Retry-After"] = str(retry_after)
                return EmulatedResponse(
                    429,
                    error_body(
                        request,
                        "rate_limit_exceeded",
                        f"Too many {category} requests; retry after the window resets.",
                        {"category": category, "limit": int(headers["X-RateLimit-Limit"])},
                    ),
                    headers,
                )
            args = [unquote(group) for group in match.groups()]
            try:
                with self._lock:
                    response = handler(request, *args)
            except _APIError as fail:
                response = EmulatedResponse(
                    fail.status, error_body(request, fail.code, fail.message, fail.details)
                )
            response.headers.update(headers)
            return response

        return wrapped

    def authenticate(self, request: EmulatedRequest) -> EmulatedResponse | None:
        """HTTP Basic auth: the key is the user name, the password is ignored."""
        header = request.header("authorization") or ""
        challenge = {"WWW-Authenticate": 'Basic realm="FyreToolkit"'}
        if not header:
            return EmulatedResponse(
                401,
                error_body(
                    request,
                    "missing_api_key",
                    "No API key provided. Use HTTP Basic auth with your API key as the user name.",
                ),
                challenge,
            )
        scheme, _, value = header.partition(" ")
        user = None
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                user = None
        if user != self.api_key:
            return EmulatedResponse(
                401,
                error_body(request, "invalid_api_key", "Invalid API key provided."),
                challenge,
            )
        return None

    # -- rate limits -------------------------------------------------------

    def budget(self, category: str) -> int:
        """Requests per window for a category."""
        if self.rate_limit is not None:
            return self.rate_limit
        return DOCUMENTED_LIMITS[category]

    def _spend(self, category: str) -> tuple[bool, dict[str, str]]:
        limit = self.budget(category)
        with self._lock:
            now = self.clock()
            window = self._windows.get(category)
            if window is None or now >= window[0] + self.rate_window:
                window = [now, 0.0]
                self._windows[category] = window
            allowed = window[1] < limit
            if allowed:
                window[1] += 1
            remaining = max(0, limit - int(window[1]))
            reset = math.ceil(window[0] + self.rate_window)
        return allowed, {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }

    # -- helpers -----------------------------------------------------------

    @staticmethod
    def _body(request: EmulatedRequest) -> dict[str, Any]:
        if request.json_error:
            raise _APIError(400, "invalid_json", "The request body is not valid JSON.")
        if request.json is None:
            return {}
        if not isinstance(request.json, dict):
            raise _APIError(400, "invalid_request", "The request body must be a JSON object.")
        return request.json

    @staticmethod
    def _required(body: Mapping[str, Any], name: str) -> Any:
        if body.get(name) is None:
            raise _APIError(
                400, "parameter_missing", f"Missing required parameter: {name}.", {"param": name}
            )
        return body[name]

    def _idempotent(self, scope: str, body: Mapping[str, Any], fingerprint: str) -> str | None:
        """The id a previous request with this key created, if any."""
        key = body.get("idempotency_key")
        if key is None:
            return None
        if not isinstance(key, str) or not key or len(key) > 255:
            raise _APIError(
                400,
                "invalid_request",
                "idempotency_key must be a string of 1-255 characters.",
                {"param": "idempotency_key"},
            )
        previous = self._idempotency.get((scope, key))
        if previous is None:
            return None
        if previous[0] != fingerprint:
            raise _APIError(
                409,
                "idempotency_key_reused",
                "This idempotency key was already used with different parameters.",
                {"idempotency_key": key},
            )
        self.idempotent_replays += 1
        return previous[1]

    def _remember(
        self, scope: str, body: Mapping[str, Any], fingerprint: str, created: str
    ) -> None:
        key = body.get("idempotency_key")
        if isinstance(key, str):
            self._idempotency[(scope, key)] = (fingerprint, created)

    def _page(self, request: EmulatedRequest, items: list[dict[str, Any]]) -> EmulatedResponse:
        raw_limit = request.param("limit")
        limit = DEFAULT_PAGE
        if raw_limit is not None:
            try:
                limit = int(raw_limit)
            except ValueError:
                limit = -1
            if not 1 <= limit <= MAX_PAGE:
                raise _APIError(
                    400,
                    "invalid_limit",
                    f"limit must be an integer from 1 to {MAX_PAGE}.",
                    {"param": "limit", "max": MAX_PAGE},
                )
        start = 0
        cursor = request.param("starting_after")
        if cursor is not None:
            ids = [item["id"] for item in items]
            if cursor not in ids:
                raise _APIError(
                    400,
                    "invalid_cursor",
                    f"No object with id {cursor!r} to start after.",
                    {"param": "starting_after"},
                )
            start = ids.index(cursor) + 1
        data = items[start : start + limit]
        return EmulatedResponse(
            200, {"object": "list", "data": data, "has_more": start + limit < len(items)}
        )

    def _model(self, model_id: str) -> dict[str, Any]:
        model = self.models.get(model_id)
        if model is None:
            raise _APIError(
                404, "model_not_found", f"No model with id {model_id!r}.", {"model_id": model_id}
            )
        return model

    # -- predictions -------------------------------------------------------

    def predict(self, request: EmulatedRequest, model_id: str) -> EmulatedResponse:
        """``POST /predict/{model_id}``."""
        body = self._body(request)
        model = self._model(model_id)
        inputs = self._required(body, "inputs")
        if not isinstance(inputs, list) or not inputs:
            raise _APIError(
                400, "invalid_request", "inputs must be a non-empty array.", {"param": "inputs"}
            )
        if len(inputs) > MAX_INPUTS:
            raise _APIError(
                422,
                "too_many_inputs",
                f"At most {MAX_INPUTS} inputs per request.",
                {"param": "inputs"},
            )
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise _APIError(
                400, "invalid_request", "metadata must be an object.", {"param": "metadata"}
            )
        if model["status"] != "ready":
            raise _APIError(
                409,
                "model_not_ready",
                f"Model {model_id!r} is {model['status']}, not ready.",
                {"status": model["status"]},
            )
        texts: list[str] = []
        for index, item in enumerate(inputs):
            text = item.get("text") if isinstance(item, dict) else item
            if not isinstance(text, str):
                raise _APIError(
                    422,
                    "invalid_input",
                    f"inputs[{index}] must be a text or an object with a 'text' field.",
                    {"param": f"inputs[{index}]"},
                )
            texts.append(text)
        family = model["task"]
        results = [sentiment(t) if family == "sentiment" else classify(family, t) for t in texts]
        self.predictions += 1
        latency = round(2.0 + 0.8 * len(texts) + sum(len(t) for t in texts) / 200, 2)
        return EmulatedResponse(
            200,
            {
                "id": "pred_" + uuid.uuid4().hex[:24],
                "object": "prediction",
                "created": int(self.clock()),
                "model": model_id,
                "results": results,
                "usage": {"latency_ms": latency, "inputs": len(texts)},
                "metadata": metadata or {},
            },
        )

    # -- batch jobs --------------------------------------------------------

    def _job_view(self, job: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        elapsed = now - job["started"]
        total = job["total"]
        processed = 0
        output_url = None
        error = None
        if job["canceled_at"] is not None:
            status = "canceled"
            elapsed = job["canceled_at"] - job["started"]
            processed = self._processed(elapsed, total)
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

    def create_job(self, request: EmulatedRequest, model_id: str) -> EmulatedResponse:
        """``POST /batch/{model_id}``: 202 with a queued job."""
        body = self._body(request)
        input_url = self._required(body, "input_url")
        webhook = body.get("webhook")
        fingerprint = repr((model_id, input_url, webhook))
        replay = self._idempotent("batch", body, fingerprint)
        if replay is not None:
            return EmulatedResponse(202, self._job_view(self.jobs[replay]))
        model = self._model(model_id)
        if not isinstance(input_url, str) or not input_url.startswith(
            ("http://", "https://", "s3://", "gs://")
        ):
            raise _APIError(
                422,
                "invalid_input_url",
                "input_url must be an http(s), s3:// or gs:// URL of a CSV or JSONL file.",
                {"param": "input_url"},
            )
        if webhook is not None and (
            not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))
        ):
            raise _APIError(
                422, "invalid_webhook", "webhook must be an http(s) URL.", {"param": "webhook"}
            )
        if model["status"] != "ready":
            raise _APIError(
                409,
                "model_not_ready",
                f"Model {model_id!r} is {model['status']}, not ready.",
                {"status": model["status"]},
            )
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
        self._remember("batch", body, fingerprint, job_id)
        return EmulatedResponse(202, self._job_view(self.jobs[job_id]))

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise _APIError(
                404, "job_not_found", f"No batch job with id {job_id!r}.", {"job_id": job_id}
            )
        return job

    def get_job(self, request: EmulatedRequest, job_id: str) -> EmulatedResponse:
        """``GET /jobs/{job_id}``."""
        return EmulatedResponse(200, self._job_view(self._job(job_id)))

    def cancel_job(self, request: EmulatedRequest, job_id: str) -> EmulatedResponse:
        """``POST /jobs/{job_id}/cancel``: 409 once the job is final."""
        job = self._job(job_id)
        status = self._job_view(job)["status"]
        if status not in {"queued", "processing"}:
            raise _APIError(
                409,
                "job_not_cancelable",
                f"Batch job {job_id} is {status} and can no longer be canceled.",
                {"job_id": job_id, "status": status},
            )
        job["canceled_at"] = self.clock()
        if self.terse:
            return EmulatedResponse(202)
        return EmulatedResponse(200, self._job_view(job))

    # -- models ------------------------------------------------------------

    def list_models(self, request: EmulatedRequest) -> EmulatedResponse:
        """``GET /models`` with cursor pagination."""
        return self._page(request, list(self.models.values()))

    def get_model(self, request: EmulatedRequest, model_id: str) -> EmulatedResponse:
        """``GET /models/{model_id}``."""
        return EmulatedResponse(200, self._model(model_id))

    # -- deployments -------------------------------------------------------

    def _deployment_view(self, deployment: dict[str, Any]) -> dict[str, Any]:
        ready = self.clock() - deployment["started"] >= self.deployment_duration
        view = {k: v for k, v in deployment.items() if k != "started"}
        view["status"] = "active" if ready else "provisioning"
        return view

    def create_deployment(self, request: EmulatedRequest) -> EmulatedResponse:
        """``POST /deployments``: 201, or 422 for a bad model_uri/region/replicas."""
        body = self._body(request)
        model_uri = self._required(body, "model_uri")
        region = self._required(body, "region")
        replicas = body.get("replicas", 1)
        fingerprint = repr((model_uri, region, replicas))
        replay = self._idempotent("deployments", body, fingerprint)
        if replay is not None:
            return EmulatedResponse(201, self._deployment_view(self.deployments[replay]))
        if (
            not isinstance(model_uri, str)
            or not model_uri.startswith(MODEL_URI_SCHEMES)
            or model_uri.endswith("://")
        ):
            raise _APIError(
                422,
                "invalid_model_uri",
                "model_uri must be an s3://, gs:// or https:// URI of a model artifact.",
                {"field": "model_uri", "value": str(model_uri)[:200]},
            )
        if region not in REGIONS:
            raise _APIError(
                422,
                "invalid_region",
                f"Unknown region {region!r}.",
                {"field": "region", "allowed": list(REGIONS)},
            )
        if (
            isinstance(replicas, bool)
            or not isinstance(replicas, int)
            or not 1 <= replicas <= MAX_REPLICAS
        ):
            raise _APIError(
                422,
                "invalid_replicas",
                f"replicas must be an integer from 1 to {MAX_REPLICAS}.",
                {"field": "replicas", "min": 1, "max": MAX_REPLICAS},
            )
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
        self._remember("deployments", body, fingerprint, deployment_id)
        view = self._deployment_view(self.deployments[deployment_id])
        if self.terse:
            view = {"id": view["id"], "status": view.get("status")}
        return EmulatedResponse(201, view)

    def list_deployments(self, request: EmulatedRequest) -> EmulatedResponse:
        """``GET /deployments``: active deployments, paginated."""
        return self._page(request, [self._deployment_view(d) for d in self.deployments.values()])

    def _deployment(self, deployment_id: str) -> dict[str, Any]:
        deployment = self.deployments.get(deployment_id)
        if deployment is None:
            raise _APIError(
                404,
                "deployment_not_found",
                f"No deployment with id {deployment_id!r}.",
                {"deployment_id": deployment_id},
            )
        return deployment

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
            raise _APIError(
                400,
                "invalid_period",
                f"period must be one of {', '.join(PERIODS)}.",
                {"param": "period"},
            )
        hours = PERIODS[period]
        seed = zlib.crc32(deployment_id.encode())
        requests = int((1000 + seed % 4000) * hours)
        errors = int(requests * ((seed >> 8) % 20) / 1000)
        p50 = 20 + (seed >> 4) % 40
        return EmulatedResponse(
            200,
            {
                "object": "metrics",
                "deployment_id": deployment_id,
                "period": period,
                "metrics": {
                    "requests": requests,
                    "errors": {"4xx": errors // 2, "5xx": errors - errors // 2}
                    if self.terse
                    else errors,
                    "error_rate": round(errors / requests, 4) if requests else 0.0,
                    "throughput_rps": round(requests / (hours * 3600), 3),
                    "latency_ms": {
                        "p50": float(p50),
                        "p95": float(p50 * 2.5),
                        "p99": float(p50 * 4),
                    },
                },
            },
        )
