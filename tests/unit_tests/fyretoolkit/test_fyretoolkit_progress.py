"""Waiting for a FyreToolkit batch job shows its records done, rate and time left."""

from __future__ import annotations

import io
import sys
from typing import Any

import httpx
import pytest

from langchain_mlstudio import FyreToolkitClient, JobTimeoutError
from langchain_mlstudio._core._progress import ENV_VAR
from tests.support.fyretoolkit import call, mock_client, modes

PROGRESS = [(0, None), (0, 400), (150, 400), (400, 400)]


def job_client(states: list[tuple[int, int | None]], final: str = "completed") -> FyreToolkitClient:
    answers = list(states)

    def handler(request: httpx.Request) -> httpx.Response:
        processed, total = answers.pop(0) if len(answers) > 1 else answers[0]
        done = not answers[1:] and processed == (total or -1)
        body: dict[str, Any] = {
            "id": "job_1",
            "object": "batch_job",
            "status": final if done else "processing",
            "created": 0,
            "progress": {"processed": processed, "total": total},
        }
        if done:
            body["output_url"] = "s3://out/job_1.jsonl"
        return httpx.Response(200, json=body)

    client, _ = mock_client(handler, api_key="k", base_url="http://y.test")
    return client


@pytest.fixture(autouse=True)
def plain_and_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain line, whatever is installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_waiting_with_progress_shows_the_servers_record_counts_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    job = job_client(PROGRESS).wait_for_job("job_1", progress=True)
    assert job.status == "completed"
    screens = terminal.getvalue().split("\r")
    assert screens[1].startswith("FyreToolkit job job_1: 0 records")  # total not known yet
    assert any(
        screen.startswith("FyreToolkit job job_1: 150/400 records (37%)") for screen in screens
    )
    assert screens[-1].startswith("FyreToolkit job job_1: 400/400 records (100%), done in")
    assert screens[-1].endswith("\n")


@modes
async def test_in_a_log_the_wait_writes_a_first_and_a_last_line(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job = await call(mode, job_client(PROGRESS), "wait_for_job", "job_1", progress=True)
    assert job.status == "completed"
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("FyreToolkit job job_1: 0 records")
    assert lines[-1].startswith("FyreToolkit job job_1: 400/400 records (100%), done in")


def test_a_quick_wait_shows_nothing_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    job_client(PROGRESS).wait_for_job("job_1")
    assert capsys.readouterr().err == ""


def test_progress_false_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    job_client(PROGRESS).wait_for_job("job_1", progress=False)
    assert capsys.readouterr().err == ""


def test_a_wait_that_times_out_ends_its_progress_line(capsys: pytest.CaptureFixture[str]) -> None:
    client = job_client([(10, 400)])
    with pytest.raises(JobTimeoutError):
        client.wait_for_job("job_1", progress=True, timeout=0)
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("FyreToolkit job job_1: 10/400 records (2%)")
