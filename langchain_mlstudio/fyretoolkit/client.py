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
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx
from pydantic import SecretStr

from langchain_mlstudio._core._http import HTTPTransport
from langchain_mlstudio._core._polling import PollSchedule
from langchain_mlstudio.fyretoolkit._batch_jobs import BatchJobEndpoints
from langchain_mlstudio.fyretoolkit._deployments import DeploymentEndpoints
from langchain_mlstudio.fyretoolkit._metrics import MetricsEndpoints
from langchain_mlstudio.fyretoolkit._models import ModelEndpoints
from langchain_mlstudio.fyretoolkit._predictions import PredictionEndpoints
from langchain_mlstudio.fyretoolkit._ratelimit import (
    DEFAULT_MAX_WAIT,
    FyreToolkitRetryPolicy,
    RateLimitGate,
)
from langchain_mlstudio.fyretoolkit._service import FYRETOOLKIT
from langchain_mlstudio.fyretoolkit.types import RateLimitInfo

__all__ = ["FyreToolkitClient"]


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
        settings = FYRETOOLKIT.settings(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            http_async_client=http_async_client,
        )
        self._api_key = settings.api_key
        self.poll_schedule = poll_schedule or PollSchedule(
            initial_interval=0.25, max_interval=5.0, multiplier=1.2
        )
        self._gate = RateLimitGate(
            max_wait=max_rate_limit_wait, clock=clock, sleep=sleep, asleep=asleep
        )
        self._transport = HTTPTransport(
            settings,
            self._auth_headers,
            gate=self._gate,
            retry=FyreToolkitRetryPolicy(max_retries=settings.max_retries),
            sleep=sleep,
            asleep=asleep,
        )

    # -- plumbing ----------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        key = FYRETOOLKIT.key_of(self._api_key)
        token = base64.b64encode(f"{key}:".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def __repr__(self) -> str:
        return f"FyreToolkitClient(base_url={self.base_url!r})"

    @property
    def transport(self) -> HTTPTransport:
        """The HTTP transport every call of this client is sent through."""
        return self._transport

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
