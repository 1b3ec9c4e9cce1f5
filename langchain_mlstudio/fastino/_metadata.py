"""Walking a document's metadata: its string values are fields to redact too.

A ``subject`` or ``from`` field carries names and e-mail addresses straight
into a vector store when metadata is copied as is. Every string, also inside
lists and dicts, is a field; top-level keys named in ``keep`` (ids, sources,
offsets) are left alone, as are values of other types.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

__all__ = ["path_name", "rebuild", "string_leaves"]

Path = tuple[str | int, ...]


def string_leaves(metadata: Mapping[str, Any], keep: Collection[str]) -> Iterator[tuple[Path, str]]:
    """Every string in ``metadata`` outside the kept keys, with its path.

    Example:
        >>> list(string_leaves({"id": "x", "to": ["a@b.example"], "n": 3}, keep={"id"}))
        [(('to', 0), 'a@b.example')]
    """
    for key, value in metadata.items():
        if key not in keep:
            yield from _walk((key,), value)


def _walk(path: Path, value: Any) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _walk((*path, key), inner)
    elif isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            yield from _walk((*path, i), inner)


def rebuild(value: Any, replace: Callable[[Path, str], str], path: Path = ()) -> Any:
    """A copy of ``value`` with each string replaced by ``replace(path, string)``.

    Example:
        >>> rebuild({"a": ["x", 1]}, lambda p, s: s.upper())
        {'a': ['X', 1]}
    """
    if isinstance(value, str):
        return replace(path, value)
    if isinstance(value, Mapping):
        return {k: rebuild(v, replace, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [rebuild(v, replace, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return tuple(rebuild(v, replace, (*path, i)) for i, v in enumerate(value))
    return value


def path_name(path: Path) -> str:
    """A path as a dotted name (``to.0``).

    Example:
        >>> path_name(("to", 0))
        'to.0'
    """
    return ".".join(str(part) for part in path)
