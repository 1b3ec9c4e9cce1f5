"""Benchmark: adaptive polling and batch packing against the documented loops.

Run it (it is a script, not a test; nothing here is timed in CI)::

    .venv/bin/python tests/benchmarks/bench_chat_models.py [--write]

(a) For jobs of 0.3 s, 1 s and 3 s, the extra latency between the moment a job
    finishes on the server and the moment the caller gets its answer, and the
    number of status checks, for ``ChatModelStudio`` against the docs' loop
    (POST, then GET every 2 s until ``completed``), measured in the same run.
(b) 64 prompts through ``batch`` against one job per prompt in sequence (the
    same client's ``invoke``, so the baseline already polls adaptively): wall
    time and HTTP requests.

(c) ``--applications`` (issue 11), against the emulator in its IONOS flavour (3
    parallel jobs, 0.5 s jobs), each case also run with packing off in the same
    run (``pack_concurrent_calls=False``, and ``max_batch_size=1`` for ``batch``):
    100 concurrent ``ainvoke``, ``batch`` of 300 with ``max_concurrency=3``, a
    LangGraph ``Send`` fan-out of 20, and the peak of jobs in flight across two
    instances sharing a key.

``--write`` replaces the benchmarked section(s) of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio.emulator import Emulator

if __package__ in (None, ""):  # run as a script: the repository root holds ``tests.support``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.chat import fan_out

KEY, ORG, MODEL = "bench-key", "bench-org", "bench-model"
REPEATS = 5
DURATIONS = (0.3, 1.0, 3.0)
BATCH_PROMPTS = 64
BATCH_JOB_SECONDS = 0.3
DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
START, END = "<!-- bench:chat-models:start -->", "<!-- bench:chat-models:end -->"
APPS_START = "<!-- bench:chat-applications:start -->"
APPS_END = "<!-- bench:chat-applications:end -->"
APP_JOB_SECONDS = 0.5


def docs_loop(emu: Emulator, prompt: str) -> str:
    """The seed page's ``generate_and_wait``: POST, then GET every 2 s."""
    url = f"{emu.base_url}/api/v1/organizations/{ORG}/generate"
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client() as http:
        job_id = http.post(
            url,
            headers=headers,
            json={"model_id": MODEL, "messages": [[{"role": "user", "content": prompt}]]},
        ).json()["job_id"]
        while True:
            data = http.get(f"{url}/{job_id}", headers=headers).json()
            if data["job_status"] == "completed":
                return job_id
            time.sleep(2)


def adaptive(emu: Emulator, prompt: str) -> str:
    llm = ChatModelStudio(model=MODEL, api_key=KEY, organization_id=ORG, base_url=emu.base_url)
    return str(llm.invoke(prompt).response_metadata["job_id"])


def measure_latency(emu: Emulator, run: object, duration: float) -> tuple[float, float]:
    """Median extra latency (s) and median status checks over REPEATS jobs."""

    def one(i: int) -> tuple[float, int]:
        job_id = run(emu, f"[[slow:{duration}]] job {i}")  # type: ignore[operator]
        returned = time.monotonic()
        job = emu.generate.jobs[job_id]
        finished = job.created_at + job.duration
        checks = emu.log.count("GET", f"/generate/{job_id}$")
        return returned - finished, checks

    with ThreadPoolExecutor(REPEATS) as pool:
        samples = list(pool.map(one, range(REPEATS)))
    return (
        statistics.median(s[0] for s in samples),
        statistics.median(s[1] for s in samples),
    )


def latency_table(emu: Emulator) -> list[str]:
    rows = [
        "| job time | extra latency, adaptive | extra latency, docs' 2 s loop | ratio | "
        "status checks, adaptive | status checks, docs' loop | target (≤ max(10 %, 150 ms)) |",
        "|---|---|---|---|---|---|---|",
    ]
    for duration in DURATIONS:
        ours, our_checks = measure_latency(emu, adaptive, duration)
        base, base_checks = measure_latency(emu, docs_loop, duration)
        target = max(0.1 * duration, 0.15)
        rows.append(
            f"| {duration:g} s | {ours * 1000:.0f} ms | {base * 1000:.0f} ms | "
            f"{base / max(ours, 1e-3):.1f}× lower | {our_checks:g} | {base_checks:g} | "
            f"{'met' if ours <= target else 'MISSED'} ({target * 1000:.0f} ms) |"
        )
    return rows


