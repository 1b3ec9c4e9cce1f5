"""How the FyreToolkit client reads an answer: into a typed result, or a clear error.

:func:`parse` validates a body as one of the result types of
:mod:`~langchain_mlstudio.fyretoolkit.types`; :func:`reader` and
:func:`lenient` turn a whole response into one, for documented and
undocumented answers respectively.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from langchain_mlstudio._core._calls import APIResponse
from langchain_mlstudio._core._errors import describe_validation_error
from langchain_mlstudio.errors import MalformedResponseError

__all__ = ["lenient", "parse", "reader"]

logger = logging.getLogger("langchain_mlstudio.fyretoolkit")

R = TypeVar("R", bound=BaseModel)


def parse(
    cls: type[R],
    data: Any,
    *,
    what: str,
    status_code: int | None = None,
    request_id: str | None = None,
) -> R:
    """Validate ``data`` as ``cls``, or raise :class:`MalformedResponseError`.

    Example:
        >>> from langchain_mlstudio.fyretoolkit.types import Model
        >>> parse(Model, {"id": "m", "status": "ready"}, what="GET /models/m").id
        'm'
    """
    if not isinstance(data, dict):
        msg = (
            f"FyreToolkit answered {what} with a {type(data).__name__}, not a {cls.__name__} object"
        )
        raise MalformedResponseError(msg, status_code=status_code, request_id=request_id)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        msg = f"FyreToolkit answered {what} with a {cls.__name__} of the wrong shape ({problems})"
        raise MalformedResponseError(msg, status_code=status_code, request_id=request_id) from None


def reader(cls: type[R], what: str) -> Callable[[APIResponse], R]:
    """How a :class:`~langchain_mlstudio._core._calls.Call` reads its answer as ``cls``.

    ``what`` names the call in errors, e.g. ``"GET /models/m"``.

    Example:
        >>> import httpx
        >>> from langchain_mlstudio._core._calls import APIResponse
        >>> from langchain_mlstudio.fyretoolkit.types import Model
        >>> read = reader(Model, "GET /models/m")
        >>> read(APIResponse(200, httpx.Headers(), {"id": "m", "status": "ready"})).status
        'ready'
    """

    def read(response: APIResponse) -> R:
        return parse(
            cls,
            response.data,
            what=what,
            status_code=response.status_code,
            request_id=response.request_id,
        )

    return read


def lenient(cls: type[R], defaults: dict[str, Any], what: str) -> Callable[[APIResponse], R]:
    """A reader for an answer the reference leaves undocumented.

    Any 2xx answer is success: an empty body (204), a 202 without one, or an
    object with more, fewer or other fields. What the server sent is kept
    where it fits ``cls``; ``defaults`` fill the rest.
    """

    def read(response: APIResponse) -> R:
        data = response.data if isinstance(response.data, dict) else {}
        try:
            return cls.model_validate({**defaults, **data})
        except ValueError:
            logger.info("FyreToolkit answered %s with an unexpected body; using defaults", what)
            return cls.model_validate(defaults)

    return read
