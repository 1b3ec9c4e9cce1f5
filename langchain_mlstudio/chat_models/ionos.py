"""IONOS AI Model Studio's generate-job API as a LangChain chat model."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.utils import from_env, secret_from_env
from pydantic import Field, SecretStr

from langchain_mlstudio.chat_models._providers import Provider
from langchain_mlstudio.chat_models.base import BaseChatGenerationJob

__all__ = ["ChatIonosModelStudio"]


class ChatIonosModelStudio(BaseChatGenerationJob):
    """A fine-tuned model on IONOS AI Model Studio as a LangChain chat model.

    Same API as :class:`ChatModelStudio` at ``https://studio.ionos.de``. IONOS
    allows three parallel queries per user, so ``max_concurrent_jobs``
    defaults to 3 and holds across every model of the process using the same
    key; the single leading space IONOS puts before each result is removed.

    Setup:
        Set ``IONOS_MODEL_STUDIO_API_KEY`` and
        ``IONOS_MODEL_STUDIO_ORGANIZATION_ID`` (tokens made in the Studio UI,
        not DCD tokens), or pass them as arguments.

    Example:
        >>> from langchain_mlstudio import ChatIonosModelStudio
        >>> from langchain_mlstudio.emulator import Emulator
        >>> with Emulator(api_key="k", organization_id="org", model="m",
        ...               flavour="ionos") as emu:
        ...     llm = ChatIonosModelStudio(model="m", api_key="k",
        ...                                organization_id="org", base_url=emu.base_url)
        ...     [m.content for m in llm.batch(["Hi", "Bye"])]
        ['Echo: Hi', 'Echo: Bye']
    """

    provider: ClassVar[Provider] = "ionos"
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("IONOS_MODEL_STUDIO_API_KEY", default=None)
    )
    """Bearer token created in the Studio; from ``IONOS_MODEL_STUDIO_API_KEY`` if unset."""
    organization_id: str | None = Field(
        default_factory=from_env("IONOS_MODEL_STUDIO_ORGANIZATION_ID", default=None)
    )
    """Organization id; from ``IONOS_MODEL_STUDIO_ORGANIZATION_ID`` if unset."""
    base_url: str | None = Field(
        default_factory=from_env("IONOS_MODEL_STUDIO_BASE_URL", default=None)
    )
    """API root; from ``IONOS_MODEL_STUDIO_BASE_URL`` if unset, else the public URL."""
    max_concurrent_jobs: int | None = Field(default=3, ge=1)
    """Jobs in flight at once; IONOS's fair-use limit is three parallel queries."""
