"""Walking a document's metadata: its strings (and keys) are fields to redact too.

A ``subject`` or ``from`` field carries names and e-mail addresses straight
into a vector store when metadata is copied as is, and so does a dict keyed by
them (``{"rsvp": {"jamie@example.com": "yes"}}``). Every string, also inside
lists, sets and dicts, is a field sent for detection, and so is every string key of a
dict inside a value; top-level keys (the metadata's own names) and integers are
searched for the values found in the document instead (no request of their
own). Top-level keys named in ``keep`` (ids, sources, offsets) are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MetaKey", "MetaPath", "path_name", "rebuild", "searched_leaves", "string_leaves"]


@dataclass(frozen=True)
class MetaKey:
    """The last part of a path that names a dict's key itself, not its value."""

    name: str


MetaPath = tuple[str | int | MetaKey, ...]


def string_leaves(
    metadata: Mapping[str, Any], keep: Collection[str]
) -> Iterator[tuple[MetaPath, str]]:
    """Every string (and nested dict key) in ``metadata`` outside the kept keys, with its path.

    Example:
        >>> list(string_leaves({"id": "x", "to": ["a@b.example"], "n": 3}, keep={"id"}))
        [(('to', 0), 'a@b.example')]
        >>> [p for p, _ in string_leaves({"rsvp": {"a@b.example": 1}}, keep=())]
        [('rsvp', MetaKey(name='a@b.example'))]
    """
    for key, value in metadata.items():
        if key not in keep:
            yield from _walk((key,), value)


def searched_leaves(
    metadata: Mapping[str, Any], keep: Collection[str]
) -> Iterator[tuple[MetaPath, str]]:
    """Top-level string keys and integers (as text) outside the kept keys, with their paths.

    Example:
        >>> list(searched_leaves({"a@b.example": "yes", "n": [3, True]}, keep={"n"}))
        [((MetaKey(name='a@b.example'),), 'a@b.example')]
        >>> list(searched_leaves({"n": [3, True]}, keep=()))[1:]
        [(('n', 0), '3')]
    """
    for key, value in metadata.items():
        if key in keep:
            continue
        if isinstance(key, str):
            yield (MetaKey(key),), key
        yield from _numbers((key,), value)


def _walk(path: MetaPath, value: Any) -> Iterator[tuple[MetaPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(key, str):
                yield (*path, MetaKey(key)), key
            yield from _walk((*path, key), inner)
    elif isinstance(value, list | tuple | set | frozenset):
        for i, inner in enumerate(_items(value)):
            yield from _walk((*path, i), inner)


def _numbers(path: MetaPath, value: Any) -> Iterator[tuple[MetaPath, str]]:
    if isinstance(value, int) and not isinstance(value, bool):
        yield path, str(value)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _numbers((*path, key), inner)
    elif isinstance(value, list | tuple | set | frozenset):
        for i, inner in enumerate(_items(value)):
            yield from _numbers((*path, i), inner)


def _items(value: Any) -> list[Any]:
    """A list, tuple or set's items; a set's in a stable order (by ``repr``)."""
    return sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)


def rebuild(
    value: Any,
    replace: Callable[[MetaPath, Any], Any],
    renamed: dict[MetaPath, str],
    path: MetaPath = (),
) -> Any:
    """A copy of ``value`` with each leaf and dict key replaced by ``replace(path, leaf)``.

    Keys that come out equal get ``#2``, ``#3``... so no entry is lost; each
    changed key's final name is recorded in ``renamed`` (by its key path).

    Example:
        >>> names = {}
        >>> rebuild({"a": ["x", 1], "b": 2}, lambda p, s: "K" if p[-1] in (MetaKey("a"),
        ...         MetaKey("b")) else s, names)
        {'K': ['x', 1], 'K#2': 2}
    """
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, inner in value.items():
            key_path: MetaPath = (*path, MetaKey(key))
            new_key = replace(key_path, key) if isinstance(key, str) else key
            base, n = new_key, 1
            while new_key in out:
                n += 1
                new_key = f"{base}#{n}"
            if new_key != key:
                renamed[key_path] = new_key
            out[new_key] = rebuild(inner, replace, renamed, (*path, key))
        return out
    if isinstance(value, list):
        return [rebuild(v, replace, renamed, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, tuple | set | frozenset):
        items = (rebuild(v, replace, renamed, (*path, i)) for i, v in enumerate(_items(value)))
        return type(value)(items)
    return replace(path, value)


def path_name(path: MetaPath, renamed: Mapping[MetaPath, str] | None = None) -> str:
    """A path as a dotted name (``to.0``), keys as they were renamed; a key itself ends ``(key)``.

    Example:
        >>> path_name(("to", 0))
        'to.0'
        >>> key = ("rsvp", MetaKey("a@b.example"))
        >>> path_name(key, {key: "<EMAIL>"})
        'rsvp.<EMAIL>(key)'
    """
    renamed = renamed or {}
    parts: list[str] = []
    for i, part in enumerate(path):
        if isinstance(part, MetaKey):
            parts.append(f"{renamed.get(path[: i + 1], part.name)}(key)")
        else:
            key_path: MetaPath = (*path[:i], MetaKey(str(part)))
            parts.append(str(renamed.get(key_path, part)) if isinstance(part, str) else str(part))
    return ".".join(parts)
