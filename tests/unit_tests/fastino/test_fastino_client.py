from __future__ import annotations

import pickle
import threading
from typing import Any

import httpx
import pytest

from langchain_mlstudio import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    MalformedResponseError,
    MLStudioError,
    ServerError,
)
from langchain_mlstudio._core._limits import RequestsPerSecond
from langchain_mlstudio.fastino import FastinoClient, FastinoInputError, FastinoResult
from tests.support.fastino import API_KEY, FakeFastino

TEXTS = [f"Call Jamie Derran on 0{i}0 1234 5678 please" for i in range(5)]


def test_sends_api_key_header_and_documented_body(fake: FakeFastino) -> None:
    client = fake.make_client()
    client.run("fastino-pii", ["Hi Jamie Derran"], parameters={"threshold": 0.3})
    assert fake.headers[0]["x-api-key"] == API_KEY
    assert fake.headers[0]["content-type"] == "application/json"
    assert fake.requests == [
        {
            "model_id": "fastino-pii",
            "input": [{"text": "Hi Jamie Derran", "parameters": {"threshold": 0.3}}],
        }
    ]


def test_no_parameters_key_when_none_given(fake: FakeFastino) -> None:
    fake.make_client().run("fastino-pii", ["Hi"])
    assert fake.requests[0]["input"] == [{"text": "Hi"}]


def test_results_are_typed_and_in_input_order_across_batches(
    fake: FakeFastino,
) -> None:
    client = fake.make_client(batch_size=2)
    results = client.run("fastino-pii", TEXTS)
    assert [r.input for r in results] == TEXTS
    assert all(isinstance(r, FastinoResult) for r in results)
    first = results[0].entities[0]
    assert (first.label, TEXTS[0][first.start : first.end]) == (
        "full_name",
        "Jamie Derran",
    )
    assert results[0].redacted_text is not None
    assert results[0].redacted_text.startswith("Call <FULL_NAME>")
    assert results[0].latency_ms == 1.0


def test_batching_respects_batch_size(fake: FakeFastino) -> None:
    fake.make_client(batch_size=2).run("fastino-pii", TEXTS)
    assert sorted(fake.batch_sizes) == [1, 2, 2]  # batches may be sent from several threads


def test_default_batch_size_sends_one_input_per_request(fake: FakeFastino) -> None:
    fake.make_client().run("fastino-pii", TEXTS)
    assert fake.batch_sizes == [1] * len(TEXTS)


async def test_async_batching_respects_batch_size_and_keeps_order(
    fake: FakeFastino,
) -> None:
    client = fake.make_client(batch_size=3, max_concurrency=2)
    results = await client.arun("fastino-pii", TEXTS)
    assert [r.input for r in results] == TEXTS
    assert sorted(fake.batch_sizes) == [2, 3]


def _failing_second_input(_i: int, body: dict[str, Any]) -> httpx.Response:
    answers = [FakeFastino.answer(item) for item in body["input"]]
    answers[1] = {
        "input": body["input"][1]["text"],
        "status": "error",
        "message": "model crashed",
        "output": {},
    }
    return httpx.Response(200, json=answers)


def test_failed_input_status_raises_an_error_for_that_input(
    fake: FakeFastino,
) -> None:
    fake.override = _failing_second_input
    client = fake.make_client(batch_size=3)
    with pytest.raises(FastinoInputError) as info:
        client.run("fastino-pii", TEXTS[:3])
    assert info.value.index == 1
    assert info.value.input_status == "error"
    assert info.value.server_message == "model crashed"


def test_failed_input_keeps_other_results_with_return_exceptions(
    fake: FakeFastino,
) -> None:
    fake.override = _failing_second_input
    results = fake.make_client(batch_size=3).run("fastino-pii", TEXTS[:3], return_exceptions=True)
    assert isinstance(results[0], FastinoResult)
    assert isinstance(results[1], FastinoInputError)
    assert isinstance(results[2], FastinoResult)


def test_result_count_mismatch_is_malformed(fake: FakeFastino) -> None:
    fake.override = lambda _i, body: httpx.Response(
        200, json=[FakeFastino.answer(body["input"][0])]
    )
    with pytest.raises(MalformedResponseError, match="2 inputs with 1 results"):
        fake.make_client(batch_size=2).run("fastino-pii", TEXTS[:2])


def test_non_list_response_is_malformed(fake: FakeFastino) -> None:
    fake.override = lambda _i, _b: httpx.Response(200, json={"result": "?"})
    with pytest.raises(MalformedResponseError):
        fake.make_client().run("fastino-pii", ["x"])


def test_entity_of_wrong_shape_is_malformed(fake: FakeFastino) -> None:
    fake.override = lambda _i, body: httpx.Response(
        200,
        json=[
            {
                "input": "x",
                "status": "success",
                "output": {"entities": [{"start": "zero", "label": 3}]},
            }
        ],
    )
    with pytest.raises(MalformedResponseError, match="documented shape"):
        fake.make_client().run("fastino-pii", ["x"])


def test_401_says_a_new_key_needs_a_minute_to_propagate(fake: FakeFastino) -> None:
    client = fake.make_client(api_key="wrong")
    with pytest.raises(AuthenticationError) as info:
        client.run("fastino-pii", ["x"])
    assert "minute to propagate" in str(info.value)
    assert "wrong" not in str(info.value)


