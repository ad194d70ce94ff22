"""The ``deepinfra-async`` command line (also ``python -m deepinfra_async``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepinfra-async",
        description="Asyncio client for DeepInfra's inference API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="walk through the client (uses the built-in emulator when no API key is set)",
    )
    demo.add_argument(
        "--emulator",
        action="store_true",
        help="use the built-in emulator even when an API key is set",
    )

    batch = commands.add_parser("batch", help="batch jobs in OpenAI's JSONL batch format")
    jobs = batch.add_subparsers(dest="batch_command", required=True, metavar="ACTION")
    run = jobs.add_parser("run", help="run a JSONL file locally; resumable")
    run.add_argument("input", type=Path, help="JSONL input (custom_id, method, url, body)")
    run.add_argument("output", type=Path, help="JSONL output, appended to")
    run.add_argument("--concurrency", type=int, default=64, help="requests in flight (64)")
    submit = jobs.add_parser("submit", help="upload a JSONL file and start a server-side batch")
    submit.add_argument("input", type=Path)
    submit.add_argument("--endpoint", default=None, help="default: the first line's url")
    status = jobs.add_parser("status", help="show a server-side batch")
    status.add_argument("batch_id")
    download = jobs.add_parser("download", help="save a finished batch's output file")
    download.add_argument("batch_id")
    download.add_argument("output", type=Path)

    emulator = commands.add_parser("emulator", help="serve the DeepInfra emulator on loopback")
    emulator.add_argument("--host", default="127.0.0.1", help="loopback address")
    emulator.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 = any)")
    emulator.add_argument("--api-key", default=None, help="bearer token to accept (random)")
    emulator.add_argument("--seed", type=int, default=0, help="seed for generated outputs")
    return parser


async def _serve_emulator(host: str, port: int, api_key: str | None, seed: int) -> None:
    from .testing import Emulator  # noqa: PLC0415 - the library never imports testing at load

    emu = Emulator(host=host, port=port, api_key=api_key, seed=seed)
    await emu.start()
    print(f"DeepInfra emulator listening on {emu.url}")
    print(f"  export DEEPINFRA_BASE_URL={emu.url}")
    print(f"  export DEEPINFRA_API_KEY={emu.api_key}")
    print("Press Ctrl+C to stop.", flush=True)
    await emu.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name (``sys.argv[1:]`` when ``None``).

    Returns:
        The process exit status.
    """
    args = _parser().parse_args(argv)
    if args.command == "emulator":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_emulator(args.host, args.port, args.api_key, args.seed))
        return 0
    if args.command == "batch":
        from ._batch_cli import run_batch_command  # noqa: PLC0415 - keeps `--help` fast

        return asyncio.run(run_batch_command(args))
    if args.command == "demo":
        from ._demo import run_demo  # noqa: PLC0415 - keeps `--help` fast

        return asyncio.run(run_demo(force_emulator=args.emulator))
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
