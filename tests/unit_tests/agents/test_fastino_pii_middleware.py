"""FastinoPIIMiddleware inside create_agent, with a scripted model and a socket-free Fastino."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from langchain_mlstudio import ConfigurationError, FastinoPIITransformer, PIIDetectionError
from langchain_mlstudio.agents import FastinoPIIMiddleware
from tests.support.fastino import FakeFastino, sync_and_async
from tests.unit_tests.agents.scripted_model import ScriptedChatModel, call

NAME = "Jamie Derran"
EMAIL = "jamie@example.com"
PLACEHOLDER = re.compile(r"<FULL_NAME_\d+(?:_[A-Z0-9]+)?>")

modes = sync_and_async


def middleware(fake: FakeFastino, **kwargs: Any) -> FastinoPIIMiddleware:
    strategy = kwargs.pop("strategy", "pseudonymize")
    transformer = FastinoPIITransformer(
        client=fake.make_client(), strategy="redact" if strategy == "block" else strategy
    )
    return FastinoPIIMiddleware(
        transformer, strategy=strategy if strategy == "block" else None, **kwargs
    )


def everything_shown(model: ScriptedChatModel) -> str:
    """Every text and tool-call argument the model ever received, as one string."""
    parts = []
    for messages in model.seen:
        for message in messages:
            parts.append(json.dumps(message.content, ensure_ascii=False))
            parts.append(json.dumps(getattr(message, "tool_calls", []), ensure_ascii=False))
    return "\n".join(parts)


def placeholder_in(messages: list[BaseMessage]) -> str:
    human = next(m for m in messages if isinstance(m, HumanMessage))
    match = PLACEHOLDER.search(str(human.content))
    assert match is not None, human.content
    return match.group()


class Customers:
    """A tool that records the arguments it really received."""

    def __init__(self) -> None:
        self.received: list[Any] = []

        @tool
        def lookup_customer(name: str) -> str:
            """Look up a customer's open refunds by full name."""
            self.received.append(name)
            return f"{name} has an open refund of 20 EUR; write to {EMAIL}."

        self.tool = lookup_customer


@pytest.fixture
def fake() -> FakeFastino:
    return FakeFastino()


@pytest.fixture
def customers() -> Customers:
    return Customers()


async def run(mode: str, agent: Any, payload: Any, config: Any = None) -> dict[str, Any]:
    if mode == "sync":
        return agent.invoke(payload, config)
    return await agent.ainvoke(payload, config)


@modes
async def test_the_model_never_receives_a_planted_name_while_the_tool_receives_the_real_one(
    mode: str, fake: FakeFastino, customers: Customers
) -> None:
    def ask_tool(messages: list[BaseMessage]) -> AIMessage:
        return call("lookup_customer", {"name": placeholder_in(messages)}, "call_1")

    def answer(messages: list[BaseMessage]) -> AIMessage:
        result = messages[-1]
        assert isinstance(result, ToolMessage)
        assert NAME not in result.content
        assert EMAIL not in result.content
        return AIMessage(content=f"Refund approved for {placeholder_in(messages)}.")

    model = ScriptedChatModel(script=[ask_tool, answer])
    agent = create_agent(
        model, tools=[customers.tool], middleware=[middleware(fake, restore_output=True)]
    )
    result = await run(mode, agent, {"messages": [HumanMessage(f"Refund {NAME}, please.")]})
    assert customers.received == [NAME]
    shown = everything_shown(model)
    assert NAME not in shown
    assert EMAIL not in shown
    assert len(model.seen) == 2
    assert result["messages"][-1].content == f"Refund approved for {NAME}."
    assert "fastino_pii" not in result


@modes
@pytest.mark.parametrize("strategy", ["redact", "mask", "hash", "pseudonymize"])
async def test_no_strategy_lets_the_name_reach_the_model_or_restores_it_for_tools_unless_pseudonymize(
    mode: str, strategy: str, fake: FakeFastino, customers: Customers
) -> None:
    def ask(messages: list[BaseMessage]) -> AIMessage:
        shown = str(messages[0].content)
        return call("lookup_customer", {"name": shown.removeprefix("Refund ")}, "c1")

    model = ScriptedChatModel(script=[ask, AIMessage(content="done")])
    agent = create_agent(
        model, tools=[customers.tool], middleware=[middleware(fake, strategy=strategy)]
    )
    await run(mode, agent, {"messages": [HumanMessage(f"Refund {NAME}")]})
    assert NAME not in everything_shown(model)
    assert EMAIL not in everything_shown(model)
    assert (customers.received == [NAME]) is (strategy == "pseudonymize")


