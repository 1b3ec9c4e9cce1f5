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
from pydantic import ValidationError

from langchain_mlstudio import ConfigurationError, FyreToolkit, FyreToolkitPredictTool
from langchain_mlstudio.fyretoolkit import (
    FyreToolkitCancelJobTool,
    FyreToolkitClient,
    FyreToolkitCreateBatchJobTool,
    FyreToolkitCreateDeploymentTool,
    FyreToolkitDeleteDeploymentTool,
    FyreToolkitGetJobTool,
    FyreToolkitGetMetricsTool,
    FyreToolkitGetModelTool,
    FyreToolkitListDeploymentsTool,
    FyreToolkitListModelsTool,
    FyreToolkitModelPredictTool,
)
from tests.support import fyretoolkit as support
from tests.support.fyretoolkit import BASE, KEY

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


def mock_client(handler: Any) -> tuple[FyreToolkitClient, list[httpx.Request]]:
    client, recorder = support.mock_client(handler, max_retries=0)
    return client, recorder.requests


def tool_call(tool: BaseTool, args: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": tool.name, "args": args}


modes = support.modes


async def invoke(mode: str, tool: BaseTool, payload: Any) -> Any:
    return tool.invoke(payload) if mode == "sync" else await tool.ainvoke(payload)


def all_tools(client: FyreToolkitClient, **kwargs: Any) -> dict[str, BaseTool]:
    toolkit = FyreToolkit(client=client, allow_batch_jobs=True, allow_deployments=True, **kwargs)
    return {t.name: t for t in toolkit.get_tools()}


# -- standard suites for every toolkit tool ---------------------------------------


class _Standard(ToolsUnitTests):
    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"api_key": KEY, "base_url": BASE}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"FYRETOOLKIT_API_KEY": KEY, "FYRETOOLKIT_BASE_URL": BASE},
            {},
            {"fyretoolkit_api_key": KEY, "base_url": BASE},
        )


_STANDARD_ARGS: dict[type[BaseTool], support.Example] = {
    FyreToolkitModelPredictTool: lambda _: {
        "model_id": "sentiment-v1",
        "inputs": ["I love this product"],
    },
    FyreToolkitListModelsTool: lambda _: {"limit": 5},
    FyreToolkitGetModelTool: lambda _: {"model_id": "sentiment-v1"},
    FyreToolkitGetJobTool: lambda _: {"job_id": "job_1"},
    FyreToolkitCancelJobTool: lambda _: {"job_id": "job_1"},
    FyreToolkitCreateBatchJobTool: lambda _: {
        "model_id": "sentiment-v1",
        "input_url": "s3://b/in.jsonl",
    },
    FyreToolkitListDeploymentsTool: lambda _: {"limit": 5, "starting_after": "dep_1"},
    FyreToolkitGetMetricsTool: lambda _: {"deployment_id": "dep_1", "period": "1h"},
    FyreToolkitCreateDeploymentTool: lambda _: {"model_uri": "s3://b/m", "region": "eu-west-1"},
    FyreToolkitDeleteDeploymentTool: lambda _: {"deployment_id": "dep_1"},
}

globals().update(support.suite_per_tool(_Standard, _STANDARD_ARGS, "Standard"))


# -- errors as messages -------------------------------------------------------------


def api_error(status: int, code: str, details: Any = None) -> httpx.Response:
    body = {"error": {"code": code, "message": f"{code} said the server", "request_id": "req_9"}}
    if details is not None:
        body["error"]["details"] = details
    return httpx.Response(status, json=body, headers={"x-request-id": "req_9"})


