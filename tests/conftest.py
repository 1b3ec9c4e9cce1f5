"""Say in every test run's header which versions it tests.

The README's test command runs the suites twice, at the newest and at the lowest
versions the ranges allow; the header shows which resolution a log belongs to.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

DIRECT_DEPENDENCIES = ("langchain-core", "httpx", "pydantic")


def pytest_report_header(config: pytest.Config) -> str:
    return "langchain-mlstudio dependencies: " + ", ".join(
        f"{name} {version(name)}" for name in DIRECT_DEPENDENCIES
    )
