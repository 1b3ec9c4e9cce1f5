"""Helpers for tests that check what the emulator saw."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["peak_in_window"]


def peak_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The most events inside any half-open window of ``window`` seconds.

    Use it on request arrival times to check a client's rate limit.

    Example:
        >>> peak_in_window([0.0, 0.5, 0.99, 1.0, 1.6])
        3
    """
    ordered = sorted(times)
    best, low = 0, 0
    for high, moment in enumerate(ordered):
        while moment - ordered[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best
