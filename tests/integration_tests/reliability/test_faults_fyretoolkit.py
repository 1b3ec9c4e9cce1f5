"""Fault injection on the FyreToolkit API: batch jobs, predictions, rate limits.

A batch job is created with ``create_batch_job`` (an idempotency key, reused on
every retry) and awaited with ``wait_for_job`` while the emulator misbehaves.
Each case checks the outcome (the completed job, or a typed ``MLStudioError``
with the server's message), how many creating requests the server saw, and
that it created at most one job, even when a retry followed a request the
server had already acted on.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest

from langchain_mlstudio import FyreToolkit, FyreToolkitClient, errors
from langchain_mlstudio._core._polling import PollSchedule
from langchain_mlstudio.emulator import Emulator, Fault
from langchain_mlstudio.errors import MLStudioError
from langchain_mlstudio.fyretoolkit.types import BatchJob
from tests.integration_tests.reliability.conftest import ACCOUNT
from tests.support.faults import Case, body_fault, fast_retries, settle, status_body, status_fault

CREATE = r"^/batch/"
STATUS = r"^/jobs/"
MODEL_ID = "sentiment-v1"
INPUT_URL = "s3://bucket/reviews.jsonl"
MALFORMED = errors.MalformedResponseError


def _status(status: int, path: str, times: int | None = 1, **headers: str) -> Fault:
    where = "create" if path == CREATE else "status"
    body = status_body(f"Injected {status} on {where}", fyretoolkit=True)
    return status_fault(status, path, body, times, **headers)


CASES: list[Case] = [
    Case("429-once-with-retry-after", (_status(429, CREATE, **{"Retry-After": "0"}),), sends=2),
    Case(
        "429-burst-longer-than-max-retries",
        (_status(429, CREATE, times=None, **{"Retry-After": "0"}),),
        errors.RateLimitError,
        "Injected 429 on create",
        sends=3,
        jobs=0,
    ),
    *[
        Case(f"{code}-burst-within-retries-on-create", (_status(code, CREATE, 2),), sends=3)
        for code in (500, 502, 503, 504)
    ],
    Case(
        "503-on-every-create",
        (_status(503, CREATE, None),),
        errors.ServerError,
        "Injected 503 on create",
        sends=3,
        jobs=0,
    ),
    *[
        Case(f"{code}-burst-on-status-checks", (_status(code, STATUS, 3),))
        for code in (500, 502, 503, 504)
    ],
    Case("drop-before-response-on-create", (Fault(kind="drop", path=CREATE),), sends=2),
    # The server created the job, then the answer was cut: the retry carries the
    # same idempotency key and gets the same job back.
    Case("drop-mid-response-on-create", (Fault(kind="drop_mid", path=CREATE),), sends=2),
    Case(
        "create-slower-than-request-timeout",
        (Fault(kind="delay", delay=0.5, path=CREATE),),
        sends=2,
        settings={"timeout": 0.2},
    ),
    Case("drop-before-response-on-status", (Fault(kind="drop", path=STATUS, times=2),)),
    Case("drop-mid-response-on-status", (Fault(kind="drop_mid", path=STATUS, times=2),)),
    Case(
        "status-slower-than-request-timeout",
        (Fault(kind="delay", delay=0.5, path=STATUS),),
        settings={"timeout": 0.2},
    ),
    Case("non-json-200-on-create", (Fault(kind="non_json", path=CREATE),), MALFORMED),
    Case(
        "create-200-with-missing-fields",
        (body_fault(CREATE, {"object": "batch_job"}),),
        MALFORMED,
    ),
    Case(
        "status-200-with-wrongly-typed-fields",
        (body_fault(STATUS, {"id": 5, "status": ["queued"]}),),
        MALFORMED,
    ),
    Case(
        "unknown-status-value-then-normal",
        (body_fault(STATUS, {"id": "job_x", "status": "paused"}, 2),),
    ),
    Case(
        "unknown-status-value-forever-is-never-success",
        (body_fault(STATUS, {"id": "job_x", "status": "complete"}, None),),
        errors.JobTimeoutError,
        settings={"job_timeout": 0.3},
    ),
    Case(
        "job-disappears-404-on-status",
        (_status(404, STATUS),),
        errors.NotFoundError,
        "Injected 404 on status",
    ),
    Case(
        "failed-job",
        (),
        errors.JobFailedError,
        "Record 1 of the input is not valid JSON.",
        settings={"input_url": "s3://bucket/fail.jsonl"},
    ),
]


def client_for(emu: Emulator, timeout: float = 5.0, **settings: Any) -> FyreToolkitClient:
    client = FyreToolkitClient(
        api_key=ACCOUNT.api_key,
        base_url=emu.base_url,
        timeout=timeout,
        poll_schedule=PollSchedule(initial_interval=0.02, max_interval=0.1, multiplier=1.2),
        **settings,
    )
    fast_retries(client.transport)
    return client


def run_case(client: FyreToolkitClient, case: Case) -> BatchJob | MLStudioError:
    try:
        job = client.create_batch_job(MODEL_ID, case.setting("input_url", INPUT_URL))
        return client.wait_for_job(job.id, timeout=case.setting("job_timeout", 5.0))
    except MLStudioError as error:
        return error


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault_gives_one_outcome_and_at_most_one_job(emu: Emulator, case: Case) -> None:
    case.arm(emu)

    outcome = run_case(client_for(emu, case.setting("timeout", 5.0)), case)

    if case.error is None:
        assert isinstance(outcome, BatchJob), outcome
        assert outcome.status == "completed"
        assert outcome.output_url
    else:
        assert isinstance(outcome, case.error), outcome
        if case.server_message is not None:
            assert outcome.server_message == case.server_message
    settle(lambda: emu.log.count("POST", CREATE) >= case.sends)
    assert emu.log.count("POST", CREATE) == case.sends
    assert emu.fyretoolkit.created_jobs == case.jobs


def test_job_slower_than_the_deadline_raises_with_its_id_and_can_be_resumed(
    emu: Emulator,
) -> None:
    emu.fyretoolkit.processing_duration = 0.6
    client = client_for(emu)
    job = client.create_batch_job(MODEL_ID, INPUT_URL)

    with pytest.raises(errors.JobTimeoutError) as info:
        client.wait_for_job(job.id, timeout=0.15)

    assert info.value.job_id == job.id
    assert client.wait_for_job(info.value.job_id).status == "completed"
    assert emu.fyretoolkit.created_jobs == 1


async def test_async_create_under_a_cut_answer_creates_one_job(emu: Emulator) -> None:
    emu.faults.add(Fault(kind="drop_mid", path=CREATE))
    emu.faults.add(Fault(status=502, path=STATUS, times=2))
    client = client_for(emu)

    job = await client.acreate_batch_job(MODEL_ID, INPUT_URL)
    done = await client.await_job(job.id)

    assert done.status == "completed"
    assert emu.log.count("POST", CREATE) == 2
    assert emu.fyretoolkit.created_jobs == 1
    assert emu.fyretoolkit.idempotent_replays == 1


def test_remaining_zero_waits_for_the_reset_instead_of_meeting_a_429(emu: Emulator) -> None:
    svc = emu.fyretoolkit
    svc.rate_limit = 3
    svc.rate_window = 1.0
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # nothing is retried here: only the gate sleeps
        waits.append(seconds)
        time.sleep(seconds)

    client = client_for(emu, sleep=sleep)

    models = [client.get_model(MODEL_ID).id for _ in range(5)]

    assert models == [MODEL_ID] * 5
    assert svc.rate_limited == 0  # the client never spent a request on a 429
    assert waits  # it waited for X-RateLimit-Reset instead
    assert client.rate_limits["read"].limit == 3


def test_cancelling_a_finished_job_is_a_409_with_the_servers_message(emu: Emulator) -> None:
    client = client_for(emu)
    job = client.wait_for_job(client.create_batch_job(MODEL_ID, INPUT_URL).id)

    with pytest.raises(errors.ConflictError) as info:
        client.cancel_job(job.id)

    assert info.value.status_code == 409
    assert info.value.code == "job_not_cancelable"
    assert "can no longer be canceled" in (info.value.server_message or "")
    assert emu.log.count("POST", r"/cancel$") == 1  # a 409 is never retried


def test_reusing_an_idempotency_key_for_another_job_is_a_409(emu: Emulator) -> None:
    client = client_for(emu)
    first = client.create_batch_job(MODEL_ID, INPUT_URL, idempotency_key="key-1")
    again = client.create_batch_job(MODEL_ID, INPUT_URL, idempotency_key="key-1")

    with pytest.raises(errors.ConflictError) as info:
        client.create_batch_job(MODEL_ID, "s3://bucket/other.jsonl", idempotency_key="key-1")

    assert again.id == first.id
    assert info.value.code == "idempotency_key_reused"
    assert emu.log.count("POST", CREATE) == 3
    assert emu.fyretoolkit.created_jobs == 1


def test_422_is_typed_with_details_and_creates_nothing(emu: Emulator) -> None:
    client = client_for(emu)

    with pytest.raises(errors.UnprocessableEntityError) as info:
        client.create_deployment("s3://models/sentiment", "mars-north-1")

    assert info.value.code == "invalid_region"
    assert info.value.details["field"] == "region"
    assert "Unknown region" in (info.value.server_message or "")
    assert emu.log.count("POST", r"^/deployments$") == 1
    assert emu.fyretoolkit.created_deployments == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=503, path=r"^/predict/", times=2), None),
        (Fault(kind="drop_mid", path=r"^/predict/"), None),
        (Fault(status=502, path=r"^/predict/", times=None), errors.ServerError),
        (
            Fault(kind="body", path=r"^/predict/", body={"id": "p", "results": 3}),
            MALFORMED,
        ),
    ],
    ids=["503-burst", "drop-mid", "502-always", "wrongly-typed-results"],
)
def test_prediction_gives_one_result_per_input_or_one_typed_error(
    emu: Emulator, fault: Fault, error: type[MLStudioError] | None
) -> None:
    emu.faults.add(dataclasses.replace(fault))
    texts = ["I love it", "terrible service", "it arrived"]

    outcome: Any
    try:
        outcome = client_for(emu).predict(MODEL_ID, texts)
    except MLStudioError as exc:
        outcome = exc

    if error is None:
        assert [r["label"] for r in outcome.results] == ["positive", "negative", "neutral"]
    else:
        assert isinstance(outcome, error)


# -- the agent tools under the same faults ------------------------------------------

CREATE_CASES = [
    c for c in CASES if "input_url" not in c.settings and any(f.path == CREATE for f in c.faults)
]


def create_tool(emu: Emulator, timeout: float = 5.0) -> Any:
    tools = FyreToolkit(client=client_for(emu, timeout), allow_batch_jobs=True).get_tools()
    return {t.name: t for t in tools}["fyretoolkit_create_batch_job"]


def tool_call(tool: Any, call_id: str) -> dict[str, Any]:
    args = {"model_id": MODEL_ID, "input_url": INPUT_URL}
    return {"type": "tool_call", "id": call_id, "name": tool.name, "args": args}


@pytest.mark.parametrize("case", CREATE_CASES, ids=[c.id for c in CREATE_CASES])
def test_the_create_tool_under_a_fault_answers_with_a_message_and_makes_at_most_one_job(
    emu: Emulator, case: Case
) -> None:
    case.arm(emu)
    tool = create_tool(emu, case.setting("timeout", 5.0))
    message = tool.invoke(tool_call(tool, "call_1"))
    if case.error is None:
        assert message.status == "success", message.content
        assert message.artifact["id"]
    else:
        assert message.status == "error"
        assert json.loads(message.content)["error"]["type"] == case.error.__name__
    # A replay of the same tool call (a resumed graph step) makes nothing new.
    emu.faults.clear()
    again = tool.invoke(tool_call(tool, "call_1"))
    assert again.status == "success"
    if case.error is None:
        assert again.artifact["id"] == message.artifact["id"]
    settle(lambda: emu.fyretoolkit.created_jobs >= 1)
    assert emu.fyretoolkit.created_jobs == 1
