"""The one mechanism every FyreToolkit tool is built from.

A tool declares *what* it does: a name, a short description, an argument
schema and an :class:`Operation` (the client method pair it calls and how its
result is shown). :class:`FyreToolkitTool` owns *how*, once for every tool:

* **errors as messages** -- an API failure or an argument that fails
  validation comes back as ``ToolMessage(status="error")`` whose content is
  JSON with the error's type, status, code, message, request id, details and
  what to do next, so the agent can correct itself. Pass
  ``handle_tool_error=False`` / ``handle_validation_error=False`` to have the
  exceptions raised instead.
* **idempotency by tool call** -- a creating tool derives the idempotency key
  from the tool-call id and the arguments (and the LangGraph ``thread_id``
  when there is one, since some models number their tool calls ``call_0``,
  ``call_1``... in every conversation), so the same tool call made twice (a
  replayed graph step, a retried node) creates one resource, and distinct
  calls create distinct ones. A direct ``invoke`` without a tool-call id gets
  a fresh key, as the client does.
* **bounded output** -- the content stays within ``max_output_chars``
  (see :mod:`~langchain_mlstudio.fyretoolkit._output`); the artifact keeps
  the whole result.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import httpx
from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
)
from langchain_core.tools import BaseTool, ToolException
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError
from pydantic.v1 import ValidationError as ValidationErrorV1

from langchain_mlstudio.errors import MLStudioError
from langchain_mlstudio.fyretoolkit._output import (
    DEFAULT_MAX_FIELD_CHARS,
    DEFAULT_MAX_OUTPUT_CHARS,
    OutputBounds,
    compact,
)
from langchain_mlstudio.fyretoolkit._ratelimit import DEFAULT_MAX_WAIT
from langchain_mlstudio.fyretoolkit._service import API_KEY_ENV, BASE_URL_ENV
from langchain_mlstudio.fyretoolkit.client import FyreToolkitClient

__all__ = [
    "FyreToolkitTool",
    "FyreToolkitToolError",
    "Operation",
    "Render",
    "compact",
    "dump",
    "format_tool_error",
    "format_validation_error",
    "idempotency_key_for",
    "render_object",
]

ResponseFormat = Literal["content", "content_and_artifact"]

#: The tool fields a tool hands on to the client it builds (besides the key).
_CLIENT_SETTINGS = (
    "base_url",
    "timeout",
    "max_retries",
    "max_rate_limit_wait",
    "http_client",
    "http_async_client",
)
Render = Callable[[Any, OutputBounds], tuple[str, Any]]

# The tool call being run -- (tool-call id, thread id) -- set by FyreToolkitTool.run/arun.
_tool_call: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "fyretoolkit_tool_call", default=(None, None)
)


def _call_of(kwargs: dict[str, Any]) -> tuple[str | None, str | None]:
    """The tool-call id and the conversation (LangGraph thread) of a ``run`` call."""
    call_id = kwargs.get("tool_call_id") or None
    config = kwargs.get("config") or {}
    thread = (config.get("configurable") or {}).get("thread_id")
    return call_id, None if thread is None else str(thread)


@dataclass(frozen=True)
class Operation:
    """What a tool does: a client method, its async twin, and how to show the result.

    ``call`` and ``acall`` are :class:`FyreToolkitClient` methods taking the
    tool's arguments as keywords; ``render`` turns the result into
    ``(content, artifact)`` within the tool's bounds. A ``creates`` operation
    also receives ``idempotency_key``.
    """

    call: Callable[..., Any]
    acall: Callable[..., Awaitable[Any]]
    render: Render
    creates: bool = False


class FyreToolkitToolError(ToolException):
    """A tool's failure, carrying the package error that caused it.

    Example:
        >>> from langchain_mlstudio.errors import NotFoundError
        >>> err = FyreToolkitToolError(NotFoundError("No such model", status_code=404))
        >>> err.error.status_code
        404
    """

    def __init__(self, error: MLStudioError, bounds: OutputBounds | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.bounds = bounds or OutputBounds()
        """The bounds of the tool that failed, which its error message keeps too."""


def format_tool_error(exc: ToolException) -> str:
    """The content of an error ``ToolMessage``: JSON an agent can act on.

    Example:
        >>> from langchain_mlstudio.errors import NotFoundError
        >>> err = NotFoundError("FyreToolkit has no model 'x'", status_code=404,
        ...                     code="model_not_found", request_id="req_1",
        ...                     hint="List the models first.")
        >>> json.loads(format_tool_error(FyreToolkitToolError(err)))["error"]["code"]
        'model_not_found'
    """
    error = exc.error if isinstance(exc, FyreToolkitToolError) else None
    if error is None:
        body: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    else:
        body = {
            "type": type(error).__name__,
            "status": error.status_code,
            "code": error.code,
            "message": error.message,
            "server_message": error.server_message,
            "request_id": error.request_id,
            "details": error.details or None,
            "what_to_do": error.hint or None,
        }
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            body["retry_after"] = retry_after
    payload = {"error": {k: v for k, v in body.items() if v is not None}}
    bounds = exc.bounds if isinstance(exc, FyreToolkitToolError) else OutputBounds()
    return bounds.render(payload)


def format_validation_error(exc: ValidationError | Any) -> str:
    """The content of an error ``ToolMessage`` for arguments that fail the schema.

    Names each field and problem, never echoing the rejected value.

    Example:
        >>> from pydantic import BaseModel
        >>> class Args(BaseModel):
        ...     model_id: str
        >>> try:
        ...     Args.model_validate({})
        ... except ValidationError as exc:
        ...     json.loads(format_validation_error(exc))["error"]["details"]
        [{'field': 'model_id', 'problem': 'Field required'}]
    """
    details = []
    errors = exc.errors() if hasattr(exc, "errors") else []
    for problem in errors:
        field = ".".join(str(part) for part in problem.get("loc", ())) or "(arguments)"
        details.append({"field": field, "problem": problem.get("msg", "invalid")})
    payload = {
        "error": {
            "type": "InvalidArguments",
            "message": "The arguments do not match the tool's schema; nothing was sent.",
            "details": details,
            "what_to_do": "Call the tool again with the fields fixed.",
        }
    }
    return OutputBounds().render(payload)


class _Named:
    """A handler that shows its name (not a memory address) in ``repr`` and the docs."""

    def __init__(self, handler: Callable[[Any], str]) -> None:
        self.handler = handler
        self.__name__ = handler.__name__
        self.__doc__ = handler.__doc__

    def __call__(self, exc: Any) -> str:
        return self.handler(exc)

    def __repr__(self) -> str:
        return self.__name__


#: The default ``handle_tool_error`` and ``handle_validation_error`` of every tool.
TOOL_ERROR_HANDLER = _Named(format_tool_error)
VALIDATION_ERROR_HANDLER = _Named(format_validation_error)


def idempotency_key_for(
    tool_name: str,
    tool_call_id: str,
    arguments: dict[str, Any],
    thread_id: str | None = None,
) -> str:
    """The idempotency key of one tool call: same call, same key.

    Derived from the tool's name, the tool-call id, the arguments and the
    conversation's thread id (if any), so a replayed call (same id, same
    arguments, same thread) reuses the key and the server creates nothing
    new, while a different call, the same id with other arguments, or the
    same id in another conversation, gets its own.

    Example:
        >>> a = idempotency_key_for("t", "call_1", {"x": 1})
        >>> a == idempotency_key_for("t", "call_1", {"x": 1}), len(a)
        (True, 32)
        >>> a == idempotency_key_for("t", "call_2", {"x": 1})
        False
        >>> a == idempotency_key_for("t", "call_1", {"x": 1}, thread_id="other")
        False
    """
    canonical = json.dumps(
        [tool_name, tool_call_id, arguments, thread_id],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class FyreToolkitTool(BaseTool):
    """Base of every FyreToolkit tool: settings, errors, idempotency and bounds.

    Subclasses set ``name``, ``description``, ``args_schema`` and the class
    variable ``operation``; they implement nothing else (a tool with bound
    arguments overrides :meth:`_arguments`).

    Example:
        >>> class ModelIdArgs(BaseModel):
        ...     model_id: str
        >>> class ModelStatusTool(FyreToolkitTool):
        ...     name: str = "model_status"
        ...     description: str = "Get a model's status. Read-only."
        ...     args_schema: type[BaseModel] = ModelIdArgs
        ...     operation = Operation(
        ...         FyreToolkitClient.get_model, FyreToolkitClient.aget_model, render_object)
        >>> tool = ModelStatusTool(api_key="k", base_url="http://127.0.0.1:1", max_retries=0)
        >>> message = tool.invoke({"type": "tool_call", "id": "c1", "name": "model_status",
        ...                        "args": {"model_id": ".."}})
        >>> message.status, json.loads(message.content)["error"]["type"]
        ('error', 'InvalidInputError')
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    operation: ClassVar[Operation]

    client: FyreToolkitClient | None = Field(default=None, exclude=True)
    """A ready client; when ``None``, one is built from the settings below."""
    fyretoolkit_api_key: SecretStr | None = Field(
        alias="api_key", default_factory=secret_from_env(API_KEY_ENV, default=None)
    )
    """FyreToolkit API key (default: ``FYRETOOLKIT_API_KEY``)."""
    base_url: str | None = Field(default_factory=from_env(BASE_URL_ENV, default=None))
    """API root (default: ``FYRETOOLKIT_BASE_URL``; there is no public default)."""
    timeout: float | None = 60.0
    """Seconds one HTTP request may take."""
    max_retries: int = 2
    """Retries of transient failures, where safe."""
    max_rate_limit_wait: float = DEFAULT_MAX_WAIT
    """The most one call waits for rate limits in total."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` the built client sends through (e.g. for proxies)."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` for the async calls of the built client."""
    max_output_chars: int = Field(default=DEFAULT_MAX_OUTPUT_CHARS, ge=200)
    """The most characters of the content the model reads (the artifact is whole)."""
    max_field_chars: int = Field(default=DEFAULT_MAX_FIELD_CHARS, ge=16)
    """Longer string fields are cut, ending with ``...[+N chars]``."""
    response_format: ResponseFormat = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], str] | None = TOOL_ERROR_HANDLER
    """API failures become error ``ToolMessage``s (``False`` raises them)."""
    handle_validation_error: (
        bool | str | Callable[[ValidationError | ValidationErrorV1], str] | None
    ) = VALIDATION_ERROR_HANDLER
    """Invalid arguments become error ``ToolMessage``s (``False`` raises them)."""

    _client: FyreToolkitClient = PrivateAttr()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Built outside pydantic validation so a missing setting surfaces as
        # ConfigurationError (naming the variable), not a ValidationError.
        if self.client is not None:
            self._client = self.client
        else:
            settings = {name: getattr(self, name) for name in _CLIENT_SETTINGS}
            self._client = FyreToolkitClient(api_key=self.fyretoolkit_api_key, **settings)
        # The client's URL: credentials written into base_url are gone.
        self.base_url = self._client.base_url

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Where the key comes from when the tool is serialised."""
        return {"fyretoolkit_api_key": API_KEY_ENV}

    @property
    def fyretoolkit_client(self) -> FyreToolkitClient:
        """The client the tool sends through."""
        return self._client

    @property
    def bounds(self) -> OutputBounds:
        """The bounds of this tool's content."""
        return OutputBounds(max_chars=self.max_output_chars, max_field_chars=self.max_field_chars)

    # -- the tool-call id ---------------------------------------------------

    def run(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """Run the tool, remembering the tool-call id for the idempotency key."""
        token = _tool_call.set(_call_of(kwargs))
        try:
            return super().run(tool_input, *args, **kwargs)
        finally:
            _tool_call.reset(token)

    async def arun(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """Async twin of :meth:`run`."""
        token = _tool_call.set(_call_of(kwargs))
        try:
            return await super().arun(tool_input, *args, **kwargs)
        finally:
            _tool_call.reset(token)

    # -- one implementation for every tool ----------------------------------

    def _arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The client call's keywords: the model's arguments, plus the key."""
        if self.operation.creates:
            call_id, thread_id = _tool_call.get()
            arguments = {
                **arguments,
                "idempotency_key": None
                if call_id is None
                else idempotency_key_for(self.name, call_id, arguments, thread_id),
            }
        return arguments

    def _run(
        self, run_manager: CallbackManagerForToolRun | None = None, **kwargs: Any
    ) -> tuple[str, Any] | str:
        try:
            result = self.operation.call(self.fyretoolkit_client, **self._arguments(kwargs))
            return self._format(result)
        except MLStudioError as exc:
            raise FyreToolkitToolError(exc, self.bounds) from exc

    async def _arun(
        self, run_manager: AsyncCallbackManagerForToolRun | None = None, **kwargs: Any
    ) -> tuple[str, Any] | str:
        try:
            result = await self.operation.acall(self.fyretoolkit_client, **self._arguments(kwargs))
            return self._format(result)
        except MLStudioError as exc:
            raise FyreToolkitToolError(exc, self.bounds) from exc

    def _format(self, result: Any) -> tuple[str, Any] | str:
        content, artifact = self.operation.render(result, self.bounds)
        if self.response_format == "content":
            return content
        return content, artifact


def dump(model: BaseModel) -> dict[str, Any]:
    """A result as JSON-ready data (the artifact)."""
    return model.model_dump(mode="json", exclude_none=True)


def render_object(result: BaseModel, bounds: OutputBounds) -> tuple[str, Any]:
    """One API object: its fields, long ones cut."""
    data = dump(result)
    return bounds.render(data), data
