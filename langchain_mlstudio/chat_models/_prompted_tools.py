"""Prompted tool calling: tools described in a system instruction, calls parsed back.

The generate-job API has no tool calling. With ``tool_calling="prompted"``,
``bind_tools`` binds the tools (in the OpenAI format, so tracing shows them)
and each generation:

1. renders the history as text the model can read: an AI message's tool calls
   as the ``{"tool_calls": [...]}`` JSON it was asked to write, each
   ``ToolMessage`` as a user message starting with ``Tool result for call``;
2. adds the tool instruction (:func:`~._instructions.tools_instruction`) to
   the system message;
3. parses the answer into ``AIMessage.tool_calls`` (with fresh ids), checking
   each call's name and arguments against the tools and ``tool_choice``;
4. re-asks a malformed call with the error, at most
   ``structured_output_retries`` times, then returns the answer with its
   calls in ``invalid_tool_calls`` (as LangChain does for native tool calls
   that fail to parse).
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.tool import ToolCall, invalid_tool_call, tool_call
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_mlstudio.chat_models._instructions import (
    TOOL_ERROR_PREFIX,
    TOOL_RESULT_PREFIX,
    reask_text,
    tools_instruction,
    with_instruction,
)
from langchain_mlstudio.chat_models._jsonschema import schema_errors
from langchain_mlstudio.chat_models._parsing import JSONNotFoundError, extract_json
from langchain_mlstudio.chat_models._schemas import InvalidAnswerError
from langchain_mlstudio.errors import InvalidInputError, ToolCallingNotEnabledError

__all__ = [
    "PromptedTools",
    "ToolTurns",
    "agenerate_with_tools",
    "generate_with_tools",
    "prepare_tools",
]

_ANY = frozenset({"any", "required"})
_ARGUMENT_KEYS = ("arguments", "args", "parameters", "input")


def _choice(tool_choice: Any, names: Sequence[str]) -> str:
    """``tool_choice`` in any LangChain spelling as auto / any / none / a name."""
    if tool_choice is None or tool_choice == "auto":
        return "auto"
    if tool_choice is True or (isinstance(tool_choice, str) and tool_choice in _ANY):
        return names[0] if tool_choice is True and len(names) == 1 else "any"
    if tool_choice is False or tool_choice == "none":
        return "none"
    if isinstance(tool_choice, Mapping):  # OpenAI {"function": {"name"}} or {"name"}
        function = tool_choice.get("function", tool_choice)
        tool_choice = function.get("name") if isinstance(function, Mapping) else None
    if isinstance(tool_choice, str) and tool_choice in names:
        return tool_choice
    msg = f"tool_choice must be 'auto', 'any', 'none' or one of {list(names)}, got {tool_choice!r}"
    raise ValueError(msg)


def prepare_tools(
    tool_calling: str, tools: Sequence[Any], tool_choice: Any
) -> tuple[list[dict[str, Any]], str]:
    """The tools in the OpenAI format and the normalised choice, checked before any request.

    Raises:
        ToolCallingNotEnabledError: ``tool_calling`` is not ``"prompted"``.
        ValueError: No tool, a tool that cannot be converted, or a
            ``tool_choice`` naming no bound tool.

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     '''Add two numbers.'''
        ...     return a + b
        >>> tools, choice = prepare_tools("prompted", [add], "add")
        >>> tools[0]["function"]["name"], choice
        ('add', 'add')
    """
    if tool_calling != "prompted":
        msg = (
            "bind_tools: the model was created without tool_calling='prompted', and the "
            "generate-job API itself takes only text and images; nothing was sent"
        )
        raise ToolCallingNotEnabledError(msg)
    formatted: list[dict[str, Any]] = []
    for tool in map(convert_to_openai_tool, tools):
        name = tool["function"]["name"]
        if any(seen["function"]["name"] == name for seen in formatted):
            warnings.warn(
                f"Two tools are named {name!r}; the model is shown the first only",
                stacklevel=3,
            )
            continue
        formatted.append(tool)
    names = [tool["function"]["name"] for tool in formatted]
    if not names:
        msg = "bind_tools needs at least one tool"
        raise ValueError(msg)
    return formatted, _choice(tool_choice, names)


def _text(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif isinstance(block, Mapping) and block.get("type") in ("tool_use", "tool_call"):
            continue  # the same calls as message.tool_calls, rendered from there
        else:
            kind = block.get("type") if isinstance(block, Mapping) else type(block).__name__
            msg = f"Prompted tool calling can only send text in tool messages, not {kind!r}"
            raise InvalidInputError(msg)
    return "".join(parts)


def render_history(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Tool calls and tool results as text, so the API can carry them.

    Example:
        >>> from langchain_core.messages import AIMessage, ToolMessage
        >>> calls = [{"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]
        >>> history = [AIMessage("", tool_calls=calls), ToolMessage("3", tool_call_id="c1")]
        >>> out = render_history(history)
        >>> out[0].content
        '{"tool_calls": [{"id": "c1", "name": "add", "arguments": {"a": 1}}]}'
        >>> print(out[1].content)
        Tool result for call c1 (add):
        3
    """
    names: dict[str, str] = {}
    rendered: list[BaseMessage] = []
    results: list[str] = []
    for message in messages:
        if not isinstance(message, ToolMessage) and results:
            rendered.append(HumanMessage("\n\n".join(results)))
            results = []
        if isinstance(message, AIMessage) and message.invalid_tool_calls and not message.tool_calls:
            # A call that never parsed: its text is the content, as the model wrote it.
            rendered.append(AIMessage(_text(message.content)))
        elif isinstance(message, AIMessage) and message.tool_calls:
            calls = [
                {"id": call["id"], "name": call["name"], "arguments": call["args"]}
                for call in message.tool_calls
            ]
            names.update((str(call["id"]), call["name"]) for call in message.tool_calls)
            text = _text(message.content).strip()
            body = json.dumps({"tool_calls": calls}, ensure_ascii=False)
            rendered.append(AIMessage(f"{text}\n{body}" if text else body))
        elif isinstance(message, ToolMessage):
            name = names.get(message.tool_call_id) or message.name or "tool"
            prefix = TOOL_ERROR_PREFIX if message.status == "error" else TOOL_RESULT_PREFIX
            results.append(f"{prefix} {message.tool_call_id} ({name}):\n{_text(message.content)}")
        else:
            rendered.append(message)
    if results:
        rendered.append(HumanMessage("\n\n".join(results)))
    return rendered


