"""with_structured_output and prompted tool calling against a scripted fake job API."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_mlstudio.chat_models import BaseChatGenerationJob
from langchain_mlstudio.emulator.responders import SchemaResponder
from langchain_mlstudio.errors import (
    ConfigurationError,
    InvalidInputError,
    StructuredOutputError,
    TaskFailedError,
    ToolCallingNotEnabledError,
)
from tests.support.chat import FakeJob, FakeJobAPI, make_model

Conversation = list[dict[str, Any]]


@dataclass
class ScriptedAPI(FakeJobAPI):
    """The fake job API, answering each conversation with ``answer(conversation)``."""

    answer: Callable[[Conversation], str] = lambda c: "{}"
    reverse_results: bool = False

    def status_body(self, job: FakeJob) -> dict[str, Any]:
        body = super().status_body(job)
        for item in body["results"]:
            if item.get("result") is not None:
                item["result"] = self.answer(job.conversations[item["task_index"]])
        return body

    @property
    def posted(self) -> list[list[Conversation]]:
        """The conversations of each job, in submission order."""
        return [job.conversations for job in self.jobs.values()]


@dataclass
class Script:
    """Answers by how many times a user text was asked: ``answers[text][attempt]``."""

    answers: dict[str, list[str]]
    asked: dict[str, int] = field(default_factory=dict)

    def __call__(self, conversation: Conversation) -> str:
        text = next(m["content"] for m in conversation if m["role"] == "user")
        attempt = self.asked.get(text, 0)
        self.asked[text] = attempt + 1
        options = self.answers[text]
        return options[min(attempt, len(options) - 1)]


class Joke(BaseModel):
    """A joke."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


GOOD = '{"setup": "Why?", "punchline": "Because."}'
MISSING = '{"setup": "Why?"}'


def scripted(answers: dict[str, list[str]], **kwargs: Any) -> tuple[ScriptedAPI, Any]:
    api = ScriptedAPI(answer=Script(answers))
    return api, make_model(api, **kwargs)


def last_user(conversation: Conversation) -> str:
    return next(m["content"] for m in reversed(conversation) if m["role"] == "user")


# -- re-asks --------------------------------------------------------------------


def test_reask_carries_the_parser_error() -> None:
    api, llm = scripted({"joke": [MISSING, GOOD]})

    joke = llm.with_structured_output(Joke).invoke("joke")

    assert joke == Joke(setup="Why?", punchline="Because.")
    first, second = api.posted
    reask = second[0]
    assert reask[: len(first[0])] == first[0]
    assert reask[-2] == {"role": "assistant", "content": MISSING}
    assert reask[-1]["role"] == "user"
    assert "punchline: Field required" in reask[-1]["content"]


def test_valid_answers_are_not_resubmitted() -> None:
    api, llm = scripted({"a": [GOOD], "b": ["no json here", GOOD], "c": [GOOD]})

    jokes = llm.with_structured_output(Joke).batch(["a", "b", "c"])

    assert all(isinstance(joke, Joke) for joke in jokes)
    assert [len(job) for job in api.posted] == [3, 1]
    assert next(m["content"] for m in api.posted[1][0] if m["role"] == "user") == "b"
    assert "holds no JSON object" in last_user(api.posted[1][0])


def test_each_round_of_reasks_shares_one_job() -> None:
    answers = {f"q{i}": [MISSING, MISSING, GOOD] if i % 2 else [GOOD] for i in range(6)}
    api, llm = scripted(answers)

    jokes = llm.with_structured_output(Joke).batch(list(answers))

    assert all(isinstance(joke, Joke) for joke in jokes)
    assert [len(job) for job in api.posted] == [6, 3, 3]


def test_out_of_retries_raises_output_parser_exception_with_the_last_answer() -> None:
    api, llm = scripted({"joke": ["nope", "still nope", '{"setup": 1}']})

    with pytest.raises(OutputParserException) as caught:
        llm.with_structured_output(Joke).invoke("joke")

    assert isinstance(caught.value, StructuredOutputError)
    assert caught.value.llm_output == '{"setup": 1}'
    assert caught.value.attempts == 3
    assert "setup: Input should be a valid string" in str(caught.value)
    assert api.posts == 3