@modes
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("fyretoolkit_predict", {"model_id": "m", "inputs": ["x"]}),
        ("fyretoolkit_list_models", {}),
        ("fyretoolkit_get_model", {"model_id": "m"}),
        ("fyretoolkit_get_job", {"job_id": "j"}),
        ("fyretoolkit_cancel_job", {"job_id": "j"}),
        ("fyretoolkit_create_batch_job", {"model_id": "m", "input_url": "s3://b/x"}),
        ("fyretoolkit_list_deployments", {}),
        ("fyretoolkit_get_metrics", {"deployment_id": "d"}),
        ("fyretoolkit_create_deployment", {"model_uri": "s3://b/m", "region": "mars-1"}),
        ("fyretoolkit_delete_deployment", {"deployment_id": "d"}),
    ],
)
async def test_every_tool_returns_api_failures_as_error_messages_with_code_request_id_and_details(
    mode: str, name: str, args: dict[str, Any]
) -> None:
    details = {"field": "region", "reason": "unknown region"}
    client, _ = mock_client(lambda r: api_error(422, "invalid_parameters", details))
    tool = all_tools(client)[name]
    message = await invoke(mode, tool, tool_call(tool, args))
    assert isinstance(message, ToolMessage)
    assert message.status == "error"
    error = json.loads(message.content)["error"]
    assert error["status"] == 422
    assert error["code"] == "invalid_parameters"
    assert error["request_id"] == "req_9"
    assert error["details"] == details
    assert error["server_message"] == "invalid_parameters said the server"
    assert error["what_to_do"]


@modes
async def test_an_error_message_keeps_the_tools_bound(mode: str) -> None:
    details = {"field": "region", "allowed": ["region-" + "x" * 40] * 200}
    client, _ = mock_client(lambda r: api_error(422, "invalid_parameters", details))
    tool = FyreToolkitGetModelTool(client=client, max_output_chars=600)
    message = await invoke(mode, tool, tool_call(tool, {"model_id": "m"}))
    assert message.status == "error"
    assert len(message.content) <= 600
    assert json.loads(message.content)["error"]["code"] == "invalid_parameters"


@modes
async def test_a_404_tells_the_model_what_to_do_next(mode: str) -> None:
    client, _ = mock_client(lambda r: api_error(404, "model_not_found"))
    tool = all_tools(client)["fyretoolkit_get_model"]
    message = await invoke(mode, tool, tool_call(tool, {"model_id": "nope"}))
    error = json.loads(message.content)["error"]
    assert (message.status, error["type"], error["code"]) == (
        "error",
        "NotFoundError",
        "model_not_found",
    )
    assert "list_models" in error["what_to_do"]


@modes
async def test_invalid_arguments_come_back_as_an_error_message_and_send_nothing(mode: str) -> None:
    client, seen = mock_client(lambda r: httpx.Response(200, json=PREDICTION))
    tool = all_tools(client)["fyretoolkit_predict"]
    message = await invoke(mode, tool, tool_call(tool, {"model_id": "m", "inputs": []}))
    assert message.status == "error"
    error = json.loads(message.content)["error"]
    assert error["type"] == "InvalidArguments"
    assert error["details"][0]["field"] == "inputs"
    assert seen == []


@modes
@pytest.mark.parametrize("bad_id", [".", "..", "a/b"])
async def test_a_path_changing_id_is_an_error_message_and_sends_nothing(
    mode: str, bad_id: str
) -> None:
    client, seen = mock_client(lambda r: httpx.Response(204))
    tool = all_tools(client)["fyretoolkit_delete_deployment"]
    message = await invoke(mode, tool, tool_call(tool, {"deployment_id": bad_id}))
    assert message.status == "error"
    assert json.loads(message.content)["error"]["type"] == "InvalidInputError"
    assert seen == []


@modes
async def test_error_messages_can_be_turned_off(mode: str) -> None:
    client, _ = mock_client(lambda r: api_error(404, "model_not_found"))
    tool = FyreToolkitGetModelTool(client=client, handle_tool_error=False)
    with pytest.raises(ToolException, match="req_9"):
        await invoke(mode, tool, tool_call(tool, {"model_id": "m"}))
    strict = FyreToolkitGetModelTool(client=client, handle_validation_error=False)
    with pytest.raises(ValidationError):
        await invoke(mode, strict, tool_call(strict, {"model_id": ""}))


def test_credentials_in_base_url_never_reach_tool_output_or_repr() -> None:
    secret = "sk_live_hidden_in_url"

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    tool = FyreToolkitGetModelTool(
        base_url=f"https://{secret}:@fyre.test",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
    )
    message = tool.invoke(tool_call(tool, {"model_id": "m"}))
    assert message.status == "error"
    for text in (message.content, repr(tool), str(tool.model_dump()), tool.base_url or ""):
        assert secret not in text


# -- idempotent by tool call ----------------------------------------------------------


