"""Convert LangChain messages to the generate-job API's conversation format.

System, human and AI messages become ``system`` / ``user`` / ``assistant``,
in order. Images (LangChain image blocks, OpenAI-style ``image_url`` parts and
base64 data URLs) become the API's vision parts
``{"type": "image_url", "image_url": {"url": ...}}``. Anything the API cannot
carry (tool calls, tool results, audio, files) raises
:class:`~langchain_mlstudio.InvalidInputError` before any request is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)

from langchain_mlstudio.errors import InvalidInputError

__all__ = ["apply_stop", "convert_messages"]

_ROLES = ("system", "user", "assistant")


def _unsupported(what: str) -> InvalidInputError:
    return InvalidInputError(
        f"The generate-job API cannot carry {what}",
        hint=(
            "Send only system, human and AI messages with text or image content "
            "(these models do not support tools, audio or files)."
        ),
    )


def _image_part(block: dict[str, Any]) -> dict[str, Any]:
    """One image block in any LangChain shape, as the API's vision part."""
    if block.get("type") == "image_url":
        image = block.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
    elif block.get("base64") or block.get("source_type") == "base64":
        data = block.get("base64") or block.get("data")
        mime = block.get("mime_type") or "image/png"
        url = f"data:{mime};base64,{data}"
    else:
        url = block.get("url") or block.get("data")
    if not isinstance(url, str) or not url:
        raise _unsupported("an image block without a URL or base64 data")
    return {"type": "image_url", "image_url": {"url": url}}


def convert_content(content: str | list[Any]) -> str | list[dict[str, Any]]:
    """A message's content as a string, or as text and image parts.

    Example:
        >>> convert_content([{"type": "text", "text": "Hi"}])
        'Hi'
        >>> convert_content([{"type": "image", "base64": "AAA", "mime_type": "image/png"}])
        [{'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,AAA'}}]
    """
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
            continue
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            text = block.get("text", "")
            if not isinstance(text, str):
                # str() would send the literal "None" (or "42") as the prompt.
                raise _unsupported(f"a text block whose text is {type(text).__name__}")
            parts.append({"type": "text", "text": text})
        elif kind in ("image", "image_url"):
            parts.append(_image_part(block))
        elif kind in ("reasoning", "thinking"):
            continue  # a model's own reasoning is not part of the conversation
        else:
            raise _unsupported(f"content blocks of type {kind!r}")
    if all(part["type"] == "text" for part in parts):
        return "".join(part["text"] for part in parts)
    return parts


def convert_message(message: BaseMessage) -> dict[str, Any]:
    """One LangChain message as an API message.

    Example:
        >>> from langchain_core.messages import SystemMessage
        >>> convert_message(SystemMessage("Be brief."))
        {'role': 'system', 'content': 'Be brief.'}
    """
    if isinstance(message, SystemMessage):
        role = "system"
    elif isinstance(message, HumanMessage):
        role = "user"
    elif isinstance(message, AIMessage):
        if message.tool_calls or message.invalid_tool_calls:
            raise _unsupported("AI messages with tool calls")
        role = "assistant"
    elif isinstance(message, ChatMessage) and message.role in _ROLES:
        role = message.role
    else:
        kind = message.role if isinstance(message, ChatMessage) else message.type
        raise _unsupported(f"messages of type {kind!r}")
    return {"role": role, "content": convert_content(message.content)}


def convert_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """A LangChain message history as one API conversation, order kept.

    Raises:
        InvalidInputError: The list is empty, no message has any content
            (an empty string, ``content=[]``), or a message is one the API
            cannot carry.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> try:
        ...     convert_messages([HumanMessage(content=[])])
        ... except InvalidInputError as err:
        ...     err.message
        'The conversation has no content (1 message(s), all empty)'

    """
    if not messages:
        msg = "Cannot generate from an empty list of messages"
        raise InvalidInputError(msg)
    conversation = [convert_message(message) for message in messages]
    if not any(_has_content(message["content"]) for message in conversation):
        raise InvalidInputError(
            f"The conversation has no content ({len(conversation)} message(s), all empty)",
            hint="Send at least one message with text or an image; nothing was sent.",
        )
    return conversation


def _has_content(content: str | list[dict[str, Any]]) -> bool:
    if isinstance(content, str):
        return bool(content.strip())
    return any(part["type"] != "text" or part["text"].strip() for part in content)


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
