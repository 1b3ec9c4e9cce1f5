"""Hostile inputs: empty message lists, empty and huge texts, lone surrogates and
other odd characters, ``None`` or numbers where a string belongs.

Each call either handles the input correctly (the right request, the right
answer) or raises a clear error before any request: ``InvalidInputError`` (a
``ValueError``) or, for inputs LangChain or pydantic refuse, their
``ValueError``. Nothing else, and never a request with a broken body.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_mlstudio import (
    ChatModelStudio,
    FastinoClient,
    FastinoPIITransformer,
    FyreToolkitClient,
    InvalidInputError,
    PIIDetectionError,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any code point, lone surrogates included.
hostile_text = st.text(st.characters(codec=None, min_codepoint=0), max_size=60) | st.sampled_from(
    ["", " ", "\x00", "\ud800", "a\udfffb", "\u202eevil", "🙂" * 5, "x" * 50_000]
)


def has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


class EchoStudio:
    """A generate-job API that answers ``Echo: <last user text>``."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.conversation: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST":
            self.conversation = json.loads(request.content)["messages"][0]
            return httpx.Response(200, json={"job_id": "job_1", "status": "CREATED"})
        users = [m for m in self.conversation if m["role"] == "user"]
        content = users[-1]["content"] if users else ""
        text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
        result = {"task_index": 0, "status": "completed", "result": "Echo: " + text}
        return httpx.Response(
            200, json={"job_id": "job_1", "job_status": "completed", "results": [result]}
        )


def chat(server: EchoStudio) -> ChatModelStudio:
    return ChatModelStudio(
        model="m",
        api_key="k",
        organization_id="o",
        base_url="http://studio.test",
        poll_initial_interval=0.001,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
    )


@SETTINGS
@given(text=hostile_text)
def test_chat_prompt_is_answered_or_refused_before_any_request(text: str) -> None:
    server = EchoStudio()
    if has_surrogate(text) or not text.strip():  # an empty prompt is no paid job
        with pytest.raises(InvalidInputError):
            chat(server).invoke(text)
        assert server.requests == []
    else:
        assert chat(server).invoke(text).content == "Echo: " + text


content_blocks = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, st.text(max_size=10)),
    st.just({"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"}),
    st.just({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}),
    st.just({"type": "image_url", "image_url": None}),
    st.just({"type": "image"}),
    st.just({"type": "audio", "base64": "AAA"}),
    st.just({"type": "tool_use", "id": "1"}),
    st.just({"type": None}),
    st.just({"type": "text", "text": None}),
)
contents = st.text(max_size=10) | st.lists(content_blocks | st.text(max_size=5), max_size=3)
messages: st.SearchStrategy[BaseMessage] = st.one_of(
    st.builds(HumanMessage, content=contents),
    st.builds(SystemMessage, content=contents),
    st.builds(AIMessage, content=st.text(max_size=10)),
    st.just(AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "1"}])),
    st.builds(ToolMessage, content=st.text(max_size=5), tool_call_id=st.just("1")),
    st.builds(
        ChatMessage,
        content=st.text(max_size=5),
        role=st.sampled_from(["user", "assistant", "critic", ""]),
    ),
)


@SETTINGS
@given(history=st.lists(messages, max_size=4))
def test_any_message_history_is_sent_whole_or_refused_before_any_request(
    history: list[BaseMessage],
) -> None:
    server = EchoStudio()
    try:
        answer = chat(server).invoke(history)
    except InvalidInputError:
        assert server.requests == []
        return
    assert history  # an empty history is always refused
    assert len([r for r in server.requests if r.method == "POST"]) == 1
    assert len(server.conversation) == len(history)
    assert answer.content.startswith("Echo: ")


@pytest.mark.parametrize("text", [None, 42, ["nested"]])
def test_a_text_block_without_a_string_is_refused_not_sent_as_its_repr(text: Any) -> None:
    server = EchoStudio()
    with pytest.raises(InvalidInputError, match="text block"):
        chat(server).invoke([HumanMessage(content=[{"type": "text", "text": text}])])
    assert server.requests == []


@pytest.mark.parametrize("bad", [None, 42, 3.5])
def test_non_string_prompts_are_refused_by_langchain_before_any_request(bad: Any) -> None:
    server = EchoStudio()
    with pytest.raises(ValueError, match="Invalid input type"):
        chat(server).invoke(bad)
    assert server.requests == []


# -- Fastino --------------------------------------------------------------------


