from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_mlstudio.fastino import FastinoPIITool
from tests.support.fastino import FakeFastino, entity, scripted


class TestFastinoPIIToolStandard(ToolsUnitTests):
    tool_constructor = FastinoPIITool
    tool_constructor_params = {"api_key": "test-key", "base_url": "https://fastino.test"}
    tool_invoke_params_example = {"text": "Call Jamie Derran at jamie@example.com"}
    init_from_env_params = ({"FASTINO_API_KEY": "env-key"}, {}, {"api_key": "env-key"})


def tool_call(args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "id": "call_1", "name": "fastino_pii", "args": args}


def test_content_is_redacted_text_with_summary_and_artifact_has_entities(
    fake: FakeFastino,
) -> None:
    # Changed by issue 9: the values are in the artifact only with include_values=True.
    tool = FastinoPIITool(client=fake.make_client(), include_values=True)
    msg = tool.invoke(tool_call({"text": "Mail Jamie Derran at jamie@example.com"}))
    assert isinstance(msg, ToolMessage)
    assert msg.content == ("Mail <FULL_NAME> at <EMAIL>\n\nFound 2 entities: 1 full_name, 1 email.")
    assert [(e["label"], e["text"], e["start"]) for e in msg.artifact] == [
        ("full_name", "Jamie Derran", 5),
        ("email", "jamie@example.com", 21),
    ]


async def test_async_invoke_uses_the_async_client(fake: FakeFastino) -> None:
    tool = FastinoPIITool(client=fake.make_client())
    msg = await tool.ainvoke(tool_call({"text": "Hi Anna Rossi"}))
    assert msg.content.startswith("Hi <FULL_NAME>")
    assert msg.artifact == [{"label": "full_name", "start": 3, "end": 13, "score": 0.95}]


def test_no_pii_says_so(fake: FakeFastino) -> None:
    tool = FastinoPIITool(client=fake.make_client())
    msg = tool.invoke(tool_call({"text": "The weather is fine."}))
    assert msg.content == "The weather is fine.\n\nNo personal data found."
    assert msg.artifact == []


def test_arguments_override_the_default_entity_types_and_threshold(
    fake: FakeFastino,
) -> None:
    tool = FastinoPIITool(client=fake.make_client(), threshold=0.4)
    tool.invoke({"text": "x", "entity_types": ["email"]})
    tool.invoke({"text": "x", "threshold": 0.9})
    assert fake.requests[0]["input"][0]["parameters"] == {
        "entity_types": ["email"],
        "threshold": 0.4,
    }
    assert fake.requests[1]["input"][0]["parameters"]["threshold"] == 0.9


def test_failure_raises_tool_exception_when_error_handling_is_off(fake: FakeFastino) -> None:
    # Changed by issue 9 / 12: errors are ToolMessages by default; off, they raise.
    fake.override = lambda _i, _b: httpx.Response(500, json={"message": "down"})
    tool = FastinoPIITool(client=fake.make_client(max_retries=0), handle_tool_error=False)
    with pytest.raises(ToolException, match="HTTP 500"):
        tool.invoke({"text": "Hi Jamie Derran"})


def test_api_failure_is_an_error_tool_message_by_default(
    fake: FakeFastino,
) -> None:
    fake.override = lambda _i, _b: httpx.Response(500, json={"message": "down"})
    tool = FastinoPIITool(client=fake.make_client(max_retries=0))
    msg = tool.invoke(tool_call({"text": "Hi Jamie Derran"}))
    assert isinstance(msg, ToolMessage)
    assert msg.status == "error"
    assert "HTTP 500" in str(msg.content)
    assert "Jamie" not in str(msg.content)


def test_invalid_arguments_are_an_error_tool_message_by_default(fake: FakeFastino) -> None:
    tool = FastinoPIITool(client=fake.make_client())
    msg = tool.invoke(tool_call({"text": "Hi Jamie Derran", "threshold": 7}))
    assert isinstance(msg, ToolMessage)
    assert msg.status == "error"
    assert "Jamie" not in str(msg.content)
    assert fake.requests == []


def test_bad_key_error_mentions_fastino_api_key_and_propagation(fake: FakeFastino) -> None:
    tool = FastinoPIITool(client=fake.make_client(api_key="wrong"))
    msg = tool.invoke(tool_call({"text": "hi"}))
    assert msg.status == "error"
    assert "FASTINO_API_KEY" in msg.content
    assert "propagate" in msg.content
    assert "wrong" not in msg.content


_only_first_ann = scripted([entity(0, 3, "Ann", score=1)])


def test_other_occurrences_of_a_found_value_are_redacted_too(fake: FakeFastino) -> None:
    fake.override = _only_first_ann
    tool = FastinoPIITool(client=fake.make_client())
    msg = tool.invoke(tool_call({"text": "Ann said Ann's Annual plan"}))
    assert msg.content == (
        "<FULL_NAME> said <FULL_NAME>'s Annual plan\n\nFound 2 entities: 2 full_name."
    )
    assert [(e["start"], e["end"]) for e in msg.artifact] == [(0, 3), (9, 12)]


@pytest.mark.parametrize(
    "text",
    [
        "Ann said Ann's Annual plan",
        "Jamie Derran (jamie.derran@example.com) met Jamie Derran and Anna Rossi.",
        "Nothing personal here.",
    ],
)
def test_tool_redacts_exactly_like_the_transformers_redact_strategy(
    fake: FakeFastino, text: str
) -> None:
    from langchain_core.documents import Document

    from langchain_mlstudio.fastino import FastinoPIITransformer

    if text.startswith("Ann said"):
        fake.override = _only_first_ann
    tool = FastinoPIITool(client=fake.make_client())
    content = tool.invoke(tool_call({"text": text})).content
    [doc] = FastinoPIITransformer(client=fake.make_client()).transform_documents([Document(text)])
    assert str(content).split("\n\n")[0] == doc.page_content
