"""LangChain integrations for hosted ML services.

``langchain_mlstudio`` brings fine-tuned chat models on manufactAI ModelStudio
and IONOS AI Model Studio, Fastino PII redaction and FyreToolkit predictions to
LangChain, with one HTTP layer, one error hierarchy and a local emulator.

Example:
    >>> import langchain_mlstudio
    >>> isinstance(langchain_mlstudio.__version__, str)
    True
"""

from langchain_mlstudio import errors
from langchain_mlstudio._version import __version__
from langchain_mlstudio.chat_models import (
    ChatIonosModelStudio,
    ChatModelStudio,
    GenerationJob,
    ModelStudioClient,
)
from langchain_mlstudio.errors import *  # noqa: F403 - every error, as listed in errors.__all__
from langchain_mlstudio.fastino import (
    FastinoClient,
    FastinoEntity,
    FastinoInputError,
    FastinoPIITool,
    FastinoPIITransformer,
    FastinoResult,
)
from langchain_mlstudio.fyretoolkit import (
    FyreToolkit,
    FyreToolkitClient,
    FyreToolkitPredictTool,
)

__all__ = [
    "ChatIonosModelStudio",
    "ChatModelStudio",
    "FastinoClient",
    "FastinoEntity",
    "FastinoInputError",
    "FastinoPIITool",
    "FastinoPIITransformer",
    "FastinoResult",
    "FyreToolkit",
    "FyreToolkitClient",
    "FyreToolkitPredictTool",
    "GenerationJob",
    "ModelStudioClient",
    "__version__",
]
__all__ += errors.__all__


def __getattr__(name: str) -> object:
    # FastinoPIIMiddleware needs the optional ``agents`` extra (langchain), so it
    # is imported on first use: ``import langchain_mlstudio`` works without it.
    if name == "FastinoPIIMiddleware":
        from langchain_mlstudio.agents import FastinoPIIMiddleware

        return FastinoPIIMiddleware
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
