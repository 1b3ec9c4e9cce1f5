"""``with_structured_output`` for models with no JSON mode: prompt, parse, validate, re-ask.

Each input's conversation gets an instruction (the JSON schema, "JSON only",
or a forced prompted tool call); the answer is parsed tolerantly (code fences,
text around the object) and validated. An answer that fails is re-asked with
the error, at most ``structured_output_retries`` times. In ``batch`` every
round is one ``batch`` call over the inputs still invalid, so first attempts
share jobs and so do the re-asks of each round; an answer that validated is
never sent again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import get_config_list

from langchain_mlstudio.chat_models._instructions import (
    json_mode_instruction,
    reask_text,
    schema_instruction,
    with_instruction,
)
from langchain_mlstudio.chat_models._parsing import JSONNotFoundError, extract_json
from langchain_mlstudio.chat_models._prompted_tools import PromptedTools
from langchain_mlstudio.chat_models._schemas import InvalidAnswerError, OutputSchema
from langchain_mlstudio.errors import StructuredOutputError, ToolCallingNotEnabledError

__all__ = ["Method", "StructuredOutput", "structured_output"]

Method = Literal["json_schema", "json_mode", "function_calling"]
_METHODS = ("json_schema", "json_mode", "function_calling")


def to_messages(value: LanguageModelInput) -> list[BaseMessage]:
    """Any chat-model input (text, messages, prompt value) as a message list.

    Example:
        >>> [m.type for m in to_messages("Hi")]
        ['human']
    """
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, str):
        return [HumanMessage(value)]
    return convert_to_messages(value)


@dataclass
class _Conversation:
    """One input's attempts: what to send next, and how its last answer fared."""

    messages: list[BaseMessage]
    raw: Any = None
    parsed: Any = None
    error: StructuredOutputError | None = None
    failure: BaseException | None = None
    attempts: int = 0


