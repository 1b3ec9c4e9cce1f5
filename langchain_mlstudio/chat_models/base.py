"""Chat models over the generate-job API: one implementation, two front doors."""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, ClassVar, Literal, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import get_config_list
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from langchain_mlstudio._core._limits import Slots
from langchain_mlstudio._core._polling import PollSchedule
from langchain_mlstudio.chat_models._capabilities import declared_profile
from langchain_mlstudio.chat_models._jobs import (
    PROVIDERS,
    GenerationJob,
    ModelStudioClient,
    Provider,
    ProviderInfo,
)
from langchain_mlstudio.chat_models._messages import convert_messages
from langchain_mlstudio.chat_models._packing import (
    ACTIVE_TICKET,
    Group,
    Member,
    PackTicket,
    alead,
    lead,
)
from langchain_mlstudio.chat_models._progress import (
    AsyncProgressReporter,
    ProgressReporter,
)
from langchain_mlstudio.chat_models._prompted_tools import (
    PromptedTools,
    agenerate_with_tools,
    generate_with_tools,
    prepare_tools,
)
from langchain_mlstudio.chat_models._structured import structured_output
from langchain_mlstudio.errors import BadRequestError

#: What conversations must share to be packed into one job.
JobKey = tuple[str, float | None, int | None]
#: Threads a sync ``batch`` uses at most (each mostly waits on a job).
_MAX_BATCH_THREADS = 256


def apply_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """Cut ``text`` at the first stop sequence; True when one was found.

    Example:
        >>> apply_stop("Hello. Bye.", ["."])
        ('Hello', True)
    """
    cut = len(text)
    for sequence in stop or ():
        if sequence:
            found = text.find(sequence)
            if found != -1:
                cut = min(cut, found)
    return text[:cut], cut < len(text)


