"""The generate-job API of ModelStudio and IONOS AI Model Studio.

``POST /api/v1/organizations/{org}/generate`` submits a job holding one or more
conversations and answers ``{"job_id", "status": "CREATED", "message"}``;
``GET /api/v1/organizations/{org}/generate/{job_id}`` reports
``{"job_id", "job_status", "total_tasks", "completed_tasks", "results": [...]}``
where each result carries ``task_index``, ``status``, ``result`` and (on
ModelStudio) ``error``. IONOS says ``FINISHED``, ModelStudio ``completed``;
running and failure words are undocumented, so statuses are compared
case-insensitively and anything unknown counts as still running.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from langchain_mlstudio._core._calls import APIResponse
from langchain_mlstudio._core._errors import describe_validation_error
from langchain_mlstudio._core._http import HTTPTransport
from langchain_mlstudio._core._polling import PollResult, PollSchedule, apoll_job, poll_job
from langchain_mlstudio._core._retry import Safety, parse_retry_after
from langchain_mlstudio.chat_models._providers import (
    API_PATH,
    PROVIDERS,
    Provider,
    ProviderInfo,
    status_hints,
)
from langchain_mlstudio.errors import (
    InvalidInputError,
    JobFailedError,
    MalformedResponseError,
    RateLimitError,
    TaskFailedError,
)

logger = logging.getLogger("langchain_mlstudio.jobs")

__all__ = [
    "API_PATH",
    "PROVIDERS",
    "GenerationJob",
    "JobState",
    "ModelStudioClient",
    "Provider",
    "ProviderInfo",
    "TaskResult",
    "parse_state",
]


class JobState(str, Enum):
    """A job's or task's status, reduced to what a client acts on."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_SUCCESS_WORDS = frozenset({"finished", "completed", "succeeded", "done", "success"})
_FAILURE_WORDS = frozenset({"failed", "error", "canceled", "cancelled", "expired"})


def parse_state(status: str | None) -> JobState:
    """Reduce a status word to a :class:`JobState`, case-insensitively.

    Unknown words (and ``None``) mean the job is still running.

    Example:
        >>> [parse_state(s).value for s in ("FINISHED", "Cancelled", "warming_up")]
        ['succeeded', 'failed', 'running']
    """
    word = (status or "").strip().lower()
    if word in _SUCCESS_WORDS:
        return JobState.SUCCEEDED
    if word in _FAILURE_WORDS:
        return JobState.FAILED
    return JobState.RUNNING


