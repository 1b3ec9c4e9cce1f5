"""The generate-job API of ModelStudio and IONOS AI Model Studio.

``POST /api/v1/organizations/{org}/generate`` submits a job holding one or more
conversations and answers ``{"job_id", "status": "CREATED", "message"}``;
``GET /api/v1/organizations/{org}/generate/{job_id}`` reports
``{"job_id", "job_status", "total_tasks", "completed_tasks", "results": [...]}``
where each result carries ``task_index``, ``status``, ``result`` and (on
ModelStudio) ``error`` (see :mod:`langchain_mlstudio.chat_models.types`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from langchain_mlstudio._core._calls import APIResponse, Call
from langchain_mlstudio._core._errors import describe_validation_error
from langchain_mlstudio._core._polling import PollResult, PollSchedule, apoll_job, poll_job
from langchain_mlstudio._core._retry import Safety, parse_retry_after
from langchain_mlstudio.chat_models._providers import API_PATH, PROVIDERS, Provider
from langchain_mlstudio.chat_models.types import GenerationJob, JobState
from langchain_mlstudio.errors import (
    InvalidInputError,
    JobFailedError,
    MalformedResponseError,
    RateLimitError,
)

Conversation = Sequence[Mapping[str, Any]]
ProgressCallback = Callable[[GenerationJob], Any]
#: A duration in seconds, or ``None`` for the default (or no limit, where documented).
Seconds = float | None

__all__ = ["Conversation", "ModelStudioClient", "ProgressCallback", "Seconds"]

logger = logging.getLogger("langchain_mlstudio.jobs")


class _CapacityWait:
    """Submitting again after the server refused a job with 429, until a deadline.

    ``wait_for_capacity=None`` gives up at the first 429 (once the transport's
    own retries are spent).
    """

    def __init__(self, service: str, wait_for_capacity: Seconds) -> None:
        self.service = service
        self.deadline = None if wait_for_capacity is None else time.monotonic() + wait_for_capacity
        self.attempt = 0

    def delay_after(self, refusal: RateLimitError) -> float:
        """The wait before submitting again; ``refusal`` is raised when it is time to give up."""
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if left is None or left <= 0:
            raise refusal
        # The server's Retry-After, but never a busy loop: at least a growing backoff.
        delay = max(refusal.retry_after or 0.0, min(2.0, 0.25 * 2**self.attempt))
        self.attempt += 1
        logger.info(
            "%s refused a job (429, parallel-job limit); submitting again in %.2f s",
            self.service,
            delay,
        )
        return min(delay, left)


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
        sleep: How the client waits between attempts and status checks.
        asleep: How its async methods wait.

    Attributes:
        provider: ``"modelstudio"`` or ``"ionos"``, as on the chat models.
        service: The front door's configuration record (names, variables, hints).

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
        *,
        api_key: str | SecretStr | None = None,
        organization_id: str | None = None,
        base_url: str | None = None,
        provider: Provider = "modelstudio",
        timeout: float | None = 30.0,
        max_retries: int = 2,
        job_timeout: float | None = 600.0,
        poll_schedule: PollSchedule | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.provider: Provider = provider
        self.service = PROVIDERS[provider]
        settings, self.organization_id = self.service.resolve_settings(
            api_key=api_key,
            organization_id=organization_id,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            http_async_client=http_async_client,
        )
        self.api_key: SecretStr = settings.api_key  # type: ignore[assignment]  # checked
        self.job_timeout = job_timeout
        self.poll_schedule = poll_schedule or PollSchedule()
        self.transport = settings.transport(self._auth_headers, sleep=sleep, asleep=asleep)

    def __repr__(self) -> str:
        return (
            f"ModelStudioClient(provider={self.provider!r}, "
            f"organization_id={self.organization_id!r}, base_url={self.transport.base_url!r})"
        )

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key.get_secret_value()}"}

    @property
    def _jobs_path(self) -> str:
        return f"{API_PATH}/organizations/{self.organization_id}/generate"

    # -- the two endpoints ----------------------------------------------------

    def _submit_call(
        self,
        conversations: Sequence[Conversation],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
    ) -> Call[str]:
        """``POST .../generate`` (body checked first); never repeated once a job may exist."""
        payload = self.build_payload(
            conversations, model=model, temperature=temperature, max_tokens=max_tokens
        )
        return Call(
            "POST", self._jobs_path, self._job_id_from, json_body=payload, safety=Safety.CREATES
        )

    def _status_call(self, job_id: str) -> Call[GenerationJob]:
        """``GET .../generate/{job_id}``: the job's status and results so far."""
        return Call("GET", f"{self._jobs_path}/{job_id}", lambda r: self._job_from(r, job_id))

    def _poll_call(self, job_id: str) -> Call[PollResult[GenerationJob]]:
        """The status call, read as a poll result (final or not, ``Retry-After``)."""
        return Call("GET", f"{self._jobs_path}/{job_id}", lambda r: self._poll_result(r, job_id))

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
                f"{self.service.name} accepted the job but sent no job_id",
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
                f"{self.service.name} sent a job status for {job_id} "
                f"with missing or wrongly typed fields ({describe_validation_error(exc)})",
                status_code=response.status_code,
                request_id=response.request_id,
            ) from None
        if self.provider == "ionos":
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

    def _polling(self, timeout: Seconds, first_delay: Seconds) -> dict[str, Any]:
        """How :func:`poll_job` follows a job: the schedule, the deadline, the first wait."""
        return {
            "schedule": self.poll_schedule,
            "timeout": self.job_timeout if timeout is None else timeout,
            "first_delay": first_delay,
        }

    @staticmethod
    def _raise_if_failed(job: GenerationJob) -> GenerationJob:
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
        stop: threading.Event | None = None,
        wait_for_capacity: Seconds = None,
    ) -> str:
        """Submit a job of one or more conversations and return its ``job_id``.

        The request is repeated only when it provably created no job (a failed
        connect, a 429 or a 503), so a retry never creates a second job.

        Args:
            conversations: One conversation (a list of messages) per task.
            model: The fine-tuned model's id.
            temperature: Sampling temperature, 0.0 to 1.0.
            max_tokens: Maximum length of each response.
            stop: When set, stop waiting for capacity (raises
                :class:`InterruptedError`; nothing is submitted).
            wait_for_capacity: Seconds to keep trying while the server refuses
                the job with 429 (its parallel-job limit is reached); the
                default gives up once the transport's retries are spent.
        """
        call = self._submit_call(conversations, model, temperature, max_tokens)
        capacity = _CapacityWait(self.service.name, wait_for_capacity)
        while True:
            if stop is not None and stop.is_set():
                raise InterruptedError("stopped before submitting")
            try:
                return self._submitted(self.transport.call(call), len(conversations))
            except RateLimitError as refusal:
                delay = capacity.delay_after(refusal)
            (stop.wait if stop is not None else self.transport.sleep)(delay)

    @staticmethod
    def _submitted(job_id: str, conversations: int) -> str:
        """The id of the job the submit created, logged."""
        logger.info("Submitted job %s with %d conversation(s)", job_id, conversations)
        return job_id

    def get_job(self, job_id: str) -> GenerationJob:
        """A job's current status and any results so far."""
        return self.transport.call(self._status_call(job_id))

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: Seconds = None,
        on_progress: ProgressCallback | None = None,
        first_delay: Seconds = None,
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
            result = self.transport.call(self._poll_call(job_id))
            if on_progress is not None:
                on_progress(result.state)
            return result

        job = poll_job(
            job_id, check, sleep=self.transport.sleep, **self._polling(timeout, first_delay)
        )
        return self._raise_if_failed(job)

    # -- async --------------------------------------------------------------

    async def asubmit(
        self,
        conversations: Sequence[Conversation],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        wait_for_capacity: Seconds = None,
    ) -> str:
        """Async twin of :meth:`submit`."""
        call = self._submit_call(conversations, model, temperature, max_tokens)
        capacity = _CapacityWait(self.service.name, wait_for_capacity)
        while True:
            try:
                return self._submitted(await self.transport.acall(call), len(conversations))
            except RateLimitError as refusal:
                await self.transport.asleep(capacity.delay_after(refusal))

    async def aget_job(self, job_id: str) -> GenerationJob:
        """Async twin of :meth:`get_job`."""
        return await self.transport.acall(self._status_call(job_id))

    async def await_job(
        self,
        job_id: str,
        *,
        timeout: Seconds = None,
        on_progress: ProgressCallback | None = None,
        first_delay: Seconds = None,
    ) -> GenerationJob:
        """Async twin of :meth:`wait_for_job`."""

        async def check() -> PollResult[GenerationJob]:
            result = await self.transport.acall(self._poll_call(job_id))
            if on_progress is not None:
                outcome = on_progress(result.state)
                if inspect.isawaitable(outcome):
                    await outcome
            return result

        job = await apoll_job(
            job_id, check, sleep=self.transport.asleep, **self._polling(timeout, first_delay)
        )
        return self._raise_if_failed(job)

    def close(self) -> None:
        """Close the HTTP client the instance created."""
        self.transport.close()

    async def aclose(self) -> None:
        """Close the async HTTP client the instance created for this loop."""
        await self.transport.aclose()
