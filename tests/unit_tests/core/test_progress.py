"""The shared progress reporter: counts, rate, time left, when it shows, and its two backends."""

from __future__ import annotations

import io
import sys
import threading

import pytest

from langchain_mlstudio._core import _progress
from langchain_mlstudio._core._progress import ENV_VAR, Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def no_env_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if tqdm were not installed: importing it raises ImportError.
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


def test_counts_rate_and_time_left_follow_the_updates() -> None:
    clock = FakeClock()
    bar = Progress(100, description="Fastino PII", unit="document", clock=clock, enabled=False)
    clock.now = 5.0
    bar.update(20)
    assert bar.done == 20
    assert bar.rate == pytest.approx(4.0)
    assert bar.remaining == pytest.approx(20.0)
    assert bar.line() == "Fastino PII: 20/100 documents (20%), 4.0 documents/s, 20 s left"
    clock.now = 10.0
    bar.update(60)
    assert bar.rate == pytest.approx(8.0)
    assert bar.remaining == pytest.approx(2.5)


def test_an_unknown_total_shows_count_and_rate_but_no_time_left() -> None:
    clock = FakeClock()
    bar = Progress(None, description="batch", unit="conversation", clock=clock, enabled=False)
    clock.now = 2.0
    bar.update(3)
    assert bar.remaining is None
    assert bar.line() == "batch: 3 conversations, 1.5 conversations/s"


def test_updates_from_many_threads_are_all_counted() -> None:
    bar = Progress(8000, description="x", enabled=False)

    def work() -> None:
        for _ in range(1000):
            bar.update()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bar.done == 8000


@pytest.mark.usefixtures("without_tqdm")
def test_without_tqdm_a_plain_line_is_redrawn_in_place_on_a_terminal() -> None:
    clock, out = FakeClock(), Terminal()
    with Progress(4, description="Job", unit="task", enabled=True, stream=out, clock=clock) as bar:
        clock.now = 1.0
        bar.update(1)
        clock.now = 2.0
        bar.update(1)
        clock.now = 4.0
        bar.update(2)
    text = out.getvalue()
    assert text.startswith("\rJob: 1/4 tasks (25%), 1.0 tasks/s, 3 s left")
    assert "\rJob: 2/4 tasks (50%), 1.0 tasks/s, 2 s left" in text
    assert text.endswith("\rJob: 4/4 tasks (100%), done in 4 s" + " " * 9 + "\n")
    assert text.count("\n") == 1  # one final line, the rest redrawn in place


@pytest.mark.usefixtures("without_tqdm")
def test_without_tqdm_a_log_gets_a_line_at_most_every_interval_and_a_last_one() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(
        100,
        description="Fastino PII",
        unit="input",
        enabled=True,
        stream=out,
        clock=clock,
        log_interval=10,
    )
    for second in range(1, 31):
        clock.now = float(second)
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines == [
        "Fastino PII: 1/100 inputs (1%), 1.0 inputs/s, 1 min 39 s left",
        "Fastino PII: 11/100 inputs (11%), 1.0 inputs/s, 1 min 29 s left",
        "Fastino PII: 21/100 inputs (21%), 1.0 inputs/s, 1 min 19 s left",
        "Fastino PII: 30/100 inputs (30%), 1.0 inputs/s, 1 min 10 s left",
    ]


@pytest.mark.usefixtures("without_tqdm")
def test_by_default_a_run_shorter_than_the_delay_shows_nothing() -> None:
    clock, out = FakeClock(), Terminal()
    with Progress(10, description="quick", stream=out, clock=clock) as bar:
        for tick in range(10):
            clock.now = tick * 0.15  # 1.35 s in all
            bar.update()
    assert out.getvalue() == ""


@pytest.mark.usefixtures("without_tqdm")
def test_by_default_a_long_run_starts_showing_after_the_delay() -> None:
    clock, out = FakeClock(), Terminal()
    with Progress(10, description="long", stream=out, clock=clock) as bar:
        clock.now = 1.0
        bar.update()
        assert out.getvalue() == ""
        clock.now = 2.5
        bar.update()
        assert "long: 2/10" in out.getvalue()
        clock.now = 10.0
        bar.update(8)
    assert out.getvalue().rstrip(" \n").endswith("\rlong: 10/10 items (100%), done in 10 s")


@pytest.mark.usefixtures("without_tqdm")
@pytest.mark.parametrize("value", ["off", "0", "never"])
def test_the_environment_variable_turns_automatic_progress_off(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    clock, out = FakeClock(), Terminal()
    with Progress(10, description="long", stream=out, clock=clock) as bar:
        clock.now = 60.0
        bar.update(5)
    assert out.getvalue() == ""


@pytest.mark.usefixtures("without_tqdm")
def test_enabled_false_shows_nothing_however_long_the_run() -> None:
    clock, out = FakeClock(), Terminal()
    with Progress(10, description="long", stream=out, clock=clock, enabled=False) as bar:
        clock.now = 600.0
        bar.update(10)
    assert out.getvalue() == ""


@pytest.mark.usefixtures("without_tqdm")
def test_asking_for_tqdm_without_it_says_which_extra_to_install() -> None:
    assert _progress.tqdm_class() is None
    with pytest.raises(ImportError, match=r"langchain-mlstudio\[progress\]"):
        Progress(3, description="x", backend="tqdm")


def test_tqdm_draws_the_bar_where_it_is_installed() -> None:
    pytest.importorskip("tqdm", reason="tqdm is in the test extra")
    out = io.StringIO()
    with Progress(10, description="Fastino PII", unit="document", enabled=True, stream=out) as bar:
        assert bar.total == 10
        bar.update(4)
        bar.update(6)
    text = out.getvalue()
    assert "Fastino PII: 10/10 documents 100%|" in text
    assert "documents/s]" in text


def test_an_error_inside_the_run_closes_the_display() -> None:
    out = io.StringIO()
    bar = Progress(10, description="x", enabled=True, stream=out, backend="plain")

    def run() -> None:
        with bar:
            bar.update(3)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        run()
    assert out.getvalue().splitlines()[-1].startswith("x: 3/10 items (30%)")
    bar.update(1)  # after closing, updates are ignored
    assert bar.done == 3