@modes
async def test_without_restore_output_the_answer_keeps_its_placeholders(
    mode: str, fake: FakeFastino
) -> None:
    model = ScriptedChatModel(script=[lambda m: AIMessage(content=f"Hello {placeholder_in(m)}.")])
    agent = create_agent(model, tools=[], middleware=[middleware(fake)])
    result = await run(mode, agent, {"messages": [HumanMessage(f"I am {NAME}.")]})
    assert PLACEHOLDER.fullmatch(result["messages"][-1].content[6:-1])


@modes
async def test_content_blocks_stay_valid_and_only_text_is_rewritten(
    mode: str, fake: FakeFastino
) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    model = ScriptedChatModel(script=[AIMessage(content="Noted.")])
    agent = create_agent(model, tools=[], middleware=[middleware(fake, strategy="redact")])
    content = [{"type": "text", "text": f"My name is {NAME}."}, image, "and a plain string part"]
    await run(mode, agent, {"messages": [HumanMessage(content=content)]})
    [shown] = model.seen[0]
    assert isinstance(shown.content, list)
    assert shown.content[0] == {"type": "text", "text": "My name is <FULL_NAME>."}
    assert shown.content[1] == image
    assert shown.content[2] == "and a plain string part"


@modes
async def test_a_placeholder_the_model_wrote_in_lower_case_is_still_restored_for_the_tool(
    mode: str, fake: FakeFastino, customers: Customers
) -> None:
    def ask(messages: list[BaseMessage]) -> AIMessage:
        mangled = placeholder_in(messages).lower().replace("_", " ")
        return call("lookup_customer", {"name": mangled}, "c1")

    model = ScriptedChatModel(script=[ask, AIMessage(content="ok")])
    agent = create_agent(model, tools=[customers.tool], middleware=[middleware(fake)])
    await run(mode, agent, {"messages": [HumanMessage(f"Refund {NAME}.")]})
    assert customers.received == [NAME]


@modes
async def test_tool_call_arguments_keep_their_json_types_when_restored(
    mode: str, fake: FakeFastino
) -> None:
    received: list[dict[str, Any]] = []

    @tool
    def file_note(who: str, count: int, tags: list[str], extra: dict[str, str]) -> str:
        """File a note."""
        received.append({"who": who, "count": count, "tags": tags, "extra": extra})
        return "filed"

    def ask(messages: list[BaseMessage]) -> AIMessage:
        p = placeholder_in(messages)
        args = {"who": p, "count": 3, "tags": [p, "vip"], "extra": {"to": f"Dear {p}"}}
        return call("file_note", args, "call_1")

    model = ScriptedChatModel(script=[ask, AIMessage(content="Done.")])
    agent = create_agent(model, tools=[file_note], middleware=[middleware(fake)])
    await run(mode, agent, {"messages": [HumanMessage(f"Note for {NAME}.")]})
    assert received == [
        {"who": NAME, "count": 3, "tags": [NAME, "vip"], "extra": {"to": f"Dear {NAME}"}}
    ]
    # The model's own message in the state keeps the placeholders.
    assert NAME not in everything_shown(model)


@modes
async def test_a_json_tool_result_stays_valid_json_when_values_are_replaced(
    mode: str, fake: FakeFastino
) -> None:
    record = {"customer": NAME, "email": EMAIL, "created": 1764578000, "open": True, "n": 2}

    @tool
    def get_record() -> str:
        """Read the customer record."""
        return json.dumps(record)

    model = ScriptedChatModel(script=[call("get_record", {}, "c1"), AIMessage(content="ok")])
    agent = create_agent(
        model, tools=[get_record], middleware=[middleware(fake, strategy="redact")]
    )
    await run(mode, agent, {"messages": [HumanMessage("Read the record.")]})
    shown = model.seen[1][-1]
    assert isinstance(shown, ToolMessage)
    data = json.loads(shown.content)
    assert data["customer"] == "<FULL_NAME>"
    assert data["email"] == "<EMAIL>"
    assert data["created"] == "<PHONE_NUMBER>"  # a number read as a phone number
    assert (data["open"], data["n"]) == (True, 2)
    # The user's message, then all of the record's values in one text.
    assert fake.texts()[1:] == [f"{NAME}\n{EMAIL}\n1764578000\n2"]


