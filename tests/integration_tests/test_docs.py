"""The documentation site builds strictly, covers the public API, and its examples run.

- ``mkdocs build --strict`` of ``docs/mkdocs.yml`` succeeds (broken links, missing
  snippets, docstrings mkdocstrings cannot render all fail it).
- Every public name is on the API reference page; every configurable public class
  has a generated settings table; every environment variable the package reads is in
  the configuration page and the README.
- Every ```python block on the site and in the README runs against the emulators
  (the blocks of one page share a namespace, in order); when a ```text block follows
  a python block, the python block must print exactly that (a ``...`` in it stands
  for any text, as in doctest).
"""

from __future__ import annotations

import contextlib
import html as html_lib
import importlib
import importlib.util
import inspect
import io
import json
import os
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from langchain_core.documents import BaseDocumentTransformer
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool, BaseToolkit

import langchain_mlstudio
from langchain_mlstudio.emulator import Emulator
from tests.support.docs import prints_as_shown

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = DOCS / "pages"
PACKAGE = ROOT / "langchain_mlstudio"

KEY, ORG, MODEL = "demo-key", "demo-org", "my-fine-tuned-model"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
ENV_VAR = re.compile(
    r"\b(?:MODELSTUDIO|IONOS_MODEL_STUDIO|FASTINO|FYRETOOLKIT|LANGCHAIN_MLSTUDIO)_[A-Z0-9_]*[A-Z0-9]\b"
)


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference_hook", DOCS / "hooks" / "reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the build --------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(DOCS / "mkdocs.yml"),
            "--site-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    )
    return out


def page_html(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def test_site_builds_strictly_with_every_page(site: Path) -> None:
    for page in PAGES.glob("*.md"):
        built = site / "index.html" if page.stem == "index" else site / page.stem / "index.html"
        assert built.exists(), f"{page.name} was not built"


SUBPACKAGES = ("chat_models", "fastino", "fyretoolkit", "emulator", "demo", "ray", "agents")


def public_names() -> list[tuple[str, str]]:
    """``(module, name)`` for every name in the package's and each sub-package's ``__all__``."""
    names = [
        ("langchain_mlstudio", n) for n in langchain_mlstudio.__all__ if not n.startswith("__")
    ]
    top = set(langchain_mlstudio.__all__)
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"langchain_mlstudio.{sub}")
        names += [(module.__name__, n) for n in module.__all__ if n not in top]
    return names


def test_api_reference_lists_every_public_name(site: Path) -> None:
    source = (PAGES / "api.md").read_text(encoding="utf-8")
    html = page_html(site, "api")
    names = public_names()
    assert len(names) > 60
    missing = [f"{m}.{n}" for m, n in names if f"::: {m}.{n}\n" not in source]
    assert not missing, f"api.md has no '::: module.Name' for {missing}"
    not_rendered = [f"{m}.{n}" for m, n in names if f'id="{m}.{n}"' not in html]
    assert not not_rendered, f"mkdocstrings rendered no heading for {not_rendered}"


def test_api_reference_lists_only_public_names() -> None:
    source = (PAGES / "api.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: (\S+)$", source, flags=re.MULTILINE)
    public = {f"{m}.{n}" for m, n in public_names()}
    public |= {f"langchain_mlstudio.{n}" for n in langchain_mlstudio.__all__}
    not_public = sorted(set(documented) - public)
    assert not not_public, f"api.md documents names no __all__ exports: {not_public}"
    assert len(documented) == len(set(documented)), "api.md documents a name twice"


