"""Emulated generate-job API (IONOS AI Model Studio and manufactAI ModelStudio).

Two routes, as the seed pages describe them::

    POST /api/v1/organizations/{org}/generate           -> {"job_id", "status", ...}
    GET  /api/v1/organizations/{org}/generate/{job_id}  -> {"job_status", "results"}

Both need ``Authorization: Bearer <key>`` (else 401) and the key's own
organization (else 403); every error is ``{"detail": message}``.

A job's state is computed from the clock, never from a background thread: it
is queued for the first third of its duration, then running, then finished.
The reply to each conversation is deterministic: ``"Echo: "`` and the text of
its last user message (plus ``"(N images)"`` when images were sent), cut to
``max_tokens`` words.

Markers in a conversation's text steer one job: ``[[fail]]`` makes that task
fail, ``[[slow:SECONDS]]`` makes the job take that long.

Example:
    >>> service = GenerateJobService(api_key="k", organization_id="org", models={"m"})
    >>> service.reply([{"role": "user", "content": "Hello there"}], max_tokens=None)
    'Echo: Hello there'
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_mlstudio.emulator._emulated_job import (
    JOB_STATUS,
    EmulatedJob,
    EmulatedJobState,
    Flavour,
)
from langchain_mlstudio.emulator._server import (
    EmulatedAPIError,
    EmulatedRequest,
    EmulatedResponse,
    EmulatedService,
    Route,
)

__all__ = [
    "FAIL_MARKER",
    "IONOS_PARALLEL_JOBS",
    "JOB_STATUS",
    "ROLES",
    "EmulatedJob",
    "EmulatedJobState",
    "Flavour",
    "GenerateJobService",
    "count_images",
    "message_text",
    "request_problem",
]

ROLES = ("system", "user", "assistant")
IONOS_PARALLEL_JOBS = 3  # IONOS fair use: three parallel inference queries per user
FAIL_MARKER = "[[fail]]"
_SLOW_MARKER = re.compile(r"\[\[slow:(\d+(?:\.\d+)?)\]\]")
_ANY_MARKER = re.compile(r"\[\[(?:fail|slow:\d+(?:\.\d+)?)\]\]")
_JOBS = "/api/v1/organizations/{org}/generate"


def message_text(message: dict[str, Any]) -> str:
    """The text of one message: its string content or its text parts joined.

    Example:
        >>> message_text({"role": "user", "content": [{"type": "text", "text": "Hi"}]})
        'Hi'
    """
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(p["text"] for p in content or [] if p.get("type") == "text")


def count_images(conversation: list[dict[str, Any]]) -> int:
    """How many ``image_url`` parts a conversation holds.

    Example:
        >>> count_images([{"role": "user", "content": "no images"}])
        0
    """
    return sum(
        1
        for message in conversation
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "image_url"
    )


@dataclass(eq=False, kw_only=True)
class GenerateJobService(EmulatedService):
    """``POST/GET /api/v1/organizations/{org}/generate[/{job_id}]``.

    Args:
        api_key: The bearer token the API accepts.
        organization_id: The only organization the key may use.
        models: The model ids the API serves (others answer 404).
        flavour: ``"modelstudio"`` (``pending``/``running``/``completed``,
            results with ``"error": null``) or ``"ionos"``
            (``QUEUED``/``RUNNING``/``FINISHED``, results with a leading space).
        job_duration: Seconds a job takes to finish (``[[slow:S]]`` overrides).
        max_parallel_jobs: Unfinished jobs allowed at once; one more answers
            429 with ``Retry-After: 1`` (``None``: no limit).
        max_tasks_per_job: Conversations allowed in one job (``None``: no limit).
        max_body_bytes: The largest create request accepted; a bigger one
            answers 413 and creates nothing (``None``: no limit).
        shuffle_results: Return ``results`` in reverse order, to prove that
            clients map results by ``task_index``.
        fail_next_jobs: How many of the next jobs end failed as a whole.
        responder: Scripted answers (see :mod:`~langchain_mlstudio.emulator.responders`):
            called with each conversation, its text (if not ``None``) replaces
            the echo. Settable later as ``service.responder``.
        clock: The time source (seconds); tests may pass a fake one.

    Attributes:
        jobs: Every job created, by id.
        created_jobs: How many jobs were created.
        peak_running_jobs: The most unfinished jobs there ever were at once.
        lock: Held while jobs and counters change; hold it to read or reset
            several of them at once.

    Example:
        >>> import httpx
        >>> from langchain_mlstudio.emulator import Emulator
        >>> body = {"model_id": "m", "messages": [[{"role": "user", "content": "Hi"}]]}
        >>> auth = {"Authorization": "Bearer k"}
        >>> with Emulator(api_key="k", organization_id="org", model="m") as emu:
        ...     url = emu.base_url + "/api/v1/organizations/org/generate"
        ...     r = httpx.post(url, headers=auth, json=body)
        ...     job = httpx.get(url + "/" + r.json()["job_id"], headers=auth).json()
        >>> job["job_status"], job["results"][0]["result"]
        ('completed', 'Echo: Hi')
    """

    name = "generate"

    api_key: str = field(repr=False)
    organization_id: str
    models: set[str]
    flavour: Flavour = "modelstudio"
    job_duration: float = 0.0
    max_parallel_jobs: int | None = None
    max_tasks_per_job: int | None = None
    max_body_bytes: int | None = None
    shuffle_results: bool = False
    fail_next_jobs: int = 0
    responder: Callable[[list[dict[str, Any]]], str | None] | None = None
    clock: Callable[[], float] = time.monotonic
    jobs: dict[str, EmulatedJob] = field(default_factory=dict, init=False, repr=False)
    created_jobs: int = field(default=0, init=False)
    peak_running_jobs: int = field(default=0, init=False)
    lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.flavour not in JOB_STATUS:
            raise ValueError(f"flavour must be 'modelstudio' or 'ionos', not {self.flavour!r}")
        self.models = set(self.models)

    # -- the API page: authentication, errors, endpoints ---------------------

    def routes(self) -> list[Route]:
        """Create a generation job; retrieve the generated output."""
        return [
            Route("POST", _JOBS, self.create_job),
            Route("GET", _JOBS + "/{job_id}", self.retrieve_job),
        ]

    def authenticate(self, request: EmulatedRequest) -> None:
        """401 unless ``Authorization: Bearer <api_key>``."""
        if request.header("authorization") != f"Bearer {self.api_key}":
            raise EmulatedAPIError(401, "Invalid or missing API key")

    def error_body(self, request: EmulatedRequest, error: EmulatedAPIError) -> dict[str, Any]:
        """``{"detail": message}``."""
        return {"detail": error.message}

    def create_job(self, request: EmulatedRequest, org: str) -> EmulatedResponse:
        """``POST /api/v1/organizations/{org}/generate``: ``{"job_id", "status": "CREATED"}``.

        403 for another organization, 413 for a body over ``max_body_bytes``,
        400 for an invalid request, 404 for an unknown model, 429 once
        ``max_parallel_jobs`` jobs are unfinished.
        """
        self._check_organization(org)
        conversations, max_tokens = self._job_request(request)
        texts = [" ".join(message_text(m) for m in c) for c in conversations]
        slow = [float(s) for t in texts for s in _SLOW_MARKER.findall(t)]
        replies = [
            None if FAIL_MARKER in t else self.answer(c, max_tokens)
            for t, c in zip(texts, conversations, strict=True)
        ]
        job = self._start(conversations, replies, max(slow) if slow else self.job_duration)
        return EmulatedResponse(
            200,
            {
                "job_id": job.job_id,
                "status": "CREATED",
                "message": "Generation job created successfully",
            },
        )

    def retrieve_job(self, request: EmulatedRequest, org: str, job_id: str) -> EmulatedResponse:
        """``GET /api/v1/organizations/{org}/generate/{job_id}``: its status and results.

        ``results`` stays empty until the job is done; 404 for an unknown job.
        """
        self._check_organization(org)
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise EmulatedAPIError(404, f"Job {job_id!r} not found")
        state = job.state
        completed = job.completed_tasks(state)
        total = len(job.conversations)
        results = [self._result(job, i) for i in range(total)] if job.done else []
        if self.shuffle_results:
            results.reverse()
        return EmulatedResponse(
            200,
            {
                "job_id": job.job_id,
                "job_status": JOB_STATUS[self.flavour][state],
                "total_tasks": total,
                "completed_tasks": completed,
                "results": results,
            },
        )

    # -- what the handlers share ---------------------------------------------

    def _check_organization(self, org: str) -> None:
        if org != self.organization_id:
            raise EmulatedAPIError(403, f"Insufficient permissions for organization {org!r}")

    def _job_request(
        self, request: EmulatedRequest
    ) -> tuple[list[list[dict[str, Any]]], int | None]:
        """The conversations and ``max_tokens`` of a valid create request."""
        if self.max_body_bytes is not None and len(request.body) > self.max_body_bytes:
            raise EmulatedAPIError(
                413, f"Request body too large: at most {self.max_body_bytes} bytes per job"
            )
        problem = "Request body must be a JSON object" if request.json_error else None
        problem = problem or request_problem(request.json)
        if problem is not None:
            raise EmulatedAPIError(400, problem)
        body = request.json
        if body["model_id"] not in self.models:
            raise EmulatedAPIError(404, "Model not found")
        conversations: list[list[dict[str, Any]]] = body["messages"]
        if self.max_tasks_per_job is not None and len(conversations) > self.max_tasks_per_job:
            raise EmulatedAPIError(
                400,
                f"messages: at most {self.max_tasks_per_job} conversations per job, "
                f"got {len(conversations)}",
            )
        return conversations, body.get("max_tokens")

    def _start(
        self, conversations: list[list[dict[str, Any]]], replies: list[str | None], duration: float
    ) -> EmulatedJob:
        """A new job, unless ``max_parallel_jobs`` are unfinished (429)."""
        with self.lock:
            running = sum(1 for job in self.jobs.values() if not job.done)
            if self.max_parallel_jobs is not None and running >= self.max_parallel_jobs:
                raise EmulatedAPIError(
                    429,
                    "Too many parallel generation jobs: at most "
                    f"{self.max_parallel_jobs} may run at once per user. "
                    "Retry when one has finished.",
                    headers={"Retry-After": "1"},
                )
            job = EmulatedJob(
                job_id="job_" + uuid.uuid4().hex[:12],
                created_at=self.clock(),
                conversations=conversations,
                duration=duration,
                replies=replies,
                doomed=self.fail_next_jobs > 0,
                clock=self.clock,
            )
            self.fail_next_jobs = max(0, self.fail_next_jobs - 1)
            self.jobs[job.job_id] = job
            self.created_jobs += 1
            self.peak_running_jobs = max(self.peak_running_jobs, running + 1)
        return job

    def _result(self, job: EmulatedJob, index: int) -> dict[str, Any]:
        text = job.replies[index]
        ionos = self.flavour == "ionos"
        if job.doomed or text is None:
            why = "the job failed" if job.doomed else "the model could not generate a reply"
            return {
                "task_index": index,
                "status": "FAILED" if ionos else "failed",
                "result": None,
                "error": f"Task failed: {why} (emulated)",
            }
        if ionos:
            return {"task_index": index, "status": "completed", "result": " " + text}
        return {
            "task_index": index,
            "status": "completed",
            "result": text,
            "error": None,
        }

    # -- state and replies ---------------------------------------------------

    def running_jobs(self) -> int:
        """How many jobs have not finished yet.

        Example:
            >>> service = GenerateJobService(
            ...     api_key="k", organization_id="o", models=set()
            ... )
            >>> service.running_jobs()
            0
        """
        with self.lock:
            return sum(1 for job in self.jobs.values() if not job.done)

    def reply(self, conversation: list[dict[str, Any]], max_tokens: int | None) -> str:
        """The deterministic text generated for one conversation.

        ``"Echo: "`` and the last user message's text (markers removed), then
        ``"(N images)"`` if any image was sent, cut to ``max_tokens`` words.

        Example:
            >>> service = GenerateJobService(
            ...     api_key="k", organization_id="o", models=set()
            ... )
            >>> service.reply([{"role": "user", "content": "a b c"}], max_tokens=3)
            'Echo: a b'
        """
        users = [m for m in conversation if m["role"] == "user"]
        text = _ANY_MARKER.sub("", message_text(users[-1])) if users else ""
        images = count_images(conversation)
        words = ["Echo:", *text.split()]
        if images:
            words.append(f"({images} image{'s' if images != 1 else ''})")
        if max_tokens is not None:
            words = words[:max_tokens]
        return " ".join(words)

    def answer(self, conversation: list[dict[str, Any]], max_tokens: int | None) -> str:
        """The responder's answer (cut to ``max_tokens`` words), else :meth:`reply`.

        Example:
            >>> service = GenerateJobService(api_key="k", organization_id="o",
            ...     models=set(), responder=lambda c: "a b c")
            >>> service.answer([{"role": "user", "content": "Hi"}], max_tokens=2)
            'a b'
        """
        scripted = self.responder(conversation) if self.responder is not None else None
        if scripted is None:
            return self.reply(conversation, max_tokens)
        if max_tokens is not None and len(words := scripted.split()) > max_tokens:
            return " ".join(words[:max_tokens])
        return scripted


def request_problem(body: Any) -> str | None:
    """Why a create request's body is invalid, or ``None``.

    Example:
        >>> request_problem({"model_id": "m", "messages": [[{"role": "user", "content": "Hi"}]]})
        >>> request_problem({"model_id": "m", "messages": [], "max_tokens": 0})
        'messages: required, must be a non-empty list of conversations'
    """
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    if not isinstance(body.get("model_id"), str) or not body["model_id"]:
        return "model_id: required, must be a non-empty string"
    conversations = body.get("messages")
    if not isinstance(conversations, list) or not conversations:
        return "messages: required, must be a non-empty list of conversations"
    for i, conversation in enumerate(conversations):
        if not isinstance(conversation, list) or not conversation:
            return f"messages[{i}]: must be a non-empty list of messages"
        for j, message in enumerate(conversation):
            problem = _message_problem(message)
            if problem is not None:
                return f"messages[{i}][{j}]: {problem}"
    return _sampling_problem(body)


def _sampling_problem(body: dict[str, Any]) -> str | None:
    """Why ``temperature`` or ``max_tokens`` is invalid, or ``None``."""
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not 0 <= temperature <= 1
    ):
        return "temperature: must be a number between 0.0 and 1.0"
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        return "max_tokens: must be a positive integer"
    return None


def _message_problem(message: Any) -> str | None:
    """Why one message is invalid, or ``None``."""
    if not isinstance(message, dict):
        return "must be an object with role and content"
    if message.get("role") not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    content = message.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list) or not content:
        return "content must be a string or a non-empty list of parts"
    for part in content:
        if not isinstance(part, dict):
            return "content parts must be objects"
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            continue
        image = part.get("image_url")
        if (
            part.get("type") == "image_url"
            and isinstance(image, dict)
            and isinstance(image.get("url"), str)
        ):
            continue
        return (
            'content parts must be {"type": "text", "text": str} or '
            '{"type": "image_url", "image_url": {"url": str}}'
        )
    return None
