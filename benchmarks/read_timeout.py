"""``python -m benchmarks.read_timeout``: what the idle-read timeout costs per chat completion.

The floor enforces no idle-read timeout; deepinfra_async enforces ``Timeout.read`` (120 s by
default) with one watchdog timer per client. aiohttp's own ``sock_read`` instead schedules a
timer when the request is sent and re-schedules it on every socket read. This measures W1's
operation (one non-streamed chat completion against the benchmark's nginx, concurrency 64)
for four configurations in ONE process, alternating them block by block, so each
repetition gives paired ratios that a noisy machine moves far less than it moves separate
processes:

* ``floor``: the raw-aiohttp floor (``benchmarks/clients/floor.py``);
* ``floor + read timeout``: the same with ``sock_read=120``;
* ``deepinfra_async``: the library with its defaults;
* ``deepinfra_async, read=None``: the library with ``Timeout(read=None)``.

The library runs with orjson when it is installed (the ``speedups`` extra), or with
``--json stdlib`` on the standard library's ``json``. CPU time is user + sys of this process
(``time.process_time``).

Example::

    benchmarks/.venv/bin/python -m benchmarks.read_timeout --reps 7
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Final

from . import canned
from .clients._harness import Adapter, run_pool
from .clients._harness import options as adapter_options
from .server import start_server

WORK: Final = Path(__file__).resolve().parent / ".work" / "read-timeout"
CONCURRENCY: Final = 64


async def _measure(
    configs: Mapping[str, Callable[[], Awaitable[int]]], requests: int, reps: int, expected: int
) -> dict[str, list[float]]:
    """CPU seconds per request for each configuration and repetition, alternating."""
    for op in configs.values():  # warm up: connections, caches, code paths
        await run_pool(2 * CONCURRENCY, CONCURRENCY, op)
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(reps):
        for name, op in configs.items():
            gc.collect()
            start = time.process_time()
            checksum = await run_pool(requests, CONCURRENCY, op)
            times[name].append((time.process_time() - start) / requests)
            if checksum != expected * requests:
                msg = f"{name}: checksum {checksum} != {expected * requests}"
                raise RuntimeError(msg)
    return times


def _adapters(options: argparse.Namespace) -> dict[str, Adapter]:
    from .clients.deepinfra import DeepInfraAsync
    from .clients.floor import Floor

    json_lib = options.json
    return {
        "floor": Floor(adapter_options(json=json_lib)),
        "floor + read timeout": Floor(adapter_options(json=json_lib, sock_read=120.0)),
        "deepinfra_async": DeepInfraAsync(adapter_options(json=json_lib)),
        "deepinfra_async, read=None": DeepInfraAsync(
            adapter_options(json=json_lib, tweak="read=none")
        ),
    }


async def _run(options: argparse.Namespace, base_url: str, expected: int) -> dict[str, list[float]]:
    adapters = _adapters(options)
    for adapter in adapters.values():
        await adapter.start({"base_url": base_url, "kind": "chat"})
    try:
        configs = {name: adapter.chat for name, adapter in adapters.items()}
        return await _measure(configs, options.requests, options.reps, expected)
    finally:
        for adapter in adapters.values():
            await adapter.close()


def _report(times: dict[str, list[float]], options: argparse.Namespace, library_json: str) -> str:
    floor = times["floor"]
    with_read = times["floor + read timeout"]
    lines = [
        f"{options.requests:,} chat completions per block, concurrency {CONCURRENCY},"
        f" {options.reps} repetitions; deepinfra_async with {library_json}. Paired ratios are"
        " the median of the per-repetition ratios.",
        "",
        "| configuration | median CPU µs/request | vs floor (paired) | vs floor + read timeout"
        " (paired) |",
        "|---|---:|---:|---:|",
    ]
    for name, values in times.items():
        to_floor = statistics.median(v / f for v, f in zip(values, floor, strict=True))
        to_read = statistics.median(v / r for v, r in zip(values, with_read, strict=True))
        lines.append(
            f"| {name} | {statistics.median(values) * 1e6:,.1f} | {to_floor:.3f}x"
            f" | {to_read:.3f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Start nginx (or the Python server), measure, and print a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.read_timeout")
    parser.add_argument("--requests", type=int, default=6000, help="requests per block")
    parser.add_argument("--reps", type=int, default=5, help="repetitions")
    parser.add_argument("--json", choices=["stdlib", "orjson"], default="orjson")
    parser.add_argument("--server", choices=["auto", "nginx", "python"], default="auto")
    options = parser.parse_args(argv)
    if options.json == "stdlib":
        sys.modules["orjson"] = None  # type: ignore[assignment]
    from deepinfra_async._codec import HAS_ORJSON

    library_json = "orjson" if HAS_ORJSON else "the standard json module"
    cores = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = (cores[0], cores[1]) if len(cores) >= 2 else (None, None)
    manifest = canned.build(WORK / "www", big_stream_bytes=1 << 20)
    server = start_server(options.server, WORK / "www", WORK / "server", server_cpu)
    original = os.sched_getaffinity(0)
    try:
        if client_cpu is not None:
            os.sched_setaffinity(0, {client_cpu})
        times = asyncio.run(_run(options, server.url("w1"), manifest["checks"]["chat"]))
    finally:
        os.sched_setaffinity(0, original)
        server.stop()
    print(f"server: {server.version or server.name}")
    print(_report(times, options, library_json))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
