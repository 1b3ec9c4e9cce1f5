"""The FyreToolkit API: real-time predictions, batch jobs, models, deployments.

:class:`FyreToolkitClient` covers every endpoint of the FyreToolkit reference,
sync and async (async twins carry an ``a`` prefix), on the package's shared
HTTP layer: typed errors from FyreToolkit's ``{"error": {...}}`` schema,
retries of what is safe to retry, idempotency keys on creating calls, and the
``X-RateLimit-*`` budget honoured before a request is sent.

Example::

    from langchain_mlstudio import FyreToolkitClient

    client = FyreToolkitClient(api_key="sk_live_demo_12345",
                               base_url="http://127.0.0.1:8765")
    prediction = client.predict("sentiment-v1", ["I love it"])
    print(prediction.results[0])
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr

from langchain_mlstudio._core._calls import APIResponse
from langchain_mlstudio._core._http import HTTPTransport
from langchain_mlstudio._core._polling import (
    PollSchedule,
)
from langchain_mlstudio._core._retry import Safety
from langchain_mlstudio._core._settings import require
from langchain_mlstudio.errors import (
    ConfigurationError,
    InvalidInputError,
    MalformedResponseError,
    MLStudioError,
    NotFoundError,
)
from langchain_mlstudio.fyretoolkit._jobs import DEFAULT_JOB_TIMEOUT, BatchJobs
from langchain_mlstudio.fyretoolkit._ratelimit import (
    DEFAULT_MAX_WAIT,
    FyreToolkitRetryPolicy,
    RateLimitGate,
    category_of,
)
from langchain_mlstudio.fyretoolkit._spec import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    SERVICE,
    STATUS_HINTS,
    Recovery,
    Spec,
    bodiless_success,
    check_inputs,
    check_limit,
    lenient,
    new_idempotency_key,
    next_cursor,
    reader,
    segment,
    split_credentials,
)
from langchain_mlstudio.fyretoolkit.types import (
    DeletedDeployment,
    Deployment,
    ListPage,
    Metrics,
    Model,
    Prediction,
    RateLimitInfo,
)

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_JOB_TIMEOUT",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "FyreToolkitClient",
    "new_idempotency_key",
]

logger = logging.getLogger("langchain_mlstudio.fyretoolkit")

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)


class FyreToolkitClient(BatchJobs):
    """A typed client of the FyreToolkit API.

    Args:
        api_key: The API key (sent as the Basic-auth user name). Defaults to
            the ``FYRETOOLKIT_API_KEY`` environment variable.
        base_url: The API's base URL. Defaults to ``FYRETOOLKIT_BASE_URL``;
            FyreToolkit has no public default host, so one of them is required.
        timeout: Seconds one HTTP request may take.
        max_retries: How many times a failed request is retried where safe.
        default_headers: Headers merged into every request.
        http_client: An ``httpx.Client`` to send through (e.g. for proxies).
        http_async_client: An ``httpx.AsyncClient`` for the async methods.
        poll_schedule: When :meth:`wait_for_job` checks a job's status.
        max_rate_limit_wait: The most one call waits for rate limits in total
            (all its attempts); a call that would need longer raises
            :class:`~langchain_mlstudio.RateLimitError` with ``retry_after``.

    Raises:
        ConfigurationError: No API key or base URL (naming the variable).

    Example:
        >>> client = FyreToolkitClient(api_key="k", base_url="http://127.0.0.1:1")
        >>> client
        FyreToolkitClient(base_url='http://127.0.0.1:1')
        >>> client.last_rate_limit is None
        True
    """

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        poll_schedule: PollSchedule | None = None,
        max_rate_limit_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        url, url_key = split_credentials(base_url or os.environ.get(BASE_URL_ENV) or None)
        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV) or url_key
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key or "")
        require(key, setting="api_key", env_var=API_KEY_ENV, service=SERVICE)
        if not url:
            msg = f"No base_url for {SERVICE}"
            raise ConfigurationError(
                msg,
                hint=(
                    f"FyreToolkit has no public default host: pass base_url=... "
                    f"or set the {BASE_URL_ENV} environment variable."
                ),
            )
        if not url.startswith(("http://", "https://")):
            msg = f"{SERVICE} base_url must start with http:// or https://, got {url[:8]!r}..."
            raise ConfigurationError(msg)
        if max_retries < 0:
            msg = f"max_retries must be >= 0, got {max_retries}"
            raise ConfigurationError(msg)
        self._api_key = key
        self.poll_schedule = poll_schedule or PollSchedule(
            initial_interval=0.25, max_interval=5.0, multiplier=1.2
        )
        self._gate = RateLimitGate(max_wait=max_rate_limit_wait)
        self._transport = HTTPTransport(
            SERVICE,
            url,
            self._auth_headers,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            http_async_client=http_async_client,
            gate=self._gate,
            status_hints=STATUS_HINTS,
            retry=FyreToolkitRetryPolicy(max_retries=max_retries),
        )

    # -- plumbing ----------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self._api_key.get_secret_value()}:".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def __repr__(self) -> str:
        return f"FyreToolkitClient(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._transport.base_url

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried where safe."""
        return self._transport.retry.max_retries

    @property
    def timeout(self) -> float | None:
        """Seconds one HTTP request may take."""
        return self._transport.timeout

    @property
    def last_rate_limit(self) -> RateLimitInfo | None:
        """The latest ``X-RateLimit-*`` headers seen (``None`` before any)."""
        return self._gate.last

    @property
    def rate_limits(self) -> dict[str, RateLimitInfo]:
        """The latest ``X-RateLimit-*`` headers per budget (read/write/inference)."""
        return self._gate.by_category

    def close(self) -> None:
        """Close the HTTP client the instance created (not an injected one)."""
        self._transport.close()

    async def aclose(self) -> None:
        """Close the async HTTP client of the running loop, if the instance made it."""
        await self._transport.aclose()

    def __enter__(self) -> FyreToolkitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> FyreToolkitClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _run(self, spec: Spec[T]) -> T:
        with self._gate.scope(category_of(spec.method, spec.path)) as call:
            try:
                response = self._transport.request(
                    spec.method,
                    spec.path,
                    json_body=spec.json_body,
                    params=spec.params,
                    headers=spec.headers,
                    safety=spec.safety,
                )
            except MalformedResponseError as error:
                if not bodiless_success(spec, error):
                    raise
                response = APIResponse(error.status_code or 200, httpx.Headers(), None)
            except MLStudioError as error:
                recovery = spec.recovery
                if recovery is None or not recovery.applies(error, call.attempts):
                    raise
                state = None if recovery.confirm is None else self._run(recovery.confirm)
                return recovery.settle(error, state)
        return spec.result(response, spec.what)

    async def _arun(self, spec: Spec[T]) -> T:
        with self._gate.scope(category_of(spec.method, spec.path)) as call:
            try:
                response = await self._transport.arequest(
                    spec.method,
                    spec.path,
                    json_body=spec.json_body,
                    params=spec.params,
                    headers=spec.headers,
                    safety=spec.safety,
                )
            except MalformedResponseError as error:
                if not bodiless_success(spec, error):
                    raise
                response = APIResponse(error.status_code or 200, httpx.Headers(), None)
            except MLStudioError as error:
                recovery = spec.recovery
                if recovery is None or not recovery.applies(error, call.attempts):
                    raise
                state = None if recovery.confirm is None else await self._arun(recovery.confirm)
                return recovery.settle(error, state)
        return spec.result(response, spec.what)

    # -- predictions -------------------------------------------------------

    def _predict_spec(
        self,
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None,
    ) -> Spec[Prediction]:
        body: dict[str, Any] = {"inputs": check_inputs(inputs)}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return Spec(
            "POST",
            f"/predict/{segment(model_id, 'model_id')}",
            reader(Prediction),
            json_body=body,
            # A prediction changes nothing on the server: safe to repeat.
            safety=Safety.IDEMPOTENT,
        )

    def predict(
        self,
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Run a real-time prediction: one result per input.

        Args:
            model_id: The deployed model's id.
            inputs: Texts or JSON objects, as the model expects.
            metadata: Optional metadata (``correlation_id``, ``user_id``, ...).

        Raises:
            InvalidInputError: ``inputs`` is empty or not a list (nothing sent).
            NotFoundError: The model does not exist.
            MLStudioError: Any other failure.

        Example::

            prediction = client.predict("sentiment-v1", ["great product"])
            prediction.results[0]["label"]  # 'positive'
        """
        return self._run(self._predict_spec(model_id, inputs, metadata))

    async def apredict(
        self,
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Async twin of :meth:`predict`."""
        return await self._arun(self._predict_spec(model_id, inputs, metadata))

    # -- models ------------------------------------------------------------

    def _page_spec(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> Spec[ListPage[R]]:
        params: dict[str, Any] = {"limit": check_limit(limit)}
        if starting_after is not None:
            params["starting_after"] = starting_after
        return Spec("GET", path, reader(ListPage[cls]), params=params)  # type: ignore[valid-type]

    def _iterate(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> Iterator[R]:
        check_limit(limit)

        def pages() -> Iterator[R]:
            cursor = starting_after
            while True:
                spec = self._page_spec(path, cls, limit, cursor)
                page = self._run(spec)
                yield from page.data
                cursor = next_cursor(page, cursor, spec.what)
                if cursor is None:
                    return

        return pages()

    def _aiterate(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> AsyncIterator[R]:
        check_limit(limit)

        async def pages() -> AsyncIterator[R]:
            cursor = starting_after
            while True:
                spec = self._page_spec(path, cls, limit, cursor)
                page = await self._arun(spec)
                for item in page.data:
                    yield item
                cursor = next_cursor(page, cursor, spec.what)
                if cursor is None:
                    return

        return pages()

    def list_models(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> Iterator[Model]:
        """Every model of the organization, fetched page by page.

        Follows ``starting_after`` until ``has_more`` is false; pages are
        fetched lazily as the iterator is consumed.

        Args:
            limit: Records per page, 1 to 100 (checked before any request).
            starting_after: Start after this model id.

        Raises:
            InvalidInputError: ``limit`` is out of range.

        Example::

            ids = [model.id for model in client.list_models(limit=100)]
        """
        return self._iterate("/models", Model, limit, starting_after)

    def alist_models(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> AsyncIterator[Model]:
        """Async twin of :meth:`list_models`: ``async for model in client.alist_models()``."""
        return self._aiterate("/models", Model, limit, starting_after)

    def get_models_page(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> ListPage[Model]:
        """One page of models, with ``has_more`` (for callers that page themselves).

        Example::

            page = client.get_models_page(limit=5)
            page.has_more
        """
        return self._run(self._page_spec("/models", Model, limit, starting_after))

    async def aget_models_page(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> ListPage[Model]:
        """Async twin of :meth:`get_models_page`."""
        return await self._arun(self._page_spec("/models", Model, limit, starting_after))

    def _get_model_spec(self, model_id: str) -> Spec[Model]:
        return Spec("GET", f"/models/{segment(model_id, 'model_id')}", reader(Model))

    def get_model(self, model_id: str) -> Model:
        """One model's status and description.

        Raises:
            NotFoundError: No such model (``code="model_not_found"``).

        Example::

            client.get_model("sentiment-v1").status  # 'ready'
        """
        return self._run(self._get_model_spec(model_id))

    async def aget_model(self, model_id: str) -> Model:
        """Async twin of :meth:`get_model`."""
        return await self._arun(self._get_model_spec(model_id))

    # -- deployments -------------------------------------------------------

    def _create_deployment_spec(
        self,
        model_uri: str,
        region: str,
        replicas: int,
        idempotency_key: str | None,
    ) -> Spec[Deployment]:
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            msg = f"replicas must be an integer, got {replicas!r}"
            raise InvalidInputError(msg)
        body = {
            "model_uri": model_uri,
            "region": region,
            "replicas": replicas,
            "idempotency_key": idempotency_key or new_idempotency_key(),
        }
        return Spec(
            "POST",
            "/deployments",
            reader(Deployment),
            json_body=body,
            # The idempotency key makes a repeated POST return the same deployment.
            safety=Safety.IDEMPOTENT,
        )

    def create_deployment(
        self,
        model_uri: str,
        region: str,
        replicas: int = 1,
        *,
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Deploy a model artifact to a region.

        Carries an idempotency key (fresh unless given, reused on retries), so
        a retried call never provisions two deployments.

        Raises:
            UnprocessableEntityError: A bad ``model_uri``, ``region`` or
                ``replicas`` (HTTP 422; ``details`` names the field).

        Example::

            dep = client.create_deployment("s3://models/sentiment", "eu-west-1")
        """
        return self._run(self._create_deployment_spec(model_uri, region, replicas, idempotency_key))

    async def acreate_deployment(
        self,
        model_uri: str,
        region: str,
        replicas: int = 1,
        *,
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Async twin of :meth:`create_deployment`."""
        return await self._arun(
            self._create_deployment_spec(model_uri, region, replicas, idempotency_key)
        )

    def list_deployments(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> Iterator[Deployment]:
        """Every active deployment, fetched page by page.

        Example::

            regions = {dep.region for dep in client.list_deployments()}
        """
        return self._iterate("/deployments", Deployment, limit, starting_after)

    def alist_deployments(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> AsyncIterator[Deployment]:
        """Async twin of :meth:`list_deployments`."""
        return self._aiterate("/deployments", Deployment, limit, starting_after)

    def get_deployments_page(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> ListPage[Deployment]:
        """One page of deployments, with ``has_more`` (for callers that page themselves).

        Example::

            page = client.get_deployments_page(limit=10)
            page.data[-1].id if page.has_more else None  # the next starting_after
        """
        return self._run(self._page_spec("/deployments", Deployment, limit, starting_after))

    async def aget_deployments_page(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> ListPage[Deployment]:
        """Async twin of :meth:`get_deployments_page`."""
        return await self._arun(self._page_spec("/deployments", Deployment, limit, starting_after))

    def _delete_spec(self, deployment_id: str) -> Spec[DeletedDeployment]:
        return Spec(
            "DELETE",
            f"/deployments/{segment(deployment_id, 'deployment_id')}",
            # Undocumented answer: 200, 202 or 204, with any body or none.
            lenient(DeletedDeployment, {"id": deployment_id, "deleted": True}),
            any_body=True,
            safety=Safety.IDEMPOTENT,
            recovery=Recovery(
                NotFoundError,
                lambda _state: DeletedDeployment(id=deployment_id, deleted=True),
                note=f"Deployment {deployment_id} was deleted by an earlier attempt",
            ),
        )

    def delete_deployment(self, deployment_id: str) -> DeletedDeployment:
        """Remove a deployment and stop serving traffic (artifacts are kept).

        A DELETE is retried after a dropped connection. If the first attempt
        had already deleted the deployment, the retry meets a 404; the client
        then reports the deletion as done. A 404 on the first attempt is
        raised as :class:`~langchain_mlstudio.NotFoundError`.

        Example::

            client.delete_deployment(dep.id).deleted  # True
        """
        return self._run(self._delete_spec(deployment_id))

    async def adelete_deployment(self, deployment_id: str) -> DeletedDeployment:
        """Async twin of :meth:`delete_deployment`."""
        return await self._arun(self._delete_spec(deployment_id))

    # -- metrics -----------------------------------------------------------

    def _metrics_spec(self, deployment_id: str, period: str | None) -> Spec[Metrics]:
        params = {"period": period} if period is not None else None
        return Spec(
            "GET",
            f"/metrics/{segment(deployment_id, 'deployment_id')}",
            reader(Metrics),
            params=params,
        )

    def get_metrics(self, deployment_id: str, *, period: str | None = None) -> Metrics:
        """Requests, errors and latency of a deployment.

        Args:
            deployment_id: The deployment.
            period: The time window (e.g. ``"1h"``, ``"24h"``); the server's
                default when omitted.

        Example::

            client.get_metrics(dep.id).metrics["latency_ms"]
        """
        return self._run(self._metrics_spec(deployment_id, period))

    async def aget_metrics(self, deployment_id: str, *, period: str | None = None) -> Metrics:
        """Async twin of :meth:`get_metrics`."""
        return await self._arun(self._metrics_spec(deployment_id, period))
