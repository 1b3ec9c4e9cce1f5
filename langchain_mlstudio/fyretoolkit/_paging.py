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

from langchain_mlstudio._core._calls import Call
from langchain_mlstudio.errors import InvalidInputError, MalformedResponseError
from langchain_mlstudio.fyretoolkit._endpoints import Endpoints
from langchain_mlstudio.fyretoolkit._reading import reader
from langchain_mlstudio.fyretoolkit.types import ListPage

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Paging", "check_limit", "next_cursor"]

#: The most records one list request may ask for.
MAX_PAGE_SIZE = 100
#: Records per page unless the caller says otherwise.
DEFAULT_PAGE_SIZE = 20

R = TypeVar("R", bound=BaseModel)


class Paging(Endpoints):
    """The list endpoints' paging; a base of the sections that list records."""

    @staticmethod
    def _page(path: str, cls: type[R], limit: int, starting_after: str | None) -> Call[ListPage[R]]:
        """The call that reads one page of ``path``, checked before anything is sent."""
        params: dict[str, Any] = {"limit": check_limit(limit)}
        if starting_after is not None:
            params["starting_after"] = starting_after
        page = ListPage[cls]  # type: ignore[valid-type]
        return Call("GET", path, reader(page, f"GET {path}"), params=params)

    def _iterate(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> Iterator[R]:
        """Every record of ``path``, one page per request as the iterator is consumed."""
        check_limit(limit)

        def records() -> Iterator[R]:
            cursor = starting_after
            while True:
                call = self._page(path, cls, limit, cursor)
                page = self._transport.call(call)
                yield from page.data
                cursor = next_cursor(page, cursor, call.what)
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
                call = self._page(path, cls, limit, cursor)
                page = await self._transport.acall(call)
                for record in page.data:
                    yield record
                cursor = next_cursor(page, cursor, call.what)
                if cursor is None:
                    return

        return records()


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        msg = f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, got {limit!r}"
        raise InvalidInputError(msg)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        msg = f"limit must be from 1 to {MAX_PAGE_SIZE}, got {limit}"
        raise InvalidInputError(msg, hint="FyreToolkit returns at most 100 records per page.")
    return limit


def next_cursor(page: ListPage[Any], previous: str | None, what: str) -> str | None:
    """The cursor of the next page, or ``None`` after the last one.

    A page that claims more but holds nothing, or repeats the previous cursor,
    is a malformed answer rather than an endless loop.
    """
    if not page.has_more:
        return None
    if not page.data:
        msg = f"FyreToolkit answered {what} with has_more=true but no records"
        raise MalformedResponseError(msg)
    cursor = getattr(page.data[-1], "id", None)
    if cursor == previous:
        msg = f"FyreToolkit answered {what} with the same page twice (cursor {cursor!r})"
        raise MalformedResponseError(msg)
    return str(cursor)
