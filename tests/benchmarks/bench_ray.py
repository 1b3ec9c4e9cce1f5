"""Benchmark: redaction and generation on a local Ray cluster, limits held cluster-wide.

Redaction: 5,000 support tickets go to the emulated Fastino ``/run`` (50 ms
added to every request) at the documented Pro/Team settings
(``batch_size=32``, ``requests_per_second=10``): through the single-process
transformer (the baseline) and through ``redact_dataset`` with 1 and 2
workers. Generation: 2,000 prompts on IONOS settings (3 parallel jobs, 32
conversations per job) through ``llm.batch`` in one process (the baseline)
and through ``generate_dataset`` with 2 workers. Every figure that proves a
limit is read at the emulator: arrival times of ``/run`` requests (peak in
any 1-second window) and the peak of generation jobs running at once (the
emulator's own IONOS refusal is switched off, so an overrun would show). The
emulator runs in a process of its own, so its clock shares no interpreter
lock with the Ray driver.

Run it with ``python tests/benchmarks/bench_ray.py`` (it is not a test;
pytest does not collect it). It takes about two minutes on 2 cores.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import ray
from bench_fastino import make_documents
from ray.data import DataContext

from langchain_mlstudio import ChatIonosModelStudio, FastinoPIITransformer
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.emulator.fastino import detect
from langchain_mlstudio.ray import generate_dataset, redact_dataset
from tests.support.emulator import peak_in_window

N_DOCS = 5_000
N_PROMPTS = 2_000
LATENCY = 0.05
RATE = 10.0
JOBS = 3
JOB_SECONDS = 0.5
API_KEY = "bench-key"
ORG = "bench-org"
MODEL = "bench-model"


@dataclass
class Row:
    name: str
    items: int
    requests: int
    seconds: float
    peak: int
    span: float  # first to last request arrival
    bad: int  # values left (redaction) or wrong answers (generation)

    @property
    def per_second(self) -> float:
        return self.items / self.seconds

    @property
    def share(self) -> float:
        """Requests per second while sending, as a share of the plan's limit."""
        return (self.requests - 1) / self.span / RATE if self.span > 0 else 0.0


def serve(conn: Connection) -> None:
    """The emulator's process: answers ``reset`` and ``report`` until ``stop``."""
    with Emulator(api_key=API_KEY, organization_id=ORG, model=MODEL, flavour="ionos") as emu:
        emu.fastino.latency = LATENCY
        emu.generate.job_duration = JOB_SECONDS
        emu.generate.max_parallel_jobs = None  # count an overrun instead of refusing it
        conn.send(emu.base_url)
        while (command := conn.recv()) != "stop":
            if command == "reset":
                emu.fastino.reset()
                emu.log.clear()
                emu.generate.peak_running_jobs = 0
            else:
                creates = [e.at for e in emu.log.matching("POST", r"/generate$")]
                conn.send((emu.fastino.arrivals(), creates, emu.generate.peak_running_jobs))


class Server:
    """The emulator in its own process, and what it saw."""

    def __init__(self) -> None:
        self.conn, child = mp.get_context("spawn").Pipe()
        self.process = mp.get_context("spawn").Process(target=serve, args=(child,), daemon=True)
        self.process.start()
        self.base_url: str = self.conn.recv()

    def reset(self) -> None:
        self.conn.send("reset")

    def report(self) -> tuple[list[float], list[float], int]:
        self.conn.send("report")
        return self.conn.recv()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)


def redaction_row(emu: Server, name: str, run: Callable[[], dict[str, str]]) -> Row:
    docs = make_documents(N_DOCS)
    emu.reset()
    started = time.perf_counter()
    outputs = run()
    seconds = time.perf_counter() - started
    arrivals, _, _ = emu.report()
    left = sum(
        e["text"] in outputs.get(str(doc.id), e["text"])
        for doc in docs
        for e in detect(doc.page_content)
    )
    return Row(
        name, len(outputs), len(arrivals), seconds, peak_in_window(arrivals),
        arrivals[-1] - arrivals[0], left,
    )  # fmt: skip


def generation_row(emu: Server, name: str, run: Callable[[], dict[int, str]]) -> Row:
    emu.reset()
    started = time.perf_counter()
    answers = run()
    seconds = time.perf_counter() - started
    wrong = sum(answers.get(i) != f"Echo: ticket {i} summary" for i in range(N_PROMPTS))
    _, creates, peak = emu.report()
    return Row(name, len(answers), len(creates), seconds, peak, creates[-1] - creates[0], wrong)


