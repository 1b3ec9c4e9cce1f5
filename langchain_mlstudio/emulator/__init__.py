r"""A local emulator of every API the package talks to.

One real HTTP server on ``127.0.0.1`` serves the generate-job API (in the
ModelStudio or IONOS flavour), Fastino's ``/run`` and the FyreToolkit API, all
behind one API key. Use it as a context manager in tests and notebooks::

    from langchain_mlstudio.emulator import Emulator

    with Emulator(api_key="k", organization_id="org", model="m") as emu:
        print(emu.base_url)

or from the command line::

    python -m langchain_mlstudio.emulator --port 8765 --api-key KEY \
        --organization-id ORG --model MODEL_ID --flavour ionos
"""

from __future__ import annotations

from typing import Literal

from langchain_mlstudio.emulator._server import (
    EmulatedRequest,
    EmulatedResponse,
    EmulatorServer,
    Fault,
    LoggedRequest,
    peak_in_window,
)
from langchain_mlstudio.emulator.fastino import FastinoService
from langchain_mlstudio.emulator.fyretoolkit import FyreToolkitService
from langchain_mlstudio.emulator.generate import (
    IONOS_PARALLEL_JOBS,
    Flavour,
    GenerateJobService,
)

__all__ = [
    "EmulatedRequest",
    "EmulatedResponse",
    "Emulator",
    "FastinoService",
    "Fault",
    "FyreToolkitService",
    "GenerateJobService",
    "LoggedRequest",
    "peak_in_window",
]


class Emulator(EmulatorServer):
    """Every emulated API on one server, port and key.

    Args:
        api_key: The key every API accepts (bearer, ``x-api-key`` or Basic).
        organization_id: The generate-job API's organization.
        model: A model id the generate-job API serves.
        flavour: ``"modelstudio"`` (lower-case statuses, ``"error": null``) or
            ``"ionos"`` (upper-case statuses, results with a leading space).
        port: The port to bind on 127.0.0.1 (0 picks a free one).
        job_duration: Seconds a generation job takes to finish.
        max_parallel_jobs: Unfinished generation jobs the key may have at once
            before a 429; by default 3 for ``"ionos"`` (its fair-use limit) and
            no limit for ``"modelstudio"``. ``None`` means no limit.
        seed: Seed of the random choices (probabilistic faults).

    Example:
        >>> with Emulator(api_key="k") as emu:
        ...     emu.generate.flavour
        'modelstudio'
    """

    def __init__(
        self,
        *,
        api_key: str = "emulator-key",
        organization_id: str = "emulator-org",
        model: str = "emulator-model",
        flavour: Flavour = "modelstudio",
        port: int = 0,
        job_duration: float = 0.0,
        max_parallel_jobs: int | Literal["default"] | None = "default",
        seed: int = 0,
    ) -> None:
        self.api_key = api_key
        if isinstance(max_parallel_jobs, str):  # "default": the flavour's own limit
            max_parallel_jobs = IONOS_PARALLEL_JOBS if flavour == "ionos" else None
        self.generate = GenerateJobService(
            api_key=api_key,
            organization_id=organization_id,
            models={model},
            flavour=flavour,
            job_duration=job_duration,
            max_parallel_jobs=max_parallel_jobs,
        )
        self.fastino = FastinoService(api_key=api_key)
        self.fyretoolkit = FyreToolkitService(api_key=api_key)
        super().__init__([self.generate, self.fastino, self.fyretoolkit], port=port, seed=seed)
