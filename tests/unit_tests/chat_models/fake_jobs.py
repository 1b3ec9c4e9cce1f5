"""An in-memory generate-job API behind ``httpx.MockTransport`` (no sockets)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio.chat_models import BaseChatGenerationJob, ModelStudioClient

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
    from langchain_mlstudio._core._polling import PollSchedule

    return ModelStudioClient(
        api_key=KEY,
        organization_id=ORG,
        provider="ionos" if api.flavour == "ionos" else "modelstudio",
        poll_schedule=PollSchedule(0.001, 0.002),
        **api.clients(),
        **kwargs,
    )