def test_include_raw_reports_the_parsing_error_next_to_the_last_answer() -> None:
    api, llm = scripted({"joke": ["nope", "```json\n{broken\n```"]}, structured_output_retries=1)

    out = llm.with_structured_output(Joke, include_raw=True).invoke("joke")

    assert out["parsed"] is None
    assert isinstance(out["parsing_error"], OutputParserException)
    assert isinstance(out["raw"], AIMessage)
    assert out["raw"].content == "```json\n{broken\n```"
    assert api.posts == 2


def test_include_raw_on_success_has_no_error() -> None:
    _, llm = scripted({"joke": [GOOD]})

    out = llm.with_structured_output(Joke, include_raw=True).invoke("joke")

    assert out["parsed"] == Joke(setup="Why?", punchline="Because.")
    assert out["parsing_error"] is None
    assert out["raw"].content == GOOD


def test_zero_retries_never_reasks() -> None:
    api, llm = scripted({"joke": [MISSING, GOOD]}, structured_output_retries=0)

    with pytest.raises(StructuredOutputError):
        llm.with_structured_output(Joke).invoke("joke")

    assert api.posts == 1


def test_batch_with_return_exceptions_keeps_the_valid_results() -> None:
    _, llm = scripted({"a": [GOOD], "b": ["never json"]}, structured_output_retries=1)

    good, bad = llm.with_structured_output(Joke).batch(["a", "b"], return_exceptions=True)

    assert isinstance(good, Joke)
    assert isinstance(bad, StructuredOutputError)
    assert bad.llm_output == "never json"


async def test_async_batch_reasks_only_the_invalid_inputs() -> None:
    api, llm = scripted({"a": [GOOD], "b": [MISSING, GOOD]})

    jokes = await llm.with_structured_output(Joke).abatch(["a", "b"])

    assert jokes == [Joke(setup="Why?", punchline="Because.")] * 2
    assert [len(job) for job in api.posted] == [2, 1]


async def test_async_invoke_reasks_with_the_error() -> None:
    api, llm = scripted({"joke": [MISSING, GOOD]})

    joke = await llm.with_structured_output(Joke).ainvoke("joke")

    assert joke.punchline == "Because."
    assert "punchline: Field required" in last_user(api.posted[1][0])


# -- parsing and schemas ----------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        GOOD,
        f"```json\n{GOOD}\n```",
        f"Sure! Here is your joke:\n{GOOD}\nHope you like it.",
        f"<think>a cat joke {{maybe}}</think>\n```\n{GOOD}\n```",
    ],
    ids=["bare", "fenced", "prose-around", "think-then-fence"],
)
def test_the_parser_tolerates_what_models_emit(answer: str) -> None:
    api, llm = scripted({"joke": [answer]})

    assert llm.with_structured_output(Joke).invoke("joke").setup == "Why?"
    assert api.posts == 1


class JokeDict(TypedDict):
    """A joke."""

    setup: str
    punchline: str


@pytest.mark.parametrize("schema", [JokeDict, Joke.model_json_schema()], ids=["typeddict", "dict"])
def test_typeddict_and_json_schema_give_validated_dicts(schema: Any) -> None:
    api, llm = scripted({"joke": [MISSING, GOOD]})

    out = llm.with_structured_output(schema).invoke("joke")

    assert out == json.loads(GOOD)
    assert "punchline: Field required" in last_user(api.posted[1][0])


def test_the_schema_goes_into_the_system_message() -> None:
    api, llm = scripted({"joke": [GOOD]})

    llm.with_structured_output(Joke).invoke([SystemMessage("Be funny."), HumanMessage("joke")])

    system = api.posted[0][0][0]
    assert system["role"] == "system"
    assert system["content"].startswith("Be funny.\n\n")
    assert '"punchline"' in system["content"]
    assert "<json_schema>" in system["content"]


def test_json_mode_asks_for_json_and_validates_a_schema_when_given() -> None:
    api, llm = scripted({"joke": ['{"anything": 1}', GOOD]})

    assert llm.with_structured_output(method="json_mode").invoke("joke") == {"anything": 1}
    system = api.posted[0][0][0]["content"]
    assert "JSON" in system
    assert "<json_schema>" not in system
    assert llm.with_structured_output(Joke, method="json_mode").invoke("joke").setup == "Why?"


