"""Fakes and helpers the chat-model suites share.

* :class:`FakeJobAPI`: an in-memory generate-job API behind
  ``httpx.MockTransport`` (no sockets), with :func:`make_model` and
  :func:`make_client` wired to it;
* :func:`emulated_chat_model`: a chat model pointed at a running emulator;
* :data:`SYNC_AND_ASYNC`, :func:`invoke`, :func:`batch`, :func:`batch_as_completed`:
  one test body for a sync call and its async twin;
* :func:`call_in_threads` and :func:`fan_out`: concurrent callers (threads, a
  LangGraph ``Send`` fan-out);
* :class:`SuiteModel`: the class and parameters of a langchain-tests standard suite.
"""

from __future__ import annotations

import json
import operator
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypedDict, TypeVar

import httpx
import pytest

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio._core._polling import PollSchedule
from langchain_mlstudio.chat_models import BaseChatGenerationJob, ModelStudioClient

if TYPE_CHECKING:
    from langchain_mlstudio.emulator import Emulator

M = TypeVar("M", bound=BaseChatGenerationJob)

ORG = "org-1"
KEY = "sk-unit-secret-4242"


@dataclass
class FakeJob:
    job_id: str
    conversations: list[list[dict[str, Any]]]
    payload: dict[str, Any]
    checks: int = 0


