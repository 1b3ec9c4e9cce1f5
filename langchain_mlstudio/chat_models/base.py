"""Chat models over the generate-job API: one implementation, two front doors."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal
from uuid import uuid4

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config

from langchain_mlstudio.chat_models._batching import BatchRun
from langchain_mlstudio.chat_models._messages import apply_stop, convert_messages
from langchain_mlstudio.chat_models._packing import BATCH_SLOT, PACKER, Group, Member
from langchain_mlstudio.chat_models._progress import ProgressReporter, langgraph_writer
from langchain_mlstudio.chat_models._prompted_tools import (
    PromptedTools,
    ToolTurns,
    agenerate_with_tools,
    generate_with_tools,
    prepare_tools,
)
from langchain_mlstudio.chat_models._runner import JobSpec, start_task, start_thread
from langchain_mlstudio.chat_models._settings import GenerationJobSettings
from langchain_mlstudio.chat_models._structured import structured_output

__all__ = ["BaseChatGenerationJob"]

logger = logging.getLogger("langchain_mlstudio.chat_models")

#: The run manager of the call in progress (LangChain hands ``_stream`` none).
_RUN_MANAGER: contextvars.ContextVar[
    CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | ProgressReporter | None
] = contextvars.ContextVar("langchain_mlstudio_run_manager", default=None)


class BaseChatGenerationJob(GenerationJobSettings):
    """A chat model that runs each request as a generation job and polls it.

    Subclasses only name their provider; see :class:`ChatModelStudio` and
    :class:`ChatIonosModelStudio` for the settings and examples.
    """

    def _result(self, member: Member, stop: list[str] | None, model: str) -> ChatResult:
        if member.error is not None:
            raise member.error
        assert member.outcome is not None  # noqa: S101
        job = member.outcome
        text, stopped = apply_stop(job.text_for(member.task_index), stop or self.stop)
        message = AIMessage(
            content=text,
            response_metadata={
                "model_name": model,
                "model_provider": self.provider,
                "job_id": job.job_id,
                "task_index": member.task_index,
                "finish_reason": "stop_sequence" if stopped else "stop",
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    # -- running jobs -----------------------------------------------------------

    def _join_job(
        self,
        messages: list[BaseMessage],
        reporter: ProgressReporter,
        kwargs: dict[str, Any],
        mode: Any,
    ) -> tuple[Member, Group, dict[str, Any]]:
        """Check the call, then put its conversation in a group that will be run.

        ``batch`` inputs go to their place in the batch's plan; other calls
        join concurrent calls that share the same settings (unless
        ``pack_concurrent_calls`` is off); a bad input never waits.
        """
        slot = BATCH_SLOT.get()
        if slot is not None and (slot.plan.owner is not self or slot.used):
            slot = None  # another model, or a nested call of this one
        if slot is not None:
            slot.used = True
        try:
            params = self._job_params(kwargs)
            runtime = self._runtime_now()
            member = Member(convert_messages(messages), reporter)
            runtime.client.build_payload([member.conversation], **params)
        except BaseException:
            if slot is not None:
                slot.plan.skip(slot.index)
            raise
        spec = JobSpec(
            runtime.client,
            runtime.slots,
            self.max_concurrent_jobs,
            job_timeout=self.job_timeout,
            plan=slot.plan if slot is not None else None,
            **params,
        )
        start = start_thread if mode == "sync" else start_task
        key = (runtime.key, tuple(params.values()), self.max_concurrent_jobs, mode)
        if slot is not None:
            group = slot.plan.group_for(slot.index, key)
            if group is not None:
                member.order = slot.index
                joined, first = group.enter(member)
                if first:
                    start(spec, group)
                if joined:
                    return member, group, params
            slot.plan.skip(slot.index)
            spec.plan = None
        if self.pack_concurrent_calls:
            group = PACKER.join(
                ("calls", *key, self.max_batch_size),
                member,
                max_size=self.max_batch_size,
                window=self.pack_window,
                start=lambda g: start(spec, g),
            )
        else:
            group = Group(None, 1, self.pack_window)
            group.enter(member)
            start(spec, group)
        return member, group, params

    @staticmethod
    def _left_running(group: Group, member: Member) -> str | None:
        """A cancelled caller's job id, if its conversation was already submitted."""
        if group.withdraw(member):
            return None
        with group.lock:
            if member.job_id is None or member.cancel_reported:
                return None  # the runner reports it once submitted
            member.cancel_reported = True
        logger.warning(
            "Call cancelled; its job %s (task %d) keeps running and holds its slot until it "
            "ends. Resume with client.wait_for_job(%r).",
            member.job_id,
            member.task_index,
            member.job_id,
        )
        return member.job_id

    def _reporter(
        self, run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None
    ) -> ProgressReporter:
        found = run_manager if run_manager is not None else _RUN_MANAGER.get()
        if isinstance(found, ProgressReporter):
            return found
        return ProgressReporter.for_run(found)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = PromptedTools.from_kwargs(kwargs, self.tool_calling)
        if tools is not None:
            turns = ToolTurns.start(tools, messages, self.structured_output_retries)
            return generate_with_tools(
                self._generate, turns, stop=stop, run_manager=run_manager, **kwargs
            )
        member, group, params = self._join_job(
            messages, self._reporter(run_manager), kwargs, "sync"
        )
        try:
            group.done.wait()
        except BaseException:  # Ctrl-C: stop waiting, the job is followed in the background
            job_id = self._left_running(group, member)
            if job_id is not None:
                member.reporter.cancelled(job_id, member.task_index)
            raise
        return self._result(member, stop, params["model"])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = PromptedTools.from_kwargs(kwargs, self.tool_calling)
        if tools is not None:
            turns = ToolTurns.start(tools, messages, self.structured_output_retries)
            return await agenerate_with_tools(
                self._agenerate, turns, stop=stop, run_manager=run_manager, **kwargs
            )
        loop = asyncio.get_running_loop()
        member, group, params = self._join_job(
            messages, self._reporter(run_manager), kwargs, ("async", id(loop))
        )
        try:
            await group.wait()
        except asyncio.CancelledError:
            job_id = self._left_running(group, member)
            if job_id is not None:
                outcome = member.reporter.cancelled(job_id, member.task_index)
                if outcome is not None:
                    await outcome
            raise
        return self._result(member, stop, params["model"])

    # LangChain calls ``_stream`` without the run manager it made; these keep it
    # in a context variable so job progress reaches the run on every path.

    def _generate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        token = _RUN_MANAGER.set(run_manager)
        try:
            return super()._generate_with_cache(messages, stop, run_manager, **kwargs)
        finally:
            _RUN_MANAGER.reset(token)

    async def _agenerate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        token = _RUN_MANAGER.set(run_manager)
        try:
            return await super()._agenerate_with_cache(messages, stop, run_manager, **kwargs)
        finally:
            _RUN_MANAGER.reset(token)

    def _stream_reporter(self, config: RunnableConfig, asynchronous: bool) -> ProgressReporter:
        """The reporter of a ``stream`` run, whose id we choose up front."""
        manager_cls = AsyncCallbackManager if asynchronous else CallbackManager
        manager = manager_cls.configure(
            config.get("callbacks"),
            self.callbacks,
            self.verbose,
            config.get("tags"),
            self.tags,
            config.get("metadata"),
            self.metadata,
        )
        return ProgressReporter(manager, config.get("run_id"), langgraph_writer())

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """Stream (one chunk once the job is done), with progress sent to the run."""
        config = {**ensure_config(config)}
        config["run_id"] = config.get("run_id") or uuid4()
        token = _RUN_MANAGER.set(self._stream_reporter(config, asynchronous=False))
        chunks = super().stream(input, config, stop=stop, **kwargs)
        try:
            first = next(chunks, None)  # the job runs here
        finally:
            _RUN_MANAGER.reset(token)
        if first is not None:
            yield first
            yield from chunks

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Async twin of :meth:`stream`."""
        config = {**ensure_config(config)}
        config["run_id"] = config.get("run_id") or uuid4()
        token = _RUN_MANAGER.set(self._stream_reporter(config, asynchronous=True))
        chunks = super().astream(input, config, stop=stop, **kwargs)
        try:
            first = await anext(chunks, None)
        finally:
            _RUN_MANAGER.reset(token)
        if first is not None:
            yield first
            async for chunk in chunks:
                yield chunk

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

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Run many inputs, packed in input order into as few jobs as ``max_batch_size`` allows.

        Each input is still its own run for callbacks and tracing; results come
        back in input order, and with ``return_exceptions=True`` a failed task
        becomes an exception in its own slot while the others still return.
        ``max_concurrency`` bounds the batch's jobs in flight, not the pack size.
        """
        if not inputs:
            return []
        return BatchRun(self, inputs, config, return_exceptions, kwargs).run()

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Async twin of :meth:`batch`."""
        if not inputs:
            return []
        return await BatchRun(self, inputs, config, return_exceptions, kwargs).arun()

    def batch_as_completed(  # type: ignore[override]
        self,
        inputs: Sequence[LanguageModelInput],
        config: RunnableConfig | Sequence[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> Iterator[tuple[int, AIMessage | Exception]]:
        """Like :meth:`batch`, yielding ``(index, result)`` as each input finishes."""
        if not inputs:
            return iter(())
        return BatchRun(self, inputs, config, return_exceptions, kwargs).run_as_completed()

    async def abatch_as_completed(  # type: ignore[override]
        self,
        inputs: Sequence[LanguageModelInput],
        config: RunnableConfig | Sequence[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[tuple[int, AIMessage | Exception]]:
        """Async twin of :meth:`batch_as_completed`."""
        if not inputs:
            return
        run = BatchRun(self, inputs, config, return_exceptions, kwargs)
        async for pair in run.arun_as_completed():
            yield pair
