"""What the transformer says when documents failed: a typed error, a log line or a raise.

Nothing here names a document by its text, only by its id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from langchain_mlstudio.errors import MLStudioError, PIIDetectionError
from langchain_mlstudio.fastino._pipeline import config_failure, is_transient

__all__ = ["describe", "report_failures"]

logger = logging.getLogger("langchain_mlstudio.fastino")


def describe(err: BaseException) -> str:
    """An error's class, message and what the server said, without its hint.

    Example:
        >>> from langchain_mlstudio.errors import ServerError
        >>> describe(ServerError("Down.", status_code=503))
        'ServerError: Down (server said: HTTP 503)'
    """
    if not isinstance(err, MLStudioError):
        return f"{type(err).__name__}: {err}"
    said = [
        part
        for part in (
            f"HTTP {err.status_code}" if err.status_code is not None else "",
            f"code={err.code!r}" if err.code else "",
            f"message={err.server_message!r}" if err.server_message else "",
            f"request_id={err.request_id!r}" if err.request_id else "",
        )
        if part
    ]
    server = f" (server said: {', '.join(said)})" if said else ""
    return f"{type(err).__name__}: {err.message.rstrip('.')}{server}"


def report_failures(
    failed: Mapping[str, BaseException],
    total: int,
    sent: int,
    on_error: Literal["raise", "drop"],
) -> None:
    """Raise (or, with ``on_error="drop"``, log) the documents that failed, by id.

    Args:
        failed: The failed documents' ids and their causes, in input order.
        total: How many documents the call had.
        sent: How many of them needed a request (blank ones need none).
        on_error: The transformer's ``on_error``.

    Raises:
        MLStudioError: Every document that needed a request failed for one
            non-transient reason (that typed error, with its fix).
        PIIDetectionError: Otherwise, unless ``on_error="drop"``.
    """
    ids = list(failed)
    # Every document that needed a request failed the same way: say that.
    typed = config_failure(list(failed.values())) if len(failed) == sent else None
    if typed is not None:
        raise typed
    if on_error == "drop":
        logger.warning(
            "PII detection failed for %d of %d documents; dropped ids: %s",
            len(ids),
            total,
            ", ".join(ids),
        )
        return
    first_id, first = ids[0], failed[ids[0]]
    msg = (
        f"PII detection failed for {len(ids)} of {total} documents "
        f"(ids: {', '.join(ids[:20])}{', ...' if len(ids) > 20 else ''}); "
        f"first cause ({first_id}): {describe(first)}"
    )
    hint = None
    if isinstance(first, MLStudioError) and not is_transient(first) and first.hint:
        hint = f"Failed documents were not returned. {first.hint}"
    raise PIIDetectionError(msg, document_ids=ids, causes=dict(failed), hint=hint)
