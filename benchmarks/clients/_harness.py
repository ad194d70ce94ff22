"""What every measured client shares: the job loop, the load pattern and the measurements.

A child process runs one or more jobs (``--jobs`` is a JSON list). For each job it opens the
client, warms it up (connections opened, code paths and caches exercised), then measures the
workload alone: CPU time from ``getrusage(RUSAGE_SELF)`` (user + sys, every thread), the
server's CPU time read from ``/proc`` over the same span, RSS from ``/proc/self/statm``, and a
checksum of what was decoded, which the parent compares with the canned bodies' own.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Final

__all__ = [
    "HOLD_SAMPLE_SECONDS",
    "HOLD_SECONDS",
    "MESSAGES",
    "WARM_STREAMS",
    "Adapter",
    "Held",
    "hold_open",
    "main",
    "rss_bytes",
    "run_pool",
    "server_cpu_seconds",
    "stream_check",
]

MESSAGES: Final = [{"role": "user", "content": "Write a short paragraph about the sea."}]
"""The conversation every chat request sends (shared, never mutated)."""

MAX_TOKENS: Final = 64

_PAGE: Final = os.sysconf("SC_PAGE_SIZE")
_TICK: Final = os.sysconf("SC_CLK_TCK")


def rss_bytes() -> int:
    """Return this process's resident set size now."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE


def server_cpu_seconds(pids: list[int]) -> float:
    """Return the CPU time (user + sys) the given processes have used so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / _TICK


def stream_check(content: str | None, completion_tokens: int | None) -> int:
    """One streamed chunk's share of the checksum: content length plus usage tokens."""
    return (len(content) if content else 0) + (completion_tokens or 0)


class Held(abc.ABC):
    """An open stream whose first event has been read (W3)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the stream, dropping its connection."""


Sample = Callable[[], None]


class Adapter(abc.ABC):
    """One client under test. Each operation returns its share of the checksum."""

    name = "client"

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options

    @abc.abstractmethod
    async def start(self, job: dict[str, Any]) -> None:
        """Create the client for ``job`` (inside the running loop)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the client."""

    @abc.abstractmethod
    async def chat(self) -> int:
        """One non-streamed chat completion."""

    @abc.abstractmethod
    async def stream(self) -> int:
        """One chat stream, each chunk decoded into the client's own object."""

    @abc.abstractmethod
    async def open_stream(self) -> Held:
        """Open a chat stream and read its first event."""

    @abc.abstractmethod
    async def slow_stream(self, every: int, pause: float, sample: Sample) -> int:
        """Read a whole stream, sleeping ``pause`` every ``every`` events.

        ``sample()`` is called after the first event and after every ``every`` events.
        """

    @abc.abstractmethod
    async def embed(self) -> int:
        """One embeddings request (16 inputs)."""

    @abc.abstractmethod
    async def native(self) -> int:
        """One native text-generation call."""

    async def batch(self, count: int, concurrency: int) -> int | None:
        """Run ``count`` chat requests through the client's batch runner.

        Returns:
            The checksum, or ``None`` when the client has no batch runner.
        """
        return None


async def run_pool(count: int, concurrency: int, op: Callable[[], Awaitable[int]]) -> int:
    """Run ``op`` ``count`` times with ``concurrency`` workers; return the checksum sum."""
    todo: Iterator[int] = iter(range(count))
    total = 0

    async def worker() -> None:
        nonlocal total
        for _ in todo:  # the iterator is shared: each worker takes the next item
            value = await op()  # (not `total += await op()`: that reads total before awaiting)
            total += value

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return total


HOLD_SECONDS: Final = 1.0
"""How long W3 holds its streams open, sampling the resident set."""
HOLD_SAMPLE_SECONDS: Final = 0.1
WARM_STREAMS: Final = 8
"""Streams W3 opens and closes first, so that the measured opening path is warm."""


async def hold_open(
    adapter: Adapter,
    count: int,
    hold_seconds: float,
    mark: Callable[[str], None] | None = None,
) -> tuple[int, int, int]:
    """W3: warm up, open ``count`` streams at once, hold them; then close them.

    Returns the resident set just before opening, its peak over the hold (sampled every
    ``HOLD_SAMPLE_SECONDS``) and how many streams were held. ``mark`` is called with
    ``"before"`` just before the baseline is read and with ``"held"`` at the end of the hold,
    for tools that read more than the resident set at those points.
    """
    # Warm the open/close path on a few streams first.
    warm = [await adapter.open_stream() for _ in range(min(WARM_STREAMS, count))]
    for held in warm:
        await held.close()
    del warm
    gc.collect()
    await asyncio.sleep(0.2)
    if mark is not None:
        mark("before")
    base = rss_bytes()
    opened: list[Held] = []

    async def open_one() -> None:
        opened.append(await adapter.open_stream())

    try:
        await asyncio.gather(*(open_one() for _ in range(count)))
        peak = max(base, rss_bytes())
        deadline = time.monotonic() + hold_seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(HOLD_SAMPLE_SECONDS)
            peak = max(peak, rss_bytes())
        if mark is not None:
            mark("held")
        return base, peak, len(opened)
    finally:
        await asyncio.gather(*(h.close() for h in opened))


async def _hold(adapter: Adapter, job: dict[str, Any], out: dict[str, Any]) -> int:
    count = job["count"]
    base, peak, held_count = await hold_open(adapter, count, job.get("hold_seconds", HOLD_SECONDS))
    out["rss_base"] = base
    out["rss_peak"] = peak
    out["rss_per_stream"] = (peak - base) / count
    return held_count


