"""What the FyreToolkit tests share: a recording handler, a fake clock, sync/async calls.

Unit tests (``httpx.MockTransport``) and integration tests (the emulator)
both run every client call twice, once per ``mode``; :func:`call` and
:func:`collect` make the two one test body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest
from langchain_core.tools import BaseTool

from langchain_mlstudio.fyretoolkit import FyreToolkitClient

__all__ = [
    "BASE",
    "DEMO_HEADER",
    "KEY",
    "Example",
    "FakeClock",
    "Handler",
    "Recorder",
    "api_error",
    "call",
    "collect",
    "mock_client",
    "modes",
    "no_asleep",
    "no_sleep",
    "suite_per_tool",
]

#: The demo key of the reference page, and the Basic header the page shows for it.
KEY = "sk_live_demo_12345"
DEMO_HEADER = "Basic c2tfbGl2ZV9kZW1vXzEyMzQ1Og=="
#: A base URL no test resolves: every request goes to a MockTransport.
BASE = "https://fyre.test"

Handler = Callable[[httpx.Request], httpx.Response]
#: A tool's invoke arguments, computed from the running standard suite.
Example = Callable[[Any], dict[str, Any]]

#: Every client call, once sync and once async.
modes = pytest.mark.parametrize("mode", ["sync", "async"])

#: The async twin of a sync method where it is not the ``a``-prefixed name.
_ASYNC_TWIN = {"wait_for_job": "await_job"}


class Recorder:
    """A MockTransport handler that records the requests it answers."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def bodies(self) -> list[Any]:
        """The JSON body of every request (``None`` where there was none)."""
        return [json.loads(r.content) if r.content else None for r in self.requests]


class FakeClock:
    """Time that only sleeping moves forward, shareable across threads.

    ``start`` defaults to now, for an emulator that compares it with real
    Unix timestamps.
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, delay: float) -> None:
        with self._lock:
            self.sleeps.append(delay)
            self.now += delay

    async def asleep(self, delay: float) -> None:
        self.sleep(delay)


def no_sleep(_delay: float) -> None:
    """A ``sleep=`` that returns at once."""


async def no_asleep(_delay: float) -> None:
    """An ``asleep=`` that returns at once."""


def mock_client(handler: Handler, **kwargs: Any) -> tuple[FyreToolkitClient, Recorder]:
    """A client answered by ``handler`` through a MockTransport; it never waits."""
    recorder = Recorder(handler)
    transport = httpx.MockTransport(recorder)
    settings: dict[str, Any] = {
        "api_key": KEY,
        "base_url": BASE,
        "sleep": no_sleep,
        "asleep": no_asleep,
        **kwargs,
    }
    client = FyreToolkitClient(
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
        **settings,
    )
    return client, recorder


def api_error(
    status: int,
    code: str,
    *,
    request_id: str = "req_abc",
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A FyreToolkit ``{"error": {...}}`` answer."""
    body = {
        "code": code,
        "message": f"{code} happened",
        "request_id": request_id,
        "details": details or {},
    }
    return httpx.Response(status, json={"error": body}, headers=headers)


async def call(mode: str, client: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Run ``client.<name>`` (sync) or its async twin (``a<name>``) alike."""
    if mode == "sync":
        return getattr(client, name)(*args, **kwargs)
    twin = _ASYNC_TWIN.get(name, "a" + name)
    return await getattr(client, twin)(*args, **kwargs)


async def collect(mode: str, client: Any, name: str, **kwargs: Any) -> list[Any]:
    """Every record of the list method ``name`` (sync) or its async twin."""
    if mode == "sync":
        return list(getattr(client, name)(**kwargs))
    return [item async for item in getattr(client, "a" + name)(**kwargs)]


def suite_per_tool(
    base: type[Any], examples: Mapping[type[BaseTool], Example], suffix: str
) -> dict[str, type[Any]]:
    """One langchain-tests standard suite per tool class, named ``Test<Tool><suffix>``.

    ``base`` is a ``ToolsUnitTests`` or ``ToolsIntegrationTests`` subclass
    with everything but the tool; ``examples`` gives each tool's invoke
    arguments, computed from the running suite (so an example may use ids the
    suite made).
    """
    return {
        f"Test{cls.__name__}{suffix}": _suite(base, cls, example, f"Test{cls.__name__}{suffix}")
        for cls, example in examples.items()
    }


def _suite(base: type[Any], cls: type[BaseTool], example: Example, name: str) -> type[Any]:
    class Suite(base):  # type: ignore[misc, valid-type]
        @property
        def tool_constructor(self) -> type[BaseTool]:
            return cls

        @property
        def tool_invoke_params_example(self) -> dict[str, Any]:
            return example(self)

    Suite.__name__ = Suite.__qualname__ = name
    return Suite
