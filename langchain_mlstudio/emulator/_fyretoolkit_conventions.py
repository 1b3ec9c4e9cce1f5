"""What every FyreToolkit endpoint shares: errors, rate limits, pagination, idempotency.

These are the sections of the API page before its endpoints; the service
(:mod:`~langchain_mlstudio.emulator.fyretoolkit`) uses them in every handler.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any

from langchain_mlstudio.emulator._server import EmulatedAPIError, EmulatedRequest

__all__ = [
    "DEFAULT_PAGE",
    "DOCUMENTED_LIMITS",
    "MAX_PAGE",
    "IdempotencyKeys",
    "RateWindows",
    "error_body",
    "json_object",
    "page",
    "required",
]

#: Budgets per minute documented by the reference (inference is plan-dependent).
DOCUMENTED_LIMITS = {"read": 120, "write": 60, "inference": 600}
MAX_PAGE = 100
DEFAULT_PAGE = 20


def error_body(
    request: EmulatedRequest, code: str, message: str, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """FyreToolkit's error schema for ``request``.

    Example:
        >>> request = EmulatedRequest("GET", "/jobs/x", {}, {}, b"", request_id="req_1")
        >>> error_body(request, "job_not_found", "No batch job.")["error"]["request_id"]
        'req_1'
    """
    return {
        "error": {
            "code": code,
            "message": message,
            "request_id": request.request_id,
            "details": dict(details or {}),
        }
    }


def json_object(request: EmulatedRequest) -> dict[str, Any]:
    """The request's JSON object body (``{}`` when it has none); 400 otherwise."""
    if request.json_error:
        raise EmulatedAPIError(400, "The request body is not valid JSON.", code="invalid_json")
    if request.json is None:
        return {}
    if not isinstance(request.json, dict):
        raise EmulatedAPIError(
            400, "The request body must be a JSON object.", code="invalid_request"
        )
    return request.json


def required(body: Mapping[str, Any], name: str) -> Any:
    """``body[name]``; 400 ``parameter_missing`` when it is absent or null."""
    if body.get(name) is None:
        raise EmulatedAPIError(
            400,
            f"Missing required parameter: {name}.",
            code="parameter_missing",
            details={"param": name},
        )
    return body[name]


def page(request: EmulatedRequest, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of ``items`` by the request's ``limit`` and ``starting_after``.

    Example:
        >>> request = EmulatedRequest("GET", "/models", {"limit": ["1"]}, {}, b"")
        >>> page(request, [{"id": "a"}, {"id": "b"}])
        {'object': 'list', 'data': [{'id': 'a'}], 'has_more': True}
    """
    limit = _limit(request.param("limit"))
    start = 0
    cursor = request.param("starting_after")
    if cursor is not None:
        ids = [item["id"] for item in items]
        if cursor not in ids:
            raise EmulatedAPIError(
                400,
                f"No object with id {cursor!r} to start after.",
                code="invalid_cursor",
                details={"param": "starting_after"},
            )
        start = ids.index(cursor) + 1
    data = items[start : start + limit]
    return {"object": "list", "data": data, "has_more": start + limit < len(items)}


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    try:
        limit = int(raw)
    except ValueError:
        limit = -1
    if not 1 <= limit <= MAX_PAGE:
        raise EmulatedAPIError(
            400,
            f"limit must be an integer from 1 to {MAX_PAGE}.",
            code="invalid_limit",
            details={"param": "limit", "max": MAX_PAGE},
        )
    return limit


class RateWindows:
    """Fixed windows of requests, one per budget category (read, write, inference).

    Example:
        >>> windows = RateWindows()
        >>> [windows.spend("read", limit=1, window=60.0, now=0.0)[0] for _ in range(2)]
        [True, False]
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {}

    def spend(
        self, category: str, *, limit: int, window: float, now: float
    ) -> tuple[bool, dict[str, str]]:
        """Whether one more request fits, and the ``X-RateLimit-*`` headers after it."""
        with self._lock:
            current = self._windows.get(category)
            if current is None or now >= current[0] + window:
                current = [now, 0.0]
                self._windows[category] = current
            allowed = current[1] < limit
            if allowed:
                current[1] += 1
            remaining = max(0, limit - int(current[1]))
            reset = math.ceil(current[0] + window)
        return allowed, {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }


class IdempotencyKeys:
    """What each ``idempotency_key`` created, per creating endpoint (its ``scope``).

    Attributes:
        replays: How many requests got an earlier request's object back.

    Example:
        >>> keys = IdempotencyKeys()
        >>> body = {"idempotency_key": "k1"}
        >>> keys.replay("batch", body, "args"), keys.remember("batch", body, "args", "job_1")
        (None, None)
        >>> keys.replay("batch", body, "args"), keys.replays
        ('job_1', 1)
    """

    def __init__(self) -> None:
        self._created: dict[tuple[str, str], tuple[str, str]] = {}
        self.replays = 0

    def replay(self, scope: str, body: Mapping[str, Any], fingerprint: str) -> str | None:
        """The id a previous request with this key created, if any.

        400 for a key that is not a string of 1-255 characters; 409 for a key
        used before with other arguments (another ``fingerprint``).
        """
        key = body.get("idempotency_key")
        if key is None:
            return None
        if not isinstance(key, str) or not key or len(key) > 255:
            raise EmulatedAPIError(
                400,
                "idempotency_key must be a string of 1-255 characters.",
                code="invalid_request",
                details={"param": "idempotency_key"},
            )
        previous = self._created.get((scope, key))
        if previous is None:
            return None
        if previous[0] != fingerprint:
            raise EmulatedAPIError(
                409,
                "This idempotency key was already used with different parameters.",
                code="idempotency_key_reused",
                details={"idempotency_key": key},
            )
        self.replays += 1
        return previous[1]

    def remember(self, scope: str, body: Mapping[str, Any], fingerprint: str, created: str) -> None:
        """Note that the request's key (if any) created ``created``."""
        key = body.get("idempotency_key")
        if isinstance(key, str):
            self._created[(scope, key)] = (fingerprint, created)
