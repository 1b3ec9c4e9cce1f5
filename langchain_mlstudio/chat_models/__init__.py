"""Chat models for manufactAI ModelStudio and IONOS AI Model Studio.

Both services host fine-tuned models behind the same asynchronous
generate-job API; these classes submit the job, poll it adaptively and return
ordinary LangChain messages.
"""

from langchain_mlstudio.chat_models._progress import CANCELLED_EVENT, PROGRESS_EVENT
from langchain_mlstudio.chat_models.base import BaseChatGenerationJob
from langchain_mlstudio.chat_models.client import ModelStudioClient
from langchain_mlstudio.chat_models.ionos import ChatIonosModelStudio
from langchain_mlstudio.chat_models.modelstudio import ChatModelStudio
from langchain_mlstudio.chat_models.types import GenerationJob, JobState, TaskResult, parse_state

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
