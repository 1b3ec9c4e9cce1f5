"""The package's one error hierarchy.

Every failure that comes from a server, the network or a response the package
cannot read is raised as a subclass of :class:`MLStudioError`, so callers can
catch at whatever level suits them::

    from langchain_mlstudio import MLStudioError, RateLimitError

    try:
        ...
    except RateLimitError as err:
        print(err.retry_after)
    except MLStudioError as err:
        print(err.status_code, err.server_message, err.request_id)

An error's text says what went wrong, what the server said (its code, message
and request id) and what to do next. It never contains an API key, a request
body or document text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.exceptions import OutputParserException

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InvalidInputError",
    "JobFailedError",
    "JobTimeoutError",
    "MLStudioError",
    "MalformedResponseError",
    "NotFoundError",
    "PIIDetectionError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StructuredOutputError",
    "TaskFailedError",
    "ToolCallingNotEnabledError",
    "UnprocessableEntityError",
]


class MLStudioError(Exception):
    """Base class of every error raised by ``langchain_mlstudio``.

    Attributes:
        message: What went wrong, in the package's words.
        status_code: The HTTP status the server answered with, if any.
        code: The server's machine-readable error code, if it sent one.
        server_message: The server's own human-readable message, if any.
        request_id: The server's request id (quote it to support), if any.
        details: Extra structured context the server sent, if any.
        hint: What to do next.

    Example:
        >>> err = MLStudioError("Job failed", status_code=500, request_id="req_1")
        >>> "req_1" in str(err)
        True
    """

    default_hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        server_message: str | None = None,
        request_id: str | None = None,
        details: Any = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.server_message = server_message
        self.request_id = request_id
        self.details = details
        self.hint = self.default_hint if hint is None else hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message.rstrip(".") + "."]
        said = []
        if self.status_code is not None:
            said.append(f"HTTP {self.status_code}")
        if self.code:
            said.append(f"code={self.code!r}")
        if self.server_message:
            said.append(f"message={self.server_message!r}")
        if self.request_id:
            said.append(f"request_id={self.request_id!r}")
        if said:
            parts.append("Server said: " + ", ".join(said) + ".")
        if self.hint:
            parts.append(self.hint)
        return " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive pickling by default; errors
        # must cross process boundaries (Ray, Spark, multiprocessing).
        return (_rebuild_error, (type(self), self.__dict__.copy()))


def _rebuild_error(cls: type[MLStudioError], state: dict[str, Any]) -> MLStudioError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._render())
    return err


class ConfigurationError(MLStudioError):
    """A setting is missing or invalid; raised before any request is sent.

    Deliberately not a ``ValueError``: pydantic would wrap it in a
    ``ValidationError`` at construction, hiding the typed error.

    Example:
        >>> raise ConfigurationError("No API key")  # doctest: +SKIP
    """

    default_hint = "Fix the setting and try again."


class InvalidInputError(MLStudioError, ValueError):
    """An input the API cannot carry; raised before any request is sent.

    Example:
        >>> isinstance(InvalidInputError("No messages"), ValueError)
        True
    """

    default_hint = "Fix the input; nothing was sent to the service."


class APIConnectionError(MLStudioError):
    """The server could not be reached, or the connection broke mid-response."""

    default_hint = (
        "Check the base_url and your network; the request was retried "
        "max_retries times where that was safe."
    )


class APITimeoutError(APIConnectionError):
    """A single HTTP request took longer than ``timeout`` seconds."""

    default_hint = "Raise `timeout`, or retry later if the service is slow."


class APIStatusError(MLStudioError):
    """The server answered with an error status (4xx or 5xx)."""

    default_hint = "See the server's message above."


class BadRequestError(APIStatusError):
    """The server rejected the request as invalid (HTTP 400 or 422)."""

    default_hint = "Check the request's parameters against the API reference."


class UnprocessableEntityError(BadRequestError):
    """The request was well formed but semantically wrong (HTTP 422)."""


class AuthenticationError(APIStatusError):
    """The API key is missing, invalid or not allowed (HTTP 401 or 403)."""

    default_hint = "Check that the API key is valid for this service and base_url."


class PermissionDeniedError(AuthenticationError):
    """The key is valid but lacks permission for this resource (HTTP 403)."""

    default_hint = "Check that the key belongs to this organization and may use this model."


class NotFoundError(APIStatusError):
    """The model, job or resource does not exist (HTTP 404)."""

    default_hint = "Check the model, job or resource id and the organization id."


class ConflictError(APIStatusError):
    """The request conflicts with the resource's current state (HTTP 409)."""

    default_hint = "Read the resource's current state before retrying."


