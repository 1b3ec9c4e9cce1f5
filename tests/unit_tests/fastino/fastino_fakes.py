"""A socket-free Fastino ``/run``: the emulator's detector behind httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from langchain_mlstudio.emulator.fastino import detect, redact
from langchain_mlstudio.fastino import FastinoClient

API_KEY = "test-key"


@dataclass
class FakeFastino:
    """Answers ``/run`` like the API; ``override`` may replace any answer."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)
    override: Callable[[int, dict[str, Any]], httpx.Response | None] | None = None

    @staticmethod
    def answer(item: dict[str, Any]) -> dict[str, Any]:
        params = item.get("parameters") or {}
        threshold = params.get("threshold")
        entities = detect(
            item["text"],
            params.get("entity_types"),
            0.5 if threshold is None else threshold,
        )
        return {
            "input": item["text"],
            "latency_ms": 1.0,
            "message": "Responses from endpoint.",
            "output": {
                "entities": entities,
                "redacted_text": redact(item["text"], entities),
            },
            "status": "success",
        }

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        index = len(self.requests)
        self.requests.append(body)
        self.headers.append(request.headers)
        if self.override is not None:
            response = self.override(index, body)
            if response is not None:
                return response
        if request.headers.get("x-api-key") != API_KEY:
            return httpx.Response(401, json={"message": "Unauthorized"})
        return httpx.Response(200, json=[self.answer(i) for i in body["input"]])

    @property
    def batch_sizes(self) -> list[int]:
        return [len(r["input"]) for r in self.requests]

    def texts(self) -> list[str]:
        return [i["text"] for r in self.requests for i in r["input"]]

    def make_client(self, **kwargs: Any) -> FastinoClient:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", "https://fastino.test")
        kwargs.setdefault("requests_per_second", 1000)
        client = FastinoClient(
            http_client=httpx.Client(transport=httpx.MockTransport(self.handler)),
            http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(self.handler)),
            **kwargs,
        )
        client.transport.sleep = lambda _s: None  # no real backoff in unit tests

        async def _nosleep(_s: float) -> None:
            return None

        client.transport.asleep = _nosleep
        return client
