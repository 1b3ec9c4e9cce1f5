"""What replaces a detected value: redact, mask, hash or pseudonymize.

Every strategy turns ``(text, spans)`` into new text in which each span is
replaced; none of them keeps any character of a detected value.

=================  ==========================  ===============================
Strategy           ``Jamie Derran`` becomes    Consistent across workers?
=================  ==========================  ===============================
``redact``         ``<FULL_NAME>``             yes (no state)
``mask``           ``************``            yes (no state)
``hash``           ``<FULL_NAME_3f9a0c1e>``    yes, when every worker shares
                                               the same ``hash_key``
``pseudonymize``   ``<FULL_NAME_1_K7Q2X>``     no: numbering is per mapping
=================  ==========================  ===============================

The ``pseudonymize`` mapping is :class:`~langchain_mlstudio.fastino.pseudonymizer.Pseudonymizer`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import Literal

from langchain_mlstudio.fastino.spans import Span

__all__ = ["Strategy", "hash_token", "label_token", "redact_token", "replace_spans"]

#: How the transformer replaces a detected value (the table above).
Strategy = Literal["redact", "mask", "hash", "pseudonymize"]

_LABEL_CLEAN = re.compile(r"[^A-Za-z0-9]+")


def label_token(label: str) -> str:
    """A label as it appears in a placeholder: upper case, ``_`` separators.

    Example:
        >>> label_token("email address")
        'EMAIL_ADDRESS'
    """
    return _LABEL_CLEAN.sub("_", label).strip("_").upper() or "PII"


def redact_token(label: str) -> str:
    """``<LABEL>``: what the ``redact`` strategy (and the tool) writes, as Fastino does.

    Example:
        >>> redact_token("full_name")
        '<FULL_NAME>'
    """
    return f"<{label_token(label)}>"


def hash_token(label: str, value: str, key: bytes, digits: int = 8) -> str:
    """``<LABEL_xxxxxxxx>``: a keyed HMAC-SHA256 of the label and value.

    The same value under the same label and key always gives the same token;
    without the key the value cannot be recovered or guessed by hashing
    candidates.

    Example:
        >>> hash_token("full_name", "Jamie", b"k") == hash_token("full_name", "Jamie", b"k")
        True
    """
    digest = hmac.new(key, f"{label_token(label)}\x00{value}".encode(), hashlib.sha256).hexdigest()
    return f"<{label_token(label)}_{digest[:digits]}>"


def replace_spans(text: str, spans: Sequence[Span], replacements: Sequence[str]) -> str:
    """``text`` with each (disjoint, sorted) span replaced by its replacement.

    Example:
        >>> replace_spans("Hi Jamie", [Span(3, 8, "full_name", 1.0)], ["<FULL_NAME>"])
        'Hi <FULL_NAME>'
    """
    out: list[str] = []
    pos = 0
    for span, replacement in zip(spans, replacements, strict=True):
        out.append(text[pos : span.start])
        out.append(replacement)
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
