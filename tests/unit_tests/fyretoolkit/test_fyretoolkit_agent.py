"""FyreToolkit tools inside a LangChain v1 agent, driven by a scripted model; no sockets."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from langchain_mlstudio import FyreToolkit
from langchain_mlstudio.fyretoolkit import FyreToolkitClient
from tests.unit_tests.agents.scripted_model import ScriptedChatModel, call

KEY = "sk_live_demo_12345"

MODELS = {"sentiment-v1": {"id": "sentiment-v1", "object": "model", "status": "ready"}}


class Server:
    """Models, predictions and idempotent batch jobs, as the reference describes them."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        if request.method == "GET" and path == "/models":
            page = {"object": "list", "data": list(MODELS.values()), "has_more": False}
            return httpx.Response(200, json=page)
        if request.method == "GET" and path.startswith("/models/"):
            model = MODELS.get(path.rsplit("/", 1)[1])
            if model is None:
                error = {
                    "code": "model_not_found",
                    "message": "No such model",
                    "request_id": "req_404",
                }
                return httpx.Response(404, json={"error": error})
            return httpx.Response(200, json=model)
        if request.method == "POST" and path.startswith("/predict/"):
            inputs = json.loads(request.content)["inputs"]
            results = [{"label": "positive", "score": 0.97} for _ in inputs]
            return httpx.Response(
                200, json={"id": "pred_1", "model": path.rsplit("/", 1)[1], "results": results}
            )
        if request.method == "POST" and path.startswith("/batch/"):
            key = json.loads(request.content)["idempotency_key"]
            if key not in self.jobs:
                self.jobs[key] = {"id": f"job_{len(self.jobs) + 1}", "status": "queued"}
            return httpx.Response(202, json=self.jobs[key])
        return httpx.Response(404, json={"error": {"code": "not_found", "message": path}})


def toolkit(server: Server, **kwargs: Any) -> FyreToolkit:
    transport = httpx.MockTransport(server)
    client = FyreToolkitClient(
        api_key=KEY,
        base_url="https://fyre.test",
        max_retries=0,
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
    )
    return FyreToolkit(client=client, **kwargs)


def last_tool_result(messages: list[BaseMessage]) -> ToolMessage:
    result = messages[-1]
    assert isinstance(result, ToolMessage)
    return result


modes = pytest.mark.parametrize("mode", ["sync", "async"])


async def run(mode: str, agent: Any, text: str) -> dict[str, Any]:
    state = {"messages": [HumanMessage(text)]}
    return agent.invoke(state) if mode == "sync" else await agent.ainvoke(state)


@modes
async def test_agent_recovers_when_a_tool_404s(mode: str) -> None:
    def after_404(messages: list[BaseMessage]) -> AIMessage:
        error = json.loads(last_tool_result(messages).content)["error"]
        assert (error["status"], error["code"]) == (404, "model_not_found")
        assert "list_models" in error["what_to_do"]
        return call("fyretoolkit_list_models", {}, "call_2")

    def after_listing(messages: list[BaseMessage]) -> AIMessage:
        [model] = json.loads(last_tool_result(messages).content)["models"]
        return call(
            "fyretoolkit_predict", {"model_id": model["id"], "inputs": ["I love it"]}, "call_3"
        )

    def answer(messages: list[BaseMessage]) -> AIMessage:
        label = json.loads(last_tool_result(messages).content)["results"][0]["label"]
        return AIMessage(content=f"The review is {label}.")

    model = ScriptedChatModel(
        script=[
            call("fyretoolkit_get_model", {"model_id": "sentiment-v2"}, "call_1"),
            after_404,
            after_listing,
            answer,
        ]
    )
    server = Server()
    agent = create_agent(model, tools=toolkit(server).get_tools())
    result = await run(mode, agent, "Is 'I love it' positive? Use sentiment-v2.")
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in tool_messages] == ["error", "success", "success"]
    assert result["messages"][-1].content == "The review is positive."
    assert server.requests == [
        "GET /models/sentiment-v2",
        "GET /models",
        "POST /predict/sentiment-v1",
    ]


@modes
async def test_a_repeated_tool_call_in_an_agent_run_creates_one_job(mode: str) -> None:
    args = {"model_id": "sentiment-v1", "input_url": "s3://bucket/reviews.jsonl"}
    model = ScriptedChatModel(
        script=[
            call("fyretoolkit_create_batch_job", args, "call_job"),
            # The same tool call again (a replayed step, a model repeating itself).
            call("fyretoolkit_create_batch_job", args, "call_job"),
            AIMessage(content="Started."),
        ]
    )
    server = Server()
    agent = create_agent(model, tools=toolkit(server, allow_batch_jobs=True).get_tools())
    result = await run(mode, agent, "Score the reviews file.")
    job_ids = [m.artifact["id"] for m in result["messages"] if isinstance(m, ToolMessage)]
    assert job_ids == ["job_1", "job_1"]
    assert len(server.jobs) == 1


def test_a_default_agent_cannot_create_a_job_at_all() -> None:
    model = ScriptedChatModel(
        script=[
            call("fyretoolkit_create_batch_job", {"model_id": "m", "input_url": "s3://x"}, "c1"),
            AIMessage(content="I could not."),
        ]
    )
    server = Server()
    agent = create_agent(model, tools=toolkit(server).get_tools())
    result = agent.invoke({"messages": [HumanMessage("Start a job.")]})
    [refusal] = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert refusal.status == "error"
    assert server.jobs == {}
    assert not any(r.startswith("POST /batch") for r in server.requests)


@modes
async def test_two_conversations_reusing_a_tool_call_id_each_get_their_own_job(mode: str) -> None:
    # Some models number tool calls call_0, call_1... in every conversation.
    args = {"model_id": "sentiment-v1", "input_url": "s3://bucket/reviews.jsonl"}
    server = Server()
    tools = toolkit(server, allow_batch_jobs=True).get_tools()
    for thread in ("alice", "bob"):
        model = ScriptedChatModel(
            script=[call("fyretoolkit_create_batch_job", args, "call_0"), AIMessage(content="ok")]
        )
        agent = create_agent(model, tools=tools, checkpointer=InMemorySaver())
        config = {"configurable": {"thread_id": thread}}
        payload = {"messages": [HumanMessage("Score the file.")]}
        if mode == "sync":
            agent.invoke(payload, config)
        else:
            await agent.ainvoke(payload, config)
    assert len(server.jobs) == 2
