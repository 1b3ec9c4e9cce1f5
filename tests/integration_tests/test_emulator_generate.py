"""The emulated generate-job API over real HTTP on 127.0.0.1, and its CLI."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from langchain_mlstudio.emulator import Emulator

KEY = "emulator-test-key-0123"
ORG = "org-1"
MODEL = "model-1"


class FakeClock:
    """A clock the test moves by hand, so no test depends on wall time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def chat(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def make(flavour: str = "modelstudio", **options: Any) -> Emulator:
    return Emulator(api_key=KEY, organization_id=ORG, model=MODEL, flavour=flavour, **options)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["modelstudio", "ionos"])
def emu(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Emulator]:
    with make(request.param) as emulator:
        emulator.generate.clock = clock
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Iterator[httpx.Client]:
    with client_for(emu) as client:
        yield client


def client_for(emu: Emulator, key: str = KEY, org: str = ORG) -> httpx.Client:
    return httpx.Client(
        base_url=f"{emu.base_url}/api/v1/organizations/{org}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def create(api: httpx.Client, *conversations: list[dict[str, Any]], **extra: Any) -> str:
    response = api.post(
        "/generate", json={"model_id": MODEL, "messages": list(conversations), **extra}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["job_id"])


def job(api: httpx.Client, job_id: str) -> dict[str, Any]:
    response = api.get(f"/generate/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


WORDS = {
    "modelstudio": ("pending", "running", "completed", "failed"),
    "ionos": ("QUEUED", "RUNNING", "FINISHED", "FAILED"),
}


# -- auth ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_missing_or_wrong_key_answers_401(emu: Emulator, headers: dict[str, str]) -> None:
    url = f"{emu.base_url}/api/v1/organizations/{ORG}/generate"
    body = {"model_id": MODEL, "messages": [chat("hi")]}
    post = httpx.post(url, json=body, headers=headers)
    get = httpx.get(url + "/job_000000000000", headers=headers)
    assert post.status_code == get.status_code == 401
    assert post.json() == {"detail": "Invalid or missing API key"}
    assert emu.generate.created_jobs == 0


def test_other_organization_answers_403(emu: Emulator, api: httpx.Client) -> None:
    job_id = create(api, chat("hi"))
    with client_for(emu, org="someone-else") as other:
        post = other.post("/generate", json={"model_id": MODEL, "messages": [chat("x")]})
        get = other.get(f"/generate/{job_id}")
    assert post.status_code == get.status_code == 403
    assert "someone-else" in post.json()["detail"]
    assert emu.generate.created_jobs == 1


def test_unknown_model_and_unknown_job_answer_404(api: httpx.Client) -> None:
    post = api.post("/generate", json={"model_id": "nope", "messages": [chat("x")]})
    assert post.status_code == 404
    assert post.json() == {"detail": "Model not found"}
    assert api.get("/generate/job_ffffffffffff").status_code == 404


# -- validation ---------------------------------------------------------------

GOOD = [chat("hi")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": GOOD}, "model_id"),
        ({"model_id": 7, "messages": GOOD}, "model_id"),
        ({"model_id": MODEL}, "messages"),
        ({"model_id": MODEL, "messages": []}, "messages"),
        ({"model_id": MODEL, "messages": [chat("a"), []]}, "messages[1]"),
        ({"model_id": MODEL, "messages": ["hi"]}, "messages[0]"),
        ({"model_id": MODEL, "messages": [["hi"]]}, "messages[0][0]"),
        ({"model_id": MODEL, "messages": [[{"role": "tool", "content": "x"}]]}, "role"),
        ({"model_id": MODEL, "messages": [[{"role": "user", "content": 3}]]}, "content"),
        ({"model_id": MODEL, "messages": [[{"role": "user"}]]}, "content"),
        (
            {
                "model_id": MODEL,
                "messages": [[{"role": "user", "content": [{"type": "audio"}]}]],
            },
            "content parts",
        ),
        (
            {
                "model_id": MODEL,
                "messages": [
                    [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]
                ],
            },
            "image_url",
        ),
        ({"model_id": MODEL, "messages": GOOD, "temperature": 1.5}, "temperature"),
        ({"model_id": MODEL, "messages": GOOD, "temperature": -0.1}, "temperature"),
        ({"model_id": MODEL, "messages": GOOD, "temperature": "hot"}, "temperature"),
        ({"model_id": MODEL, "messages": GOOD, "temperature": True}, "temperature"),
        ({"model_id": MODEL, "messages": GOOD, "max_tokens": 0}, "max_tokens"),
        ({"model_id": MODEL, "messages": GOOD, "max_tokens": 2.5}, "max_tokens"),
        ({"model_id": MODEL, "messages": GOOD, "max_tokens": "9"}, "max_tokens"),
        ([GOOD], "JSON object"),
    ],
)
def test_invalid_create_request_answers_400_naming_the_field(
    emu: Emulator, api: httpx.Client, body: Any, field: str
) -> None:
    response = api.post("/generate", json=body)
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert emu.generate.created_jobs == 0


def test_non_json_body_answers_400(api: httpx.Client) -> None:
    response = api.post("/generate", content=b"model_id=m", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_documented_options_at_their_bounds_are_accepted(api: httpx.Client) -> None:
    for temperature in (0, 0.0, 0.7, 1, 1.0):
        create(api, chat("hi"), temperature=temperature, max_tokens=1)


def test_vision_and_multi_turn_conversations_are_accepted(api: httpx.Client) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is AI?"},
        {"role": "assistant", "content": "AI stands for..."},
        {"role": "user", "content": [{"type": "text", "text": "And this?"}, image]},
    ]
    result = job(api, create(api, conversation))["results"][0]["result"]
    assert result.strip() == "Echo: And this? (1 image)"


def test_max_tasks_per_job_rejects_a_larger_batch(emu: Emulator, api: httpx.Client) -> None:
    emu.generate.max_tasks_per_job = 2
    create(api, chat("a"), chat("b"))
    response = api.post("/generate", json={"model_id": MODEL, "messages": [chat("a")] * 3})
    assert response.status_code == 400
    assert "at most 2" in response.json()["detail"]


# -- job lifecycle and result shapes -------------------------------------------


def test_create_answers_created_in_both_flavours(api: httpx.Client) -> None:
    response = api.post("/generate", json={"model_id": MODEL, "messages": GOOD})
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "CREATED"
    assert body["message"] == "Generation job created successfully"
    assert re.fullmatch(r"job_[0-9a-f]{12}", body["job_id"])


def test_job_goes_queued_running_finished_with_the_flavours_words(
    emu: Emulator, api: httpx.Client, clock: FakeClock
) -> None:
    queued, running, finished, _ = WORDS[emu.generate.flavour]
    emu.generate.job_duration = 3.0
    job_id = create(api, chat("a"), chat("b"), chat("c"), chat("d"))

    first = job(api, job_id)
    assert (first["job_status"], first["completed_tasks"], first["results"]) == (
        queued,
        0,
        [],
    )
    assert first["total_tasks"] == 4
    assert emu.generate.running_jobs() == 1

    clock.advance(1.5)
    middle = job(api, job_id)
    assert (middle["job_status"], middle["completed_tasks"], middle["results"]) == (
        running,
        2,
        [],
    )

    clock.advance(1.5)
    done = job(api, job_id)
    assert (done["job_status"], done["completed_tasks"]) == (finished, 4)
    assert [r["task_index"] for r in done["results"]] == [0, 1, 2, 3]
    assert emu.generate.running_jobs() == 0
    assert emu.generate.jobs[job_id].state == "finished"


def test_modelstudio_results_carry_error_null() -> None:
    with make("modelstudio") as emu, client_for(emu) as api:
        results = job(api, create(api, chat("Hello there")))["results"]
    assert results == [
        {"task_index": 0, "status": "completed", "result": "Echo: Hello there", "error": None}
    ]


def test_ionos_results_start_with_a_space_and_have_no_error_key() -> None:
    with make("ionos") as emu, client_for(emu) as api:
        body = job(api, create(api, chat("The capital of France is")))
    assert body["job_status"] == "FINISHED"
    assert body["results"] == [
        {"task_index": 0, "status": "completed", "result": " Echo: The capital of France is"}
    ]


def test_reply_echoes_the_last_user_message_cut_to_max_tokens_words(
    api: httpx.Client,
) -> None:
    conversation = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": "one two three four five"},
    ]
    full = job(api, create(api, conversation))["results"][0]["result"]
    short = job(api, create(api, conversation, max_tokens=3))["results"][0]["result"]
    assert full.strip() == "Echo: one two three four five"
    assert short.strip() == "Echo: one two"