@modes
async def test_only_the_named_tools_get_the_real_values(
    mode: str, fake: FakeFastino, customers: Customers
) -> None:
    scored: list[str] = []

    @tool
    def score(text: str) -> str:
        """Score a text with a third-party model."""
        scored.append(text)
        return "positive"

    def ask(messages: list[BaseMessage]) -> AIMessage:
        p = placeholder_in(messages)
        return AIMessage(
            content="",
            tool_calls=[
                {"name": "lookup_customer", "args": {"name": p}, "id": "c1"},
                {"name": "score", "args": {"text": f"{p} is happy"}, "id": "c2"},
            ],
        )

    model = ScriptedChatModel(script=[ask, AIMessage(content="ok")])
    pii = middleware(fake, restore_tool_args=["lookup_customer"])
    agent = create_agent(model, tools=[customers.tool, score], middleware=[pii])
    await run(mode, agent, {"messages": [HumanMessage(f"Check {NAME}.")]})
    assert customers.received == [NAME]
    assert len(scored) == 1
    assert NAME not in scored[0]
    assert PLACEHOLDER.search(scored[0])


@modes
@pytest.mark.parametrize(("apply", "expect_name"), [(True, False), (False, True)])
async def test_tool_results_are_redacted_unless_turned_off(
    mode: str, apply: bool, expect_name: bool, fake: FakeFastino, customers: Customers
) -> None:
    model = ScriptedChatModel(
        script=[call("lookup_customer", {"name": NAME}, "c1"), AIMessage(content="ok")]
    )
    agent = create_agent(
        model,
        tools=[customers.tool],
        middleware=[middleware(fake, strategy="redact", apply_to_tool_results=apply)],
    )
    await run(mode, agent, {"messages": [HumanMessage("Look up the refund.")]})
    tool_result = model.seen[1][-1]
    assert isinstance(tool_result, ToolMessage)
    assert (NAME in tool_result.content) is expect_name


@modes
async def test_block_stops_the_run_before_the_model_and_names_no_value(
    mode: str, fake: FakeFastino
) -> None:
    model = ScriptedChatModel(script=[AIMessage(content="never")])
    agent = create_agent(model, tools=[], middleware=[middleware(fake, strategy="block")])
    with pytest.raises(PIIDetectionError) as info:
        await run(mode, agent, {"messages": [HumanMessage(f"I am {NAME}.")]})
    assert model.seen == []
    assert NAME not in str(info.value)
    assert "block" in str(info.value)


@modes
async def test_block_lets_a_clean_conversation_through(mode: str, fake: FakeFastino) -> None:
    model = ScriptedChatModel(script=[AIMessage(content="Sunny.")])
    agent = create_agent(model, tools=[], middleware=[middleware(fake, strategy="block")])
    result = await run(mode, agent, {"messages": [HumanMessage("How is the weather?")]})
    assert result["messages"][-1].content == "Sunny."


@modes
async def test_a_detection_failure_fails_closed(mode: str, fake: FakeFastino) -> None:
    fake.override = lambda _i, _b: httpx.Response(500, json={"message": "down"})
    model = ScriptedChatModel(script=[AIMessage(content="never")])
    agent = create_agent(model, tools=[], middleware=[middleware(fake)])
    with pytest.raises(PIIDetectionError):
        await run(mode, agent, {"messages": [HumanMessage(f"I am {NAME}.")]})
    assert model.seen == []


@modes
async def test_restore_is_scoped_to_the_conversation_that_produced_the_placeholder(
    mode: str, fake: FakeFastino, customers: Customers
) -> None:
    pii = middleware(fake, restore_output=True)
    # Conversation A gives Jamie a placeholder.
    model_a = ScriptedChatModel(script=[lambda m: AIMessage(content=f"Hi {placeholder_in(m)}")])
    agent_a = create_agent(model_a, tools=[], middleware=[pii], checkpointer=InMemorySaver())
    a = await run(
        mode,
        agent_a,
        {"messages": [HumanMessage(f"I am {NAME}.")]},
        {"configurable": {"thread_id": "a"}},
    )
    token = PLACEHOLDER.search(str(model_a.seen[0][0].content)).group()  # type: ignore[union-attr]
    assert a["messages"][-1].content == f"Hi {NAME}"
    # Conversation B types A's placeholder and has the model use it everywhere.
    model_b = ScriptedChatModel(
        script=[
            call("lookup_customer", {"name": token}, "c1"),
            AIMessage(content=f"It is {token}."),
        ]
    )
    agent_b = create_agent(
        model_b, tools=[customers.tool], middleware=[pii], checkpointer=InMemorySaver()
    )
    b = await run(
        mode,
        agent_b,
        {"messages": [HumanMessage(f"Who is {token}?")]},
        {"configurable": {"thread_id": "b"}},
    )
    assert customers.received == [token]
    assert b["messages"][-1].content == f"It is {token}."
    assert NAME not in everything_shown(model_b)


