"""Load with faults: 500 prompts through ``ChatIonosModelStudio.abatch`` and, at
the same time on the same event loop, 2,000 documents through
``FastinoPIITransformer.atransform_documents``.

The emulator runs in its own process (see ``_emulator_process.py``) and fails a
few percent of requests at random (seeded): 503s, 500s on job submission,
dropped connections, 429s, cut and non-JSON answers. The test asserts the
package's promises under that load:

* every input comes back exactly once: an answer, or a typed error (chat); a
  redacted document, or its id among the dropped ones (Fastino);
* no prompt is ever part of two generation jobs;
* jobs in flight never exceed ``max_concurrent_jobs`` (server and client view);
* Fastino's request arrivals never exceed ``requests_per_second`` in any 1-second
  window;
* memory stays bounded: a second, traced run of the same load retains no memory
  per request.

It prints a summary (``pytest -s``) whose figures docs/reliability.md reports.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document

from langchain_mlstudio import (
    ChatIonosModelStudio,
    FastinoPIITransformer,
    ServerError,
)
from tests.support.emulator import peak_in_window
from tests.support.live import Account

ACCOUNT = Account(api_key="load-key-8e21", organization_id="org-load", model="ft-load")
PROMPTS = 500
DOCUMENTS = 2_000
MAX_CONCURRENT_JOBS = 3
MAX_BATCH_SIZE = 10
REQUESTS_PER_SECOND = 50.0
FASTINO_BATCH = 16
#: Bytes a further run may add per input. Anything a leak would keep per input
#: or per request (a Document, an AIMessage, a log record, an httpx response)
#: weighs several hundred bytes at least; run-to-run noise stays well below.
GROWTH_PER_INPUT_LIMIT = 128

SUBMIT_FAILURE = "Injected 500 on submit (load)"
FAULTS: list[dict[str, Any]] = [
    # generate-job API: retried or survived...
    {"status": 503, "path": "/generate", "probability": 0.03, "times": None,
     "headers": {"Retry-After": "0"}, "body": {"detail": "Injected 503 (load)"}},
    {"kind": "drop", "method": "GET", "path": "/generate/", "probability": 0.02, "times": None},
    # ...and a submission that may have created a job: never resubmitted.
    {"status": 500, "method": "POST", "path": "/generate$", "probability": 0.03, "times": None,
     "body": {"detail": SUBMIT_FAILURE}},
    # Fastino /run: retried...
    {"status": 429, "path": "^/run$", "probability": 0.03, "times": None,
     "headers": {"Retry-After": "0"}, "body": {"message": "Too many requests (load)"}},
    {"kind": "drop_mid", "path": "^/run$", "probability": 0.02, "times": None},
    # ...and an unreadable answer: its documents are dropped, never passed raw.
    {"kind": "non_json", "path": "^/run$", "probability": 0.01, "times": None},
]  # fmt: skip

NAMES = ["Anna Rossi", "Jamie Derran", "Mary Smith", "Lukas Weber", "Priya Patel"]


class EmulatorProcess:
    """The emulator in a child process, driven over its stdin and stdout."""

    def __init__(self, config: dict[str, Any]) -> None:
        script = Path(__file__).with_name("_emulator_process.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        assert self.base_url.startswith("http://127.0.0.1:"), self.base_url

    def report(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(
        {
            "api_key": ACCOUNT.api_key,
            "organization_id": ACCOUNT.organization_id,
            "model": ACCOUNT.model,
            "flavour": "ionos",
            "job_duration": 0.05,
            "seed": 20261122,
            "faults": FAULTS,
        }
    )
    yield process
    process.stop()


class DroppedIds(logging.Handler):
    """Collects the ids the transformer logs when it drops failed documents."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.ids: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "dropped ids" in record.msg:
            self.ids.extend(i for i in str(record.args[-1]).split(", ") if i)  # type: ignore[index]


