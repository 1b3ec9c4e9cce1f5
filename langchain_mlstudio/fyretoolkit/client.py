"""The FyreToolkit API: real-time predictions, batch jobs, models, deployments.

:class:`FyreToolkitClient` covers every endpoint of the FyreToolkit reference,
sync and async (async twins carry an ``a`` prefix), on the package's shared
HTTP layer: typed errors from FyreToolkit's ``{"error": {...}}`` schema,
retries of what is safe to retry, idempotency keys on creating calls, and the
``X-RateLimit-*`` budget honoured before a request is sent.

Example::

    from langchain_mlstudio import FyreToolkitClient

    client = FyreToolkitClient(api_key="sk_live_demo_12345",
                               base_url="http://127.0.0.1:8765")
    prediction = client.predict("sentiment-v1", ["I love it"])
    print(prediction.results[0])
"""

from __future__ import annotations

import base64
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr

from langchain_mlstudio._core._http import APIResponse, HTTPTransport
from langchain_mlstudio._core._polling import (
    PollResult,
    PollSchedule,
    apoll_job,
    poll_job,
)
from langchain_mlstudio._core._progress import Progress
from langchain_mlstudio._core._retry import Safety, parse_retry_after
from langchain_mlstudio._core._settings import require
from langchain_mlstudio.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    JobFailedError,
    JobTimeoutError,
    MalformedResponseError,
    MLStudioError,
    NotFoundError,
)
from langchain_mlstudio.fyretoolkit._ratelimit import RateLimitGate, category_of
from langchain_mlstudio.fyretoolkit.types import (
    BatchJob,
    DeletedDeployment,
    Deployment,
    ListPage,
    Metrics,
    Model,
    Prediction,
    RateLimitInfo,
    parse,
)

logger = logging.getLogger("langchain_mlstudio.fyretoolkit")

SERVICE = "FyreToolkit"
API_KEY_ENV = "FYRETOOLKIT_API_KEY"
BASE_URL_ENV = "FYRETOOLKIT_BASE_URL"

#: The most records one list request may ask for.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

#: How long :meth:`FyreToolkitClient.wait_for_job` waits by default.
DEFAULT_JOB_TIMEOUT = 600.0

STATUS_HINTS = {
    401: (
        "FyreToolkit uses HTTP Basic auth with the API key as user name and an "
        f"empty password; check api_key / {API_KEY_ENV}."
    ),
    404: ("Check the id: list_models() and list_deployments() show what your key can use."),
    409: "Read the resource's current state (get_job / get_model) before retrying.",
    422: "The request was understood but its values were rejected; see details.",
}

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)


def new_idempotency_key() -> str:
    """A fresh idempotency key for one creating call.

    Example:
        >>> len(new_idempotency_key())
        32
    """
    return uuid.uuid4().hex


def _segment(value: str, name: str) -> str:
    """``value`` as one URL path segment; an empty id is rejected early."""
    if not isinstance(value, str) or not value.strip():
        msg = f"{name} must be a non-empty string, got {value!r}"
        raise InvalidInputError(msg)
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:
        msg = f"{name} contains a character that cannot be encoded as UTF-8 (a lone surrogate)"
        raise InvalidInputError(msg) from None


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        msg = f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, got {limit!r}"
        raise InvalidInputError(msg)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        msg = f"limit must be from 1 to {MAX_PAGE_SIZE}, got {limit}"
        raise InvalidInputError(msg, hint="FyreToolkit returns at most 100 records per page.")
    return limit


def _check_inputs(inputs: Sequence[str | Mapping[str, Any]]) -> list[Any]:
    if isinstance(inputs, str | bytes | Mapping) or not isinstance(inputs, Sequence):
        msg = f"inputs must be a list of texts or JSON objects, got {type(inputs).__name__}"
        raise InvalidInputError(msg, hint='Wrap a single input in a list: ["text"].')
    if not inputs:
        msg = "inputs must contain at least one input"
        raise InvalidInputError(msg)
    checked: list[Any] = []
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            checked.append(item)
        elif isinstance(item, Mapping):
            checked.append(dict(item))
        else:
            msg = f"inputs[{index}] must be a text or a JSON object, got {type(item).__name__}"
            raise InvalidInputError(msg)
    return checked


