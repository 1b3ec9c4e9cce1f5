"""Scripted answers for the emulated generate-job API.

A *responder* takes one conversation (the API's ``[{"role", "content"}]``)
and returns the answer text, or ``None`` to leave it to the next responder
(and finally to the echo). Set one on ``emulator.generate.responder``, or
start the command-line emulator with ``--responses FILE``.

- :class:`RuleTable`: a pattern on the last user message (or a callable) to an
  answer (text or a callable).
- :class:`SchemaResponder`: answers this package's structured-output
  instruction with a valid instance of the JSON schema, JSON mode with an
  object of the keys the prompt quotes, and a prompted tool instruction with
  a valid call (or, after tool results, with a text answer). Values come from
  the user's message where it has them (numbers, quoted strings, enum words).
- :class:`Malformed`: a fault knob that breaks a set share of JSON answers
  (broken JSON, a missing field, prose around the object), so re-asks can be
  tested and measured. Which answers break follows from a hash of the
  conversation, so a run is reproducible whatever the order of jobs.

Example:
    >>> table = RuleTable([Rule(r"(?i)refund", '{"category": "billing"}')])
    >>> responder = Responders([table, SchemaResponder()])
    >>> responder([{"role": "user", "content": "I want a REFUND"}])
    '{"category": "billing"}'
    >>> responder([{"role": "user", "content": "Hello"}]) is None
    True
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_mlstudio.chat_models._instructions import (
    JSON_ONLY,
    REASK_PREFIX,
    SCHEMA_TAG,
    TOOL_CHOICE_TAG,
    TOOL_ERROR_PREFIX,
    TOOL_RESULT_PREFIX,
    TOOLS_TAG,
)
from langchain_mlstudio.chat_models._jsonschema import resolve_ref

__all__ = [
    "KINDS",
    "Conversation",
    "Malformed",
    "Responder",
    "Responders",
    "Rule",
    "RuleTable",
    "SchemaResponder",
    "corrupt",
    "instance_of",
    "last_user_text",
    "load_responses",
]

#: One conversation of the generate-job API: its messages, oldest first.
Conversation = list[dict[str, Any]]
#: Answers a conversation, or returns ``None`` to leave it to the next responder.
Responder = Callable[[Conversation], "str | None"]

_TOOL_PREFIXES = (TOOL_RESULT_PREFIX, TOOL_ERROR_PREFIX)
_WORD = re.compile(r"[A-Za-z]{3,}")
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if p.get("type") == "text")


def _without_reasks(conversation: Conversation) -> Conversation:
    """The conversation before any (bad answer, re-ask) pairs at its end."""
    out = list(conversation)
    while (
        len(out) >= 2
        and out[-1].get("role") == "user"
        and _text(out[-1]).startswith(REASK_PREFIX)
        and out[-2].get("role") == "assistant"
    ):
        del out[-2:]
    return out


def last_user_text(conversation: Conversation) -> str:
    r"""The text of the last user message that is not a tool result or a re-ask.

    Example:
        >>> last_user_text([{"role": "user", "content": "Hi"},
        ...                 {"role": "user", "content": "Tool result for call c (f):\n1"}])
        'Hi'
    """
    for message in reversed(conversation):
        text = _text(message)
        if message.get("role") == "user" and not text.startswith((*_TOOL_PREFIXES, REASK_PREFIX)):
            return text
    return ""


def _system_text(conversation: Conversation) -> str:
    return "\n".join(_text(m) for m in conversation if m.get("role") == "system")


def _tag(text: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", text, re.DOTALL)
    return match.group(1) if match else None


# -- rule table ---------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One scripted answer.

    Attributes:
        pattern: A regular expression searched in the last user message, or a
            callable taking the conversation and returning True to match.
        answer: The answer text, or a callable from the conversation to it.

    Example:
        >>> Rule(r"(?i)hello", "Hi!")([{"role": "user", "content": "HELLO"}])
        'Hi!'
    """

    pattern: str | Callable[[Conversation], bool]
    answer: str | Callable[[Conversation], str]

    def __call__(self, conversation: Conversation) -> str | None:
        """The answer if the rule matches, else ``None``."""
        if callable(self.pattern):
            matched = self.pattern(conversation)
        else:
            matched = re.search(self.pattern, last_user_text(conversation)) is not None
        if not matched:
            return None
        return self.answer(conversation) if callable(self.answer) else self.answer


