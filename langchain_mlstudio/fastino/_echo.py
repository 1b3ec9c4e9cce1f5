"""Trust nothing a batch answer says about an input it does not echo.

Three jobs, all about the ``input`` text travelling back in an answer:

- :func:`match_echoes` pairs every answer with the input it echoes, so a batch
  answered in another order is re-matched instead of applying one document's
  entities to another, and an input no answer echoes fails closed;
- :func:`disagreeing` finds texts answered more than once (a duplicated
  answer, identical documents) whose answers say different things, so the
  answer that found less never wins;
- :func:`withhold_echo` and :func:`scrub_error` keep a server message (or an
  error chain, such as a JSON decode error holding the whole body) that quotes
  an input's text out of the errors this package raises.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from langchain_mlstudio.errors import MalformedResponseError, MLStudioError

__all__ = [
    "WITHHELD",
    "contradicted_in_batch",
    "disagreeing",
    "disagreement",
    "echoes",
    "fail_disagreeing",
    "match_echoes",
    "request_key",
    "scrub_error",
    "withhold_echo",
]

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


def _claim(output: Any) -> Any:
    """What an answer's ``output`` says is personal data (scores aside)."""
    if not isinstance(output, dict):
        return repr(output)
    entities = output.get("entities")
    found = (
        sorted(
            repr(tuple(e.get(k) for k in ("start", "end", "label", "text")))
            if isinstance(e, dict)
            else repr(e)
            for e in entities
        )
        if isinstance(entities, list)
        else repr(entities)
    )
    return repr((found, output.get("redacted_text")))


def disagreeing(answers: Sequence[tuple[str, Any]]) -> set[str]:
    """The texts among ``(text, output)`` pairs whose successful outputs disagree.

    An input answered twice (a duplicated answer in a batch, or identical
    documents) must be answered the same way each time; when it is not, the
    less complete answer must not win, so every copy of it fails closed.

    Example:
        >>> named = {"entities": [{"start": 0, "end": 3, "label": "n", "text": "Ann"}]}
        >>> sorted(disagreeing([("Ann", named), ("Ann", {"entities": []}), ("x", {})]))
        ['Ann']
    """
    claims: dict[str, set[Any]] = defaultdict(set)
    for text, output in answers:
        claims[text].add(_claim(output))
    return {text for text, said in claims.items() if len(said) > 1}


def request_key(item: Mapping[str, Any]) -> str:
    """One input object (its text and parameters) as a key.

    Example:
        >>> request_key({"text": "a", "parameters": {"threshold": 0.3}})
        '{"parameters": {"threshold": 0.3}, "text": "a"}'
    """
    return json.dumps(item, sort_keys=True, default=repr)


def contradicted_in_batch(items: Sequence[Mapping[str, Any]], answers: Sequence[Any]) -> set[str]:
    """Texts of one batch that several successes echo, used or surplus, and disagree about.

    A text sent more than once with different parameters may be answered
    differently, so it is not checked.

    Example:
        >>> named = {"entities": [{"start": 0, "end": 3, "label": "n", "text": "Ann"}]}
        >>> answers = [{"input": "Ann", "status": "success", "output": o}
        ...            for o in ({"entities": []}, named)]
        >>> contradicted_in_batch([{"text": "Ann"}, {"text": "Bo"}], answers)
        {'Ann'}
    """
    texts = [item["text"] for item in items]
    alike = {t for t in texts if len({request_key(i) for i in items if i["text"] == t}) == 1}
    return disagreeing(
        [
            (a["input"], a.get("output"))
            for a in answers
            if isinstance(a, dict) and isinstance(a.get("input"), str) and a["input"] in alike
            if _succeeded(a)
        ]
    )


def disagreement(
    index: int, status_code: int | None, request_id: str | None
) -> MalformedResponseError:
    """The error of an input whose answers disagree with each other."""
    return MalformedResponseError(
        f"Fastino's answers for input {index} disagree with its answers for the same text "
        "(a duplicated answer or identical inputs found different entities), so none "
        "of them can be trusted",
        status_code=status_code,
        request_id=request_id,
    )


def fail_disagreeing(keys: Sequence[str], outcomes: list[Any]) -> None:
    """Replace, in place, every result whose input (by ``keys``) was answered otherwise too.

    Example:
        >>> from langchain_mlstudio.fastino.results import FastinoResult
        >>> a = FastinoResult(input="x", status="success", output={"entities": []})
        >>> b = FastinoResult(input="x", status="success", output={"redacted_text": "<A>"})
        >>> outcomes = [a, b]
        >>> fail_disagreeing(["k", "k"], outcomes)
        >>> [type(o).__name__ for o in outcomes]
        ['MalformedResponseError', 'MalformedResponseError']
    """
    results = [(i, o) for i, o in enumerate(outcomes) if hasattr(o, "output")]
    contradicted = disagreeing([(keys[i], o.output) for i, o in results])
    for i, _ in results:
        if keys[i] in contradicted:
            outcomes[i] = disagreement(i, None, None)


_QUOTED = re.compile(
    r"['\"`\u2018\u201c\u00ab]([^'\"`\u2019\u201d\u00bb\n]{2,80})['\"`\u2019\u201d\u00bb]"
)


def _words(text: str) -> set[str]:
    return {w.strip(".-+") for w in _WORD.findall(text)}


def _telling(word: str) -> bool:
    """A word that names something: capitalised, or with a digit or ``@`` (``Wu``, ``5551``)."""
    return len(word) >= 2 and (word[0].isupper() or any(c.isdigit() or c == "@" for c in word))


def echoes(said: str, texts: Sequence[str]) -> bool:
    """Whether ``said`` quotes any of ``texts``.

    It does when it holds a text whole, any 8-character run of one, whole
    words of 6+ characters of one, a quoted fragment (``'bo'``) of one, or one
    of its words that names something (capitalised, with a digit or ``@``:
    ``Wu``, ``5551``): short names and numbers are personal data too.
    Deliberately eager: a harmless message that happens to share a run with an
    input is withheld too, which costs a hint, never personal data.

    Example:
        >>> echoes("input 'Call Jamie Derran' too long", ["Call Jamie Derran at 9"])
        True
        >>> echoes("bad token: Wu", ["Call Li Wu"])
        True
        >>> echoes("Unauthorized", ["Call Jamie Derran at 9"])
        False
    """
    telling = {w for w in _words(said) if _telling(w)}
    quoted = [q.strip() for q in _QUOTED.findall(said)]
    for text in texts:
        if telling & _words(text) or any(len(q) >= 2 and q in text for q in quoted):
            return True
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
