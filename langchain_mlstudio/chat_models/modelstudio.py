"""manufactAI ModelStudio's generate-job API as a LangChain chat model."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.utils import from_env, secret_from_env
from pydantic import Field, SecretStr

from langchain_mlstudio.chat_models._providers import Provider
from langchain_mlstudio.chat_models.base import BaseChatGenerationJob

__all__ = ["ChatModelStudio"]


class ChatModelStudio(BaseChatGenerationJob):
    """A fine-tuned model on manufactAI ModelStudio as a LangChain chat model.

    Each request becomes a generation job at ``https://api.modelstudio.app``
    that is polled until done; ``batch`` and concurrent calls pack many
    conversations into one job.

    Setup:
        Set ``MODELSTUDIO_API_KEY`` and ``MODELSTUDIO_ORGANIZATION_ID`` (and
        ``MODELSTUDIO_BASE_URL`` to use another host), or pass them as
        arguments.

    Example:
        >>> from langchain_mlstudio import ChatModelStudio
        >>> from langchain_mlstudio.emulator import Emulator
        >>> with Emulator(api_key="k", organization_id="org", model="my-model") as emu:
        ...     llm = ChatModelStudio(model="my-model", api_key="k",
        ...                           organization_id="org", base_url=emu.base_url)
        ...     llm.invoke("Hello!").content
        'Echo: Hello!'
    """

    provider: ClassVar[Provider] = "modelstudio"
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("MODELSTUDIO_API_KEY", default=None)
    )
    """Bearer token created in the Studio; from ``MODELSTUDIO_API_KEY`` if unset."""
    organization_id: str | None = Field(
        default_factory=from_env("MODELSTUDIO_ORGANIZATION_ID", default=None)
    )
    """Organization id; from ``MODELSTUDIO_ORGANIZATION_ID`` if unset."""
    base_url: str | None = Field(default_factory=from_env("MODELSTUDIO_BASE_URL", default=None))
    """API root; from ``MODELSTUDIO_BASE_URL`` if unset, else the public URL."""
