"""What every section of :class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` shares.

The client is put together from one class per section of the FyreToolkit
reference (predictions, batch jobs, models, deployments, metrics); each
section builds the :class:`~langchain_mlstudio.fyretoolkit._spec.Spec` of its
endpoints and runs it with :meth:`Endpoints._run` / :meth:`Endpoints._arun`,
which the client implements once.
"""

from __future__ import annotations

from typing import TypeVar

from langchain_mlstudio.fyretoolkit._spec import Spec

__all__ = ["Endpoints"]

T = TypeVar("T")


class Endpoints:
    """Base of the client's sections: how a section sends one call.

    Example:
        >>> from langchain_mlstudio import FyreToolkitClient
        >>> [cls.__name__ for cls in FyreToolkitClient.__bases__]
        ... # doctest: +NORMALIZE_WHITESPACE
        ['PredictionEndpoints', 'BatchJobEndpoints', 'ModelEndpoints', 'DeploymentEndpoints',
         'MetricsEndpoints']
    """

    def _run(self, spec: Spec[T]) -> T:
        raise NotImplementedError

    async def _arun(self, spec: Spec[T]) -> T:
        raise NotImplementedError
