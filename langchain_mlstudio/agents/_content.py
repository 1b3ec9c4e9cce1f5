"""The text of a message's content, taken apart for detection and put back together.

A message's content is a string or a list of blocks; only text is checked, and
other blocks (images, files, tool-use blocks) are kept as they are. A text that
is a JSON object or array (a tool's JSON answer) is checked value by value and
rebuilt as JSON, so a number detected as a phone number becomes a string
placeholder instead of breaking the document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TextPart", "replace_texts", "texts_of"]


def texts_of(content: Any) -> list[str]:
    """The text parts of a message's content (a string, or text blocks).

    Example:
        >>> texts_of([{"type": "text", "text": "hi"}, {"type": "image_url"}, "there"])
        ['hi', 'there']
    """
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            if isinstance(text, str):
                texts.append(text)
    return texts


def replace_texts(content: Any, new: list[str]) -> Any:
    """``content`` with its text parts replaced, in order; other blocks untouched.

    Example:
        >>> replace_texts([{"type": "text", "text": "a", "id": 1}, {"type": "image_url"}], ["b"])
        [{'type': 'text', 'text': 'b', 'id': 1}, {'type': 'image_url'}]
    """
    if isinstance(content, str):
        return new[0]
    parts = iter(new)
    out: list[Any] = []
    for block in content:
        if isinstance(block, str):
            out.append(next(parts))
        elif (
            isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        ):
            out.append({**block, "text": next(parts)})
        else:
            out.append(block)
    return out


_Path = tuple[Any, ...]


def _leaves(value: Any, path: _Path = ()) -> Iterator[tuple[_Path, str]]:
    """Every string and number of a JSON value, with where it sits."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, str) and value.strip():
        yield path, value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, json.dumps(value)


def _set(value: Any, path: _Path, new: Any) -> None:
    for step in path[:-1]:
        value = value[step]
    value[path[-1]] = new


@dataclass
class TextPart:
    r"""One text part of a message: the texts to check, and how to put it back.

    A plain text is checked whole. A JSON object or array is checked through
    its values: first all values in one text, one per line (one request, and
    the model sees the values in context); if a replacement crossed a line (a
    first and last name in two fields read as one name), each value is checked
    on its own.

    Example:
        >>> part = TextPart('{"name": "Jamie Derran", "created": 1764578000}')
        >>> part.texts()
        ['Jamie Derran\n1764578000']
        >>> part.rebuild(["<FULL_NAME>\n<PHONE_NUMBER>"])
        '{"name":"<FULL_NAME>","created":"<PHONE_NUMBER>"}'
        >>> part.rebuild(["<FULL_NAME> 1764578000"]) is None  # crossed a line
        True
        >>> part.fine = True
        >>> part.texts()
        ['Jamie Derran', '1764578000']
    """

    text: str
    fine: bool = False
    _data: Any = field(default=None, init=False, repr=False)
    _leaves: list[tuple[_Path, str]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        stripped = self.text.strip()
        if stripped[:1] in {"{", "["}:
            try:
                data = json.loads(stripped)
            except ValueError:
                return
            if isinstance(data, dict | list):
                self._data = data
                self._leaves = list(_leaves(data))

    @property
    def is_json(self) -> bool:
        """Whether the part is a JSON object or array, checked value by value."""
        return self._data is not None

    def texts(self) -> list[str]:
        """The texts to send for detection (none for a blank text or empty JSON)."""
        if not self.is_json:
            return [self.text] if self.text.strip() else []
        values = [value for _, value in self._leaves]
        if self.fine or any("\n" in value for value in values):
            self.fine = True
            return values
        return ["\n".join(values)] if values else []

    def rebuild(self, redacted: list[str]) -> str | None:
        """The part with ``redacted`` put back, or ``None`` if they do not fit."""
        if not self.is_json:
            return redacted[0] if redacted else self.text
        values = redacted if self.fine else (redacted[0].split("\n") if redacted else [])
        if len(values) != len(self._leaves):
            return None
        data = json.loads(json.dumps(self._data))
        changed = False
        for (path, before), after in zip(self._leaves, values, strict=True):
            if after != before:
                _set(data, path, after)
                changed = True
        if not changed:
            return self.text
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