def main() -> int:
    """Run the benchmark, print the tables; exit 1 if a limit or a target is missed."""
    emu = Server()  # before Ray starts its threads
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    DataContext.get_current().enable_progress_bars = False
    docs = make_documents(N_DOCS)
    items = [{"id": str(d.id), "text": d.page_content} for d in docs]
    redaction: list[Row] = []
    generation: list[Row] = []
    try:

        def pii() -> FastinoPIITransformer:
            return FastinoPIITransformer(
                api_key=API_KEY, base_url=emu.base_url, batch_size=32,
                requests_per_second=RATE, entity_types=None, redact_metadata=False,
            )  # fmt: skip

        def single() -> dict[str, str]:
            return {str(d.id): d.page_content for d in pii().transform_documents(docs)}

        def on_ray(workers: int) -> Callable[[], dict[str, str]]:
            def run() -> dict[str, str]:
                ds = ray.data.from_items(items, override_num_blocks=20)
                out: dict[str, str] = {}
                for batch in redact_dataset(ds, pii(), concurrency=workers).iter_batches(
                    batch_format="pyarrow"
                ):
                    out.update(zip(batch["id"].to_pylist(), batch["text"].to_pylist(), strict=True))
                return out

            return run

        redaction.append(redaction_row(emu, "single-process transformer (baseline)", single))
        redaction.append(redaction_row(emu, "redact_dataset, 1 worker", on_ray(1)))
        redaction.append(redaction_row(emu, "redact_dataset, 2 workers", on_ray(2)))

        llm = ChatIonosModelStudio(
            model=MODEL, api_key=API_KEY, organization_id=ORG, base_url=emu.base_url,
            max_batch_size=32, poll_initial_interval=0.1, poll_max_interval=0.2,
        )  # fmt: skip
        prompts = [f"ticket {i} summary" for i in range(N_PROMPTS)]

        def batch() -> dict[int, str]:
            return {i: m.content for i, m in enumerate(llm.batch(prompts))}  # type: ignore[misc]

        def on_ray_generation() -> dict[int, str]:
            ds = ray.data.from_items(
                [{"id": i, "prompt": p} for i, p in enumerate(prompts)], override_num_blocks=16
            )
            out: dict[int, Any] = {}
            for part in generate_dataset(ds, llm, concurrency=2).iter_batches(
                batch_format="pyarrow"
            ):
                out.update(zip(part["id"].to_pylist(), part["answer"].to_pylist(), strict=True))
            return out

        generation.append(generation_row(emu, "llm.batch, one process (baseline)", batch))
        generation.append(generation_row(emu, "generate_dataset, 2 workers", on_ray_generation))
    finally:
        emu.stop()
        ray.shutdown()
    return report(redaction, generation)


def report(redaction: list[Row], generation: list[Row]) -> int:
    """Print both tables; 0 when every limit held and the share target was met."""
    base = redaction[0]
    print(
        f"\n{N_DOCS} documents, {LATENCY * 1000:.0f} ms added per request, limit "
        f"{RATE:.0f} requests/s, batch_size=32, max_concurrency=4 per worker.\n"
    )
    print(
        "| Run | Requests | Seconds | Docs/s | Max requests in any 1 s "
        "| Share of limit while sending | Values left | vs baseline |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in redaction:
        print(
            f"| {r.name} | {r.requests} | {r.seconds:.2f} | {r.per_second:.0f} | {r.peak} | "
            f"{r.share:.0%} | {r.bad} | {base.seconds / r.seconds:.2f}x |"
        )
    gen_base = generation[0]
    print(
        f"\n{N_PROMPTS} prompts, IONOS settings ({JOBS} parallel jobs, 32 per job), "
        f"{JOB_SECONDS} s per job.\n"
    )
    print("| Run | Jobs | Seconds | Prompts/s | Max jobs running at once | Wrong | vs baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in generation:
        print(
            f"| {r.name} | {r.requests} | {r.seconds:.2f} | {r.per_second:.0f} | {r.peak} | "
            f"{r.bad} | {gen_base.seconds / r.seconds:.2f}x |"
        )
    held = all(r.peak <= RATE for r in redaction) and all(r.peak <= JOBS for r in generation)
    used = all(r.share >= 0.9 for r in redaction)
    clean = all(r.bad == 0 for r in redaction + generation)
    print(
        f"\nLimits held at the emulator in every run: {'yes' if held else 'NO'}. "
        f"Share of the plan limit >= 90 % while sending: {'yes' if used else 'NO'}. "
        f"No value left, no wrong answer: {'yes' if clean else 'NO'}."
    )
    return 0 if held and used and clean else 1


if __name__ == "__main__":
    sys.exit(main())