def test_structured_output_arguments_are_checked_before_any_request() -> None:
    api, llm = scripted({})

    with pytest.raises(ValueError, match="method must be one of"):
        llm.with_structured_output(Joke, method="xml")
    with pytest.raises(ValueError, match="needs a schema"):
        llm.with_structured_output(None)
    with pytest.raises(ValueError, match="unexpected arguments"):
        llm.with_structured_output(Joke, temperature=0)
    with pytest.raises(ToolCallingNotEnabledError, match="json_schema"):
        llm.with_structured_output(Joke, method="function_calling")
    assert api.requests == []


class _Options(BaseCallbackHandler):
    def __init__(self) -> None:
        self.options: list[Any] = []

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.options.append(kwargs.get("options"))


def test_ls_structured_output_format_reaches_tracing_on_every_attempt() -> None:
    _, llm = scripted({"joke": [MISSING, GOOD]})
    handler = _Options()

    llm.with_structured_output(Joke).invoke("joke", config={"callbacks": [handler]})

    assert len(handler.options) == 2
    for options in handler.options:
        sent = options["ls_structured_output_format"]
        assert sent["kwargs"] == {"method": "json_schema"}
        assert sent["schema"]["title"] == "Joke"


# -- prompted tool calling --------------------------------------------------------


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "sunny"


def test_bind_tools_without_opt_in_explains_before_any_request() -> None:
    api, llm = scripted({})

    with pytest.raises(ToolCallingNotEnabledError) as caught:
        llm.bind_tools([add])

    assert isinstance(caught.value, NotImplementedError)
    assert isinstance(caught.value, ConfigurationError)
    text = str(caught.value)
    assert "no native tool calling" in text
    assert "tool_calling='prompted'" in text
    with pytest.raises(ToolCallingNotEnabledError):
        llm.bind(tools=[{"type": "function", "function": {"name": "add"}}]).invoke("hi")
    assert api.requests == []


def prompted(answers: dict[str, list[str]]) -> tuple[ScriptedAPI, BaseChatGenerationJob]:
    api, llm = scripted(answers, tool_calling="prompted")
    return api, llm


def call(name: str, **arguments: Any) -> str:
    return json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]})


def test_a_prompted_tool_call_becomes_tool_calls_with_ids() -> None:
    api, llm = prompted({"Add 3 and 4": [f"Let me add.\n```json\n{call('add', a=3, b=4)}\n```"]})

    message = llm.bind_tools([add, get_weather]).invoke("Add 3 and 4")

    assert message.content == ""
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("add", {"a": 3, "b": 4})]
    assert message.tool_calls[0]["id"].startswith("call_")
    assert message.response_metadata["finish_reason"] == "tool_calls"
    system = api.posted[0][0][0]["content"]
    assert '"name": "get_weather"' in system
    assert "Get the weather in a city." in system
    assert '"a"' in system


def test_a_plain_text_answer_under_auto_is_a_text_message() -> None:
    _, llm = prompted({"Hi": ["Hello! How can I help?"]})

    message = llm.bind_tools([add]).invoke("Hi")

    assert message.content == "Hello! How can I help?"
    assert message.tool_calls == []


def test_tool_results_go_back_as_text_the_model_can_read() -> None:
    api, llm = prompted({"Add 1 and 2": ["It is 3."]})
    history = [
        HumanMessage("Add 1 and 2"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}]),
        ToolMessage("3", tool_call_id="c1"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1}, "id": "c2"}]),
        ToolMessage("missing b", tool_call_id="c2", status="error"),
    ]

    assert llm.bind_tools([add]).invoke(history).content == "It is 3."

    sent = api.posted[0][0]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert json.loads(sent[2]["content"]) == {
        "tool_calls": [{"id": "c1", "name": "add", "arguments": {"a": 1, "b": 2}}]
    }
    assert sent[3]["content"] == "Tool result for call c1 (add):\n3"
    assert sent[5]["content"] == "Tool error for call c2 (add):\nmissing b"