class BaseChatGenerationJob(BaseChatModel):
    """A chat model that runs each request as a generation job and polls it.

    Subclasses only name their provider; see :class:`ChatModelStudio` and
    :class:`ChatIonosModelStudio` for the settings and examples.
    """

    provider: ClassVar[Provider] = "modelstudio"

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    model: str = Field(alias="model_id")
    """The fine-tuned model's id (alias ``model_id``)."""
    organization_id: str | None = None
    """Organization id; from the provider's ``*_ORGANIZATION_ID`` variable if unset."""
    api_key: SecretStr | None = None
    """Bearer token created in the Studio; from ``*_API_KEY`` if unset."""
    base_url: str | None = None
    """API root; from ``*_BASE_URL`` if unset, else the provider's public URL."""
    temperature: float = Field(default=0.7, ge=0.0, le=1.0)
    """Sampling temperature, 0.0 to 1.0 (checked before any request)."""
    max_tokens: int | None = Field(default=512, ge=1)
    """Maximum length of each response."""
    timeout: float | None = Field(default=30.0, gt=0)
    """Seconds one HTTP request may take."""
    job_timeout: float | None = Field(default=600.0, gt=0)
    """Seconds a job may take from submission to its final state."""
    max_retries: int = Field(default=2, ge=0)
    """Retries of a failed request; a job is never submitted twice."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Stop sequences, applied to each result (the API has none)."""
    poll_initial_interval: float = Field(default=0.15, gt=0)
    """Seconds before the first status check, and between early checks."""
    poll_max_interval: float = Field(default=2.0, gt=0)
    """The longest wait between two status checks."""
    poll_multiplier: float = Field(default=1.1, ge=1.0)
    """Growth of the check times: each wait is ``(multiplier - 1)`` x time waited."""
    max_batch_size: int = Field(default=32, ge=1)
    """The most conversations ``batch`` packs into one job."""
    max_concurrent_jobs: int | None = Field(default=4, ge=1)
    """Jobs in flight at once across every call on this instance.

    A job holds its slot from submission until its final state; one that
    outlives ``job_timeout`` gives its slot back with the
    :class:`~langchain_mlstudio.JobTimeoutError` (it may still run on the
    server, so a caller who resumes it should count it).
    """
    default_headers: dict[str, str] | None = None
    """Headers added to every request."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send requests with."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send requests with."""
    streaming: bool = False
    """Whether ``invoke`` goes through the (single-chunk) stream."""
    tool_calling: Literal["none", "prompted"] = "none"
    """``"prompted"`` lets ``bind_tools`` describe tools in a system instruction.

    The API has no tool calling: by default ``bind_tools`` raises
    :class:`~langchain_mlstudio.errors.ToolCallingNotEnabledError` before any
    request. Prompted calls are parsed from the answer text, so they are only
    as reliable as the model's fine-tuning.
    """
    structured_output_retries: int = Field(default=2, ge=0)
    """Re-asks of an answer that fails to parse or validate (structured output, tool calls)."""

    _client: ModelStudioClient | None = PrivateAttr(default=None)
    _slots: Slots | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def _info(cls) -> ProviderInfo:
        return PROVIDERS[cls.provider]

    @model_validator(mode="before")
    @classmethod
    def _from_env(cls, values: Any) -> Any:
        """Fill credentials from the environment, failing fast naming the variable."""
        if not isinstance(values, dict):
            return values
        api_key, organization_id, base_url = cls._info().resolve(
            values.get("api_key"), values.get("organization_id"), values.get("base_url")
        )
        return {
            **values,
            "api_key": api_key,
            "organization_id": organization_id,
            "base_url": base_url,
        }

    def model_post_init(self, context: Any, /) -> None:
        """Check settings that depend on each other."""
        if self.poll_max_interval < self.poll_initial_interval:
            msg = "poll_max_interval must be >= poll_initial_interval"
            raise ValueError(msg)
        if self.profile is None:
            self.profile = declared_profile()

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Where LangChain's serializer finds the secret."""
        return {"api_key": self._info().api_key_env}

    @property
    def _llm_type(self) -> str:
        return f"{self.provider}-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "base_url": self.base_url,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=self.provider,
            ls_model_name=kwargs.get("model") or self.model,
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
        )
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # -- shared machinery -----------------------------------------------------

    @property
    def client(self) -> ModelStudioClient:
        """The job client, created on first use and reused.

        Use it to submit, inspect or resume jobs by id directly.
        """
        with self._lock:
            if self._client is None:
                self._client = ModelStudioClient(
                    api_key=self.api_key,
                    organization_id=self.organization_id,
                    base_url=self.base_url,
                    provider=self.provider,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    job_timeout=self.job_timeout,
                    poll_schedule=PollSchedule(
                        self.poll_initial_interval, self.poll_max_interval, self.poll_multiplier
                    ),
                    default_headers=self.default_headers,
                    http_client=self.http_client,
                    http_async_client=self.http_async_client,
                )
            return self._client

    @property
    def slots(self) -> Slots:
        """The cap on jobs in flight, shared by every call on this instance."""
        with self._lock:
            if self._slots is None:
                self._slots = Slots(self.max_concurrent_jobs or 1_000_000)
            return self._slots

    def _job_params(self, kwargs: dict[str, Any]) -> JobKey:
        return (
            kwargs.get("model") or self.model,
            kwargs.get("temperature", self.temperature),
            kwargs.get("max_tokens", self.max_tokens),
        )

    def _result(
        self, job: GenerationJob, task_index: int, stop: list[str] | None, model: str
    ) -> ChatResult:
        text, stopped = apply_stop(job.text_for(task_index).lstrip(), stop or self.stop)
        message = AIMessage(
            content=text,
            response_metadata={
                "model_name": model,
                "model_provider": self.provider,
                "job_id": job.job_id,
                "finish_reason": "stop_sequence" if stopped else "stop",
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    # -- running jobs -----------------------------------------------------------

    def _run_job(self, group: Group[GenerationJob]) -> GenerationJob:
        model, temperature, max_tokens = cast("JobKey", group.key)
        conversations = [m.conversation for m in group.members]
        client = self.client
        # Validate before taking a slot: a bad input never waits for capacity.
        client.build_payload(
            conversations, model=model, temperature=temperature, max_tokens=max_tokens
        )

        log = ProgressReporter(None, log=True)

        def on_progress(job: GenerationJob) -> None:
            log(job)
            for member in group.members:
                for hook in member.progress:
                    hook(job)

        with self.slots:
            job_id = client.submit(
                conversations, model=model, temperature=temperature, max_tokens=max_tokens
            )
            return client.wait_for_job(job_id, on_progress=on_progress)

    async def _arun_job(self, group: Group[GenerationJob]) -> GenerationJob:
        model, temperature, max_tokens = cast("JobKey", group.key)
        conversations = [m.conversation for m in group.members]
        client = self.client
        client.build_payload(
            conversations, model=model, temperature=temperature, max_tokens=max_tokens
        )

        log = ProgressReporter(None, log=True)

        async def on_progress(job: GenerationJob) -> None:
            log(job)
            for member in group.members:
                for hook in member.progress:
                    outcome = hook(job)
                    if inspect.isawaitable(outcome):
                        await outcome

        async with self.slots:
            job_id = await client.asubmit(
                conversations, model=model, temperature=temperature, max_tokens=max_tokens
            )
            return await client.await_for_job(job_id, on_progress=on_progress)

    def _ticket(self) -> PackTicket[GenerationJob] | None:
        """The packing ticket of this instance's running ``batch``, if any."""
        ticket = ACTIVE_TICKET.get()
        return ticket if ticket is not None and ticket.owner is self else None

    def _member(self, messages: list[BaseMessage], reporter: ProgressReporter) -> Member:
        """The conversation to submit; a bad input still counts as arrived."""
        try:
            return Member(convert_messages(messages), 0, [reporter])
        except Exception:
            ticket = self._ticket()
            if ticket is not None:
                ticket.skip()
            raise

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = PromptedTools.from_kwargs(kwargs, self.tool_calling)
        if tools is not None:
            return generate_with_tools(
                self._generate,
                tools,
                messages,
                self.structured_output_retries,
                stop=stop,
                run_manager=run_manager,
                **kwargs,
            )
        member = self._member(messages, ProgressReporter(run_manager))
        key = self._job_params(kwargs)
        ticket = self._ticket()
        if ticket is None:
            group: Group[GenerationJob] = Group(key, [member], closed=True)
            lead(group, self._run_job)
        else:
            group, leader = ticket.join(key, member)
            if leader:
                ticket.seal(group)
                lead(group, self._run_job)
            else:
                group.done.wait()
            if self._rejected_together(group):
                group = Group(key, [member.alone()], closed=True)
                lead(group, self._run_job)
        if group.error is not None:
            raise group.error
        assert group.outcome is not None  # noqa: S101
        return self._result(group.outcome, member.task_index, stop, key[0])

    @staticmethod
    def _rejected_together(group: Group[GenerationJob]) -> bool:
        """Whether the server refused a packed job as a whole (so none was created).

        One conversation it cannot take (say, an image for a text-only model)
        must not fail the others: each is then sent on its own, and only the
        culprit gets the error.
        """
        return isinstance(group.error, BadRequestError) and len(group.members) > 1

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = PromptedTools.from_kwargs(kwargs, self.tool_calling)
        if tools is not None:
            return await agenerate_with_tools(
                self._agenerate,
                tools,
                messages,
                self.structured_output_retries,
                stop=stop,
                run_manager=run_manager,
                **kwargs,
            )
        member = self._member(messages, AsyncProgressReporter(run_manager))
        key = self._job_params(kwargs)
        ticket = self._ticket()
        if ticket is None:
            group: Group[GenerationJob] = Group(key, [member], closed=True)
            await alead(group, self._arun_job)
        else:
            group, leader = ticket.join(key, member)
            if leader:
                await ticket.aseal(group)
                await alead(group, self._arun_job)
            else:
                await group.wait()
            if self._rejected_together(group):
                group = Group(key, [member.alone()], closed=True)
                await alead(group, self._arun_job)
        if group.error is not None:
            raise group.error
        assert group.outcome is not None  # noqa: S101
        return self._result(group.outcome, member.task_index, stop, key[0])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """The API does not stream: one chunk arrives once the job is done."""
        result = self._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        yield self._as_chunk(result, run_manager)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        result = await self._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        chunk = self._as_chunk(result, None)
        if run_manager is not None:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    @staticmethod
    def _as_chunk(
        result: ChatResult, run_manager: CallbackManagerForLLMRun | None
    ) -> ChatGenerationChunk:
        message = result.generations[0].message
        chunk = ChatGenerationChunk(
            message=AIMessageChunk(
                content=message.content,
                response_metadata=message.response_metadata,
                tool_calls=getattr(message, "tool_calls", []),
                invalid_tool_calls=getattr(message, "invalid_tool_calls", []),
                chunk_position="last",
            )
        )
        if run_manager is not None:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        return chunk

    # -- structured output and prompted tools -----------------------------------

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools for prompted tool calling (``tool_calling="prompted"`` only).

        The API has no tool calling. By default this raises before any request;
        with ``tool_calling="prompted"`` the tools (name, description, argument
        schema) are described in a system instruction and the answer is parsed
        into ``AIMessage.tool_calls``; a malformed call is re-asked up to
        ``structured_output_retries`` times, then reported in
        ``invalid_tool_calls``.

        Args:
            tools: Tools, functions, pydantic models or JSON-schema dicts.
            tool_choice: ``"auto"`` (default), ``"any"``, ``"none"`` or a
                tool's name.
            **kwargs: Bound with the tools (as for any ``bind``).

        Raises:
            ToolCallingNotEnabledError: ``tool_calling`` is not ``"prompted"``.

        Example:
            >>> from langchain_mlstudio import ChatModelStudio
            >>> from langchain_mlstudio.emulator import Emulator
            >>> from langchain_mlstudio.emulator.responders import SchemaResponder
            >>> def add(a: int, b: int) -> int:
            ...     '''Add two integers.'''
            ...     return a + b
            >>> with Emulator(api_key="k") as emu:
            ...     emu.generate.responder = SchemaResponder()
            ...     llm = ChatModelStudio(model="emulator-model", api_key="k",
            ...         organization_id="emulator-org", base_url=emu.base_url,
            ...         tool_calling="prompted")
            ...     call = llm.bind_tools([add]).invoke("Add 3 and 4").tool_calls[0]
            >>> call["name"], call["args"]
            ('add', {'a': 3, 'b': 4})
        """
        formatted, choice = prepare_tools(self.tool_calling, tools, tool_choice)
        return self.bind(tools=formatted, tool_choice=choice, **kwargs)

    def with_structured_output(
        self,
        schema: Any = None,
        *,
        method: Literal["json_schema", "json_mode", "function_calling"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers parsed into ``schema``: prompted, validated, re-asked on error.

        The API has no JSON mode, so ``method="json_schema"`` puts the schema
        in a system instruction and validates the answer against it;
        ``"json_mode"`` only asks for JSON (say which keys in the prompt) and
        validates against ``schema`` if given; ``"function_calling"`` asks for
        a prompted tool call (needs ``tool_calling="prompted"``). Code fences
        and text around the object are tolerated. An answer that fails is
        re-asked with the error up to ``structured_output_retries`` times,
        then :class:`~langchain_mlstudio.errors.StructuredOutputError` (an
        ``OutputParserException``) is raised, or, with ``include_raw=True``,
        returned as ``parsing_error`` next to the last answer (``raw``).
        ``batch`` packs the first attempts into shared jobs, then the re-asks
        of each round; an answer that validated is never sent again.

        Args:
            schema: A pydantic model, TypedDict or JSON-schema dict (pydantic
                gives instances, the others dicts).
            method: ``"json_schema"``, ``"json_mode"`` or ``"function_calling"``.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}``.
            strict: Accepted for compatibility; answers are always validated.
            **kwargs: Not accepted (an error names them).

        Example:
            >>> from pydantic import BaseModel
            >>> from langchain_mlstudio import ChatModelStudio
            >>> from langchain_mlstudio.emulator import Emulator
            >>> from langchain_mlstudio.emulator.responders import SchemaResponder
            >>> class Ticket(BaseModel):
            ...     category: str
            ...     priority: int
            >>> with Emulator(api_key="k") as emu:
            ...     emu.generate.responder = SchemaResponder()
            ...     llm = ChatModelStudio(model="emulator-model", api_key="k",
            ...         organization_id="emulator-org", base_url=emu.base_url)
            ...     ticket = llm.with_structured_output(Ticket).invoke("Refund, priority 2")
            >>> ticket.priority
            2
        """
        return structured_output(
            self,
            schema,
            method=method,
            include_raw=include_raw,
            retries=self.structured_output_retries,
            tool_calling=self.tool_calling,
            strict=strict,
            **kwargs,
        )

    # -- batching ---------------------------------------------------------------

    def _batch_configs(
        self, inputs: list[LanguageModelInput], config: RunnableConfig | list[RunnableConfig] | None
    ) -> list[RunnableConfig]:
        configs = get_config_list(config, len(inputs))
        for cfg in configs:
            if cfg.get("max_concurrency") is None:
                cfg["max_concurrency"] = min(len(inputs), _MAX_BATCH_THREADS)
        return configs

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Run many inputs, packed into as few jobs as ``max_batch_size`` allows.

        Each input is still its own run for callbacks and tracing; results come
        back in input order, and with ``return_exceptions=True`` a failed task
        becomes an exception in its own slot while the others still return.
        """
        if len(inputs) < 2 or self.cache:
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)
        configs = self._batch_configs(inputs, config)
        concurrency = configs[0].get("max_concurrency") or len(inputs)
        ticket: PackTicket[GenerationJob] = PackTicket(
            self, len(inputs), min(self.max_batch_size, concurrency)
        )
        token = ACTIVE_TICKET.set(ticket)
        try:
            return super().batch(inputs, configs, return_exceptions=return_exceptions, **kwargs)
        finally:
            ACTIVE_TICKET.reset(token)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Async twin of :meth:`batch`."""
        if len(inputs) < 2 or self.cache:
            return await super().abatch(
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        configs = get_config_list(config, len(inputs))
        concurrency = configs[0].get("max_concurrency") or len(inputs)
        ticket: PackTicket[GenerationJob] = PackTicket(
            self, len(inputs), min(self.max_batch_size, concurrency)
        )
        token = ACTIVE_TICKET.set(ticket)
        try:
            return await super().abatch(
                inputs, configs, return_exceptions=return_exceptions, **kwargs
            )
        finally:
            ACTIVE_TICKET.reset(token)
