"""FyreToolkit tools and toolkit: standard suites and behaviour, no sockets."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_mlstudio import ConfigurationError, FyreToolkit, FyreToolkitPredictTool
from langchain_mlstudio.fyretoolkit import FyreToolkitClient, FyreToolkitModelPredictTool

KEY = "sk_live_demo_12345"
BASE = "https://fyre.test"

PREDICTION = {
    "id": "pred_1",
    "object": "prediction",
    "created": 1,
    "model": "sentiment-v1",
    "results": [{"label": "positive", "score": 0.9}],
    "usage": {"latency_ms": 3.5},
}


class TestFyreToolkitPredictToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[FyreToolkitPredictTool]:
        return FyreToolkitPredictTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"model_id": "sentiment-v1", "api_key": KEY, "base_url": BASE}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"inputs": ["I love this product", {"text": "terrible"}]}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"FYRETOOLKIT_API_KEY": KEY, "FYRETOOLKIT_BASE_URL": BASE},
            {"model_id": "sentiment-v1"},
            {"fyretoolkit_api_key": KEY, "base_url": BASE, "model_id": "sentiment-v1"},
        )


class TestFyreToolkitModelPredictToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[FyreToolkitModelPredictTool]:
        return FyreToolkitModelPredictTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"api_key": KEY, "base_url": BASE}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"model_id": "sentiment-v1", "inputs": ["I love this product"]}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"FYRETOOLKIT_API_KEY": KEY, "FYRETOOLKIT_BASE_URL": BASE},
            {},
            {"fyretoolkit_api_key": KEY, "base_url": BASE},
        )


def mock_client(handler: Any) -> tuple[FyreToolkitClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    transport = httpx.MockTransport(record)
    client = FyreToolkitClient(
        api_key=KEY,
        base_url=BASE,
        max_retries=0,
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
    )
    return client, seen


def tool_call(tool: BaseTool, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "id": "call_1", "name": tool.name, "args": args}


modes = pytest.mark.parametrize("mode", ["sync", "async"])


async def invoke(mode: str, tool: BaseTool, payload: Any) -> Any:
    return tool.invoke(payload) if mode == "sync" else await tool.ainvoke(payload)


@modes
async def test_predict_tool_returns_compact_results_and_the_whole_prediction(mode: str) -> None:
    client, seen = mock_client(lambda r: httpx.Response(200, json=PREDICTION))
    tool = FyreToolkitPredictTool(model_id="sentiment-v1", client=client)
    message = await invoke(mode, tool, tool_call(tool, {"inputs": ["I love it"]}))
    assert isinstance(message, ToolMessage)
    assert json.loads(message.content) == {
        "model": "sentiment-v1",
        "results": [{"label": "positive", "score": 0.9}],
    }
    assert message.artifact["id"] == "pred_1"
    assert message.artifact["usage"] == {"latency_ms": 3.5}
    assert seen[0].url.path == "/predict/sentiment-v1"
    assert json.loads(seen[0].content) == {"inputs": ["I love it"]}


@modes
async def test_predict_tool_raises_tool_exception_on_api_errors(mode: str) -> None:
    body = {"error": {"code": "model_not_found", "message": "no", "request_id": "req_9"}}
    client, _ = mock_client(lambda r: httpx.Response(404, json=body))
    tool = FyreToolkitPredictTool(model_id="missing", client=client)
    with pytest.raises(ToolException, match="req_9"):
        await invoke(mode, tool, {"inputs": ["x"]})


@modes
async def test_handle_tool_error_turns_failures_into_error_messages(mode: str) -> None:
    client, _ = mock_client(lambda r: httpx.Response(500, json={"error": {"code": "boom"}}))
    tool = FyreToolkitPredictTool(model_id="m", client=client, handle_tool_error=True)
    message = await invoke(mode, tool, tool_call(tool, {"inputs": ["x"]}))
    assert message.status == "error"
    assert "boom" in message.content


def test_predict_tool_description_names_its_model() -> None:
    tool = FyreToolkitPredictTool(model_id="sentiment-v1", api_key=KEY, base_url=BASE)
    assert "sentiment-v1" in tool.description
    custom = FyreToolkitPredictTool(model_id="m", api_key=KEY, base_url=BASE, description="Mine.")
    assert custom.description == "Mine."


def test_predict_tool_without_base_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FYRETOOLKIT_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="FYRETOOLKIT_BASE_URL"):
        FyreToolkitPredictTool(model_id="m", api_key=KEY)


def test_predict_tool_never_shows_its_key() -> None:
    tool = FyreToolkitPredictTool(model_id="m", api_key=KEY, base_url=BASE)
    assert KEY not in repr(tool)
    assert KEY not in str(tool.model_dump())


def test_predict_tool_rejects_an_empty_input_list_in_its_schema() -> None:
    tool = FyreToolkitPredictTool(model_id="m", api_key=KEY, base_url=BASE)
    with pytest.raises(ValueError, match="inputs"):
        tool.invoke({"inputs": []})


def _toolkit_client() -> FyreToolkitClient:
    return FyreToolkitClient(api_key=KEY, base_url=BASE)


DEFAULT_TOOLS = {
    "fyretoolkit_predict",
    "fyretoolkit_list_models",
    "fyretoolkit_get_model",
    "fyretoolkit_create_batch_job",
    "fyretoolkit_get_job",
    "fyretoolkit_cancel_job",
    "fyretoolkit_list_deployments",
    "fyretoolkit_get_metrics",
}
DEPLOYMENT_TOOLS = {"fyretoolkit_create_deployment", "fyretoolkit_delete_deployment"}


def test_toolkit_hides_deployment_tools_by_default() -> None:
    names = {t.name for t in FyreToolkit(client=_toolkit_client()).get_tools()}
    assert names == DEFAULT_TOOLS
    assert not names & DEPLOYMENT_TOOLS


def test_toolkit_offers_deployment_tools_only_when_allowed() -> None:
    tools = FyreToolkit(client=_toolkit_client(), allow_deployments=True).get_tools()
    assert {t.name for t in tools} == DEFAULT_TOOLS | DEPLOYMENT_TOOLS


def test_toolkit_tools_share_one_client_and_have_snake_case_names_and_schemas() -> None:
    client = _toolkit_client()
    tools = FyreToolkit(client=client, allow_deployments=True).get_tools()
    assert len({t.name for t in tools}) == len(tools)
    for tool in tools:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", tool.name)
        assert len(tool.description) > 40
        assert tool.response_format == "content_and_artifact"
        assert tool.fyretoolkit_client is client  # type: ignore[attr-defined]
        assert tool.tool_call_schema.model_json_schema()["properties"] is not None


def test_toolkit_predict_tool_takes_the_model_id_as_an_argument() -> None:
    tools = {t.name: t for t in FyreToolkit(client=_toolkit_client()).get_tools()}
    assert set(tools["fyretoolkit_predict"].args) == {"model_id", "inputs", "metadata"}


@modes
async def test_bound_predict_tool_answers_exactly_like_the_toolkit_tool_given_the_same_model(
    mode: str,
) -> None:
    client, seen = mock_client(lambda r: httpx.Response(200, json=PREDICTION))
    bound = FyreToolkitPredictTool(model_id="sentiment-v1", client=client)
    named = FyreToolkitModelPredictTool(client=client)
    args = {"inputs": ["I love it"], "metadata": {"correlation_id": "c1"}}
    a = await invoke(mode, bound, tool_call(bound, args))
    b = await invoke(mode, named, tool_call(named, {"model_id": "sentiment-v1", **args}))
    assert (a.content, a.artifact) == (b.content, b.artifact)
    assert set(bound.args) == {"inputs", "metadata"}
    assert [r.content for r in seen[:1]] == [r.content for r in seen[1:]]
    assert {r.url.path for r in seen} == {"/predict/sentiment-v1"}


JOB = {"id": "job_1", "object": "batch_job", "status": "queued", "created": 1}


@modes
@pytest.mark.parametrize(
    ("name", "args", "answer", "path"),
    [
        ("fyretoolkit_get_model", {"model_id": "m"}, {"id": "m", "status": "ready"}, "/models/m"),
        ("fyretoolkit_get_job", {"job_id": "job_1"}, JOB, "/jobs/job_1"),
        (
            "fyretoolkit_cancel_job",
            {"job_id": "job_1"},
            {**JOB, "status": "canceled"},
            "/jobs/job_1/cancel",
        ),
        (
            "fyretoolkit_create_batch_job",
            {"model_id": "m", "input_url": "s3://b/x.jsonl"},
            JOB,
            "/batch/m",
        ),
        (
            "fyretoolkit_get_metrics",
            {"deployment_id": "dep_1"},
            {"deployment_id": "dep_1", "period": "1h", "metrics": {"requests": 5}},
            "/metrics/dep_1",
        ),
        (
            "fyretoolkit_list_models",
            {"limit": 2},
            {"object": "list", "data": [{"id": "a", "status": "ready"}], "has_more": True},
            "/models",
        ),
        (
            "fyretoolkit_create_deployment",
            {"model_uri": "s3://b/m", "region": "eu-west-1"},
            {"id": "dep_1", "model_uri": "s3://b/m", "region": "eu-west-1"},
            "/deployments",
        ),
        (
            "fyretoolkit_delete_deployment",
            {"deployment_id": "dep_1"},
            {"id": "dep_1", "deleted": True},
            "/deployments/dep_1",
        ),
    ],
)
async def test_each_toolkit_tool_calls_its_endpoint(
    mode: str, name: str, args: dict[str, Any], answer: Any, path: str
) -> None:
    client, seen = mock_client(lambda r: httpx.Response(200, json=answer))
    tools = {t.name: t for t in FyreToolkit(client=client, allow_deployments=True).get_tools()}
    tool = tools[name]
    message = await invoke(mode, tool, tool_call(tool, args))
    assert seen[-1].url.path == path
    assert json.loads(message.content)
    assert message.artifact


@modes
async def test_list_models_tool_gives_the_next_cursor(mode: str) -> None:
    page = {
        "object": "list",
        "data": [{"id": "a", "status": "ready"}, {"id": "b", "status": "training"}],
        "has_more": True,
    }
    client, seen = mock_client(lambda r: httpx.Response(200, json=page))
    tool = FyreToolkit(client=client).get_tools()[1]
    content = await invoke(mode, tool, {"limit": 2, "starting_after": "z"})
    assert json.loads(content)["next_cursor"] == "b"
    assert seen[0].url.params["starting_after"] == "z"