class Responders:
    """The first responder that answers (not ``None``).

    Example:
        >>> Responders([lambda c: None, lambda c: "second"])([{"role": "user", "content": "x"}])
        'second'
    """

    def __init__(self, responders: Sequence[Responder]) -> None:
        self.responders = list(responders)

    def __call__(self, conversation: Conversation) -> str | None:
        """Ask each responder in order."""
        for responder in self.responders:
            answer = responder(conversation)
            if answer is not None:
                return answer
        return None


class RuleTable(Responders):
    """The first matching rule's answer; ``None`` when no rule matches.

    Example:
        >>> RuleTable([Rule(lambda c: len(c) > 1, "long"), Rule("", "short")])(
        ...     [{"role": "user", "content": "x"}])
        'short'
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        super().__init__(rules)

    @property
    def rules(self) -> list[Responder]:
        """The rules, in the order they are tried."""
        return self.responders


# -- schema-following ---------------------------------------------------------


class _Hints:
    """Values the user's message offers: numbers and quoted strings, in order."""

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self.quoted = [a or b for a, b in _QUOTED.findall(text)]
        self.numbers = [float(n) for n in _NUMBER.findall(text)]


def _enum_value(options: Sequence[Any], hints: _Hints) -> Any:
    lowered = hints.text.lower()
    for option in options:
        if str(option).lower() in lowered:
            return option
    return options[0]


def _number(schema: Mapping[str, Any], hints: _Hints, integer: bool) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))

    def fits(value: float) -> bool:
        return (
            (low is None or value >= low)
            and (high is None or value <= high)
            and ("exclusiveMinimum" not in schema or value > schema["exclusiveMinimum"])
            and ("exclusiveMaximum" not in schema or value < schema["exclusiveMaximum"])
            and (not integer or value == int(value))
        )

    while hints.numbers:
        value = hints.numbers.pop(0)
        if fits(value):
            return int(value) if integer else value
    value = float(low) + 1 if low is not None else 0.0
    if high is not None and not fits(value):
        value = float(high) - 1
    return int(value) if integer else value


def _string(schema: Mapping[str, Any], hints: _Hints) -> str:
    value = hints.quoted.pop(0) if hints.quoted else (hints.text or "example")
    value = value[: schema.get("maxLength", len(value))]
    return value.ljust(schema.get("minLength", 0), ".")


def instance_of(
    schema: Mapping[str, Any], text: str = "", root: Mapping[str, Any] | None = None
) -> Any:
    """A value valid against ``schema``, taking values from ``text`` where it can.

    Example:
        >>> instance_of({"type": "object", "properties": {"a": {"type": "integer"},
        ...     "b": {"type": "integer"}, "label": {"enum": ["spam", "ham"]}}},
        ...     "Is 3 + 4 ham?")
        {'a': 3, 'b': 4, 'label': 'ham'}
    """
    return _instance(schema, root if root is not None else schema, _Hints(text))


_DEEP = 6  # past this depth (recursive schemas), only what is required