def test_forced_tool_choice_reasks_a_text_answer() -> None:
    api, llm = prompted({"Hello": ["Hi there!", call("get_weather", city="Oslo")]})

    message = llm.bind_tools([add, get_weather], tool_choice="get_weather").invoke("Hello")

    assert message.tool_calls[0]["args"] == {"city": "Oslo"}
    assert "<tool_choice>\nget_weather\n</tool_choice>" in api.posted[0][0][0]["content"]
    assert "You must call the tool 'get_weather'" in api.posted[0][0][0]["content"]
    assert "holds no JSON object" in last_user(api.posted[1][0])


@pytest.mark.parametrize(
    ("choice", "bad", "error"),
    [
        ("any", call("divide", a=1), "there is no tool 'divide'"),
        ("add", call("get_weather", city="x"), "you must call the tool 'add'"),
        ("auto", call("add", a="three", b=4), "a: should be of type integer"),
        ("auto", '{"tool_calls": [{"name": "add", "arguments": {"a": 1', "not valid JSON"),
    ],
    ids=["unknown-tool", "wrong-tool", "bad-argument", "broken-json"],
)
def test_a_malformed_call_is_reasked_with_the_error(choice: str, bad: str, error: str) -> None:
    api, llm = prompted({"Add 3 and 4": [bad, call("add", a=3, b=4)]})

    message = llm.bind_tools([add, get_weather], tool_choice=choice).invoke("Add 3 and 4")

    assert message.tool_calls[0]["args"] == {"a": 3, "b": 4}
    assert error in last_user(api.posted[1][0])
    assert api.posted[1][0][-2] == {"role": "assistant", "content": bad}


def test_a_call_still_malformed_after_the_retries_is_an_invalid_tool_call() -> None:
    api, llm = prompted({"Add": [call("divide")]})

    message = llm.bind_tools([add], tool_choice="any").invoke("Add")

    assert message.tool_calls == []
    [invalid] = message.invalid_tool_calls
    assert "there is no tool 'divide'" in invalid["error"]
    assert api.posts == 3


def test_an_invalid_call_in_the_history_goes_back_as_its_text() -> None:
    api, llm = prompted({"Add": [call("divide")] * 3 + ["Done."]})
    bound = llm.bind_tools([add])
    failed = bound.invoke("Add")

    answer = bound.invoke([HumanMessage("Add"), failed, HumanMessage("Go on")])

    assert answer.content == "Done."
    assert api.posted[-1][0][-2] == {"role": "assistant", "content": call("divide")}


def test_tool_choice_none_leaves_the_answer_as_text() -> None:
    _, llm = prompted({"Add": [call("add", a=1, b=2)]})

    message = llm.bind_tools([add], tool_choice="none").invoke("Add")

    assert message.tool_calls == []
    assert "tool_calls" in message.content


@pytest.mark.parametrize(
    "choice",
    ["add", {"type": "function", "function": {"name": "add"}}, {"type": "tool", "name": "add"}],
    ids=["name", "openai-dict", "name-dict"],
)
def test_tool_choice_naming_a_tool_in_any_spelling_forces_it(choice: Any) -> None:
    api, llm = prompted({"Hi": ["Hello", call("add", a=1, b=2)]})

    message = llm.bind_tools([add, get_weather], tool_choice=choice).invoke("Hi")

    assert message.tool_calls[0]["name"] == "add"
    assert "<tool_choice>\nadd\n</tool_choice>" in api.posted[0][0][0]["content"]


def test_tool_choice_naming_no_bound_tool_fails_at_bind_time() -> None:
    api, llm = prompted({})

    with pytest.raises(ValueError, match="tool_choice must be"):
        llm.bind_tools([add], tool_choice="divide")
    assert api.requests == []


def test_streaming_carries_the_tool_calls() -> None:
    _, llm = prompted({"Add 3 and 4": [call("add", a=3, b=4)]})

    chunks = list(llm.bind_tools([add], tool_choice="any").stream("Add 3 and 4"))

    assert len(chunks) == 1
    assert chunks[0].tool_calls[0]["args"] == {"a": 3, "b": 4}
    assert chunks[0].chunk_position == "last"


async def test_async_prompted_tool_call_is_reasked() -> None:
    api, llm = prompted({"Add 3 and 4": ["nothing", call("add", a=3, b=4)]})

    message = await llm.bind_tools([add], tool_choice="any").ainvoke("Add 3 and 4")

    assert message.tool_calls[0]["name"] == "add"
    assert api.posts == 2


