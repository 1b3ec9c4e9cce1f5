"""langchain-tests standard unit suites for both chat models, plain and with prompted tools."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests
from langchain_tests.unit_tests.chat_models import TEST_PYDANTIC_MODELS
from syrupy.assertion import SnapshotAssertion

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio
from tests.support.chat import SuiteModel


class _Suite(SuiteModel, ChatModelUnitTests):
    env_prefix: str

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return self.suite_params(model="ft-model", organization_id="org-1", api_key="unit-key")

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


class _PlainSuite(_Suite):
    """Without opting in, bind_tools raises (the API has no tool calling)."""

    @property
    def has_tool_calling(self) -> bool:
        return False

    @pytest.mark.xfail(
        reason="method='function_calling' needs tool_calling='prompted': without it "
        "with_structured_output raises ToolCallingNotEnabledError by design, before any "
        "request (json_schema and json_mode pass; the prompted suites run all three)",
        raises=NotImplementedError,
        strict=True,
    )
    @pytest.mark.parametrize("schema", TEST_PYDANTIC_MODELS)
    def test_with_structured_output(self, model: BaseChatModel, schema: Any) -> None:
        super().test_with_structured_output(model, schema)


class TestChatModelStudioStandard(_PlainSuite):
    model_class = ChatModelStudio
    env_prefix = "MODELSTUDIO"


class TestChatIonosModelStudioStandard(_PlainSuite):
    model_class = ChatIonosModelStudio
    env_prefix = "IONOS_MODEL_STUDIO"


class TestChatModelStudioPromptedToolsStandard(_Suite):
    model_class = ChatModelStudio
    env_prefix = "MODELSTUDIO"
    extra_params = {"tool_calling": "prompted"}


class TestChatIonosModelStudioPromptedToolsStandard(_Suite):
    model_class = ChatIonosModelStudio
    env_prefix = "IONOS_MODEL_STUDIO"
    extra_params = {"tool_calling": "prompted"}