def _instance(
    schema: Mapping[str, Any], root: Mapping[str, Any], hints: _Hints, depth: int = 0
) -> Any:
    schema = resolve_ref(schema, root)
    if depth > 4 * _DEEP:
        return None  # a schema that requires itself forever has no finite instance
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return _enum_value(schema["enum"], hints)
    for keyword in ("anyOf", "oneOf"):
        options = [o for o in schema.get(keyword, ()) if resolve_ref(o, root).get("type") != "null"]
        if options:
            return _instance(options[0], root, hints, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _instance(part, root, hints, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        properties = schema.get("properties", {})
        if depth > _DEEP:
            required = set(schema.get("required", ()))
            properties = {k: v for k, v in properties.items() if k in required}
        return {name: _instance(sub, root, hints, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        items = schema.get("items", {})
        count = schema.get("minItems", 0) if depth > _DEEP else max(1, schema.get("minItems", 1))
        return [_instance(items, root, hints, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, hints, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, hints)


class SchemaResponder:
    r"""Answers this package's prompted formats with valid output.

    - A ``<json_schema>`` instruction: a valid instance, as bare JSON.
    - JSON mode (the instruction without a schema): an object with the keys
      the user's message quotes, or ``{"answer": ...}``.
    - A ``<tools>`` instruction: a ``{"tool_calls": [...]}`` call of the tool
      ``tool_choice`` names, else of the tool whose name and description
      share most words with the request; after tool results (``auto``), a
      text answer quoting them. ``"none"`` or no matching tool: ``None``
      under ``auto`` (the echo answers).

    Example:
        >>> system = {"role": "system", "content": "<json_schema>\n"
        ...     '{"type": "object", "properties": {"n": {"type": "integer"}}}\n</json_schema>'}
        >>> SchemaResponder()([system, {"role": "user", "content": "n is 7"}])
        '{"n": 7}'
    """

    def __call__(self, conversation: Conversation) -> str | None:
        """The answer, or ``None`` for a conversation with no prompted format."""
        system = _system_text(conversation)
        tools = _tag(system, TOOLS_TAG)
        if tools is not None:
            return self._tools(conversation, json.loads(tools), _tag(system, TOOL_CHOICE_TAG))
        schema = _tag(system, SCHEMA_TAG)
        text = last_user_text(conversation)
        if schema is not None:
            return json.dumps(instance_of(json.loads(schema), text), ensure_ascii=False)
        if JSON_ONLY in system:
            keys = [key for key in _Hints(text).quoted if key.isidentifier()]
            return json.dumps(dict.fromkeys(keys, text) or {"answer": text}, ensure_ascii=False)
        return None

    @staticmethod
    def _best(tools: list[dict[str, Any]], text: str) -> tuple[dict[str, Any], int]:
        words = {w.lower() for w in _WORD.findall(text)}

        def overlap(tool: dict[str, Any]) -> int:
            described = f"{tool['name'].replace('_', ' ')} {tool.get('description', '')}"
            return len(words & {w.lower() for w in _WORD.findall(described)})

        best = max(tools, key=overlap)
        return best, overlap(best)

    def _tools(
        self, conversation: Conversation, tools: list[dict[str, Any]], choice: str | None
    ) -> str | None:
        conversation = _without_reasks(conversation)
        choice = choice or "auto"
        last = _text(conversation[-1]) if conversation else ""
        text = last_user_text(conversation)
        if choice == "none":
            return None
        if choice == "auto" and last.startswith(_TOOL_PREFIXES):
            results = [line for line in last.splitlines() if not line.startswith(_TOOL_PREFIXES)]
            return "Based on the tool results: " + " ".join(r for r in results if r.strip())
        named = next((tool for tool in tools if tool["name"] == choice), None)
        tool, score = (named, 1) if named is not None else self._best(tools, text)
        if choice == "auto" and score == 0:
            return None
        args = instance_of(tool.get("parameters") or {}, text)
        return json.dumps(
            {"tool_calls": [{"name": tool["name"], "arguments": args}]}, ensure_ascii=False
        )


# -- faults -------------------------------------------------------------------

KINDS = ("broken_json", "missing_field", "prose")


def _drop_field(answer: str) -> str | None:
    try:
        value = json.loads(answer)
    except json.JSONDecodeError:
        return None
    target = value
    if (
        isinstance(value, dict)
        and isinstance(value.get("tool_calls"), list)
        and value["tool_calls"]
    ):
        target = value["tool_calls"][0].get("arguments")
    if not isinstance(target, dict) or not target:
        return None
    del target[next(iter(target))]
    return json.dumps(value, ensure_ascii=False)


def corrupt(answer: str, kind: str) -> str:
    """``answer`` made malformed in the way ``kind`` names.

    Example:
        >>> corrupt('{"a": 1, "b": 2}', "missing_field")
        '{"b": 2}'
        >>> corrupt('{"a": 1, "b": 2}', "broken_json")
        '{"a": 1,'
    """
    if kind == "prose":
        return f"Sure! Here is the answer:\n```json\n{answer}\n```\nAnything else?"
    if kind == "missing_field":
        dropped = _drop_field(answer)
        if dropped is not None:
            return dropped
    return answer[: len(answer) // 2]


class Malformed:
    """Break a set share of the JSON answers of ``responder``.

    Args:
        responder: The responder whose answers to break.
        rate: The share of JSON answers to break (0 to 1).
        kinds: Which breakages to use, picked per answer.
        seed: Changes which answers break.

    Attributes:
        counts: Answers seen and broken, by kind (``"answers"``, ``"prose"``...).

    Example:
        >>> always = Malformed(lambda c: '{"a": 1}', rate=1.0, kinds=("broken_json",))
        >>> always([{"role": "user", "content": "x"}]), always.counts["broken_json"]
        ('{"a"', 1)
    """

    def __init__(
        self,
        responder: Responder,
        *,
        rate: float,
        kinds: Sequence[str] = KINDS,
        seed: int = 0,
    ) -> None:
        if not 0 <= rate <= 1:
            msg = f"rate must be between 0 and 1, got {rate}"
            raise ValueError(msg)
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            msg = f"kinds must be some of {KINDS}, got {list(kinds)}"
            raise ValueError(msg)
        self.responder = responder
        self.rate = rate
        self.kinds = tuple(kinds)
        self.seed = seed
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, conversation: Conversation) -> str | None:
        """The answer, broken when the conversation's hash falls under ``rate``."""
        answer = self.responder(conversation)
        if answer is None or "{" not in answer:
            return answer
        digest = hashlib.sha256(
            f"{self.seed}|{json.dumps(conversation, sort_keys=True)}".encode()
        ).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        with self._lock:
            self.counts["answers"] += 1
            if draw >= self.rate:
                return answer
            kind = self.kinds[digest[8] % len(self.kinds)]
            self.counts[kind] += 1
        return corrupt(answer, kind)


def load_responses(path: str | Path) -> Responder:
    r"""A responder from a JSON file (the emulator's ``--responses FILE``).

    The file holds a list of rules, or an object::

        {"rules": [{"pattern": "(?i)refund", "answer": "{\"category\": \"billing\"}"}],
         "follow_schemas": true, "malformed_rate": 0.3, "seed": 1}

    Rules come first; ``follow_schemas`` (default true) adds a
    :class:`SchemaResponder`; ``malformed_rate`` wraps both in
    :class:`Malformed`.

    Raises:
        ValueError: The file is not of this shape.

    Example:
        >>> import json, pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "responses.json"
        >>> _ = path.write_text(json.dumps([{"pattern": "ping", "answer": "pong"}]))
        >>> load_responses(path)([{"role": "user", "content": "ping?"}])
        'pong'
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        msg = f"{path}: expected a list of rules or an object with 'rules'"
        raise ValueError(msg)
    rules = []
    for index, rule in enumerate(data.get("rules", [])):
        if not isinstance(rule, dict) or not all(
            isinstance(rule.get(key), str) for key in ("pattern", "answer")
        ):
            msg = f"{path}: rule {index} needs a string 'pattern' and 'answer'"
            raise ValueError(msg)
        try:
            re.compile(rule["pattern"])
        except re.error as exc:
            msg = f"{path}: rule {index} has an invalid pattern: {exc}"
            raise ValueError(msg) from None
        rules.append(Rule(rule["pattern"], rule["answer"]))
    chain: list[Responder] = [RuleTable(rules)]
    if data.get("follow_schemas", True):
        chain.append(SchemaResponder())
    responder: Responder = Responders(chain)
    rate = float(data.get("malformed_rate", 0.0))
    if rate:
        responder = Malformed(responder, rate=rate, seed=int(data.get("seed", 0)))
    return responder
