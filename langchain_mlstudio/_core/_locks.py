"""A lock that belongs to one instance and is made anew for every copy of it."""

from __future__ import annotations

import threading

__all__ = ["InstanceLock"]


class InstanceLock:
    """A lock made with its owner that pickles and copies as a new, free lock.

    Creating the guard lock together with the instance (not on first use) is
    what makes the lazy builds it guards race-free: two threads can never each
    make their own lock and so each build their own transport (and rate gate).
    A pickled or deep-copied owner gets a lock of its own.

    Example:
        >>> import pickle
        >>> lock = InstanceLock()
        >>> with pickle.loads(pickle.dumps(lock)):
        ...     pass
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def __reduce__(self) -> tuple[type[InstanceLock], tuple[()]]:
        return (InstanceLock, ())
