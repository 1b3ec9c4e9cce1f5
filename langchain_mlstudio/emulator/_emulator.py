"""The :class:`Emulator`: every emulated API on one server, port and key."""

from __future__ import annotations

from typing import Literal

from langchain_mlstudio.emulator._emulated_job import Flavour
from langchain_mlstudio.emulator._server import EmulatedService, EmulatorServer
from langchain_mlstudio.emulator.fastino import FastinoService
from langchain_mlstudio.emulator.fyretoolkit import FyreToolkitService
from langchain_mlstudio.emulator.generate import IONOS_PARALLEL_JOBS, GenerateJobService

__all__ = ["IONOS_PREFIX", "Emulator"]


#: Where ``flavour="both"`` mounts the IONOS-flavoured generate-job API.
IONOS_PREFIX = "/ionos"


class Emulator(EmulatorServer):
    """Every emulated API on one server, port and key.

    Args:
        api_key: The key every API accepts (bearer, ``x-api-key`` or Basic).
        organization_id: The generate-job API's organization.
        model: A model id the generate-job API serves.
        flavour: ``"modelstudio"`` (lower-case statuses, ``"error": null``),
            ``"ionos"`` (upper-case statuses, results with a leading space), or
            ``"both"``: ModelStudio at the root and IONOS under
            :data:`IONOS_PREFIX` (``emu.ionos``, ``emu.ionos_base_url``).
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
        >>> with Emulator(flavour="both") as emu:
        ...     emu.ionos.flavour, emu.ionos_base_url == emu.base_url + "/ionos"
        ('ionos', True)
    """

    def __init__(
        self,
        *,
        api_key: str = "emulator-key",
        organization_id: str = "emulator-org",
        model: str = "emulator-model",
        flavour: Flavour | Literal["both"] = "modelstudio",
        port: int = 0,
        job_duration: float = 0.0,
        max_parallel_jobs: int | Literal["default"] | None = "default",
        seed: int = 0,
    ) -> None:
        self.api_key = api_key

        def generate(flavour: Flavour) -> GenerateJobService:
            limit = max_parallel_jobs
            if isinstance(limit, str):  # "default": the flavour's own limit
                limit = IONOS_PARALLEL_JOBS if flavour == "ionos" else None
            return GenerateJobService(
                api_key=api_key,
                organization_id=organization_id,
                models={model},
                flavour=flavour,
                job_duration=job_duration,
                max_parallel_jobs=limit,
            )

        self.generate = generate("modelstudio" if flavour == "both" else flavour)
        services: list[EmulatedService] = [self.generate]
        #: The IONOS-flavoured API under :data:`IONOS_PREFIX` (``flavour="both"`` only).
        self.ionos: GenerateJobService | None = None
        if flavour == "both":
            self.ionos = generate("ionos")
            self.ionos.prefix = IONOS_PREFIX
            services.append(self.ionos)
        self.fastino = FastinoService(api_key=api_key)
        self.fyretoolkit = FyreToolkitService(api_key=api_key)
        super().__init__([*services, self.fastino, self.fyretoolkit], port=port, seed=seed)

    @property
    def ionos_base_url(self) -> str:
        """The IONOS API's base URL: under :data:`IONOS_PREFIX` when both are served."""
        return self.base_url + (self.ionos.prefix if self.ionos is not None else "")
