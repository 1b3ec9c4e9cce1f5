"""The words this package puts in front of a model that has no JSON mode or tools.

The generate-job API takes plain conversations, so structured output and tool
calling are prompted: a system instruction describes the schema or the tools,
and answers are parsed. The tags (``<json_schema>``, ``<tools>``,
``<tool_choice>``) make the instruction easy to read for a model fine-tuned on
it, and let the emulator's schema-following responder answer it; this module
is the one place both sides take them from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage

__all__ = [
    "JSON_ONLY",
    "REASK_PREFIX",
    "SCHEMA_TAG",
    "TOOLS_TAG",
    "TOOL_CHOICE_TAG",
    "TOOL_ERROR_PREFIX",
    "TOOL_RESULT_PREFIX",
    "json_mode_instruction",
    "reask_text",
    "schema_instruction",
    "tagged",
    "tools_instruction",
    "with_instruction",
]

SCHEMA_TAG = "json_schema"
TOOLS_TAG = "tools"
TOOL_CHOICE_TAG = "tool_choice"
TOOL_RESULT_PREFIX = "Tool result for call"
TOOL_ERROR_PREFIX = "Tool error for call"
REASK_PREFIX = "Your previous answer could not be used:"
JSON_ONLY = "Answer with a single JSON object and nothing else: no prose, no code fences."

_CHOICE_WORDS = {
    "auto": "Call a tool when it helps answer; otherwise answer in plain text.",
    "any": "You must call at least one of the tools now.",
    "none": "Do not call any tool now; answer in plain text.",
}


def tagged(tag: str, body: str) -> str:
    """``body`` between ``<tag>`` and ``</tag>`` lines.

    Example:
        >>> print(tagged("tools", "[]"))
        <tools>
        []
        </tools>
    """
    return f"<{tag}>\n{body}\n</{tag}>"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=False)


def schema_instruction(schema: Mapping[str, Any]) -> str:
    """The instruction of ``method="json_schema"``: the schema, in full.

    Example:
        >>> print(schema_instruction({"type": "object"}).splitlines()[0])
        Answer with a single JSON object and nothing else: no prose, no code fences.
    """
    return (
        f"{JSON_ONLY}\nThe object must be valid against this JSON schema:\n"
        f"{tagged(SCHEMA_TAG, _dump(dict(schema)))}"
    )


def json_mode_instruction() -> str:
    """The instruction of ``method="json_mode"`` (the prompt says which keys).

    Example:
        >>> json_mode_instruction() == JSON_ONLY
        True
    """
    return JSON_ONLY


def tools_instruction(tools: Sequence[Mapping[str, Any]], choice: str) -> str:
    r"""Describe tools (name, description, argument schema) and how to call them.

    Args:
        tools: ``{"name", "description", "parameters"}`` of each tool.
        choice: ``"auto"``, ``"any"``, ``"none"`` or the one tool's name.

    Example:
        >>> text = tools_instruction([{"name": "add", "description": "Add.",
        ...     "parameters": {"type": "object"}}], "add")
        >>> "<tool_choice>\nadd\n</tool_choice>" in text
        True
    """
    rule = _CHOICE_WORDS.get(choice, f"You must call the tool {choice!r} now.")
    return "\n".join(
        [
            "You can call tools. Each tool with the JSON schema of its arguments:",
            tagged(TOOLS_TAG, _dump(list(tools))),
            "To call tools, answer with only this JSON object and nothing else:",
            '{"tool_calls": [{"name": "<tool name>", "arguments": {<arguments>}}]}',
            rule,
            tagged(TOOL_CHOICE_TAG, choice),
            f'Tool results come back in messages starting with "{TOOL_RESULT_PREFIX}" '
            f'(or "{TOOL_ERROR_PREFIX}" when the tool failed).',
        ]
    )


def reask_text(error: str, *, tools: bool = False, may_answer_in_text: bool = False) -> str:
    """What a re-ask says: the error, then what a good answer looks like.

    Example:
        >>> print(reask_text("punchline: Field required"))
        Your previous answer could not be used: punchline: Field required
        Answer again with only the corrected JSON object, nothing else.
    """
    if not tools:
        fix = "Answer again with only the corrected JSON object, nothing else."
    else:
        fix = 'Answer again with only the corrected {"tool_calls": [...]} JSON object'
        fix += ", or in plain text if no tool is needed." if may_answer_in_text else "."
    return f"{REASK_PREFIX} {error}\n{fix}"


def with_instruction(messages: Sequence[BaseMessage], instruction: str) -> list[BaseMessage]:
    r"""The conversation with ``instruction`` added to its system message.

    It joins a leading text system message (many chat templates allow only
    one, and only first); otherwise it becomes a new first system message.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> out = with_instruction([SystemMessage("Be brief."), HumanMessage("Hi")], "JSON.")
        >>> out[0].content, len(out)
        ('Be brief.\n\nJSON.', 2)
    """
    if messages and isinstance(messages[0], SystemMessage):
        first = messages[0]
        if isinstance(first.content, str):
            merged = SystemMessage(
                f"{first.content}\n\n{instruction}" if first.content else instruction
            )
            return [merged, *messages[1:]]
    return [SystemMessage(instruction), *messages]