class StructuredOutput(Runnable[LanguageModelInput, Any]):
    """A chat model whose answers come back parsed into a schema.

    Made by ``with_structured_output``; see
    :meth:`~langchain_mlstudio.chat_models.BaseChatGenerationJob.with_structured_output`.
    """

    def __init__(
        self,
        model: BaseChatModel,
        schema: OutputSchema | None,
        *,
        method: Method,
        include_raw: bool,
        retries: int,
        strict: bool | None = None,
    ) -> None:
        self.model, self.schema, self.method = model, schema, method
        self.include_raw, self.retries = include_raw, retries
        self.name = f"StructuredOutput[{schema.name if schema else 'json'}]"
        self._tools = (
            PromptedTools([schema.tool], schema.name)
            if method == "function_calling" and schema is not None
            else None
        )
        self._call_kwargs: dict[str, Any] = {}
        if schema is not None:
            kwargs: dict[str, Any] = {"method": method}
            if strict is not None:
                kwargs["strict"] = strict
            self._call_kwargs["ls_structured_output_format"] = {
                "kwargs": kwargs,
                "schema": schema.original,
            }

    # -- one conversation -----------------------------------------------------

    def _start(self, value: LanguageModelInput) -> _Conversation:
        messages = to_messages(value)
        if self._tools is not None:
            return _Conversation(self._tools.prepare(messages))
        if self.method == "json_mode" or self.schema is None:
            instruction = json_mode_instruction()
        else:
            instruction = schema_instruction(self.schema.parameters)
        return _Conversation(with_instruction(messages, instruction))

    def _parse(self, answer: AIMessage) -> tuple[Any, Any]:
        """The parsed value and the message to report as ``raw``."""
        if self._tools is not None:
            message, error = self._tools.answer(answer)
            if error is not None:
                raise InvalidAnswerError(error)
            if not message.tool_calls:
                msg = f"the answer calls no tool, but {self._tools.choice!r} is required"
                raise InvalidAnswerError(msg)
            assert self.schema is not None  # noqa: S101
            return self.schema.validate(message.tool_calls[0]["args"]), message
        try:
            found = extract_json(answer.text)
        except JSONNotFoundError as exc:
            raise InvalidAnswerError(str(exc)) from None
        return (self.schema.validate(found) if self.schema else found), answer

    def _take(self, conversation: _Conversation, answer: Any, last: bool) -> bool:
        """Record one answer; True when it must be re-asked."""
        conversation.attempts += 1
        if isinstance(answer, BaseException):
            conversation.failure = answer  # the service failed: nothing to re-ask
            return False
        conversation.raw = answer
        try:
            conversation.parsed, conversation.raw = self._parse(answer)
        except InvalidAnswerError as exc:
            conversation.error = StructuredOutputError(
                f"The model's answer was still invalid after "
                f"{conversation.attempts} attempt(s): {exc}",
                llm_output=answer.text,
                attempts=conversation.attempts,
            )
            if last:
                return False
            text = reask_text(str(exc), tools=self._tools is not None)
            conversation.messages = [
                *conversation.messages,
                AIMessage(answer.text),
                HumanMessage(text),
            ]
            return True
        conversation.error = None
        return False

    def _outcome(self, conversation: _Conversation) -> Any:
        if conversation.failure is not None:
            return conversation.failure  # a service error is raised, never a parsing_error
        error = conversation.error
        if self.include_raw:
            return {
                "raw": conversation.raw,
                "parsed": None if error is not None else conversation.parsed,
                "parsing_error": error,
            }
        return error if error is not None else conversation.parsed

    def _value(self, conversation: _Conversation) -> Any:
        """The outcome of one ``invoke``: raised when it is an error, else returned."""
        outcome = self._outcome(conversation)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    # -- rounds ---------------------------------------------------------------
    # Each round asks every conversation still pending at once (one packed
    # ``batch`` of the model), then keeps only those whose answer must be re-asked.

    def _still_pending(
        self,
        conversations: list[_Conversation],
        pending: list[int],
        answers: list[Any],
        round_: int,
    ) -> list[int]:
        last = round_ == self.retries
        return [
            i
            for i, answer in zip(pending, answers, strict=True)
            if self._take(conversations[i], answer, last)
        ]

    def _rounds(
        self,
        values: Sequence[LanguageModelInput],
        ask: Callable[[list[int], list[_Conversation]], list[Any]],
    ) -> list[_Conversation]:
        conversations = [self._start(value) for value in values]
        pending = list(range(len(conversations)))
        for round_ in range(self.retries + 1):
            if not pending:
                break
            answers = ask(pending, [conversations[i] for i in pending])
            pending = self._still_pending(conversations, pending, answers, round_)
        return conversations

    async def _arounds(
        self,
        values: Sequence[LanguageModelInput],
        ask: Callable[[list[int], list[_Conversation]], Awaitable[list[Any]]],
    ) -> list[_Conversation]:
        conversations = [self._start(value) for value in values]
        pending = list(range(len(conversations)))
        for round_ in range(self.retries + 1):
            if not pending:
                break
            answers = await ask(pending, [conversations[i] for i in pending])
            pending = self._still_pending(conversations, pending, answers, round_)
        return conversations

    # -- Runnable ---------------------------------------------------------------

    def _invoke(
        self,
        value: LanguageModelInput,
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> Any:
        def ask(_: list[int], todo: list[_Conversation]) -> list[Any]:
            return [self.model.invoke(todo[0].messages, config, **self._call_kwargs)]

        return self._value(self._rounds([value], ask)[0])

    async def _ainvoke(
        self,
        value: LanguageModelInput,
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> Any:
        async def ask(_: list[int], todo: list[_Conversation]) -> list[Any]:
            return [await self.model.ainvoke(todo[0].messages, config, **self._call_kwargs)]

        return self._value((await self._arounds([value], ask))[0])

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """Ask, parse, validate and re-ask until valid or out of retries.

        Raises:
            StructuredOutputError: Still invalid after every re-ask (unless
                ``include_raw=True``, which reports it as ``parsing_error``).
        """
        return self._call_with_config(self._invoke, input, config, run_type="chain")

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        """Async twin of :meth:`invoke`."""
        return await self._acall_with_config(self._ainvoke, input, config, run_type="chain")

    def _batch(
        self,
        values: list[LanguageModelInput],
        run_manager: list[CallbackManagerForChainRun],
        config: list[RunnableConfig],
    ) -> list[Any]:
        def ask(indices: list[int], todo: list[_Conversation]) -> list[Any]:
            return self.model.batch(
                [c.messages for c in todo],
                [config[i] for i in indices],
                return_exceptions=True,
                **self._call_kwargs,
            )

        return [self._outcome(c) for c in self._rounds(values, ask)]

    async def _abatch(
        self,
        values: list[LanguageModelInput],
        run_manager: list[AsyncCallbackManagerForChainRun],
        config: list[RunnableConfig],
    ) -> list[Any]:
        async def ask(indices: list[int], todo: list[_Conversation]) -> list[Any]:
            return await self.model.abatch(
                [c.messages for c in todo],
                [config[i] for i in indices],
                return_exceptions=True,
                **self._call_kwargs,
            )

        return [self._outcome(c) for c in await self._arounds(values, ask)]

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Many inputs: each round of attempts is one packed ``batch`` of the model."""
        if not inputs:
            return []
        return self._batch_with_config(
            self._batch,
            inputs,
            get_config_list(config, len(inputs)),
            return_exceptions=return_exceptions,
            run_type="chain",
        )

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Async twin of :meth:`batch`."""
        if not inputs:
            return []
        return await self._abatch_with_config(
            self._abatch,
            inputs,
            get_config_list(config, len(inputs)),
            return_exceptions=return_exceptions,
            run_type="chain",
        )


def structured_output(
    model: BaseChatModel,
    schema: Any,
    *,
    method: str,
    include_raw: bool,
    retries: int,
    tool_calling: str,
    strict: bool | None = None,
    **kwargs: Any,
) -> StructuredOutput:
    """Check the arguments of ``with_structured_output`` (before any request).

    Raises:
        ValueError: An unknown method or keyword, or no schema where one is needed.
        ToolCallingNotEnabledError: ``function_calling`` without prompted tools.
    """
    if kwargs:
        msg = f"with_structured_output got unexpected arguments: {sorted(kwargs)}"
        raise ValueError(msg)
    if method not in _METHODS:
        msg = f"method must be one of {list(_METHODS)}, got {method!r}"
        raise ValueError(msg)
    if schema is None and method != "json_mode":
        msg = f"method={method!r} needs a schema (or use method='json_mode')"
        raise ValueError(msg)
    if method == "function_calling" and tool_calling != "prompted":
        msg = (
            "with_structured_output(method='function_calling'): the generate-job API has "
            "no tool calling; use method='json_schema' (the default)"
        )
        raise ToolCallingNotEnabledError(msg)
    parsed = OutputSchema.of(schema) if schema is not None else None
    return StructuredOutput(
        model,
        parsed,
        method=cast("Method", method),
        include_raw=include_raw,
        retries=retries,
        strict=strict,
    )
