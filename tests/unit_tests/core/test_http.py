"""The shared HTTP layer: retries, backoff, Retry-After, typed errors, secrets."""

from __future__ import annotations

import email.utils
import logging
import pickle
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from langchain_mlstudio import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    MalformedResponseError,
    MLStudioError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from langchain_mlstudio._core._http import HTTPTransport
from langchain_mlstudio._core._retry import RetryPolicy, Safety, parse_retry_after

SECRET = "sk-never-show-me-123"


def transport(
    handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any
) -> tuple[HTTPTransport, list[float]]:
    sleeps: list[float] = []
    t = HTTPTransport(
        "Svc",
        "https://svc.example",
        lambda: {"Authorization": f"Bearer {SECRET}"},
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=sleeps.append,
        **kwargs,
    )
    return t, sleeps


def scripted(*responses: httpx.Response | Exception) -> tuple[Callable[..., Any], list[Any]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        # A fresh copy each time: a Response's stream is consumed by its client.
        return httpx.Response(item.status_code, headers=item.headers, content=item.content)

    return handler, seen


OK = httpx.Response(200, json={"ok": True})


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_for_idempotent_requests(status: int) -> None:
    handler, seen = scripted(httpx.Response(status, json={"detail": "x"}), OK)
    t, sleeps = transport(handler)

    assert t.request("GET", "/x").data == {"ok": True}
    assert len(seen) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    handler, seen = scripted(httpx.Response(status, json={"detail": "nope"}))
    t, _ = transport(handler)

    with pytest.raises(MLStudioError):
        t.request("GET", "/x")
    assert len(seen) == 1


def test_backoff_grows_exponentially_with_jitter() -> None:
    handler, seen = scripted(httpx.Response(502, json={}))
    t, sleeps = transport(handler, max_retries=4)

    with pytest.raises(ServerError):
        t.request("GET", "/x")

    assert len(seen) == 5
    for attempt, delay in enumerate(sleeps):
        full = min(8.0, 0.5 * 2**attempt)
        assert full / 2 <= delay <= full
    assert sleeps[3] > sleeps[0]


def test_jitter_spreads_delays() -> None:
    policy = RetryPolicy()
    assert len({round(policy.backoff(1), 6) for _ in range(20)}) > 1


def test_retry_after_seconds_is_honoured() -> None:
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "3"}, json={}), OK)
    t, sleeps = transport(handler)

    t.request("GET", "/x")

    assert sleeps == [3.0]


def test_retry_after_http_date_is_honoured() -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    handler, _ = scripted(httpx.Response(503, headers={"Retry-After": when}, json={}), OK)
    t, sleeps = transport(handler)

    t.request("GET", "/x")

    assert 3.0 <= sleeps[0] <= 5.0


def test_retry_after_is_capped() -> None:
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "3600"}, json={}), OK)
    t, sleeps = transport(handler, retry=RetryPolicy(max_retry_after=10))

    t.request("GET", "/x")

    assert sleeps == [10]


def test_rate_limit_reset_header_is_used_on_a_429_without_retry_after() -> None:
    reset = str(int(time.time()) + 4)
    handler, _ = scripted(httpx.Response(429, headers={"X-RateLimit-Reset": reset}, json={}), OK)
    t, sleeps = transport(handler)

    t.request("GET", "/x")

    assert 2.0 <= sleeps[0] <= 4.0


def test_parse_retry_after_rejects_garbage() -> None:
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after("-4") == 0.0


def test_burst_longer_than_max_retries_raises_rate_limit_error() -> None:
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "1"}, json={"detail": "slow down"})
    )
    t, _ = transport(handler, max_retries=2)

    with pytest.raises(RateLimitError) as info:
        t.request("GET", "/x")

    assert len(seen) == 3
    assert info.value.retry_after == 1.0
    assert info.value.server_message == "slow down"


@pytest.mark.parametrize("status", [500, 502, 504, 408])
def test_creating_request_is_not_repeated_when_it_may_have_created(status: int) -> None:
    handler, seen = scripted(httpx.Response(status, json={}), OK)
    t, _ = transport(handler)

    with pytest.raises(MLStudioError):
        t.request("POST", "/jobs", json_body={}, safety=Safety.CREATES)
    assert len(seen) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_creating_request_is_repeated_when_it_provably_created_nothing(status: int) -> None:
    handler, seen = scripted(httpx.Response(status, json={}), OK)
    t, _ = transport(handler)

    t.request("POST", "/jobs", json_body={}, safety=Safety.CREATES)
    assert len(seen) == 2


def test_creating_request_is_repeated_after_a_connect_error() -> None:
    handler, seen = scripted(httpx.ConnectError("refused"), OK)
    t, _ = transport(handler)

    t.request("POST", "/jobs", json_body={}, safety=Safety.CREATES)
    assert len(seen) == 2


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")], ids=str
)
def test_creating_request_is_not_repeated_after_the_request_was_sent(exc: Exception) -> None:
    handler, seen = scripted(exc, OK)
    t, _ = transport(handler)

    with pytest.raises(APIConnectionError):
        t.request("POST", "/jobs", json_body={}, safety=Safety.CREATES)
    assert len(seen) == 1