class JobServer:
    """Creates a job per new idempotency key, as FyreToolkit does."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.keys: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        key = body.get("idempotency_key")
        self.keys.append(key)
        if key not in self.jobs:
            n = len(self.jobs) + 1
            self.jobs[key] = {"id": f"job_{n}", "object": "batch_job", "status": "queued"}
        return httpx.Response(202, json=self.jobs[key])


def batch_job_tool() -> tuple[JobServer, BaseTool]:
    """The toolkit's create-batch-job tool, on a :class:`JobServer`."""
    server = JobServer()
    client, _ = mock_client(server)
    return server, all_tools(client)["fyretoolkit_create_batch_job"]


@modes
async def test_the_same_tool_call_made_twice_creates_one_job(mode: str) -> None:
    server = JobServer()
    client, _ = mock_client(server)
    tool = all_tools(client)["fyretoolkit_create_batch_job"]
    call = tool_call(tool, {"model_id": "m", "input_url": "s3://b/x.jsonl"}, "call_7")
    first = await invoke(mode, tool, call)
    again = await invoke(mode, all_tools(client)["fyretoolkit_create_batch_job"], dict(call))
    assert len(server.jobs) == 1
    assert first.artifact["id"] == again.artifact["id"] == "job_1"
    assert server.keys[0] == server.keys[1]


@modes
async def test_distinct_tool_calls_create_distinct_jobs(mode: str) -> None:
    server, tool = batch_job_tool()
    args = {"model_id": "m", "input_url": "s3://b/x.jsonl"}
    await invoke(mode, tool, tool_call(tool, args, "call_1"))
    await invoke(mode, tool, tool_call(tool, args, "call_2"))
    await invoke(mode, tool, tool_call(tool, {**args, "input_url": "s3://b/y.jsonl"}, "call_2"))
    assert len(server.jobs) == 3


@modes
async def test_the_same_tool_call_id_in_another_conversation_creates_its_own_job(
    mode: str,
) -> None:
    server, tool = batch_job_tool()
    call = tool_call(tool, {"model_id": "m", "input_url": "s3://b/x.jsonl"}, "call_0")
    for thread in ("a", "a", "b"):
        config = {"configurable": {"thread_id": thread}}
        if mode == "sync":
            tool.invoke(call, config)
        else:
            await tool.ainvoke(call, config)
    assert len(server.jobs) == 2


@modes
async def test_direct_invoke_without_a_tool_call_id_gets_a_fresh_key_each_time(mode: str) -> None:
    server, tool = batch_job_tool()
    args = {"model_id": "m", "input_url": "s3://b/x.jsonl"}
    await invoke(mode, tool, args)
    await invoke(mode, tool, args)
    assert len(server.jobs) == 2
    assert all(isinstance(k, str) and len(k) == 32 for k in server.keys)


@modes
async def test_the_same_deployment_tool_call_twice_provisions_one_deployment(mode: str) -> None:
    keys: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        keys.append(json.loads(request.content)["idempotency_key"])
        return httpx.Response(201, json={"id": f"dep_{keys.index(keys[-1])}", "status": "pending"})

    client, _ = mock_client(server)
    tool = all_tools(client)["fyretoolkit_create_deployment"]
    call = tool_call(tool, {"model_uri": "s3://b/m", "region": "eu-west-1"}, "call_d")
    a = await invoke(mode, tool, call)
    b = await invoke(mode, tool, call)
    assert keys[0] == keys[1]
    assert a.artifact["id"] == b.artifact["id"]


# -- bounded, pageable output -----------------------------------------------------------


