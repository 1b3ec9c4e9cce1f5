r"""A local emulator of every API the package talks to.

One real HTTP server on ``127.0.0.1`` serves the generate-job API (in the
ModelStudio or IONOS flavour, or both: IONOS under ``/ionos``), Fastino's
``/run`` and the FyreToolkit API, all behind one API key. Use it as a context
manager in tests and notebooks::

    from langchain_mlstudio.emulator import Emulator

    with Emulator(api_key="k", organization_id="org", model="m") as emu:
        print(emu.base_url)

or from the command line, where every option has a default and both flavours
are served at once::

    python -m langchain_mlstudio.emulator
"""

from langchain_mlstudio.emulator._emulator import IONOS_PREFIX, Emulator
from langchain_mlstudio.emulator._faults import Fault
from langchain_mlstudio.emulator._log import LoggedRequest
from langchain_mlstudio.emulator._server import EmulatedRequest, EmulatedResponse
from langchain_mlstudio.emulator.fastino import FastinoService
from langchain_mlstudio.emulator.fyretoolkit import FyreToolkitService
from langchain_mlstudio.emulator.generate import GenerateJobService

__all__ = [
    "IONOS_PREFIX",
    "EmulatedRequest",
    "EmulatedResponse",
    "Emulator",
    "FastinoService",
    "Fault",
    "FyreToolkitService",
    "GenerateJobService",
    "LoggedRequest",
]
