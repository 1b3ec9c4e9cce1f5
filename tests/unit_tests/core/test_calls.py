"""One API call as data: reading answers, what a retried attempt's error means, gates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from langchain_mlstudio import ConflictError, MalformedResponseError, NotFoundError
from langchain_mlstudio._core._calls import AlreadyDone, Attempt, Call
from langchain_mlstudio._core._http import HTTPTransport, RequestGate
from langchain_mlstudio._core._retry import RetryPolicy
from tests.support.core import make_transport, request

Handler = Callable[[httpx.Request], httpx.Response]


class RecordingGate(RequestGate):
    """Records which call and which attempt the transport hands the gate."""

    def __init__(self) -> None:
        self.before: list[tuple[str, int]] = []
        self.after: list[tuple[str, int, int]] = []

    def before_attempt(self, attempt: Attempt) -> None:
        self.before.append((attempt.path, attempt.number))

    async def abefore_attempt(self, attempt: Attempt) -> None:
        self.before_attempt(attempt)

    def after_response(self, attempt: Attempt, response: httpx.Response) -> None:
        self.after.append((attempt.path, attempt.number, response.status_code))


def scripted(*answers: httpx.Response | Exception) -> tuple[Handler, list[str]]:
    """A handler answering in order (the last answer repeats), recording each request."""
    seen: list[str] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return httpx.Response(item.status_code, headers=item.headers, content=item.content)

    return handler, seen


def transport(handler: Handler, gate: RequestGate | None = None) -> HTTPTransport:
    async def no_sleep(_delay: float) -> None:
        return None

    return make_transport(
        "Svc",
        "https://svc.example",
        dict,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        gate=gate,
        retry=RetryPolicy(max_retries=2),
        sleep=lambda _delay: None,
        asleep=no_sleep,
    )


async def send(t: HTTPTransport, call: Call[Any], mode: str) -> Any:
    return t.call(call) if mode == "sync" else await t.acall(call)


def deleted(_confirmed: Any) -> str:
    return "deleted"


DELETE = Call(
    "DELETE",
    "/things/t1",
    lambda response: "deleted",
    already_done=AlreadyDone(NotFoundError, deleted, note="deleted by an earlier attempt"),
)

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
async def test_a_call_returns_what_its_reader_makes_of_the_answer(mode: str) -> None:
    handler, _ = scripted(httpx.Response(200, json={"n": 3}))
    call = Call("GET", "/n", lambda response: response.data["n"] * 2)
    assert await send(transport(handler), call, mode) == 6


@MODES
async def test_a_retried_attempt_meeting_the_done_error_is_the_earlier_attempts_success(
    mode: str,
) -> None:
    handler, seen = scripted(httpx.ConnectError("lost"), httpx.Response(404, json={}))
    assert await send(transport(handler), DELETE, mode) == "deleted"
    assert seen == ["DELETE /things/t1", "DELETE /things/t1"]


@MODES
async def test_the_done_error_on_the_first_attempt_is_raised(mode: str) -> None:
    handler, seen = scripted(httpx.Response(404, json={"error": {"code": "not_found"}}))
    with pytest.raises(NotFoundError):
        await send(transport(handler), DELETE, mode)
    assert seen == ["DELETE /things/t1"]


@MODES
async def test_the_confirm_call_decides_whether_a_retried_conflict_is_success(mode: str) -> None:
    def canceled(state: Any) -> str | None:
        return "canceled" if state == {"status": "canceled"} else None

    def cancel(confirmed_status: str) -> Call[str]:
        confirm = Call("GET", "/jobs/j1", lambda response: response.data)
        return Call(
            "POST",
            "/jobs/j1/cancel",
            lambda response: "canceled",
            already_done=AlreadyDone(ConflictError, canceled, confirm=confirm),
        )

    for status, expected in (("canceled", "canceled"), ("completed", None)):
        handler, seen = scripted(
            httpx.Response(503, json={}),
            httpx.Response(409, json={}),
            httpx.Response(200, json={"status": status}),
        )
        if expected is None:
            with pytest.raises(ConflictError):
                await send(transport(handler), cancel(status), mode)
        else:
            assert await send(transport(handler), cancel(status), mode) == expected
        assert seen == ["POST /jobs/j1/cancel", "POST /jobs/j1/cancel", "GET /jobs/j1"]


@MODES
async def test_a_2xx_without_json_succeeds_only_for_a_call_that_accepts_any_body(
    mode: str,
) -> None:
    handler, _ = scripted(httpx.Response(202, content=b"accepted"))
    lenient = Call("POST", "/x", lambda response: response.data, any_body=True)
    strict = Call("POST", "/x", lambda response: response.data)
    assert await send(transport(handler), lenient, mode) is None
    with pytest.raises(MalformedResponseError):
        await send(transport(handler), strict, mode)


@MODES
async def test_the_gate_sees_each_attempt_of_a_call_numbered_by_the_transport(mode: str) -> None:
    handler, _ = scripted(httpx.Response(503, json={}), httpx.Response(200, json={}))
    gate = RecordingGate()
    t = transport(handler, gate)
    await send(t, Call("GET", "/a", lambda response: None), mode)
    await send(t, Call("GET", "/b", lambda response: None), mode)
    assert gate.before == [("/a", 1), ("/a", 2), ("/b", 1)]
    assert gate.after == [("/a", 1, 503), ("/a", 2, 200), ("/b", 1, 200)]


def test_the_transport_waits_between_attempts_with_the_sleep_it_was_given() -> None:
    handler, _ = scripted(httpx.Response(503, json={}, headers={"Retry-After": "2"}), OK)
    waits: list[float] = []
    t = make_transport(
        "Svc",
        "https://svc.example",
        dict,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=waits.append,
    )
    request(t, "GET", "/x")
    assert waits == [2.0]
    assert t.sleep == waits.append


OK = httpx.Response(200, json={})


def test_a_gate_written_for_the_former_hooks_is_refused_instead_of_ignored() -> None:
    with pytest.raises(TypeError, match=r"wait -> before_attempt.*observe -> after_response"):

        class OldGate(RequestGate):
            def wait(self) -> None: ...

            def observe(self, response: httpx.Response) -> None: ...
