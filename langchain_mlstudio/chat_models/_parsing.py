"""Find the JSON object in what a model really answers.

Fine-tuned models wrap JSON in code fences, put a sentence before or after it,
or answer with a ``<think>`` block first. :func:`extract_json` tolerates all of
that and fails with a message the model can act on when it is re-asked.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["JSONNotFoundError", "extract_json"]

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|javascript|js)?[ \t]*\n?(.*?)```", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_DECODER = json.JSONDecoder()


class JSONNotFoundError(ValueError):
    """The answer holds no readable JSON object; the text says why."""


def _candidates(text: str) -> list[str]:
    """The answer, then each fenced block in it, most likely first."""
    text = _THINK.sub("", text).strip()
    fenced = [block.strip() for block in _FENCE.findall(text)]
    return [*fenced, text] if fenced else [text]


def _first_value(text: str, opener: str) -> tuple[Any, str | None]:
    """The first JSON value starting at an ``opener`` that decodes, else the error."""
    first_error: str | None = None
    start = text.find(opener)
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except RecursionError:
            return None, "JSON nested too deeply"
        except json.JSONDecodeError as exc:
            if first_error is None:
                first_error = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
            # Look on only past where this one broke: an object inside a
            # truncated one is a fragment, not the answer.
            start = text.find(opener, max(start + 1, exc.pos))
        else:
            return value, None
    return None, first_error


def extract_json(text: str, *, want: type = dict) -> Any:
    r"""The first JSON object (or array, with ``want=list``) in a model's answer.

    Raises:
        JSONNotFoundError: No object decodes; says whether there was none or
            where the first one broke.

    Example:
        >>> extract_json('Sure! ```json\n{"a": 1}\n``` Anything else?')
        {'a': 1}
        >>> extract_json('The answer is {"a": [1, 2]}.')
        {'a': [1, 2]}
        >>> try:
        ...     extract_json('{"a": 1')
        ... except JSONNotFoundError as exc:
        ...     print(exc)
        The answer is not valid JSON: Expecting ',' delimiter at line 1 column 8
    """
    if not isinstance(text, str):
        msg = f"Expected the answer as text, got {type(text).__name__}"
        raise JSONNotFoundError(msg)
    opener = "[" if want is list else "{"
    first_error: str | None = None
    for candidate in _candidates(text):
        value, error = _first_value(candidate, opener)
        if error is None and isinstance(value, want):
            return value
        first_error = first_error or error
    if first_error is not None:
        msg = f"The answer is not valid JSON: {first_error}"
        raise JSONNotFoundError(msg)
    kind = "array" if want is list else "object"
    msg = f"The answer holds no JSON {kind}"
    raise JSONNotFoundError(msg)