def test_read_timeout_is_retried_for_idempotent_requests_then_typed() -> None:
    handler, seen = scripted(httpx.ReadTimeout("slow"))
    t, _ = transport(handler, timeout=1.5)

    with pytest.raises(APITimeoutError, match=r"within 1\.5 s"):
        t.request("GET", "/x")
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_statuses_map_to_typed_errors(status: int, cls: type[MLStudioError]) -> None:
    handler, _ = scripted(
        httpx.Response(
            status,
            headers={"X-Request-Id": "req_42"},
            json={"error": {"code": "c", "message": "server words", "details": {"f": 1}}},
        )
    )
    t, _ = transport(handler, max_retries=0)

    with pytest.raises(cls) as info:
        t.request("GET", "/x")

    err = info.value
    assert err.status_code == status
    assert err.code == "c"
    assert err.server_message == "server words"
    assert err.request_id == "req_42"
    assert err.details == {"f": 1}
    assert "server words" in str(err)
    assert "req_42" in str(err)
    assert err.hint
    assert err.hint in str(err)


def test_422_is_also_a_bad_request() -> None:
    assert issubclass(UnprocessableEntityError, BadRequestError)


def test_request_id_is_read_from_the_error_body() -> None:
    handler, _ = scripted(
        httpx.Response(404, json={"error": {"message": "gone", "request_id": "req_body"}})
    )
    t, _ = transport(handler)
    with pytest.raises(NotFoundError) as info:
        t.request("GET", "/x")
    assert info.value.request_id == "req_body"


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b"{not json", b"\xff\xfe"],
    ids=["html", "truncated", "binary"],
)
def test_non_json_success_body_is_a_malformed_response(body: bytes) -> None:
    handler, _ = scripted(httpx.Response(200, content=body))
    t, _ = transport(handler)
    with pytest.raises(MalformedResponseError):
        t.request("GET", "/x")


def test_non_json_error_body_still_gives_a_typed_error() -> None:
    handler, _ = scripted(httpx.Response(502, content=b"<html>Bad Gateway</html>"))
    t, _ = transport(handler, max_retries=0)
    with pytest.raises(ServerError, match="Bad Gateway"):
        t.request("GET", "/x")


def test_headers_carry_agent_defaults_and_extra() -> None:
    handler, seen = scripted(OK)
    t, _ = transport(handler, default_headers={"X-Team": "ml"})

    t.request("GET", "/x", headers={"X-Extra": "1"})

    headers = seen[0].headers
    assert headers["user-agent"].startswith("langchain-mlstudio/")
    assert headers["x-team"] == "ml"
    assert headers["x-extra"] == "1"
    assert headers["authorization"] == f"Bearer {SECRET}"


def test_per_request_timeout_reaches_httpx() -> None:
    handler, seen = scripted(OK)
    t, _ = transport(handler, timeout=30)

    t.request("GET", "/x", timeout=2.5)

    assert seen[0].extensions["timeout"]["read"] == 2.5


def test_secret_never_appears_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    handler, _ = scripted(
        httpx.Response(401, json={"detail": "bad key"}),
    )
    t, _ = transport(handler)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(AuthenticationError) as info:
            t.request("GET", "/x")
        connect_handler, _ = scripted(httpx.ConnectError("refused"))
        t2, _ = transport(connect_handler)
        with pytest.raises(APIConnectionError) as info2:
            t2.request("GET", "/x")

    for text in (str(info.value), repr(info.value), str(info2.value), repr(t), caplog.text):
        assert SECRET not in text


async def test_async_requests_retry_like_sync_ones() -> None:
    handler, seen = scripted(httpx.Response(503, json={}), OK)
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)

    t = HTTPTransport(
        "Svc",
        "https://svc.example",
        dict,
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        asleep=fake_sleep,
    )

    assert (await t.arequest("GET", "/x")).data == {"ok": True}
    assert len(seen) == 2
    assert len(sleeps) == 1


def test_clients_are_created_lazily_and_reused() -> None:
    t = HTTPTransport("Svc", "https://svc.example", dict)
    assert t._client is None
    assert t.client is t.client
    t.close()


async def test_async_client_is_reused_within_a_loop() -> None:
    t = HTTPTransport("Svc", "https://svc.example", dict)
    assert t.async_client is t.async_client
    await t.aclose()


def test_transport_pickles_without_its_clients() -> None:
    t = HTTPTransport("Svc", "https://svc.example", dict, max_retries=5)
    _ = t.client

    clone = pickle.loads(pickle.dumps(t))

    assert clone.retry.max_retries == 5
    assert clone._client is None
    assert clone.client is not t.client


def test_errors_survive_pickling() -> None:
    err = RateLimitError("limited", retry_after=2.0, status_code=429, request_id="r1")
    clone = pickle.loads(pickle.dumps(err))
    assert isinstance(clone, RateLimitError)
    assert clone.retry_after == 2.0
    assert str(clone) == str(err)


def test_validation_errors_that_echo_the_input_keep_only_location_and_message() -> None:
    body = {
        "detail": [
            {
                "type": "string_too_long",
                "loc": ["body", "input", 0, "text"],
                "msg": "String should have at most 10 characters",
                "input": "Jamie Derran lives at 5 Elm St",
                "ctx": {"max_length": 10},
            }
        ]
    }
    handler, _ = scripted(httpx.Response(422, json=body))
    t, _ = transport(handler)

    with pytest.raises(UnprocessableEntityError) as info:
        t.request("POST", "/run", json_body={})

    assert info.value.server_message == (
        "body.input.0.text: String should have at most 10 characters"
    )
    assert "Jamie" not in str(info.value)
