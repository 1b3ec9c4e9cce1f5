"""langchain-tests standard integration suites, against the emulator on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio.emulator import Emulator
from tests.integration_tests.chat_models.conftest import API_KEY, MODEL, ORG, OVERRIDE_MODEL


class _EmulatedSuite(ChatModelIntegrationTests):
    """Shared settings: the emulated models carry no tools, JSON mode or usage."""

    emulator: Emulator

    @pytest.fixture(autouse=True)
    def _emulator(self, request: pytest.FixtureRequest) -> None:
        type(self).emulator = request.getfixturevalue(self.emulator_fixture)

    emulator_fixture = "modelstudio_emulator"

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "api_key": API_KEY,
            "organization_id": ORG,
            "base_url": self.emulator.base_url,
        }

    @property
    def has_tool_calling(self) -> bool:
        return False  # the generate-job API has no tools

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_image_inputs(self) -> bool:
        # Vision input is supported (see test_chat_models_emulated.py), but the
        # standard test downloads its image from the internet, which CI lacks.
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return False  # the API returns no token counts

    @property
    def model_override_value(self) -> str:
        return OVERRIDE_MODEL


class TestChatModelStudioIntegration(_EmulatedSuite):
    emulator_fixture = "modelstudio_emulator"

    @property
    def chat_model_class(self) -> type[ChatModelStudio]:
        return ChatModelStudio


class TestChatIonosModelStudioIntegration(_EmulatedSuite):
    emulator_fixture = "ionos_emulator"

    @property
    def chat_model_class(self) -> type[ChatIonosModelStudio]:
        return ChatIonosModelStudio
