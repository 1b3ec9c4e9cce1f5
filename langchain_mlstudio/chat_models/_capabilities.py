"""What the generate-job API can do, in the model ``profile`` langchain-core offers.

The API takes conversations and returns text, once per job: no native tool
calling or structured output (the package's are prompted, see
``tool_calling`` and ``with_structured_output``), no token streaming and no
token usage. The profile says so, with only the keys the installed
langchain-core declares (older releases know fewer).
"""

from __future__ import annotations

from typing import Any, get_type_hints

from langchain_core.language_models import ModelProfile

__all__ = ["declared_profile"]

_PROFILE: dict[str, Any] = {
    "text_inputs": True,
    "image_inputs": True,  # vision parts are carried; whether a model reads them is its own
    "audio_inputs": False,
    "video_inputs": False,
    "pdf_inputs": False,
    "image_tool_message": False,
    "pdf_tool_message": False,
    "text_outputs": True,
    "image_outputs": False,
    "audio_outputs": False,
    "video_outputs": False,
    "reasoning_output": False,
    "tool_calling": False,  # only prompted (tool_calling="prompted")
    "tool_choice": False,
    "tool_call_streaming": False,
    "structured_output": False,  # only prompted (with_structured_output)
    "attachment": False,
    "temperature": True,
}


def declared_profile() -> ModelProfile:
    """The capabilities, limited to the keys the installed ``ModelProfile`` has.

    Example:
        >>> profile = declared_profile()
        >>> profile["tool_calling"], profile["structured_output"]
        (False, False)
    """
    try:
        known = set(get_type_hints(ModelProfile))
    except (TypeError, NameError):  # pragma: no cover - unusual typing setups
        known = set(_PROFILE)
    return ModelProfile(**{k: v for k, v in _PROFILE.items() if k in known})  # type: ignore[typeddict-item]
