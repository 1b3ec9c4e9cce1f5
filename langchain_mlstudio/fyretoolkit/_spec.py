"""The request machinery of the FyreToolkit client: one API call as data.

A :class:`Spec` is one call (method, path, body, how to read the answer, how a
retry recognises that an earlier attempt already succeeded);
:class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` builds one per
endpoint and runs it. The checks here run before anything is sent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from langchain_mlstudio._core._calls import APIResponse
from langchain_mlstudio._core._retry import Safety
from langchain_mlstudio.errors import (
    ConfigurationError,
    InvalidInputError,
    MalformedResponseError,
    MLStudioError,
)
from langchain_mlstudio.fyretoolkit.types import ListPage, parse

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SERVICE",
    "STATUS_HINTS",
    "Recovery",
    "Spec",
    "bodiless_success",
    "check_inputs",
    "check_limit",
    "lenient",
    "new_idempotency_key",
    "next_cursor",
    "reader",
    "segment",
    "split_credentials",
]

logger = logging.getLogger("langchain_mlstudio.fyretoolkit")

SERVICE = "FyreToolkit"
API_KEY_ENV = "FYRETOOLKIT_API_KEY"
BASE_URL_ENV = "FYRETOOLKIT_BASE_URL"

#: The most records one list request may ask for.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


STATUS_HINTS = {
    401: (
        "FyreToolkit uses HTTP Basic auth with the API key as user name and an "
        f"empty password; check api_key / {API_KEY_ENV}."
    ),
    404: ("Check the id: list_models() and list_deployments() show what your key can use."),
    409: "Read the resource's current state (get_job / get_model) before retrying.",
    422: "The request was understood but its values were rejected; see details.",
}

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)


def new_idempotency_key() -> str:
    """A fresh idempotency key for one creating call.

    Example:
        >>> len(new_idempotency_key())
        32
    """
    return uuid.uuid4().hex


def segment(value: str, name: str) -> str:
    """``value`` as one URL path segment; an id that is not one is rejected early.

    An empty id, ``.``, ``..`` or one containing ``/`` would change which
    endpoint a request reaches (httpx normalises ``/deployments/..`` to
    ``/``), so they raise before anything is sent.

    Example:
        >>> segment("sentiment v1", "model_id")
        'sentiment%20v1'
        >>> segment("..", "deployment_id")
        Traceback (most recent call last):
        ...
        langchain_mlstudio.errors.InvalidInputError: deployment_id must be one path segment ...
    """
    if not isinstance(value, str) or not value.strip():
        msg = f"{name} must be a non-empty string, got {value!r}"
        raise InvalidInputError(msg)
    if value.strip() in {".", ".."} or "/" in value or "\\" in value:
        msg = f"{name} must be one path segment (no '/', not '.' or '..'), got {value!r}"
        raise InvalidInputError(msg, hint="Pass the id exactly as the API returned it.")
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:
        msg = f"{name} contains a character that cannot be encoded as UTF-8 (a lone surrogate)"
        raise InvalidInputError(msg) from None


def split_credentials(url: str | None) -> tuple[str | None, str | None]:
    """``url`` without user info, and the user name it carried (the API key).

    FyreToolkit's auth is Basic with the key as user name, so
    ``https://sk_live_...@host`` is a key written into the URL. It is taken
    out so that it never reaches an error message, a log line, ``repr`` or a
    tool's output, and used as the key when no ``api_key`` is given.

    Example:
        >>> split_credentials("https://sk_live_x:@fyre.example/v1")
        ('https://fyre.example/v1', 'sk_live_x')
        >>> split_credentials("http://127.0.0.1:8765")
        ('http://127.0.0.1:8765', None)
    """
    if not url or "@" not in url:
        return url, None
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        msg = f"{SERVICE} base_url is not a valid URL"
        raise ConfigurationError(msg) from None
    if not parsed.userinfo:
        return url, None
    user = parsed.username or None
    clean = str(parsed.copy_with(username=None, password=None))
    if not url.endswith("/") and clean.endswith("/") and parsed.raw_path == b"/":
        clean = clean[:-1]
    return clean, user


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        msg = f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, got {limit!r}"
        raise InvalidInputError(msg)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        msg = f"limit must be from 1 to {MAX_PAGE_SIZE}, got {limit}"
        raise InvalidInputError(msg, hint="FyreToolkit returns at most 100 records per page.")
    return limit


def check_inputs(inputs: Sequence[str | Mapping[str, Any]]) -> list[Any]:
    if isinstance(inputs, str | bytes | Mapping) or not isinstance(inputs, Sequence):
        msg = f"inputs must be a list of texts or JSON objects, got {type(inputs).__name__}"
        raise InvalidInputError(msg, hint='Wrap a single input in a list: ["text"].')
    if not inputs:
        msg = "inputs must contain at least one input"
        raise InvalidInputError(msg)
    checked: list[Any] = []
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            checked.append(item)
        elif isinstance(item, Mapping):
            checked.append(dict(item))
        else:
            msg = f"inputs[{index}] must be a text or a JSON object, got {type(item).__name__}"
            raise InvalidInputError(msg)
    return checked


@dataclass
class Recovery(Generic[T]):
    """How a retried call recognises that an earlier attempt already succeeded.

    When an attempt's answer is lost after the server acted, the retry meets an
    error that only says the work is done: a DELETE meets 404, a cancel 409.
    After more than one attempt, an ``error`` is read as success when
    ``outcome`` turns the state (read by the optional follow-up request
    ``confirm``) into the call's result; when it returns ``None`` the error is
    raised. On the first attempt the error is always raised.
    """

    error: type[MLStudioError]
    outcome: Callable[[Any], T | None]
    confirm: Spec[Any] | None = None
    note: str = "an earlier attempt succeeded"

    def applies(self, error: MLStudioError, attempts: int) -> bool:
        return attempts > 1 and isinstance(error, self.error)

    def settle(self, error: MLStudioError, state: Any) -> T:
        result = self.outcome(state)
        if result is None:
            raise error
        logger.info("%s: %s", self.note, error.message)
        return result


@dataclass
class Spec(Generic[T]):
    """One API call: the request, how to read its answer, and its recovery."""

    method: str
    path: str
    result: Callable[[APIResponse, str], T]
    json_body: Any = None
    params: dict[str, Any] | None = None
    safety: Safety = Safety.IDEMPOTENT
    headers: dict[str, str] = field(default_factory=dict)
    recovery: Recovery[T] | None = None
    any_body: bool = False
    """A 2xx answer whose body is not JSON is still a success (undocumented answers)."""

    @property
    def what(self) -> str:
        return f"{self.method} {self.path}"


def reader(cls: type[R]) -> Callable[[APIResponse, str], R]:
    def read(response: APIResponse, what: str) -> R:
        return parse(
            cls,
            response.data,
            what=what,
            status_code=response.status_code,
            request_id=response.request_id,
        )

    return read


def lenient(cls: type[R], defaults: dict[str, Any]) -> Callable[[APIResponse, str], R]:
    """A reader for an answer the reference leaves undocumented.

    Any 2xx answer is success: an empty body (204), a 202 without one, or an
    object with more, fewer or other fields. What the server sent is kept
    where it fits ``cls``; ``defaults`` fill the rest.
    """

    def read(response: APIResponse, what: str) -> R:
        data = response.data if isinstance(response.data, dict) else {}
        try:
            return cls.model_validate({**defaults, **data})
        except ValueError:
            logger.info("%s answered %s with an unexpected body; using defaults", SERVICE, what)
            return cls.model_validate(defaults)

    return read


def next_cursor(page: ListPage[Any], previous: str | None, what: str) -> str | None:
    """The cursor of the next page, or ``None`` after the last one.

    A page that claims more but holds nothing, or repeats the previous cursor,
    is a malformed answer rather than an endless loop.
    """
    if not page.has_more:
        return None
    if not page.data:
        msg = f"{SERVICE} answered {what} with has_more=true but no records"
        raise MalformedResponseError(msg)
    cursor = getattr(page.data[-1], "id", None)
    if cursor == previous:
        msg = f"{SERVICE} answered {what} with the same page twice (cursor {cursor!r})"
        raise MalformedResponseError(msg)
    return str(cursor)


def bodiless_success(spec: Spec[Any], error: MalformedResponseError) -> bool:
    """Whether ``error`` is a 2xx with a non-JSON body that ``spec`` accepts as success."""
    return spec.any_body and error.status_code is not None and 200 <= error.status_code < 300