def documents(count: int = DOCUMENTS) -> list[Document]:
    return [
        Document(
            f"Ticket {i}: {NAMES[i % len(NAMES)]} wrote from user{i}@example.com about order {i}.",
            id=f"doc-{i}",
        )
        for i in range(count)
    ]


async def run_load(
    llm: ChatIonosModelStudio,
    pii: FastinoPIITransformer,
    dropped: DroppedIds,
    size: float = 1.0,
) -> dict[str, Any]:
    prompts = [f"prompt {i}" for i in range(int(PROMPTS * size))]
    docs = documents(int(DOCUMENTS * size))
    dropped.ids.clear()

    async def timed(work: Any) -> tuple[Any, float]:
        started = time.monotonic()
        result = await work
        return result, time.monotonic() - started

    # Both loads share one event loop, at the same time.
    (answers, chat_seconds), (redacted, fastino_seconds) = await asyncio.gather(
        timed(llm.abatch(prompts, return_exceptions=True)),
        timed(pii.atransform_documents(docs)),
    )
    return {
        "prompts": prompts,
        "answers": answers,
        "chat_seconds": chat_seconds,
        "docs": docs,
        "redacted": list(redacted),
        "dropped": list(dropped.ids),
        "fastino_seconds": fastino_seconds,
    }


async def flush(llm: ChatIonosModelStudio, pii: FastinoPIITransformer) -> None:
    await llm.abatch(["flush 1", "flush 2"], return_exceptions=True)
    await pii.atransform_documents([Document("flush", id="flush")])


def check_chat(
    run: dict[str, Any], seen: dict[str, Any], llm: ChatIonosModelStudio
) -> dict[str, Any]:
    prompts, answers = run["prompts"], run["answers"]
    assert len(answers) == len(prompts)
    failed = []
    for i, (prompt, answer) in enumerate(zip(prompts, answers, strict=True)):
        if isinstance(answer, BaseException):
            # Only a submission that may have created a job fails, typed, with
            # the server's message; everything else was retried or survived.
            assert isinstance(answer, ServerError), answer
            assert answer.server_message == SUBMIT_FAILURE
            failed.append(i)
        else:
            assert answer.content == f"Echo: {prompt}"
    # No prompt was ever part of two jobs; every answered one of exactly one.
    in_jobs = Counter(text for job in seen["jobs"] for conv in job for text in conv)
    assert max(in_jobs.values()) == 1
    assert {
        p for p, a in zip(prompts, answers, strict=True) if not isinstance(a, BaseException)
    } <= set(in_jobs)
    submits = [e for e in seen["log"] if e["method"] == "POST" and e["path"].endswith("/generate")]
    assert seen["created_jobs"] == sum(e["status"] == 200 for e in submits) == len(seen["jobs"])
    # The job cap held from submission to the end of every job.
    assert seen["peak_running_jobs"] <= MAX_CONCURRENT_JOBS
    assert llm.slots.peak <= MAX_CONCURRENT_JOBS
    unasked_429 = [e for e in seen["log"] if e["status"] == 429 and e["fault"] is None]
    assert unasked_429 == []  # the fair-use limit was never hit
    generate = [e for e in seen["log"] if "/generate" in e["path"]]
    return {
        "seconds": run["chat_seconds"],
        "answered": len(prompts) - len(failed),
        "failed_typed": len(failed),
        "jobs": seen["created_jobs"],
        "requests": len(generate),
        "faults": sum(e["fault"] is not None for e in generate),
        "peak_jobs_server": seen["peak_running_jobs"],
        "peak_jobs_client": llm.slots.peak,
    }


