"""Fastino test helpers: a socket-free ``/run`` fake, scripted answers, the shared emulator.

- :class:`FakeFastino`: the emulator's detector behind ``httpx.MockTransport``
  (unit tests open no socket); :func:`make_transformer` builds a
  transformer on it.
- :func:`answer`, :func:`entity`, :func:`scripted`, :func:`replying`,
  :func:`failing_when`: overrides that make the fake answer otherwise.
- :data:`sync_and_async`, :func:`run_transform`, :func:`run_redact`: one test body
  for the sync and the async twin.
- :func:`frozen_heap_emulator`: the in-process emulator the integration
  suites share (Fastino's and Ray's), with the import-time heap frozen so a
  garbage collection never looks like network jitter.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document

from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.emulator.fastino import detect, redact
from langchain_mlstudio.fastino import FastinoClient, FastinoPIITransformer
from tests.support.live import frozen_heap

__all__ = [
    "API_KEY",
    "FakeFastino",
    "Override",
    "answer",
    "entity",
    "failing_when",
    "frozen_heap_emulator",
    "make_transformer",
    "replying",
    "run_redact",
    "run_transform",
    "scripted",
    "sync_and_async",
]

API_KEY = "test-key"

#: What ``FakeFastino.override`` is: given the request's index and body, an
#: answer to send instead (``None``: answer as the API would).
Override = Callable[[int, dict[str, Any]], httpx.Response | None]


@dataclass
class FakeFastino:
    """Answers ``/run`` like the API; ``override`` may replace any answer."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)
    override: Override | None = None

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


def make_transformer(fake: FakeFastino, **kwargs: Any) -> FastinoPIITransformer:
    """A transformer on ``fake``'s client (``batch_size``/``max_retries`` go to the client)."""
    client_kwargs = {k: kwargs.pop(k) for k in ("batch_size", "max_retries") if k in kwargs}
    return FastinoPIITransformer(client=fake.make_client(**client_kwargs), **kwargs)


def answer(text: str, entities: list[dict[str, Any]], **output: Any) -> dict[str, Any]:
    """One successful result for ``text`` with ``entities`` (and more ``output`` keys)."""
    return {"input": text, "status": "success", "output": {"entities": entities, **output}}


def entity(
    start: int, end: int, text: str, label: str = "full_name", score: float = 0.9
) -> dict[str, Any]:
    """One entity as the API reports it."""
    return {"start": start, "end": end, "label": label, "text": text, "score": score}


def replying(build: Callable[[list[str]], Any]) -> Override:
    """An override answering each request with ``build(texts)`` as its JSON body."""

    def handler(_i: int, body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(200, json=build([item["text"] for item in body["input"]]))

    return handler


def scripted(entities: list[dict[str, Any]], **output: Any) -> Override:
    """An override answering every input with the same ``entities``."""
    return replying(lambda texts: [answer(text, entities, **output) for text in texts])


def failing_when(marker: str, status: int, message: str) -> Override:
    """An override failing (with ``status``) every request whose first text holds ``marker``."""

    def handler(_i: int, body: dict[str, Any]) -> httpx.Response | None:
        if marker in body["input"][0]["text"]:
            return httpx.Response(status, json={"message": message})
        return None

    return handler


@contextlib.contextmanager
def frozen_heap_emulator(**settings: Any) -> Iterator[Emulator]:
    """A running :class:`Emulator` with the test process's heap frozen while it runs."""
    with frozen_heap(), Emulator(**settings) as emu:
        yield emu


#: Runs a test once through the sync API and once through its async twin.
sync_and_async = pytest.mark.parametrize("mode", ["sync", "async"])


async def run_transform(
    mode: str, pii: FastinoPIITransformer, documents: Sequence[Document]
) -> list[Document]:
    """``transform_documents`` or ``atransform_documents``, as ``mode`` says."""
    if mode == "sync":
        return list(pii.transform_documents(documents))
    return list(await pii.atransform_documents(documents))


async def run_redact(mode: str, pii: FastinoPIITransformer, text: str) -> str:
    """``redact`` or ``aredact``, as ``mode`` says."""
    if mode == "sync":
        return pii.redact(text)
    return await pii.aredact(text)
