"""``Pseudonymizer``: the ``pseudonymize`` strategy's mapping of values to numbered placeholders.

It issues ``<FULL_NAME_1_K7Q2X>`` tokens, restores them in a model's answer
(scoped to what the model saw) and saves itself to an owner-only file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from langchain_mlstudio.fastino.placeholders import ISSUED, candidates, canonical
from langchain_mlstudio.fastino.strategies import label_token

__all__ = ["Pseudonymizer", "write_private"]

_NAMESPACE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"  # no vowels: tokens spell no words


class Pseudonymizer:
    """Numbered placeholders (``<FULL_NAME_1_K7Q2X>``) consistent across documents.

    The same ``(label, value)`` always gets the same placeholder from one
    mapping, so retrieval still links one person across chunks;
    :meth:`restore` puts the originals back into a model's answer.

    Every mapping has its own ``namespace`` (five random characters, the last
    part of each token), so a token issued by one mapping never resolves in
    another one that did not load it, and a guessed number alone resolves
    nothing. Copies and pickles start with an empty mapping in a new
    namespace: raw values never travel to a worker; merge a worker's mapping
    back with :meth:`from_dict` / :meth:`load` if its answers are to be
    restored. The mapping holds the raw values: a saved file is created with
    owner-only permissions.

    Args:
        namespace: Upper-case letters and digits ending every token; random
            when left out (fix it only for reproducible examples).

    Example:
        >>> p = Pseudonymizer(namespace="DOC")
        >>> p.token("full_name", "Jamie Derran")
        '<FULL_NAME_1_DOC>'
        >>> p.restore("Ask <FULL_NAME_1_DOC>, not <FULL_NAME_2_DOC>.")
        'Ask Jamie Derran, not <FULL_NAME_2_DOC>.'
    """

    def __init__(self, namespace: str | None = None) -> None:
        if namespace is None:
            namespace = "".join(secrets.choice(_NAMESPACE_ALPHABET) for _ in range(5))
        if not re.fullmatch(r"[A-Z0-9]{1,16}", namespace):
            msg = "namespace must be 1 to 16 upper-case letters or digits"
            raise ValueError(msg)
        self.namespace = namespace
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}  # canonical token body -> value
        self._counters: dict[str, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        # A copy or pickle carries no raw value: it starts empty, numbering in
        # a namespace of its own, so its tokens never collide with these.
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def __len__(self) -> int:
        return len(self._values)

    def token(self, label: str, value: str) -> str:
        """The placeholder of ``value``, numbering a new one if needed."""
        key = (label_token(label), value)
        with self._lock:
            existing = self._tokens.get(key)
            if existing is not None:
                return existing
            number = self._counters.get(key[0], 0)
            while True:  # never reuse a loaded placeholder
                number += 1
                body = f"{key[0]}_{number}_{self.namespace}"
                if body not in self._values:
                    break
            self._counters[key[0]] = number
            token = f"<{body}>"
            self._tokens[key] = token
            self._values[body] = value
            return token

    @staticmethod
    def scope_of(seen: Iterable[str | Document]) -> frozenset[str]:
        """The placeholders (canonical bodies) written exactly in what a model saw.

        ``seen`` holds texts, documents (their text and string metadata) or
        the tokens themselves. A neutralised ``‹FULL_NAME_1›`` planted in an
        input is not a placeholder, so it never enters a scope.

        Example:
            >>> sorted(Pseudonymizer.scope_of(["Ask <FULL_NAME_1_DOC>", "‹EMAIL_1_DOC›"]))
            ['FULL_NAME_1_DOC']
        """
        found: set[str] = set()
        for item in seen:
            texts = [item] if isinstance(item, str) else _document_texts(item)
            for text in texts:
                found.update(m.group()[1:-1] for m in ISSUED.finditer(text))
        return frozenset(found)

    def restore(self, text: str, *, scope: Iterable[str | Document] | None = None) -> str:
        """Put the original values back in place of this mapping's placeholders.

        A placeholder is found also where an LLM changed its case, put spaces
        inside the brackets or for ``_``, used full-width brackets or doubled
        them (``<<...>>``); it is replaced whole, brackets included, or left
        exactly as it is. Unknown placeholders and, with ``scope``, every
        placeholder not written in ``scope`` are left as they are.

        Args:
            text: A model's answer.
            scope: What the model saw (the documents or texts given to it, or
                the tokens themselves); only placeholders written there are
                restored, so a token the model did not see (guessed, injected
                into the question, or from another conversation) stays a token.

        Example:
            >>> p = Pseudonymizer(namespace="DOC")
            >>> a, b = p.token("full_name", "Ann Lee"), p.token("full_name", "Bo Kim")
            >>> p.restore("Ask < full name 1 doc > and <<FULL_NAME_2_DOC>>", scope=[a])
            'Ask Ann Lee and <<FULL_NAME_2_DOC>>'
        """
        allowed = None if scope is None else self.scope_of(scope)
        with self._lock:
            values = dict(self._values)

        def swap(match: re.Match[str]) -> str:
            body = canonical(match.group("body"))
            value = values.get(body)
            if value is None or (allowed is not None and body not in allowed):
                return match.group()
            return value

        return "".join(swap(m) if isinstance(m, re.Match) else m for m in _split_candidates(text))

    def to_dict(self) -> dict[str, Any]:
        """The mapping as JSON-ready data (contains the raw values)."""
        with self._lock:
            return {
                "version": 2,
                "namespace": self.namespace,
                "entries": [
                    {"label": label, "value": value, "token": token}
                    for (label, value), token in self._tokens.items()
                ],
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, namespace: str | None = None) -> Pseudonymizer:
        """A pseudonymizer whose tokens include a saved mapping's.

        New tokens are numbered in ``namespace`` (a new random one by
        default), so the copy and the original never issue one token for two
        values.
        """
        new = cls(namespace)
        new._load(data)
        return new

    def merge(self, data: dict[str, Any]) -> None:
        """Merge a mapping given as :meth:`to_dict` data into this one.

        Its tokens resolve here from then on; new tokens keep this mapping's
        own namespace.

        Raises:
            ValueError: A token of ``data`` already stands for another value.

        Example:
            >>> a, b = Pseudonymizer(namespace="A"), Pseudonymizer(namespace="B")
            >>> token = a.token("email", "x@y.example")
            >>> b.merge(a.to_dict())
            >>> b.restore(token)
            'x@y.example'
        """
        self._load(data)

    def _load(self, data: dict[str, Any]) -> None:
        with self._lock:
            for entry in data.get("entries", []):
                # Keyed like token() keys them (a file may hold "full_name"),
                # and numbered from the token itself, so a new value never
                # gets a placeholder that already stands for someone else.
                label, value, token = label_token(entry["label"]), entry["value"], entry["token"]
                body = canonical(str(token).strip("<>"))
                known = self._values.get(body)
                if known is not None and known != value:
                    msg = f"placeholder {token} already stands for another value"
                    raise ValueError(msg)
                self._tokens.setdefault((label, value), token)
                self._values[body] = value
                match = re.fullmatch(r"(.+)_(\d+)_([A-Z0-9]+)", body)
                if match is not None and match.group(3) == self.namespace:
                    prefix, number = match.group(1), int(match.group(2))
                    self._counters[prefix] = max(self._counters.get(prefix, 0), number)

    def save(self, path: str | Path) -> None:
        """Write the mapping to a JSON file readable by its owner only (0600).

        The file is written next to ``path`` under a temporary name created
        with mode 0600 and then renamed over ``path``, so no reader ever sees
        a partial file or one with wider permissions, whatever the umask.
        """
        write_private(Path(path), json.dumps(self.to_dict(), ensure_ascii=False))

    def load(self, path: str | Path) -> None:
        """Merge a mapping saved with :meth:`save` into this one.

        Its tokens resolve here from then on; new tokens keep this mapping's
        own namespace.
        """
        self._load(json.loads(Path(path).read_text("utf-8")))


def _document_texts(doc: Document) -> list[str]:
    texts = [doc.page_content]
    texts.extend(v for v in doc.metadata.values() if isinstance(v, str))
    return texts


def _split_candidates(text: str) -> list[str | re.Match[str]]:
    parts: list[str | re.Match[str]] = []
    pos = 0
    for match in candidates(text):
        parts.append(text[pos : match.start()])
        parts.append(match)
        pos = match.end()
    parts.append(text[pos:])
    return parts


def write_private(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` atomically, the file readable by its owner only.

    Example:
        >>> import os, stat, tempfile
        >>> target = Path(tempfile.mkdtemp()) / "m.json"
        >>> write_private(target, "{}")
        >>> oct(stat.S_IMODE(os.stat(target).st_mode))
        '0o600'
    """
    folder = path.parent
    # mkstemp creates the file with mode 0600 (a umask can only remove bits).
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        if hasattr(os, "fchmod"):  # and say so explicitly where the platform can
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
