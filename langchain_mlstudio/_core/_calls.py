"""One API call as data: what every service client hands the transport.

A service client describes each endpoint call as a :class:`Call` (method,
path, body, how safe it is to repeat, how to read the answer, and what an
error met by a retried attempt means) and sends it with
:meth:`HTTPTransport.call <langchain_mlstudio._core._http.HTTPTransport.call>`
or ``acall``. The transport owns the attempts, so it also knows whether an
error came from the first attempt or from a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from langchain_mlstudio._core._retry import Safety
from langchain_mlstudio.errors import MLStudioError

__all__ = ["APIResponse", "AlreadyDone", "Attempt", "Call"]

logger = logging.getLogger("langchain_mlstudio.http")

T = TypeVar("T")


@dataclass
class APIResponse:
    """A decoded JSON response.

    Attributes:
        status_code: The HTTP status.
        headers: The response headers.
        data: The decoded JSON body (``None`` for an empty body).
        request_id: The server's request id, if it sent one.
    """

    status_code: int
    headers: httpx.Headers
    data: Any
    request_id: str | None = None


@dataclass
class Attempt:
    """One call's progress through its attempts, as the rate gates see it.

    The transport makes one per call and hands it to its gate before every
    attempt and after every response, so a gate knows which call an attempt
    belongs to and how many came before it.

    Attributes:
        method: The call's HTTP method.
        path: The call's path below the base URL.
        number: The attempt being made: 1 for the first, 2 for the first retry.
        waited: Seconds the gates made this call wait so far (gates add to it).
        gate_state: Whatever the gate keeps about this call across its attempts.

    Example:
        >>> attempt = Attempt("GET", "/models")
        >>> attempt.number, attempt.waited
        (1, 0.0)
    """

    method: str
    path: str
    number: int = 1
    waited: float = 0.0
    gate_state: Any = None


@dataclass(frozen=True)
class AlreadyDone(Generic[T]):
    """What an error met by a retried attempt means: an earlier one did the work.

    When an attempt's answer is lost after the server acted, the retry meets
    an error that only says the work is done: a DELETE meets 404, a cancel
    409. When an attempt after the first fails with ``error``, the transport
    sends ``confirm`` (if given) and returns ``result`` of its value (``None``
    without ``confirm``); when ``result`` returns ``None`` the error is
    raised. On the first attempt the error is always raised.

    Example:
        >>> from langchain_mlstudio.errors import NotFoundError
        >>> gone = AlreadyDone(NotFoundError, lambda _: "deleted", note="deleted earlier")
        >>> gone.outcome(NotFoundError("gone"), None)
        'deleted'
    """

    error: type[MLStudioError]
    result: Callable[[Any], T | None]
    confirm: Call[Any] | None = None
    note: str = "an earlier attempt succeeded"
    logger: logging.Logger = logger
    """Where ``note`` is logged: the service's own logger, so its filters see it."""

    def outcome(self, error: MLStudioError, confirmed: Any) -> T:
        """The call's result from the confirmed state, or ``error`` raised."""
        outcome = self.result(confirmed)
        if outcome is None:
            raise error
        self.logger.info("%s: %s", self.note, error.message)
        return outcome


@dataclass(frozen=True)
class Call(Generic[T]):
    """One endpoint call: the request, its safety, and how to read the answer.

    Attributes:
        method: The HTTP method.
        path: The path below the service's base URL, ids already quoted.
        read: Turns the decoded answer into the call's result.
        json_body: The JSON body, if any.
        params: Query parameters, if any.
        headers: Headers of this call only.
        safety: Whether a retry could create something twice.
        timeout: Seconds this call's requests may take (default: the transport's).
        any_body: A 2xx answer whose body is not JSON is still a success
            (read with ``data=None``), for answers the reference leaves open.
        already_done: What an error met by a retried attempt means.

    Example:
        >>> call = Call("GET", "/models", lambda response: response.data)
        >>> call.what
        'GET /models'
    """

    method: str
    path: str
    read: Callable[[APIResponse], T]
    json_body: Any = None
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    safety: Safety = Safety.IDEMPOTENT
    timeout: float | None = None
    any_body: bool = False
    already_done: AlreadyDone[T] | None = None

    @property
    def what(self) -> str:
        """The call as people write it, e.g. ``'GET /models'``."""
        return f"{self.method} {self.path}"
