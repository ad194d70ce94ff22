"""The ``deepinfra-async`` command line (also ``python -m deepinfra_async``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

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
    if args.command == "demo":
        from ._demo import run_demo  # noqa: PLC0415 - keeps `--help` fast

        return asyncio.run(run_demo(force_emulator=args.emulator))
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
