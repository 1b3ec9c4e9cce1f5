"""Serve the emulator from its own process, so a load test measures only the client.

The load test starts this script with a JSON configuration as its argument. The
script prints the emulator's base URL on its first line, then obeys commands
read from stdin, one per line:

``report``
    Print one JSON line with what the server saw since the last report (every
    request's arrival time, the request log, the generation jobs created and
    their peak in flight), then forget it.
``stop``
    Stop serving and exit.

A separate process keeps the server's clock honest (no shared GIL with the
client under test) and keeps the server's growing request log out of the
client's memory measurements.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from typing import Any

from langchain_mlstudio.emulator import EmulatedRequest, Emulator, Fault


class StampedEmulator(Emulator):
    """An emulator that notes each request's arrival before handling it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[tuple[float, str, str]] = []
        self._arrivals_lock = threading.Lock()

    def received(self, request: EmulatedRequest) -> None:
        with self._arrivals_lock:
            self.arrivals.append((request.arrived_at, request.method, request.path))

    def report(self) -> dict[str, Any]:
        """What the server saw since the last report; then forget it."""
        with self._arrivals_lock:
            arrivals, self.arrivals = self.arrivals, []
        entries = list(self.log.entries)
        self.log.clear()
        generate = self.generate
        with generate.lock:
            jobs = [
                [
                    [m.get("content") for m in conv if m.get("role") == "user"]
                    for conv in job.conversations
                ]
                for job in generate.jobs.values()
            ]
            generate.jobs.clear()
            peak = generate.peak_running_jobs
            generate.peak_running_jobs = 0
            created = generate.created_jobs
            generate.created_jobs = 0
        return {
            "arrivals": arrivals,
            "log": [dataclasses.asdict(e) for e in entries],
            "created_jobs": created,
            "peak_running_jobs": peak,
            "jobs": jobs,
        }


def main() -> None:
    config = json.loads(sys.argv[1])
    faults = config.pop("faults", [])
    emulator = StampedEmulator(**config)
    for fault in faults:
        emulator.faults.add(Fault(**fault))
    emulator.start()
    print(emulator.base_url, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "report":
            print(json.dumps(emulator.report()), flush=True)
        elif command == "stop":
            break
    emulator.stop()


if __name__ == "__main__":
    main()