def test_429_is_retried_by_the_shared_layer(fake: FakeFastino) -> None:
    fake.override = lambda i, _b: (
        httpx.Response(429, headers={"Retry-After": "2"}, json={"message": "slow"})
        if i == 0
        else None
    )
    client = fake.make_client()
    delays: list[float] = []
    client.transport.sleep = delays.append
    [result] = client.run("fastino-pii", ["Hi Jamie Derran"])
    assert result.entities
    assert delays == [2.0]
    assert len(fake.requests) == 2


def test_server_error_is_retried_then_raised(fake: FakeFastino) -> None:
    fake.override = lambda _i, _b: httpx.Response(500, json={"message": "boom"})
    with pytest.raises(ServerError):
        fake.make_client(max_retries=2).run("fastino-pii", ["x"])
    assert len(fake.requests) == 3


def test_missing_api_key_names_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, fake: FakeFastino
) -> None:
    monkeypatch.delenv("FASTINO_API_KEY", raising=False)
    client = FastinoClient(http_client=httpx.Client(transport=httpx.MockTransport(fake.handler)))
    with pytest.raises(ConfigurationError, match="FASTINO_API_KEY"):
        client.run("fastino-pii", ["x"])
    assert fake.requests == []


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTINO_API_KEY", "env-key")
    monkeypatch.setenv("FASTINO_BASE_URL", "https://eu.fastino.test")
    client = FastinoClient()
    assert client.api_key is not None
    assert client.api_key.get_secret_value() == "env-key"
    assert client.base_url == "https://eu.fastino.test"


def test_default_base_url_is_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FASTINO_BASE_URL", raising=False)
    assert FastinoClient(api_key="k").base_url == "https://api.fastino.com"


def test_api_key_never_appears_in_repr() -> None:
    client = FastinoClient(api_key="super-secret-key")
    assert "super-secret-key" not in repr(client)
    assert "super-secret-key" not in str(client.model_dump())


def test_one_rate_gate_per_instance_for_sync_and_async() -> None:
    client = FastinoClient(api_key="k", requests_per_second=7)
    gate = client.transport.gate
    assert isinstance(gate, RequestsPerSecond)
    # Starts are spaced so that 8 consecutive ones span more than one second.
    assert gate.rate == 7
    assert 7 * gate.interval > 1.0
    assert client.transport is client.transport


def test_client_pickles_and_works_after_unpickling(fake: FakeFastino) -> None:
    client = fake.make_client(batch_size=4)
    client.run("fastino-pii", ["warm up"])
    copy = pickle.loads(pickle.dumps(client))
    assert copy.http_client is None  # sockets do not cross processes
    assert copy.batch_size == 4
    assert copy.api_key is not None
    assert copy.api_key.get_secret_value() == API_KEY
    copy.http_client = httpx.Client(transport=httpx.MockTransport(fake.handler))
    [result] = copy.run("fastino-pii", ["Hi Jamie Derran"])
    assert result.entities[0].text == "Jamie Derran"


def test_empty_input_list_sends_nothing(fake: FakeFastino) -> None:
    assert fake.make_client().run("fastino-pii", []) == []
    assert fake.requests == []


def test_per_input_parameters_override_the_shared_ones(fake: FakeFastino) -> None:
    fake.make_client(batch_size=2).run(
        "fastino-pii",
        ["a", {"text": "b", "parameters": {"entity_types": ["email"]}}],
        parameters={"threshold": 0.4},
    )
    assert fake.requests[0]["input"] == [
        {"text": "a", "parameters": {"threshold": 0.4}},
        {"text": "b", "parameters": {"entity_types": ["email"]}},
    ]


def test_on_batch_reports_each_finished_request_including_failed_ones(
    fake: FakeFastino,
) -> None:
    fake.override = lambda i, _b: httpx.Response(500, json={"message": "x"}) if i == 1 else None
    done: list[int] = []
    client = fake.make_client(batch_size=2, max_retries=0, max_concurrency=1)
    out = client.run(
        "fastino-pii", ["a", "b", "c", "d", "e"], return_exceptions=True, on_batch=done.append
    )
    assert done == [2, 2, 1]
    assert [isinstance(r, MLStudioError) for r in out] == [False, False, True, True, False]


async def test_async_on_batch_reports_every_input(fake: FakeFastino) -> None:
    done: list[int] = []
    client = fake.make_client(batch_size=2)
    await client.arun("fastino-pii", ["a", "b", "c"], on_batch=done.append)
    assert sorted(done) == [1, 2]


def test_max_concurrency_of_a_call_overrides_the_clients(fake: FakeFastino) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    both_in = threading.Barrier(2, timeout=10)  # a hang guard only

    def handler(_i: int, _b: dict[str, Any]) -> None:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        both_in.wait()  # only returns once two requests are in flight together
        with lock:
            in_flight -= 1

    fake.override = handler
    client = fake.make_client(max_concurrency=1)
    client.run("fastino-pii", ["a", "b"], max_concurrency=2)
    assert peak == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_network_failure_names_its_real_cause(mode: str) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    mock = httpx.MockTransport(unreachable)
    client = FastinoClient(
        api_key="k",
        base_url="https://fastino.test",
        max_retries=0,
        http_client=httpx.Client(transport=mock),
        http_async_client=httpx.AsyncClient(transport=mock),
    )

    async def run() -> object:
        if mode == "sync":
            return client.run("fastino-pii", ["Hi Jamie Derran"])
        return await client.arun("fastino-pii", ["Hi Jamie Derran"])

    with pytest.raises(APIConnectionError) as info:
        await run()
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert "Jamie" not in repr(vars(info.value))
