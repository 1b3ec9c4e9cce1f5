"""The README's install lines work, and the versions it states are the ones the package declares.

The wheel line is run as printed (``pip wheel --no-deps -w dist .``), the wheel is
installed on its own into a fresh directory, and the demo runs from it; the
``git+`` form is run against this clone's own repository. Dependencies come from
the test environment, so only the package itself is installed (``--no-deps``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PIP = [sys.executable, "-m", "pip"]


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: PLW1510 - checked below with the output
        command, capture_output=True, text=True, timeout=300, **kwargs
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


def without_our_variables() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not re.match(r"(?:MODELSTUDIO|IONOS_MODEL_STUDIO|FASTINO|FYRETOOLKIT)_", k)
    }


def installed_demo_runs(target: Path) -> str:
    env = {**without_our_variables(), "PYTHONPATH": str(target)}
    where = run(
        [sys.executable, "-c", "import langchain_mlstudio; print(langchain_mlstudio.__file__)"],
        env=env,
        cwd=target,
    )
    assert Path(where.stdout.strip()).is_relative_to(target)  # not the editable checkout
    return run([sys.executable, "-m", "langchain_mlstudio.demo"], env=env, cwd=target).stdout


def test_the_readme_wheel_line_builds_a_wheel_whose_demo_runs(tmp_path: Path) -> None:
    assert "pip wheel --no-deps -w dist . && pip install dist/langchain_mlstudio-*.whl" in README
    dist = tmp_path / "dist"
    run([*PIP, "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)])
    [wheel] = dist.glob("langchain_mlstudio-*.whl")
    target = tmp_path / "site"
    run([*PIP, "install", "-q", "--no-deps", "--target", str(target), str(wheel)])
    assert (target / "langchain_mlstudio" / "py.typed").exists()
    assert list((target / "langchain_mlstudio" / "demo" / "data").glob("*.txt"))
    assert "Done in" in installed_demo_runs(target)


def test_the_readme_git_line_installs_from_a_repository(tmp_path: Path) -> None:
    assert re.search(r'pip install "git\+https://[^"]+\.git"', README)
    if not (ROOT / ".git").exists():
        pytest.fail("the test suite runs from a git clone; this checkout has no .git")
    target = tmp_path / "site"
    requirement = f"git+file://{ROOT}"  # this clone stands in for the hosted repository
    run([*PIP, "install", "-q", "--no-deps", "--target", str(target), requirement])
    assert "Done in" in installed_demo_runs(target)


def pyproject_floors() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    return dict(re.findall(r'"([a-z0-9-]+)>=([0-9.]+)', block))


def test_the_lowest_resolution_pins_every_direct_dependency_at_its_floor() -> None:
    pins = dict(
        re.findall(
            r"^([a-z0-9-]+)==([0-9.]+)$",
            (ROOT / ".ci" / "lowest-direct.txt").read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    )
    floors = pyproject_floors()
    assert set(floors) == {"langchain-core", "httpx", "pydantic"}
    assert {name: version.rstrip(".0") for name, version in pins.items()} == {
        name: version.rstrip(".0") for name, version in floors.items()
    }
    assert "-c .ci/lowest-direct.txt" in README


def test_the_readme_and_docs_state_the_ranges_the_package_declares() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    home = (ROOT / "docs" / "pages" / "index.md").read_text(encoding="utf-8")
    for name, spec in re.findall(r'"([a-z0-9-]+)(>=[^"]+)"', block):
        assert f"| `{name}` | `{spec}` |" in README, f"README's version table lacks {name} {spec}"
        assert f"`{name}` (`{spec}`)" in home, f"docs/pages/index.md lacks {name} {spec}"
    python = re.search(r'requires-python = ">=([0-9.]+)"', text)
    assert python is not None
    assert f"| Python | {python.group(1)} and newer |" in README
