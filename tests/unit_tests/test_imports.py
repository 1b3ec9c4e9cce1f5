"""The public API: a name never disappears from ``langchain_mlstudio`` by accident."""

from __future__ import annotations

import langchain_mlstudio

EXPECTED_ALL = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ChatIonosModelStudio",
    "ChatModelStudio",
    "ConfigurationError",
    "ConflictError",
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
    "InvalidInputError",
    "JobFailedError",
    "JobTimeoutError",
    "MLStudioError",
    "MalformedResponseError",
    "ModelStudioClient",
    "NotFoundError",
    "PIIDetectionError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StructuredOutputError",
    "TaskFailedError",
    "ToolCallingNotEnabledError",
    "UnprocessableEntityError",
    "__version__",
]


def test_all_imports() -> None:
    assert sorted(langchain_mlstudio.__all__) == sorted(EXPECTED_ALL)


def test_every_exported_name_exists() -> None:
    for name in langchain_mlstudio.__all__:
        assert getattr(langchain_mlstudio, name) is not None


def test_every_error_is_an_mlstudio_error() -> None:
    from langchain_mlstudio import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), langchain_mlstudio.MLStudioError)
