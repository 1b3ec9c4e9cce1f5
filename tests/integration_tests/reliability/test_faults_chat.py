"""Fault injection on the generate-job API, through both chat models.

Every case sends one ``batch`` of three prompts (packed into one job) while the
emulator misbehaves, then checks the three things the package promises: each
input gets exactly one outcome (its own answer, or a typed ``MLStudioError``
carrying the server's message), the server saw the expected number of creating
requests, and never more than one job was created for the call.

Cases already covered elsewhere are not repeated here (see docs/reliability.md):
a single 429 with ``Retry-After`` and a 503 burst on status checks
(tests/integration_tests/chat_models/test_chat_models_emulated.py), the job
deadline with resume by id, and one failed task inside a batch job.
"""

from __future__ import annotations

from typing import Any

import pytest

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio, errors
from langchain_mlstudio.chat_models.base import BaseChatGenerationJob
from langchain_mlstudio.emulator import Emulator, Fault
from tests.integration_tests.reliability.conftest import ACCOUNT
from tests.support.faults import Case, body_fault, fast_retries, settle, status_body, status_fault

SUBMIT = r"/generate$"
STATUS = r"/generate/job_"
PROMPTS = ["p0", "p1", "p2"]
MALFORMED = errors.MalformedResponseError


def _msg(status: int, where: str) -> str:
    return f"Injected {status} on {where}"


def _status(status: int, path: str, times: int | None = 1, **headers: str) -> Fault:
    where = "submit" if path == SUBMIT else "status"
    return status_fault(status, path, status_body(_msg(status, where)), times, **headers)


CASES: list[Case] = [
    # -- rate limits and 5xx on the creating call --------------------------------
    Case(
        # A refused submit is tried again until job_timeout; this one is spent at once.
        "429-burst-longer-than-the-deadline-on-submit",
        (_status(429, SUBMIT, times=None, **{"Retry-After": "0"}),),
        errors.RateLimitError,
        _msg(429, "submit"),
        sends=3,
        jobs=0,
        settings={"job_timeout": 0.001},
    ),
    Case("503-burst-within-retries-on-submit", (_status(503, SUBMIT, times=2),), sends=3),
    Case(
        "503-burst-longer-than-max-retries-on-submit",
        (_status(503, SUBMIT, times=None),),
        errors.ServerError,
        _msg(503, "submit"),
        sends=3,
        jobs=0,
    ),
    *[
        # The server may have created the job before failing: never resubmit.
        Case(
            f"{code}-on-submit-is-not-resubmitted",
            (_status(code, SUBMIT),),
            errors.ServerError,
            _msg(code, "submit"),
            sends=1,
            jobs=0,
        )
        for code in (500, 502, 504)
    ],
    # -- 5xx on status checks ------------------------------------------------------
    *[
        Case(f"{code}-burst-on-status-checks", (_status(code, STATUS, times=3),))
        for code in (500, 502, 504)
    ],
    Case(
        "503-on-every-status-check",
        (_status(503, STATUS, times=None),),
        errors.ServerError,
        _msg(503, "status"),
    ),
    # -- the connection ------------------------------------------------------------
    Case(
        "drop-before-response-on-submit",
        (Fault(kind="drop", path=SUBMIT),),
        errors.APIConnectionError,
        jobs=0,
    ),
    Case(
        "drop-mid-response-on-submit",
        (Fault(kind="drop_mid", path=SUBMIT),),
        errors.APIConnectionError,
        jobs=1,  # the job exists but its id was lost; it is never submitted twice
    ),
    Case("drop-before-response-on-status", (Fault(kind="drop", path=STATUS, times=2),)),
    Case("drop-mid-response-on-status", (Fault(kind="drop_mid", path=STATUS, times=2),)),
    Case(
        "submit-slower-than-request-timeout",
        (Fault(kind="delay", delay=0.6, path=SUBMIT),),
        errors.APITimeoutError,
        settings={"timeout": 0.25},
    ),
    Case(
        "status-check-slower-than-request-timeout",
        (Fault(kind="delay", delay=0.6, path=STATUS),),
        settings={"timeout": 0.25},
    ),
    # -- 200 answers of the wrong shape --------------------------------------------
    Case("non-json-200-on-submit", (Fault(kind="non_json", path=SUBMIT),), MALFORMED),
    Case("non-json-200-on-status", (Fault(kind="non_json", path=STATUS),), MALFORMED),
    Case("submit-200-without-job-id", (body_fault(SUBMIT, {"status": "CREATED"}),), MALFORMED),
    Case(
        "submit-200-with-wrongly-typed-job-id",
        (body_fault(SUBMIT, {"job_id": 42, "status": "CREATED"}),),
        MALFORMED,
    ),
    Case("status-200-with-missing-fields-then-normal", (body_fault(STATUS, {}, 2),)),
    Case(
        "status-200-with-missing-fields-forever",
        (body_fault(STATUS, {}, None),),
        errors.JobTimeoutError,
        settings={"job_timeout": 0.4},
    ),
    Case(
        "status-200-with-results-of-the-wrong-type",
        (body_fault(STATUS, {"job_status": "FINISHED", "results": "x"}),),
        MALFORMED,
    ),
    Case(
        "status-200-with-a-string-task-index",
        (
            Fault(
                kind="body",
                path=STATUS,
                body={
                    "job_status": "FINISHED",
                    "results": [{"task_index": "0", "status": "completed", "result": "x"}],
                },
            ),
        ),
        MALFORMED,
    ),
    Case(
        "unknown-status-value-then-normal",
        (body_fault(STATUS, {"job_status": "WARMING_UP"}, 3),),
    ),
    Case(
        "unknown-status-value-forever-is-never-success",
        (body_fault(STATUS, {"job_status": "Finished-ish"}, None),),
        errors.JobTimeoutError,
        settings={"job_timeout": 0.4},
    ),
    Case(
        "finished-job-missing-one-tasks-result",
        (
            Fault(
                kind="body",
                path=STATUS,
                body={
                    "job_status": "FINISHED",
                    "results": [
                        {"task_index": 2, "status": "completed", "result": "Echo: p2"},
                        {"task_index": 0, "status": "completed", "result": "Echo: p0"},
                    ],
                },
            ),
        ),
        errors.TaskFailedError,
        failed_inputs=(1,),
    ),
    # -- the job itself ------------------------------------------------------------
    Case(
        "job-disappears-404-on-status",
        (_status(404, STATUS),),
        errors.NotFoundError,
        _msg(404, "status"),
    ),
    Case("failed-job", (), errors.JobFailedError, fail_next_jobs=1),
]


