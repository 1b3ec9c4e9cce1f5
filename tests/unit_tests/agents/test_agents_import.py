"""The agents extra is optional: the package imports without langchain."""

from __future__ import annotations

import subprocess
import sys

import langchain_mlstudio
from langchain_mlstudio.agents import FastinoPIIMiddleware

WITHOUT_LANGCHAIN = """
import sys
sys.modules["langchain"] = None  # as if langchain were not installed
import langchain_mlstudio
print(langchain_mlstudio.FyreToolkit.__name__)
try:
    langchain_mlstudio.FastinoPIIMiddleware
except ImportError as exc:
    print("ImportError:", exc)
"""


def test_the_package_imports_without_langchain_and_names_the_extra() -> None:
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_LANGCHAIN], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[0] == "FyreToolkit"
    assert "langchain-mlstudio[agents]" in out


def test_the_middleware_is_reachable_from_the_package() -> None:
    assert langchain_mlstudio.FastinoPIIMiddleware is FastinoPIIMiddleware