def batch_table(emu: Emulator) -> list[str]:
    emu.generate.job_duration = BATCH_JOB_SECONDS
    llm = ChatModelStudio(model=MODEL, api_key=KEY, organization_id=ORG, base_url=emu.base_url)
    prompts = [f"prompt {i}" for i in range(BATCH_PROMPTS)]

    emu.log.clear()
    start = time.perf_counter()
    for prompt in prompts:
        llm.invoke(prompt)
    sequential_s, sequential_requests = time.perf_counter() - start, emu.log.count()

    emu.log.clear()
    start = time.perf_counter()
    results = llm.batch(prompts)
    batch_s, batch_requests = time.perf_counter() - start, emu.log.count()
    assert [r.content for r in results] == [f"Echo: {p}" for p in prompts]
    jobs = emu.log.count("POST", "/generate$")

    speedup = sequential_s / batch_s
    share = batch_requests / sequential_requests
    return [
        "| 64 prompts | wall time | HTTP requests | jobs |",
        "|---|---|---|---|",
        f"| one job per prompt, in sequence (`invoke` loop) | {sequential_s:.2f} s | "
        f"{sequential_requests} | {BATCH_PROMPTS} |",
        f"| `batch` (packed, max_batch_size=32) | {batch_s:.2f} s | {batch_requests} | {jobs} |",
        f"| ratio | **{speedup:.0f}× faster** (target ≥ 20×) | **{share:.3f}** of the requests "
        f"(target ≤ 0.1) | |",
    ]


def _ionos(emu: Emulator, packing: bool, **settings: Any) -> ChatIonosModelStudio:
    off: dict[str, Any] = {} if packing else {"pack_concurrent_calls": False}
    return ChatIonosModelStudio(
        model=MODEL,
        api_key=KEY,
        organization_id=ORG,
        base_url=emu.base_url,
        **off,
        **settings,
    )


def _measure(emu: Emulator, run: Callable[[], object]) -> tuple[float, int, int, int]:
    """Seconds, jobs created, peak jobs in flight and 429s of one run."""
    emu.log.clear()
    emu.generate.created_jobs = 0
    emu.generate.peak_running_jobs = 0
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    refusals = sum(1 for e in emu.log.entries if e.status == 429)
    return seconds, emu.generate.created_jobs, emu.generate.peak_running_jobs, refusals


def _gather(emu: Emulator, packing: bool) -> None:
    llm = _ionos(emu, packing)

    async def go() -> None:
        results = await asyncio.gather(*(llm.ainvoke(f"q{i}") for i in range(100)))
        assert [r.content for r in results] == [f"Echo: q{i}" for i in range(100)]

    asyncio.run(go())


def _batch(emu: Emulator, packing: bool) -> None:
    llm = _ionos(emu, packing, **({} if packing else {"max_batch_size": 1}))
    results = llm.batch([f"q{i}" for i in range(300)], config={"max_concurrency": 3})
    assert [r.content for r in results] == [f"Echo: q{i}" for i in range(300)]


def _fan_out(emu: Emulator, packing: bool) -> None:
    topics = [f"t{i}" for i in range(20)]
    answers = asyncio.run(fan_out(_ionos(emu, packing), topics))
    assert sorted(answers) == sorted(f"Echo: {t}" for t in topics)


def _two_instances(emu: Emulator, packing: bool) -> None:
    first, second = _ionos(emu, packing), _ionos(emu, packing, temperature=0.2)

    async def go() -> None:
        await asyncio.gather(*(m.ainvoke(f"q{i}") for m in (first, second) for i in range(6)))

    asyncio.run(go())


