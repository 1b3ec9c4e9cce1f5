"""Behaviour of ChatModelStudio / ChatIonosModelStudio against a fake job API."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any
from uuid import UUID

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from pydantic import ValidationError

from langchain_mlstudio import (
    BadRequestError,
    ChatIonosModelStudio,
    ChatModelStudio,
    ConfigurationError,
    InvalidInputError,
    JobFailedError,
    JobTimeoutError,
    TaskFailedError,
)
from langchain_mlstudio.chat_models import PROGRESS_EVENT
from tests.support.chat import KEY, ORG, FakeJobAPI, call_in_threads, make_model

FLAVOURS = ["modelstudio", "ionos"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_invoke_returns_the_task_text_in_both_flavours(flavour: str) -> None:
    api = FakeJobAPI(flavour=flavour, checks_until_done=3)
    llm = make_model(api)

    message = llm.invoke("Hello")

    assert message.content == "reply to Hello"  # IONOS's leading space removed
    assert message.response_metadata["job_id"] == "job_0"
    assert message.response_metadata["model_name"] == "ft-model"
    assert message.response_metadata["model_provider"] == flavour
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.usage_metadata is None  # the API reports no token counts
    assert api.posts == 1
    assert api.gets == 3


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_ainvoke_matches_invoke(flavour: str) -> None:
    api = FakeJobAPI(flavour=flavour, checks_until_done=2)
    llm = make_model(api)

    message = await llm.ainvoke("Hello")

    assert message.content == "reply to Hello"
    assert api.posts == 1


def test_request_body_follows_the_documented_shape() -> None:
    api = FakeJobAPI()
    llm = make_model(api, temperature=0.2, max_tokens=64)

    llm.invoke([SystemMessage("Be brief."), HumanMessage("What is AI?")])

    request = api.requests[0]
    assert request.url.path == f"/api/v1/organizations/{ORG}/generate"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"].startswith("langchain-mlstudio/")
    assert api.jobs["job_0"].payload == {
        "model_id": "ft-model",
        "messages": [
            [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What is AI?"},
            ]
        ],
        "temperature": 0.2,
        "max_tokens": 64,
    }


def test_history_keeps_order_and_roles() -> None:
    api = FakeJobAPI()
    llm = make_model(api)

    llm.invoke(
        [
            SystemMessage("sys"),
            HumanMessage("q1"),
            AIMessage("a1"),
            HumanMessage("q2"),
        ]
    )

    roles = [m["role"] for m in api.jobs["job_0"].conversations[0]]
    assert roles == ["system", "user", "assistant", "user"]


def test_image_blocks_become_the_vision_format() -> None:
    api = FakeJobAPI()
    llm = make_model(api)

    llm.invoke(
        [
            HumanMessage(
                content=[
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "base64": "AAAA", "mime_type": "image/jpeg"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,BBBB"}},
                    {"type": "image", "url": "https://example.com/cat.png"},
                ]
            )
        ]
    )

    content = api.jobs["job_0"].conversations[0][0]["content"]
    assert content == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,BBBB"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]


@pytest.mark.parametrize(
    "messages",
    [
        [HumanMessage("hi"), ToolMessage("42", tool_call_id="c1")],
        [AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c1"}])],
        [HumanMessage(content=[{"type": "audio", "base64": "AAA", "mime_type": "audio/wav"}])],
        [],
    ],
    ids=["tool-message", "tool-call", "audio", "empty"],
)
def test_messages_the_api_cannot_carry_fail_before_any_request(messages: list[Any]) -> None:
    api = FakeJobAPI()
    llm = make_model(api)

    with pytest.raises(InvalidInputError):
        llm.invoke(messages)

    assert api.requests == []


@pytest.mark.parametrize("temperature", [-0.1, 1.5])
def test_temperature_out_of_range_is_rejected_at_construction(temperature: float) -> None:
    api = FakeJobAPI()
    with pytest.raises(ValidationError):
        make_model(api, temperature=temperature)
    assert api.requests == []


def test_temperature_override_out_of_range_fails_before_any_request() -> None:
    api = FakeJobAPI()
    llm = make_model(api)

    with pytest.raises(InvalidInputError, match="temperature"):
        llm.invoke("hi", temperature=2.0)

    assert api.requests == []


@pytest.mark.parametrize(
    ("cls", "variable"),
    [
        (ChatModelStudio, "MODELSTUDIO_API_KEY"),
        (ChatIonosModelStudio, "IONOS_MODEL_STUDIO_API_KEY"),
    ],
)
def test_missing_key_names_the_environment_variable(
    cls: type[ChatModelStudio], variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigurationError, match=variable):
        cls(model="m", organization_id="org")


def test_missing_organization_names_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IONOS_MODEL_STUDIO_ORGANIZATION_ID", raising=False)
    with pytest.raises(ConfigurationError, match="IONOS_MODEL_STUDIO_ORGANIZATION_ID"):
        ChatIonosModelStudio(model="m", api_key="k")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONOS_MODEL_STUDIO_API_KEY", "env-key")
    monkeypatch.setenv("IONOS_MODEL_STUDIO_ORGANIZATION_ID", "env-org")
    monkeypatch.setenv("IONOS_MODEL_STUDIO_BASE_URL", "http://localhost:1")

    llm = ChatIonosModelStudio(model_id="m")

    assert llm.model == "m"
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "env-key"
    assert llm.organization_id == "env-org"
    assert llm.base_url == "http://localhost:1"
    assert llm.max_concurrent_jobs == 3


def test_defaults_point_at_the_public_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELSTUDIO_BASE_URL", raising=False)
    monkeypatch.delenv("IONOS_MODEL_STUDIO_BASE_URL", raising=False)
    assert ChatModelStudio(model="m", api_key="k", organization_id="o").base_url == (
        "https://api.modelstudio.app"
    )
    assert ChatIonosModelStudio(model="m", api_key="k", organization_id="o").base_url == (
        "https://studio.ionos.de"
    )


def test_key_is_absent_from_repr_and_str() -> None:
    llm = make_model(FakeJobAPI())
    assert KEY not in repr(llm)
    assert KEY not in str(llm)
    assert KEY not in repr(llm.client)
    assert KEY not in str(llm.model_dump())


def test_stop_sequences_cut_the_result() -> None:
    llm = make_model(FakeJobAPI())

    message = llm.invoke("Hello world", stop=[" world"])

    assert message.content == "reply to Hello"
    assert message.response_metadata["finish_reason"] == "stop_sequence"


def test_stop_from_the_constructor_applies_too() -> None:
    llm = make_model(FakeJobAPI(), stop=["to"])
    assert llm.invoke("x").content == "reply "


def test_model_override_reaches_the_request() -> None:
    api = FakeJobAPI()
    llm = make_model(api)

    message = llm.invoke("hi", model="other-model")

    assert api.jobs["job_0"].payload["model_id"] == "other-model"
    assert message.response_metadata["model_name"] == "other-model"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_batch_packs_inputs_into_one_job_in_input_order(flavour: str) -> None:
    api = FakeJobAPI(flavour=flavour, reverse_results=True)
    llm = make_model(api)

    results = llm.batch([f"prompt {i}" for i in range(10)])

    assert [m.content for m in results] == [f"reply to prompt {i}" for i in range(10)]
    assert api.posts == 1
    assert len(api.jobs["job_0"].conversations) == 10


async def test_abatch_packs_inputs_into_one_job_in_input_order() -> None:
    api = FakeJobAPI(reverse_results=True)
    llm = make_model(api)

    results = await llm.abatch([f"prompt {i}" for i in range(10)])

    assert [m.content for m in results] == [f"reply to prompt {i}" for i in range(10)]
    assert api.posts == 1


def test_batch_splits_at_max_batch_size() -> None:
    api = FakeJobAPI()
    llm = make_model(api, max_batch_size=4)

    results = llm.batch([f"p{i}" for i in range(10)])

    assert [m.content for m in results] == [f"reply to p{i}" for i in range(10)]
    assert sorted(len(j.conversations) for j in api.jobs.values()) == [2, 4, 4]


def test_results_are_matched_by_task_index_not_position() -> None:
    api = FakeJobAPI(reverse_results=True)
    llm = make_model(api)

    results = llm.batch(["first", "second", "third"])

    assert [m.content for m in results] == [
        "reply to first",
        "reply to second",
        "reply to third",
    ]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_failed_task_keeps_other_results(flavour: str) -> None:
    api = FakeJobAPI(flavour=flavour, fail_tasks={1})
    llm = make_model(api)

    results = llm.batch(["a", "b", "c"], return_exceptions=True)

    assert results[0].content == "reply to a"
    assert isinstance(results[1], TaskFailedError)
    assert results[1].task_index == 1
    assert results[1].job_id == "job_0"
    assert results[1].server_message == "model crashed"
    assert results[2].content == "reply to c"
    assert api.posts == 1


async def test_failed_task_keeps_other_results_async() -> None:
    api = FakeJobAPI(fail_tasks={0})
    llm = make_model(api)

    results = await llm.abatch(["a", "b"], return_exceptions=True)

    assert isinstance(results[0], TaskFailedError)
    assert results[1].content == "reply to b"


def test_failed_task_raises_without_return_exceptions() -> None:
    llm = make_model(FakeJobAPI(fail_tasks={0}))
    with pytest.raises(TaskFailedError, match="model crashed"):
        llm.invoke("a")


def test_invalid_input_in_a_batch_fails_only_its_own_slot() -> None:
    api = FakeJobAPI()
    llm = make_model(api)

    results = llm.batch(
        ["ok", [ToolMessage("x", tool_call_id="1")], "also ok"], return_exceptions=True
    )

    assert results[0].content == "reply to ok"
    assert isinstance(results[1], InvalidInputError)
    assert results[2].content == "reply to also ok"
    assert api.posts == 1


@pytest.mark.parametrize("status", ["FAILED", "error", "Canceled", "cancelled", "EXPIRED"])
def test_failed_job_raises_with_its_id(status: str) -> None:
    llm = make_model(FakeJobAPI(job_status_override=status))
    with pytest.raises(JobFailedError) as info:
        llm.invoke("a")
    assert info.value.job_id == "job_0"
    assert info.value.job_status == status


def test_unknown_status_keeps_polling_until_deadline() -> None:
    api = FakeJobAPI(job_status_override="warming_up")
    llm = make_model(api, job_timeout=0.05)

    with pytest.raises(JobTimeoutError) as info:
        llm.invoke("a")

    assert info.value.job_id == "job_0"
    assert api.gets > 1
    assert api.posts == 1


def test_job_timeout_error_lets_the_caller_resume() -> None:
    api = FakeJobAPI(checks_until_done=10_000)
    llm = make_model(api, job_timeout=0.02)

    with pytest.raises(JobTimeoutError) as info:
        llm.invoke("a")

    api.checks_until_done = 0
    job = llm.client.wait_for_job(info.value.job_id)
    assert job.text_for(0) == "reply to a"
    assert api.posts == 1


def test_transient_status_check_error_is_retried_not_fatal() -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(api, max_retries=0)
    original = api.handler
    failures = iter([True, True, False])

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and next(failures, False):
            api.requests.append(request)
            return httpx.Response(502, json={"detail": "bad gateway"})
        return original(request)

    llm = make_model(
        api,
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(flaky)),
    )

    assert llm.invoke("a").content == "reply to a"
    assert api.posts == 1


def test_submission_is_not_repeated_after_a_500() -> None:
    api = FakeJobAPI(responses=[httpx.Response(500, json={"detail": "boom"})])
    llm = make_model(api, max_retries=3)
    llm.client.transport.sleep = lambda _: None

    with pytest.raises(Exception, match="boom"):
        llm.invoke("a")

    assert api.posts == 1  # a 500 may have created the job: never resubmit


def test_submission_after_read_timeout_is_not_repeated() -> None:
    api = FakeJobAPI(responses=[httpx.ReadTimeout("slow")])
    llm = make_model(api, max_retries=3)
    llm.client.transport.sleep = lambda _: None

    with pytest.raises(Exception, match="did not answer"):
        llm.invoke("a")

    assert api.posts == 1


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow down"}),
        httpx.Response(503, json={"detail": "unavailable"}),
        httpx.ConnectError("refused"),
    ],
    ids=["429", "503", "connect-error"],
)
def test_submission_is_retried_when_no_job_was_created(first: Any) -> None:
    api = FakeJobAPI(responses=[first])
    llm = make_model(api)
    llm.client.transport.sleep = lambda _: None

    assert llm.invoke("a").content == "reply to a"
    assert len(api.jobs) == 1


def test_max_concurrent_jobs_holds_until_jobs_end() -> None:
    api = FakeJobAPI(checks_until_done=3)
    llm = make_model(api, max_concurrent_jobs=2)
    in_flight: list[int] = []
    lock = threading.Lock()
    active = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active
        response = api.handler(request)
        with lock:
            if request.method == "POST":
                active += 1
            elif response.json().get("job_status") == "completed":
                job = api.jobs[request.url.path.rsplit("/", 1)[1]]
                if job.checks == api.checks_until_done:
                    active -= 1
            in_flight.append(active)
        return response

    llm = make_model(
        api,
        max_concurrent_jobs=2,
        pack_concurrent_calls=False,
        organization_id="org-cap-sync",  # a credential of its own: a fresh peak
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    call_in_threads(llm.invoke, [f"p{i}" for i in range(6)])

    assert len(api.jobs) == 6
    assert max(in_flight) == 2
    assert llm.slots.peak == 2


async def test_max_concurrent_jobs_holds_across_async_calls() -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(
        api, max_concurrent_jobs=2, pack_concurrent_calls=False, organization_id="org-cap-async"
    )

    await asyncio.gather(*(llm.ainvoke(f"p{i}") for i in range(6)))

    assert len(api.jobs) == 6
    assert llm.slots.peak == 2
    assert llm.slots.in_use == 0


def test_stream_yields_one_last_chunk() -> None:
    llm = make_model(FakeJobAPI())

    chunks = list(llm.stream("hi"))

    assert len(chunks) == 1
    assert chunks[0].content == "reply to hi"
    assert chunks[0].chunk_position == "last"
    assert chunks[0].response_metadata["job_id"] == "job_0"


async def test_astream_yields_one_last_chunk() -> None:
    llm = make_model(FakeJobAPI())

    chunks = [chunk async for chunk in llm.astream("hi")]

    assert [c.content for c in chunks] == ["reply to hi"]
    assert chunks[0].chunk_position == "last"


def test_works_in_an_lcel_chain() -> None:
    llm = make_model(FakeJobAPI())
    chain = ChatPromptTemplate.from_messages([("system", "terse"), ("human", "{q}")]) | llm

    assert chain.invoke({"q": "why?"}).content == "reply to why?"
    assert [m.content for m in chain.batch([{"q": "1"}, {"q": "2"}])] == [
        "reply to 1",
        "reply to 2",
    ]


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts: list[UUID] = []
        self.ends: list[UUID] = []
        self.errors: list[UUID] = []
        self.events: list[tuple[str, Any]] = []

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kw: Any
    ) -> None:
        self.starts.append(run_id)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
        self.ends.append(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self.errors.append(run_id)

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kw: Any) -> None:
        self.events.append((name, data))


def test_batch_is_one_job_but_each_input_is_its_own_run() -> None:
    api = FakeJobAPI(fail_tasks={2})
    llm = make_model(api)
    recorder = Recorder()

    llm.batch(["a", "b", "c"], config={"callbacks": [recorder]}, return_exceptions=True)

    assert api.posts == 1
    assert len(set(recorder.starts)) == 3
    assert len(recorder.ends) == 2
    assert len(recorder.errors) == 1


def test_progress_reaches_callbacks_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(api)
    recorder = Recorder()

    with caplog.at_level(logging.INFO, logger="langchain_mlstudio"):
        llm.invoke("a", config={"callbacks": [recorder]})

    progress = [data for name, data in recorder.events if name == PROGRESS_EVENT]
    assert progress[-1] == {
        "job_id": "job_0",
        "job_status": "completed",
        "completed_tasks": 1,
        "total_tasks": 1,
        "task_index": 0,
    }
    assert progress[0]["completed_tasks"] == 0
    assert any("1/1 tasks done" in r.getMessage() for r in caplog.records)


def test_ls_params_describe_the_call() -> None:
    llm = make_model(FakeJobAPI(), stop=["x"])
    params = llm._get_ls_params(model="override")
    assert params["ls_provider"] == "modelstudio"
    assert params["ls_model_name"] == "override"
    assert params["ls_stop"] == ["x"]
    assert params["ls_temperature"] == 0.7


def test_a_packed_job_logs_its_progress_once_per_change(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(api)

    with caplog.at_level(logging.INFO, logger="langchain_mlstudio.chat_models"):
        llm.batch([f"p{i}" for i in range(8)])

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Job job_0")]
    assert lines == ["Job job_0: running, 0/8 tasks done", "Job job_0: completed, 8/8 tasks done"]


def test_another_model_called_inside_a_batch_submits_its_own_job() -> None:
    outer_api, inner_api = FakeJobAPI(), FakeJobAPI()
    inner = make_model(inner_api, model="inner-model")
    seen: list[str] = []

    class CallsAnotherModel(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
            seen.append(str(inner.invoke("from a callback").content))

    outer = make_model(outer_api, callbacks=[CallsAnotherModel()])

    results = outer.batch(["a", "b"])

    assert [r.content for r in results] == ["reply to a", "reply to b"]
    assert seen == ["reply to from a callback"] * 2
    # the inner calls are not absorbed into the outer batch (they may share a job of their own)
    assert {j.payload["model_id"] for j in inner_api.jobs.values()} == {"inner-model"}
    assert sum(len(j.conversations) for j in inner_api.jobs.values()) == 2
    assert [len(j.conversations) for j in outer_api.jobs.values()] == [2]


def _reject_packed_jobs_holding(marker: str, api: FakeJobAPI) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and marker in request.content.decode():
            api.requests.append(request)
            return httpx.Response(400, json={"detail": "messages.1: unsupported content"})
        return api.handler(request)

    return handler


def test_a_conversation_the_server_rejects_fails_only_its_own_slot() -> None:
    api = FakeJobAPI()
    handler = _reject_packed_jobs_holding("bad-input", api)
    llm = make_model(api, http_client=httpx.Client(transport=httpx.MockTransport(handler)))

    results = llm.batch(["a", "bad-input", "c"], return_exceptions=True)

    assert results[0].content == "reply to a"
    assert isinstance(results[1], BadRequestError)
    assert results[1].server_message == "messages.1: unsupported content"
    assert results[2].content == "reply to c"
    # one rejected packed job, then each conversation alone: nothing created twice
    assert len(api.jobs) == 2
    assert sorted(len(j.conversations) for j in api.jobs.values()) == [1, 1]


async def test_a_conversation_the_server_rejects_fails_only_its_own_slot_async() -> None:
    api = FakeJobAPI()
    handler = _reject_packed_jobs_holding("bad-input", api)
    llm = make_model(
        api, http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))
    )

    results = await llm.abatch(["bad-input", "b"], return_exceptions=True)

    assert isinstance(results[0], BadRequestError)
    assert results[1].content == "reply to b"
    assert len(api.jobs) == 1