class EchoFastino:
    def __init__(self) -> None:
        self.inputs: list[list[str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        batch = [item["text"] for item in json.loads(request.content)["input"]]
        self.inputs.append(batch)
        return httpx.Response(
            200, json=[{"input": t, "status": "success", "output": {"entities": []}} for t in batch]
        )


def fastino(server: EchoFastino, batch_size: int = 2) -> FastinoClient:
    return FastinoClient(
        api_key="k",
        base_url="http://fastino.test",
        batch_size=batch_size,
        requests_per_second=1e6,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
    )


fastino_items = (
    hostile_text
    | st.none()
    | st.integers()
    | st.fixed_dictionaries({"text": hostile_text | st.none()})
)


@SETTINGS
@given(items=st.lists(fastino_items, max_size=4))
def test_fastino_inputs_are_sent_or_refused_before_any_request(items: list[Any]) -> None:
    server = EchoFastino()
    texts = [i["text"] if isinstance(i, dict) else i for i in items]
    if all(isinstance(t, str) for t in texts) and not any(has_surrogate(t) for t in texts):
        results = fastino(server).run("fastino-pii", items)
        assert [r.input for r in results] == texts
        # Each text sent once (batches may reach the server in any order).
        assert sorted(t for batch in server.inputs for t in batch) == sorted(texts)
        return
    with pytest.raises(ValueError):  # InvalidInputError, or pydantic's for a non-text
        fastino(server).run("fastino-pii", items)
    assert server.inputs == [] or any(has_surrogate(t) for t in texts if isinstance(t, str))


def _failure_wording(docs: list[tuple[str | None, bool]]) -> str:
    """The message of the same failure for stand-in texts: its wording, without inputs."""
    pii = FastinoPIITransformer(
        client=fastino(EchoFastino(), batch_size=3), chunk_size=400, chunk_overlap=50
    )
    stand_ins = [Document("\ud800" if bad else "~", id=i) for i, bad in docs]
    with pytest.raises(PIIDetectionError) as info:
        pii.transform_documents(stand_ins)
    return str(info.value)


@SETTINGS
@given(texts=st.lists(hostile_text, min_size=1, max_size=4))
@example(texts=["\ud800", "text"])  # a text that is also a word of the message's wording
def test_transformer_gives_every_document_one_outcome(texts: list[str]) -> None:
    server = EchoFastino()
    pii = FastinoPIITransformer(
        client=fastino(server, batch_size=3), chunk_size=400, chunk_overlap=50
    )
    docs = [Document(text, id=f"doc-{i}") for i, text in enumerate(texts)]
    bad = {d.id for d in docs if has_surrogate(d.page_content)}
    if bad:
        with pytest.raises(PIIDetectionError) as info:
            pii.transform_documents(docs)
        # Only the unencodable documents' batches fail, named by id, never by text.
        assert set(info.value.document_ids) >= bad
        # A text leaks if it is in the message but not in the message the same failure
        # gives for stand-in texts (a text such as "text" is part of the wording itself).
        wording = _failure_wording([(d.id, d.id in bad) for d in docs])
        assert all(t not in str(info.value) or t in wording for t in texts if len(t) > 3)
    else:
        out = pii.transform_documents(docs)
        assert [d.id for d in out] == [d.id for d in docs]
        assert [d.page_content for d in out] == texts  # the fake finds no PII
    sent = [t for batch in server.inputs for t in batch]
    assert all(len(t) <= 400 for t in sent)  # huge texts went out in chunks
    assert not any(has_surrogate(t) for t in sent)
    blank = [t for t in texts if not t.strip()]
    assert not any(t in sent for t in blank if t)  # blank documents send nothing


# -- FyreToolkit ------------------------------------------------------------------


class EchoFyre:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        inputs = json.loads(request.content)["inputs"]
        return httpx.Response(
            200,
            json={
                "id": "pred_1",
                "created": 0,
                "model": "m",
                "results": [{"label": "x"} for _ in inputs],
            },
        )


def fyre(server: EchoFyre) -> FyreToolkitClient:
    return FyreToolkitClient(
        api_key="k",
        base_url="http://fyre.test",
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
    )


@SETTINGS
@given(
    model_id=hostile_text
    | st.sampled_from(["sentiment-v1", "a/b", "../admin", "x?y=1#z"])
    | st.none(),
    inputs=st.lists(
        hostile_text
        | st.none()
        | st.integers()
        | st.fixed_dictionaries({"text": st.text(max_size=5)}),
        max_size=3,
    )
    | st.none()
    | st.text(max_size=5),
)
def test_fyretoolkit_prediction_is_sent_or_refused_before_any_request(
    model_id: Any, inputs: Any
) -> None:
    server = EchoFyre()
    try:
        prediction = fyre(server).predict(model_id, inputs)
    except InvalidInputError:
        assert server.requests == []
        return
    [request] = server.requests
    # The id is one path segment, however odd: no traversal, no query string.
    assert request.url.raw_path.count(b"/") == 2
    assert b"?" not in request.url.raw_path
    assert b"#" not in request.url.raw_path
    assert len(prediction.results) == len(inputs)
