"""Secrets and data hygiene across the three integrations, over loopback.

With every logger at DEBUG and a callback handler plus a tracer recording every
event, the API key must appear nowhere: not in ``repr``/``str``, serialised
objects, tracing metadata (``_get_ls_params``, invocation params, serialized
run data), logs, exception messages and their tracebacks, nor the emulator's
request log. The PII transformer's logs and errors name documents by id, never
by their text.
"""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.load import dumpd
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from langchain_mlstudio import (
    ChatIonosModelStudio,
    ChatModelStudio,
    FastinoPIITool,
    FastinoPIITransformer,
    FyreToolkit,
    FyreToolkitClient,
    FyreToolkitPredictTool,
    MLStudioError,
    PIIDetectionError,
)
from langchain_mlstudio.emulator import Emulator, Fault
from langchain_mlstudio.fastino import FastinoClient
from tests.support.faults import fast_retries, format_log
from tests.support.live import Account

KEY = "sk-secret-0a9f8e7d6c5b"
ACCOUNT = Account(api_key=KEY, organization_id="org-secrets", model="ft-secrets")
#: The key as it travels in FyreToolkit's Basic auth header.
BASIC = base64.b64encode(f"{KEY}:".encode()).decode()
FORMS = (KEY, BASIC, KEY[3:])  # a key cut by a "sk-" prefix strip still leaks


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with ACCOUNT.emulator(job_duration=0.01) as emulator:
        emulator.fyretoolkit.queue_duration = 0.01
        emulator.fyretoolkit.processing_duration = 0.02
        yield emulator


class Recorder(BaseCallbackHandler):
    """Records the arguments of every callback event."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_") and name != "on_event":

            def record(*args: Any, **kwargs: Any) -> None:
                self.events.append(f"{name} {args!r} {kwargs!r}")

            return record
        return super().__getattribute__(name)


class Tracer(BaseTracer):
    """Keeps every finished run as LangSmith would receive it."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[str] = []

    def _persist_run(self, run: Run) -> None:
        self.runs.append(run.model_dump_json())

    def _end_trace(self, run: Run) -> None:
        super()._end_trace(run)
        self.runs.append(run.model_dump_json())


def assert_no_key(*texts: Any) -> None:
    for text in texts:
        rendered = text if isinstance(text, str) else repr(text)
        for form in FORMS:
            assert form not in rendered, f"API key leaked in: {rendered[:300]}"


