"""Turn an HTTP error response into the matching :class:`MLStudioError`."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import ValidationError

from langchain_mlstudio._core._retry import parse_retry_after
from langchain_mlstudio.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)

__all__ = [
    "TROUBLESHOOTING",
    "describe_validation_error",
    "error_from_response",
    "parse_error_body",
    "request_id_of",
    "troubleshooting",
]

TROUBLESHOOTING = "docs/pages/troubleshooting.md"
# The troubleshooting section that explains each status a newcomer meets most.
_SECTION_BY_STATUS = {401: "status-401", 403: "status-403", 429: "status-429"}
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-correlation-id")
_MAX_MESSAGE = 300

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def troubleshooting(section: str) -> str:
    """A pointer to one section of the troubleshooting page, for an error's hint.

    Example:
        >>> troubleshooting("status-429")
        'Troubleshooting: docs/pages/troubleshooting.md#status-429.'
    """
    return f"Troubleshooting: {TROUBLESHOOTING}#{section}."


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_MAX_MESSAGE]


def _message(value: Any) -> str | None:
    """A server's message, without any input it echoes back.

    Validation errors in the FastAPI / pydantic style (``{"detail": [{"loc",
    "msg", "input"}]}``) quote the rejected input, which may be a document's
    text or a secret; only each item's location and message are kept.
    """
    if isinstance(value, list):
        parts = [_message(item) for item in value]
        return _text("; ".join(part for part in parts if part)) or None
    if isinstance(value, dict):
        said = value.get("msg") or value.get("message")
        if said is None:
            return None
        loc = value.get("loc")
        where = ".".join(map(str, loc)) + ": " if isinstance(loc, list | tuple) else ""
        return _text(f"{where}{said}")
    return _text(value)


def request_id_of(response: httpx.Response, body: Any) -> str | None:
    """The request id from the headers, else from an error body."""
    for header in _REQUEST_ID_HEADERS:
        if response.headers.get(header):
            return response.headers[header]
    if isinstance(body, dict):
        error = body.get("error")
        for container in (error, body):
            if isinstance(container, dict) and container.get("request_id"):
                return _text(container["request_id"])
    return None


def parse_error_body(body: Any) -> tuple[str | None, str | None, Any]:
    """``(code, message, details)`` from the error shapes these APIs use.

    Understands ``{"error": {"code", "message", "details"}}`` (FyreToolkit),
    ``{"error": "..."}``, ``{"message": "..."}``, ``{"detail": ...}`` and a
    plain string.
    """
    if isinstance(body, str):
        return None, _text(body.strip()) or None, None
    if not isinstance(body, dict):
        return None, None, None
    error = body.get("error")
    if isinstance(error, dict):
        return (
            _text(error.get("code")),
            _message(error.get("message")),
            error.get("details"),
        )
    code = _text(body.get("code"))
    for key in ("message", "detail", "error"):
        if body.get(key):
            return code, _message(body[key]), body.get("details")
    return code, None, body.get("details")


def error_from_response(
    response: httpx.Response, service: str, *, hint: str | None = None
) -> APIStatusError:
    """Build the typed error for a non-2xx response."""
    try:
        body: Any = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = response.text
    code, message, details = parse_error_body(body)
    status = response.status_code
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIStatusError
    request = response.request
    what = f"{service} rejected {request.method} {request.url.path}"
    if status >= 500:
        what = f"{service} failed on {request.method} {request.url.path}"
    section = _SECTION_BY_STATUS.get(status)
    if section is not None:
        hint = f"{cls.default_hint if hint is None else hint} {troubleshooting(section)}"
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "server_message": message,
        "request_id": request_id_of(response, body),
        "details": details,
        "hint": hint,
    }
    if cls is RateLimitError:
        return RateLimitError(
            what,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            **kwargs,
        )
    return cls(what, **kwargs)


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """Which fields of a response were missing or wrongly typed, without their values.

    Pydantic's own message quotes the offending input, which may be personal
    data or a secret echoed by a server, so errors name fields only and are
    raised ``from None``.

    Example:
        >>> from pydantic import BaseModel
        >>> class M(BaseModel):
        ...     n: int
        >>> try:
        ...     M.model_validate({"n": "Anna Rossi"})
        ... except ValidationError as exc:
        ...     describe_validation_error(exc)
        'n: Input should be a valid integer, unable to parse string as an integer'
    """
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)[:limit]
    )