@dataclass
class _Recovery(Generic[T]):
    """How a retried call recognises that an earlier attempt already succeeded.

    When an attempt's answer is lost after the server acted, the retry meets an
    error that only says the work is done: a DELETE meets 404, a cancel 409.
    After more than one attempt, an ``error`` is read as success when
    ``outcome`` turns the state (read by the optional follow-up request
    ``confirm``) into the call's result; when it returns ``None`` the error is
    raised. On the first attempt the error is always raised.
    """

    error: type[MLStudioError]
    outcome: Callable[[Any], T | None]
    confirm: _Spec[Any] | None = None
    note: str = "an earlier attempt succeeded"

    def applies(self, error: MLStudioError, attempts: int) -> bool:
        return attempts > 1 and isinstance(error, self.error)

    def settle(self, error: MLStudioError, state: Any) -> T:
        result = self.outcome(state)
        if result is None:
            raise error
        logger.info("%s: %s", self.note, error.message)
        return result


@dataclass
class _Spec(Generic[T]):
    """One API call: the request, how to read its answer, and its recovery."""

    method: str
    path: str
    result: Callable[[APIResponse, str], T]
    json_body: Any = None
    params: dict[str, Any] | None = None
    safety: Safety = Safety.IDEMPOTENT
    headers: dict[str, str] = field(default_factory=dict)
    recovery: _Recovery[T] | None = None

    @property
    def what(self) -> str:
        return f"{self.method} {self.path}"


def _reader(cls: type[R]) -> Callable[[APIResponse, str], R]:
    def read(response: APIResponse, what: str) -> R:
        return parse(
            cls,
            response.data,
            what=what,
            status_code=response.status_code,
            request_id=response.request_id,
        )

    return read


