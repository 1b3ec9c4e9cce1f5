"""Structured output, prompted tools and agents against the emulator on loopback."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio.chat_models import BaseChatGenerationJob
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.emulator.responders import Malformed, SchemaResponder
from langchain_mlstudio.errors import StructuredOutputError, ToolCallingNotEnabledError
from tests.integration_tests.chat_models.conftest import API_KEY, MODEL, ORG
from tests.support.chat import emulated_chat_model

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # LangGraph points to langchain.agents.create_agent
    from langgraph.prebuilt import create_react_agent


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key=API_KEY, organization_id=ORG, model=MODEL, job_duration=0.05) as emulator:
        emulator.generate.responder = SchemaResponder()
        yield emulator


def model(
    emulator: Emulator, cls: type[BaseChatGenerationJob] = ChatModelStudio, **kwargs: object
) -> BaseChatGenerationJob:
    return emulated_chat_model(
        emulator, cls, api_key=API_KEY, organization_id=ORG, model=MODEL, **kwargs
    )


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"It is sunny and 21 C in {city}."


def _check_agent_run(messages: list[object], city: str) -> None:
    calls = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    results = [m for m in messages if isinstance(m, ToolMessage)]
    final = messages[-1]
    assert [c.tool_calls[0]["name"] for c in calls] == ["get_weather"]
    assert calls[0].tool_calls[0]["args"] == {"city": city}
    assert results[0].tool_call_id == calls[0].tool_calls[0]["id"]
    assert isinstance(final, AIMessage)
    assert not final.tool_calls
    assert f"sunny and 21 C in {city}" in final.text


def test_create_agent_calls_a_tool_and_answers(emulator: Emulator) -> None:
    agent = create_agent(model(emulator, tool_calling="prompted"), tools=[get_weather])

    out = agent.invoke({"messages": [("user", "What is the weather in 'Lisbon'?")]})

    _check_agent_run(out["messages"], "Lisbon")
    assert emulator.generate.created_jobs == 2  # the call, then the answer


async def test_create_react_agent_calls_a_tool_and_answers(emulator: Emulator) -> None:
    llm = model(emulator, ChatIonosModelStudio, tool_calling="prompted")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated in favour of create_agent, still used
        agent = create_react_agent(llm, tools=[get_weather])

    out = await agent.ainvoke({"messages": [("user", "Weather in 'Kyoto', please")]})

    _check_agent_run(out["messages"], "Kyoto")


def test_an_agent_without_opt_in_fails_before_any_job(emulator: Emulator) -> None:
    agent = create_agent(model(emulator), tools=[get_weather])

    with pytest.raises(ToolCallingNotEnabledError, match="tool_calling='prompted'"):
        agent.invoke({"messages": [("user", "What is the weather in 'Lisbon'?")]})
    assert emulator.generate.created_jobs == 0


class Ticket(BaseModel):
    """A support ticket's triage."""

    category: str = Field(description="billing, delivery or other")
    priority: int = Field(ge=1, le=5)
    summary: str


def test_batch_against_malformed_answers_ends_valid_in_few_jobs(emulator: Emulator) -> None:
    faults = Malformed(SchemaResponder(), rate=0.3, seed=3)
    emulator.generate.responder = faults
    inputs = [f"Priority {1 + i % 5}: parcel {i} is late" for i in range(64)]

    out = model(emulator).with_structured_output(Ticket).batch(inputs, return_exceptions=True)

    valid = [t for t in out if isinstance(t, Ticket)]
    assert all(isinstance(t, Ticket | StructuredOutputError) for t in out)
    assert len(valid) >= 0.95 * len(inputs)
    # each result belongs to its own input
    assert all(t.priority == 1 + i % 5 for i, t in enumerate(out) if isinstance(t, Ticket))
    broken = faults.counts["broken_json"] + faults.counts["missing_field"]
    assert broken > 0  # some answers really were re-asked
    rounds = 3  # first attempts + structured_output_retries (2)
    assert emulator.generate.created_jobs <= rounds * math.ceil(len(inputs) / 32)


def test_the_command_line_emulator_serves_scripted_responses(tmp_path: Path) -> None:
    responses = tmp_path / "responses.json"
    responses.write_text(
        json.dumps({"rules": [{"pattern": "(?i)refund", "answer": '{"category": "billing", '
                              '"priority": 2, "summary": "refund"}'}]}),
        encoding="utf-8",
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "langchain_mlstudio.emulator", "--port", "0", "--api-key",
         API_KEY, "--organization-id", ORG, "--model", MODEL, "--job-duration", "0.05",
         "--responses", str(responses)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first
        llm = ChatModelStudio(
            model=MODEL, api_key=API_KEY, organization_id=ORG, base_url=url.group(0)
        )
        structured = llm.with_structured_output(Ticket)
        assert structured.invoke("I want a refund").category == "billing"
        assert structured.invoke("Parcel late, priority 4").priority == 4  # schema-following
    finally:
        process.terminate()
        process.wait(timeout=10)
