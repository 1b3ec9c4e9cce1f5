"""Emulated generate-job API (IONOS AI Model Studio and manufactAI ModelStudio)."""

from __future__ import annotations

from typing import Literal

from langchain_mlstudio.emulator._server import Service

Flavour = Literal["modelstudio", "ionos"]


class GenerateJobService(Service):
    """``POST/GET /api/v1/organizations/{org}/generate[/{job_id}]``."""

    name = "generate"

    def __init__(
        self,
        *,
        api_key: str,
        organization_id: str,
        models: set[str],
        flavour: Flavour = "modelstudio",
        job_duration: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.organization_id = organization_id
        self.models = set(models)
        self.flavour = flavour
        self.job_duration = job_duration