def make_llm(cls: type[BaseChatGenerationJob], emu: Emulator, **settings: Any) -> Any:
    llm = ACCOUNT.chat_model(
        cls, emu.base_url, poll_initial_interval=0.03, poll_max_interval=0.1, **settings
    )
    fast_retries(llm.client.transport)
    return llm


# The two front doors differ only in their status words and result spacing,
# so the cases alternate between them to keep the suite fast.
DOORS: list[type[BaseChatGenerationJob]] = [ChatModelStudio, ChatIonosModelStudio]
MATRIX = [(case, DOORS[i % 2]) for i, case in enumerate(CASES)]


@pytest.mark.parametrize(
    ("case", "cls"), MATRIX, ids=[f"{c.id}-{cls.provider}" for c, cls in MATRIX]
)
def test_fault_gives_one_outcome_per_input_and_at_most_one_job(
    emu: Emulator, case: Case, cls: type[BaseChatGenerationJob]
) -> None:
    emu.generate.flavour = cls.provider
    emu.generate.fail_next_jobs = case.fail_next_jobs
    case.arm(emu)
    llm = make_llm(cls, emu, **case.settings)

    results = llm.batch(PROMPTS, return_exceptions=True)

    assert len(results) == len(PROMPTS)
    for index, outcome in enumerate(results):
        if case.error is not None and index in case.failed_inputs:
            assert isinstance(outcome, case.error), (index, outcome)
            if case.server_message is not None:
                assert outcome.server_message == case.server_message
        else:
            assert not isinstance(outcome, BaseException), (index, outcome)
            assert outcome.content == f"Echo: {PROMPTS[index]}"
    settle(lambda: emu.log.count("POST", SUBMIT) >= case.sends)
    settle(lambda: emu.generate.created_jobs >= case.jobs)
    assert emu.log.count("POST", SUBMIT) == case.sends
    assert emu.generate.created_jobs == case.jobs


async def test_async_batch_under_a_fault_gives_the_same_guarantees(emu: Emulator) -> None:
    emu.faults.add(Fault(kind="drop_mid", path=SUBMIT))
    emu.faults.add(Fault(status=502, path=STATUS, times=2))
    llm = make_llm(ChatModelStudio, emu, max_batch_size=2)

    results = await llm.abatch(["a", "b", "c", "d"], return_exceptions=True)

    # One job's answer was lost mid-response: its two inputs fail, typed; the
    # other job survives two 502s on its status checks.
    failed = {i for i, r in enumerate(results) if isinstance(r, BaseException)}
    assert failed in ({0, 1}, {2, 3})
    assert all(isinstance(results[i], errors.APIConnectionError) for i in failed)
    for i, prompt in enumerate("abcd"):
        if i not in failed:
            assert results[i].content == f"Echo: {prompt}"
    assert emu.log.count("POST", SUBMIT) == 2
    assert emu.generate.created_jobs == 2
