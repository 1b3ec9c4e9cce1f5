"""Deployments of the FyreToolkit API: create, list and delete.

:class:`DeploymentEndpoints` is the section of
:class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` that runs
``POST /deployments``, ``GET /deployments`` and
``DELETE /deployments/{deployment_id}``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

from langchain_mlstudio._core._calls import AlreadyDone, Call
from langchain_mlstudio.errors import InvalidInputError, NotFoundError
from langchain_mlstudio.fyretoolkit._checks import new_idempotency_key, segment
from langchain_mlstudio.fyretoolkit._paging import DEFAULT_PAGE_SIZE, Paging
from langchain_mlstudio.fyretoolkit._reading import lenient, reader
from langchain_mlstudio.fyretoolkit.types import DeletedDeployment, Deployment, ListPage

__all__ = ["DeploymentEndpoints"]

logger = logging.getLogger("langchain_mlstudio.fyretoolkit")


class DeploymentEndpoints(Paging):
    """The deployment endpoints; a section of :class:`FyreToolkitClient`."""

    @staticmethod
    def _create_deployment_call(
        model_uri: str,
        region: str,
        replicas: int,
        idempotency_key: str | None,
    ) -> Call[Deployment]:
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            msg = f"replicas must be an integer, got {replicas!r}"
            raise InvalidInputError(msg)
        body = {
            "model_uri": model_uri,
            "region": region,
            "replicas": replicas,
            "idempotency_key": idempotency_key or new_idempotency_key(),
        }
        return Call(
            "POST",
            "/deployments",
            reader(Deployment, "POST /deployments"),
            json_body=body,
            # IDEMPOTENT (the default): the key makes a repeat return the same deployment.
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
        call = self._create_deployment_call(model_uri, region, replicas, idempotency_key)
        return self._transport.call(call)

    async def acreate_deployment(
        self,
        model_uri: str,
        region: str,
        replicas: int = 1,
        *,
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Async twin of :meth:`create_deployment`."""
        call = self._create_deployment_call(model_uri, region, replicas, idempotency_key)
        return await self._transport.acall(call)

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
        return self._transport.call(self._page("/deployments", Deployment, limit, starting_after))

    async def aget_deployments_page(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> ListPage[Deployment]:
        """Async twin of :meth:`get_deployments_page`."""
        return await self._transport.acall(
            self._page("/deployments", Deployment, limit, starting_after)
        )

    @staticmethod
    def _delete_deployment_call(deployment_id: str) -> Call[DeletedDeployment]:
        path = f"/deployments/{segment(deployment_id, 'deployment_id')}"
        deleted = {"id": deployment_id, "deleted": True}
        return Call(
            "DELETE",
            path,
            # Undocumented answer: 200, 202 or 204, with any body or none.
            lenient(DeletedDeployment, deleted, f"DELETE {path}"),
            any_body=True,
            already_done=AlreadyDone(
                NotFoundError,
                lambda _state: DeletedDeployment(id=deployment_id, deleted=True),
                note=f"Deployment {deployment_id} was deleted by an earlier attempt",
                logger=logger,
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
        return self._transport.call(self._delete_deployment_call(deployment_id))

    async def adelete_deployment(self, deployment_id: str) -> DeletedDeployment:
        """Async twin of :meth:`delete_deployment`."""
        return await self._transport.acall(self._delete_deployment_call(deployment_id))
