"""FyreToolkitClient against httpx.MockTransport: no sockets."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from langchain_mlstudio import errors
from langchain_mlstudio.fyretoolkit import FyreToolkitClient
from langchain_mlstudio.fyretoolkit.types import BatchJob, Model
from tests.support.fyretoolkit import (
    BASE,
    DEMO_HEADER,
    KEY,
    FakeClock,
    Handler,
    Recorder,
    api_error,
    call,
    collect,
    mock_client,
    modes,
)

# -- configuration -----------------------------------------------------------


def test_missing_base_url_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FYRETOOLKIT_BASE_URL", raising=False)
    with pytest.raises(errors.ConfigurationError, match="FYRETOOLKIT_BASE_URL"):
        FyreToolkitClient(api_key=KEY)


def test_missing_api_key_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FYRETOOLKIT_API_KEY", raising=False)
    with pytest.raises(errors.ConfigurationError, match="FYRETOOLKIT_API_KEY"):
        FyreToolkitClient(base_url=BASE)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FYRETOOLKIT_API_KEY", KEY)
    monkeypatch.setenv("FYRETOOLKIT_BASE_URL", BASE + "/")
    client, rec = mock_client(
        lambda r: httpx.Response(200, json={"id": "m", "status": "ready"}),
        api_key=None,
        base_url=None,
    )
    assert client.base_url == BASE
    client.get_model("m")
    assert rec.requests[0].headers["authorization"] == DEMO_HEADER


def test_base_url_without_scheme_is_rejected() -> None:
    with pytest.raises(errors.ConfigurationError, match="http"):
        FyreToolkitClient(api_key=KEY, base_url="fyre.test")


@modes
async def test_basic_auth_header_matches_the_reference_example(mode: str) -> None:
    client, rec = mock_client(lambda r: httpx.Response(200, json={"id": "m", "status": "ready"}))
    await call(mode, client, "get_model", "m")
    assert rec.requests[0].headers["authorization"] == DEMO_HEADER
    assert rec.requests[0].url.path == "/models/m"


def test_key_never_appears_in_repr_errors_or_pickles() -> None:
    client, _ = mock_client(lambda r: api_error(404, "model_not_found"))
    assert KEY not in repr(client)
    with pytest.raises(errors.NotFoundError) as info:
        client.get_model("nope")
    assert KEY not in str(info.value)
    clone = pickle.loads(pickle.dumps(FyreToolkitClient(api_key=KEY, base_url=BASE)))
    assert clone.transport.headers()["Authorization"] == DEMO_HEADER
    assert clone.base_url == BASE


# -- pagination --------------------------------------------------------------

MODELS = [
    {"id": f"model-{i:02d}", "object": "model", "status": "ready", "created": i} for i in range(45)
]


def paged(items: list[dict[str, Any]]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "20"))
        after = request.url.params.get("starting_after")
        start = 0 if after is None else [m["id"] for m in items].index(after) + 1
        data = items[start : start + limit]
        return httpx.Response(
            200, json={"object": "list", "data": data, "has_more": start + limit < len(items)}
        )

    return handler


@modes
@pytest.mark.parametrize("limit", [1, 7, 20, 45, 100])
async def test_list_models_returns_every_model_exactly_once(mode: str, limit: int) -> None:
    client, rec = mock_client(paged(MODELS))
    models = await collect(mode, client, "list_models", limit=limit)
    assert [m.id for m in models] == [m["id"] for m in MODELS]
    assert all(isinstance(m, Model) for m in models)
    assert len(rec.requests) == -(-45 // limit)
    cursors = [r.url.params.get("starting_after") for r in rec.requests]
    assert cursors[0] is None
    assert cursors[1:] == [MODELS[limit * (i + 1) - 1]["id"] for i in range(len(cursors) - 1)]


@modes
@pytest.mark.parametrize("limit", [0, 101, -5, "10", True, 2.5])
async def test_invalid_limit_is_rejected_before_any_request(mode: str, limit: Any) -> None:
    client, rec = mock_client(paged(MODELS))
    make_iterator = client.list_models if mode == "sync" else client.alist_models
    with pytest.raises(errors.InvalidInputError) as info:
        make_iterator(limit=limit)
    assert isinstance(info.value, ValueError)
    assert rec.requests == []


@modes
async def test_list_deployments_follows_cursors(mode: str) -> None:
    deps = [{"id": f"dep_{i}", "model_uri": "s3://b/m", "region": "eu-west-1"} for i in range(5)]
    client, _ = mock_client(paged(deps))
    listed = await collect(mode, client, "list_deployments", limit=2)
    assert [d.id for d in listed] == [d["id"] for d in deps]


@modes
async def test_has_more_without_records_is_a_malformed_response_not_a_loop(mode: str) -> None:
    client, rec = mock_client(
        lambda r: httpx.Response(200, json={"object": "list", "data": [], "has_more": True})
    )
    with pytest.raises(errors.MalformedResponseError):
        await collect(mode, client, "list_models")
    assert len(rec.requests) == 1


@modes
async def test_a_repeated_page_is_a_malformed_response_not_a_loop(mode: str) -> None:
    page = {"object": "list", "data": MODELS[:2], "has_more": True}
    client, rec = mock_client(lambda r: httpx.Response(200, json=page))
    with pytest.raises(errors.MalformedResponseError, match="same page"):
        await collect(mode, client, "list_models", limit=2, starting_after="model-01")
    assert len(rec.requests) == 1


# -- errors ------------------------------------------------------------------


@modes
async def test_unknown_model_is_a_typed_404_with_request_id(mode: str) -> None:
    client, _ = mock_client(
        lambda r: api_error(404, "model_not_found", request_id="req_404", details={"model_id": "x"})
    )
    with pytest.raises(errors.NotFoundError) as info:
        await call(mode, client, "get_model", "x")
    err = info.value
    assert (err.status_code, err.code, err.request_id) == (404, "model_not_found", "req_404")
    assert err.server_message == "model_not_found happened"
    assert err.details == {"model_id": "x"}
    assert "req_404" in str(err)


@modes
async def test_cancelling_a_finished_job_is_a_409_conflict(mode: str) -> None:
    client, rec = mock_client(
        lambda r: api_error(409, "job_not_cancelable", details={"status": "completed"})
    )
    with pytest.raises(errors.ConflictError) as info:
        await call(mode, client, "cancel_job", "job_1")
    assert info.value.status_code == 409
    assert info.value.code == "job_not_cancelable"
    assert [r.method for r in rec.requests] == ["POST"]  # a 409 is not retried


@modes
async def test_bad_deployment_is_a_422_with_details(mode: str) -> None:
    client, rec = mock_client(
        lambda r: api_error(422, "invalid_region", details={"field": "region"})
    )
    with pytest.raises(errors.UnprocessableEntityError) as info:
        await call(mode, client, "create_deployment", "s3://b/m", "mars-1")
    assert info.value.details == {"field": "region"}
    assert info.value.status_code == 422
    assert len(rec.requests) == 1


@modes
@pytest.mark.parametrize(
    ("method", "args", "body"),
    [
        ("predict", ("m", ["x"]), {"id": "p", "results": "not-a-list", "created": 1, "model": "m"}),
        ("get_model", ("m",), {"id": "m"}),
        ("get_job", ("j",), ["not", "an", "object"]),
        ("get_metrics", ("d",), {"deployment_id": "d", "metrics": "many"}),
        ("create_batch_job", ("m", "s3://b/in.jsonl"), {"status": "queued"}),
    ],
)
async def test_wrong_shapes_raise_malformed_response_not_key_or_type_errors(
    mode: str, method: str, args: tuple[Any, ...], body: Any
) -> None:
    client, _ = mock_client(
        lambda r: httpx.Response(200, json=body, headers={"x-request-id": "req_m"})
    )
    with pytest.raises(errors.MalformedResponseError) as info:
        await call(mode, client, method, *args)
    assert info.value.request_id == "req_m"


@modes
async def test_non_json_body_is_a_malformed_response(mode: str) -> None:
    client, _ = mock_client(lambda r: httpx.Response(200, text="<html>gateway</html>"))
    with pytest.raises(errors.MalformedResponseError):
        await call(mode, client, "get_model", "m")


# -- requests ----------------------------------------------------------------


@modes
async def test_predict_sends_inputs_and_metadata_and_parses_results(mode: str) -> None:
    answer = {
        "id": "pred_1",
        "object": "prediction",
        "created": 1,
        "model": "sentiment-v1",
        "results": [{"label": "positive", "score": 0.9}, {"label": "negative", "score": 0.8}],
        "usage": {"latency_ms": 12.5},
    }
    client, rec = mock_client(lambda r: httpx.Response(200, json=answer))
    prediction = await call(
        mode, client, "predict", "sentiment-v1", ["good", {"text": "bad"}], {"correlation_id": "c1"}
    )
    assert rec.bodies() == [
        {"inputs": ["good", {"text": "bad"}], "metadata": {"correlation_id": "c1"}}
    ]
    assert rec.requests[0].url.path == "/predict/sentiment-v1"
    assert [r["label"] for r in prediction.results] == ["positive", "negative"]
    assert prediction.usage.latency_ms == 12.5


@modes
@pytest.mark.parametrize("inputs", ["just a string", [], [1, 2], {"text": "x"}])
async def test_bad_inputs_are_rejected_before_any_request(mode: str, inputs: Any) -> None:
    client, rec = mock_client(lambda r: httpx.Response(500))
    with pytest.raises(errors.InvalidInputError):
        await call(mode, client, "predict", "m", inputs)
    assert rec.requests == []


@modes
async def test_ids_are_quoted_into_a_single_path_segment(mode: str) -> None:
    client, rec = mock_client(lambda r: httpx.Response(200, json={"id": "x", "status": "ready"}))
    await call(mode, client, "get_model", "sentiment v1?x=1#f")
    assert rec.requests[0].url.raw_path == b"/models/sentiment%20v1%3Fx%3D1%23f"


@modes
@pytest.mark.parametrize("bad", ["", "  ", ".", "..", " .. ", "a/b", "../deployments", "a\\b"])
@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("get_job", ()),
        ("cancel_job", ()),
        ("get_model", ()),
        ("delete_deployment", ()),
        ("get_metrics", ()),
        ("predict", (["x"],)),
        ("create_batch_job", ("s3://b/in.jsonl",)),
    ],
)
async def test_ids_that_are_not_one_path_segment_are_rejected_before_any_request(
    mode: str, bad: str, method: str, extra: tuple[Any, ...]
) -> None:
    client, rec = mock_client(lambda r: httpx.Response(200, json={}))
    with pytest.raises(errors.InvalidInputError):
        await call(mode, client, method, bad, *extra)
    assert rec.requests == []


def _flaky(first: Callable[[httpx.Request], httpx.Response], then: httpx.Response) -> Handler:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return first(request) if calls["n"] == 1 else then

    return handler


def _drop(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("peer closed connection mid-body", request=request)


QUEUED = {"id": "job_1", "object": "batch_job", "status": "queued", "created": 1}


@modes
async def test_retried_create_batch_job_reuses_one_idempotency_key(mode: str) -> None:
    client, rec = mock_client(_flaky(_drop, httpx.Response(202, json=QUEUED)))
    job = await call(
        mode,
        client,
        "create_batch_job",
        "sentiment-v1",
        "s3://b/in.jsonl",
        webhook="https://hook.test/x",
    )
    assert job.id == "job_1"
    first, second = rec.bodies()
    assert first == second
    assert first["idempotency_key"]
    assert first["webhook"] == "https://hook.test/x"


@modes
async def test_each_create_call_gets_its_own_key_unless_given(mode: str) -> None:
    client, rec = mock_client(lambda r: httpx.Response(202, json=QUEUED))
    await call(mode, client, "create_batch_job", "m", "s3://b/a")
    await call(mode, client, "create_batch_job", "m", "s3://b/a")
    await call(mode, client, "create_batch_job", "m", "s3://b/a", idempotency_key="mine")
    keys = [b["idempotency_key"] for b in rec.bodies()]
    assert keys[0] != keys[1]
    assert keys[2] == "mine"


@modes
async def test_retried_create_deployment_reuses_one_idempotency_key(mode: str) -> None:
    dep = {"id": "dep_1", "model_uri": "s3://b/m", "region": "eu-west-1", "replicas": 2}
    client, rec = mock_client(_flaky(lambda r: httpx.Response(502), httpx.Response(201, json=dep)))
    result = await call(mode, client, "create_deployment", "s3://b/m", "eu-west-1", 2)
    assert result.replicas == 2
    first, second = rec.bodies()
    assert first == second
    assert first == {
        "model_uri": "s3://b/m",
        "region": "eu-west-1",
        "replicas": 2,
        "idempotency_key": first["idempotency_key"],
    }


def _cancel_server(job_status: str) -> Handler:
    """A cancel whose first answer is lost after the server acted."""
    state = {"cancel_calls": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            state["cancel_calls"] += 1
            if state["cancel_calls"] == 1:
                raise httpx.RemoteProtocolError("dropped", request=request)
            return api_error(409, "job_not_cancelable", details={"status": job_status})
        return httpx.Response(200, json={**QUEUED, "status": job_status})

    return handler


@modes
async def test_cancel_whose_answer_was_lost_returns_the_canceled_job(mode: str) -> None:
    client, rec = mock_client(_cancel_server("canceled"))
    job = await call(mode, client, "cancel_job", "job_1")
    assert job.status == "canceled"
    assert [r.method for r in rec.requests] == ["POST", "POST", "GET"]


@modes
async def test_cancel_retry_meeting_a_completed_job_still_raises_409(mode: str) -> None:
    client, _ = mock_client(_cancel_server("completed"))
    with pytest.raises(errors.ConflictError):
        await call(mode, client, "cancel_job", "job_1")


@modes
async def test_delete_whose_answer_was_lost_reports_the_deletion(mode: str) -> None:
    client, rec = mock_client(_flaky(_drop, api_error(404, "deployment_not_found")))
    deleted = await call(mode, client, "delete_deployment", "dep_1")
    assert (deleted.id, deleted.deleted) == ("dep_1", True)
    assert [r.method for r in rec.requests] == ["DELETE", "DELETE"]


@modes
async def test_a_recovered_retry_is_logged_on_the_fyretoolkit_logger(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = mock_client(_flaky(_drop, api_error(404, "deployment_not_found")))
    with caplog.at_level(logging.INFO, logger="langchain_mlstudio.fyretoolkit"):
        await call(mode, client, "delete_deployment", "dep_1")
    notes = [r for r in caplog.records if "deleted by an earlier attempt" in r.getMessage()]
    assert [r.name for r in notes] == ["langchain_mlstudio.fyretoolkit"]


@modes
async def test_delete_of_an_unknown_deployment_is_a_404(mode: str) -> None:
    client, _ = mock_client(lambda r: api_error(404, "deployment_not_found"))
    with pytest.raises(errors.NotFoundError):
        await call(mode, client, "delete_deployment", "dep_x")


@modes
async def test_metrics_period_is_sent_as_a_query_parameter(mode: str) -> None:
    body = {
        "deployment_id": "dep_1",
        "period": "24h",
        "metrics": {"requests": 10, "errors": 1, "latency_ms": {"p50": 5, "p95": 9}},
    }
    client, rec = mock_client(lambda r: httpx.Response(200, json=body))
    metrics = await call(mode, client, "get_metrics", "dep_1", period="24h")
    assert rec.requests[0].url.params["period"] == "24h"
    assert metrics.typed is not None
    assert metrics.typed.latency_ms is not None
    assert metrics.typed.latency_ms.p95 == 9


# -- waiting for jobs --------------------------------------------------------


def _job_sequence(*statuses: str, error_body: dict[str, Any] | None = None) -> Recorder:
    answers = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json={**QUEUED, "status": "canceled"})
        status = answers.pop(0) if len(answers) > 1 else answers[0]
        body: dict[str, Any] = {**QUEUED, "status": status}
        if status == "completed":
            body["output_url"] = "s3://out/job_1.jsonl"
        if status == "failed" and error_body:
            body["error"] = error_body
        return httpx.Response(200, json=body)

    return Recorder(handler)


@modes
async def test_wait_for_job_polls_until_completed(mode: str) -> None:
    rec = _job_sequence("queued", "processing", "processing", "completed")
    client, inner = mock_client(rec)
    job = await call(mode, client, "wait_for_job", "job_1")
    assert isinstance(job, BatchJob)
    assert job.output_url == "s3://out/job_1.jsonl"
    assert [r.url.path for r in inner.requests] == ["/jobs/job_1"] * 4


@modes
async def test_failed_job_raises_job_failed_error_with_its_id(mode: str) -> None:
    rec = _job_sequence(
        "processing", "failed", error_body={"code": "input_unreadable", "message": "bad record"}
    )
    client, _ = mock_client(rec)
    with pytest.raises(errors.JobFailedError) as info:
        await call(mode, client, "wait_for_job", "job_1")
    assert (info.value.job_id, info.value.job_status) == ("job_1", "failed")
    assert info.value.code == "input_unreadable"


def _exact_sequence(*statuses: str) -> Recorder:
    """Answers each status once; a poll after the last one gets a 404."""
    answers = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        if not answers:
            return api_error(404, "polled_past_the_final_status")
        return httpx.Response(200, json={**QUEUED, "status": answers.pop(0)})

    return Recorder(handler)


@modes
async def test_wait_for_job_reads_statuses_in_any_letter_case(mode: str) -> None:
    client, inner = mock_client(_exact_sequence("Queued", "PROCESSING", " Completed "))
    job = await call(mode, client, "wait_for_job", "job_1", timeout=None)
    assert job.status == " Completed "
    assert job.normalized_status == "completed"
    assert len(inner.requests) == 3


@modes
@pytest.mark.parametrize(
    ("word", "normalized"),
    [("FAILED", "failed"), ("Canceled", "canceled"), ("cancelled", "canceled")],
)
async def test_upper_case_failure_statuses_end_the_wait_with_job_failed_error(
    mode: str, word: str, normalized: str
) -> None:
    client, inner = mock_client(_exact_sequence("processing", word))
    with pytest.raises(errors.JobFailedError) as info:
        await call(mode, client, "wait_for_job", "job_1", timeout=None)
    assert info.value.job_status == normalized
    assert len(inner.requests) == 2


@modes
async def test_unknown_status_in_any_case_still_means_running(mode: str) -> None:
    client, _ = mock_client(_job_sequence("PAUSED"))
    with pytest.raises(errors.JobTimeoutError):
        await call(mode, client, "wait_for_job", "job_1", timeout=0.0)


@modes
async def test_lost_cancel_answer_is_recovered_when_the_job_reads_canceled_in_upper_case(
    mode: str,
) -> None:
    client, rec = mock_client(_cancel_server("CANCELED"))
    job = await call(mode, client, "cancel_job", "job_1")
    assert job.normalized_status == "canceled"
    assert [r.method for r in rec.requests] == ["POST", "POST", "GET"]


@modes
async def test_deadline_raises_job_timeout_error_and_leaves_the_job_running(mode: str) -> None:
    rec = _job_sequence("processing")
    client, inner = mock_client(rec)
    with pytest.raises(errors.JobTimeoutError) as info:
        await call(mode, client, "wait_for_job", "job_1", timeout=0.0)
    assert info.value.job_id == "job_1"
    assert isinstance(info.value, errors.MLStudioError)
    assert "wait_for_job(job_id)" in str(info.value)
    assert all(r.method == "GET" for r in inner.requests)


@modes
async def test_deadline_cancels_the_job_only_when_asked(mode: str) -> None:
    rec = _job_sequence("processing")
    client, inner = mock_client(rec)
    with pytest.raises(errors.JobTimeoutError) as info:
        await call(mode, client, "wait_for_job", "job_1", timeout=0.0, cancel_on_timeout=True)
    assert info.value.job_id == "job_1"
    assert "cancel_on_timeout=True" in str(info.value)
    assert [r.url.path for r in inner.requests if r.method == "POST"] == ["/jobs/job_1/cancel"]


@modes
async def test_a_failed_cancel_after_the_deadline_is_logged_and_the_timeout_still_raised(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return api_error(409, "job_not_cancelable", details={"status": "completed"})
        return httpx.Response(200, json={**QUEUED, "status": "processing"})

    client, _ = mock_client(handler)
    with (
        caplog.at_level("WARNING", logger="langchain_mlstudio.fyretoolkit"),
        pytest.raises(errors.JobTimeoutError),
    ):
        await call(mode, client, "wait_for_job", "job_1", timeout=0.0, cancel_on_timeout=True)
    assert "Could not cancel job job_1" in caplog.text


@modes
async def test_a_409_on_the_first_cancel_attempt_is_raised_without_reading_the_job(
    mode: str,
) -> None:
    client, rec = mock_client(lambda r: api_error(409, "job_not_cancelable"))
    with pytest.raises(errors.ConflictError):
        await call(mode, client, "cancel_job", "job_1")
    assert [r.method for r in rec.requests] == ["POST"]


# -- rate limits -------------------------------------------------------------


#: Where the fake clock of the rate-limit tests starts.
EPOCH = 1_800_000_000.0


def _clocked(
    clock: FakeClock, handler: Handler, **kwargs: Any
) -> tuple[FyreToolkitClient, Recorder]:
    """A client whose transport and gate both sleep on ``clock``."""
    return mock_client(handler, clock=clock.time, sleep=clock.sleep, asleep=clock.asleep, **kwargs)


def _limited(clock: FakeClock, remaining: list[int], reset_in: float = 30.0) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        left = remaining.pop(0) if remaining else 5
        headers = {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset": str(int(clock.now + reset_in)),
        }
        return httpx.Response(200, json={"id": "m", "status": "ready"}, headers=headers)

    return handler


@modes
async def test_last_rate_limit_exposes_the_latest_headers(mode: str) -> None:
    clock = FakeClock(EPOCH)
    client, _ = mock_client(_limited(clock, [4, 3]))
    assert client.last_rate_limit is None
    await call(mode, client, "get_model", "m")
    await call(mode, client, "get_model", "m")
    info = client.last_rate_limit
    assert info is not None
    assert (info.limit, info.remaining, info.reset) == (5, 3, int(clock.now + 30))
    assert info.category == "read"
    assert set(client.rate_limits) == {"read"}


@modes
async def test_remaining_zero_makes_the_next_call_wait_until_reset(mode: str) -> None:
    clock = FakeClock(EPOCH)
    client, rec = _clocked(clock, _limited(clock, [0, 4]))
    await call(mode, client, "get_model", "m")
    reset = int(clock.now + 30)
    sent_before = len(rec.requests)
    await call(mode, client, "get_model", "m")
    assert clock.sleeps == [pytest.approx(reset - 1_800_000_000.0)]
    assert sent_before == 1
    assert len(rec.requests) == 2
    # The window is fresh again: no further waiting.
    await call(mode, client, "get_model", "m")
    assert len(clock.sleeps) == 1


@modes
async def test_an_exhausted_read_budget_does_not_delay_predictions(mode: str) -> None:
    clock = FakeClock(EPOCH)
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if request.method == "GET":
            return httpx.Response(
                200,
                json={"id": "m", "status": "ready"},
                headers={
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(clock.now + 30)),
                },
            )
        return httpx.Response(200, json={"id": "p", "created": 1, "model": "m", "results": [1]})

    client, _ = _clocked(clock, handler)
    await call(mode, client, "get_model", "m")
    await call(mode, client, "predict", "m", ["x"])
    assert clock.sleeps == []


def _refusals(clock: FakeClock, n: int, **headers: Any) -> Handler:
    """``n`` 429s whose headers are computed from the clock, then a model."""
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] > n:
            return httpx.Response(200, json={"id": "m", "status": "ready"})
        values = {k.replace("_", "-"): str(v(clock.now)) for k, v in headers.items()}
        return api_error(429, "rate_limit_exceeded", headers=values)

    return handler


@modes
async def test_a_429_waits_until_reset_before_its_retry(mode: str) -> None:
    clock = FakeClock(EPOCH)
    start = clock.now
    reset = start + 5
    client, rec = _clocked(
        clock,
        _refusals(clock, 1, X_RateLimit_Remaining=lambda _: 0, X_RateLimit_Reset=lambda _: reset),
    )
    model = await call(mode, client, "get_model", "m")
    assert model.id == "m"
    assert len(rec.requests) == 2
    # Backoff, then the gate waits out the rest: the retry goes at the reset.
    assert clock.now == pytest.approx(reset)


@modes
async def test_retry_after_wins_over_a_later_reset(mode: str) -> None:
    clock = FakeClock(EPOCH)
    start = clock.now
    client, rec = _clocked(
        clock,
        _refusals(
            clock,
            1,
            Retry_After=lambda _: 1,
            X_RateLimit_Remaining=lambda _: 0,
            X_RateLimit_Reset=lambda now: int(now + 300),
        ),
    )
    await call(mode, client, "get_model", "m")
    assert len(rec.requests) == 2
    assert clock.now - start == pytest.approx(1.0)


@modes
async def test_a_reset_already_past_never_gives_a_zero_delay_retry(mode: str) -> None:
    clock = FakeClock(EPOCH)
    client, rec = _clocked(
        clock,
        _refusals(
            clock, 2, X_RateLimit_Remaining=lambda _: 0, X_RateLimit_Reset=lambda now: int(now - 10)
        ),
    )
    await call(mode, client, "get_model", "m")
    assert len(rec.requests) == 3
    assert len(clock.sleeps) == 2
    assert all(delay >= 0.25 for delay in clock.sleeps)


@modes
async def test_a_retry_after_of_zero_still_backs_off(mode: str) -> None:
    clock = FakeClock(EPOCH)
    client, rec = _clocked(clock, _refusals(clock, 1, Retry_After=lambda _: 0))
    await call(mode, client, "get_model", "m")
    assert len(rec.requests) == 2
    assert clock.sleeps
    assert min(clock.sleeps) >= 0.25


@modes
async def test_a_reset_beyond_max_rate_limit_wait_fails_at_once_with_retry_after(
    mode: str,
) -> None:
    clock = FakeClock(EPOCH)
    client, rec = _clocked(clock, _limited(clock, [0], reset_in=300), max_rate_limit_wait=60)
    await call(mode, client, "get_model", "m")
    with pytest.raises(errors.RateLimitError) as info:
        await call(mode, client, "get_model", "m")
    assert info.value.retry_after == pytest.approx(300, abs=1)
    assert "max_rate_limit_wait" in str(info.value)
    assert clock.sleeps == []
    assert len(rec.requests) == 1


@modes
async def test_max_rate_limit_wait_bounds_the_total_of_every_attempt(mode: str) -> None:
    clock = FakeClock(EPOCH)
    start = clock.now
    client, rec = _clocked(
        clock, _refusals(clock, 10, Retry_After=lambda _: 25), max_retries=5, max_rate_limit_wait=60
    )
    with pytest.raises(errors.RateLimitError) as info:
        await call(mode, client, "get_model", "m")
    # The server's own words come along.
    assert (info.value.status_code, info.value.code) == (429, "rate_limit_exceeded")
    assert info.value.request_id == "req_abc"
    # Two waits of 25 s fit into 60 s; a third would not, so the call stops.
    assert clock.now - start <= 60
    assert len(rec.requests) == 3


# -- answers the reference does not document -----------------------------------


@modes
@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 204},
        {"status_code": 202},
        {"status_code": 200, "json": {}},
        {"status_code": 200, "json": {"ok": True}},
        {"status_code": 200, "json": ["unexpected"]},
        {"status_code": 200, "text": "deleted"},
    ],
    ids=["204", "202-empty", "200-empty-object", "200-other-fields", "200-list", "200-text"],
)
async def test_delete_succeeds_on_any_2xx_with_any_or_no_body(
    mode: str, answer: dict[str, Any]
) -> None:
    client, rec = mock_client(lambda r: httpx.Response(**answer))
    deleted = await call(mode, client, "delete_deployment", "dep_1")
    assert (deleted.id, deleted.deleted) == ("dep_1", True)
    assert len(rec.requests) == 1


@modes
@pytest.mark.parametrize(
    ("status", "expected"), [(200, "canceled"), (202, "canceling"), (204, "canceled")]
)
async def test_cancel_succeeds_on_200_202_or_204_without_a_body(
    mode: str, status: int, expected: str
) -> None:
    client, rec = mock_client(lambda r: httpx.Response(status))
    job = await call(mode, client, "cancel_job", "job_1")
    assert (job.id, job.status) == ("job_1", expected)
    assert len(rec.requests) == 1


@modes
async def test_create_deployment_answered_with_only_id_and_status_is_a_success(mode: str) -> None:
    client, rec = mock_client(
        lambda r: httpx.Response(200, json={"id": "dep_9", "status": "provisioning", "extra": 1})
    )
    dep = await call(mode, client, "create_deployment", "s3://b/m", "eu-west-1")
    assert (dep.id, dep.status, dep.model_extra) == ("dep_9", "provisioning", {"extra": 1})
    assert len(rec.requests) == 1


@modes
async def test_metrics_with_errors_as_an_object_are_kept_as_sent(mode: str) -> None:
    body = {"deployment_id": "d", "period": "1h", "metrics": {"errors": {"5xx": 2}, "requests": 9}}
    client, _ = mock_client(lambda r: httpx.Response(200, json=body))
    metrics = await call(mode, client, "get_metrics", "d")
    assert metrics.metrics == {"errors": {"5xx": 2}, "requests": 9}
    assert metrics.typed is None


# -- credentials in base_url ---------------------------------------------------


@modes
async def test_credentials_in_base_url_never_reach_errors_repr_or_logs(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk_live_secret_in_url"

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, _ = mock_client(
        refuse, api_key=None, base_url=f"https://{secret}:pw@fyre.test/v1", max_retries=1
    )
    caplog.set_level("DEBUG")
    with pytest.raises(errors.MLStudioError) as info:
        await call(mode, client, "get_model", "m")
    assert client.base_url == "https://fyre.test/v1"
    for text in (str(info.value), repr(client), caplog.text):
        assert secret not in text
        assert "pw" not in text.replace("pwd", "")


@modes
async def test_a_key_written_into_base_url_is_used_as_the_api_key(mode: str) -> None:
    client, rec = mock_client(
        lambda r: httpx.Response(200, json={"id": "m", "status": "ready"}),
        api_key=None,
        base_url=f"https://{KEY}:@fyre.test",
    )
    await call(mode, client, "get_model", "m")
    assert rec.requests[0].headers["authorization"] == DEMO_HEADER
    assert rec.requests[0].url.userinfo == b""
