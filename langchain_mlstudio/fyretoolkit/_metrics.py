"""Metrics of the FyreToolkit API: ``GET /metrics/{deployment_id}``.

:class:`Metrics` is the section of
:class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` that reads a
deployment's requests, errors and latency.
"""

from __future__ import annotations

from langchain_mlstudio._core._calls import Call
from langchain_mlstudio.fyretoolkit._checks import segment
from langchain_mlstudio.fyretoolkit._endpoints import Endpoints
from langchain_mlstudio.fyretoolkit._reading import reader
from langchain_mlstudio.fyretoolkit.types import Metrics

__all__ = ["MetricsEndpoints"]


class MetricsEndpoints(Endpoints):
    """The metrics endpoint; a section of :class:`FyreToolkitClient`."""

    @staticmethod
    def _get_metrics_call(deployment_id: str, period: str | None) -> Call[Metrics]:
        params = {"period": period} if period is not None else None
        path = f"/metrics/{segment(deployment_id, 'deployment_id')}"
        return Call("GET", path, reader(Metrics, f"GET {path}"), params=params)

    def get_metrics(self, deployment_id: str, *, period: str | None = None) -> Metrics:
        """Requests, errors and latency of a deployment.

        Args:
            deployment_id: The deployment.
            period: The time window (e.g. ``"1h"``, ``"24h"``); the server's
                default when omitted.

        Example::

            client.get_metrics(dep.id).metrics["latency_ms"]
        """
        return self._transport.call(self._get_metrics_call(deployment_id, period))

    async def aget_metrics(self, deployment_id: str, *, period: str | None = None) -> Metrics:
        """Async twin of :meth:`get_metrics`."""
        return await self._transport.acall(self._get_metrics_call(deployment_id, period))
