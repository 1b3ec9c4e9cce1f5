"""Emulated Fastino ``POST /run`` with a deterministic PII detector.

The detector is a set of regular expressions and a list of person names, good
enough for demos and tests: e-mail addresses, phone numbers, credit card
numbers (Luhn-checked), IBANs (checksum-checked), IPv4 addresses, usernames
(after a cue such as "username"), dates (of birth only after a cue such as
"born"), times and "First Last" names built from a fixed list. Each detector has a fixed
score, so ``threshold`` behaves predictably.

The answer has the shape of Fastino's documented example: a JSON array with one
``{"input", "latency_ms", "message", "output": {"entities", "redacted_text"},
"status"}`` object per input, in input order.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from langchain_mlstudio.emulator._server import (
    EmulatedRequest,
    EmulatedResponse,
    Route,
    Service,
)

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


@dataclass
class FastinoCall:
    """One ``/run`` request the service handled (after authentication)."""

    arrived_at: float
    inputs: int
    model_id: str | None
    status: int


class FastinoService(Service):
    """Fastino's ``/run`` API.

    Args:
        api_key: The key the ``x-api-key`` header must carry.
        max_text_length: The longest ``text`` accepted (characters).
        max_batch_size: The most inputs one request may carry (1 emulates
            the Build plan; Pro and Team accept batches).
        latency: Seconds added to every request (simulated inference time).
        default_threshold: The endpoint's threshold when a request sends none.
        fail_marker: Inputs containing this string come back with
            ``"status": "error"`` (a per-input failure); ``None`` disables it.
        offset_unit: What entity offsets count: ``"code points"`` (Python's
            ``str`` indices), ``"UTF-16 units"`` (as JavaScript or Java count)
            or ``"UTF-8 bytes"`` (as Rust or Go count), to test that clients
            check the convention instead of assuming one.
        answer_order: ``"input"`` answers a batch in input order;
            ``"reversed"`` answers it backwards (each answer still echoes its
            ``input``), to test that clients match answers by their echo.

    Attributes:
        calls: Every handled request: arrival time (``time.monotonic()``,
            taken before ``latency``), number of inputs, model id and status.

    Example:
        >>> svc = FastinoService(api_key="k", max_batch_size=8)
        >>> svc.max_batch_size
        8
    """

    name = "fastino"

    def __init__(
        self,
        *,
        api_key: str,
        max_text_length: int = 20_000,
        max_batch_size: int = 64,
        latency: float = 0.0,
        default_threshold: float = 0.5,
        fail_marker: str | None = None,
        offset_unit: str = "code points",
        answer_order: str = "input",
    ) -> None:
        self.api_key = api_key
        self.max_text_length = max_text_length
        self.max_batch_size = max_batch_size
        self.latency = latency
        self.default_threshold = default_threshold
        self.fail_marker = fail_marker
        self.offset_unit = offset_unit
        self.answer_order = answer_order
        self._lock = threading.Lock()
        self.calls: list[FastinoCall] = []

    # -- stats -------------------------------------------------------------

    @property
    def requests(self) -> int:
        """How many authenticated ``/run`` requests were handled."""
        with self._lock:
            return len(self.calls)

    @property
    def batch_sizes(self) -> list[int]:
        """Inputs per successful request, in arrival order."""
        with self._lock:
            return [c.inputs for c in self.calls if c.status == 200]

    def arrivals(self) -> list[float]:
        """Arrival times of every handled request, sorted."""
        with self._lock:
            return sorted(c.arrived_at for c in self.calls)

    def reset(self) -> None:
        """Forget the recorded calls."""
        with self._lock:
            self.calls.clear()

    # -- HTTP --------------------------------------------------------------

    def routes(self) -> list[Route]:
        """``POST /run``."""
        return [Route("POST", re.compile(r"/run"), self._run)]

    def authenticate(self, request: EmulatedRequest) -> EmulatedResponse | None:
        """Check ``x-api-key``; Fastino answers 401 with a ``message``."""
        if request.header("x-api-key") != self.api_key:
            return EmulatedResponse(401, {"message": "Unauthorized"})
        return None

    def _record(self, arrived: float, inputs: int, model_id: Any, status: int) -> None:
        with self._lock:
            self.calls.append(
                FastinoCall(
                    arrived, inputs, model_id if isinstance(model_id, str) else None, status
                )
            )

    def _run(self, request: EmulatedRequest, _match: re.Match[str]) -> EmulatedResponse:
        arrived = time.monotonic()
        body = request.json
        inputs = body.get("input") if isinstance(body, dict) else None
        n_inputs = len(inputs) if isinstance(inputs, list) else 0
        model_id = body.get("model_id") if isinstance(body, dict) else None
        problem = self._validate(request)
        if problem is not None:
            self._record(arrived, n_inputs, model_id, problem.status)
            return problem
        self._record(arrived, n_inputs, model_id, 200)
        if self.latency > 0:
            time.sleep(self.latency)
        assert isinstance(inputs, list)  # noqa: S101 - checked by _validate
        answers = [self._answer(item) for item in inputs]
        if self.answer_order == "reversed":
            answers.reverse()
        return EmulatedResponse(200, answers)

    def _validate(self, request: EmulatedRequest) -> EmulatedResponse | None:
        def bad(message: str) -> EmulatedResponse:
            return EmulatedResponse(400, {"message": message})

        body = request.json
        if request.json_error or not isinstance(body, dict):
            return bad("Request body must be a JSON object.")
        model_id = body.get("model_id")
        if not isinstance(model_id, str) or not model_id:
            return bad("model_id is required.")
        if not model_id.startswith("fastino-pii"):
            return EmulatedResponse(404, {"message": f"Model {model_id} not found."})
        inputs = body.get("input")
        if not isinstance(inputs, list) or not inputs:
            return bad("input must be a non-empty array.")
        if len(inputs) > self.max_batch_size:
            return bad(
                f"Batch of {len(inputs)} inputs exceeds the maximum of "
                f"{self.max_batch_size} for your plan."
            )
        for i, item in enumerate(inputs):
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                return bad(f"input[{i}].text must be a string.")
            if len(item["text"]) > self.max_text_length:
                return bad(f"input[{i}].text is longer than {self.max_text_length} characters.")
            params = item.get("parameters")
            if params is None:
                continue
            if not isinstance(params, dict):
                return bad(f"input[{i}].parameters must be an object.")
            types = params.get("entity_types")
            if types is not None and (
                not isinstance(types, list) or not all(isinstance(t, str) for t in types)
            ):
                return bad(f"input[{i}].parameters.entity_types must be strings.")
            threshold = params.get("threshold")
            if threshold is not None and (
                isinstance(threshold, bool)
                or not isinstance(threshold, int | float)
                or not 0 <= threshold <= 1
            ):
                return bad(f"input[{i}].parameters.threshold must be between 0 and 1.")
        return None

    def _answer(self, item: dict[str, Any]) -> dict[str, Any]:
        text: str = item["text"]
        started = time.perf_counter()
        if self.fail_marker is not None and self.fail_marker in text:
            return {
                "input": text,
                "latency_ms": 0.0,
                "message": "Inference failed for this input.",
                "output": {},
                "status": "error",
            }
        params = item.get("parameters") or {}
        threshold = params.get("threshold")
        entities = detect(
            text,
            params.get("entity_types"),
            self.default_threshold if threshold is None else float(threshold),
        )
        redacted = redact(text, entities)
        return {
            "input": text,
            "latency_ms": round((time.perf_counter() - started) * 1000 + self.latency * 1000, 2),
            "message": "Responses from endpoint.",
            "output": {
                "entities": [self._in_unit(text, e) for e in entities],
                "redacted_text": redacted,
            },
            "status": "success",
        }

    def _in_unit(self, text: str, entity: dict[str, Any]) -> dict[str, Any]:
        if self.offset_unit == "code points":
            return entity
        codec, width = ("utf-16-le", 2) if self.offset_unit == "UTF-16 units" else ("utf-8", 1)

        def units(index: int) -> int:
            return len(text[:index].encode(codec, "surrogatepass")) // width

        return {**entity, "start": units(entity["start"]), "end": units(entity["end"])}
