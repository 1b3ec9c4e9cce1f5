"""langchain-tests standard integration suites, against the emulator on loopback.

The emulator answers with its schema-following responder, which stands in for
a model fine-tuned to follow the package's prompted formats: the structured
output tests run for every variant, the tool-calling tests for the
``tool_calling="prompted"`` variants.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_mlstudio import ChatIonosModelStudio
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.emulator.responders import SchemaResponder
from tests.integration_tests.chat_models.conftest import (
    API_KEY,
    MODEL,
    ORG,
    OVERRIDE_MODEL,
    start,
)
from tests.support.chat import SuiteModel


def _schema_following(flavour: str) -> Iterator[Emulator]:
    emulator = start(flavour)
    emulator.generate.responder = SchemaResponder()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def modelstudio_schema_emulator() -> Iterator[Emulator]:
    yield from _schema_following("modelstudio")


@pytest.fixture(scope="module")
def ionos_schema_emulator() -> Iterator[Emulator]:
    yield from _schema_following("ionos")


class _EmulatedSuite(SuiteModel, ChatModelIntegrationTests):
    """Shared settings: prompted formats only, no usage, no downloaded media."""

    emulator: Emulator
    emulator_fixture = "modelstudio_schema_emulator"

    @pytest.fixture(autouse=True)
    def _emulator(self, request: pytest.FixtureRequest) -> None:
        type(self).emulator = request.getfixturevalue(self.emulator_fixture)

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return self.suite_params(
            model=MODEL, api_key=API_KEY, organization_id=ORG, base_url=self.emulator.base_url
        )

    @property
    def has_tool_calling(self) -> bool:
        # The API has no tools; without tool_calling="prompted" bind_tools raises.
        return self.extra_params.get("tool_calling") == "prompted"

    @property
    def has_structured_output(self) -> bool:
        return True  # prompted: schema instruction, parse, validate, re-ask

    @property
    def supports_json_mode(self) -> bool:
        return True  # prompted: "answer with JSON only", parsed tolerantly

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


class _PromptedSuite(_EmulatedSuite):
    """tool_calling="prompted": the tool tests, and structured output via a prompted call."""

    extra_params = {"tool_calling": "prompted"}

    @property
    def structured_output_kwargs(self) -> dict[str, Any]:
        return {"method": "function_calling"}


class TestChatModelStudioIntegration(_EmulatedSuite):
    emulator_fixture = "modelstudio_schema_emulator"


class TestChatIonosModelStudioIntegration(_EmulatedSuite):
    emulator_fixture = "ionos_schema_emulator"
    model_class = ChatIonosModelStudio


class TestChatModelStudioPromptedToolsIntegration(_PromptedSuite):
    emulator_fixture = "modelstudio_schema_emulator"


class TestChatIonosModelStudioPromptedToolsIntegration(_PromptedSuite):
    emulator_fixture = "ionos_schema_emulator"
    model_class = ChatIonosModelStudio
