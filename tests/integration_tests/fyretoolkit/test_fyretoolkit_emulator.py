"""FyreToolkitClient against the emulator on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from langchain_mlstudio import (
    AuthenticationError,
    ConflictError,
    FyreToolkit,
    FyreToolkitClient,
    InvalidInputError,
    JobFailedError,
    JobTimeoutError,
    MalformedResponseError,
    NotFoundError,
    UnprocessableEntityError,
)
from langchain_mlstudio.emulator import Emulator, Fault
from langchain_mlstudio.emulator.fyretoolkit import FyreToolkitService
from tests.support.fyretoolkit import DEMO_HEADER, KEY, FakeClock, call, collect, modes


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY) as server:
        yield server


@pytest.fixture
def service(emu: Emulator) -> FyreToolkitService:
    return emu.fyretoolkit


@pytest.fixture
def clock(service: FyreToolkitService) -> FakeClock:
    fake = FakeClock()
    service.clock = fake.time
    return fake


def make_client(emu: Emulator, clock: FakeClock | None = None, **kwargs: Any) -> FyreToolkitClient:
    if clock is not None:
        # Every wait (backoff, polling, rate-limit reset) moves the fake clock.
        kwargs = {"clock": clock.time, "sleep": clock.sleep, "asleep": clock.asleep, **kwargs}
    return FyreToolkitClient(api_key=KEY, base_url=emu.base_url, **kwargs)


@pytest.fixture
def client(emu: Emulator, clock: FakeClock) -> FyreToolkitClient:
    return make_client(emu, clock)


# -- authentication ----------------------------------------------------------


def test_reference_example_header_works_with_the_demo_key(emu: Emulator) -> None:
    response = httpx.get(f"{emu.base_url}/models", headers={"Authorization": DEMO_HEADER})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert len(body["data"]) == 20
    assert body["has_more"] is True


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Basic d3Jvbmc6"}, "invalid_api_key"),
        ({"Authorization": f"Bearer {KEY}"}, "invalid_api_key"),
    ],
)
def test_bad_credentials_get_the_error_schema(
    emu: Emulator, headers: dict[str, str], code: str
) -> None:
    response = httpx.get(f"{emu.base_url}/models/sentiment-v1", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    assert set(error) == {"code", "message", "request_id", "details"}


@modes
async def test_wrong_key_is_an_authentication_error(mode: str, emu: Emulator) -> None:
    client = FyreToolkitClient(api_key="sk_wrong", base_url=emu.base_url)
    with pytest.raises(AuthenticationError) as info:
        await call(mode, client, "get_model", "sentiment-v1")
    assert info.value.code == "invalid_api_key"
    assert "sk_wrong" not in str(info.value)


# -- models ------------------------------------------------------------------


@modes
@pytest.mark.parametrize("limit", [1, 7, 20, 100])
async def test_list_models_returns_every_model_exactly_once(
    mode: str, limit: int, client: FyreToolkitClient, emu: Emulator
) -> None:
    models = await collect(mode, client, "list_models", limit=limit)
    ids = [m.id for m in models]
    assert len(ids) == len(set(ids)) == len(emu.fyretoolkit.models) == 45
    assert set(ids) == set(emu.fyretoolkit.models)
    assert emu.log.count("GET", r"^/models$") == -(-45 // limit)


def test_emulator_rejects_a_page_size_over_100(emu: Emulator) -> None:
    response = httpx.get(
        f"{emu.base_url}/models", params={"limit": 101}, headers={"Authorization": DEMO_HEADER}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_limit"


@modes
async def test_client_rejects_a_page_size_over_100_without_a_request(
    mode: str, client: FyreToolkitClient, emu: Emulator
) -> None:
    with pytest.raises(InvalidInputError):
        await collect(mode, client, "list_models", limit=101)
    assert emu.log.count() == 0


@modes
async def test_unknown_model_is_a_404_with_the_request_id(
    mode: str, client: FyreToolkitClient, emu: Emulator
) -> None:
    with pytest.raises(NotFoundError) as info:
        await call(mode, client, "get_model", "no-such-model")
    err = info.value
    assert (err.status_code, err.code) == (404, "model_not_found")
    assert err.request_id is not None
    assert err.request_id.startswith("req_")
    assert err.details == {"model_id": "no-such-model"}
    assert emu.log.matching("GET", "/models/no-such-model")[0].status == 404


@modes
async def test_get_model_reads_a_seeded_model(mode: str, client: FyreToolkitClient) -> None:
    model = await call(mode, client, "get_model", "sentiment-v1")
    assert (model.id, model.status) == ("sentiment-v1", "ready")
    assert model.description


# -- predictions -------------------------------------------------------------


@modes
async def test_predict_gives_one_deterministic_result_per_input(
    mode: str, client: FyreToolkitClient
) -> None:
    inputs: list[Any] = [
        "I love this, it is great",
        {"text": "terrible and slow"},
        "the box is blue",
        "not good at all",
    ]
    first = await call(mode, client, "predict", "sentiment-v1", inputs, {"correlation_id": "c"})
    second = await call(mode, client, "predict", "sentiment-v1", inputs)
    assert [r["label"] for r in first.results] == ["positive", "negative", "neutral", "negative"]
    assert first.results == second.results
    assert first.model == "sentiment-v1"
    assert first.usage.latency_ms is not None
    assert first.usage.latency_ms > 0


@modes
async def test_predict_on_a_model_in_training_is_a_conflict(
    mode: str, client: FyreToolkitClient
) -> None:
    with pytest.raises(ConflictError) as info:
        await call(mode, client, "predict", "sentiment-v5", ["hello"])
    assert info.value.code == "model_not_ready"


# -- batch jobs --------------------------------------------------------------


@modes
async def test_batch_job_moves_from_queued_to_completed(
    mode: str, client: FyreToolkitClient, clock: FakeClock, service: FyreToolkitService
) -> None:
    service.queue_duration, service.processing_duration = 5.0, 20.0
    job = await call(mode, client, "create_batch_job", "sentiment-v1", "s3://bucket/in.jsonl")
    assert job.status == "queued"
    clock.sleep(10)
    running = await call(mode, client, "get_job", job.id)
    assert running.status == "processing"
    assert running.progress is not None
    assert 0 < running.progress.processed < (running.progress.total or 0)
    done = await call(mode, client, "wait_for_job", job.id, timeout=60)
    assert done.status == "completed"
    assert done.output_url
    assert clock.now - clock.sleeps[0] >= 0  # waited on the fake clock, not the wall


@modes
async def test_failed_batch_job_raises_job_failed_error(
    mode: str, client: FyreToolkitClient, clock: FakeClock
) -> None:
    job = await call(mode, client, "create_batch_job", "sentiment-v1", "s3://bucket/fail.jsonl")
    with pytest.raises(JobFailedError) as info:
        await call(mode, client, "wait_for_job", job.id)
    assert (info.value.job_id, info.value.job_status) == (job.id, "failed")
    assert info.value.code == "input_unreadable"


@modes
async def test_cancelling_a_finished_job_is_a_409(
    mode: str, client: FyreToolkitClient, service: FyreToolkitService
) -> None:
    service.queue_duration = service.processing_duration = 0.0
    job = await call(mode, client, "create_batch_job", "sentiment-v1", "s3://bucket/in.jsonl")
    with pytest.raises(ConflictError) as info:
        await call(mode, client, "cancel_job", job.id)
    err = info.value
    assert (err.status_code, err.code) == (409, "job_not_cancelable")
    assert err.details == {"job_id": job.id, "status": "completed"}
    assert err.request_id


@modes
async def test_cancelling_a_running_job_cancels_it(
    mode: str, client: FyreToolkitClient, service: FyreToolkitService
) -> None:
    service.processing_duration = 1000.0
    job = await call(mode, client, "create_batch_job", "sentiment-v1", "s3://bucket/in.jsonl")
    canceled = await call(mode, client, "cancel_job", job.id)
    assert canceled.status == "canceled"
    assert (await call(mode, client, "get_job", job.id)).status == "canceled"


@modes
async def test_retried_create_batch_job_after_a_dropped_connection_yields_one_job(
    mode: str, client: FyreToolkitClient, emu: Emulator, service: FyreToolkitService
) -> None:
    fault = emu.faults.add(Fault(kind="drop_mid", method="POST", path="/batch/", times=1))
    job = await call(mode, client, "create_batch_job", "sentiment-v1", "s3://bucket/in.jsonl")
    assert fault.hits == 1
    posts = emu.log.matching("POST", "^/batch/")
    assert len(posts) == 2
    assert posts[0].json["idempotency_key"] == posts[1].json["idempotency_key"]
    assert service.created_jobs == 1
    assert list(service.jobs) == [job.id]


@modes
async def test_cancel_after_a_dropped_connection_reports_the_canceled_job(
    mode: str, client: FyreToolkitClient, emu: Emulator, service: FyreToolkitService
) -> None:
    service.processing_duration = 1000.0
    job = await call(mode, client, "create_batch_job", "sentiment-v1", "s3://bucket/in.jsonl")
    emu.faults.add(Fault(kind="drop_mid", method="POST", path="/cancel$", times=1))
    canceled = await call(mode, client, "cancel_job", job.id)
    assert canceled.status == "canceled"
    assert [e.status for e in emu.log.matching("POST", "/cancel$")] == [200, 409]


@modes
async def test_job_deadline_leaves_the_job_running_unless_asked_to_cancel(
    mode: str, client: FyreToolkitClient, service: FyreToolkitService
) -> None:
    service.processing_duration = 1e6
    job = await call(mode, client, "create_batch_job", "sentiment-v1", "s3://bucket/a.jsonl")
    with pytest.raises(JobTimeoutError) as info:
        await call(mode, client, "wait_for_job", job.id, timeout=0.0)
    assert info.value.job_id == job.id
    assert (await call(mode, client, "get_job", job.id)).status == "processing"
    with pytest.raises(JobTimeoutError):
        await call(mode, client, "wait_for_job", job.id, timeout=0.0, cancel_on_timeout=True)
    assert (await call(mode, client, "get_job", job.id)).status == "canceled"


@modes
async def test_unknown_job_is_a_404(mode: str, client: FyreToolkitClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await call(mode, client, "get_job", "job_missing")
    assert info.value.code == "job_not_found"


# -- deployments and metrics -------------------------------------------------


@modes
async def test_deployment_lifecycle(
    mode: str, client: FyreToolkitClient, service: FyreToolkitService
) -> None:
    dep = await call(mode, client, "create_deployment", "s3://models/sentiment", "eu-west-1", 3)
    assert (dep.region, dep.replicas, dep.status) == ("eu-west-1", 3, "provisioning")
    listed = await collect(mode, client, "list_deployments")
    assert [d.id for d in listed] == [dep.id]
    metrics = await call(mode, client, "get_metrics", dep.id, period="24h")
    assert metrics.deployment_id == dep.id
    assert metrics.period == "24h"
    assert metrics.metrics["requests"] is not None
    assert metrics.typed is not None
    assert metrics.typed.latency_ms is not None
    deleted = await call(mode, client, "delete_deployment", dep.id)
    assert deleted.deleted is True
    assert await collect(mode, client, "list_deployments") == []
    with pytest.raises(NotFoundError):
        await call(mode, client, "get_metrics", dep.id)


@modes
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("ftp://models/x", "eu-west-1", 1), ("invalid_model_uri", "model_uri")),
        (("s3://models/x", "mars-north-1", 1), ("invalid_region", "region")),
        (("s3://models/x", "eu-west-1", 0), ("invalid_replicas", "replicas")),
        (("s3://models/x", "eu-west-1", 500), ("invalid_replicas", "replicas")),
    ],
)
async def test_bad_deployment_is_a_422_naming_the_field(
    mode: str,
    client: FyreToolkitClient,
    service: FyreToolkitService,
    args: tuple[Any, ...],
    expected: tuple[str, str],
) -> None:
    code, field = expected
    with pytest.raises(UnprocessableEntityError) as info:
        await call(mode, client, "create_deployment", *args)
    assert (info.value.status_code, info.value.code) == (422, code)
    assert info.value.details["field"] == field
    assert service.created_deployments == 0


@modes
async def test_same_idempotency_key_returns_the_same_deployment(
    mode: str, client: FyreToolkitClient, service: FyreToolkitService
) -> None:
    first = await call(
        mode, client, "create_deployment", "s3://m/x", "us-east-1", idempotency_key="deploy-once"
    )
    again = await call(
        mode, client, "create_deployment", "s3://m/x", "us-east-1", idempotency_key="deploy-once"
    )
    assert first.id == again.id
    assert service.created_deployments == 1
    with pytest.raises(ConflictError) as info:
        await call(
            mode,
            client,
            "create_deployment",
            "s3://m/other",
            "us-east-1",
            idempotency_key="deploy-once",
        )
    assert info.value.code == "idempotency_key_reused"


@modes
async def test_delete_after_a_dropped_connection_reports_the_deletion(
    mode: str, client: FyreToolkitClient, emu: Emulator
) -> None:
    dep = await call(mode, client, "create_deployment", "s3://m/x", "us-east-1")
    emu.faults.add(Fault(kind="drop_mid", method="DELETE", times=1))
    deleted = await call(mode, client, "delete_deployment", dep.id)
    assert deleted.deleted is True
    assert [e.status for e in emu.log.matching("DELETE")] == [200, 404]


# -- rate limits -------------------------------------------------------------


@modes
async def test_remaining_zero_makes_the_client_wait_for_reset_instead_of_a_429(
    mode: str,
    client: FyreToolkitClient,
    emu: Emulator,
    service: FyreToolkitService,
    clock: FakeClock,
) -> None:
    service.rate_limit, service.rate_window = 3, 60.0
    for _ in range(7):
        await call(mode, client, "get_model", "sentiment-v1")
    statuses = [e.status for e in emu.log.matching("GET")]
    assert statuses == [200] * 7
    assert service.rate_limited == 0
    # Two waits: after requests 3 and 6 the budget was spent.
    assert len(clock.sleeps) == 2
    assert all(0 < s <= 61 for s in clock.sleeps)
    info = client.last_rate_limit
    assert info is not None
    assert (info.limit, info.remaining) == (3, 2)


@modes
async def test_a_client_that_did_not_see_the_budget_waits_for_reset_after_a_429(
    mode: str, emu: Emulator, service: FyreToolkitService, clock: FakeClock
) -> None:
    service.rate_limit, service.rate_window = 2, 60.0
    window_start = clock.now
    spender = make_client(emu, clock)
    for _ in range(2):
        await call(mode, spender, "get_model", "sentiment-v1")
    newcomer = make_client(emu, clock)
    assert clock.sleeps == []
    model = await call(mode, newcomer, "get_model", "sentiment-v1")
    assert model.id == "sentiment-v1"
    # One 429, then the retry waited until the window reset (not a backoff guess).
    assert [e.status for e in emu.log.matching("GET")] == [200, 200, 429, 200]
    assert clock.now >= window_start + 60


def test_rate_limit_headers_count_down(emu: Emulator, service: FyreToolkitService) -> None:
    service.rate_limit = 5
    remaining = []
    for _ in range(6):
        response = httpx.get(
            f"{emu.base_url}/models/sentiment-v1", headers={"Authorization": DEMO_HEADER}
        )
        remaining.append(response.headers.get("x-ratelimit-remaining"))
        last = response
    assert remaining == ["4", "3", "2", "1", "0", "0"]
    assert last.status_code == 429
    assert last.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(last.headers["retry-after"]) >= 1
    assert float(last.headers["x-ratelimit-reset"]) > time.time()


# -- malformed answers and sync/async parity ---------------------------------


@modes
@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="non_json", path="/models/"),
        Fault(kind="body", path="/models/", body={"unexpected": 1}),
    ],
)
async def test_malformed_answers_raise_malformed_response_error(
    mode: str, client: FyreToolkitClient, emu: Emulator, fault: Fault
) -> None:
    emu.faults.add(Fault(kind=fault.kind, path=fault.path, body=fault.body))
    with pytest.raises(MalformedResponseError):
        await call(mode, client, "get_model", "sentiment-v1")


async def test_sync_and_async_paths_see_the_same_data(client: FyreToolkitClient) -> None:
    sync_ids = [m.id for m in client.list_models(limit=9)]
    async_ids = [m.id async for m in client.alist_models(limit=9)]
    assert sync_ids == async_ids
    text = ["great service", "awful support"]
    assert (
        client.predict("sentiment-v1", text).results
        == (await client.apredict("sentiment-v1", text)).results
    )
    assert client.get_model("sentiment-v2") == await client.aget_model("sentiment-v2")


def _tool_call(tool: Any, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": tool.name, "args": args}


def test_toolkit_tools_work_against_the_emulator(emu: Emulator) -> None:
    client = make_client(emu)
    tools = {t.name: t for t in FyreToolkit(client=client, allow_batch_jobs=True).get_tools()}
    listed = tools["fyretoolkit_list_models"].invoke({"limit": 5})
    assert "sentiment-v1" in listed
    predicted = tools["fyretoolkit_predict"].invoke(
        {"model_id": "sentiment-v1", "inputs": ["I love it"]}
    )
    assert "positive" in predicted
    job = tools["fyretoolkit_create_batch_job"].invoke(
        {"model_id": "sentiment-v1", "input_url": "s3://b/in.jsonl"}
    )
    assert "queued" in job


def test_the_same_tool_call_twice_makes_one_job_on_the_emulator(
    emu: Emulator, service: FyreToolkitService
) -> None:
    client = make_client(emu)
    tools = {t.name: t for t in FyreToolkit(client=client, allow_batch_jobs=True).get_tools()}
    create = tools["fyretoolkit_create_batch_job"]
    args = {"model_id": "sentiment-v1", "input_url": "s3://b/in.jsonl"}
    first = create.invoke(_tool_call(create, args, "call_1"))
    again = create.invoke(_tool_call(create, args, "call_1"))
    other = create.invoke(_tool_call(create, args, "call_2"))
    assert first.artifact["id"] == again.artifact["id"] != other.artifact["id"]
    assert service.created_jobs == 2


def test_a_404_from_the_emulator_comes_back_as_an_error_message(emu: Emulator) -> None:
    client = make_client(emu)
    tools = {t.name: t for t in FyreToolkit(client=client).get_tools()}
    get_model = tools["fyretoolkit_get_model"]
    message = get_model.invoke(_tool_call(get_model, {"model_id": "no-such-model"}, "c1"))
    assert message.status == "error"
    error = json.loads(message.content)["error"]
    assert (error["status"], error["code"]) == (404, "model_not_found")
    assert error["request_id"]


async def test_list_models_tool_pages_through_every_emulated_model(emu: Emulator) -> None:
    client = make_client(emu)
    tool = FyreToolkit(client=client).get_tools()[1]
    expected = [m.id for m in client.list_models(limit=100)]
    seen: list[str] = []
    args: dict[str, Any] = {"limit": 3}
    for n in range(100):
        page = json.loads((await tool.ainvoke(_tool_call(tool, args, f"c{n}"))).content)
        seen += [m["id"] for m in page["models"]]
        if not page["has_more"]:
            break
        args = {"limit": 3, "starting_after": page["starting_after"]}
    assert seen == expected


@modes
async def test_a_server_answering_undocumented_calls_tersely_is_understood(
    mode: str, emu: Emulator, service: FyreToolkitService
) -> None:
    service.terse = True
    client = make_client(emu)
    dep = await call(mode, client, "create_deployment", "s3://bucket/models/sentiment", "eu-west-1")
    assert (dep.id.startswith("dep_"), dep.model_uri) == (True, None)
    metrics = await call(mode, client, "get_metrics", dep.id)
    assert set(metrics.metrics["errors"]) == {"4xx", "5xx"}
    deleted = await call(mode, client, "delete_deployment", dep.id)
    assert deleted.deleted is True
    job = await call(mode, client, "create_batch_job", "sentiment-v1", "s3://bucket/in.jsonl")
    canceled = await call(mode, client, "cancel_job", job.id)
    assert (canceled.id, canceled.status) == (job.id, "canceling")
    assert (await call(mode, client, "get_job", job.id)).status == "canceled"
    # One creating request each: no success was mistaken for a failure and retried.
    assert service.created_deployments == 1
    assert [e.status for e in emu.log.matching("DELETE")] == [204]


def test_the_tools_report_terse_successes_as_successes(
    emu: Emulator, service: FyreToolkitService
) -> None:
    service.terse = True
    client = make_client(emu)
    tools = {
        t.name: t
        for t in FyreToolkit(
            client=client, allow_batch_jobs=True, allow_deployments=True
        ).get_tools()
    }
    create = tools["fyretoolkit_create_deployment"]
    args = {"model_uri": "s3://bucket/models/sentiment", "region": "eu-west-1"}
    made = create.invoke(_tool_call(create, args, "c1"))
    assert made.status == "success"
    delete = tools["fyretoolkit_delete_deployment"]
    gone = delete.invoke(_tool_call(delete, {"deployment_id": made.artifact["id"]}, "c2"))
    assert (gone.status, json.loads(gone.content)["deleted"]) == ("success", True)
    assert service.created_deployments == 1
