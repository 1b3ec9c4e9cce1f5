"""The emulator's scripted responders, without a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from langchain_mlstudio.chat_models._instructions import (
    schema_instruction,
    tools_instruction,
)
from langchain_mlstudio.chat_models._jsonschema import schema_errors
from langchain_mlstudio.chat_models._parsing import JSONNotFoundError, extract_json
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.emulator.__main__ import build_parser, configure
from langchain_mlstudio.emulator.generate import GenerateJobService
from langchain_mlstudio.emulator.responders import (
    Malformed,
    Rule,
    RuleTable,
    SchemaResponder,
    instance_of,
    load_responses,
)

TICKET = {
    "title": "Ticket",
    "type": "object",
    "properties": {
        "category": {"enum": ["billing", "delivery", "other"]},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "customer": {"$ref": "#/$defs/Customer"},
        "note": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 5}]},
    },
    "required": ["category", "priority", "tags", "customer"],
    "$defs": {
        "Customer": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "vip": {"type": "boolean"}},
            "required": ["name", "vip"],
        }
    },
}


def conversation(system: str, user: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def test_rules_match_the_last_user_message_or_a_callable() -> None:
    table = RuleTable(
        [
            Rule(lambda c: len(c) > 2, "long conversation"),
            Rule(r"(?i)\brefund\b", lambda c: f"refund for {c[-1]['content']}"),
        ]
    )

    assert table([{"role": "user", "content": "A REFUND please"}]) == "refund for A REFUND please"
    assert table([{"role": "user", "content": "x"}] * 3) == "long conversation"
    assert table([{"role": "user", "content": "hello"}]) is None


def test_the_schema_responder_answers_with_a_valid_instance_using_the_request() -> None:
    answer = SchemaResponder()(
        conversation(schema_instruction(TICKET), "Delivery late, priority 9 then 4, from 'Ana'")
    )

    assert answer is not None
    value = json.loads(answer)
    assert schema_errors(value, TICKET) == []
    assert value["category"] == "delivery"
    assert value["priority"] == 4  # 9 is out of range
    assert value["tags"][0] == "Ana"  # quoted strings fill string fields in order


def test_the_schema_responder_calls_the_tool_that_fits_the_request() -> None:
    tools = [
        {"name": "add", "description": "Add two integers.", "parameters": {
            "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"]}},
        {"name": "get_weather", "description": "Weather in a city.", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    ]  # fmt: skip
    respond = SchemaResponder()

    called = json.loads(
        respond(conversation(tools_instruction(tools, "auto"), "Weather in 'Oslo'?")) or ""
    )
    assert called == {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}
    forced = json.loads(respond(conversation(tools_instruction(tools, "add"), "2 and 5")) or "")
    assert forced["tool_calls"][0]["arguments"] == {"a": 2, "b": 5}
    assert respond(conversation(tools_instruction(tools, "auto"), "Hello!")) is None
    assert respond(conversation(tools_instruction(tools, "none"), "Weather?")) is None
    after = [
        *conversation(tools_instruction(tools, "auto"), "Weather in 'Oslo'?"),
        {"role": "assistant", "content": json.dumps(called)},
        {"role": "user", "content": "Tool result for call c1 (get_weather):\nSunny, 20 C"},
    ]
    assert respond(after) == "Based on the tool results: Sunny, 20 C"


def test_instances_respect_bounds_lengths_and_enums() -> None:
    schema = {"type": "object", "properties": {
        "n": {"type": "integer", "exclusiveMinimum": 10},
        "x": {"type": "number", "maximum": -1},
        "s": {"type": "string", "minLength": 30},
        "k": {"const": "fixed"},
    }}  # fmt: skip
    value = instance_of(schema, "no numbers")
    assert schema_errors(value, schema) == []


def test_malformed_breaks_the_set_share_of_json_answers_reproducibly() -> None:
    malformed = Malformed(lambda c: '{"a": 1, "b": 2}', rate=0.3, seed=7)
    answers = [malformed([{"role": "user", "content": f"q{i}"}]) for i in range(1000)]
    again = Malformed(lambda c: '{"a": 1, "b": 2}', rate=0.3, seed=7)

    assert answers == [again([{"role": "user", "content": f"q{i}"}]) for i in range(1000)]
    broken = [a for a in answers if a != '{"a": 1, "b": 2}']
    assert 250 <= len(broken) <= 350
    assert malformed.counts["answers"] == 1000
    kinds = {k: malformed.counts[k] for k in ("broken_json", "missing_field", "prose")}
    assert all(count > 50 for count in kinds.values())
    for answer in broken:
        if "Sure!" in answer:
            assert extract_json(answer) == {"a": 1, "b": 2}  # prose: the parser copes
        elif answer == '{"b": 2}':
            continue  # a field missing: the schema check catches it
        else:
            with pytest.raises(JSONNotFoundError):
                extract_json(answer)


def test_malformed_leaves_text_answers_alone() -> None:
    malformed = Malformed(lambda c: "plain text", rate=1.0)
    assert malformed([{"role": "user", "content": "x"}]) == "plain text"
    with pytest.raises(ValueError, match="rate"):
        Malformed(lambda c: None, rate=1.5)


def test_the_service_uses_the_responder_and_falls_back_to_the_echo() -> None:
    service = GenerateJobService(
        api_key="k", organization_id="o", models={"m"}, responder=RuleTable([Rule("ping", "pong")])
    )

    assert service.answer([{"role": "user", "content": "ping"}], max_tokens=None) == "pong"
    assert service.answer([{"role": "user", "content": "hi"}], max_tokens=None) == "Echo: hi"


def test_responses_file_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "responses.json"
    path.write_text(
        json.dumps(
            {
                "rules": [{"pattern": "(?i)refund", "answer": '{"category": "billing"}'}],
                "malformed_rate": 0.0,
            }
        ),
        encoding="utf-8",
    )
    args = build_parser().parse_args(
        ["--api-key", "k", "--organization-id", "o", "--model", "m", "--responses", str(path)]
    )

    emulator = configure(Emulator(api_key="k"), args)

    responder = emulator.generate.responder
    assert responder is not None
    assert responder([{"role": "user", "content": "Refund!"}]) == '{"category": "billing"}'
    answer = responder(conversation(schema_instruction(TICKET), "billing"))
    assert answer is not None
    assert schema_errors(json.loads(answer), TICKET) == []


@pytest.mark.parametrize(
    "content",
    ['{"rules": {"pattern": "x"}}', '[{"pattern": "x"}]', '[{"pattern": "(", "answer": "y"}]'],
)
def test_a_bad_responses_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ValueError, match=r"bad\.json"):
        load_responses(path)


def test_a_recursive_schema_gets_a_finite_valid_instance() -> None:
    tree = {
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["name"],
            }
        },
    }

    value = instance_of(tree, "root")

    assert schema_errors(value, tree) == []


def test_hostile_answers_fail_to_parse_cleanly() -> None:
    with pytest.raises(JSONNotFoundError, match="nested too deeply"):
        extract_json('{"a": ' * 100_000)
    with pytest.raises(JSONNotFoundError):
        extract_json("x" * 1_000_000)
