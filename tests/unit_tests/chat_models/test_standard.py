"""langchain-tests standard unit suites for both chat models."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio


class TestChatModelStudioStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatModelStudio]:
        return ChatModelStudio

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "ft-model", "organization_id": "org-1", "api_key": "unit-key"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "MODELSTUDIO_API_KEY": "env-key",
                "MODELSTUDIO_ORGANIZATION_ID": "env-org",
                "MODELSTUDIO_BASE_URL": "https://modelstudio.example",
            },
            {"model": "ft-model"},
            {
                "api_key": "env-key",
                "organization_id": "env-org",
                "base_url": "https://modelstudio.example",
            },
        )


class TestChatIonosModelStudioStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatIonosModelStudio]:
        return ChatIonosModelStudio

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "ft-model", "organization_id": "org-1", "api_key": "unit-key"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "IONOS_MODEL_STUDIO_API_KEY": "env-key",
                "IONOS_MODEL_STUDIO_ORGANIZATION_ID": "env-org",
                "IONOS_MODEL_STUDIO_BASE_URL": "https://ionos.example",
            },
            {"model": "ft-model"},
            {
                "api_key": "env-key",
                "organization_id": "env-org",
                "base_url": "https://ionos.example",
            },
        )
