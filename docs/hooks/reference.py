"""MkDocs hook: generate the configuration tables and the benchmark chart.

The configuration page is written by hand except for its tables: a marker
``<!-- config: ChatModelStudio -->`` becomes a table of every setting of that
class, read from the code at build time (pydantic fields or ``__init__``
parameters, their defaults, the environment variable each one falls back to,
and its docstring). A new field therefore appears in the docs without anyone
remembering to add it, and ``tests/integration_tests/test_docs.py`` checks
that every public configurable class has such a table.

The marker ``<!-- benchmark-chart -->`` becomes the PNG chart that
``docs/benchmark_chart.py`` draws from the figures recorded in
``docs/benchmarks.md`` (generated at every build, so it never goes stale), and
the repository's ``notebooks/*.ipynb`` become pages of the site (rendered with
their committed outputs by mkdocs-jupyter).
"""

from __future__ import annotations

import ast
import html
import importlib.util
import inspect
import itertools
import os
import re
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

import langchain_mlstudio
from langchain_mlstudio.chat_models import BaseChatGenerationJob
from langchain_mlstudio.chat_models._providers import PROVIDERS

DOCS = Path(__file__).resolve().parents[1]
NOTEBOOKS = DOCS.parent / "notebooks"
CONFIG_MARKER = re.compile(r"<!--\s*config:\s*([A-Za-z_][A-Za-z0-9_]*)\s*-->")
CHART_MARKER = "<!-- benchmark-chart -->"
CHART_URI = "assets/benchmarks.png"
ENV_VAR = re.compile(
    r"\b(?:MODELSTUDIO|IONOS_MODEL_STUDIO|FASTINO|FYRETOOLKIT)_[A-Z0-9_]*[A-Z0-9]\b"
)


# -- docstrings ------------------------------------------------------------------


@cache
def attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under class attributes (``x: int = 1`` then ``\"\"\"...\"\"\"``)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("langchain_mlstudio"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def args_docs(obj: Any) -> dict[str, str]:
    """The ``Args:`` section of a Google-style docstring, by parameter name."""
    doc = inspect.getdoc(obj) or ""
    match = re.search(r"^Args:\n((?:[ \t]+.*\n?|\n)+)", doc, flags=re.MULTILINE)
    if not match:
        return {}
    result: dict[str, str] = {}
    current = None
    for line in match.group(1).splitlines():
        item = re.match(r"^ {4}(\w+)(?: \([^)]*\))?:\s*(.*)$", line)
        if item:
            current = item.group(1)
            result[current] = item.group(2)
        elif current and line.strip():
            result[current] += " " + line.strip()
    return result


# -- settings ------------------------------------------------------------------


def own_fields(cls: type[BaseModel]) -> list[str]:
    """The pydantic fields this package declares (not LangChain's own)."""
    names: list[str] = []
    for name in cls.model_fields:
        for klass in cls.__mro__:
            if name in inspect.get_annotations(klass):
                if klass.__module__.startswith("langchain_mlstudio"):
                    names.append(name)
                break
    return names


def factory_env_var(field: FieldInfo) -> str | None:
    """The variable a ``from_env`` / ``secret_from_env`` default reads."""
    factory = field.default_factory
    for cell in getattr(factory, "__closure__", None) or ():
        value = cell.cell_contents
        if isinstance(value, str) and ENV_VAR.fullmatch(value):
            return value
    return None


def chat_env_vars(cls: type) -> dict[str, tuple[str, str | None]]:
    """The chat models' settings read from the environment, with the fallback."""
    if not (isinstance(cls, type) and issubclass(cls, BaseChatGenerationJob)):
        return {}
    info = PROVIDERS[cls.provider]
    return {
        "api_key": (info.api_key_env, None),
        "organization_id": (info.organization_env, None),
        "base_url": (info.base_url_env, info.default_base_url),
    }


def show_default(value: Any) -> str:
    """A default as the reader would type it."""
    if value is PydanticUndefined or value is inspect.Parameter.empty:
        return "required"
    if isinstance(value, type):
        return code(value.__name__)
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, (list, tuple)) and len(repr(value)) > 60:
        return f"{len(value)} values: " + ", ".join(code(str(v)) for v in value)
    text = repr(value)
    if len(text) > 60:
        return "(see the class)"
    return code(text)


def type_name(annotation: Any) -> str:
    """A short, readable type."""
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    text = re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+([A-Za-z_])", r"\1", text)
    return text.replace("NoneType", "None").replace("Optional[", "None | [")


ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|obj):`~?(?:[\w.]*\.)?([\w]+)`")


