"""The chat models as LangChain applications use them: copies, shared credentials,
concurrent calls, cancellation, pickling, streaming (issue 11), over a fake job API."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import pickle
import signal
import threading
import time
from typing import Any, TypedDict

import httpx
import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import ConfigurableField
from pydantic import SecretStr

from langchain_mlstudio import (
    APIConnectionError,
    ChatIonosModelStudio,
    ChatModelStudio,
    ConfigurationError,
    InvalidInputError,
    JobTimeoutError,
    RateLimitError,
    TaskFailedError,
)
from langchain_mlstudio.chat_models import CANCELLED_EVENT, PROGRESS_EVENT
from tests.support.chat import (
    KEY,
    ORG,
    SYNC_AND_ASYNC,
    FakeJobAPI,
    batch,
    batch_as_completed,
    call_in_threads,
    fan_out,
    make_client,
    make_model,
)

FLAVOURS = ["modelstudio", "ionos"]


class InFlight:
    """Wraps a fake API and counts its unfinished jobs at every request."""

    def __init__(self, api: FakeJobAPI) -> None:
        self.api = api
        self.lock = threading.Lock()
        self.open: set[str] = set()
        self.peak = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        response = self.api.handler(request)
        with self.lock:
            if request.method == "POST" and response.status_code == 200:
                self.open.add(response.json()["job_id"])
            elif request.method == "GET" and response.json().get("results"):
                self.open.discard(response.json()["job_id"])
            self.peak = max(self.peak, len(self.open))
        return response

    def clients(self) -> dict[str, Any]:
        return {
            "http_client": httpx.Client(transport=httpx.MockTransport(self.handler)),
            "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(self.handler)),
        }


class Events(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.starts = 0
        self.ends = 0
        self.errors = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.starts += 1

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.ends += 1

    def on_llm_error(self, *args: Any, **kwargs: Any) -> None:
        self.errors += 1

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        self.events.append((name, data))

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]


class Answer(TypedDict):
    answer: str


# -- 1. settings are the instance's own ---------------------------------------------


def test_model_copy_with_other_credentials_never_reuses_the_originals_client() -> None:
    api = FakeJobAPI()
    llm = make_model(api)
    llm.invoke("warm up")  # builds the first credential's client

    other = llm.model_copy(update={"api_key": SecretStr("sk-other"), "organization_id": "org-2"})
    other.invoke("as the other tenant")

    last = api.requests[-2]  # the copy's submit
    assert last.headers["authorization"] == "Bearer sk-other"
    assert last.url.path == "/api/v1/organizations/org-2/generate"
    assert llm.client is not other.client
    llm.invoke("original again")
    assert api.requests[-2].headers["authorization"] == f"Bearer {KEY}"


def test_settings_changed_after_first_use_take_effect() -> None:
    api = FakeJobAPI(checks_until_done=10_000)
    llm = make_model(api, job_timeout=60)
    api.checks_until_done = 1
    llm.invoke("first")

    llm.api_key = SecretStr("sk-rotated")
    llm.job_timeout = 0.02
    api.checks_until_done = 10_000
    with pytest.raises(JobTimeoutError):
        llm.invoke("second")

    assert api.requests[-1].headers["authorization"] == "Bearer sk-rotated"


# -- 2. limits per credential ---------------------------------------------------------


def test_max_concurrent_jobs_holds_across_instances_copies_bind_and_configurable_fields() -> None:
    api = FakeJobAPI(checks_until_done=4)
    counter = InFlight(api)
    first = make_model(api, max_concurrent_jobs=2, pack_concurrent_calls=False, **counter.clients())
    second = make_model(
        api, max_concurrent_jobs=2, pack_concurrent_calls=False, **counter.clients()
    )
    runnables = [
        first,
        second,
        first.model_copy(),
        first.bind(stop=["zzz"]),
        second.with_config(tags=["t"]),
        first.configurable_fields(temperature=ConfigurableField(id="temperature")),
    ]
    threads = [
        threading.Thread(target=runnable.invoke, args=(f"p{i}-{j}",))
        for i, runnable in enumerate(runnables)
        for j in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(api.jobs) == 12
    assert counter.peak == 2
    assert first.slots is second.slots
    assert first.slots.in_use == 0


async def test_max_concurrent_jobs_holds_across_instances_in_async_code() -> None:
    api = FakeJobAPI(checks_until_done=3)
    counter = InFlight(api)
    models = [
        make_model(api, max_concurrent_jobs=3, pack_concurrent_calls=False, **counter.clients())
        for _ in range(3)
    ]

    await asyncio.gather(*(m.ainvoke(f"p{i}") for m in models for i in range(4)))

    assert len(api.jobs) == 12
    assert counter.peak == 3


def test_another_credential_does_not_share_the_limit() -> None:
    llm = make_model(FakeJobAPI())
    llm.invoke("builds the runtime state first")
    other = llm.model_copy(update={"api_key": SecretStr("sk-other")})
    assert llm.slots is not other.slots
    assert llm.slots is llm.model_copy().slots


# -- 3. packing across concurrent calls ----------------------------------------------


async def test_concurrent_ainvokes_are_packed_into_shared_jobs() -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(api)

    results = await asyncio.gather(*(llm.ainvoke(f"q{i}") for i in range(100)))

    assert [r.content for r in results] == [f"reply to q{i}" for i in range(100)]
    assert len(api.jobs) == 4  # 32 + 32 + 32 + 4


def test_concurrent_invokes_from_threads_and_copies_are_packed() -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(api)
    callers = [llm, llm.model_copy(), llm.with_config(tags=["x"])]
    results: dict[int, Any] = {}

    def call(i: int) -> None:
        results[i] = callers[i % 3].invoke(f"q{i}")

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {i: r.content for i, r in results.items()} == {i: f"reply to q{i}" for i in range(12)}
    assert len(api.jobs) == 1


def test_configurable_fields_instances_are_packed_and_share_the_limit() -> None:
    api = FakeJobAPI(checks_until_done=2)
    # each instance builds its own client on its first call: on a loaded machine the
    # fifteen calls can take longer than the default window to arrive
    llm = make_model(api, pack_window=0.5).configurable_fields(
        max_tokens=ConfigurableField(id="max_tokens")
    )

    # each config builds its own instance, as configurable_fields does per call
    configs = [{"configurable": {"max_tokens": 50}, "max_concurrency": 15} for _ in range(15)]

    results = llm.batch([f"q{i}" for i in range(15)], config=configs)

    assert [r.content for r in results] == [f"reply to q{i}" for i in range(15)]
    assert len(api.jobs) == 1
    assert api.jobs["job_0"].payload["max_tokens"] == 50


@SYNC_AND_ASYNC
async def test_batch_as_completed_packs_its_inputs(asynchronous: bool) -> None:
    api = FakeJobAPI()
    llm = make_model(api)

    pairs = await batch_as_completed(llm, [f"q{i}" for i in range(40)], asynchronous=asynchronous)

    assert {i: m.content for i, m in pairs.items()} == {i: f"reply to q{i}" for i in range(40)}
    assert len(api.jobs) == 2
    assert sorted(len(j.conversations) for j in api.jobs.values()) == [8, 32]


def test_max_concurrency_bounds_jobs_in_flight_not_the_pack_size() -> None:
    api = FakeJobAPI(checks_until_done=3)
    counter = InFlight(api)
    llm = make_model(api, **counter.clients())

    results = llm.batch([f"q{i}" for i in range(300)], config={"max_concurrency": 3})

    assert [r.content for r in results] == [f"reply to q{i}" for i in range(300)]
    assert len(api.jobs) == 10
    assert counter.peak <= 3


async def test_max_concurrency_bounds_jobs_in_flight_in_abatch_too() -> None:
    api = FakeJobAPI(checks_until_done=3)
    counter = InFlight(api)
    llm = make_model(api, **counter.clients())

    await llm.abatch([f"q{i}" for i in range(100)], config={"max_concurrency": 2})

    assert len(api.jobs) == 4
    assert counter.peak <= 2


def test_a_cache_does_not_turn_packing_off_for_uncached_inputs() -> None:
    api = FakeJobAPI()
    llm = make_model(api, cache=InMemoryCache())
    llm.batch(["a", "b"])

    results = llm.batch(["a", "c", "b", "d", "e"])

    assert [r.content for r in results] == [f"reply to {x}" for x in "acbde"]
    assert [len(j.conversations) for j in api.jobs.values()] == [2, 3]


def test_packing_of_concurrent_calls_can_be_turned_off() -> None:
    api = FakeJobAPI()
    llm = make_model(api, pack_concurrent_calls=False)
    call_in_threads(llm.invoke, [f"q{i}" for i in range(5)])
    assert len(api.jobs) == 5


async def test_packed_calls_are_each_their_own_run_with_their_own_answer_or_error() -> None:
    api = FakeJobAPI(fail_tasks={1})
    llm = make_model(api)
    events = Events()

    results = await asyncio.gather(
        *(llm.ainvoke(f"q{i}", config={"callbacks": [events]}) for i in range(3)),
        return_exceptions=True,
    )

    assert len(api.jobs) == 1
    assert results[0].content == "reply to q0"
    assert isinstance(results[1], TaskFailedError)
    assert results[1].task_index == 1
    assert results[2].content == "reply to q2"
    assert (events.starts, events.ends, events.errors) == (3, 2, 1)


def test_models_with_other_credentials_or_parameters_are_never_packed_together() -> None:
    api = FakeJobAPI()
    llm = make_model(api)
    callers = [
        (llm, {}),
        (llm.model_copy(update={"api_key": SecretStr("sk-other")}), {}),
        (llm, {"temperature": 0.1}),
    ]
    threads = [
        threading.Thread(target=model.invoke, args=("q",), kwargs=kwargs)
        for model, kwargs in callers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(api.jobs) == 3
    keys = {
        (j.payload["temperature"], r.headers["authorization"])
        for j, r in zip(
            api.jobs.values(), [r for r in api.requests if r.method == "POST"], strict=True
        )
    }
    assert len(keys) == 3


async def test_a_langgraph_send_fan_out_is_packed_into_one_job() -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(api)

    answers = await fan_out(llm, [f"t{i}" for i in range(20)])

    assert sorted(answers) == sorted(f"reply to t{i}" for i in range(20))
    assert len(api.jobs) == 1


# -- 4. cancellation without orphans ---------------------------------------------------


async def test_a_cancelled_call_keeps_its_slot_until_the_job_ends_and_reports_its_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeJobAPI(checks_until_done=10_000)
    llm = make_model(api, pack_concurrent_calls=False)
    events = Events()

    with (
        caplog.at_level(logging.WARNING, logger="langchain_mlstudio"),
        pytest.raises(TimeoutError),
    ):
        await asyncio.wait_for(llm.ainvoke("slow", config={"callbacks": [events]}), 0.05)

    assert api.posts == 1
    assert llm.slots.in_use == 1  # the job is still running: its slot is not free
    assert events.named(CANCELLED_EVENT) == [{"job_id": "job_0", "task_index": 0}]
    assert any("job_0" in r.getMessage() for r in caplog.records)

    api.checks_until_done = 0  # the job ends; the background follower frees the slot
    for _ in range(200):
        if llm.slots.in_use == 0:
            break
        await asyncio.sleep(0.01)
    assert llm.slots.in_use == 0
    assert api.posts == 1


async def test_a_call_cancelled_before_its_job_was_sent_creates_no_job() -> None:
    api = FakeJobAPI()
    llm = make_model(api, pack_window=0.2)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(llm.ainvoke("never sent"), 0.05)
    await asyncio.sleep(1.0)  # past the longest collection window (4 x 0.2 s)

    assert api.posts == 0


def test_a_call_left_behind_by_a_closed_event_loop_never_blocks_the_next_loop() -> None:
    api = FakeJobAPI()
    llm = make_model(api, pack_window=0.5)

    async def leave_a_call_waiting() -> None:
        asyncio.get_running_loop().create_task(llm.ainvoke("left behind"))
        await asyncio.sleep(0.01)  # asyncio.run then cancels it, mid-window

    asyncio.run(leave_a_call_waiting())
    for _ in range(3):  # a new loop may reuse the old one's id
        assert asyncio.run(llm.ainvoke("next")).content == "reply to next"


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_a_submit_refused_for_the_parallel_limit_waits_and_tries_again(
    asynchronous: bool,
) -> None:
    refusal = {"detail": "Too many parallel generation jobs"}
    api = FakeJobAPI(
        responses=[httpx.Response(429, headers={"Retry-After": "0"}, json=refusal)] * 4
    )
    llm = make_model(api, max_retries=0)
    waits: list[float] = []

    async def no_async_wait(delay: float) -> None:
        waits.append(delay)

    llm.client.transport.sleep = waits.append
    llm.client.transport.asleep = no_async_wait

    result = await llm.ainvoke("q") if asynchronous else llm.invoke("q")

    assert result.content == "reply to q"
    assert api.posts == 5
    assert len(api.jobs) == 1
    # four waits for capacity (Retry-After: 0 never makes a busy loop), then polling
    assert [w for w in waits if w >= 0.25] == [0.25, 0.5, 1.0, 2.0]


def test_a_refused_submit_gives_up_at_the_deadline_with_a_hint_for_chat_models() -> None:
    api = FakeJobAPI(
        flavour="ionos",
        responses=[httpx.Response(429, json={"detail": "Too many parallel jobs"})] * 50,
    )
    llm = make_model(api, max_retries=0, job_timeout=0.01)

    with pytest.raises(RateLimitError) as info:
        llm.invoke("q")

    assert "requests_per_second" not in str(info.value)
    assert "max_concurrent_jobs" in str(info.value)


def test_ctrl_c_stops_a_sync_batch_and_logs_the_submitted_jobs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeJobAPI(checks_until_done=10_000)  # jobs outlive the test
    llm = make_model(api, max_batch_size=4, max_concurrent_jobs=2)

    def interrupt_once_two_jobs_run() -> None:
        while api.posts < 2:
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_two_jobs_run, daemon=True).start()
    with (
        caplog.at_level(logging.WARNING, logger="langchain_mlstudio"),
        pytest.raises(KeyboardInterrupt),
    ):
        llm.batch([f"q{i}" for i in range(64)])
    posts_at_interrupt = api.posts
    time.sleep(0.3)

    assert posts_at_interrupt == 2  # the batch returned while its jobs still run
    assert api.posts == 2  # and nothing was submitted after the interrupt
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "job_0" in logged
    assert "job_1" in logged
    api.checks_until_done = 0  # the jobs end; their followers give the slots back
    for _ in range(200):
        if llm.slots.in_use == 0:
            break
        time.sleep(0.01)
    assert llm.slots.in_use == 0


def test_ctrl_c_during_a_sync_invoke_keeps_the_jobs_slot_and_reports_its_id() -> None:
    api = FakeJobAPI(checks_until_done=10_000)
    llm = make_model(api, organization_id="org-ctrl-c-invoke")
    events = Events()

    def interrupt_once_submitted() -> None:
        while api.posts < 1:
            time.sleep(0.005)
        time.sleep(0.02)  # let the submit return its id
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_submitted, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        llm.invoke("slow", config={"callbacks": [events]})

    assert llm.slots.in_use == 1  # still running on the server: still counted
    assert events.named(CANCELLED_EVENT) == [{"job_id": "job_0", "task_index": 0}]
    api.checks_until_done = 0
    for _ in range(200):
        if llm.slots.in_use == 0:
            break
        time.sleep(0.01)
    assert llm.slots.in_use == 0
    assert api.posts == 1


# -- 5. picklable and serialisable ---------------------------------------------------


@pytest.mark.parametrize("used", [False, True], ids=["fresh", "used"])
def test_models_pickle_and_deepcopy_and_rebuild_their_runtime(used: bool) -> None:
    api = FakeJobAPI(flavour="ionos")
    llm = make_model(api, max_tokens=7)
    if used:
        llm.invoke("warm up")

    restored = pickle.loads(pickle.dumps(llm))
    duplicate = copy.deepcopy(llm)

    assert restored.max_tokens == duplicate.max_tokens == 7
    assert restored.api_key is not None
    assert restored.api_key.get_secret_value() == KEY
    assert restored.http_client is None  # sockets do not cross processes
    assert duplicate.invoke("from the copy").content == "reply to from the copy"
    restored.http_client = api.clients()["http_client"]
    assert restored.invoke("from the pickle").content == "reply to from the pickle"


def test_dumps_loads_round_trip_takes_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = ChatIonosModelStudio(model="m", api_key=KEY, organization_id=ORG, max_tokens=9)

    text = dumps(llm)
    monkeypatch.setenv("IONOS_MODEL_STUDIO_API_KEY", "sk-from-env")
    restored = loads(
        text,
        secrets_from_env=True,
        valid_namespaces=["langchain_mlstudio"],
        allowed_objects=[ChatIonosModelStudio],
    )

    assert KEY not in text
    assert "IONOS_MODEL_STUDIO_API_KEY" in text
    assert isinstance(restored, ChatIonosModelStudio)
    assert restored.max_tokens == 9
    assert restored.api_key is not None
    assert restored.api_key.get_secret_value() == "sk-from-env"


# -- 6. resume by task ---------------------------------------------------------------


@pytest.mark.parametrize("size", [8, 32])
def test_packed_jobs_keep_input_order(size: int) -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(api, max_batch_size=size)

    llm.batch([f"q{i}" for i in range(1000)])

    jobs = sorted(api.jobs.values(), key=lambda j: int(j.conversations[0][0]["content"][1:]))
    contents = [c[0]["content"] for j in jobs for c in j.conversations]
    assert contents == [f"q{i}" for i in range(1000)]  # each job a run of consecutive inputs


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_timeout_in_a_packed_job_names_each_callers_task(flavour: str) -> None:
    api = FakeJobAPI(flavour=flavour, checks_until_done=10_000)
    llm = make_model(api, job_timeout=0.05)

    errors = llm.batch(["a", "b", "c"], return_exceptions=True)

    assert all(isinstance(e, JobTimeoutError) for e in errors)
    assert [e.task_index for e in errors] == [0, 1, 2]
    assert {e.job_id for e in errors} == {"job_0"}
    api.checks_until_done = 0
    resumed = make_client(api).wait_for_job(errors[1].job_id)
    assert resumed.text_for(errors[1].task_index) == llm.invoke("b").content


# -- 7. progress everywhere ----------------------------------------------------------


def test_progress_reaches_callbacks_when_streaming() -> None:
    llm = make_model(FakeJobAPI(checks_until_done=2))
    events = Events()

    chunks = list(llm.stream("hi", config={"callbacks": [events]}))

    assert [c.content for c in chunks] == ["reply to hi"]
    progress = events.named(PROGRESS_EVENT)
    assert progress[-1]["job_status"] == "completed"
    assert progress[-1]["completed_tasks"] == progress[-1]["total_tasks"] == 1


async def test_progress_reaches_callbacks_on_astream_and_astream_events() -> None:
    llm = make_model(FakeJobAPI(checks_until_done=2))
    events = Events()

    chunks = [c async for c in llm.astream("hi", config={"callbacks": [events]})]
    streamed = [e async for e in llm.astream_events("hi", version="v2")]

    assert [c.content for c in chunks] == ["reply to hi"]
    assert events.named(PROGRESS_EVENT)[-1]["job_status"] == "completed"
    custom = [e for e in streamed if e["event"] == "on_custom_event"]
    assert custom
    assert custom[-1]["name"] == PROGRESS_EVENT
    assert custom[-1]["data"]["completed_tasks"] == 1


async def test_progress_reaches_langgraph_custom_stream_mode() -> None:
    from langgraph.graph import END, START, StateGraph

    llm = make_model(FakeJobAPI(checks_until_done=2))

    async def node(state: Answer) -> Answer:
        return {"answer": str((await llm.ainvoke("hi")).content)}

    graph = StateGraph(Answer)
    graph.add_node("node", node)
    graph.add_edge(START, "node")
    graph.add_edge("node", END)

    custom = [
        chunk async for chunk in graph.compile().astream({"answer": ""}, stream_mode="custom")
    ]

    assert custom
    assert custom[-1][PROGRESS_EVENT]["job_status"] == "completed"


# -- 8. inputs and errors ------------------------------------------------------------


@pytest.mark.parametrize("key", ["sk-1\n", " sk-1", "sk 1", "", "   "])
def test_a_key_with_whitespace_or_empty_is_a_configuration_error(key: str) -> None:
    api = FakeJobAPI()
    with pytest.raises(ConfigurationError, match="api_key"):
        make_model(api, api_key=key)

    llm = make_model(api)
    broken = llm.model_copy(update={"api_key": SecretStr(key)})
    with pytest.raises(ConfigurationError, match="api_key"):
        broken.invoke("q")
    assert api.requests == []


def test_a_key_with_a_newline_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELSTUDIO_API_KEY", "sk-from-file\n")
    with pytest.raises(ConfigurationError, match="MODELSTUDIO_API_KEY"):
        ChatModelStudio(model="m", organization_id="o")


@pytest.mark.parametrize("suffix", ["/api/v1", "/api/v1/", "/"])
def test_a_base_url_ending_in_the_api_path_is_accepted(suffix: str) -> None:
    api = FakeJobAPI()
    llm = make_model(api, base_url="https://studio.example" + suffix)

    llm.invoke("q")

    assert llm.base_url == "https://studio.example"
    assert str(api.requests[0].url) == f"https://studio.example/api/v1/organizations/{ORG}/generate"


def test_a_base_url_inside_the_api_is_named_as_the_cause() -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        make_model(FakeJobAPI(), base_url=f"https://studio.example/api/v1/organizations/{ORG}")


@pytest.mark.parametrize(
    "lost",
    [httpx.RemoteProtocolError("peer closed"), httpx.ReadError("reset"), httpx.ReadTimeout("t")],
    ids=["remote-protocol", "read-error", "read-timeout"],
)
def test_a_connection_lost_during_submit_says_a_job_may_exist_and_is_not_retried(
    lost: Exception,
) -> None:
    api = FakeJobAPI(responses=[lost])
    llm = make_model(api, max_retries=3)

    with pytest.raises(APIConnectionError) as info:
        llm.invoke("q")

    assert api.posts == 1
    assert "may have" in str(info.value)
    assert "created" in str(info.value)


def test_a_key_with_a_newline_is_not_reported_as_a_network_problem() -> None:
    api = FakeJobAPI()
    client = make_client(api)
    client.api_key = SecretStr("sk-1\nX-Injected: 1")  # set behind the checks' back

    with pytest.raises(ConfigurationError, match="header"):
        client.submit([[{"role": "user", "content": "q"}]], model="m")


@pytest.mark.parametrize(
    ("setting", "suggestion"), [("max_token", "max_tokens"), ("temprature", "temperature")]
)
def test_an_unknown_setting_raises_naming_close_matches(setting: str, suggestion: str) -> None:
    with pytest.raises(ConfigurationError, match=suggestion):
        make_model(FakeJobAPI(), **{setting: 1})


def test_top_p_is_refused_rather_than_dropped() -> None:
    with pytest.raises(ConfigurationError, match="top_p"):
        make_model(FakeJobAPI(), top_p=0.9)


def test_an_unknown_per_call_parameter_fails_before_any_request() -> None:
    api = FakeJobAPI()
    llm = make_model(api)

    with pytest.raises(InvalidInputError, match="max_tokens"):
        llm.invoke("q", max_token=5)
    with pytest.raises(InvalidInputError, match="top_p"):
        llm.bind(top_p=0.9).invoke("q")

    assert api.requests == []


def test_langchain_internal_keywords_are_accepted() -> None:
    llm = make_model(FakeJobAPI())
    assert llm.invoke("q", ls_structured_output_format={"schema": {}}).content == "reply to q"


@pytest.mark.parametrize(
    "messages",
    [
        [HumanMessage(content=[])],
        [HumanMessage("")],
        [HumanMessage("   ")],
        [HumanMessage(content=[{"type": "text", "text": ""}]), AIMessage("")],
    ],
    ids=["empty-list", "empty-string", "blank", "all-empty"],
)
def test_a_conversation_with_no_content_fails_before_any_request(messages: list[Any]) -> None:
    api = FakeJobAPI()
    with pytest.raises(InvalidInputError, match="no content"):
        make_model(api).invoke(messages)
    assert api.requests == []


@pytest.mark.parametrize(
    ("flavour", "raw", "expected"),
    [
        ("modelstudio", "    return x", "    return x"),
        ("ionos", " Paris", "Paris"),
        ("ionos", "     indented", "    indented"),
    ],
)
def test_only_ionos_single_leading_space_is_removed_and_the_client_agrees(
    flavour: str, raw: str, expected: str
) -> None:
    api = FakeJobAPI(flavour=flavour)

    def body(job: Any) -> dict[str, Any]:
        return {
            "job_id": job.job_id,
            "job_status": "FINISHED",
            "results": [{"task_index": 0, "status": "completed", "result": raw}],
        }

    api.status_body = body  # type: ignore[method-assign]
    llm = make_model(api)

    message = llm.invoke("q")

    assert message.content == expected
    assert make_client(api).wait_for_job(message.response_metadata["job_id"]).text_for(0) == (
        expected
    )


@SYNC_AND_ASYNC
async def test_a_thousand_inputs_make_32_jobs_in_batch(asynchronous: bool) -> None:
    api = FakeJobAPI(on_post=lambda _: time.sleep(0.02))  # a server taking its time
    llm = make_model(api)

    results = await batch(llm, [f"q{i}" for i in range(1000)], asynchronous=asynchronous)

    assert [r.content for r in results] == [f"reply to q{i}" for i in range(1000)]
    assert sorted(len(j.conversations) for j in api.jobs.values()) == [8] + [32] * 31


def _refuse_more_than(limit: int, api: FakeJobAPI) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and len(json.loads(request.content)["messages"]) > limit:
            api.requests.append(request)
            return httpx.Response(413, json={"detail": "Request body too large"})
        return api.handler(request)

    return handler


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_a_packed_job_refused_as_too_large_is_split_in_halves(asynchronous: bool) -> None:
    api = FakeJobAPI()
    handler = _refuse_more_than(8, api)
    llm = make_model(
        api,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    prompts = [f"q{i}" for i in range(32)]

    results = await llm.abatch(prompts) if asynchronous else llm.batch(prompts)

    assert [r.content for r in results] == [f"reply to {p}" for p in prompts]
    assert sorted(len(j.conversations) for j in api.jobs.values()) == [8, 8, 8, 8]
    assert api.posts == 3 + 4  # 32, then two 16s refused, then four 8s