def models_server(count: int, description: str) -> Any:
    models = [
        {
            "id": f"model-{i:05d}",
            "object": "model",
            "status": "ready",
            "created": i,
            "description": description,
        }
        for i in range(count)
    ]
    index = {m["id"]: i for i, m in enumerate(models)}

    def handler(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", 20))
        after = request.url.params.get("starting_after")
        start = index[after] + 1 if after else 0
        data = models[start : start + limit]
        return httpx.Response(
            200,
            json={"object": "list", "data": data, "has_more": start + limit < len(models)},
        )

    return handler


@modes
async def test_a_list_of_10000_models_stays_within_the_bound_and_pages_through_every_model(
    mode: str,
) -> None:
    # 100 records of this size are ~11,000 characters: the bound, not the limit, decides.
    client, _ = mock_client(models_server(10_000, "A sentiment model for reviews. " * 2))
    tool = all_tools(client)["fyretoolkit_list_models"]
    seen_ids: list[str] = []
    cursor = None
    calls = 0
    while True:
        args: dict[str, Any] = {"limit": 100}
        if cursor:
            args["starting_after"] = cursor
        message = await invoke(mode, tool, tool_call(tool, args, f"c{calls}"))
        calls += 1
        assert len(message.content) <= 4000
        page = json.loads(message.content)
        seen_ids += [m["id"] for m in page["models"]]
        # The artifact holds the page as the server sent it.
        assert [m["id"] for m in message.artifact["data"]][: len(page["models"])] == [
            m["id"] for m in page["models"]
        ]
        if not page["has_more"]:
            break
        cursor = page["starting_after"]
        assert cursor == page["models"][-1]["id"]
    assert seen_ids == [f"model-{i:05d}" for i in range(10_000)]
    assert calls > 100  # more pages than limit=100 alone would need


@modes
async def test_max_output_chars_is_configurable(mode: str) -> None:
    client, _ = mock_client(models_server(500, "short"))
    tool = FyreToolkitListModelsTool(client=client, max_output_chars=600)
    message = await invoke(mode, tool, tool_call(tool, {"limit": 100}))
    page = json.loads(message.content)
    assert len(message.content) <= 600
    assert page["has_more"] is True
    assert len(message.artifact["data"]) == 100


@modes
async def test_predict_with_1000_inputs_stays_within_the_bound_and_keeps_every_result(
    mode: str,
) -> None:
    results = [{"label": "positive", "score": 0.9, "explanation": "x" * 200}] * 1000
    client, _ = mock_client(lambda r: httpx.Response(200, json={**PREDICTION, "results": results}))
    tool = all_tools(client)["fyretoolkit_predict"]
    message = await invoke(mode, tool, tool_call(tool, {"model_id": "m", "inputs": ["x"] * 1000}))
    body = json.loads(message.content)
    assert len(message.content) <= 4000
    assert body["total"] == 1000
    assert 0 < body["shown"] < 1000
    assert "artifact" in body["note"]
    assert len(message.artifact["results"]) == 1000


@modes
async def test_long_fields_are_cut_with_a_marker_and_whole_in_the_artifact(mode: str) -> None:
    model = {"id": "m", "status": "ready", "description": "d" * 5000}
    client, _ = mock_client(lambda r: httpx.Response(200, json=model))
    tool = all_tools(client)["fyretoolkit_get_model"]
    message = await invoke(mode, tool, tool_call(tool, {"model_id": "m"}))
    shown = json.loads(message.content)["description"]
    assert shown == "d" * 500 + "...[+4500 chars]"
    assert message.artifact["description"] == "d" * 5000


@modes
async def test_list_deployments_returns_one_page_with_a_cursor(mode: str) -> None:
    page = {
        "object": "list",
        "data": [{"id": "dep_a", "region": "eu-west-1"}, {"id": "dep_b"}],
        "has_more": True,
    }
    client, seen = mock_client(lambda r: httpx.Response(200, json=page))
    tool = all_tools(client)["fyretoolkit_list_deployments"]
    content = await invoke(mode, tool, {"limit": 2, "starting_after": "dep_0"})
    body = json.loads(content[0] if isinstance(content, tuple) else content)
    assert (body["has_more"], body["starting_after"]) == (True, "dep_b")
    assert len(seen) == 1
    assert seen[0].url.params["starting_after"] == "dep_0"


@modes
async def test_an_empty_page_claiming_more_is_an_error_message_not_an_endless_loop(
    mode: str,
) -> None:
    page = {"object": "list", "data": [], "has_more": True}
    client, _ = mock_client(lambda r: httpx.Response(200, json=page))
    tool = all_tools(client)["fyretoolkit_list_models"]
    message = await invoke(mode, tool, tool_call(tool, {}))
    assert message.status == "error"
    assert json.loads(message.content)["error"]["type"] == "MalformedResponseError"


# -- safe defaults ----------------------------------------------------------------------

READ_ONLY = {
    "fyretoolkit_predict",
    "fyretoolkit_list_models",
    "fyretoolkit_get_model",
    "fyretoolkit_get_job",
    "fyretoolkit_list_deployments",
    "fyretoolkit_get_metrics",
}
BATCH_TOOLS = {"fyretoolkit_create_batch_job", "fyretoolkit_cancel_job"}
DEPLOYMENT_TOOLS = {"fyretoolkit_create_deployment", "fyretoolkit_delete_deployment"}


def _names(**kwargs: Any) -> set[str]:
    client = FyreToolkitClient(api_key=KEY, base_url=BASE)
    return {t.name for t in FyreToolkit(client=client, **kwargs).get_tools()}


def test_the_toolkit_offers_only_prediction_and_read_only_tools_by_default() -> None:
    assert _names() == READ_ONLY


def test_allow_batch_jobs_adds_create_and_cancel() -> None:
    assert _names(allow_batch_jobs=True) == READ_ONLY | BATCH_TOOLS


def test_allow_deployments_adds_create_and_delete() -> None:
    assert _names(allow_deployments=True) == READ_ONLY | DEPLOYMENT_TOOLS


@modes
async def test_a_webhook_is_not_offered_unless_the_caller_allowed_one(mode: str) -> None:
    server = JobServer()
    client, seen = mock_client(server)
    tool = all_tools(client)["fyretoolkit_create_batch_job"]
    assert "webhook" not in tool.args
    args = {"model_id": "m", "input_url": "s3://b/x", "webhook": "https://evil.example/x"}
    await invoke(mode, tool, tool_call(tool, args))
    assert "webhook" not in json.loads(seen[0].content)


@modes
async def test_only_an_allowed_webhook_is_accepted(mode: str) -> None:
    server = JobServer()
    client, seen = mock_client(server)
    hook = "https://hooks.example/done"
    tool = all_tools(client, allowed_webhooks=[hook])["fyretoolkit_create_batch_job"]
    bad = {"model_id": "m", "input_url": "s3://b/x", "webhook": hook + ".evil.example"}
    refused = await invoke(mode, tool, tool_call(tool, bad, "c1"))
    assert refused.status == "error"
    assert seen == []
    ok = await invoke(mode, tool, tool_call(tool, {**bad, "webhook": hook}, "c2"))
    assert ok.status == "success"
    assert json.loads(seen[0].content)["webhook"] == hook


def test_tool_names_are_unique_even_with_a_bound_predict_tool() -> None:
    client = FyreToolkitClient(api_key=KEY, base_url=BASE)
    tools = [
        *FyreToolkit(client=client, allow_batch_jobs=True, allow_deployments=True).get_tools(),
        FyreToolkitPredictTool(model_id="sentiment-v1", client=client),
        FyreToolkitPredictTool(model_id="spam v2/x", client=client),
    ]
    names = [t.name for t in tools]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names)