class RateLimitError(APIStatusError):
    """The service's rate limit was hit (HTTP 429) and retries ran out.

    Attributes:
        retry_after: Seconds the server asked to wait, if it said.
    """

    default_hint = (
        "Slow down (lower concurrency or requests_per_second), raise "
        "max_retries, or wait and try again."
    )

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(APIStatusError):
    """The service failed (HTTP 5xx) and retries ran out."""

    default_hint = (
        "This is the service's fault; retry later, and quote the request id "
        "to support if it persists."
    )


class MalformedResponseError(MLStudioError):
    """The server answered, but not in the documented shape.

    Raised for non-JSON bodies and for missing or wrongly typed fields.
    """

    default_hint = (
        "The service answered in an unexpected format; check base_url points "
        "at the right API, and report the request id if it persists."
    )


class JobFailedError(MLStudioError):
    """A generation or batch job ended in a failed state.

    Attributes:
        job_id: The job's id.
        job_status: The final status the server reported.
    """

    default_hint = "Inspect the job with get_job(job_id) and submit a new one."

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        job_status: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.job_id = job_id
        self.job_status = job_status
        super().__init__(message, **kwargs)


class TaskFailedError(JobFailedError):
    """One conversation (task) inside a generation job failed.

    Other tasks of the same job are unaffected.

    Attributes:
        task_index: The index of the failed conversation in the job.
    """

    def __init__(self, message: str, *, job_id: str, task_index: int, **kwargs: Any) -> None:
        self.task_index = task_index
        super().__init__(message, job_id=job_id, **kwargs)


class JobTimeoutError(MLStudioError, TimeoutError):
    """A job did not finish before the overall deadline.

    The job may still be running: resume waiting with its ``job_id``.

    Attributes:
        job_id: The job's id, to resume with ``wait_for_job(job_id)``.
        waited: Seconds waited before giving up.
        task_index: The caller's own conversation in the job, when a chat
            model packed several into it (``None`` from the raw client).
    """

    default_hint = (
        "The job may still finish: resume with wait_for_job(job_id), or raise job_timeout."
    )

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        waited: float,
        task_index: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.job_id = job_id
        self.waited = waited
        self.task_index = task_index
        super().__init__(message, **kwargs)


class PIIDetectionError(MLStudioError):
    """PII detection failed for one or more documents; none were passed on.

    Carries document ids only, never document text.

    Attributes:
        document_ids: Ids (or input positions) of the documents that failed.
        causes: The underlying error of each failed document, by id.
    """

    default_hint = (
        "Failed documents were not returned. Retry them, or use on_error='drop' to skip them."
    )

    def __init__(
        self,
        message: str,
        *,
        document_ids: Sequence[str],
        causes: dict[str, BaseException] | None = None,
        **kwargs: Any,
    ) -> None:
        self.document_ids = list(document_ids)
        self.causes = dict(causes or {})
        super().__init__(message, **kwargs)


class ToolCallingNotEnabledError(ConfigurationError, NotImplementedError):
    """``bind_tools`` on a model whose API has no tool calling, without opting in.

    Raised by ``bind_tools`` (and ``with_structured_output(method=
    "function_calling")``) before any request, so an agent fails when it is
    built or first run, not after a wasted job.

    Example:
        >>> isinstance(ToolCallingNotEnabledError("No tools"), NotImplementedError)
        True
    """

    default_hint = (
        "ModelStudio and IONOS AI Model Studio have no native tool calling. To have the "
        "tools described in a system instruction and the answer parsed into tool calls, "
        "create the model with tool_calling='prompted' (reliable only with a model "
        "fine-tuned to follow such instructions)."
    )


class StructuredOutputError(MLStudioError, OutputParserException):
    """The model's answer did not parse or validate, even after every re-ask.

    Also an ``OutputParserException``, so code written for other LangChain
    models catches it unchanged.

    Attributes:
        llm_output: The last answer the model gave.
        attempts: How many answers were tried (1 + re-asks).

    Example:
        >>> err = StructuredOutputError("No JSON object", llm_output="Sure!", attempts=3)
        >>> isinstance(err, OutputParserException), err.llm_output
        (True, 'Sure!')
    """

    default_hint = (
        "Raise structured_output_retries, describe the format in the prompt, or use "
        "include_raw=True to get the last answer instead of this error."
    )

    def __init__(
        self, message: str, *, llm_output: str | None = None, attempts: int = 1, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.llm_output = llm_output
        self.attempts = attempts
