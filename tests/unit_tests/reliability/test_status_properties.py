"""Status values in random casing, padded or unknown never end a job as a success.

Only a documented success word (in any casing, for the generate-job API whose
casing differs by front door) ends a job as a success; failure words end it as
a failure; anything else keeps it running until the deadline.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from langchain_mlstudio import (
    FastinoClient,
    FyreToolkitClient,
    JobFailedError,
    JobTimeoutError,
    ModelStudioClient,
)
from langchain_mlstudio._core._polling import PollSchedule
from langchain_mlstudio.chat_models import JobState, TaskResult, parse_state
from langchain_mlstudio.fastino import FastinoInputError, FastinoResult
from langchain_mlstudio.fyretoolkit._batch_jobs import raise_if_failed
from langchain_mlstudio.fyretoolkit.types import BatchJob
from tests.unit_tests.reliability.strategies import random_casing

SUCCESS = ["finished", "completed", "succeeded", "done", "success"]
FAILURE = ["failed", "error", "canceled", "cancelled", "expired"]
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

success_words = st.sampled_from(SUCCESS).flatmap(random_casing)
failure_words = st.sampled_from(FAILURE).flatmap(random_casing)
unknown_words = st.text(max_size=15).filter(lambda w: w.strip().lower() not in SUCCESS + FAILURE)
near_misses = st.sampled_from(SUCCESS).flatmap(
    lambda w: st.sampled_from(
        [w + "d", w[:-1], "not_" + w, w + "!", w.replace("e", "3"), f"{w}-ish"]
    )
)


@SETTINGS
@given(word=success_words)
def test_success_words_in_any_casing_end_the_job_as_success(word: str) -> None:
    assert parse_state(word) is JobState.SUCCEEDED


@SETTINGS
@given(word=failure_words)
def test_failure_words_in_any_casing_end_the_job_as_failed(word: str) -> None:
    assert parse_state(word) is JobState.FAILED


@SETTINGS
@given(word=unknown_words | near_misses)
def test_unknown_words_keep_the_job_running(word: str) -> None:
    assume(word.strip().lower() not in SUCCESS + FAILURE)
    assert parse_state(word) is JobState.RUNNING


@SETTINGS
@given(word=unknown_words | near_misses | failure_words)
def test_a_task_with_any_other_status_never_yields_its_text(word: str) -> None:
    task = TaskResult(task_index=0, status=word, result="generated text")
    assert task.state is not JobState.SUCCEEDED


def job_server(words: list[str]) -> tuple[ModelStudioClient, list[int]]:
    """A generate-job API whose status checks answer ``words`` in turn, then the last."""
    checks = [0]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json={"job_id": "job_1", "status": "CREATED"})
        word = words[min(checks[0], len(words) - 1)]
        checks[0] += 1
        results = [{"task_index": 0, "status": word, "result": "text"}]
        return httpx.Response(200, json={"job_id": "job_1", "job_status": word, "results": results})

    client = ModelStudioClient(
        api_key="k",
        organization_id="o",
        base_url="http://studio.test",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
        poll_schedule=PollSchedule(initial_interval=0.001, max_interval=0.002),
    )
    return client, checks


@settings(SETTINGS, max_examples=25)
@given(words=st.lists(unknown_words | near_misses, min_size=1, max_size=4))
def test_waiting_on_unknown_statuses_ends_in_a_timeout_never_a_result(words: list[str]) -> None:
    assume(all(w.strip().lower() not in SUCCESS + FAILURE for w in words))
    client, checks = job_server(words)
    with pytest.raises(JobTimeoutError) as info:
        client.wait_for_job(
            client.submit([[{"role": "user", "content": "x"}]], model="m"), timeout=0.02
        )
    assert info.value.job_id == "job_1"
    assert checks[0] >= 1


@settings(SETTINGS, max_examples=25)
@given(unknown=st.lists(unknown_words, max_size=3), final=success_words | failure_words)
def test_a_known_final_word_after_unknown_ones_decides_the_outcome(
    unknown: list[str], final: str
) -> None:
    assume(all(w.strip().lower() not in SUCCESS + FAILURE for w in unknown))
    client, _ = job_server([*unknown, final])
    job_id = client.submit([[{"role": "user", "content": "x"}]], model="m")
    if final.strip().lower() in SUCCESS:
        assert client.wait_for_job(job_id, timeout=5).text_for(0) == "text"
    else:
        with pytest.raises(JobFailedError):
            client.wait_for_job(job_id, timeout=5)


# -- FyreToolkit ------------------------------------------------------------------


@SETTINGS
@given(
    word=st.sampled_from(["completed", "failed", "canceled"]).flatmap(random_casing) | unknown_words
)
def test_fyretoolkit_job_is_a_success_only_when_it_says_completed(word: str) -> None:
    job = BatchJob(id="job_1", status=word)
    outcome: BatchJob | JobFailedError
    try:
        outcome = raise_if_failed(job)
    except JobFailedError as error:
        outcome = error
    if isinstance(outcome, JobFailedError):
        assert outcome.job_id == "job_1"
    else:
        assert outcome is job
        assert word.strip().lower() == "completed"


@settings(SETTINGS, max_examples=20)
@given(
    word=st.sampled_from(
        ["complete", "completed!", "not completed", "completed_partially", "done", "success"]
    )
)
def test_fyretoolkit_wait_never_accepts_a_look_alike_of_completed(word: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "job_1", "status": word})

    client = FyreToolkitClient(
        api_key="k",
        base_url="http://fyre.test",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
        poll_schedule=PollSchedule(initial_interval=0.001, max_interval=0.002),
    )
    with pytest.raises(JobTimeoutError):
        client.wait_for_job("job_1", timeout=0.02)


# -- Fastino: a per-input status other than success is an error for that input ----


@SETTINGS
@given(status=st.sampled_from(["success"]).flatmap(random_casing) | unknown_words | failure_words)
def test_fastino_input_is_a_result_only_when_its_status_says_success(status: str) -> None:
    # Since issue 9 an answer must echo its input to be matched to it.
    data: Any = [{"input": "x", "status": status, "message": "m", "output": {"entities": []}}]
    client = FastinoClient(
        api_key="k",
        base_url="http://fastino.test",
        requests_per_second=1e6,
        http_client=httpx.Client(
            transport=httpx.MockTransport(lambda request: httpx.Response(200, json=data))
        ),
    )
    [outcome] = client.run("fastino-pii", ["x"], return_exceptions=True)
    if status.lower() == "success":
        assert isinstance(outcome, FastinoResult)
    else:
        assert isinstance(outcome, FastinoInputError)
        assert outcome.input_status == status