def cell(text: str) -> str:
    """Markdown table cell text: one line, Sphinx roles as code, pipes escaped."""
    text = ROLE.sub(r"``\1``", text)
    return " ".join(text.split()).replace("|", "\\|")


def code(text: str) -> str:
    """Inline code for a table cell (a ``|`` inside backticks would split the cell)."""
    escaped = html.escape(" ".join(text.split()), quote=False).replace("|", "&#124;")
    return f"<code>{escaped}</code>"


#: What LangChain's own fields mean, for tools that set them.
STANDARD_FIELDS = {
    "name": "The tool's name, as a model calls it.",
    "description": "What the model is told the tool does.",
    "args_schema": "The pydantic model of the tool's arguments.",
    "response_format": "``content_and_artifact``: the model reads the content, code "
    "gets the raw result as ``ToolMessage.artifact``.",
}


def default_from_factory(field: FieldInfo, env: str | None) -> Any:
    """What a ``default_factory`` gives with its environment variable unset."""
    saved = os.environ.pop(env, None) if env else None
    try:
        return field.default_factory()  # type: ignore[call-arg,misc]
    except TypeError:
        return "(computed)"
    finally:
        if env and saved is not None:
            os.environ[env] = saved


def settings_rows(cls: type) -> list[tuple[str, str, str, str, str]]:
    """``(name, type, default, environment variable, description)`` per setting."""
    rows: list[tuple[str, str, str, str, str]] = []
    docs = args_docs(cls)
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        docs.update(attribute_docs(cls))
        env_of = chat_env_vars(cls)
        for name in own_fields(cls):
            field = cls.model_fields[name]
            description = docs.get(name) or field.description or STANDARD_FIELDS.get(name, "")
            shown = f"`{name}`"
            if field.alias not in (None, name):
                shown = f"`{field.alias}` (or `{name}`)"
            env, env_default = env_of.get(name, (factory_env_var(field), None))
            if env is None:
                match = ENV_VAR.search(description)
                env = match.group(0) if match else None
            if env_default is not None:
                default = show_default(env_default)
            elif field.default_factory is not None:
                default = show_default(default_from_factory(field, env))
            else:
                default = show_default(field.default)
            rows.append(
                (
                    shown,
                    code(type_name(field.annotation)),
                    default,
                    f"`{env}`" if env else "",
                    cell(description),
                )
            )
        return rows
    signature = inspect.signature(cls.__init__)
    for name, param in signature.parameters.items():
        if name == "self" or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        description = docs.get(name, "")
        env_match = ENV_VAR.search(description)
        rows.append(
            (
                f"`{name}`",
                code(type_name(param.annotation)),
                show_default(param.default),
                f"`{env_match.group(0)}`" if env_match else "",
                cell(description),
            )
        )
    return rows


def settings_table(name: str) -> str:
    """The markdown table of one public class's settings."""
    cls = getattr(langchain_mlstudio, name, None)
    if not isinstance(cls, type):
        msg = f"configuration page: {name!r} is not a public class of langchain_mlstudio"
        raise ValueError(msg)
    lines = [
        "| Setting | Type | Default | Environment variable | Meaning |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in settings_rows(cls)]
    return "\n".join(lines)


# -- benchmark chart and notebooks ------------------------------------------------


def chart_module() -> Any:
    """``docs/benchmark_chart.py``, which draws the chart (also runnable on its own)."""
    spec = importlib.util.spec_from_file_location("benchmark_chart", DOCS / "benchmark_chart.py")
    if spec is None or spec.loader is None:
        msg = f"cannot load {DOCS / 'benchmark_chart.py'}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def benchmark_chart() -> str:
    """The chart's image, inside a figure, for the performance page."""
    alt = "Times better than each baseline measured in the same run, one panel per measure"
    return f'<figure markdown="span">\n![{alt}]({CHART_URI}){{ width="100%" }}\n</figure>'


# -- the hook --------------------------------------------------------------------


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    """Add the rendered chart and the repository's notebooks to the site."""
    text = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    files.append(File.generated(config, CHART_URI, content=chart_module().render_png(text)))
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        # A plain File (not File.generated): mkdocs-jupyter wraps it and reads its source.
        path = f"notebooks/{notebook.name}"
        files.append(File(path, str(NOTEBOOKS.parent), config.site_dir, config.use_directory_urls))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the markers with generated tables and the chart."""
    markdown = CONFIG_MARKER.sub(lambda m: settings_table(m.group(1)), markdown)
    if CHART_MARKER in markdown:
        markdown = markdown.replace(CHART_MARKER, benchmark_chart())
    return markdown
