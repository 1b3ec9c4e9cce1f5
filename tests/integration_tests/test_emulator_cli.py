"""The emulator started bare, as a newcomer starts it, makes the README's examples work.

The test does what the README tells a user to do: start
``python -m langchain_mlstudio.emulator`` with no arguments, paste the ``export``
lines it prints into a shell, and run every Python example of the README there,
checking each prints what the README shows under it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docs import prints_as_shown

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEFAULT_PORT = 8765
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
OUR_VARIABLES = re.compile(r"^(?:MODELSTUDIO|IONOS_MODEL_STUDIO|FASTINO|FYRETOOLKIT)_")
SEPARATOR = "----- next README example -----"


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def clean_environment() -> dict[str, str]:
    """The test runner's environment without any of the package's variables."""
    return {k: v for k, v in os.environ.items() if not OUR_VARIABLES.match(k)}


class Banner:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.exports = [line.rstrip("\n") for line in lines if line.startswith("export ")]

    @property
    def text(self) -> str:
        return "".join(self.lines)


@pytest.fixture(scope="module")
def bare_emulator() -> Iterator[Banner]:
    command = [sys.executable, "-m", "langchain_mlstudio.emulator"]
    if not port_is_free(DEFAULT_PORT):
        # Another emulator (another test run on this machine) holds the default port:
        # only then is the port given, every other option stays at its default.
        command += ["--port", "0"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_environment(),
        cwd=ROOT,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline()]
    while lines[-1] and not lines[-1].startswith("Press Ctrl-C"):
        lines.append(process.stdout.readline())
    try:
        assert lines[-1].startswith("Press Ctrl-C"), "".join(lines) + (
            process.stderr.read() if process.stderr else ""
        )
        yield Banner(lines)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0


def readme_examples() -> list[tuple[str, str | None]]:
    """``(code, what the README shows it prints, or None)`` for each python block."""
    text = README.read_text(encoding="utf-8")
    blocks = list(FENCE.finditer(text))
    found = []
    for block, after in zip(blocks, [*blocks[1:], None], strict=True):
        if block.group(1) != "python":
            continue
        shown = None
        if (
            after is not None
            and after.group(1) == "text"
            and not text[block.end() : after.start()].strip()
        ):
            shown = after.group(2)
        found.append((block.group(2), shown))
    return found


def test_bare_emulator_prints_an_export_for_every_variable_the_clients_need(
    bare_emulator: Banner,
) -> None:
    names = [line.split("=", 1)[0].removeprefix("export ") for line in bare_emulator.exports]
    for prefix in ("MODELSTUDIO", "IONOS_MODEL_STUDIO"):
        assert {f"{prefix}_BASE_URL", f"{prefix}_ORGANIZATION_ID", f"{prefix}_API_KEY"} <= set(
            names
        )
    assert {
        "FASTINO_BASE_URL",
        "FASTINO_API_KEY",
        "FYRETOOLKIT_BASE_URL",
        "FYRETOOLKIT_API_KEY",
    } <= set(names)
    assert "MODELSTUDIO_MODEL" in names  # the demo's model id
    assert "…" not in bare_emulator.text
    assert "export IONOS_MODEL_STUDIO_API_KEY=emulator-key" in bare_emulator.exports


def test_readme_shows_the_export_lines_the_bare_emulator_prints(bare_emulator: Banner) -> None:
    text = README.read_text(encoding="utf-8")
    shown = text.split("<!-- emulator-exports -->", 1)[1]
    block = next(FENCE.finditer(shown)).group(2)
    port = re.search(r"127\.0\.0\.1:(\d+)", bare_emulator.text)
    assert port is not None
    printed = [
        line.replace(f":{port.group(1)}", f":{DEFAULT_PORT}") for line in bare_emulator.exports
    ]
    assert block.splitlines() == printed


def test_pasting_the_bare_emulators_lines_makes_every_readme_example_print_what_it_claims(
    bare_emulator: Banner, tmp_path: Path
) -> None:
    examples = readme_examples()
    assert len(examples) >= 3
    script = tmp_path / "readme_examples.py"
    parts = ["namespace = {'__name__': '__readme__'}"]
    for number, (code, _shown) in enumerate(examples, 1):
        parts += [
            f"print({SEPARATOR!r}, flush=True)",
            f"exec(compile({code!r}, 'README.md python block {number}', 'exec'), namespace)",
        ]
    script.write_text("\n".join(parts) + "\n", encoding="utf-8")
    # Exactly what a user does: paste the printed lines into a shell, then run Python there.
    shell = "\n".join([*bare_emulator.exports, f'exec "{sys.executable}" "{script}"'])
    result = subprocess.run(
        ["bash", "-c", shell],
        capture_output=True,
        text=True,
        env=clean_environment(),
        cwd=tmp_path,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = result.stdout.split(SEPARATOR + "\n")[1:]
    assert len(outputs) == len(examples)
    for number, ((_code, shown), output) in enumerate(zip(examples, outputs, strict=True), 1):
        if shown is not None:
            assert prints_as_shown(output, shown), f"README.md python block {number}:\n{output}"


def test_the_emulator_page_shows_the_banner_the_bare_emulator_prints(bare_emulator: Banner) -> None:
    page = (ROOT / "docs" / "pages" / "emulator.md").read_text(encoding="utf-8")
    section = page.split("## From the command line", 1)[1]
    shown = next(m.group(2) for m in FENCE.finditer(section) if m.group(1) == "text")
    port = re.search(r"127\.0\.0\.1:(\d+)", bare_emulator.text)
    assert port is not None
    printed = bare_emulator.text.replace(f":{port.group(1)}", f":{DEFAULT_PORT}")
    assert shown.splitlines() == printed.splitlines()


def test_a_shown_output_must_match_except_where_it_shows_dots() -> None:
    assert prints_as_shown(
        "<FULL_NAME_1_K7Q2X> wants a refund.\n", "<FULL_NAME_1_...> wants a refund."
    )
    assert not prints_as_shown("<FULL_NAME_1> wants a refund.", "<EMAIL_1> wants a refund.")
    assert not prints_as_shown("Echo: a\nEcho: b", "Echo: a")