def test_job_finishes_after_job_duration_on_the_real_clock() -> None:
    with make(job_duration=0.2) as emu, client_for(emu) as api:
        job_id = create(api, chat("hi"))
        statuses = [job(api, job_id)["job_status"]]
        while statuses[-1] != "completed":
            time.sleep(0.05)
            statuses.append(job(api, job_id)["job_status"])
    assert statuses[0] in {"pending", "running"}
    assert statuses[-1] == "completed"


def test_slow_marker_sets_that_jobs_duration(
    emu: Emulator, api: httpx.Client, clock: FakeClock
) -> None:
    _, _, finished, _ = WORDS[emu.generate.flavour]
    slow = create(api, chat("take your time [[slow:10]]"))
    quick = create(api, chat("quick"))
    clock.advance(5)
    assert job(api, quick)["job_status"] == finished
    assert job(api, slow)["job_status"] != finished
    clock.advance(5)
    slow_body = job(api, slow)
    assert slow_body["job_status"] == finished
    assert slow_body["results"][0]["result"].strip() == "Echo: take your time"


# -- faults --------------------------------------------------------------------


def test_fail_marker_fails_only_that_task(emu: Emulator, api: httpx.Client) -> None:
    _, _, finished, _ = WORDS[emu.generate.flavour]
    body = job(api, create(api, chat("good"), chat("bad [[fail]]"), chat("fine")))
    assert body["job_status"] == finished
    ok, failed, fine = body["results"]
    assert ok["result"].strip() == "Echo: good"
    assert fine["result"].strip() == "Echo: fine"
    assert failed["task_index"] == 1
    assert failed["status"] in {"failed", "FAILED"}
    assert failed["result"] is None
    assert failed["error"].startswith("Task failed:")


