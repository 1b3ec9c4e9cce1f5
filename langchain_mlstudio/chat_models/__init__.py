"""Chat models for manufactAI ModelStudio and IONOS AI Model Studio.

Both services host fine-tuned models behind the same asynchronous
generate-job API; these classes submit the job, poll it adaptively and return
ordinary LangChain messages.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from langchain_mlstudio.chat_models._jobs import (
    GenerationJob,
    JobState,
    ModelStudioClient,
    Provider,
    TaskResult,
    parse_state,
)
from langchain_mlstudio.chat_models._progress import CANCELLED_EVENT, PROGRESS_EVENT
from langchain_mlstudio.chat_models.base import BaseChatGenerationJob

__all__ = [
    "CANCELLED_EVENT",
    "PROGRESS_EVENT",
    "BaseChatGenerationJob",
    "ChatIonosModelStudio",
    "ChatModelStudio",
    "GenerationJob",
    "JobState",
    "ModelStudioClient",
    "TaskResult",
    "parse_state",
]


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
    max_concurrent_jobs: int | None = Field(default=3, ge=1)
    """Jobs in flight at once; IONOS's fair-use limit is three parallel queries."""