class TaskResult(BaseModel):
    """The outcome of one conversation of a job.

    Attributes:
        task_index: The conversation's position in the submitted job.
        status: The task's raw status word.
        result: The generated text (``None`` while running or on failure).
        error: The server's error message for a failed task.
    """

    model_config = ConfigDict(extra="allow")

    task_index: int = Field(strict=True)
    status: str | None = None
    result: str | None = None
    error: str | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _stringify_error(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return str(value)

    @property
    def state(self) -> JobState:
        """The task's state; a result without a status counts as success."""
        if self.status is None and self.result is not None:
            return JobState.SUCCEEDED
        return parse_state(self.status)


class GenerationJob(BaseModel):
    """A generation job's status as reported by ``GET .../generate/{job_id}``.

    Example:
        >>> job = GenerationJob.model_validate({"job_id": "j", "job_status": "FINISHED",
        ...     "results": [{"task_index": 0, "status": "completed", "result": "Hi"}]})
        >>> job.state, job.result_for(0).result
        (<JobState.SUCCEEDED: 'succeeded'>, 'Hi')
    """

    model_config = ConfigDict(extra="allow")

    job_id: str
    job_status: str | None = None
    total_tasks: int | None = None
    completed_tasks: int | None = None
    results: list[TaskResult] = Field(default_factory=list)

    @field_validator("results", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def state(self) -> JobState:
        """The job's state."""
        return parse_state(self.job_status)

    def result_for(self, task_index: int) -> TaskResult | None:
        """The result of the conversation at ``task_index``, matched by index."""
        for item in self.results:
            if item.task_index == task_index:
                return item
        return None

    def text_for(self, task_index: int) -> str:
        """The generated text of one conversation.

        Raises:
            TaskFailedError: The task failed, or the finished job has no result
                for it.
        """
        item = self.result_for(task_index)
        if item is None:
            raise TaskFailedError(
                f"Job {self.job_id} finished without a result for task {task_index}",
                job_id=self.job_id,
                task_index=task_index,
                job_status=self.job_status,
            )
        if item.state is not JobState.SUCCEEDED or item.result is None:
            raise TaskFailedError(
                f"Task {task_index} of job {self.job_id} ended as {item.status!r}",
                job_id=self.job_id,
                task_index=task_index,
                job_status=self.job_status,
                server_message=item.error,
                hint="The other conversations of the job are unaffected; retry this one.",
            )
        return item.result


Conversation = Sequence[Mapping[str, Any]]
ProgressCallback = Callable[[GenerationJob], Any]


def _deadline(wait_for_capacity: float | None) -> float | None:
    """The monotonic time to stop waiting for capacity, ``None`` to give up at the first 429."""
    return None if wait_for_capacity is None else time.monotonic() + wait_for_capacity


class ModelStudioClient:
    """A client for the generate-job API: submit, check and wait for jobs.

    Works with manufactAI ModelStudio (``provider="modelstudio"``) and IONOS AI
    Model Studio (``provider="ionos"``), reading the same environment variables
    as :class:`~langchain_mlstudio.ChatModelStudio` and
    :class:`~langchain_mlstudio.ChatIonosModelStudio`. A job survives the
    process that submitted it: keep its id and call :meth:`wait_for_job` later.

    Args:
        api_key: Bearer token created in the Studio (env ``*_API_KEY``).
        organization_id: Organization id (env ``*_ORGANIZATION_ID``).
        base_url: API root (env ``*_BASE_URL``, else the public default).
        provider: ``"modelstudio"`` or ``"ionos"``.
        timeout: Seconds one HTTP request may take.
        max_retries: Retries of a failed request (never duplicating a job).
        job_timeout: Default overall deadline of :meth:`wait_for_job`.
        poll_schedule: When to check a job's status.
        default_headers: Headers added to every request.
        http_client: An ``httpx.Client`` to use.
        http_async_client: An ``httpx.AsyncClient`` to use.

    Example:
        >>> from langchain_mlstudio.emulator import Emulator
        >>> with Emulator(api_key="k", organization_id="org", model="m") as emu:
        ...     client = ModelStudioClient(api_key="k", organization_id="org",
        ...                                base_url=emu.base_url)
        ...     job_id = client.submit([[{"role": "user", "content": "Hi"}]], model="m")
        ...     client.wait_for_job(job_id).text_for(0)
        'Echo: Hi'
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        organization_id: str | None = None,
        base_url: str | None = None,
        *,
        provider: Provider = "modelstudio",
        timeout: float | None = 30.0,
        max_retries: int = 2,
        job_timeout: float | None = 600.0,
        poll_schedule: PollSchedule | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
    ) -> None:
        info = PROVIDERS[provider]
        self.provider = info
        self.api_key, self.organization_id, url = info.resolve(api_key, organization_id, base_url)
        self.job_timeout = job_timeout
        self.poll_schedule = poll_schedule or PollSchedule()
        self.transport = HTTPTransport(
            info.display_name,
            url,
            self._auth_headers,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            http_async_client=http_async_client,
            status_hints=status_hints(info),
        )

    def __repr__(self) -> str:
        return (
            f"ModelStudioClient(provider={self.provider.name!r}, "
            f"organization_id={self.organization_id!r}, base_url={self.transport.base_url!r})"
        )

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key.get_secret_value()}"}

    @property
    def _jobs_path(self) -> str:
        return f"/api/v1/organizations/{self.organization_id}/generate"

    # -- request and response shapes ----------------------------------------

    @staticmethod
    def build_payload(
        conversations: Sequence[Conversation],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        """The ``POST .../generate`` body, validated before any request.

        Raises:
            InvalidInputError: No conversations, an empty one, or a parameter
                out of the documented range.
        """
        if not model:
            msg = "A model id is required"
            raise InvalidInputError(msg, hint="Pass model=... (your fine-tuned model id).")
        if not conversations:
            msg = "A generation job needs at least one conversation"
            raise InvalidInputError(msg)
        for index, conversation in enumerate(conversations):
            if not conversation:
                msg = f"Conversation {index} has no messages"
                raise InvalidInputError(msg)
        if temperature is not None and not 0.0 <= temperature <= 1.0:
            msg = f"temperature must be between 0.0 and 1.0, got {temperature}"
            raise InvalidInputError(msg)
        if max_tokens is not None and max_tokens < 1:
            msg = f"max_tokens must be a positive integer, got {max_tokens}"
            raise InvalidInputError(msg)
        payload: dict[str, Any] = {
            "model_id": model,
            "messages": [list(conversation) for conversation in conversations],
        }
        if temperature is not None:
            payload["temperature"] = temperature
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        return payload

    def _job_id_from(self, response: APIResponse) -> str:
        data = response.data
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise MalformedResponseError(
                f"{self.provider.display_name} accepted the job but sent no job_id",
                status_code=response.status_code,
                request_id=response.request_id,
            )
        return job_id

    def _job_from(self, response: APIResponse, job_id: str) -> GenerationJob:
        data = response.data
        if isinstance(data, dict) and "job_id" not in data:
            data = {**data, "job_id": job_id}
        try:
            job = GenerationJob.model_validate(data)
        except ValidationError as exc:
            raise MalformedResponseError(
                f"{self.provider.display_name} sent a job status for {job_id} "
                f"with missing or wrongly typed fields ({describe_validation_error(exc)})",
                status_code=response.status_code,
                request_id=response.request_id,
            ) from None
        if self.provider.name == "ionos":
            # IONOS's model continues the prompt: its results start with one
            # space. Remove exactly that one, so indentation survives.
            for item in job.results:
                if item.result is not None and item.result.startswith(" "):
                    item.result = item.result[1:]
        return job

    def _poll_result(self, response: APIResponse, job_id: str) -> PollResult[GenerationJob]:
        job = self._job_from(response, job_id)
        logger.debug(
            "Job %s is %s (%s/%s tasks)",
            job_id,
            job.job_status,
            job.completed_tasks,
            job.total_tasks,
        )
        return PollResult(
            job,
            final=job.state is not JobState.RUNNING,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )

    def _final(self, job: GenerationJob) -> GenerationJob:
        if job.state is JobState.FAILED:
            raise JobFailedError(
                f"Job {job.job_id} ended as {job.job_status!r}",
                job_id=job.job_id,
                job_status=job.job_status,
            )
        return job

    # -- sync ---------------------------------------------------------------

    def submit(
        self,
        conversations: Sequence[Conversation],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        wait_for_capacity: float | None = None,
        stop: threading.Event | None = None,
    ) -> str:
        """Submit a job of one or more conversations and return its ``job_id``.

        The request is repeated only when it provably created no job (a failed
        connect, a 429 or a 503), so a retry never creates a second job.

        Args:
            conversations: One conversation (a list of messages) per task.
            model: The fine-tuned model's id.
            temperature: Sampling temperature, 0.0 to 1.0.
            max_tokens: Maximum length of each response.
            wait_for_capacity: Seconds to keep trying while the server refuses
                the job with 429 (its parallel-job limit is reached); the
                default gives up once the transport's retries are spent.
            stop: When set, stop waiting for capacity (raises
                :class:`InterruptedError`; nothing is submitted).
        """
        payload = self.build_payload(
            conversations, model=model, temperature=temperature, max_tokens=max_tokens
        )
        deadline = _deadline(wait_for_capacity)
        attempt = 0
        while True:
            if stop is not None and stop.is_set():
                raise InterruptedError("stopped before submitting")
            try:
                response = self.transport.request(
                    "POST", self._jobs_path, json_body=payload, safety=Safety.CREATES
                )
                break
            except RateLimitError as exc:
                delay = self._capacity_delay(exc, deadline, attempt)
                if delay is None:
                    raise
            (stop.wait if stop is not None else self.transport.sleep)(delay)
            attempt += 1
        return self._submitted(response, len(conversations))

    def _submitted(self, response: APIResponse, conversations: int) -> str:
        """The id of the job the submit created, logged."""
        job_id = self._job_id_from(response)
        logger.info("Submitted job %s with %d conversation(s)", job_id, conversations)
        return job_id

    def _capacity_delay(
        self, exc: RateLimitError, deadline: float | None, attempt: int
    ) -> float | None:
        """The wait before submitting again after a 429, or ``None`` to give up."""
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        # The server's Retry-After, but never a busy loop: at least a growing backoff.
        delay = max(exc.retry_after or 0.0, min(2.0, 0.25 * 2**attempt))
        logger.info(
            "%s refused a job (429, parallel-job limit); submitting again in %.2f s",
            self.provider.display_name,
            delay,
        )
        return min(delay, left)

    def get_job(self, job_id: str) -> GenerationJob:
        """A job's current status and any results so far."""
        return self._job_from(self.transport.request("GET", f"{self._jobs_path}/{job_id}"), job_id)

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        first_delay: float | None = None,
    ) -> GenerationJob:
        """Poll a job adaptively until it ends, and return it.

        Args:
            job_id: The job to wait for (it may have been submitted elsewhere).
            timeout: Overall deadline in seconds (default ``job_timeout``).
            on_progress: Called with the job after every status check.
            first_delay: Wait before the first check (default: the schedule's).

        Raises:
            JobFailedError: The job ended in a failed state.
            JobTimeoutError: The deadline passed; carries ``job_id`` to resume.
        """

        def check() -> PollResult[GenerationJob]:
            result = self._poll_result(
                self.transport.request("GET", f"{self._jobs_path}/{job_id}"), job_id
            )
            if on_progress is not None:
                on_progress(result.state)
            return result

        job = poll_job(
            job_id,
            check,
            schedule=self.poll_schedule,
            timeout=self.job_timeout if timeout is None else timeout,
            first_delay=first_delay,
            sleep=self.transport.sleep,
        )
        return self._final(job)

    # -- async --------------------------------------------------------------

    async def asubmit(
        self,
        conversations: Sequence[Conversation],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        wait_for_capacity: float | None = None,
    ) -> str:
        """Async twin of :meth:`submit`."""
        payload = self.build_payload(
            conversations, model=model, temperature=temperature, max_tokens=max_tokens
        )
        deadline = _deadline(wait_for_capacity)
        attempt = 0
        while True:
            try:
                response = await self.transport.arequest(
                    "POST", self._jobs_path, json_body=payload, safety=Safety.CREATES
                )
                break
            except RateLimitError as exc:
                delay = self._capacity_delay(exc, deadline, attempt)
                if delay is None:
                    raise
            await self.transport.asleep(delay)
            attempt += 1
        return self._submitted(response, len(conversations))

    async def aget_job(self, job_id: str) -> GenerationJob:
        """Async twin of :meth:`get_job`."""
        response = await self.transport.arequest("GET", f"{self._jobs_path}/{job_id}")
        return self._job_from(response, job_id)

    async def await_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        first_delay: float | None = None,
    ) -> GenerationJob:
        """Async twin of :meth:`wait_for_job`."""

        async def check() -> PollResult[GenerationJob]:
            response = await self.transport.arequest("GET", f"{self._jobs_path}/{job_id}")
            result = self._poll_result(response, job_id)
            if on_progress is not None:
                outcome = on_progress(result.state)
                if inspect.isawaitable(outcome):
                    await outcome
            return result

        job = await apoll_job(
            job_id,
            check,
            schedule=self.poll_schedule,
            timeout=self.job_timeout if timeout is None else timeout,
            first_delay=first_delay,
            sleep=self.transport.asleep,
        )
        return self._final(job)

    def close(self) -> None:
        """Close the HTTP client the instance created."""
        self.transport.close()

    async def aclose(self) -> None:
        """Close the async HTTP client the instance created for this loop."""
        await self.transport.aclose()