def configurable_classes() -> list[str]:
    """Public classes a user configures: LangChain components and API clients."""
    names = []
    for name in langchain_mlstudio.__all__:
        obj = getattr(langchain_mlstudio, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        component = issubclass(
            obj, BaseChatModel | BaseTool | BaseDocumentTransformer | BaseToolkit
        )
        fields = getattr(obj, "model_fields", None) or inspect.signature(obj.__init__).parameters
        if component or "api_key" in fields or "base_url" in fields:
            names.append(name)
    return names


def test_configuration_page_has_a_table_for_every_configurable_class(site: Path) -> None:
    source = (PAGES / "configuration.md").read_text(encoding="utf-8")
    names = configurable_classes()
    assert {"ChatModelStudio", "FastinoPIITransformer", "FyreToolkitClient"} <= set(names)
    missing = [n for n in names if f"<!-- config: {n} -->" not in source]
    assert not missing, f"configuration.md has no '<!-- config: Name -->' table for {missing}"


def test_configuration_page_lists_every_setting_with_its_default(site: Path) -> None:
    hook = load_hook()
    html = page_html(site, "configuration")
    for name in configurable_classes():
        rows = hook.settings_rows(getattr(langchain_mlstudio, name))
        assert rows, name
        for setting, _type, default, _env, _meaning in rows:
            field = setting.split("`")[1]
            assert f"<code>{field}</code>" in html, (
                f"{name}.{field} is not on the configuration page"
            )
            assert default, f"{name}.{field} has no default shown"
    # Spot-check that generated values are real: a default and a docstring.
    assert "https://api.modelstudio.app" in html
    assert "Sampling temperature" in html


def package_env_vars() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if "emulator" in path.parts or "demo" in path.parts:
            continue
        found |= set(ENV_VAR.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_environment_variable_is_documented(site: Path) -> None:
    env_vars = package_env_vars()
    assert {"MODELSTUDIO_API_KEY", "FASTINO_API_KEY", "FYRETOOLKIT_BASE_URL"} <= env_vars
    html = page_html(site, "configuration")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not [v for v in env_vars if v not in html], "missing from configuration page"
    assert not [v for v in env_vars if f"`{v}`" not in readme], "missing from the README's table"


def test_errors_page_covers_every_exception() -> None:
    source = (PAGES / "errors.md").read_text(encoding="utf-8")
    errors = [
        n
        for n in langchain_mlstudio.__all__
        if inspect.isclass(getattr(langchain_mlstudio, n))
        and issubclass(getattr(langchain_mlstudio, n), BaseException)
    ]
    missing = [n for n in errors if f"`{n}`" not in source]
    assert not missing, f"errors.md does not mention {missing}"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def load_chart() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_chart", DOCS / "benchmark_chart.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_performance_page_shows_the_benchmarks_and_a_chart_image_at_least_800_px_wide(
    site: Path,
) -> None:
    html = page_html(site, "performance")
    image = re.search(r'<img[^>]*src="([^"]+\.png)"', html)
    assert image is not None, "the performance page has no chart image"
    chart = (site / "performance" / image.group(1)).resolve()
    width, height = png_size(chart.read_bytes())
    assert width >= 800
    benchmarks = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    # One panel per measure, each at least ~100 px tall: labels stay readable.
    assert height >= 100 * len(load_chart().benchmark_measures(benchmarks))
    first_table_row = next(line for line in benchmarks.splitlines() if line.startswith("| "))
    first_cell = first_table_row.strip("| ").split("|")[0].strip().strip("`*")
    assert first_cell in html


def test_benchmark_chart_has_one_panel_per_measure_with_every_recorded_ratio() -> None:
    chart = load_chart()
    text = (
        "## Chat models (polling)\n\n**(a) Latency** (median):\n\n| job time | ratio |\n|---|---|\n"
        "| 0.3 s | 202.9× lower |\n| 1 s | 9.7× lower |\n"
        "\n**(b) 64 prompts**: x\n\n| ratio | **35× faster** |\n\n## Fastino\n| ratio | 12.5× faster |\n"
    )
    measures = chart.benchmark_measures(text)
    assert [(m.title, m.bars) for m in measures] == [
        ("Chat models · (a) Latency", [("job time 0.3 s", 202.9), ("job time 1 s", 9.7)]),
        ("Chat models · (b) 64 prompts", [("langchain-mlstudio", 35.0)]),
        ("Fastino", [("langchain-mlstudio", 12.5)]),
    ]
    width, height = png_size(chart.render_png(text))
    assert width >= 800
    assert height > 3 * 100
    with pytest.raises(ValueError, match="no"):
        chart.render_png("# Benchmarks\n\nNothing measured yet.\n")


def test_tables_and_code_blocks_wrap_to_the_column(site: Path) -> None:
    css = (DOCS / "pages" / "stylesheets" / "extra.css").read_text(encoding="utf-8")
    assert "stylesheets/extra.css" in page_html(site, "performance")
    rules = re.sub(r"\s+", " ", css)
    assert re.search(r"pre > code \{[^}]*white-space: pre-wrap", rules)
    assert re.search(r"table:not\(\[class\]\) td \{[^}]*overflow-wrap: anywhere", rules)
    assert re.search(r"md-typeset__scrollwrap \{[^}]*overflow-x: visible", rules)


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_is_a_page_with_its_outputs_linked_from_readme_and_notebook_page(
    site: Path, notebook: Path
) -> None:
    page = site / "notebooks" / notebook.stem / "index.html"
    assert page.exists(), f"{notebook.name} is not rendered as a page"
    html = page.read_text(encoding="utf-8")
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    outputs = [
        "".join(output.get("text", ""))
        for cell in cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]
    assert outputs, f"{notebook.name} has no committed outputs"
    # Every committed text output is on the page (first line, as HTML-escaped text).
    for text in outputs:
        line = next(line for line in text.splitlines() if line.strip())
        assert html_lib.escape(line.strip(), quote=False) in html, line
    assert f'href="{notebook.stem}/"' in page_html(site, "notebooks")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"(notebooks/{notebook.name})" in readme


# -- the examples -----------------------------------------------------------------


@pytest.fixture(scope="module")
def emulators() -> Iterator[tuple[Emulator, Emulator]]:
    with (
        Emulator(api_key=KEY, organization_id=ORG, model=MODEL) as emu,
        Emulator(api_key=KEY, organization_id=ORG, model=MODEL, flavour="ionos") as ionos,
    ):
        yield emu, ionos


@pytest.fixture
def example_env(
    emulators: tuple[Emulator, Emulator], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    emu, ionos = emulators
    emu.faults.clear()
    for prefix, server in (("MODELSTUDIO", emu), ("IONOS_MODEL_STUDIO", ionos)):
        monkeypatch.setenv(f"{prefix}_API_KEY", KEY)
        monkeypatch.setenv(f"{prefix}_ORGANIZATION_ID", ORG)
        monkeypatch.setenv(f"{prefix}_BASE_URL", server.base_url)
    for prefix in ("FASTINO", "FYRETOOLKIT"):
        monkeypatch.setenv(f"{prefix}_API_KEY", KEY)
        monkeypatch.setenv(f"{prefix}_BASE_URL", emu.base_url)
    monkeypatch.chdir(tmp_path)


def examples(path: Path) -> list[tuple[str, str | None]]:
    """``(code, expected output or None)`` for each python block of a page."""
    blocks = [
        (m.group(1), m.group(2), m.start(), m.end())
        for m in FENCE.finditer(path.read_text(encoding="utf-8"))
    ]
    found = []
    text = path.read_text(encoding="utf-8")
    for i, (lang, code, _start, end) in enumerate(blocks):
        if lang != "python":
            continue
        expected = None
        if (
            i + 1 < len(blocks)
            and blocks[i + 1][0] == "text"
            and not text[end : blocks[i + 1][2]].strip()
        ):
            expected = blocks[i + 1][1]
        found.append((code, expected))
    return found


EXAMPLE_PAGES = [*sorted(PAGES.glob("*.md")), ROOT / "README.md"]


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=lambda p: p.name)
@pytest.mark.usefixtures("example_env")
def test_code_examples_run_and_print_what_the_page_shows(page: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__docs_example__"}
    for number, (code, expected) in enumerate(examples(page), 1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(code, f"{page.name}[python block {number}]", "exec"), namespace)  # noqa: S102
            except Exception as exc:
                pytest.fail(f"{page.name}, python block {number} raised {exc!r}:\n{code}")
        if expected is not None:
            assert prints_as_shown(out.getvalue(), expected), (
                f"{page.name}, python block {number} printed:\n{out.getvalue()}"
            )


def test_every_page_with_code_has_examples_that_the_runner_finds() -> None:
    for page in (
        "quickstart.md",
        "chat-models.md",
        "fastino.md",
        "fyretoolkit.md",
        "emulator.md",
        "errors.md",
    ):
        assert examples(PAGES / page), f"{page} has no python examples"
    assert examples(ROOT / "README.md")
