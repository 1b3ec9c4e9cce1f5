"""Errors of the Ray Data helpers."""

from __future__ import annotations

from typing import Any

from langchain_mlstudio.errors import MLStudioError

__all__ = ["JobOutcomeUnknownError", "RayNotInstalledError", "RunCoordinatorError", "require_ray"]

INSTALL_HINT = "Install the extra: pip install 'langchain-mlstudio[ray]'"


class RayNotInstalledError(MLStudioError, ImportError):
    """Ray (with Ray Data) is not installed; the helpers need the ``ray`` extra.

    It is an :class:`ImportError` too, so ``except ImportError`` catches it.

    Example:
        >>> err = RayNotInstalledError("Ray is not installed")
        >>> isinstance(err, ImportError), "langchain-mlstudio[ray]" in str(err)
        (True, True)
    """

    default_hint = INSTALL_HINT


class RunCoordinatorError(MLStudioError):
    """The run's coordinator actor (shared limits, mapping, job ledger) is gone.

    Nothing it guarded can be trusted for the rest of the run (a new
    coordinator would start with an empty mapping and ledger), so the run
    stops instead.

    Example:
        >>> RunCoordinatorError("gone").hint.startswith("Run the dataset again")
        True
    """

    default_hint = (
        "Run the dataset again; keep a reference to the Dataset (and the transformer) "
        "until it has been consumed, and do not kill the run's actor."
    )


class JobOutcomeUnknownError(MLStudioError):
    """A retried task found its job's submission started but never recorded.

    The earlier attempt died while submitting, so a job may or may not exist
    at the server; submitting again could create a second one, so the rows
    fail with this error instead.

    Attributes:
        key: The job's key in the run's ledger (a digest of its row ids).

    Example:
        >>> JobOutcomeUnknownError("unknown", key="3f9a").key
        '3f9a'
    """

    default_hint = (
        "No second job was submitted. Check the provider's job list for a job of these "
        "rows before running them again."
    )

    def __init__(self, message: str, *, key: str, **kwargs: Any) -> None:
        self.key = key
        super().__init__(message, **kwargs)


def require_ray() -> Any:
    """The ``ray`` module (with Ray Data), or :class:`RayNotInstalledError`.

    Example:
        >>> require_ray().__name__
        'ray'
    """
    try:
        import ray
        import ray.data  # Ray Data is what the helpers need
    except ImportError as exc:
        raise RayNotInstalledError(
            f"The Ray Data helpers need Ray, which is not installed ({exc})"
        ) from None
    return ray
