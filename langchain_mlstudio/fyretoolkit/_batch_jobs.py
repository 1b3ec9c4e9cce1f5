"""Batch jobs of the FyreToolkit API: create, read, cancel and wait.

:class:`BatchJobEndpoints` is the section of
:class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` that runs
``POST /batch/{model_id}``, ``GET /jobs/{job_id}`` and
``POST /jobs/{job_id}/cancel``, and polls a job to its end.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_mlstudio._core._calls import AlreadyDone, APIResponse, Call
from langchain_mlstudio._core._polling import PollResult, PollSchedule, apoll_job, poll_job
from langchain_mlstudio._core._progress import Progress
from langchain_mlstudio._core._retry import parse_retry_after
from langchain_mlstudio.errors import (
    ConflictError,
    InvalidInputError,
    JobFailedError,
    JobTimeoutError,
    MLStudioError,
)
from langchain_mlstudio.fyretoolkit._checks import new_idempotency_key, segment
from langchain_mlstudio.fyretoolkit._endpoints import Endpoints
from langchain_mlstudio.fyretoolkit._reading import lenient, reader
from langchain_mlstudio.fyretoolkit.types import BatchJob

__all__ = ["DEFAULT_JOB_TIMEOUT", "BatchJobEndpoints", "raise_if_failed"]

#: How long :meth:`BatchJobEndpoints.wait_for_job` waits by default.
DEFAULT_JOB_TIMEOUT = 600.0

logger = logging.getLogger("langchain_mlstudio.fyretoolkit")


class BatchJobEndpoints(Endpoints):
    """The batch-job endpoints; a section of :class:`FyreToolkitClient`."""

    poll_schedule: PollSchedule

    @staticmethod
    def _create_batch_job_call(
        model_id: str,
        input_url: str,
        webhook: str | None,
        idempotency_key: str | None,
    ) -> Call[BatchJob]:
        if not isinstance(input_url, str) or not input_url.strip():
            msg = f"input_url must be a non-empty URL, got {input_url!r}"
            raise InvalidInputError(msg)
        body: dict[str, Any] = {
            "input_url": input_url,
            # Generated once per call, so every retry of this call carries the
            # same key and the server creates at most one job.
            "idempotency_key": idempotency_key or new_idempotency_key(),
        }
        if webhook is not None:
            body["webhook"] = webhook
        path = f"/batch/{segment(model_id, 'model_id')}"
        return Call(
            "POST",
            path,
            reader(BatchJob, f"POST {path}"),
            json_body=body,
            # Retried as IDEMPOTENT (the default): the key makes a repeat return the same job.
        )

    def create_batch_job(
        self,
        model_id: str,
        input_url: str,
        *,
        webhook: str | None = None,
        idempotency_key: str | None = None,
    ) -> BatchJob:
        """Start a batch job over a CSV or JSONL file.

        The request carries an idempotency key (a fresh one unless given), the
        same on every retry, so a retried call never creates two jobs. Pass
        your own key to make a resubmission after a crash idempotent too.

        Args:
            model_id: The model to run.
            input_url: URL of the CSV or JSONL input file.
            webhook: URL FyreToolkit calls when the job completes.
            idempotency_key: Key that prevents duplicate jobs.

        Returns:
            The job, normally ``status == "queued"``.

        Example::

            job = client.create_batch_job("sentiment-v1", "s3://bucket/in.jsonl")
            job = client.wait_for_job(job.id)
        """
        return self._transport.call(
            self._create_batch_job_call(model_id, input_url, webhook, idempotency_key)
        )

    async def acreate_batch_job(
        self,
        model_id: str,
        input_url: str,
        *,
        webhook: str | None = None,
        idempotency_key: str | None = None,
    ) -> BatchJob:
        """Async twin of :meth:`create_batch_job`."""
        return await self._transport.acall(
            self._create_batch_job_call(model_id, input_url, webhook, idempotency_key)
        )

    @staticmethod
    def _get_job_call(job_id: str) -> Call[tuple[BatchJob, APIResponse]]:
        path = f"/jobs/{segment(job_id, 'job_id')}"
        read = reader(BatchJob, f"GET {path}")
        # The response comes along: its Retry-After paces wait_for_job.
        return Call("GET", path, lambda response: (read(response), response))

    def get_job(self, job_id: str) -> BatchJob:
        """A batch job's status, progress and (once completed) ``output_url``.

        Example::

            client.get_job("job_123").status  # 'processing'
        """
        return self._transport.call(self._get_job_call(job_id))[0]

    async def aget_job(self, job_id: str) -> BatchJob:
        """Async twin of :meth:`get_job`."""
        return (await self._transport.acall(self._get_job_call(job_id)))[0]

    @classmethod
    def _cancel_job_call(cls, job_id: str) -> Call[BatchJob]:
        def canceled(state: tuple[BatchJob, APIResponse]) -> BatchJob | None:
            job = state[0]
            return job if job.normalized_status == "canceled" else None

        path = f"/jobs/{segment(job_id, 'job_id')}/cancel"

        def read(response: APIResponse) -> BatchJob:
            # The reference documents no answer: 200 with the job, 202 with
            # nothing (the cancel is under way) and 204 all mean success.
            status = "canceling" if response.status_code == 202 else "canceled"
            return lenient(BatchJob, {"id": job_id, "status": status}, f"POST {path}")(response)

        return Call(
            "POST",
            path,
            read,
            any_body=True,
            # IDEMPOTENT (the default): cancelling twice does no harm; the 409 case follows.
            already_done=AlreadyDone(
                ConflictError,
                canceled,
                confirm=cls._get_job_call(job_id),
                note=f"Job {job_id} was cancelled by an earlier attempt",
                logger=logger,
            ),
        )

    def cancel_job(self, job_id: str) -> BatchJob:
        """Cancel a queued or processing batch job.

        A cancel is retried after a dropped connection. If the first attempt
        had already cancelled the job, the retry meets a 409; the client then
        reads the job and, when it is ``canceled``, returns it instead of
        raising. A 409 on the first attempt (the job already finished) is
        raised as :class:`~langchain_mlstudio.ConflictError`.

        Raises:
            ConflictError: The job had already completed, failed or been
                canceled (HTTP 409, ``code="job_not_cancelable"``).
            NotFoundError: The job does not exist.

        Example::

            client.cancel_job(job.id).status  # 'canceled'
        """
        return self._transport.call(self._cancel_job_call(job_id))

    async def acancel_job(self, job_id: str) -> BatchJob:
        """Async twin of :meth:`cancel_job`."""
        return await self._transport.acall(self._cancel_job_call(job_id))

    @staticmethod
    def _poll_result(result: tuple[BatchJob, APIResponse]) -> PollResult[BatchJob]:
        job, response = result
        return PollResult(
            job,
            job.is_terminal,
            parse_retry_after(response.headers.get("retry-after")),
        )

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = DEFAULT_JOB_TIMEOUT,
        cancel_on_timeout: bool = False,
        poll_schedule: PollSchedule | None = None,
        progress: bool | None = None,
    ) -> BatchJob:
        """Poll a batch job until it completes, with adaptive intervals.

        Args:
            job_id: The job to wait for.
            timeout: Overall deadline in seconds (``None`` waits forever).
            cancel_on_timeout: Cancel the job when the deadline passes. By
                default it keeps running and can be resumed by its id.
            poll_schedule: When to check (default: the client's).
            progress: Show the job's records done, rate and time left on
                stderr: ``None`` once the wait has lasted 2 s, ``True``
                always, ``False`` never (``tqdm`` where installed).

        Returns:
            The completed job, with its ``output_url``.

        Raises:
            JobFailedError: The job failed or was canceled (``job_status``
                says which).
            JobTimeoutError: The deadline passed; carries ``job_id``.

        Example::

            job = client.wait_for_job(job.id, timeout=120)
            print(job.output_url)
        """
        spec = self._get_job_call(job_id)
        bar = _job_progress(job_id, progress)
        try:
            job = poll_job(
                job_id,
                lambda: _shown(bar, self._poll_result(self._transport.call(spec))),
                schedule=poll_schedule or self.poll_schedule,
                timeout=timeout,
                sleep=self._transport.sleep,
            )
        except JobTimeoutError as err:
            if cancel_on_timeout:
                self._cancel_after_timeout(job_id)
            raise self._timeout_error(err, canceled=cancel_on_timeout) from err
        finally:
            bar.close()
        return raise_if_failed(job)

    async def await_job(
        self,
        job_id: str,
        *,
        timeout: float | None = DEFAULT_JOB_TIMEOUT,
        cancel_on_timeout: bool = False,
        poll_schedule: PollSchedule | None = None,
        progress: bool | None = None,
    ) -> BatchJob:
        """Async twin of :meth:`wait_for_job`."""
        spec = self._get_job_call(job_id)
        bar = _job_progress(job_id, progress)

        async def check() -> PollResult[BatchJob]:
            return _shown(bar, self._poll_result(await self._transport.acall(spec)))

        try:
            job = await apoll_job(
                job_id,
                check,
                schedule=poll_schedule or self.poll_schedule,
                timeout=timeout,
                sleep=self._transport.asleep,
            )
        except JobTimeoutError as err:
            if cancel_on_timeout:
                await self._acancel_after_timeout(job_id)
            raise self._timeout_error(err, canceled=cancel_on_timeout) from err
        finally:
            bar.close()
        return raise_if_failed(job)

    @staticmethod
    def _timeout_error(err: JobTimeoutError, *, canceled: bool) -> JobTimeoutError:
        """The deadline error, with advice that fits this client's arguments."""
        if canceled:
            hint = "The job was asked to cancel (cancel_on_timeout=True); submit it again."
        else:
            hint = (
                "The job keeps running: resume with wait_for_job(job_id), pass a "
                "larger timeout=, or cancel it with cancel_job(job_id)."
            )
        return JobTimeoutError(err.message, job_id=err.job_id, waited=err.waited, hint=hint)

    def _cancel_after_timeout(self, job_id: str) -> None:
        """Ask a job that outlived its deadline to cancel; a failure is only logged."""
        try:
            self.cancel_job(job_id)
        except MLStudioError as error:
            self._log_cancel_failure(job_id, error)

    async def _acancel_after_timeout(self, job_id: str) -> None:
        """Async twin of :meth:`_cancel_after_timeout`."""
        try:
            await self.acancel_job(job_id)
        except MLStudioError as error:
            self._log_cancel_failure(job_id, error)

    @staticmethod
    def _log_cancel_failure(job_id: str, error: MLStudioError) -> None:
        # A 409 means the job finished meanwhile; anything else is reported in
        # the log, and the timeout error is what the caller sees.
        logger.warning("Could not cancel job %s after its deadline: %s", job_id, error)


def raise_if_failed(job: BatchJob) -> BatchJob:
    """``job`` when it completed; a :class:`JobFailedError` when it failed or was canceled."""
    status = job.normalized_status
    if status == "completed":
        return job
    error = job.error or {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    verb = "was canceled" if status == "canceled" else "failed"
    raise JobFailedError(
        f"Batch job {job.id} {verb}",
        job_id=job.id,
        job_status=status,
        code=code,
        server_message=message,
    )


def _job_progress(job_id: str, enabled: bool | None) -> Progress:
    """The progress display of one wait for a batch job (records, once the server counts them)."""
    return Progress(None, description=f"FyreToolkit job {job_id}", unit="record", enabled=enabled)


def _shown(bar: Progress, result: PollResult[BatchJob]) -> PollResult[BatchJob]:
    """``result``, after showing the job's processed and total records on ``bar``."""
    counts = result.state.progress
    if counts is None:
        bar.update(0)
    else:
        bar.advance_to(counts.processed, counts.total)
    return result
