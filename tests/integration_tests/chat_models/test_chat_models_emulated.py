"""Chat models end to end over loopback: packing, caps, faults, resuming."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_mlstudio import (
    AuthenticationError,
    ChatIonosModelStudio,
    ChatModelStudio,
    JobTimeoutError,
    ModelStudioClient,
    NotFoundError,
    TaskFailedError,
)
from langchain_mlstudio.emulator import Emulator, Fault
from tests.integration_tests.chat_models.conftest import API_KEY, MODEL, ORG

GENERATE = r"/generate$"
STATUS = r"/generate/job_"


@pytest.fixture
def emulator() -> Emulator:
    with Emulator(
        api_key=API_KEY, organization_id=ORG, model=MODEL, flavour="ionos", job_duration=0.1
    ) as emu:
        yield emu


def ionos(emulator: Emulator, **kwargs: object) -> ChatIonosModelStudio:
    params: dict[str, object] = {
        "model": MODEL,
        "api_key": API_KEY,
        "organization_id": ORG,
        "base_url": emulator.base_url,
        **kwargs,
    }
    return ChatIonosModelStudio(**params)


def test_ionos_result_loses_its_leading_space(emulator: Emulator) -> None:
    assert ionos(emulator).invoke("The capital of France is").content == (
        "Echo: The capital of France is"
    )


async def test_abatch_of_many_prompts_respects_the_fair_use_limit(emulator: Emulator) -> None:
    llm = ionos(emulator, max_batch_size=5)

    results = await llm.abatch([f"prompt {i}" for i in range(40)])

    assert [r.content for r in results] == [f"Echo: prompt {i}" for i in range(40)]
    assert emulator.log.count("POST", GENERATE) == 8
    assert emulator.generate.peak_running_jobs <= 3
    assert llm.slots.peak <= 3
    assert not any(e.status == 429 for e in emulator.log.entries)


def test_sync_batch_packs_into_few_jobs(emulator: Emulator) -> None:
    llm = ionos(emulator, max_batch_size=16)

    results = llm.batch([f"q{i}" for i in range(32)])

    assert [r.content for r in results] == [f"Echo: q{i}" for i in range(32)]
    assert emulator.log.count("POST", GENERATE) == 2


def test_failed_task_in_a_batch_keeps_the_others(emulator: Emulator) -> None:
    llm = ionos(emulator)

    results = llm.batch(["fine", "this one [[fail]]", "also fine"], return_exceptions=True)

    assert results[0].content == "Echo: fine"
    assert isinstance(results[1], TaskFailedError)
    assert "Task failed" in (results[1].server_message or "")
    assert results[2].content == "Echo: also fine"
    assert emulator.log.count("POST", GENERATE) == 1


def test_results_map_by_task_index_when_the_server_reorders(emulator: Emulator) -> None:
    emulator.generate.shuffle_results = True
    results = ionos(emulator).batch(["a", "b", "c", "d"])
    assert [r.content for r in results] == ["Echo: a", "Echo: b", "Echo: c", "Echo: d"]


def test_429_with_retry_after_is_waited_out_and_one_job_is_created(emulator: Emulator) -> None:
    emulator.faults.add(
        Fault(status=429, method="POST", path=GENERATE, headers={"Retry-After": "0.2"})
    )

    assert ionos(emulator).invoke("hi").content == "Echo: hi"

    posts = emulator.log.matching("POST", GENERATE)
    assert [p.status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.2
    assert emulator.generate.created_jobs == 1


def test_500_on_submission_is_not_retried(emulator: Emulator) -> None:
    emulator.faults.add(Fault(status=500, method="POST", path=GENERATE))
    with pytest.raises(Exception, match="500"):
        ionos(emulator).invoke("hi")
    assert emulator.log.count("POST", GENERATE) == 1


def test_status_check_bursts_are_survived(emulator: Emulator) -> None:
    emulator.faults.add(Fault(status=503, method="GET", path=STATUS, times=4))
    assert ionos(emulator, max_retries=1).invoke("hi").content == "Echo: hi"
    assert emulator.generate.created_jobs == 1


def test_vision_input_reaches_the_server(emulator: Emulator) -> None:
    message = HumanMessage(
        content=[
            {"type": "text", "text": "Describe"},
            {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
        ]
    )
    assert ionos(emulator).invoke([SystemMessage("sys"), message]).content == (
        "Echo: Describe (1 image)"
    )


def test_deadline_then_resume_by_id_from_a_new_client(emulator: Emulator) -> None:
    llm = ionos(emulator, job_timeout=0.2)
    with pytest.raises(JobTimeoutError) as info:
        llm.invoke("slow one [[slow:0.6]]")

    # A new process would only know the job id.
    client = ModelStudioClient(
        api_key=API_KEY, organization_id=ORG, base_url=emulator.base_url, provider="ionos"
    )
    job = client.wait_for_job(info.value.job_id)
    # the resumed client gives the text invoke would have given, at the caller's own task
    assert job.text_for(info.value.task_index) == "Echo: slow one"
    assert emulator.generate.created_jobs == 1


async def test_async_client_resumes_too(emulator: Emulator) -> None:
    client = ModelStudioClient(
        api_key=API_KEY, organization_id=ORG, base_url=emulator.base_url, provider="ionos"
    )
    job_id = await client.asubmit([[{"role": "user", "content": "x"}]], model=MODEL)
    job = await client.await_job(job_id)
    assert job.job_status == "FINISHED"
    assert (await client.aget_job(job_id)).text_for(0) == "Echo: x"  # as ainvoke gives it


def test_unknown_job_is_a_typed_404(emulator: Emulator) -> None:
    client = ModelStudioClient(
        api_key=API_KEY, organization_id=ORG, base_url=emulator.base_url, provider="ionos"
    )
    with pytest.raises(NotFoundError) as info:
        client.get_job("job_doesnotexist")
    assert info.value.request_id


def test_wrong_key_is_an_authentication_error_without_the_key(emulator: Emulator) -> None:
    llm = ChatModelStudio(
        model=MODEL, api_key="wrong-key-999", organization_id=ORG, base_url=emulator.base_url
    )
    with pytest.raises(AuthenticationError) as info:
        llm.invoke("hi")
    assert "wrong-key-999" not in str(info.value)
    assert info.value.status_code == 401


async def test_concurrent_invokes_share_the_cap(emulator: Emulator) -> None:
    llm = ionos(emulator, pack_concurrent_calls=False)
    await asyncio.gather(*(llm.ainvoke(f"p{i}") for i in range(9)))
    assert emulator.generate.peak_running_jobs <= 3
    assert emulator.generate.created_jobs == 9


async def test_two_instances_sharing_a_key_keep_the_ionos_limit(emulator: Emulator) -> None:
    first = ionos(emulator, pack_concurrent_calls=False)
    second = ionos(emulator, pack_concurrent_calls=False, temperature=0.1)

    await asyncio.gather(
        *(model.ainvoke(f"p{i}") for model in (first, second, first.model_copy()) for i in range(4))
    )

    assert emulator.generate.created_jobs == 12
    assert emulator.generate.peak_running_jobs <= 3
    assert not any(e.status == 429 for e in emulator.log.entries)


async def test_concurrent_ainvokes_share_jobs_over_loopback(emulator: Emulator) -> None:
    llm = ionos(emulator)

    results = await asyncio.gather(*(llm.ainvoke(f"p{i}") for i in range(40)))

    assert [r.content for r in results] == [f"Echo: p{i}" for i in range(40)]
    assert emulator.log.count("POST", GENERATE) == 2


def test_a_job_the_server_refuses_as_too_large_is_split_in_halves(emulator: Emulator) -> None:
    emulator.generate.max_body_bytes = 1_000
    llm = ionos(emulator)
    prompts = [f"a prompt of some length, number {i}" for i in range(32)]

    results = llm.batch(prompts)

    assert [r.content for r in results] == [f"Echo: {p}" for p in prompts]
    refused = [e for e in emulator.log.entries if e.status == 413]
    assert refused  # the whole job did not fit
    assert emulator.generate.created_jobs == emulator.log.count("POST", GENERATE) - len(refused)
    assert emulator.generate.created_jobs <= 8
