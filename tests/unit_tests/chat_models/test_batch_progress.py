"""``batch``/``abatch`` show tasks done of total across all their jobs."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator

import pytest

from langchain_mlstudio._core import _progress
from tests.support.chat import SYNC_AND_ASYNC, FakeJobAPI, batch, make_model


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, so every update is redrawn."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def plain_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_progress, "tqdm_class", lambda: None)
    monkeypatch.delenv(_progress.ENV_VAR, raising=False)


@contextlib.contextmanager
def terminal() -> Iterator[Terminal]:
    """Catch stderr (inside the test: pytest's capture replaces it after fixtures)."""
    out = Terminal()
    with contextlib.redirect_stderr(out):
        yield out


def counts(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"batch: (\d+)/10 tasks", text)]


@SYNC_AND_ASYNC
async def test_batch_shows_tasks_done_of_total_across_all_its_jobs(asynchronous: bool) -> None:
    api = FakeJobAPI(checks_until_done=2)
    llm = make_model(api, max_batch_size=4, progress=True)

    with terminal() as out:
        await batch(llm, [f"p{i}" for i in range(10)], asynchronous=asynchronous)

    assert len(api.jobs) == 3
    seen = counts(out.getvalue())
    assert seen == sorted(seen)
    assert seen[-1] == 10
    assert any(0 < n < 10 for n in seen)  # counted as the jobs report them
    last = out.getvalue().rstrip().rsplit("\r", 1)[-1]
    assert re.fullmatch(r"ChatModelStudio batch: 10/10 tasks \(100%\), done in \d+ s", last)


def test_batch_progress_counts_failed_tasks_as_done() -> None:
    api = FakeJobAPI(fail_tasks={1})
    llm = make_model(api, max_batch_size=4, progress=True)

    with terminal() as out:
        results = llm.batch([f"p{i}" for i in range(10)], return_exceptions=True)

    assert isinstance(results[1], Exception)
    assert counts(out.getvalue())[-1] == 10


def test_batch_with_progress_false_shows_nothing() -> None:
    llm = make_model(FakeJobAPI(checks_until_done=2), max_batch_size=4, progress=False)

    with terminal() as out:
        llm.batch([f"p{i}" for i in range(10)])

    assert out.getvalue() == ""


def test_progress_off_in_the_environment_silences_the_automatic_display(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(_progress.ENV_VAR, "off")
    llm = make_model(FakeJobAPI(checks_until_done=2), max_batch_size=4)

    with terminal() as out:
        llm.batch([f"p{i}" for i in range(10)])

    assert out.getvalue() == ""
