"""Bounded tool output: what an agent reads never outgrows its context window.

A tool's *content* (what the model reads) is compact JSON of at most
``max_chars`` characters; its *artifact* (what code reads) keeps the whole
result. Three rules keep the content inside the bound without lying about it:

* a string field longer than ``max_field_chars`` is cut and ends with a
  marker saying how much was cut (``"...[+1234 chars]"``);
* a list (of results, of records) shows as many items as fit and says how
  many it left out;
* a list *page* that does not fit shows fewer records and hands back a
  ``starting_after`` cursor for the next one, so nothing is lost: the model
  pages on where the content stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_MAX_FIELD_CHARS",
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_OUTPUT_CHARS",
    "OutputBounds",
    "compact",
    "cut_marker",
]

#: Default bound of a tool's content, in characters (about 1,000 tokens).
DEFAULT_MAX_OUTPUT_CHARS = 4000
#: Default longest string field before it is cut.
DEFAULT_MAX_FIELD_CHARS = 500
#: Default most items of a nested list shown.
DEFAULT_MAX_ITEMS = 50


def compact(value: Any) -> str:
    """Short JSON for an agent's context.

    Example:
        >>> compact({"a": [1, 2], "b": "é"})
        '{"a":[1,2],"b":"é"}'
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def cut_marker(cut: int) -> str:
    """The marker that ends a cut string.

    Example:
        >>> cut_marker(12)
        '...[+12 chars]'
    """
    return f"...[+{cut} chars]"


@dataclass(frozen=True)
class OutputBounds:
    """How large a tool's content may grow.

    Args:
        max_chars: The most characters of the whole content.
        max_field_chars: The longest string field before it is cut.
        max_items: The most items of a nested list before it is cut.

    Example:
        >>> bounds = OutputBounds(max_chars=80, max_field_chars=10)
        >>> bounds.cut({"description": "x" * 50})
        {'description': 'xxxxxxxxxx...[+40 chars]'}
    """

    max_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
    max_items: int = DEFAULT_MAX_ITEMS

    def cut(self, value: Any, field_chars: int | None = None, max_items: int | None = None) -> Any:
        """``value`` with long strings and long lists cut, each with a marker."""
        limit = self.max_field_chars if field_chars is None else field_chars
        most = self.max_items if max_items is None else max_items
        if isinstance(value, str):
            if len(value) <= limit:
                return value
            return value[:limit] + cut_marker(len(value) - limit)
        if isinstance(value, dict):
            return {str(k): self.cut(v, limit, most) for k, v in value.items()}
        if isinstance(value, list | tuple):
            items = [self.cut(v, limit, most) for v in value[:most]]
            if len(value) > most:
                items.append(f"...[+{len(value) - most} more items]")
            return items
        return value

    def render(self, value: Any) -> str:
        """``value`` as JSON within :attr:`max_chars`.

        Long lists are shortened first, then long fields cut harder, so the
        content stays valid JSON and short fields (codes, ids) stay whole;
        only if it is still too long (an object with very many keys) is the
        text itself cut at the bound, with a marker.

        Example:
            >>> text = OutputBounds(max_chars=100).render({"k": ["v" * 40] * 30})
            >>> len(text) <= 100, json.loads(text)["k"][-1]
            (True, '...[+29 more items]')
        """
        field_chars, max_items = self.max_field_chars, self.max_items
        while True:
            text = compact(self.cut(value, field_chars, max_items))
            if len(text) <= self.max_chars:
                return text
            if max_items > 1:
                max_items //= 2
            elif field_chars > 16:
                field_chars //= 2
            else:
                break
        if len(text) <= self.max_chars:
            return text
        marker = cut_marker(len(text))
        keep = max(0, self.max_chars - len(marker))
        return text[:keep] + cut_marker(len(text) - keep)

    def render_list(
        self,
        key: str,
        items: Sequence[Any],
        *,
        extra: dict[str, Any] | None = None,
        note: str,
    ) -> str:
        """A list under ``key`` showing as many items as fit, saying how many.

        Example:
            >>> text = OutputBounds(max_chars=120).render_list(
            ...     "results", [{"label": "pos"}] * 100, note="see the artifact")
            >>> json.loads(text)["shown"], json.loads(text)["total"]
            (3, 100)
        """
        head = dict(extra or {})
        shown = [self.cut(item) for item in items]
        while True:
            body = {**head, key: shown, "shown": len(shown), "total": len(items)}
            if len(shown) < len(items):
                body["note"] = note
            text = compact(body)
            if len(text) <= self.max_chars or not shown:
                return text if len(text) <= self.max_chars else self.render(body)
            shown = shown[: _fewer(len(shown), len(text), self.max_chars)]

    def render_page(
        self,
        key: str,
        records: Sequence[dict[str, Any]],
        *,
        has_more: bool,
        cursor: Callable[[dict[str, Any]], str | None],
    ) -> str:
        """One page of records with ``has_more`` and the next ``starting_after``.

        When the page does not fit, fewer records are shown and the cursor
        points after the last one shown, so the next call continues there.

        Example:
            >>> page = [{"id": f"m{i}", "description": "d" * 30} for i in range(20)]
            >>> out = json.loads(OutputBounds(max_chars=300).render_page(
            ...     "models", page, has_more=False, cursor=lambda r: r["id"]))
            >>> out["has_more"], out["starting_after"] == out["models"][-1]["id"]
            (True, True)
        """
        shown = [self.cut(record) for record in records]
        while True:
            more = has_more or len(shown) < len(records)
            # The cursor comes from the record itself, never from its cut copy.
            last = cursor(records[len(shown) - 1]) if more and shown else None
            text = compact({key: shown, "has_more": more, "starting_after": last})
            if len(text) <= self.max_chars or len(shown) <= 1:
                break
            shown = shown[: _fewer(len(shown), len(text), self.max_chars)]
        if len(text) > self.max_chars and shown:
            # One record alone is too long: keep its id so paging goes on.
            first = records[0]
            slim = {"id": first.get("id"), "note": "record too long to show; see the artifact"}
            text = compact({key: [slim], "has_more": True, "starting_after": cursor(first)})
            more = len(records) > 1 or has_more
            if not more:
                text = compact({key: [slim], "has_more": False, "starting_after": None})
        return text


def _fewer(count: int, length: int, bound: int) -> int:
    """How many of ``count`` items to keep so ``length`` shrinks under ``bound``."""
    guess = int(count * bound / max(length, 1))
    return max(1, min(count - 1, guess))