@dataclass
class FakeJobAPI:
    """Jobs finish after ``checks_until_done`` status checks.

    ``flavour`` picks the status words; ``fail_tasks`` marks task indices as
    failed; ``reverse_results`` returns results in reverse order;
    ``responses`` queues raw responses served before the normal behaviour.
    """

    flavour: str = "modelstudio"
    checks_until_done: int = 1
    fail_tasks: set[int] = field(default_factory=set)
    reverse_results: bool = True
    job_status_override: str | None = None
    responses: list[httpx.Response | Exception] = field(default_factory=list)
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    on_post: Callable[[FakeJob], None] | None = None

    @property
    def posts(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST")

    @property
    def gets(self) -> int:
        return sum(1 for r in self.requests if r.method == "GET")

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.responses:
            queued = self.responses.pop(0)
            if isinstance(queued, Exception):
                raise queued
            return queued
        if request.method == "POST":
            payload = json.loads(request.content)
            job = FakeJob(f"job_{len(self.jobs)}", payload["messages"], payload)
            self.jobs[job.job_id] = job
            if self.on_post:
                self.on_post(job)
            return httpx.Response(
                200, json={"job_id": job.job_id, "status": "CREATED", "message": "ok"}
            )
        job_id = request.url.path.rsplit("/", 1)[1]
        if job_id not in self.jobs:
            return httpx.Response(404, json={"detail": "Job not found"})
        job = self.jobs[job_id]
        job.checks += 1
        return httpx.Response(200, json=self.status_body(job))

    def status_body(self, job: FakeJob) -> dict[str, Any]:
        total = len(job.conversations)
        running = "RUNNING" if self.flavour == "ionos" else "running"
        if job.checks < self.checks_until_done:
            return {
                "job_id": job.job_id,
                "job_status": running,
                "total_tasks": total,
                "completed_tasks": 0,
                "results": [],
            }
        done = "FINISHED" if self.flavour == "ionos" else "completed"
        results = []
        for index, conversation in enumerate(job.conversations):
            text = f"reply to {conversation[-1]['content']}"
            item: dict[str, Any] = {"task_index": index}
            if index in self.fail_tasks:
                item.update(status="failed", result=None, error="model crashed")
            elif self.flavour == "ionos":
                item.update(status="completed", result=" " + text)
            else:
                item.update(status="completed", result=text, error=None)
            results.append(item)
        if self.reverse_results:
            results.reverse()
        return {
            "job_id": job.job_id,
            "job_status": self.job_status_override or done,
            "total_tasks": total,
            "completed_tasks": total,
            "results": results,
        }

    def clients(self) -> dict[str, Any]:
        return {
            "http_client": httpx.Client(transport=httpx.MockTransport(self.handler)),
            "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(self.handler)),
        }


def make_model(api: FakeJobAPI, **kwargs: Any) -> BaseChatGenerationJob:
    """A chat model of the API's flavour, wired to the fake, polling fast."""
    cls = ChatIonosModelStudio if api.flavour == "ionos" else ChatModelStudio
    params: dict[str, Any] = {
        "model": "ft-model",
        "api_key": KEY,
        "organization_id": ORG,
        "poll_initial_interval": 0.001,
        "poll_max_interval": 0.002,
        **api.clients(),
        **kwargs,
    }
    return cls(**params)


def make_client(api: FakeJobAPI, **kwargs: Any) -> ModelStudioClient:
    """A job client of the API's flavour, wired to the fake, polling fast."""
    return ModelStudioClient(
        api_key=KEY,
        organization_id=ORG,
        provider="ionos" if api.flavour == "ionos" else "modelstudio",
        poll_schedule=PollSchedule(0.001, 0.002),
        **api.clients(),
        **kwargs,
    )


def emulated_chat_model(
    emulator: Emulator,
    cls: type[M] = ChatModelStudio,  # type: ignore[assignment]
    *,
    api_key: str,
    organization_id: str,
    model: str,
    **settings: Any,
) -> M:
    """A chat model of ``cls`` pointed at ``emulator``, first status check after 0.02 s.

    ``settings`` are any other fields of the model (and may override
    ``poll_initial_interval``).
    """
    settings.setdefault("poll_initial_interval", 0.02)
    return cls(
        model=model,
        api_key=api_key,
        organization_id=organization_id,
        base_url=emulator.base_url,
        **settings,
    )


#: Parametrise a test over a sync call (``asynchronous=False``) and its async twin.
SYNC_AND_ASYNC = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


async def invoke(llm: Any, value: Any, *, asynchronous: bool, **kwargs: Any) -> Any:
    """``llm.invoke`` or ``await llm.ainvoke``."""
    if asynchronous:
        return await llm.ainvoke(value, **kwargs)
    return llm.invoke(value, **kwargs)


async def batch(llm: Any, inputs: list[Any], *, asynchronous: bool, **kwargs: Any) -> list[Any]:
    """``llm.batch`` or ``await llm.abatch``."""
    if asynchronous:
        return list(await llm.abatch(inputs, **kwargs))
    return list(llm.batch(inputs, **kwargs))


async def batch_as_completed(
    llm: Any, inputs: list[Any], *, asynchronous: bool, **kwargs: Any
) -> dict[int, Any]:
    """``llm.batch_as_completed`` or ``llm.abatch_as_completed``, as ``{index: result}``."""
    if asynchronous:
        return {i: r async for i, r in llm.abatch_as_completed(inputs, **kwargs)}
    return dict(llm.batch_as_completed(inputs, **kwargs))


def call_in_threads(call: Callable[[Any], Any], values: Sequence[Any]) -> None:
    """Run ``call(value)`` for every value on its own thread, all at once, and wait."""
    threads = [threading.Thread(target=call, args=(value,)) for value in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class FanOut(TypedDict):
    """The state of :func:`fan_out`'s graph: every answer is added to ``answers``."""

    topics: list[str]
    answers: Annotated[list[str], operator.add]


async def fan_out(llm: Any, topics: list[str]) -> list[str]:
    """Ask ``llm`` about every topic from a LangGraph ``Send`` fan-out; the answers."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    async def answer(state: dict[str, str]) -> dict[str, list[str]]:
        return {"answers": [str((await llm.ainvoke(state["topic"])).content)]}

    graph = StateGraph(FanOut)
    graph.add_node("answer", answer)
    graph.add_conditional_edges(
        START, lambda s: [Send("answer", {"topic": t}) for t in s["topics"]], ["answer"]
    )
    graph.add_edge("answer", END)
    out = await graph.compile().ainvoke({"topics": topics, "answers": []})
    return list(out["answers"])


class SuiteModel:
    """Put first in a langchain-tests suite's bases: the class and the params it tests.

    ``model_class`` picks the chat model class, ``extra_params`` are added to
    what :meth:`suite_params` is given (a suite's ``chat_model_params``).
    """

    model_class: type[BaseChatGenerationJob] = ChatModelStudio
    extra_params: ClassVar[dict[str, Any]] = {}

    @property
    def chat_model_class(self) -> type[BaseChatGenerationJob]:
        """The class under test."""
        return self.model_class

    def suite_params(self, **params: Any) -> dict[str, Any]:
        """``params`` with the suite's ``extra_params`` on top."""
        return {**params, **self.extra_params}
