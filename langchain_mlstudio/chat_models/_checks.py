"""Refuse settings and per-call parameters the chat models do not have, naming close matches.

A misspelled setting (``max_token``) or one the API lacks (``top_p``) would
otherwise be dropped without a word.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic.fields import FieldInfo

from langchain_mlstudio.errors import ConfigurationError, InvalidInputError

__all__ = ["check_call_kwargs", "check_settings"]

#: Per-call parameters a job takes.
CALL_PARAMS = ("model", "temperature", "max_tokens")
#: Keywords LangChain itself passes down to a chat model; accepted and unused here.
LANGCHAIN_KWARGS = frozenset(
    {
        "ls_structured_output_format",
        "structured_output_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "stream",
    }
)


def close_matches(name: str, known: Iterable[str]) -> str:
    """A "Did you mean ...?" sentence, or ``""``.

    Example:
        >>> close_matches("max_token", ["max_tokens", "model"])
        "Did you mean 'max_tokens'? "
    """
    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f"Did you mean {' or '.join(repr(m) for m in matches)}? " if matches else ""


def check_settings(owner: str, fields: Mapping[str, FieldInfo], values: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigurationError` for a constructor argument that is no setting."""
    known = [*fields, *(info.alias for info in fields.values() if info.alias)]
    for name in values:
        if name not in known:
            raise ConfigurationError(
                f"{owner} has no setting {name!r}",
                hint=f"{close_matches(name, known)}See the configuration page for every setting.",
            )


def check_call_kwargs(owner: str, kwargs: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidInputError` for a per-call keyword the model does not take."""
    for name in kwargs:
        if name not in CALL_PARAMS and name not in LANGCHAIN_KWARGS:
            raise InvalidInputError(
                f"{owner} takes no per-call parameter {name!r}",
                hint=f"{close_matches(name, CALL_PARAMS)}Per-call parameters are "
                f"{', '.join(CALL_PARAMS)} and stop; nothing was sent.",
            )
