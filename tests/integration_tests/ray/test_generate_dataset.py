"""generate_dataset on a local Ray cluster: the job cap and the job ledger seen at the server."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from langchain_mlstudio import ChatIonosModelStudio
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.ray import JobOutcomeUnknownError, generate_dataset
from langchain_mlstudio.ray._coordinator import start_coordinator
from langchain_mlstudio.ray._generate import GenerationWorker, ModelRecipe
from langchain_mlstudio.ray._rows import GenerationLayout, conversation_of, job_key

from .conftest import ACCOUNT

pytestmark = pytest.mark.usefixtures("ray_cluster")
LAYOUT = GenerationLayout("prompt", "answer", "id")


def model(emu: Emulator, **kwargs: Any) -> ChatIonosModelStudio:
    return ACCOUNT.chat_model(
        ChatIonosModelStudio,
        emu.base_url,
        poll_initial_interval=0.05,
        poll_max_interval=0.1,
        **kwargs,
    )


def prompts(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "prompt": f"question {i}"} for i in range(n)]


def submitted(emu: Emulator) -> int:
    return emu.log.count("POST", r"/generate$")


def test_workers_together_hold_max_concurrent_jobs_at_the_server(
    ray_cluster: Any, emulator: Emulator
) -> None:
    llm = model(emulator, max_concurrent_jobs=2, max_batch_size=4)
    ds = ray_cluster.data.from_items(prompts(40), override_num_blocks=5)  # blocks of 8
    # Two workers, each running two jobs of its batch at once: four without a shared cap.
    rows = generate_dataset(ds, llm, rows_per_batch=8, concurrency=2).take_all()
    assert sorted((r["id"], r["answer"]) for r in rows) == [
        (i, f"Echo: question {i}") for i in range(40)
    ]
    assert {r["answer_error"] for r in rows} == {None}
    assert submitted(emulator) == 10  # 40 rows packed into jobs of 4
    assert emulator.generate.peak_running_jobs <= 2


def test_each_row_gets_its_answer_or_its_error_class(ray_cluster: Any, emulator: Emulator) -> None:
    items = [
        {
            "id": 0,
            "prompt": [
                {"role": "system", "content": "Be brief"},
                {"role": "user", "content": "Hi"},
            ],
        },
        {"id": 1, "prompt": [{"role": "wizard", "content": "Jamie Derran's secret"}]},
        {"id": 2, "prompt": [{"role": "user", "content": "Bye"}]},
    ]
    rows = generate_dataset(
        ray_cluster.data.from_items(items), model(emulator), concurrency=1
    ).take_all()
    by_id = {r["id"]: r for r in rows}
    assert by_id[0]["answer"] == "Echo: Hi"
    assert by_id[2]["answer"] == "Echo: Bye"
    assert by_id[1]["answer"] is None
    assert by_id[1]["answer_error"] == "InvalidInputError"  # the class, no text of the prompt
    assert submitted(emulator) == 1  # the valid rows share one job


def test_a_retried_batch_resumes_its_job_instead_of_submitting_again(
    ray_cluster: Any, emulator: Emulator
) -> None:
    llm = model(emulator, max_batch_size=4)
    run = start_coordinator("generate", job_slots=3)
    first = GenerationWorker(ModelRecipe.of(llm), run, LAYOUT).rows(prompts(10))
    assert submitted(emulator) == 3
    # The same batch again, in a new worker of the same run (as a Ray retry runs it)
    again = GenerationWorker(ModelRecipe.of(llm), run, LAYOUT).rows(prompts(10))
    assert submitted(emulator) == 3
    assert again == first
    assert {r["answer"] for r in again} == {f"Echo: question {i}" for i in range(10)}


def test_a_submission_cut_off_before_its_id_was_recorded_is_not_sent_again(
    ray_cluster: Any, emulator: Emulator
) -> None:
    llm = model(emulator, max_batch_size=4)
    run = start_coordinator("generate", job_slots=3)
    rows = prompts(2)
    key = job_key([0, 1], [conversation_of(r["prompt"]) for r in rows])
    ray_cluster.get(run.claim.remote(key))  # an attempt claimed the job, then died
    out = GenerationWorker(ModelRecipe.of(llm), run, LAYOUT).rows(rows)
    assert submitted(emulator) == 0
    assert [r["answer_error"] for r in out] == [JobOutcomeUnknownError.__name__] * 2
    assert [r["answer"] for r in out] == [None, None]


class DiesOnceWhileItsJobRuns(GenerationWorker):
    """A worker whose process dies the first time it waits for a job it submitted."""

    def __init__(self, flag: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        wait = self.client.wait_for_job

        def die_once(job_id: str, **kw: Any) -> Any:
            if not os.path.exists(flag):
                Path(flag).write_text(job_id)
                os._exit(1)  # the worker is gone: Ray restarts it and retries the task
            return wait(job_id, **kw)

        self.client.wait_for_job = die_once  # type: ignore[method-assign]


def test_a_worker_dying_while_its_job_runs_is_retried_by_ray_without_a_second_job(
    ray_cluster: Any, emulator: Emulator, tmp_path: Path
) -> None:
    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    llm = model(emulator, max_batch_size=4)
    flag = tmp_path / "died"
    ds = ray_cluster.data.from_items(prompts(4), override_num_blocks=1).map_batches(
        DiesOnceWhileItsJobRuns,
        fn_constructor_kwargs={
            "flag": str(flag),
            "recipe": ModelRecipe.of(llm),
            "coordinator": start_coordinator("generate", job_slots=3),
            "layout": LAYOUT,
        },
        batch_size=4,
        batch_format="pyarrow",
        compute=ray_cluster.data.ActorPoolStrategy(size=1),
    )
    rows = ds.take_all()
    assert flag.exists()  # the first attempt submitted its job, then died
    assert submitted(emulator) == 1
    assert {r["answer_job_id"] for r in rows} == {flag.read_text()}
    assert sorted(r["answer"] for r in rows) == sorted(f"Echo: question {i}" for i in range(4))