async def _slow(adapter: Adapter, job: dict[str, Any], out: dict[str, Any]) -> int:
    samples: list[int] = []

    def sample() -> None:
        samples.append(rss_bytes())

    checksum = await adapter.slow_stream(job["every"], job["pause"], sample)
    samples.append(rss_bytes())
    out["rss_first"] = samples[0]
    out["rss_end"] = samples[-1]
    out["rss_peak"] = max(samples)
    out["rss_growth"] = max(samples) - samples[0]
    out["samples"] = len(samples)
    return checksum


def _operation(adapter: Adapter, kind: str) -> Callable[[], Awaitable[int]]:
    ops: dict[str, Callable[[], Awaitable[int]]] = {
        "chat": adapter.chat,
        "stream": adapter.stream,
        "embed": adapter.embed,
        "native": adapter.native,
    }
    return ops[kind]


async def _measured(adapter: Adapter, job: dict[str, Any], out: dict[str, Any]) -> int:
    kind = job["kind"]
    count = job["count"]
    concurrency = job["concurrency"]
    if kind == "hold":
        return await _hold(adapter, job, out)
    if kind == "slow":
        return await _slow(adapter, job, out)
    if kind == "batch":
        result = await adapter.batch(count, concurrency)
        if result is None:
            out["unavailable"] = True
            return 0
        return result
    return await run_pool(count, concurrency, _operation(adapter, kind))


async def _warm(adapter: Adapter, job: dict[str, Any]) -> bool:
    """Run the untimed warm-up; return False when the operation is not available."""
    kind = job["kind"]
    warm = job.get("warmup", 0)
    if not warm or kind in ("hold", "slow"):
        return True
    if kind == "batch":
        return await adapter.batch(warm, job["concurrency"]) is not None
    await run_pool(warm, job["concurrency"], _operation(adapter, kind))
    return True


async def run_job(adapter: Adapter, job: dict[str, Any]) -> dict[str, Any]:
    """Run one job and return its measurements."""
    out: dict[str, Any] = {"client": adapter.name, "workload": job["workload"]}
    pids = list(job.get("server_pids", ()))
    await adapter.start(job)
    try:
        if not await _warm(adapter, job):
            out["unavailable"] = True
            return out
        gc.collect()
        profiler = None
        if job.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
        s0 = server_cpu_seconds(pids)
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        checksum = await _measured(adapter, job, out)
        if profiler is not None:
            profiler.disable()
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        s1 = server_cpu_seconds(pids)
    finally:
        await adapter.close()
    out["cpu_user"] = r1.ru_utime - r0.ru_utime
    out["cpu_sys"] = r1.ru_stime - r0.ru_stime
    out["cpu"] = out["cpu_user"] + out["cpu_sys"]
    # Wall time is used only for the server's utilisation (CPU seconds per second).
    out["wall"] = t1 - t0
    out["server_cpu"] = s1 - s0
    out["checksum"] = checksum
    out["maxrss_kib"] = r1.ru_maxrss
    if profiler is not None:
        _dump_profile(profiler, job["profile"])
    return out


def _dump_profile(profiler: Any, path: str) -> None:
    import io
    import pstats

    profiler.dump_stats(path + ".prof")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(25)
    with open(path + ".txt", "w") as f:
        f.write(text.getvalue())


def raise_file_limit() -> None:
    """Lift this process's open-file limit to its hard limit (W3 holds 1,000 sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _setup_process(cpu: int | None) -> None:
    if cpu is not None and cpu >= 0:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu})
    raise_file_limit()


def parser() -> argparse.ArgumentParser:
    """The command line every client module accepts (client modules may add options)."""
    p = argparse.ArgumentParser(description="Run benchmark jobs for one client.")
    p.add_argument("--jobs", required=True, help="JSON list of job objects")
    p.add_argument("--cpu", type=int, default=None, help="core to pin this process to")
    p.add_argument("--json", choices=("stdlib", "orjson"), default="orjson")
    p.add_argument("--tweak", help="experiments only: change client settings (see clients)")
    p.add_argument(
        "--sock-read", type=float, default=None, help="the floor only: aiohttp's sock_read timeout"
    )
    return p


def options(**changes: Any) -> argparse.Namespace:
    """An adapter's options as the command line's defaults give them, with ``changes``.

    For tools that run adapters in their own process instead of through :func:`main`.
    """
    values = vars(parser().parse_args(["--jobs", "[]"]))
    values.update(changes)
    return argparse.Namespace(**values)


def main(factory: Callable[[argparse.Namespace], Adapter], argv: list[str] | None = None) -> int:
    """Run the jobs from the command line with the adapter ``factory`` builds.

    Prints one ``RESULT {json}`` line per job; returns 1 when any job failed.
    """
    options = parser().parse_args(argv)
    _setup_process(options.cpu)
    jobs: list[dict[str, Any]] = json.loads(options.jobs)
    adapter = factory(options)
    failed = False
    for job in jobs:
        try:
            result = asyncio.run(run_job(adapter, job))
        except Exception as exc:
            traceback.print_exc()
            failed = True
            result = {
                "client": adapter.name,
                "workload": job["workload"],
                "error": f"{type(exc).__name__}: {exc}",
            }
        print("RESULT " + json.dumps(result), flush=True)
    sys.stdout.flush()
    return 1 if failed else 0
