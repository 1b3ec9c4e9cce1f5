"""``FastinoPIIMiddleware``: Fastino PII detection for ``langchain.agents.create_agent``.

Personal data in the user's messages (and, by default, in tool results) is
replaced before the model sees it, with the
:class:`~langchain_mlstudio.FastinoPIITransformer`'s strategies or ``block``.
With ``pseudonymize`` the model works on placeholders (``<FULL_NAME_1_K7Q2X>``):
placeholders in its tool-call arguments are restored before the tool runs, so
the tool gets the real value, and the final answer is restored when
``restore_output=True``. Restoring is scoped to the conversation: only
placeholders that this conversation's own data produced are ever restored.
Detection failures fail closed: the run stops with
:class:`~langchain_mlstudio.PIIDetectionError` and nothing unredacted reaches
the model.

Requires the ``agents`` extra: ``pip install 'langchain-mlstudio[agents]'``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain.agents.middleware import AgentMiddleware, AgentState, ToolCallRequest
from langchain.agents.middleware.types import PrivateStateAttr
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.types import Command
from typing_extensions import NotRequired

from langchain_mlstudio.agents._content import TextPart, replace_texts, texts_of
from langchain_mlstudio.errors import ConfigurationError, PIIDetectionError
from langchain_mlstudio.fastino import FastinoPIITransformer

__all__ = ["FastinoPIIMiddleware", "FastinoPIIState", "MiddlewareStrategy"]

#: The transformer's strategies, or ``block`` (stop the run on personal data).
MiddlewareStrategy = Literal["redact", "mask", "hash", "pseudonymize", "block"]

#: What the Pseudonymizer writes: ``<FULL_NAME_1>``, or with the mapping's
#: namespace, ``<FULL_NAME_1_K7Q2X>``.
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_\d+(?:_[A-Z0-9]{1,16})?>")

_STATE_KEY = "fastino_pii"


class FastinoPIIState(AgentState[Any]):
    """The agent state with the middleware's private bookkeeping.

    ``fastino_pii`` is private (never in the agent's input or output) and
    holds no personal data: digests of the messages already redacted, the
    placeholders this conversation produced, and the placeholder text of a
    final answer that was restored for the user.
    """

    fastino_pii: NotRequired[Annotated[dict[str, Any], PrivateStateAttr]]


def _digest(content: Any) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class _MessageCheck:
    """A message to check: its text parts and, once checked, their new texts."""

    message: AnyMessage
    parts: list[TextPart]
    new: list[str | None] = field(default_factory=list)
    found: bool = False


class FastinoPIIMiddleware(AgentMiddleware[FastinoPIIState, Any, Any]):
    """Keep personal data away from an agent's model, with Fastino's PII model.

    Before every model call, each user message (and each tool result, unless
    ``apply_to_tool_results=False``, and each earlier answer a client sent
    back in its own history) not yet seen is sent to Fastino and rewritten in
    the agent's state: the model only ever receives the redacted text. The
    model's own answers are marked as seen (they were written from redacted
    text). Text content blocks are rewritten one by one; images and
    other blocks are kept as they are, so structured content stays valid.

    Strategies (``strategy``, default: the transformer's):

    * ``redact`` (``<FULL_NAME>``), ``mask`` (``************``), ``hash``
      (``<FULL_NAME_3f9a0c1e>``, keyed HMAC) -- as the transformer writes them;
    * ``pseudonymize`` (``<FULL_NAME_1_K7Q2X>``) -- placeholders in the model's
      tool-call arguments are restored before the tool runs (the arguments
      stay the same JSON types), and the final answer is restored for the
      user when ``restore_output=True``;
    * ``block`` -- the run stops with :class:`PIIDetectionError` naming the
      message (never the value) as soon as a message contains personal data.

    Restoring is scoped to the conversation (the thread): a placeholder is
    restored only if this conversation's own data produced it, so neither a
    user typing another conversation's placeholder nor a model guessing one
    can read another conversation's value.

    Args:
        transformer: The :class:`FastinoPIITransformer` that detects and
            replaces (its ``entity_types``, ``threshold``, client...). Built
            from ``transformer_kwargs`` when omitted.
        strategy: Overrides the transformer's strategy, or ``"block"``.
        apply_to_tool_results: Also redact tool results before the model
            reads them (default ``True``).
        restore_output: Restore placeholders in the final answer
            (``pseudonymize`` only).
        restore_tool_args: Which tools get the real values behind the
            placeholders in their arguments: ``True`` (every tool, the
            default), the names of the tools that need them (e.g. your CRM
            lookup, not a third-party scoring service), or ``False``.
        **transformer_kwargs: Settings of the transformer built when
            ``transformer`` is omitted (``api_key``, ``base_url``, ...).

    Raises:
        ConfigurationError: ``restore_output=True`` without ``pseudonymize``.

    Example:
        >>> pii = FastinoPIIMiddleware(api_key="k", strategy="pseudonymize",
        ...                            restore_output=True)
        >>> pii.strategy, pii.apply_to_tool_results
        ('pseudonymize', True)

        In an agent::

            from langchain.agents import create_agent
            agent = create_agent(model, tools=[lookup_customer],
                                 middleware=[pii])
            agent.invoke({"messages": [("user", "Refund Jamie Derran")]})
            # the model saw 'Refund <FULL_NAME_1_K7Q2X>'; lookup_customer got 'Jamie Derran'
    """

    state_schema = FastinoPIIState

    def __init__(
        self,
        transformer: FastinoPIITransformer | None = None,
        *,
        strategy: MiddlewareStrategy | None = None,
        apply_to_tool_results: bool = True,
        restore_output: bool = False,
        restore_tool_args: bool | Collection[str] = True,
        **transformer_kwargs: Any,
    ) -> None:
        super().__init__()
        if transformer is None:
            detect_with = "redact" if strategy in (None, "block") else strategy
            transformer = FastinoPIITransformer(
                **{"strategy": detect_with, **transformer_kwargs, "on_error": "raise"}
            )
        elif transformer_kwargs:
            msg = "Pass either a transformer or its settings, not both"
            raise ConfigurationError(msg)
        elif strategy not in (None, "block", transformer.strategy):
            msg = f"strategy={strategy!r} differs from the transformer's {transformer.strategy!r}"
            raise ConfigurationError(msg, hint="Set the strategy on the transformer.")
        self.transformer = transformer
        self.strategy: MiddlewareStrategy = strategy or transformer.strategy
        self.apply_to_tool_results = apply_to_tool_results
        self.restore_output = restore_output
        self.restore_tool_args = (
            restore_tool_args
            if isinstance(restore_tool_args, bool)
            else frozenset(restore_tool_args)
        )
        if restore_output and self.strategy != "pseudonymize":
            msg = "restore_output=True needs strategy='pseudonymize'"
            raise ConfigurationError(msg, hint="Only placeholders can be put back.")

    # -- what needs redacting ------------------------------------------------

    def _wanted(self, message: AnyMessage) -> bool:
        # AI messages too: a client that keeps the history itself sends back
        # earlier (restored) answers. The model's own answers are marked as
        # checked in after_model, so they cost nothing.
        if isinstance(message, HumanMessage | AIMessage):
            return True
        return self.apply_to_tool_results and isinstance(message, ToolMessage)

    def _plan(
        self, state: dict[str, Any]
    ) -> tuple[dict[str, Any], list[_MessageCheck], list[AnyMessage]]:
        """Bookkeeping, the messages to check, and the answers to swap back."""
        book = dict(state.get(_STATE_KEY) or {})
        book = {
            "done": dict(book.get("done", {})),
            "tokens": list(book.get("tokens", [])),
            "restored": dict(book.get("restored", {})),
        }
        pending: list[_MessageCheck] = []
        swap: list[AnyMessage] = []
        for message in state.get("messages", []):
            mid = message.id or ""
            if isinstance(message, AIMessage) and mid in book["restored"]:
                swap.append(message)
            elif self._wanted(message) and book["done"].get(mid) != _digest(message.content):
                # Skipped only if it is exactly what this middleware wrote: a
                # message sent again under a known id is checked again.
                parts = [TextPart(text) for text in texts_of(message.content)]
                pending.append(_MessageCheck(message, parts, [None] * len(parts)))
        return book, pending, swap

    @staticmethod
    def _documents_for(pending: list[_MessageCheck]) -> list[Document]:
        """One document per text still to check, named ``message:part:text``."""
        return [
            Document(page_content=text, id=f"{m}:{p}:{t}")
            for m, item in enumerate(pending)
            for p, part in enumerate(item.parts)
            if item.new[p] is None
            for t, text in enumerate(part.texts())
        ]

    @staticmethod
    def _take_checked(
        pending: list[_MessageCheck], docs: list[Document], results: Sequence[Document]
    ) -> bool:
        """Put the checked texts back; ``True`` if some JSON part needs a finer pass."""
        by_id = {doc.id: doc for doc in results}
        missing = [doc.id or "" for doc in docs if doc.id not in by_id]
        if missing:
            # A transformer that drops failed documents must not let them through.
            msg = f"PII detection failed for {len(missing)} text(s) of the conversation"
            raise PIIDetectionError(msg, document_ids=missing)
        again = False
        for m, item in enumerate(pending):
            for p, part in enumerate(item.parts):
                if item.new[p] is not None:
                    continue
                outs = [by_id[f"{m}:{p}:{t}"] for t in range(len(part.texts()))]
                item.found |= any(out.metadata.get("pii_entities") for out in outs)
                rebuilt = part.rebuild([out.page_content for out in outs])
                if rebuilt is None and not part.fine:
                    part.fine, again = True, True
                elif rebuilt is None:
                    msg = "A redacted JSON value could not be put back"
                    raise PIIDetectionError(msg, document_ids=[f"{m}:{p}"])
                else:
                    item.new[p] = rebuilt
        return again

    def _state_update(
        self, book: dict[str, Any], pending: list[_MessageCheck], swap: list[AnyMessage]
    ) -> dict[str, Any] | None:
        if not pending and not swap:
            return None
        updates: list[AnyMessage] = []
        tokens = set(book["tokens"])
        for item in pending:
            message = item.message
            if self.strategy == "block" and item.found:
                kind = {"human": "user message", "ai": "earlier answer"}.get(
                    message.type, "tool result"
                )
                msg = f"A {kind} contains personal data and strategy='block' stops the run"
                raise PIIDetectionError(
                    msg,
                    document_ids=[message.id or ""],
                    hint="Remove the personal data, or use another strategy.",
                )
            for part, after in zip(item.parts, item.new, strict=True):
                # Only placeholders the redaction wrote, never ones typed in.
                tokens |= set(_PLACEHOLDER.findall(after or "")) - set(
                    _PLACEHOLDER.findall(part.text)
                )
            content = replace_texts(message.content, [t or "" for t in item.new])
            book["done"][message.id or ""] = _digest(content)
            if content != message.content:
                updates.append(message.model_copy(update={"content": content}))
        for message in swap:
            content = book["restored"].pop(message.id or "")
            updates.append(message.model_copy(update={"content": content}))
        book["tokens"] = sorted(tokens)
        return {"messages": updates, _STATE_KEY: book}

    # -- hooks -------------------------------------------------------------

    def before_model(self, state: FastinoPIIState, runtime: Any) -> dict[str, Any] | None:
        """Redact new user messages and tool results before the model reads them."""
        book, pending, swap = self._plan(dict(state))
        for _ in range(2):  # a second, finer pass only for JSON values that crossed a line
            docs = self._documents_for(pending)
            results = self.transformer.transform_documents(docs) if docs else []
            if not self._take_checked(pending, docs, results):
                break
        return self._state_update(book, pending, swap)

    async def abefore_model(self, state: FastinoPIIState, runtime: Any) -> dict[str, Any] | None:
        """Async twin of :meth:`before_model`."""
        book, pending, swap = self._plan(dict(state))
        for _ in range(2):
            docs = self._documents_for(pending)
            results = await self.transformer.atransform_documents(docs) if docs else []
            if not self._take_checked(pending, docs, results):
                break
        return self._state_update(book, pending, swap)

    def after_model(self, state: FastinoPIIState, runtime: Any) -> dict[str, Any] | None:
        """Mark the model's answer as checked: it was written from redacted text."""
        messages = state.get("messages", [])
        final = messages[-1] if messages else None
        if not isinstance(final, AIMessage):
            return None
        book: dict[str, Any] = dict(state.get("fastino_pii") or {})
        book["done"] = {**book.get("done", {}), final.id or "": _digest(final.content)}
        return {_STATE_KEY: book}

    async def aafter_model(self, state: FastinoPIIState, runtime: Any) -> dict[str, Any] | None:
        """Async twin of :meth:`after_model`."""
        return self.after_model(state, runtime)

    def _restore(self, value: Any, tokens: set[str]) -> Any:
        """``value`` with this conversation's placeholders restored in every string."""
        if isinstance(value, str):
            # The transformer's scoped restore: only these tokens, also where
            # the model changed their case or spacing; nothing else.
            return self.transformer.restore(value, scope=sorted(tokens))
        if isinstance(value, dict):
            return {self._restore(k, tokens): self._restore(v, tokens) for k, v in value.items()}
        if isinstance(value, list):
            return [self._restore(v, tokens) for v in value]
        return value

    def _restores_for(self, tool_name: str) -> bool:
        if isinstance(self.restore_tool_args, bool):
            return self.restore_tool_args
        return tool_name in self.restore_tool_args

    def _tokens(self, state: Any) -> set[str]:
        book = state.get(_STATE_KEY) if isinstance(state, dict) else None
        return set((book or {}).get("tokens", []))

    def _restored_request(self, request: ToolCallRequest) -> ToolCallRequest:
        if self.strategy != "pseudonymize" or not self._restores_for(request.tool_call["name"]):
            return request
        tokens = self._tokens(request.state)
        args = request.tool_call.get("args", {})
        restored = self._restore(args, tokens)
        if restored == args:
            return request
        return request.override(tool_call={**request.tool_call, "args": restored})

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        """Give the tool the real values behind the model's placeholders."""
        return handler(self._restored_request(request))

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        """Async twin of :meth:`wrap_tool_call`."""
        return await handler(self._restored_request(request))

    def after_agent(self, state: FastinoPIIState, runtime: Any) -> dict[str, Any] | None:
        """Restore the final answer for the user (``restore_output=True``)."""
        if not self.restore_output:
            return None
        messages = state.get("messages", [])
        final = messages[-1] if messages else None
        if not isinstance(final, AIMessage) or final.tool_calls:
            return None
        tokens = self._tokens(state)
        texts = texts_of(final.content)
        restored = [self._restore(text, tokens) for text in texts]
        if restored == texts:
            return None
        book: dict[str, Any] = dict(state.get("fastino_pii") or {})
        # Kept so the next turn shows the model its own placeholder text again.
        book["restored"] = {**book.get("restored", {}), final.id or "": final.content}
        update = final.model_copy(update={"content": replace_texts(final.content, restored)})
        return {"messages": [update], _STATE_KEY: book}

    async def aafter_agent(self, state: FastinoPIIState, runtime: Any) -> dict[str, Any] | None:
        """Async twin of :meth:`after_agent`."""
        return self.after_agent(state, runtime)