def test_function_calling_structured_output_uses_a_forced_prompted_call() -> None:
    api, llm = prompted({"joke": [call("Joke", setup="Why?"), call("Joke", **json.loads(GOOD))]})

    out = llm.with_structured_output(Joke, method="function_calling", include_raw=True).invoke(
        "joke"
    )

    assert out["parsed"] == Joke(setup="Why?", punchline="Because.")
    assert out["raw"].tool_calls[0]["name"] == "Joke"
    assert "<tool_choice>\nJoke\n</tool_choice>" in api.posted[0][0][0]["content"]
    assert "punchline: Field required" in last_user(api.posted[1][0])


def test_tool_messages_with_images_are_refused_before_any_request() -> None:
    api, llm = prompted({})
    history = [
        HumanMessage("Look"),
        AIMessage("", tool_calls=[{"name": "add", "args": {}, "id": "c1"}]),
        ToolMessage(
            [{"type": "image", "base64": "AAA", "mime_type": "image/png"}], tool_call_id="c1"
        ),
    ]

    with pytest.raises(InvalidInputError, match="only send text"):
        llm.bind_tools([add]).invoke(history)
    assert api.requests == []


# -- capabilities -----------------------------------------------------------------


@pytest.mark.parametrize("tool_calling", ["none", "prompted"])
def test_the_profile_declares_no_native_tools_structured_output_or_streaming(
    tool_calling: str,
) -> None:
    _, llm = scripted({}, tool_calling=tool_calling)

    assert llm.profile is not None
    assert llm.profile["tool_calling"] is False
    assert llm.profile["structured_output"] is False
    assert llm.profile["tool_call_streaming"] is False
    assert llm.profile["text_inputs"] is True


def test_the_schema_responder_answers_what_the_client_asks() -> None:
    """The emulator's responder reads the client's instructions (both sides of one protocol)."""
    api = ScriptedAPI(answer=SchemaResponder())
    llm = make_model(api, tool_calling="prompted")

    assert llm.with_structured_output(Joke).invoke("A cat joke").setup == "A cat joke"
    message = llm.bind_tools([add], tool_choice="any").invoke("What is 3 + 4?")
    assert message.tool_calls[0]["args"] == {"a": 3, "b": 4}
    assert api.posts == 2


def test_a_batch_with_tools_packs_first_attempts_and_reasks_the_malformed_one() -> None:
    api, llm = prompted(
        {"Add 1 and 2": [call("add", a=1, b=2)], "Add 3 and 4": ["{broken", call("add", a=3, b=4)]}
    )

    out = llm.bind_tools([add], tool_choice="any").batch(["Add 1 and 2", "Add 3 and 4"])

    assert [m.tool_calls[0]["args"] for m in out] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert [len(job) for job in api.posted] == [2, 1]


def test_streaming_an_invalid_call_keeps_it_invalid() -> None:
    _, llm = prompted({"Add": [call("divide")]})

    [chunk] = list(llm.bind_tools([add], tool_choice="any").stream("Add"))

    assert chunk.tool_calls == []
    assert chunk.invalid_tool_calls


def _failing_reasks(answers: dict[str, list[str]]) -> tuple[ScriptedAPI, Any]:
    """A scripted model whose second job (the re-asks) fails on the server."""
    api, llm = scripted(answers)

    def fail_from_the_second_job(job: FakeJob) -> None:
        if len(api.jobs) >= 2:
            api.fail_tasks.add(0)

    api.on_post = fail_from_the_second_job
    return api, llm


def test_a_service_error_during_a_reask_is_raised_not_reported_as_parsing_error() -> None:
    _, llm = _failing_reasks({"joke": [MISSING, GOOD]})
    with pytest.raises(TaskFailedError):
        llm.with_structured_output(Joke, include_raw=True).invoke("joke")

    _, llm = _failing_reasks({"a": [GOOD], "b": [MISSING, GOOD]})
    good, failed = llm.with_structured_output(Joke, include_raw=True).batch(
        ["a", "b"], return_exceptions=True
    )
    assert good["parsed"] == Joke(setup="Why?", punchline="Because.")
    assert isinstance(failed, TaskFailedError)