def test_fail_marker_task_status_follows_the_flavour() -> None:
    for flavour, word in (("modelstudio", "failed"), ("ionos", "FAILED")):
        with make(flavour) as emu, client_for(emu) as api:
            result = job(api, create(api, chat("[[fail]]")))["results"][0]
        assert result["status"] == word


def test_fail_next_jobs_fails_whole_jobs_then_recovers(emu: Emulator, api: httpx.Client) -> None:
    _, _, finished, failed = WORDS[emu.generate.flavour]
    emu.generate.fail_next_jobs = 1
    doomed = job(api, create(api, chat("a"), chat("b")))
    healthy = job(api, create(api, chat("a")))
    assert doomed["job_status"] == failed
    assert [r["task_index"] for r in doomed["results"]] == [0, 1]
    assert all(r["result"] is None and r["error"] for r in doomed["results"])
    assert healthy["job_status"] == finished
    assert emu.generate.fail_next_jobs == 0


def test_generic_faults_apply_to_the_generate_routes(emu: Emulator, api: httpx.Client) -> None:
    from langchain_mlstudio.emulator import Fault

    emu.faults.add(Fault(status=503, times=1, method="POST", path="/generate$"))
    assert api.post("/generate", json={"model_id": MODEL, "messages": GOOD}).status_code == 503
    create(api, chat("hi"))
    assert emu.generate.created_jobs == 1
    assert emu.log.count("POST", "/generate$") == 2