def test_descriptions_are_short_and_say_what_each_tool_costs_or_changes() -> None:
    client = FyreToolkitClient(api_key=KEY, base_url=BASE)
    tools = FyreToolkit(client=client, allow_batch_jobs=True, allow_deployments=True).get_tools()
    for tool in tools:
        assert len(tool.description) <= 250, tool.name
        says = tool.description.lower()
        assert any(
            w in says
            for w in ("read-only", "changes nothing", "spends", "paid", "cannot be undone")
        ), tool.name
        assert tool.fyretoolkit_client is client  # type: ignore[attr-defined]


def test_bound_predict_tool_names_its_model_and_takes_only_inputs() -> None:
    tool = FyreToolkitPredictTool(model_id="sentiment-v1", api_key=KEY, base_url=BASE)
    assert tool.name == "fyretoolkit_predict_sentiment-v1"
    assert "sentiment-v1" in tool.description
    assert set(tool.args) == {"inputs", "metadata"}


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
    assert json.loads(a.content)["results"] == PREDICTION["results"]
    assert {r.url.path for r in seen} == {"/predict/sentiment-v1"}
    assert json.loads(seen[0].content) == json.loads(seen[1].content)


def test_predict_tool_without_base_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FYRETOOLKIT_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="FYRETOOLKIT_BASE_URL"):
        FyreToolkitPredictTool(model_id="m", api_key=KEY)


def test_tools_never_show_their_key() -> None:
    tool = FyreToolkitPredictTool(model_id="m", api_key=KEY, base_url=BASE)
    assert KEY not in repr(tool)
    assert KEY not in str(tool.model_dump())
