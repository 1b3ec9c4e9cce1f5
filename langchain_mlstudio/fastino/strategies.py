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
``pseudonymize``   ``<FULL_NAME_1>``           no: numbering is per instance
=================  ==========================  ===============================
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_mlstudio.fastino.spans import Span

__all__ = ["Pseudonymizer", "hash_token", "label_token", "redact_token", "replace_spans"]

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


class Pseudonymizer:
    """Numbered placeholders (``<FULL_NAME_1>``) consistent across documents.

    The same ``(label, value)`` always gets the same placeholder from one
    instance, so retrieval still links one person across chunks;
    :meth:`restore` puts the originals back into a model's answer. The mapping
    holds the raw values: store a saved mapping like the data itself.

    Example:
        >>> p = Pseudonymizer()
        >>> p.token("full_name", "Jamie Derran")
        '<FULL_NAME_1>'
        >>> p.restore("Ask <FULL_NAME_1>.")
        'Ask Jamie Derran.'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}
        self._counters: dict[str, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        return self.to_dict()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self._load(state)

    def __len__(self) -> int:
        return len(self._values)

    def token(self, label: str, value: str) -> str:
        """The placeholder of ``value``, numbering a new one if needed."""
        key = (label_token(label), value)
        with self._lock:
            existing = self._tokens.get(key)
            if existing is not None:
                return existing
            number = self._counters.get(key[0], 0) + 1
            token = f"<{key[0]}_{number}>"
            while token in self._values:  # never reuse a loaded placeholder
                number += 1
                token = f"<{key[0]}_{number}>"
            self._counters[key[0]] = number
            self._tokens[key] = token
            self._values[token] = value
            return token

    def restore(self, text: str) -> str:
        """Put the original values back in place of known placeholders.

        Unknown placeholders are left as they are.
        """
        with self._lock:
            values = dict(self._values)
        return re.sub(r"<[A-Z0-9_]+_\d+>", lambda m: values.get(m.group(), m.group()), text)

    def to_dict(self) -> dict[str, Any]:
        """The mapping as JSON-ready data (contains the raw values)."""
        with self._lock:
            return {
                "version": 1,
                "entries": [
                    {"label": label, "value": value, "token": token}
                    for (label, value), token in self._tokens.items()
                ],
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pseudonymizer:
        """A pseudonymizer that continues a saved mapping."""
        new = cls()
        new._load(data)
        return new

    def _load(self, data: dict[str, Any]) -> None:
        with self._lock:
            for entry in data.get("entries", []):
                # Keyed like token() keys them (a file may hold "full_name"),
                # and numbered from the token itself, so a new value never
                # gets a placeholder that already stands for someone else.
                label, value, token = label_token(entry["label"]), entry["value"], entry["token"]
                known = self._values.get(token)
                if known is not None and known != value:
                    msg = f"placeholder {token} already stands for another value"
                    raise ValueError(msg)
                self._tokens[(label, value)] = token
                self._values[token] = value
                match = re.fullmatch(r"<(.+)_(\d+)>", token)
                if match is not None:
                    prefix, number = match.group(1), int(match.group(2))
                    self._counters[prefix] = max(self._counters.get(prefix, 0), number)

    def save(self, path: str | Path) -> None:
        """Write the mapping to a JSON file (it contains the raw values)."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), "utf-8")

    def load(self, path: str | Path) -> None:
        """Merge a mapping saved with :meth:`save` into this one."""
        self._load(json.loads(Path(path).read_text("utf-8")))