def _new_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


@dataclass(frozen=True)
class PromptedTools:
    """Bound tools and ``tool_choice``: the instruction and the answer parser.

    Example:
        >>> tools = [{"name": "add", "description": "Add.", "parameters": {"type": "object",
        ...     "properties": {"a": {"type": "integer"}}, "required": ["a"]}}]
        >>> [call["args"] for call in PromptedTools(tools, "any").parse(
        ...     'Sure: {"tool_calls": [{"name": "add", "arguments": {"a": 2}}]}')]
        [{'a': 2}]
    """

    tools: Sequence[Mapping[str, Any]]
    choice: str

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any], tool_calling: str) -> PromptedTools | None:
        """Pop ``tools`` / ``tool_choice`` (as bound by ``bind_tools``) from ``kwargs``.

        Raises:
            ToolCallingNotEnabledError: Tools were passed (say, with ``bind``)
                to a model without ``tool_calling="prompted"``.
        """
        tools = kwargs.pop("tools", None)
        choice = kwargs.pop("tool_choice", None)
        if not tools:
            return None
        if tool_calling != "prompted":
            prepare_tools(tool_calling, [], None)  # raises, naming the opt-in
        specs = [tool.get("function", tool) for tool in tools]
        names = [spec["name"] for spec in specs]
        return cls(specs, _choice(choice, names))

    @property
    def forced(self) -> bool:
        """Whether the answer must call a tool."""
        return self.choice not in ("auto", "none")

    def prepare(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        """The conversation to send: history rendered, instruction added."""
        return with_instruction(
            render_history(messages), tools_instruction(self.tools, self.choice)
        )

    def _calls_in(self, text: str) -> list[Any] | None:
        """The raw calls in an answer; ``None`` when it is a plain-text answer."""
        try:
            found = extract_json(text)
        except JSONNotFoundError as exc:
            if self.forced or '"tool_calls"' in text or "'tool_calls'" in text:
                raise InvalidAnswerError(str(exc)) from None
            return None
        if isinstance(found.get("tool_calls"), list):
            return list(found["tool_calls"])
        if isinstance(found.get("name"), str) and any(k in found for k in _ARGUMENT_KEYS):
            return [found]
        if self.forced:
            msg = 'The answer holds JSON but no {"tool_calls": [...]}'
            raise InvalidAnswerError(msg)
        return None

    def _check(self, raw: Any) -> ToolCall:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            msg = 'each tool call must be an object with a "name" and "arguments"'
            raise InvalidAnswerError(msg)
        name = raw["name"]
        spec = next((tool for tool in self.tools if tool["name"] == name), None)
        if spec is None:
            known = ", ".join(repr(tool["name"]) for tool in self.tools)
            msg = f"there is no tool {name!r}; the tools are {known}"
            raise InvalidAnswerError(msg)
        if self.forced and self.choice not in ("any", name):
            msg = f"you must call the tool {self.choice!r}, not {name!r}"
            raise InvalidAnswerError(msg)
        args: Any = next((raw[key] for key in _ARGUMENT_KEYS if key in raw), {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as exc:
                msg = f"the arguments of {name!r} are not valid JSON: {exc.msg}"
                raise InvalidAnswerError(msg) from None
        if not isinstance(args, dict):
            msg = f"the arguments of {name!r} must be a JSON object"
            raise InvalidAnswerError(msg)
        errors = schema_errors(args, spec.get("parameters") or {})
        if errors:
            msg = f"the arguments of {name!r} are invalid: " + "; ".join(errors)
            raise InvalidAnswerError(msg)
        return tool_call(name=name, args=args, id=_new_id())

    def parse(self, text: str) -> list[ToolCall] | None:
        """The tool calls of an answer, ``None`` for a plain-text answer.

        Raises:
            InvalidAnswerError: A malformed call, a call to an unknown tool, or
                no call where ``tool_choice`` demands one.
        """
        if self.choice == "none":
            return None
        raws = self._calls_in(text)
        if raws is None:
            return None
        if not raws and self.forced:
            msg = "the answer calls no tool, but a tool call is required"
            raise InvalidAnswerError(msg)
        return [self._check(raw) for raw in raws]

    def answer(self, message: BaseMessage) -> tuple[AIMessage, str | None]:
        """The model's answer as an ``AIMessage`` with tool calls, and the error if any."""
        text = _text(message.content)
        metadata = dict(message.response_metadata)
        try:
            calls = self.parse(text)
        except InvalidAnswerError as exc:
            failed = invalid_tool_call(name=None, args=text, id=_new_id(), error=str(exc))
            return AIMessage(text, invalid_tool_calls=[failed], response_metadata=metadata), str(
                exc
            )
        if calls is None:
            return AIMessage(text, response_metadata=metadata, id=message.id), None
        metadata["finish_reason"] = "tool_calls"
        return AIMessage("", tool_calls=calls, response_metadata=metadata, id=message.id), None

    def reask(self, conversation: list[BaseMessage], bad: str, error: str) -> list[BaseMessage]:
        """The conversation plus the bad answer and a re-ask naming the error."""
        text = reask_text(error, tools=True, may_answer_in_text=not self.forced)
        return [*conversation, AIMessage(bad), HumanMessage(text)]


Generate = Callable[..., ChatResult]
AGenerate = Callable[..., Awaitable[ChatResult]]


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


@dataclass
class ToolTurns:
    """One prompted tool-calling turn: the conversation to send until an answer is valid.

    A malformed call is re-asked with the error, ``retries`` times at most;
    the last answer is taken as it is (its call then in ``invalid_tool_calls``).

    Attributes:
        tools: The bound tools and the choice.
        conversation: What to send next.
        attempts_left: Answers still to come, this one included.
    """

    tools: PromptedTools
    conversation: list[BaseMessage]
    attempts_left: int

    @classmethod
    def start(
        cls, tools: PromptedTools, messages: Sequence[BaseMessage], retries: int
    ) -> ToolTurns:
        """The first attempt: ``messages`` with the tool instruction."""
        return cls(tools, tools.prepare(messages), retries + 1)

    def answered(self, raw: BaseMessage) -> ChatResult | None:
        """The turn's result once ``raw`` is valid (or was the last attempt), else ``None``.

        With ``None``, :attr:`conversation` holds the re-ask to send next.
        """
        self.attempts_left -= 1
        message, error = self.tools.answer(raw)
        if error is None or self.attempts_left <= 0:
            return _result(message)
        self.conversation = self.tools.reask(self.conversation, _text(raw.content), error)
        return None


def generate_with_tools(generate: Generate, turns: ToolTurns, **kwargs: Any) -> ChatResult:
    """Run one prompted tool-calling turn, re-asking a malformed call."""
    while True:
        done = turns.answered(generate(turns.conversation, **kwargs).generations[0].message)
        if done is not None:
            return done


async def agenerate_with_tools(agenerate: AGenerate, turns: ToolTurns, **kwargs: Any) -> ChatResult:
    """Async twin of :func:`generate_with_tools`."""
    while True:
        raw = (await agenerate(turns.conversation, **kwargs)).generations[0].message
        done = turns.answered(raw)
        if done is not None:
            return done