class FyreToolkitClient:
    """A typed client of the FyreToolkit API.

    Args:
        api_key: The API key (sent as the Basic-auth user name). Defaults to
            the ``FYRETOOLKIT_API_KEY`` environment variable.
        base_url: The API's base URL. Defaults to ``FYRETOOLKIT_BASE_URL``;
            FyreToolkit has no public default host, so one of them is required.
        timeout: Seconds one HTTP request may take.
        max_retries: How many times a failed request is retried where safe.
        default_headers: Headers merged into every request.
        http_client: An ``httpx.Client`` to send through (e.g. for proxies).
        http_async_client: An ``httpx.AsyncClient`` for the async methods.
        poll_schedule: When :meth:`wait_for_job` checks a job's status.
        max_rate_limit_wait: Longest wait for an exhausted rate-limit window.

    Raises:
        ConfigurationError: No API key or base URL (naming the variable).

    Example:
        >>> client = FyreToolkitClient(api_key="k", base_url="http://127.0.0.1:1")
        >>> client
        FyreToolkitClient(base_url='http://127.0.0.1:1')
        >>> client.last_rate_limit is None
        True
    """

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        poll_schedule: PollSchedule | None = None,
        max_rate_limit_wait: float = 60.0,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV) or None
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key or "")
        require(key, setting="api_key", env_var=API_KEY_ENV, service=SERVICE)
        url = base_url or os.environ.get(BASE_URL_ENV) or None
        if not url:
            msg = f"No base_url for {SERVICE}"
            raise ConfigurationError(
                msg,
                hint=(
                    f"FyreToolkit has no public default host: pass base_url=... "
                    f"or set the {BASE_URL_ENV} environment variable."
                ),
            )
        if not url.startswith(("http://", "https://")):
            msg = f"{SERVICE} base_url must start with http:// or https://, got {url!r}"
            raise ConfigurationError(msg)
        if max_retries < 0:
            msg = f"max_retries must be >= 0, got {max_retries}"
            raise ConfigurationError(msg)
        self._api_key = key
        self.poll_schedule = poll_schedule or PollSchedule(
            initial_interval=0.25, max_interval=5.0, multiplier=1.2
        )
        self._gate = RateLimitGate(max_wait=max_rate_limit_wait)
        self._transport = HTTPTransport(
            SERVICE,
            url,
            self._auth_headers,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            http_async_client=http_async_client,
            gate=self._gate,
            status_hints=STATUS_HINTS,
        )

    # -- plumbing ----------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self._api_key.get_secret_value()}:".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def __repr__(self) -> str:
        return f"FyreToolkitClient(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._transport.base_url

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried where safe."""
        return self._transport.retry.max_retries

    @property
    def timeout(self) -> float | None:
        """Seconds one HTTP request may take."""
        return self._transport.timeout

    @property
    def last_rate_limit(self) -> RateLimitInfo | None:
        """The latest ``X-RateLimit-*`` headers seen (``None`` before any)."""
        return self._gate.last

    @property
    def rate_limits(self) -> dict[str, RateLimitInfo]:
        """The latest ``X-RateLimit-*`` headers per budget (read/write/inference)."""
        return self._gate.by_category

    def close(self) -> None:
        """Close the HTTP client the instance created (not an injected one)."""
        self._transport.close()

    async def aclose(self) -> None:
        """Close the async HTTP client of the running loop, if the instance made it."""
        await self._transport.aclose()

    def __enter__(self) -> FyreToolkitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> FyreToolkitClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _run(self, spec: _Spec[T]) -> T:
        with self._gate.scope(category_of(spec.method, spec.path)) as call:
            try:
                response = self._transport.request(
                    spec.method,
                    spec.path,
                    json_body=spec.json_body,
                    params=spec.params,
                    headers=spec.headers,
                    safety=spec.safety,
                )
            except MLStudioError as error:
                recovery = spec.recovery
                if recovery is None or not recovery.applies(error, call.attempts):
                    raise
                state = None if recovery.confirm is None else self._run(recovery.confirm)
                return recovery.settle(error, state)
        return spec.result(response, spec.what)

    async def _arun(self, spec: _Spec[T]) -> T:
        with self._gate.scope(category_of(spec.method, spec.path)) as call:
            try:
                response = await self._transport.arequest(
                    spec.method,
                    spec.path,
                    json_body=spec.json_body,
                    params=spec.params,
                    headers=spec.headers,
                    safety=spec.safety,
                )
            except MLStudioError as error:
                recovery = spec.recovery
                if recovery is None or not recovery.applies(error, call.attempts):
                    raise
                state = None if recovery.confirm is None else await self._arun(recovery.confirm)
                return recovery.settle(error, state)
        return spec.result(response, spec.what)

    # -- predictions -------------------------------------------------------

    def _predict_spec(
        self,
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None,
    ) -> _Spec[Prediction]:
        body: dict[str, Any] = {"inputs": _check_inputs(inputs)}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return _Spec(
            "POST",
            f"/predict/{_segment(model_id, 'model_id')}",
            _reader(Prediction),
            json_body=body,
            # A prediction changes nothing on the server: safe to repeat.
            safety=Safety.IDEMPOTENT,
        )

    def predict(
        self,
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Run a real-time prediction: one result per input.

        Args:
            model_id: The deployed model's id.
            inputs: Texts or JSON objects, as the model expects.
            metadata: Optional metadata (``correlation_id``, ``user_id``, ...).

        Raises:
            InvalidInputError: ``inputs`` is empty or not a list (nothing sent).
            NotFoundError: The model does not exist.
            MLStudioError: Any other failure.

        Example::

            prediction = client.predict("sentiment-v1", ["great product"])
            prediction.results[0]["label"]  # 'positive'
        """
        return self._run(self._predict_spec(model_id, inputs, metadata))

    async def apredict(
        self,
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Async twin of :meth:`predict`."""
        return await self._arun(self._predict_spec(model_id, inputs, metadata))

    # -- batch jobs --------------------------------------------------------

    def _create_job_spec(
        self,
        model_id: str,
        input_url: str,
        webhook: str | None,
        idempotency_key: str | None,
    ) -> _Spec[BatchJob]:
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
        return _Spec(
            "POST",
            f"/batch/{_segment(model_id, 'model_id')}",
            _reader(BatchJob),
            json_body=body,
            # The idempotency key makes a repeated POST return the same job.
            safety=Safety.IDEMPOTENT,
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
        return self._run(self._create_job_spec(model_id, input_url, webhook, idempotency_key))

    async def acreate_batch_job(
        self,
        model_id: str,
        input_url: str,
        *,
        webhook: str | None = None,
        idempotency_key: str | None = None,
    ) -> BatchJob:
        """Async twin of :meth:`create_batch_job`."""
        return await self._arun(
            self._create_job_spec(model_id, input_url, webhook, idempotency_key)
        )

    def _get_job_spec(self, job_id: str) -> _Spec[tuple[BatchJob, APIResponse]]:
        read = _reader(BatchJob)
        return _Spec(
            "GET",
            f"/jobs/{_segment(job_id, 'job_id')}",
            lambda response, what: (read(response, what), response),
        )

    def get_job(self, job_id: str) -> BatchJob:
        """A batch job's status, progress and (once completed) ``output_url``.

        Example::

            client.get_job("job_123").status  # 'processing'
        """
        return self._run(self._get_job_spec(job_id))[0]

    async def aget_job(self, job_id: str) -> BatchJob:
        """Async twin of :meth:`get_job`."""
        return (await self._arun(self._get_job_spec(job_id)))[0]

    def _cancel_spec(self, job_id: str) -> _Spec[BatchJob]:
        def canceled(state: tuple[BatchJob, APIResponse]) -> BatchJob | None:
            job = state[0]
            return job if job.normalized_status == "canceled" else None

        return _Spec(
            "POST",
            f"/jobs/{_segment(job_id, 'job_id')}/cancel",
            _reader(BatchJob),
            # Cancelling twice cannot do harm; see cancel_job for the 409 case.
            safety=Safety.IDEMPOTENT,
            recovery=_Recovery(
                ConflictError,
                canceled,
                confirm=self._get_job_spec(job_id),
                note=f"Job {job_id} was cancelled by an earlier attempt",
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
        return self._run(self._cancel_spec(job_id))

    async def acancel_job(self, job_id: str) -> BatchJob:
        """Async twin of :meth:`cancel_job`."""
        return await self._arun(self._cancel_spec(job_id))

    @staticmethod
    def _poll_result(result: tuple[BatchJob, APIResponse]) -> PollResult[BatchJob]:
        job, response = result
        return PollResult(
            job,
            job.is_terminal,
            parse_retry_after(response.headers.get("retry-after")),
        )

    @staticmethod
    def _finished(job: BatchJob) -> BatchJob:
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
        spec = self._get_job_spec(job_id)
        bar = _job_progress(job_id, progress)
        try:
            job = poll_job(
                job_id,
                lambda: _shown(bar, self._poll_result(self._run(spec))),
                schedule=poll_schedule or self.poll_schedule,
                timeout=timeout,
                sleep=self._transport._sleep,
            )
        except JobTimeoutError as err:
            if cancel_on_timeout:
                self._cancel_after_timeout(job_id)
            raise self._timeout_error(err, canceled=cancel_on_timeout) from err
        finally:
            bar.close()
        return self._finished(job)

    async def await_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = DEFAULT_JOB_TIMEOUT,
        cancel_on_timeout: bool = False,
        poll_schedule: PollSchedule | None = None,
        progress: bool | None = None,
    ) -> BatchJob:
        """Async twin of :meth:`wait_for_job`."""
        spec = self._get_job_spec(job_id)
        bar = _job_progress(job_id, progress)

        async def check() -> PollResult[BatchJob]:
            return _shown(bar, self._poll_result(await self._arun(spec)))

        try:
            job = await apoll_job(
                job_id,
                check,
                schedule=poll_schedule or self.poll_schedule,
                timeout=timeout,
                sleep=self._transport._asleep,
            )
        except JobTimeoutError as err:
            if cancel_on_timeout:
                await self._acancel_after_timeout(job_id)
            raise self._timeout_error(err, canceled=cancel_on_timeout) from err
        finally:
            bar.close()
        return self._finished(job)

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

    # -- models ------------------------------------------------------------

    def _page_spec(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> _Spec[ListPage[R]]:
        params: dict[str, Any] = {"limit": _check_limit(limit)}
        if starting_after is not None:
            params["starting_after"] = starting_after
        return _Spec("GET", path, _reader(ListPage[cls]), params=params)  # type: ignore[valid-type]

    @staticmethod
    def _next_cursor(page: ListPage[Any], previous: str | None, what: str) -> str | None:
        """The cursor of the next page, or ``None`` after the last one."""
        if not page.has_more:
            return None
        if not page.data:
            msg = f"{SERVICE} answered {what} with has_more=true but no records"
            raise MalformedResponseError(msg)
        cursor = getattr(page.data[-1], "id", None)
        if cursor == previous:
            msg = f"{SERVICE} answered {what} with the same page twice (cursor {cursor!r})"
            raise MalformedResponseError(msg)
        return str(cursor)

    def _iterate(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> Iterator[R]:
        _check_limit(limit)

        def pages() -> Iterator[R]:
            cursor = starting_after
            while True:
                spec = self._page_spec(path, cls, limit, cursor)
                page = self._run(spec)
                yield from page.data
                cursor = self._next_cursor(page, cursor, spec.what)
                if cursor is None:
                    return

        return pages()

    def _aiterate(
        self, path: str, cls: type[R], limit: int, starting_after: str | None
    ) -> AsyncIterator[R]:
        _check_limit(limit)

        async def pages() -> AsyncIterator[R]:
            cursor = starting_after
            while True:
                spec = self._page_spec(path, cls, limit, cursor)
                page = await self._arun(spec)
                for item in page.data:
                    yield item
                cursor = self._next_cursor(page, cursor, spec.what)
                if cursor is None:
                    return

        return pages()

    def list_models(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> Iterator[Model]:
        """Every model of the organization, fetched page by page.

        Follows ``starting_after`` until ``has_more`` is false; pages are
        fetched lazily as the iterator is consumed.

        Args:
            limit: Records per page, 1 to 100 (checked before any request).
            starting_after: Start after this model id.

        Raises:
            InvalidInputError: ``limit`` is out of range.

        Example::

            ids = [model.id for model in client.list_models(limit=100)]
        """
        return self._iterate("/models", Model, limit, starting_after)

    def alist_models(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> AsyncIterator[Model]:
        """Async twin of :meth:`list_models`: ``async for model in client.alist_models()``."""
        return self._aiterate("/models", Model, limit, starting_after)

    def get_models_page(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> ListPage[Model]:
        """One page of models, with ``has_more`` (for callers that page themselves).

        Example::

            page = client.get_models_page(limit=5)
            page.has_more
        """
        return self._run(self._page_spec("/models", Model, limit, starting_after))

    async def aget_models_page(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> ListPage[Model]:
        """Async twin of :meth:`get_models_page`."""
        return await self._arun(self._page_spec("/models", Model, limit, starting_after))

    def _get_model_spec(self, model_id: str) -> _Spec[Model]:
        return _Spec("GET", f"/models/{_segment(model_id, 'model_id')}", _reader(Model))

    def get_model(self, model_id: str) -> Model:
        """One model's status and description.

        Raises:
            NotFoundError: No such model (``code="model_not_found"``).

        Example::

            client.get_model("sentiment-v1").status  # 'ready'
        """
        return self._run(self._get_model_spec(model_id))

    async def aget_model(self, model_id: str) -> Model:
        """Async twin of :meth:`get_model`."""
        return await self._arun(self._get_model_spec(model_id))

    # -- deployments -------------------------------------------------------

    def _create_deployment_spec(
        self,
        model_uri: str,
        region: str,
        replicas: int,
        idempotency_key: str | None,
    ) -> _Spec[Deployment]:
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            msg = f"replicas must be an integer, got {replicas!r}"
            raise InvalidInputError(msg)
        body = {
            "model_uri": model_uri,
            "region": region,
            "replicas": replicas,
            "idempotency_key": idempotency_key or new_idempotency_key(),
        }
        return _Spec(
            "POST",
            "/deployments",
            _reader(Deployment),
            json_body=body,
            # The idempotency key makes a repeated POST return the same deployment.
            safety=Safety.IDEMPOTENT,
        )

    def create_deployment(
        self,
        model_uri: str,
        region: str,
        replicas: int = 1,
        *,
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Deploy a model artifact to a region.

        Carries an idempotency key (fresh unless given, reused on retries), so
        a retried call never provisions two deployments.

        Raises:
            UnprocessableEntityError: A bad ``model_uri``, ``region`` or
                ``replicas`` (HTTP 422; ``details`` names the field).

        Example::

            dep = client.create_deployment("s3://models/sentiment", "eu-west-1")
        """
        return self._run(self._create_deployment_spec(model_uri, region, replicas, idempotency_key))

    async def acreate_deployment(
        self,
        model_uri: str,
        region: str,
        replicas: int = 1,
        *,
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Async twin of :meth:`create_deployment`."""
        return await self._arun(
            self._create_deployment_spec(model_uri, region, replicas, idempotency_key)
        )

    def list_deployments(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> Iterator[Deployment]:
        """Every active deployment, fetched page by page.

        Example::

            regions = {dep.region for dep in client.list_deployments()}
        """
        return self._iterate("/deployments", Deployment, limit, starting_after)

    def alist_deployments(
        self, *, limit: int = DEFAULT_PAGE_SIZE, starting_after: str | None = None
    ) -> AsyncIterator[Deployment]:
        """Async twin of :meth:`list_deployments`."""
        return self._aiterate("/deployments", Deployment, limit, starting_after)

    def _delete_spec(self, deployment_id: str) -> _Spec[DeletedDeployment]:
        return _Spec(
            "DELETE",
            f"/deployments/{_segment(deployment_id, 'deployment_id')}",
            _reader(DeletedDeployment),
            safety=Safety.IDEMPOTENT,
            recovery=_Recovery(
                NotFoundError,
                lambda _state: DeletedDeployment(id=deployment_id, deleted=True),
                note=f"Deployment {deployment_id} was deleted by an earlier attempt",
            ),
        )

    def delete_deployment(self, deployment_id: str) -> DeletedDeployment:
        """Remove a deployment and stop serving traffic (artifacts are kept).

        A DELETE is retried after a dropped connection. If the first attempt
        had already deleted the deployment, the retry meets a 404; the client
        then reports the deletion as done. A 404 on the first attempt is
        raised as :class:`~langchain_mlstudio.NotFoundError`.

        Example::

            client.delete_deployment(dep.id).deleted  # True
        """
        return self._run(self._delete_spec(deployment_id))

    async def adelete_deployment(self, deployment_id: str) -> DeletedDeployment:
        """Async twin of :meth:`delete_deployment`."""
        return await self._arun(self._delete_spec(deployment_id))

    # -- metrics -----------------------------------------------------------

    def _metrics_spec(self, deployment_id: str, period: str | None) -> _Spec[Metrics]:
        params = {"period": period} if period is not None else None
        return _Spec(
            "GET",
            f"/metrics/{_segment(deployment_id, 'deployment_id')}",
            _reader(Metrics),
            params=params,
        )

    def get_metrics(self, deployment_id: str, *, period: str | None = None) -> Metrics:
        """Requests, errors and latency of a deployment.

        Args:
            deployment_id: The deployment.
            period: The time window (e.g. ``"1h"``, ``"24h"``); the server's
                default when omitted.

        Example::

            client.get_metrics(dep.id).metrics.latency_ms.p95
        """
        return self._run(self._metrics_spec(deployment_id, period))

    async def aget_metrics(self, deployment_id: str, *, period: str | None = None) -> Metrics:
        """Async twin of :meth:`get_metrics`."""
        return await self._arun(self._metrics_spec(deployment_id, period))


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
