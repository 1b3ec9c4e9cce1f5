"""langchain-tests standard unit suites for both chat models."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio.chat_models import BaseChatGenerationJob


class _Suite(ChatModelUnitTests):
    model_class: type[BaseChatGenerationJob]
    env_prefix: str

    @property
    def chat_model_class(self) -> type[BaseChatGenerationJob]:
        return self.model_class

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "ft-model", "organization_id": "org-1", "api_key": "unit-key"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                f"{self.env_prefix}_API_KEY": "env-key",
                f"{self.env_prefix}_ORGANIZATION_ID": "env-org",
                f"{self.env_prefix}_BASE_URL": "https://studio.example",
            },
            {"model": "ft-model"},
            {
                "api_key": "env-key",
                "organization_id": "env-org",
                "base_url": "https://studio.example",
            },
        )

    @pytest.mark.xfail(
        reason=(
            "The serialised form matches the snapshot, but the suite reloads it with "
            "allowed_objects='all', which in langchain-core 1.x admits only classes in "
            "langchain-core's own mapping; loads(..., allowed_objects=[cls]) round-trips "
            "(test_dumps_loads_round_trip_takes_the_key_from_the_environment)."
        ),
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)


class TestChatModelStudioStandard(_Suite):
    model_class = ChatModelStudio
    env_prefix = "MODELSTUDIO"


class TestChatIonosModelStudioStandard(_Suite):
    model_class = ChatIonosModelStudio
    env_prefix = "IONOS_MODEL_STUDIO"