def check_fastino(run: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    docs, redacted, dropped = run["docs"], run["redacted"], run["dropped"]
    returned = [d.id for d in redacted]
    # Every document exactly once: returned redacted, or dropped by id.
    assert len(returned) == len(set(returned))
    assert len(dropped) == len(set(dropped))
    assert not set(returned) & set(dropped)
    assert set(returned) | set(dropped) == {d.id for d in docs}
    assert returned == [d.id for d in docs if d.id in set(returned)]  # input order kept
    originals = {d.id: d.page_content for d in docs}
    for doc in redacted:
        number = int(doc.id.removeprefix("doc-"))
        assert NAMES[number % len(NAMES)] not in doc.page_content
        assert f"user{number}@example.com" not in doc.page_content
        assert doc.page_content != originals[doc.id]
    # Each input went out once, plus only the retries that were safe.
    runs = [e for e in seen["log"] if e["path"] == "/run"]
    per_input = Counter(item["text"] for e in runs for item in e["json"]["input"])
    assert set(per_input) == set(originals.values())
    assert max(per_input.values()) <= 3  # 1 + max_retries
    arrivals = [at for at, method, path in seen["arrivals"] if path == "/run"]
    assert len(arrivals) == len(runs)
    peak_rate = peak_in_window(arrivals)
    assert peak_rate <= REQUESTS_PER_SECOND
    return {
        "seconds": run["fastino_seconds"],
        "returned": len(returned),
        "dropped": len(dropped),
        "requests": len(runs),
        "faults": sum(e["fault"] is not None for e in runs),
        "sends_per_input": dict(sorted(Counter(per_input.values()).items())),
        "peak_requests_in_1s": peak_rate,
    }


async def test_load_with_faults_keeps_every_promise(server: EmulatorProcess) -> None:
    llm = ACCOUNT.chat_model(
        ChatIonosModelStudio,
        server.base_url,
        max_batch_size=MAX_BATCH_SIZE,
        max_concurrent_jobs=MAX_CONCURRENT_JOBS,
        poll_initial_interval=0.05,
        poll_max_interval=0.2,
    )
    pii = FastinoPIITransformer(
        api_key=ACCOUNT.api_key,
        base_url=server.base_url,
        entity_types=["full_name", "email"],
        batch_size=FASTINO_BATCH,
        requests_per_second=REQUESTS_PER_SECOND,
        max_concurrency=4,
        on_error="drop",
    )
    dropped = DroppedIds()
    logger = logging.getLogger("langchain_mlstudio.fastino")
    logger.addHandler(dropped)
    try:
        first = await run_load(llm, pii, dropped)
        seen = server.report()
        chat = check_chat(first, seen, llm)
        fastino = check_fastino(first, seen)
        del first, seen

        # Memory: trace a second and a third run (a third of the size, to keep the
        # suite fast: tracing slows the client down). Each measurement
        # follows a two-prompt batch and a one-document transform, so what the
        # event loop machinery still references from the last big run is not
        # counted; what remains is growth, and it must not scale with requests.
        gc.collect()
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            after: list[int] = []
            for _ in range(2):
                run = await run_load(llm, pii, dropped, size=0.3)
                check_chat(run, server.report(), llm)
                inputs_per_run = len(run["prompts"]) + len(run["docs"])
                del run
                await flush(llm, pii)
                server.report()
                gc.collect()
                after.append(tracemalloc.get_traced_memory()[0])
            top = tracemalloc.take_snapshot().statistics("lineno")[:5]
        finally:
            tracemalloc.stop()
    finally:
        logger.removeHandler(dropped)

    growth = after[1] - after[0]
    summary = {
        "chat": chat,
        "fastino": fastino,
        "memory": {
            "retained_after_second_run_bytes": after[0] - start,
            "growth_from_third_run_bytes": growth,
            "inputs_per_run": inputs_per_run,
            "growth_per_input_bytes": round(growth / inputs_per_run, 2),
        },
    }
    print("\nLOAD SUMMARY " + json.dumps(summary, indent=2))
    assert growth < GROWTH_PER_INPUT_LIMIT * inputs_per_run, "\n".join(str(s) for s in top)
