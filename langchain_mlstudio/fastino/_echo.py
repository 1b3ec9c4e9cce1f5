"""Trust nothing a batch answer says about an input it does not echo.

Two jobs, both about the ``input`` text travelling back in an answer:

- :func:`match_echoes` pairs every answer with the input it echoes, so a batch
  answered in another order is re-matched instead of applying one document's
  entities to another, and an input no answer echoes fails closed;
- :func:`withhold_echo` and :func:`scrub_error` keep a server message (or an
  error chain, such as a JSON decode error holding the whole body) that quotes
  an input's text out of the errors this package raises.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

import httpx

from langchain_mlstudio.errors import MLStudioError

__all__ = ["WITHHELD", "echoes", "match_echoes", "scrub_error", "withhold_echo"]

#: What an error says instead of a server message that quotes the input.
WITHHELD = "(withheld: it quotes the input text)"

_WINDOW = 8  # a shared run this long is treated as an echo (a short name or phone number)
_SHORT = 3  # an input at least this long, found whole in a message, is an echo
_SHORT_RUN = 6  # whole words of the message this long, found in an input, are an echo
_WORD = re.compile(r"[\w@+.-]+")


def _succeeded(answer: Any) -> bool:
    status = answer.get("status") if isinstance(answer, dict) else None
    return isinstance(status, str) and status.lower() == "success"


def match_echoes(texts: Sequence[str], answers: Sequence[Any]) -> list[int | None]:
    """For each sent text, the position of the answer that echoes it (or ``None``).

    An answer echoes a text when its ``input`` equals it exactly. Equal texts
    are interchangeable, so they take the answers echoing them in order. An
    answer that echoes nothing is used only if it is not a success (a failed
    input's answer may carry no echo, and trusts nothing): such answers go, in
    order, to the texts left over. A success that echoes no text is never used.

    Example:
        >>> ok = [{"input": t, "status": "success"} for t in ("b", "a", "x")]
        >>> match_echoes(["a", "b", "c"], ok)
        [1, 0, None]
        >>> match_echoes(["a", "b"], [{"status": "error"}, {"input": "a", "status": "success"}])
        [1, 0]
    """
    by_echo: dict[str, deque[int]] = defaultdict(deque)
    for position, answer in enumerate(answers):
        echo = answer.get("input") if isinstance(answer, dict) else None
        if isinstance(echo, str):
            by_echo[echo].append(position)
    matched: list[int | None] = []
    for text in texts:
        queue = by_echo.get(text)
        matched.append(queue.popleft() if queue else None)
    used = {slot for slot in matched if slot is not None}
    failures = deque(p for p, a in enumerate(answers) if p not in used and not _succeeded(a))
    return [slot if slot is not None or not failures else failures.popleft() for slot in matched]


def echoes(said: str, texts: Sequence[str]) -> bool:
    """Whether ``said`` quotes any of ``texts``: whole, any 8-character run, or whole words of 6+.

    Deliberately eager: a harmless message that happens to share a run with an
    input is withheld too, which costs a hint, never personal data.

    Example:
        >>> echoes("input 'Call Jamie Derran' too long", ["Call Jamie Derran at 9"])
        True
        >>> echoes("Unauthorized", ["Call Jamie Derran at 9"])
        False
    """
    words = [m.span() for m in _WORD.finditer(said)]
    # Runs of whole words of at least _SHORT_RUN characters ("Ann Lee", "a@b.co").
    runs = [
        said[start:end]
        for i, (start, _) in enumerate(words)
        for _, end in words[i:]
        if end - start >= _SHORT_RUN
    ]
    for text in texts:
        stripped = text.strip()
        if len(stripped) >= _SHORT and stripped in said:
            return True
        if any(said[i : i + _WINDOW] in text for i in range(len(said) - _WINDOW + 1)):
            return True
        if any(run in text for run in runs):
            return True
    return False


def withhold_echo(said: str | None, texts: Sequence[str]) -> str | None:
    """``said``, or :data:`WITHHELD` when it quotes one of ``texts``.

    Example:
        >>> withhold_echo("bad input: Jamie Derran", ["Jamie Derran"])
        '(withheld: it quotes the input text)'
    """
    if said is None or not echoes(said, texts):
        return said
    return WITHHELD


def scrub_error(err: MLStudioError, texts: Sequence[str]) -> MLStudioError:
    """``err`` without a server message, details or chained error that may quote ``texts``.

    The chain is cut (a ``JSONDecodeError`` keeps the whole body it failed
    on), except for an ``httpx`` transport error, which carries no body.

    Example:
        >>> from langchain_mlstudio.errors import BadRequestError
        >>> err = BadRequestError("Rejected", server_message="no 'Jamie Derran'")
        >>> scrub_error(err, ["Hi Jamie Derran"]).server_message
        '(withheld: it quotes the input text)'
    """
    said = withhold_echo(err.server_message, texts)
    details = err.details
    if details is not None and echoes(repr(details), texts):
        details = None
    cause = err.__cause__
    if said != err.server_message or details is not err.details:
        # Rebuild through the pickle protocol, which renders the text anew.
        rebuild, (cls, state) = err.__reduce__()[:2]
        err = rebuild(cls, {**state, "server_message": said, "details": details})
    if isinstance(cause, httpx.TransportError):
        err.__cause__ = cause
    else:
        err.__cause__ = None
        err.__suppress_context__ = True
        err.__context__ = None
    return err
