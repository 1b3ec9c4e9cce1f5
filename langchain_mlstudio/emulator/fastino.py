"""Emulated Fastino ``POST /run`` (filled in by the Fastino integration)."""

from __future__ import annotations

from langchain_mlstudio.emulator._server import Service


class FastinoService(Service):
    """Fastino's ``/run`` API."""

    name = "fastino"

    def __init__(self, *, api_key: str) -> None:
        self.api_key = api_key
