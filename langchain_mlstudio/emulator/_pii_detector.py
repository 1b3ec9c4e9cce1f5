"""The emulated Fastino PII model: regular expressions, checksums and a list of names.

Good enough for demos and tests: e-mail addresses, phone numbers, credit card
numbers (Luhn-checked), IBANs (checksum-checked), IPv4 addresses, usernames
(after a cue such as "username"), dates (of birth only after a cue such as
"born"), times and "First Last" names built from a fixed list. Each detector
has a fixed score, so ``threshold`` behaves predictably.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DETECTORS",
    "FIRST_NAMES",
    "LABEL_ALIASES",
    "LAST_NAMES",
    "Detector",
    "detect",
    "iban_valid",
    "luhn_valid",
    "redact",
]

FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael",
    "Linda", "David", "Elizabeth", "William", "Barbara", "Maria", "Thomas",
    "Sarah", "Jamie", "Anna", "Lukas", "Sofia", "Ahmed", "Mei", "Carlos",
    "Emma", "Oliver", "Priya", "Hans", "Fatima", "Noah", "Olga", "Kenji",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
    "Davis", "Rodriguez", "Martinez", "Müller", "Schmidt", "Schneider",
    "Fischer", "Weber", "Derran", "Rossi", "Dubois", "Nguyen", "Kim",
    "Tanaka", "Kowalski", "Novak", "Silva", "Khan", "Patel", "Ivanova",
    "Hansen", "Larsen", "Okafor",
)  # fmt: skip


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum.

    Example:
        >>> luhn_valid("4111111111111111")
        True
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """Whether an IBAN (spaces allowed) passes the mod-97 checksum.

    Example:
        >>> iban_valid("DE89 3704 0044 0532 0130 00")
        True
    """
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|"
    "November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)


@dataclass(frozen=True)
class Detector:
    """One kind of PII: a pattern, an optional check and a fixed score."""

    label: str
    pattern: re.Pattern[str]
    score: float
    check: Callable[[str], bool] | None = None
    group: str | int = 0  # the part of the match that is the value (after its cue)

    def find(self, text: str) -> Iterable[tuple[int, int]]:
        """The ``(start, end)`` of every accepted match."""
        for match in self.pattern.finditer(text):
            if self.check is None or self.check(match.group()):
                yield match.start(self.group), match.end(self.group)


def _card_check(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _phone_check(value: str) -> bool:
    return 7 <= len(re.sub(r"\D", "", value)) <= 15


def _username_check(value: str) -> bool:
    """After a bare cue (``username priya_p``) the value must look like a handle."""
    match = _USERNAME.fullmatch(value)
    return match is not None and bool(match.group("sep") or re.search(r"[_.\d@]", match["value"]))


_USERNAME = re.compile(
    r"(?i)\b(?:user ?name|user id|login|handle)(?P<sep>\s*[:=]|\s+is\b)?\s*"
    r"(?P<value>@?[A-Za-z0-9][A-Za-z0-9_.-]{1,31}(?<![.-]))"
)
#: Words before a date that make it a date of birth.
_BIRTH_CUE = re.compile(r"(?i)born|birth|\bd\.?o\.?b\b")
_BIRTH_LABELS = {"date_of_birth", "birth_date", "dob", "birthday"}


# Order matters: earlier detectors win when matches overlap.
DETECTORS: tuple[Detector, ...] = (
    Detector(
        "email",
        re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
        0.99,
    ),
    Detector(
        "iban",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
        0.96,
        iban_valid,
    ),
    Detector(
        "credit_card_number",
        re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"),
        0.97,
        _card_check,
    ),
    Detector(
        "ip_address",
        re.compile(
            r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
            r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)"
        ),
        0.93,
    ),
    Detector("username", _USERNAME, 0.8, _username_check, "value"),
    Detector(
        "date",
        re.compile(
            r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
            rf"|\d{{1,2}} (?:{_MONTHS})\.? \d{{4}}|(?:{_MONTHS})\.? \d{{1,2}}, \d{{4}})\b"
        ),
        0.85,
    ),
    Detector(
        "time",
        re.compile(
            r"\b(?:\d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp]\.?[Mm]\.?)?"
            r"|\d{1,2} ?(?:AM|PM|am|pm|a\.m\.|p\.m\.))(?!\w)"
        ),
        0.6,
    ),
    Detector(
        "phone_number",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?"
            r"\d{2,5}(?:[ .-]?\d{2,5}){1,4}(?!\w)"
        ),
        0.9,
        _phone_check,
    ),
    Detector(
        "full_name",
        re.compile(rf"\b(?:{'|'.join(FIRST_NAMES)})\s+(?:{'|'.join(LAST_NAMES)})(?!\w)"),
        0.95,
    ),
)

_BY_LABEL = {d.label: d for d in DETECTORS}

#: Free-text labels (normalised: lower case, ``_`` for spaces) and the
#: detector each one selects. Unknown labels detect nothing.
LABEL_ALIASES: dict[str, str] = {
    "full_name": "full_name",
    "name": "full_name",
    "person": "full_name",
    "person_name": "full_name",
    "email": "email",
    "email_address": "email",
    "e_mail": "email",
    "phone": "phone_number",
    "phone_number": "phone_number",
    "telephone_number": "phone_number",
    "mobile_number": "phone_number",
    "credit_card": "credit_card_number",
    "credit_card_number": "credit_card_number",
    "card_number": "credit_card_number",
    "iban": "iban",
    "iban_code": "iban",
    "ip": "ip_address",
    "ip_address": "ip_address",
    "date": "date",
    "date_of_birth": "date",
    "birth_date": "date",
    "dob": "date",
    "birthday": "date",
    "username": "username",
    "user_name": "username",
    "user_id": "username",
    "login": "username",
    "handle": "username",
    "time": "time",
}


def _normalise(label: str) -> str:
    return re.sub(r"[\s\-]+", "_", label.strip().lower())


def detect(
    text: str,
    entity_types: list[str] | None = None,
    threshold: float = 0.5,
) -> list[dict[str, Any]]:
    """Find PII in ``text`` the way the emulated model does.

    Args:
        text: The input text.
        entity_types: Requested labels (free text); each entity carries the
            label it was requested under, except that a date asked for as a
            date of birth is labelled ``date`` unless a cue before it
            ("born", "birth", "DOB") says it is one. ``None``: every detector
            with its own label.
        threshold: Entities scoring below it are left out.

    Example:
        >>> [e["label"] for e in detect("Mail jamie@example.com")]
        ['email']
        >>> [(e["label"], e["text"]) for e in detect(
        ...     "Ordered 2026-11-03 by username priya_p, born 1990-04-12",
        ...     ["date_of_birth", "username"])]
        [('date', '2026-11-03'), ('username', 'priya_p'), ('date_of_birth', '1990-04-12')]
    """
    wanted: list[tuple[list[str], Detector]]
    if entity_types is None:
        wanted = [([d.label], d) for d in DETECTORS]
    else:
        requested: dict[str, list[str]] = {}
        for label in entity_types:
            key = LABEL_ALIASES.get(_normalise(label))
            if key is not None:
                requested.setdefault(key, []).append(label)
        wanted = [(requested[d.label], d) for d in DETECTORS if d.label in requested]
    taken: list[tuple[int, int]] = []
    entities: list[dict[str, Any]] = []
    for labels, detector in wanted:
        if detector.score < threshold:
            continue
        for start, end in detector.find(text):
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            label = labels[0]
            if detector.label == "date":
                label = _date_label(labels, text[max(0, start - 40) : start], entity_types is None)
            entities.append(
                {
                    "start": start,
                    "end": end,
                    "label": label,
                    "text": text[start:end],
                    "score": detector.score,
                }
            )
    entities.sort(key=lambda e: e["start"])
    return entities


def _date_label(labels: list[str], before: str, own_labels: bool) -> str:
    """A date is a date of birth only after a cue such as "born" or "birth".

    Example:
        >>> _date_label(["date_of_birth"], "ordered on ", False)
        'date'
        >>> _date_label(["date_of_birth"], "Date of birth: ", False)
        'date_of_birth'
    """
    birth = [label for label in labels if _normalise(label) in _BIRTH_LABELS]
    plain = [label for label in labels if _normalise(label) not in _BIRTH_LABELS]
    if _BIRTH_CUE.search(before):
        if birth:
            return birth[0]
        return "date_of_birth" if own_labels else plain[0]
    return plain[0] if plain else "date"


def redact(text: str, entities: list[dict[str, Any]]) -> str:
    """Replace each entity with ``<LABEL>`` in upper case, as Fastino does.

    Example:
        >>> redact("Hi Jamie", [{"start": 3, "end": 8, "label": "full_name"}])
        'Hi <FULL_NAME>'
    """
    out: list[str] = []
    pos = 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        out.append(text[pos : entity["start"]])
        out.append("<" + _normalise(entity["label"]).upper() + ">")
        pos = entity["end"]
    out.append(text[pos:])
    return "".join(out)
