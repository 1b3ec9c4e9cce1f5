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

import asyncio
import base64
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import httpx
from pydantic import BaseModel, SecretStr

from langchain_mlstudio._core._http import APIResponse, HTTPTransport
from langchain_mlstudio._core._polling import (
    PollSchedule,
)
from langchain_mlstudio._core._settings import require
from langchain_mlstudio.errors import (
    ConfigurationError,
    MalformedResponseError,
    MLStudioError,
)
from langchain_mlstudio.fyretoolkit._batch_jobs import DEFAULT_JOB_TIMEOUT, BatchJobEndpoints
from langchain_mlstudio.fyretoolkit._deployments import DeploymentEndpoints
from langchain_mlstudio.fyretoolkit._metrics import MetricsEndpoints
from langchain_mlstudio.fyretoolkit._models import ModelEndpoints
from langchain_mlstudio.fyretoolkit._predictions import PredictionEndpoints
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
    Spec,
    bodiless_success,
    new_idempotency_key,
    split_credentials,
)
from langchain_mlstudio.fyretoolkit.types import (
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


class FyreToolkitClient(
    PredictionEndpoints,
    BatchJobEndpoints,
    ModelEndpoints,
    DeploymentEndpoints,
    MetricsEndpoints,
):
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
        clock: The current Unix time, which rate-limit resets are compared with.
        sleep: How sync calls wait (retry backoff, polling, rate limits).
        asleep: How async calls wait; never blocks the event loop.

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
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
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
        self._gate = RateLimitGate(
            max_wait=max_rate_limit_wait, clock=clock, sleep=sleep, asleep=asleep
        )
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
        self._transport._sleep = sleep
        self._transport._asleep = asleep

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
