"""Output batches: the input's columns (unchanged ones as they were) plus the new ones."""

from __future__ import annotations

from typing import Any

__all__ = ["assemble"]


def _column(original: Any, values: list[Any]) -> Any:
    """``original`` itself when no value changed, else a new array of its type if possible."""
    import pyarrow as pa

    if values == original.to_pylist():
        return original  # as it was: zero-copy, extension types (pickled objects) kept
    try:
        return pa.array(values, type=original.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return pa.array(values)


def assemble(batch: Any, rows: list[dict[str, Any] | None], added: list[str]) -> Any:
    """The output table of ``batch`` given each input row's output row (``None``: dropped).

    Columns that no row changed are passed through untouched (a column Ray
    stores as pickled Python objects, e.g. prompts that mix strings and
    conversations, included); ``added`` columns are strings.

    Example:
        >>> import pyarrow as pa
        >>> batch = pa.table({"id": [1, 2], "text": ["a", "b"]})
        >>> out = assemble(batch, [{"id": 1, "text": "A", "ok": "y"}, None], ["ok"])
        >>> out.to_pylist()
        [{'id': 1, 'text': 'A', 'ok': 'y'}]
    """
    import pyarrow as pa

    keep = [row is not None for row in rows]
    if not all(keep):
        batch = batch.filter(pa.array(keep))
    kept = [row for row in rows if row is not None]
    names = [name for name in batch.column_names if name not in added]
    columns = [_column(batch.column(name), [row[name] for row in kept]) for name in names]
    columns += [pa.array([row[name] for row in kept], type=pa.string()) for name in added]
    return pa.Table.from_arrays(columns, names=[*names, *added])