@modes
async def test_next_turn_shows_the_model_its_placeholder_answer_not_the_restored_one(
    mode: str, fake: FakeFastino
) -> None:
    model = ScriptedChatModel(
        script=[
            lambda m: AIMessage(content=f"Welcome {placeholder_in(m)}."),
            AIMessage(content="You are welcome."),
        ]
    )
    agent = create_agent(
        model,
        tools=[],
        middleware=[middleware(fake, restore_output=True)],
        checkpointer=InMemorySaver(),
    )
    config = {"configurable": {"thread_id": "t"}}
    first = await run(mode, agent, {"messages": [HumanMessage(f"I am {NAME}.")]}, config)
    assert first["messages"][-1].content == f"Welcome {NAME}."
    await run(mode, agent, {"messages": [HumanMessage("Thanks!")]}, config)
    assert NAME not in everything_shown(model)
    assert any(
        PLACEHOLDER.search(str(m.content)) for m in model.seen[1] if isinstance(m, AIMessage)
    )


@modes
async def test_a_client_resending_a_restored_answer_in_its_own_history_does_not_leak_it(
    mode: str, fake: FakeFastino
) -> None:
    pii = middleware(fake, restore_output=True)
    first_model = ScriptedChatModel(
        script=[lambda m: AIMessage(content=f"Hi {placeholder_in(m)}.")]
    )
    first = await run(
        mode,
        create_agent(first_model, tools=[], middleware=[pii]),
        {"messages": [HumanMessage(f"I am {NAME}.")]},
    )
    assert first["messages"][-1].content == f"Hi {NAME}."
    # No checkpointer: the client sends the whole history again, restored answer included.
    second_model = ScriptedChatModel(script=[AIMessage(content="You are welcome.")])
    history = [*first["messages"], HumanMessage(f"Thanks, {NAME} here again.")]
    await run(
        mode,
        create_agent(second_model, tools=[], middleware=[pii]),
        {"messages": history},
    )
    assert NAME not in everything_shown(second_model)


@modes
async def test_the_models_own_answers_are_not_sent_to_fastino(
    mode: str, fake: FakeFastino, customers: Customers
) -> None:
    model = ScriptedChatModel(
        script=[
            AIMessage(
                content="Let me look that up.",
                tool_calls=[{"name": "lookup_customer", "args": {"name": "x"}, "id": "c1"}],
            ),
            AIMessage(content="Done."),
        ]
    )
    agent = create_agent(model, tools=[customers.tool], middleware=[middleware(fake)])
    await run(mode, agent, {"messages": [HumanMessage("Check x.")]})
    assert "Let me look that up." not in fake.texts()


@modes
async def test_a_message_sent_again_under_a_known_id_is_checked_again(
    mode: str, fake: FakeFastino
) -> None:
    model = ScriptedChatModel(script=[AIMessage(content="Hello."), AIMessage(content="Hi again.")])
    agent = create_agent(
        model, tools=[], middleware=[middleware(fake)], checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t"}}
    await run(mode, agent, {"messages": [HumanMessage("hello", id="u1")]}, config)
    await run(mode, agent, {"messages": [HumanMessage(f"I am {NAME}.", id="u1")]}, config)
    assert NAME not in everything_shown(model)


def test_restore_output_needs_pseudonymize() -> None:
    with pytest.raises(ConfigurationError, match="pseudonymize"):
        FastinoPIIMiddleware(api_key="k", strategy="redact", restore_output=True)


def test_a_strategy_that_contradicts_the_transformer_is_refused() -> None:
    transformer = FastinoPIITransformer(api_key="k", strategy="mask")
    with pytest.raises(ConfigurationError, match="transformer"):
        FastinoPIIMiddleware(transformer, strategy="pseudonymize")
