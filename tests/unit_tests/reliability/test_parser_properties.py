"""Response parsers of all three APIs fed arbitrary JSON: a typed object or an
``MLStudioError``, never a ``KeyError``, ``TypeError`` or pydantic error.

The parsers are called directly, and once more through the HTTP layer with an
``httpx.MockTransport`` answering arbitrary bodies and statuses (no sockets).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langchain_mlstudio import (
    FastinoClient,
    FyreToolkitClient,
    GenerationJob,
    MLStudioError,
    ModelStudioClient,
)
from langchain_mlstudio._core._calls import APIResponse
from langchain_mlstudio.fastino import FastinoResult
from langchain_mlstudio.fyretoolkit._reading import parse
from langchain_mlstudio.fyretoolkit.types import (
    BatchJob,
    DeletedDeployment,
    Deployment,
    ListPage,
    Metrics,
    Model,
    Prediction,
)
from tests.support.core import make_transport, request
from tests.unit_tests.reliability.strategies import (
    fastino_results,
    generation_jobs,
    json_values,
    shaped,
    status_words,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answering(data: Any) -> httpx.Client:
    """An HTTP client whose every request is answered 200 with ``data`` as JSON (no sockets)."""
    body = json.dumps(data).encode()
    headers = {"content-type": "application/json", "x-request-id": "req_1"}
    return httpx.Client(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(200, content=body, headers=headers)
        )
    )


def studio(data: Any) -> ModelStudioClient:
    """A generate-job client whose server answers every request with ``data``."""
    return ModelStudioClient(
        api_key="k", organization_id="o", base_url="http://studio.test", http_client=answering(data)
    )


# -- generate-job API -------------------------------------------------------------


@SETTINGS
@given(data=generation_jobs | json_values)
def test_job_status_parses_to_a_job_or_a_typed_error(data: Any) -> None:
    try:
        job = studio(data).get_job("job_1")
    except MLStudioError:
        return
    assert isinstance(job, GenerationJob)
    for index in range(4):
        try:
            text = job.text_for(index)
        except MLStudioError:
            continue
        assert isinstance(text, str)


@SETTINGS
@given(data=shaped({"job_id": st.text(max_size=10), "status": status_words}) | json_values)
def test_submit_answer_gives_a_job_id_or_a_typed_error(data: Any) -> None:
    try:
        job_id = studio(data).submit([[{"role": "user", "content": "hi"}]], model="m")
    except MLStudioError:
        return
    assert isinstance(job_id, str)
    assert job_id


# -- Fastino ----------------------------------------------------------------------


@SETTINGS
@given(
    data=st.lists(fastino_results, min_size=0, max_size=4) | json_values,
    sent=st.integers(1, 4),
)
def test_fastino_answer_gives_one_typed_outcome_per_input(data: Any, sent: int) -> None:
    client = FastinoClient(
        api_key="k",
        base_url="http://fastino.test",
        batch_size=4,
        requests_per_second=1e6,
        http_client=answering(data),
    )
    # Since issue 9 answers are matched by their echo: send the texts some echo.
    answers = data if isinstance(data, list) else []
    echoed = [
        a["input"] for a in answers if isinstance(a, dict) and isinstance(a.get("input"), str)
    ]
    texts = (echoed + ["x"] * sent)[:sent]
    try:
        outcomes = client.run("fastino-pii", texts, return_exceptions=True)
    except MLStudioError:
        return
    assert len(outcomes) == sent
    assert all(isinstance(o, FastinoResult | MLStudioError) for o in outcomes)


# -- FyreToolkit ------------------------------------------------------------------

batch_jobs = shaped(
    {
        "id": st.text(max_size=8),
        "status": status_words,
        "created": st.integers(),
        "progress": shaped({"processed": st.integers(), "total": st.integers()}),
        "output_url": st.text(max_size=8),
        "error": shaped({"code": st.text(max_size=8), "message": st.text(max_size=8)}),
    }
)
predictions = shaped(
    {
        "id": st.text(max_size=8),
        "created": st.integers(),
        "model": st.text(max_size=8),
        "results": st.lists(json_values, max_size=3),
        "usage": shaped({"latency_ms": st.floats()}),
    }
)
models = shaped({"id": st.text(max_size=8), "status": status_words, "created": st.integers()})
pages = shaped(
    {"object": st.just("list"), "data": st.lists(models, max_size=3), "has_more": st.booleans()}
)
metrics = shaped(
    {
        "deployment_id": st.text(max_size=8),
        "period": st.text(max_size=3),
        "metrics": shaped({"requests": st.integers(), "latency_ms": shaped({"p95": st.floats()})}),
    }
)
FYRE_SHAPES = [
    (BatchJob, batch_jobs),
    (Prediction, predictions),
    (Model, models),
    (ListPage[Model], pages),
    (Metrics, metrics),
    (Deployment, shaped({"id": st.text(), "model_uri": st.text(), "region": st.text()})),
    (DeletedDeployment, shaped({"id": st.text(), "deleted": st.booleans()})),
]


@pytest.mark.parametrize(("cls", "strategy"), FYRE_SHAPES, ids=lambda v: getattr(v, "__name__", ""))
def test_fyretoolkit_answer_parses_to_its_type_or_a_typed_error(
    cls: type, strategy: st.SearchStrategy[Any]
) -> None:
    @SETTINGS
    @given(data=strategy | json_values)
    def check(data: Any) -> None:
        try:
            parsed = parse(cls, data, what="GET /x", status_code=200, request_id="req_1")
        except MLStudioError:
            return
        assert isinstance(parsed, cls)

    check()


# -- through the HTTP layer: any body, any status ------------------------------------

bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    generation_jobs.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=40),
    st.just(b"<html>502 Bad Gateway</html>"),
    st.just(b""),
)
statuses = st.sampled_from(
    [200, 201, 202, 204, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504]
)


def mock(status: int, body: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, content=body, headers={"Retry-After": "0"})
    )


@SETTINGS
@given(status=statuses, body=bodies)
def test_transport_gives_a_response_or_a_typed_error_for_any_answer(
    status: int, body: bytes
) -> None:
    transport = make_transport(
        "Test",
        "http://api.test",
        dict,
        max_retries=0,
        http_client=httpx.Client(transport=mock(status, body)),
    )
    outcome: Any
    try:
        outcome = request(transport, "GET", "/x")
    except MLStudioError as error:
        outcome = error
    if isinstance(outcome, MLStudioError):
        assert status >= 400 or body.strip()  # a 2xx fails only for a non-JSON body
        assert outcome.status_code == status
    else:
        assert isinstance(outcome, APIResponse)
        assert 200 <= status < 300


@settings(SETTINGS, max_examples=40)
@given(status=statuses, body=bodies)
def test_every_client_call_gives_its_type_or_a_typed_error(status: int, body: bytes) -> None:
    http = httpx.Client(transport=mock(status, body))
    chat = ModelStudioClient(
        api_key="k",
        organization_id="o",
        base_url="http://studio.test",
        max_retries=0,
        http_client=http,
    )
    fastino = FastinoClient(
        api_key="k",
        base_url="http://fastino.test",
        max_retries=0,
        batch_size=2,
        requests_per_second=1e6,
        http_client=http,
    )
    fyre = FyreToolkitClient(
        api_key="k", base_url="http://fyre.test", max_retries=0, http_client=http
    )
    calls = [
        (lambda: chat.submit([[{"role": "user", "content": "hi"}]], model="m"), str),
        (lambda: chat.get_job("job_1"), GenerationJob),
        (lambda: fastino.run("fastino-pii", ["hi", "there"], return_exceptions=True), list),
        (lambda: fyre.predict("sentiment-v1", ["hi"]), Prediction),
        (lambda: fyre.get_job("job_1"), BatchJob),
        (lambda: list(fyre.list_models(limit=2)), list),
        (lambda: fyre.delete_deployment("dep_1"), DeletedDeployment),
    ]
    for call, expected in calls:
        try:
            result = call()
        except MLStudioError:
            continue
        assert isinstance(result, expected)
