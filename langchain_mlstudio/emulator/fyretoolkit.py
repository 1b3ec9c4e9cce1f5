"""Emulated FyreToolkit API (filled in by the FyreToolkit integration)."""

from __future__ import annotations

from langchain_mlstudio.emulator._server import Service


class FyreToolkitService(Service):
    """FyreToolkit's REST API."""

    name = "fyretoolkit"

    def __init__(self, *, api_key: str) -> None:
        self.api_key = api_key
