"""What every section of :class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` shares.

The client is put together from one class per section of the FyreToolkit
reference (predictions, batch jobs, models, deployments, metrics); each
section describes its endpoints as
:class:`~langchain_mlstudio._core._calls.Call` records and sends them
through the client's one transport.
"""

from __future__ import annotations

from langchain_mlstudio._core._http import HTTPTransport

__all__ = ["Endpoints"]


class Endpoints:
    """Base of the client's sections: the transport every section sends through.

    Example:
        >>> from langchain_mlstudio import FyreToolkitClient
        >>> [cls.__name__ for cls in FyreToolkitClient.__bases__]
        ... # doctest: +NORMALIZE_WHITESPACE
        ['PredictionEndpoints', 'BatchJobEndpoints', 'ModelEndpoints', 'DeploymentEndpoints',
         'MetricsEndpoints']
    """

    _transport: HTTPTransport
