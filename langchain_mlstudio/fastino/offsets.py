"""Reading a model's offsets whatever unit they count in.

Fastino's own releases have reported positions in different units, and a
server may count UTF-16 code units (JavaScript, Java) or UTF-8 bytes (Rust, Go)
instead of Python's code points. Offsets read in the wrong unit land beside
the value in any text with emoji, accents or CJK. :func:`locate_answer`
therefore works out, per answer, which reading makes every entity's slice
match its ``text``, and fails closed when none does.

Where an entity's fields disagree, the wider reading wins: a ``text`` shorter
than its ``start:end`` slice redacts the whole slice, a slice shorter than the
``text`` redacts the occurrence of the ``text`` around it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_mlstudio.fastino.results import FastinoEntity

__all__ = ["CONVENTIONS", "Reading", "SpanError", "locate_answer", "redacted_readings"]

#: The units offsets may count, in the order they are preferred on a tie.
CONVENTIONS: tuple[str, ...] = ("code points", "UTF-16 units", "UTF-8 bytes")


class SpanError(ValueError):
    """An entity's offsets and text do not match the text it came from."""


@dataclass(frozen=True)
class Reading:
    """Where one entity is in the text it was found in (code point offsets)."""

    start: int
    end: int
    label: str
    score: float
    exact: bool  # the slice equalled the entity's text


def _unit_width(ch: str, convention: str) -> int:
    if convention == "UTF-16 units":
        return 2 if ord(ch) > 0xFFFF else 1
    return len(ch.encode("utf-8", "surrogatepass"))


def _boundaries(text: str, convention: str) -> dict[int, int] | None:
    """Unit offset -> code point offset at every character boundary (``None``: identity)."""
    if convention == "code points" or text.isascii():
        return None
    table = {0: 0}
    units = 0
    for i, ch in enumerate(text):
        units += _unit_width(ch, convention)
        table[units] = i + 1
    return table


def _read(text: str, entity: FastinoEntity, table: dict[int, int] | None) -> Reading | None:
    if table is None:
        start, end = entity.start, entity.end
    else:
        start, end = table.get(entity.start, -1), table.get(entity.end, -1)
    if not 0 <= start < end <= len(text):
        return None
    value, piece = entity.text, text[start:end]
    if piece == value:
        return Reading(start, end, entity.label, entity.score, exact=True)
    if value in piece:  # the text covers less than start:end: redact the slice
        return Reading(start, end, entity.label, entity.score, exact=False)
    if piece in value:  # the slice covers less than the text: the text around it
        first = max(0, end - len(value))
        for pos in range(first, start + 1):
            if text.startswith(value, pos):
                return Reading(pos, pos + len(value), entity.label, entity.score, exact=False)
    return None


def locate_answer(text: str, entities: Sequence[FastinoEntity]) -> list[Reading]:
    """Every entity of one answer, located in ``text`` under the one reading that fits all.

    Each convention of :data:`CONVENTIONS` is tried; it fits when every
    entity's slice matches its ``text`` (or one contains the other). Of those
    that fit, the one with the most exact matches wins.

    Raises:
        SpanError: An entity has no text, or no convention fits every entity.

    Example:
        >>> text = "🙂 Ann"
        >>> utf16 = FastinoEntity(start=3, end=6, label="full_name", text="Ann")
        >>> [(r.start, r.end) for r in locate_answer(text, [utf16])]
        [(2, 5)]
    """
    for entity in entities:
        if not entity.text:
            msg = f"entity {entity.label!r} at {entity.start}:{entity.end} has no text"
            raise SpanError(msg)
    if not entities:
        return []
    best: list[Reading] | None = None
    for convention in CONVENTIONS:
        table = _boundaries(text, convention)
        readings = [_read(text, entity, table) for entity in entities]
        if any(r is None for r in readings):
            continue
        fitted = [r for r in readings if r is not None]
        if best is None or sum(r.exact for r in fitted) > sum(r.exact for r in best):
            best = fitted
    if best is None:
        where = ", ".join(f"{e.label!r} at {e.start}:{e.end}" for e in entities[:5])
        msg = (
            f"the answer's offsets ({where}) match its entities' text in no convention "
            f"({', '.join(CONVENTIONS)})"
        )
        raise SpanError(msg)
    return best


# ``<LABEL>`` in upper case. Labels are free text (zero-shot), so a label may be
# written in any script and with any punctuation (``<PRÉNOM>``, ``<DATE OF BIRTH (DOB)>``).
_BRACKETED = re.compile(r"<([^<>\n]{1,100})>")


def _is_server_placeholder(body: str) -> bool:
    return body == body.upper() and any(c.isalnum() for c in body)


def redacted_readings(text: str, redacted_text: str | None) -> list[Reading]:
    """The spans ``redacted_text`` claims to have replaced, read as widely as it allows.

    ``redacted_text`` is the input with each entity replaced by ``<LABEL>``
    (the label upper case, in any script). Its literal pieces are placed in
    the input as early and as late as they fit; each placeholder covers
    everything between its neighbours in either placement, so no reading of
    the answer redacts less. (Inputs are sent neutralised, so every
    ``<LABEL>`` in the answer is the server's.) A ``redacted_text`` that
    differs from the input without any placeholder says something was
    removed but not what: nothing of it can be trusted.

    Raises:
        SpanError: The pieces around the placeholders are not the input's.

    Example:
        >>> [(r.start, r.end, r.label) for r in redacted_readings("Hi Ann!", "Hi <FULL_NAME>!")]
        [(3, 6, 'full_name')]
    """
    if redacted_text is None or redacted_text == text:
        return []
    pieces: list[str] = []
    labels: list[str] = []
    pos = 0
    for match in _BRACKETED.finditer(redacted_text):
        if _is_server_placeholder(match.group(1)):
            pieces.append(redacted_text[pos : match.start()])
            labels.append(re.sub(r"\W+", "_", match.group(1)).strip("_").lower())
            pos = match.end()
    pieces.append(redacted_text[pos:])
    if not labels:
        msg = "the answer's redacted_text differs from the input but has no <LABEL> placeholder"
        raise SpanError(msg)
    backwards = [p[::-1] for p in reversed(pieces)]
    early = _place(text, pieces)
    late = _place(text[::-1], backwards)
    if early is None or late is None:
        msg = "the answer's redacted_text is not the input with placeholders in it"
        raise SpanError(msg)
    late_starts = [len(text) - r - len(p) for r, p in zip(late, backwards, strict=True)][::-1]
    readings = []
    for i, label in enumerate(labels):
        start = early[i] + len(pieces[i])
        end = late_starts[i + 1]
        if start < end:
            readings.append(Reading(start, end, label, 0.0, exact=False))
    return readings


def _place(text: str, pieces: list[str]) -> list[int] | None:
    """Earliest start of each piece, in order; the first at 0, the last at the end."""
    if not text.startswith(pieces[0]) or not text.endswith(pieces[-1]):
        return None
    starts = [0]
    pos = len(pieces[0])
    for piece in pieces[1:-1]:
        found = text.find(piece, pos)
        if found < 0:
            return None
        starts.append(found)
        pos = found + len(piece)
    last = len(text) - len(pieces[-1])
    if last < pos:
        return None
    starts.append(last)
    return starts
