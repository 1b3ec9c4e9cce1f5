"""Cursor paging, the one way every FyreToolkit list is read.

``GET /models`` and ``GET /deployments`` answer the same page
(:class:`~langchain_mlstudio.fyretoolkit.ListPage`: ``data`` and
``has_more``; the next page starts after the last record's id). A section
that lists something gets both reading styles from :class:`Paging`: one page
(:meth:`Paging._page`) and every record, fetched lazily page by page
(:meth:`Paging._iterate` and its async twin).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel

from langchain_mlstudio.fyretoolkit._endpoints import Endpoints
from langchain_mlstudio.fyretoolkit._reading import reader
from langchain_mlstudio.fyretoolkit._spec import Spec, check_limit, next_cursor
from langchain_mlstudio.fyretoolkit.types import ListPage

__all__ = ["Paging"]

R = TypeVar("R", bound=BaseModel)


class Paging(Endpoints):
    """The list endpoints' paging; a base of the sections that list records."""

    @staticmethod
    def _page(path: str, cls: type[R], limit: int, starting_after: str | None) -> Spec[ListPage[R]]:
        """The call that reads one page of ``path``, checked before anything is sent."""
        params: dict[str, Any] = {"limit": check_limit(limit)}
        if starting_after is not None:
            params["starting_after"] = starting_after
        return Spec("GET", path, reader(ListPage[cls]), params=params)  # type: ignore[valid-type]

    def _iterate(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> Iterator[R]:
        """Every record of ``path``, one page per request as the iterator is consumed."""
        check_limit(limit)

        def records() -> Iterator[R]:
            cursor = starting_after
            while True:
                spec = self._page(path, cls, limit, cursor)
                page = self._run(spec)
                yield from page.data
                cursor = next_cursor(page, cursor, spec.what)
                if cursor is None:
                    return

        return records()

    def _aiterate(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> AsyncIterator[R]:
        """Async twin of :meth:`_iterate`."""
        check_limit(limit)

        async def records() -> AsyncIterator[R]:
            cursor = starting_after
            while True:
                spec = self._page(path, cls, limit, cursor)
                page = await self._arun(spec)
                for record in page.data:
                    yield record
                cursor = next_cursor(page, cursor, spec.what)
                if cursor is None:
                    return

        return records()
