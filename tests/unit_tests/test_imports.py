"""The public API is exact: no name disappears by accident, and every module lists what it offers.

``langchain_mlstudio`` and each sub-package export exactly the names below.
Every module's ``__all__`` names only what the module has and omits none of the
public classes and functions it defines; a package's ``__init__`` defines
nothing itself, it only gathers its modules' names.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import langchain_mlstudio
from langchain_mlstudio import errors

ERRORS = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InvalidInputError",
    "JobFailedError",
    "JobTimeoutError",
    "MLStudioError",
    "MalformedResponseError",
    "NotFoundError",
    "PIIDetectionError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StructuredOutputError",
    "TaskFailedError",
    "ToolCallingNotEnabledError",
    "UnprocessableEntityError",
]

EXPECTED: dict[str, list[str]] = {
    "langchain_mlstudio": [
        *ERRORS,
        "ChatIonosModelStudio",
        "ChatModelStudio",
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
        "ModelStudioClient",
        "__version__",
    ],
    "langchain_mlstudio.errors": ERRORS,
    "langchain_mlstudio.chat_models": [
        "BaseChatGenerationJob",
        "CANCELLED_EVENT",
        "ChatIonosModelStudio",
        "ChatModelStudio",
        "GenerationJob",
        "JobState",
        "ModelStudioClient",
        "PROGRESS_EVENT",
        "TaskResult",
        "parse_state",
    ],
    "langchain_mlstudio.fastino": [
        "DEFAULT_ENTITY_TYPES",
        "FastinoClient",
        "FastinoEntity",
        "FastinoInput",
        "FastinoInputError",
        "FastinoPIIInput",
        "FastinoPIITool",
        "FastinoPIITransformer",
        "FastinoResult",
        "Pseudonymizer",
    ],
    "langchain_mlstudio.fyretoolkit": [
        "BatchJob",
        "DeletedDeployment",
        "Deployment",
        "DeploymentMetrics",
        "FyreToolkit",
        "FyreToolkitCancelJobTool",
        "FyreToolkitClient",
        "FyreToolkitCreateBatchJobTool",
        "FyreToolkitCreateDeploymentTool",
        "FyreToolkitDeleteDeploymentTool",
        "FyreToolkitGetJobTool",
        "FyreToolkitGetMetricsTool",
        "FyreToolkitGetModelTool",
        "FyreToolkitListDeploymentsTool",
        "FyreToolkitListModelsTool",
        "FyreToolkitModelPredictTool",
        "FyreToolkitPredictInput",
        "FyreToolkitPredictTool",
        "FyreToolkitTool",
        "JobProgress",
        "JobStatus",
        "LatencyStats",
        "ListPage",
        "Metrics",
        "Model",
        "Prediction",
        "PredictionUsage",
        "RateLimitInfo",
    ],
    "langchain_mlstudio.emulator": [
        "EmulatedRequest",
        "EmulatedResponse",
        "Emulator",
        "FastinoService",
        "Fault",
        "FyreToolkitService",
        "GenerateJobService",
        "IONOS_PREFIX",
        "LoggedRequest",
    ],
    "langchain_mlstudio.agents": ["FastinoPIIMiddleware", "FastinoPIIState"],
    "langchain_mlstudio.ray": [
        "JobOutcomeUnknownError",
        "RayNotInstalledError",
        "RunCoordinatorError",
        "generate_dataset",
        "redact_dataset",
    ],
    "langchain_mlstudio.demo": ["load_documents", "main", "retrieve", "split_documents"],
}


def all_modules() -> list[str]:
    """Every module of the package (command-line entry points run when imported: left out)."""
    found = pkgutil.walk_packages(langchain_mlstudio.__path__, "langchain_mlstudio.")
    return ["langchain_mlstudio", *(m.name for m in found if not m.name.endswith("__main__"))]


def defined_here(module: ModuleType) -> list[str]:
    """The public classes and functions ``module`` itself defines.

    Older pydantic versions also store each parametrised generic model in its
    module (``"ListPage[Model]"``); such keys are no names and are left out.
    """
    return sorted(
        name
        for name, obj in vars(module).items()
        if name.isidentifier()
        and not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", None) == module.__name__
    )


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_each_package_exports_exactly_its_public_names(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(EXPECTED[package])


@pytest.mark.parametrize("name", all_modules())
def test_every_module_lists_exactly_what_it_offers(name: str) -> None:
    module = importlib.import_module(name)
    listed = getattr(module, "__all__", None)
    assert listed is not None, f"{name} has no __all__"
    assert len(set(listed)) == len(listed), f"{name}.__all__ repeats a name"
    missing = [n for n in listed if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
    unlisted = sorted(set(defined_here(module)) - set(listed))
    assert not unlisted, f"{name} defines public names its __all__ omits: {unlisted}"


def all_packages() -> list[str]:
    return [n for n in all_modules() if hasattr(importlib.import_module(n), "__path__")]


@pytest.mark.parametrize("name", all_packages())
def test_packages_only_gather_the_names_of_their_modules(name: str) -> None:
    module = importlib.import_module(name)
    assert defined_here(module) == [], f"{name}/__init__.py defines names; move them to a module"


def test_every_exported_name_exists() -> None:
    for name in langchain_mlstudio.__all__:
        assert getattr(langchain_mlstudio, name) is not None


def test_every_error_is_an_mlstudio_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), langchain_mlstudio.MLStudioError)