def applications_table(emu: Emulator) -> list[str]:
    emu.generate.job_duration = APP_JOB_SECONDS
    cases = [
        ("100 concurrent `ainvoke` (`asyncio.gather`)", _gather, "≥ 10× faster, ≤ 4 jobs"),
        ("`batch` of 300, `max_concurrency=3`", _batch, "≥ 10× faster, ≤ 10 jobs"),
        ("LangGraph `Send` fan-out of 20", _fan_out, "≤ 1 job"),
        ("12 calls on two instances sharing a key", _two_instances, "peak ≤ 3 jobs in flight"),
    ]
    rows = [
        "| case | packing on | packing off (baseline) | speed-up | jobs on / off | "
        "peak in flight on / off | 429s on / off | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, run, target in cases:
        on = _measure(emu, lambda run=run: run(emu, True))
        off = _measure(emu, lambda run=run: run(emu, False))
        rows.append(
            f"| {name} | {on[0]:.2f} s | {off[0]:.2f} s | **{off[0] / on[0]:.1f}× faster** | "
            f"{on[1]} / {off[1]} | {on[2]} / {off[2]} | {on[3]} / {off[3]} | {target} |"
        )
        print(rows[-1], flush=True)
    return rows


def _write_section(start: str, end: str, lines: list[str]) -> None:
    section = "\n".join([start, *lines, end])
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if start in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text)


def _applications(write: bool) -> None:
    with Emulator(api_key=KEY, organization_id=ORG, model=MODEL, flavour="ionos") as emu:
        print(
            f"(c) Chat models in applications: IONOS flavour, 3 parallel jobs, "
            f"{APP_JOB_SECONDS} s jobs\n"
        )
        rows = applications_table(emu)
    if write:
        _write_section(
            APPS_START,
            APPS_END,
            [
                "## Chat models in applications (packing, shared limits)",
                "",
                "Measured with `tests/benchmarks/bench_chat_models.py --applications` against "
                "the emulator in its IONOS flavour (at most 3 unfinished jobs per key, else "
                f"429; jobs of {APP_JOB_SECONDS} s), on the project's 2-core machine "
                f"({time.strftime('%Y-%m-%d')}). Each case runs twice in the same process: "
                "with the defaults, and with packing off (`pack_concurrent_calls=False`, "
                "plus `max_batch_size=1` for `batch`: one job per input, what every path "
                "but `batch` did before). Peak in flight is counted by the emulator.",
                "",
                *rows,
                "",
                "Before this change, two instances sharing a key had 6 jobs in flight "
                "(the limit counted per instance); it now holds across every instance, "
                "copy and `configurable_fields` instance of the process.",
            ],
        )
        print(f"\nWrote {DOC}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--applications", action="store_true", help="run only (c), the issue-11 cases"
    )
    args = parser.parse_args()
    if args.applications:
        _applications(args.write)
        return 0
    with Emulator(api_key=KEY, organization_id=ORG, model=MODEL, job_duration=0.3) as emu:
        print(f"(a) Extra latency after a job finishes, median of {REPEATS} jobs each\n")
        latency = latency_table(emu)
        print("\n".join(latency))
        print(f"\n(b) {BATCH_PROMPTS} prompts, jobs of {BATCH_JOB_SECONDS} s\n")
        batch = batch_table(emu)
        print("\n".join(batch))
    if args.write:
        _write_section(
            START,
            END,
            [
                "## Chat models (generate-job polling and batching)",
                "",
                f"Measured with `tests/benchmarks/bench_chat_models.py` against the emulator on "
                f"loopback, on the project's 2-core machine ({time.strftime('%Y-%m-%d')}).",
                "",
                f"**(a) Extra latency after a job finishes** (median of {REPEATS} jobs): the "
                "package's adaptive polling against the documentation's fixed 2-second loop.",
                "",
                *latency,
                "",
                f"**(b) {BATCH_PROMPTS} prompts** (jobs of {BATCH_JOB_SECONDS} s): `batch` against "
                "one job per prompt in sequence.",
                "",
                *batch,
            ],
        )
        print(f"\nWrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
