"""What an HTTP header can carry, checked before anything is sent."""

from __future__ import annotations

import unicodedata

__all__ = ["header_problem"]


def header_problem(value: str) -> str | None:
    r"""Why ``value`` cannot be sent in an HTTP header, or ``None`` when it can.

    Headers carry visible ASCII characters, with spaces or tabs only between
    them. Names the offending character, never the rest of the value (it may
    be a key).

    Example:
        >>> header_problem("Bearer sk-1234") is None
        True
        >>> header_problem("Bearer sk…34")
        "the character '…' (U+2026 HORIZONTAL ELLIPSIS)"
        >>> header_problem("Bearer sk-1234\n")
        'the control character U+000A (a line break or other control)'
    """
    for char in value:
        if char == "\t" or " " <= char <= "~":
            continue
        if char < " " or char == "\x7f":
            return f"the control character U+{ord(char):04X} (a line break or other control)"
        name = unicodedata.name(char, "unnamed")
        return f"the character {char!r} (U+{ord(char):04X} {name})"
    if value != value.strip(" \t"):
        return "a space or tab at its start or end"
    return None
