"""Checks the FyreToolkit client makes before anything is sent.

An id that is not one path segment, inputs that are not a list, a missing
idempotency key: each is caught here, with a clear error, instead of
reaching (or confusing) the server.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from langchain_mlstudio.errors import InvalidInputError

__all__ = ["check_inputs", "new_idempotency_key", "segment"]


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
