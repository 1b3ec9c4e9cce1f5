r"""Run the emulator from the command line until Ctrl-C.

Every option has a default, so the bare command serves everything::

    python -m langchain_mlstudio.emulator

It binds 127.0.0.1 only (port 8765 unless ``--port``), serves the ModelStudio
generate-job API at the root and the IONOS one under ``/ionos`` (``--flavour``
serves only one of them, at the root), Fastino and FyreToolkit, and prints the
``export`` lines that point every client at it, ready to paste. The key is the
emulator's own, local and not secret, so it is printed in full. It exits 0 on
Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, Literal

from langchain_mlstudio.emulator import Emulator, Fault, GenerateJobService
from langchain_mlstudio.emulator.responders import load_responses

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_MODEL",
    "DEFAULT_ORGANIZATION",
    "DEFAULT_PORT",
    "banner",
    "build_parser",
    "configure",
    "export_lines",
    "generate_apis",
    "main",
    "parallel_limit",
]

#: The defaults of the bare command (also the demo's default model id).
DEFAULT_PORT = 8765
DEFAULT_API_KEY = "emulator-key"
DEFAULT_ORGANIZATION = "emulator-org"
DEFAULT_MODEL = "my-fine-tuned-model"

# The environment variable prefix of the generate-job clients, per flavour.
_PREFIX = {"modelstudio": "MODELSTUDIO", "ionos": "IONOS_MODEL_STUDIO"}
_NAME = {"modelstudio": "ModelStudio", "ionos": "IONOS AI Model Studio"}


#: The options that tune one service: flag, type, default, help.
_TUNING_OPTIONS: tuple[tuple[str, type, float | None, str], ...] = (
    ("--job-duration", float, 1.0, "seconds a generation job takes"),
    (
        "--max-parallel-jobs",
        int,
        None,
        "unfinished jobs allowed at once, 0 for no limit "
        "(default: 3 for ionos, no limit for modelstudio)",
    ),
    ("--fastino-max-batch-size", int, 64, "inputs one /run may carry"),
    ("--fastino-latency", float, 0.0, "seconds added to every /run"),
    (
        "--fyretoolkit-rate-limit",
        int,
        None,
        "FyreToolkit requests per window before a 429 (default: unlimited)",
    ),
    ("--fyretoolkit-rate-window", float, 60.0, "seconds per budget window"),
)


def build_parser() -> argparse.ArgumentParser:
    """The command-line options, each with a default.

    Example:
        >>> args = build_parser().parse_args([])
        >>> args.flavour, args.port, args.api_key, args.model
        ('both', 8765, 'emulator-key', 'my-fine-tuned-model')
    """
    parser = argparse.ArgumentParser(
        prog="python -m langchain_mlstudio.emulator",
        description="Serve the emulated ModelStudio / IONOS AI Model Studio, Fastino "
        "and FyreToolkit APIs on 127.0.0.1 until interrupted, and print the "
        "variables that point the clients at them.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (0: any free one)"
    )
    parser.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        help="the key every API accepts (printed: use a made-up one, never a real key)",
    )
    parser.add_argument(
        "--organization-id", default=DEFAULT_ORGANIZATION, help="the generate API's organization"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a model id the generate API serves")
    parser.add_argument(
        "--flavour",
        choices=["both", *sorted(_PREFIX)],
        default="both",
        help="both: ModelStudio at the root and IONOS under /ionos; "
        "otherwise only that flavour, at the root",
    )
    for flag, kind, default, text in _TUNING_OPTIONS:
        parser.add_argument(flag, type=kind, default=default, help=text)
    parser.add_argument(
        "--responses",
        metavar="FILE",
        default=None,
        help="JSON file of scripted answers: rules (pattern -> answer), follow_schemas, "
        "malformed_rate (see langchain_mlstudio.emulator.responders.load_responses)",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="chance that any request gets a 503 with Retry-After (to try the retries)",
    )
    return parser


def configure(emulator: Emulator, args: argparse.Namespace) -> Emulator:
    """Apply the per-service options of ``args`` to ``emulator``.

    Example:
        >>> args = build_parser().parse_args(["--api-key", "k", "--organization-id", "o",
        ...     "--model", "m", "--fyretoolkit-rate-limit", "5", "--fault-rate", "0.1"])
        >>> emu = configure(Emulator(api_key="k"), args)
        >>> emu.fyretoolkit.rate_limit, emu.fastino.max_batch_size
        (5, 64)
    """
    emulator.fastino.max_batch_size = args.fastino_max_batch_size
    emulator.fastino.latency = args.fastino_latency
    emulator.fyretoolkit.rate_limit = args.fyretoolkit_rate_limit
    emulator.fyretoolkit.rate_window = args.fyretoolkit_rate_window
    if args.responses:
        responder = load_responses(args.responses)
        for service in (emulator.generate, emulator.ionos):
            if service is not None:
                service.responder = responder
    if args.fault_rate > 0:
        emulator.faults.add(
            Fault(
                status=503,
                times=None,
                probability=args.fault_rate,
                headers={"Retry-After": "0.2"},
            )
        )
    return emulator


def export_lines(emulator: Emulator, args: argparse.Namespace) -> list[str]:
    """The ``export`` lines for every variable, shell-quoted so they paste as printed.

    Example:
        >>> args = build_parser().parse_args(["--api-key", "it's"])
        >>> lines = export_lines(Emulator(api_key=args.api_key, flavour="both"), args)
        >>> print(lines[2])
        export MODELSTUDIO_API_KEY='it'"'"'s'
    """
    url = emulator.base_url
    values: list[tuple[str, str]] = []
    for flavour, base_url, _service in generate_apis(emulator, args):
        prefix = _PREFIX[flavour]
        values += [
            (f"{prefix}_BASE_URL", base_url),
            (f"{prefix}_ORGANIZATION_ID", args.organization_id),
            (f"{prefix}_API_KEY", args.api_key),
        ]
    values += [
        ("MODELSTUDIO_MODEL", args.model),  # the demo's model id
        ("FASTINO_BASE_URL", url),
        ("FASTINO_API_KEY", args.api_key),
        ("FYRETOOLKIT_BASE_URL", url),
        ("FYRETOOLKIT_API_KEY", args.api_key),
    ]
    return [f"export {name}={shlex.quote(value)}" for name, value in values]


def generate_apis(
    emulator: Emulator, args: argparse.Namespace
) -> list[tuple[Literal["modelstudio", "ionos"], str, GenerateJobService]]:
    """``(flavour, base URL, service)`` of each generate-job API the command serves.

    Example:
        >>> emu = Emulator(flavour="both", port=8765)
        >>> [(f, url) for f, url, _ in generate_apis(emu, build_parser().parse_args([]))]
        [('modelstudio', 'http://127.0.0.1:8765'), ('ionos', 'http://127.0.0.1:8765/ionos')]
    """
    if args.flavour != "both":
        return [(args.flavour, emulator.base_url, emulator.generate)]
    assert emulator.ionos is not None  # noqa: S101 - flavour="both" always builds it
    return [
        ("modelstudio", emulator.base_url, emulator.generate),
        ("ionos", emulator.ionos_base_url, emulator.ionos),
    ]


def banner(emulator: Emulator, args: argparse.Namespace) -> str:
    """What the CLI prints once it listens: what is served where, and the exports.

    The ``export`` lines start at the line's beginning, so a block of them can
    be copied and pasted into a POSIX shell (bash, zsh) as printed.
    """
    url = emulator.base_url
    lines = [f"langchain-mlstudio emulator serving on {url}"]
    for flavour, base_url, service in generate_apis(emulator, args):
        limit = service.max_parallel_jobs
        lines.append(
            f"  {_NAME[flavour]} generate jobs at {base_url} "
            f"(parallel jobs: {'unlimited' if limit is None else limit})"
        )
    lines += [
        f"  Fastino and FyreToolkit at {url}",
        f"  model {args.model!r}, organization {args.organization_id!r}, "
        f"key {args.api_key!r} (the emulator's own; local, not secret), "
        f"jobs take {args.job_duration:g} s",
        "Paste these lines into your shell to point every client at it:",
        *export_lines(emulator, args),
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def parallel_limit(option: int | None) -> int | Literal["default"] | None:
    """``--max-parallel-jobs`` as :class:`Emulator` takes it.

    Example:
        >>> parallel_limit(None), parallel_limit(0), parallel_limit(2)
        ('default', None, 2)
    """
    if option is None:
        return "default"  # the flavour's own limit
    return option or None


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the emulator until Ctrl-C or SIGTERM; return the exit status.

    Example::

        main([])  # every API on 127.0.0.1:8765 with the defaults
    """
    args = build_parser().parse_args(argv)
    emulator = Emulator(
        api_key=args.api_key,
        organization_id=args.organization_id,
        model=args.model,
        flavour=args.flavour,
        max_parallel_jobs=parallel_limit(args.max_parallel_jobs),
        port=args.port,
        job_duration=args.job_duration,
    )
    configure(emulator, args)
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
    try:
        emulator.start()
    except OSError as exc:
        print(
            f"Cannot listen on 127.0.0.1:{args.port}: {exc}. Is an emulator already "
            "running? Stop it, or pick another port with --port (0: any free one).",
            file=sys.stderr,
        )
        return 1
    print(banner(emulator, args), flush=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    print("Emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