def test_shuffled_results_still_map_to_inputs_by_task_index(clock: FakeClock) -> None:
    with make() as emu, client_for(emu) as api:
        emu.generate.shuffle_results = True
        results = job(api, create(api, chat("zero"), chat("one"), chat("two")))["results"]
    assert [r["task_index"] for r in results] == [2, 1, 0]
    by_index = {r["task_index"]: r["result"] for r in results}
    assert by_index == {0: "Echo: zero", 1: "Echo: one", 2: "Echo: two"}


# -- parallel limit ------------------------------------------------------------


def test_ionos_parallel_limit_answers_429_with_retry_after(clock: FakeClock) -> None:
    with make("ionos", job_duration=10) as emu, client_for(emu) as api:
        emu.generate.clock = clock
        assert emu.generate.max_parallel_jobs == 3
        for _ in range(3):
            create(api, chat("hi"))
        refused = api.post("/generate", json={"model_id": MODEL, "messages": GOOD})
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert "at most 3" in refused.json()["detail"]
        assert emu.generate.running_jobs() == 3

        clock.advance(10)
        create(api, chat("after the others finished"))
        assert emu.generate.created_jobs == 4
        assert emu.generate.peak_running_jobs == 3


def test_modelstudio_has_no_parallel_limit_unless_configured(clock: FakeClock) -> None:
    with make("modelstudio", job_duration=10) as emu, client_for(emu) as api:
        emu.generate.clock = clock
        for _ in range(5):
            create(api, chat("hi"))
        assert emu.generate.peak_running_jobs == 5
    with make("modelstudio", job_duration=10, max_parallel_jobs=1) as emu, client_for(emu) as api:
        create(api, chat("hi"))
        assert api.post("/generate", json={"model_id": MODEL, "messages": GOOD}).status_code == 429


def test_concurrent_creates_never_exceed_the_parallel_limit(clock: FakeClock) -> None:
    with make("ionos", job_duration=10) as emu:
        emu.generate.clock = clock
        statuses: list[int] = []
        lock = threading.Lock()
        start = threading.Barrier(12)

        def post() -> None:
            with client_for(emu) as api:
                start.wait()
                status = api.post(
                    "/generate", json={"model_id": MODEL, "messages": GOOD}
                ).status_code
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=post) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [200] * 3 + [429] * 9
    assert emu.generate.peak_running_jobs == 3
    assert len(emu.generate.jobs) == 3


# -- CLI -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_interrupted_and_exits_zero(stop_signal: int) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "langchain_mlstudio.emulator",
        "--port",
        str(port),
        "--api-key",
        KEY,
        "--organization-id",
        ORG,
        "--model",
        MODEL,
        "--flavour",
        "ionos",
        "--job-duration",
        "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline()]
        assert f"http://127.0.0.1:{port}" in banner[0], process.stderr.read()  # type: ignore[union-attr]
        while not banner[-1].startswith("Press Ctrl-C") and banner[-1]:
            banner.append(process.stdout.readline())
        base = f"http://127.0.0.1:{port}/api/v1/organizations/{ORG}/generate"
        auth = {"Authorization": f"Bearer {KEY}"}
        created = httpx.post(base, headers=auth, json={"model_id": MODEL, "messages": GOOD})
        assert created.status_code == 200
        body = httpx.get(f"{base}/{created.json()['job_id']}", headers=auth).json()
        assert body["job_status"] == "FINISHED"
        process.send_signal(stop_signal)
        rest, errors = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    output = "".join(banner) + rest
    assert f"export IONOS_MODEL_STUDIO_BASE_URL=http://127.0.0.1:{port}" in output
    assert f"export IONOS_MODEL_STUDIO_ORGANIZATION_ID={ORG}" in output
    # The emulator's key is its own, local and not secret: printed whole, so it pastes.
    assert f"export IONOS_MODEL_STUDIO_API_KEY={KEY}" in output
    assert "export MODELSTUDIO_BASE_URL" not in output  # only the flavour asked for


def test_cli_rejects_an_unknown_flavour() -> None:
    from langchain_mlstudio.emulator.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--api-key", "k", "--organization-id", "o", "--model", "m", "--flavour", "x"])
    assert exc.value.code == 2
