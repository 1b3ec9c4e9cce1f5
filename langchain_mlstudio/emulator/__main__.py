r"""Run the emulator from the command line until Ctrl-C.

Example::

    python -m langchain_mlstudio.emulator --port 8765 --api-key KEY \
        --organization-id ORG --model MODEL_ID --flavour ionos

It binds 127.0.0.1 only, prints the base URL and the environment variables
that point the package's clients at it, and exits 0 on Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, Literal

from langchain_mlstudio.emulator import Emulator, Fault
from langchain_mlstudio.emulator.responders import load_responses

# The environment variable prefix of the generate-job clients, per flavour.
_PREFIX = {"modelstudio": "MODELSTUDIO", "ionos": "IONOS_MODEL_STUDIO"}


def mask(secret: str) -> str:
    """A key shortened so it can be recognised but not reused.

    Example:
        >>> mask("sk-1234567890")
        'sk…90'
        >>> mask("short")
        '***'
    """
    return secret[:2] + "…" + secret[-2:] if len(secret) >= 8 else "***"


def build_parser() -> argparse.ArgumentParser:
    """The command-line options.

    Example:
        >>> args = build_parser().parse_args(
        ...     ["--api-key", "k", "--organization-id", "o", "--model", "m"]
        ... )
        >>> args.flavour, args.port
        ('modelstudio', 8765)
    """
    parser = argparse.ArgumentParser(
        prog="python -m langchain_mlstudio.emulator",
        description="Serve the emulated ModelStudio / IONOS AI Model Studio, Fastino "
        "and FyreToolkit APIs on 127.0.0.1 until interrupted.",
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free one)"
    )
    parser.add_argument("--api-key", required=True, help="the key every API accepts")
    parser.add_argument("--organization-id", required=True, help="the generate API's organization")
    parser.add_argument("--model", required=True, help="a model id the generate API serves")
    parser.add_argument("--flavour", choices=sorted(_PREFIX), default="modelstudio")
    parser.add_argument(
        "--job-duration", type=float, default=1.0, help="seconds a generation job takes"
    )
    parser.add_argument(
        "--max-parallel-jobs",
        type=int,
        default=None,
        help="unfinished jobs allowed at once, 0 for no limit "
        "(default: 3 for ionos, no limit for modelstudio)",
    )
    parser.add_argument(
        "--fastino-max-batch-size", type=int, default=64, help="inputs one /run may carry"
    )
    parser.add_argument(
        "--fastino-latency", type=float, default=0.0, help="seconds added to every /run"
    )
    parser.add_argument(
        "--fyretoolkit-rate-limit",
        type=int,
        default=None,
        help="FyreToolkit requests per window before a 429 (default: unlimited)",
    )
    parser.add_argument(
        "--fyretoolkit-rate-window", type=float, default=60.0, help="seconds per budget window"
    )
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
        emulator.generate.responder = load_responses(args.responses)
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


def banner(emulator: Emulator, args: argparse.Namespace) -> str:
    """What the CLI prints once it listens: the URL and the variables to export.

    The key itself is never printed, only a masked hint of it.
    """
    url = emulator.base_url
    prefix = _PREFIX[args.flavour]
    key_hint = f"'<your --api-key, {mask(args.api_key)}>'"
    limit = emulator.generate.max_parallel_jobs
    return "\n".join(
        [
            f"langchain-mlstudio emulator ({args.flavour} flavour) serving on {url}",
            f"  model {args.model!r}, organization {args.organization_id!r}, "
            f"jobs take {args.job_duration:g} s, "
            f"parallel jobs: {'unlimited' if limit is None else limit}",
            "Point the clients at it:",
            f"  export {prefix}_BASE_URL={url}",
            f"  export {prefix}_ORGANIZATION_ID={args.organization_id}",
            f"  export {prefix}_API_KEY={key_hint}",
            f"  export FASTINO_BASE_URL={url}",
            f"  export FASTINO_API_KEY={key_hint}",
            f"  export FYRETOOLKIT_BASE_URL={url}",
            f"  export FYRETOOLKIT_API_KEY={key_hint}",
            "Press Ctrl-C to stop.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the emulator until Ctrl-C or SIGTERM; return the exit status.

    Example::

        main(["--port", "0", "--api-key", "k", "--organization-id", "o",
              "--model", "m"])
    """
    args = build_parser().parse_args(argv)
    limit: int | Literal["default"] | None = "default"
    if args.max_parallel_jobs is not None:
        limit = args.max_parallel_jobs or None
    emulator = Emulator(
        api_key=args.api_key,
        organization_id=args.organization_id,
        model=args.model,
        flavour=args.flavour,
        port=args.port,
        job_duration=args.job_duration,
        max_parallel_jobs=limit,
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
        print(f"Cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
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