def rendered_error(error: BaseException) -> str:
    """Everything a caller could print about an error, causes included."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    parts.append(json.dumps(vars(error), default=repr))
    return "\n".join(parts)


def rendered_logs(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            lines.append("".join(traceback.format_exception(record.exc_info[1])))
    return "\n".join(lines)


def config(*handlers: BaseCallbackHandler) -> dict[str, Any]:
    return {"callbacks": list(handlers), "metadata": {"purpose": "secrets-test"}}


@pytest.mark.parametrize("cls", [ChatModelStudio, ChatIonosModelStudio])
async def test_chat_model_never_shows_its_key(
    emu: Emulator, caplog: pytest.LogCaptureFixture, cls: type[ChatModelStudio]
) -> None:
    caplog.set_level(logging.DEBUG)
    emu.generate.flavour = cls.provider
    recorder, tracer = Recorder(), Tracer()
    llm = ACCOUNT.chat_model(cls, emu.base_url, poll_initial_interval=0.02, max_retries=1)
    fast_retries(llm.client.transport, 1)

    llm.invoke("hello", config=config(recorder, tracer))
    await llm.abatch(["a", "b [[fail]]"], config=config(recorder, tracer), return_exceptions=True)
    list(llm.stream("streamed", config=config(recorder, tracer)))
    errors: list[BaseException] = []
    for fault in (
        Fault(status=401, path=r"/generate$", body={"detail": "Invalid token"}),
        Fault(status=500, path=r"/generate$"),
        Fault(kind="non_json", path=r"/generate/job_"),
        Fault(kind="drop", path=r"/generate$"),
    ):
        emu.faults.add(fault)
        with pytest.raises(MLStudioError) as info:
            await llm.ainvoke("boom", config=config(recorder, tracer))
        errors.append(info.value)

    assert recorder.events
    assert tracer.runs
    assert_no_key(
        repr(llm),
        str(llm),
        llm.model_dump(),
        llm.model_dump_json(),
        json.dumps(dumpd(llm)),
        llm._get_ls_params(),
        llm._identifying_params,
        llm._get_invocation_params(),
        repr(llm.client),
        repr(llm.client.transport),
        *recorder.events,
        *tracer.runs,
        *(rendered_error(e) for e in errors),
        rendered_logs(caplog),
        repr(emu.log.entries),
        format_log(emu),
    )


def test_fastino_client_transformer_and_tool_never_show_the_key(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder, tracer = Recorder(), Tracer()
    client = FastinoClient(
        api_key=KEY, base_url=emu.base_url, max_retries=1, requests_per_second=1000
    )
    pii = FastinoPIITransformer(
        api_key=KEY, base_url=emu.base_url, max_retries=1, requests_per_second=1000
    )
    tool = FastinoPIITool(api_key=KEY, base_url=emu.base_url, handle_tool_error=True)
    for transport in (
        client.transport,
        pii.fastino_client.transport,
        tool.fastino_client.transport,
    ):
        fast_retries(transport, 1)

    client.run("fastino-pii", ["Anna Rossi"])
    pii.transform_documents([Document("Mail jamie@example.com", id="d1")])
    tool.invoke({"text": "Call Mary Smith"}, config=config(recorder, tracer))
    errors: list[BaseException] = []
    emu.faults.add(Fault(status=500, path="^/run$", times=None))
    for call in (
        lambda: client.run("fastino-pii", ["x"]),
        lambda: pii.transform_documents([Document("y", id="d2")]),
    ):
        with pytest.raises(MLStudioError) as info:
            call()
        errors.append(info.value)
    failed = tool.invoke(
        {"type": "tool_call", "id": "1", "name": tool.name, "args": {"text": "z"}},
        config=config(recorder, tracer),
    )

    assert failed.status == "error"
    assert_no_key(
        repr(client),
        str(client),
        client.model_dump(),
        repr(pii),
        pii.model_dump(),
        repr(tool),
        json.dumps(dumpd(tool)),
        failed,
        *recorder.events,
        *tracer.runs,
        *(rendered_error(e) for e in errors),
        *(
            rendered_error(c)
            for e in errors
            if isinstance(e, PIIDetectionError)
            for c in e.causes.values()
        ),
        rendered_logs(caplog),
        repr(emu.log.entries),
        format_log(emu),
    )


async def test_fyretoolkit_client_and_tools_never_show_the_key(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder, tracer = Recorder(), Tracer()
    client = FyreToolkitClient(api_key=KEY, base_url=emu.base_url, max_retries=1)
    fast_retries(client.transport, 1)
    predict = FyreToolkitPredictTool(model_id="sentiment-v1", api_key=KEY, base_url=emu.base_url)
    tools = FyreToolkit(client=client, allow_deployments=True).get_tools()

    client.predict("sentiment-v1", ["great"])
    job = await client.acreate_batch_job("sentiment-v1", "s3://bucket/in.jsonl")
    await client.await_job(job.id)
    await predict.ainvoke({"inputs": ["fine"]}, config=config(recorder, tracer))
    by_name = {t.name: t for t in tools}
    get_model = by_name["fyretoolkit_get_model"]
    get_model.handle_tool_error = True
    get_model.invoke({"model_id": "sentiment-v1"}, config=config(recorder, tracer))
    errors: list[BaseException] = []
    for fault in (
        Fault(status=503, path=r"^/predict/", times=None),
        Fault(kind="non_json", path=r"^/predict/"),
        Fault(status=401, path=r"^/predict/"),
    ):
        emu.faults.add(fault)
        with pytest.raises(MLStudioError) as info:
            client.predict("sentiment-v1", ["x"])
        errors.append(info.value)
        emu.faults.clear()
    with pytest.raises(MLStudioError) as info:
        client.create_deployment("s3://m", "nowhere-1")
    errors.append(info.value)
    emu.faults.add(Fault(status=500, path=r"^/models/"))
    failed = get_model.invoke(
        {
            "type": "tool_call",
            "id": "1",
            "name": "fyretoolkit_get_model",
            "args": {"model_id": "x"},
        },
        config=config(recorder, tracer),
    )

    assert failed.status == "error"
    assert_no_key(
        repr(client),
        str(client),
        repr(predict),
        json.dumps(dumpd(predict)),
        predict.model_dump(),
        *(repr(t) for t in tools),
        failed,
        *recorder.events,
        *tracer.runs,
        *(rendered_error(e) for e in errors),
        rendered_logs(caplog),
        repr(emu.log.entries),
        format_log(emu),
    )


# -- the PII transformer names documents by id, never by text ---------------------

SECRET_TEXTS = {
    "cust-1": "Anna Rossi (anna.rossi@example.com) disputes invoice 7731.",
    "cust-2": "Jamie Derran asked to close account at jamie@example.org.",
    "cust-3": "Mary Smith, +49 30 1234567, moved house.",
}
FRAGMENTS = [
    "Anna Rossi",
    "anna.rossi@example.com",
    "invoice 7731",
    "Jamie Derran",
    "jamie@example.org",
    "close account",
    "Mary Smith",
    "+49 30 1234567",
    "moved house",
]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=502, path="^/run$", times=None, body={"message": "Upstream failed"}),
        Fault(kind="drop_mid", path="^/run$", times=None),
        Fault(kind="non_json", path="^/run$", times=None),
        Fault(kind="body", path="^/run$", times=None, body=[{"status": "error", "message": "bad"}]),
    ],
    ids=["502", "drop-mid", "non-json", "input-status-error"],
)
@pytest.mark.parametrize("on_error", ["raise", "drop"])
async def test_pii_transformer_logs_and_errors_carry_ids_never_text(
    emu: Emulator, caplog: pytest.LogCaptureFixture, fault: Fault, on_error: str
) -> None:
    caplog.set_level(logging.DEBUG)
    emu.faults.add(fault)
    pii = FastinoPIITransformer(
        api_key=KEY,
        base_url=emu.base_url,
        max_retries=1,
        on_error=on_error,
        requests_per_second=1000,
    )
    fast_retries(pii.fastino_client.transport, 1)
    docs = [Document(text, id=doc_id) for doc_id, text in SECRET_TEXTS.items()]

    rendered: list[str] = []
    if on_error == "raise":
        with pytest.raises(PIIDetectionError) as info:
            await pii.atransform_documents(docs)
        assert info.value.document_ids == list(SECRET_TEXTS)
        rendered.append(rendered_error(info.value))
        rendered.extend(rendered_error(c) for c in info.value.causes.values())
    else:
        assert await pii.atransform_documents(docs) == []
        warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
        assert all(doc_id in warning.getMessage() for doc_id in SECRET_TEXTS)
    rendered.append(rendered_logs(caplog))

    for text in rendered:
        for fragment in FRAGMENTS:
            assert fragment not in text, f"document text {fragment!r} leaked: {text[:400]}"


async def test_pii_error_causes_do_not_quote_an_entity_the_server_sent_malformed(
    emu: Emulator,
) -> None:
    emu.faults.add(
        Fault(
            kind="body",
            path="^/run$",
            times=None,
            body=[
                {
                    "status": "success",
                    "output": {"entities": [{"start": 0, "end": 10, "text": "Anna Rossi"}]},
                }
            ],
        )
    )
    pii = FastinoPIITransformer(api_key=KEY, base_url=emu.base_url)

    with pytest.raises(PIIDetectionError) as info:
        await pii.atransform_documents([Document(SECRET_TEXTS["cust-1"], id="cust-1")])

    rendered = rendered_error(info.value) + "".join(
        rendered_error(c) for c in info.value.causes.values()
    )
    assert "Anna Rossi" not in rendered
