"""The README's first command: ``python -m langchain_mlstudio.demo`` end to end."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_mlstudio.demo import load_documents, main, split_documents
from langchain_mlstudio.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PREFIXES = ("MODELSTUDIO_", "IONOS_MODEL_STUDIO_", "FASTINO_", "FYRETOOLKIT_")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SERVICE_PREFIXES)}
    env.update(extra)
    return env


def run_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "langchain_mlstudio.demo", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=240,
        check=False,
    )


def test_demo_runs_offline_without_keys_and_prints_every_stage() -> None:
    result = run_demo(clean_env())
    out = result.stdout
    assert result.returncode == 0, result.stderr + out
    assert "Starting the built-in emulator" in out
    assert "no API key is set" in out
    for header in (  # changed by issue 9: whole tickets are redacted, then split
        "Loading the sample support tickets",
        "Redacting personal data with Fastino (strategy='pseudonymize'), whole tickets first",
        "Splitting the redacted tickets",
        "(chain.invoke)",
        "(chain.batch)",
        "Scoring each ticket's sentiment with FyreToolkit",
    ):
        assert header in out
    assert re.search(r"Loaded 5 documents \(\d+ characters\)", out)
    assert re.search(r"Split 5 redacted tickets into \d+ chunks", out)
    assert re.search(r"Fastino \[#+\] (\d+)/\1", out), "no finished progress bar"
    # The model saw placeholders only; the reader gets the names back.
    answer = next(line for line in out.splitlines() if "Model's answer:" in line)
    assert re.search(r"<FULL_NAME_1_[A-Z0-9]+>", answer)
    assert "Maria Garcia" not in answer
    assert re.search(r"<FULL_NAME_1_[A-Z0-9]+> -> Maria Garcia", out)
    restored = next(line for line in out.splitlines() if "Restored answer:" in line)
    assert "Maria Garcia" in restored
    # Issue 15: the emulated model answers from the tickets (and says so), the whole
    # answer is restored, dates are dates and usernames are found.
    assert "[emulated answer: sentences picked from the tickets]" in answer
    assert "Echo:" not in answer
    assert "Please send the refund to my account, IBAN DE89 3704 0044 0532 0130 00" in restored
    assert not re.search(r"<[A-Z_]+_\d+_[A-Z0-9]+>", restored)
    assert restored.endswith("only the refund.")
    assert "DATE_OF_BIRTH" not in out
    assert re.search(r"Replaced \d+ values in 5 tickets: .*\b1 username\b", out)
    assert "5 tickets answered by 1 generation job(s)" in out
    assert re.search(r"ticket_01_refund\s+negative\s+0\.\d\d", out)
    assert re.search(r"ticket_02_praise\s+positive\s+0\.\d\d", out)
    assert "Done in" in out


def test_demo_calls_the_services_named_in_the_environment_instead_of_its_emulator() -> None:
    with Emulator(api_key="real-key", organization_id="real-org", model="tuned-7") as emu:
        env = clean_env(
            MODELSTUDIO_API_KEY="real-key",
            MODELSTUDIO_ORGANIZATION_ID="real-org",
            MODELSTUDIO_BASE_URL=emu.base_url,
            MODELSTUDIO_MODEL="tuned-7",
            FASTINO_API_KEY="real-key",
            FASTINO_BASE_URL=emu.base_url,
            FYRETOOLKIT_API_KEY="real-key",
            FYRETOOLKIT_BASE_URL=emu.base_url,
        )
        result = run_demo(env)
        assert result.returncode == 0, result.stderr + result.stdout
        assert "Starting the built-in emulator" not in result.stdout
        assert f"model 'tuned-7' at {emu.base_url}" in result.stdout
        assert emu.log.count("POST", "/run") > 0
        assert emu.log.count("POST", "/generate$") == 2  # invoke, then one packed batch job
        assert emu.log.count("POST", "/predict/sentiment-v1") == 1


def test_demo_fails_with_a_clear_message_and_no_secret() -> None:
    with Emulator(api_key="right-key") as emu:
        env = clean_env(FASTINO_API_KEY="wrong-secret-key", FASTINO_BASE_URL=emu.base_url)
        result = run_demo(env)
    assert result.returncode == 1
    assert "Demo failed at stage 'Redacting personal data" in result.stderr
    # Changed by issue 9: every ticket failed for the same reason, so the typed
    # error with its fix is what the user sees, not a PIIDetectionError saying "retry".
    assert "AuthenticationError" in result.stderr
    assert "401" in result.stderr
    assert "FASTINO_API_KEY" in result.stderr
    assert "wrong-secret-key" not in result.stderr + result.stdout


def test_demo_needs_a_model_id_for_a_real_chat_model() -> None:
    result = run_demo(clean_env(MODELSTUDIO_API_KEY="k", MODELSTUDIO_ORGANIZATION_ID="o"))
    assert result.returncode == 1
    assert "MODELSTUDIO_MODEL" in result.stderr


def test_console_script_points_at_main() -> None:
    [script] = [
        ep
        for ep in importlib.metadata.entry_points(group="console_scripts")
        if ep.name == "langchain-mlstudio-demo"
    ]
    assert script.value == "langchain_mlstudio.demo:main"
    assert script.load() is main


def test_emulator_flag_ignores_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FASTINO_API_KEY", "would-fail")
    monkeypatch.setenv("FASTINO_BASE_URL", "http://127.0.0.1:9")
    assert main(["--emulator", "--question", "Who was charged twice?"]) == 0
    out = capsys.readouterr().out
    assert "--emulator was given" in out
    assert "Retrieved chunks: ticket_03_billing" in out


def test_sample_documents_are_shipped_and_split_with_offsets() -> None:
    docs = load_documents()
    assert len(docs) == 5
    chunks = split_documents(docs)
    assert len(chunks) > len(docs)
    by_id = {d.id: d for d in docs}
    for chunk in chunks:
        parent = by_id[chunk.metadata["parent_id"]]
        start = chunk.metadata["start"]
        assert parent.page_content[start : start + len(chunk.page_content)] == chunk.page_content
        assert len(chunk.page_content) <= 300


def test_readme_demo_command_runs_this_demo() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- demo-command -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert block.strip().endswith("python -m langchain_mlstudio.demo")
    assert "pip install" in block
    assert "[test]" not in block  # the demo needs the runtime dependencies only
