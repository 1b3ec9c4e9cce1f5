"""Models of the FyreToolkit API: ``GET /models`` and ``GET /models/{model_id}``.

:class:`Models` is the section of
:class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` that lists the
organization's models and reads one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from langchain_mlstudio._core._calls import Call
from langchain_mlstudio.fyretoolkit._checks import segment
from langchain_mlstudio.fyretoolkit._paging import DEFAULT_PAGE_SIZE, Paging
from langchain_mlstudio.fyretoolkit._reading import reader
from langchain_mlstudio.fyretoolkit.types import ListPage, Model

__all__ = ["ModelEndpoints"]


class ModelEndpoints(Paging):
    """The model endpoints; a section of :class:`FyreToolkitClient`."""

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
        return self._transport.call(self._page("/models", Model, limit, starting_after))

    async def aget_models_page(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> ListPage[Model]:
        """Async twin of :meth:`get_models_page`."""
        return await self._transport.acall(self._page("/models", Model, limit, starting_after))

    @staticmethod
    def _get_model_call(model_id: str) -> Call[Model]:
        path = f"/models/{segment(model_id, 'model_id')}"
        return Call("GET", path, reader(Model, f"GET {path}"))

    def get_model(self, model_id: str) -> Model:
        """One model's status and description.

        Raises:
            NotFoundError: No such model (``code="model_not_found"``).

        Example::

            client.get_model("sentiment-v1").status  # 'ready'
        """
        return self._transport.call(self._get_model_call(model_id))

    async def aget_model(self, model_id: str) -> Model:
        """Async twin of :meth:`get_model`."""
        return await self._transport.acall(self._get_model_call(model_id))
