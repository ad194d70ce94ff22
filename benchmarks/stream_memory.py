"""Where an open chat stream's memory goes: ``python -m benchmarks.stream_memory``.

W3 holds many chat streams open at once; this tool explains the per-stream memory of the
raw-aiohttp floor and of deepinfra_async with ``tracemalloc``, each client in a fresh child
process, through the same adapters (``benchmarks/clients``) W3 runs. Two phases:

* held: N streams opened against the benchmark's nginx (``/w3``: canned SSE, 8 KiB at once
  and then 4 KiB about every 4 s) and held after their first event; snapshots before
  opening and 1 s after.
* in flight: N requests sent to a silent asyncio server in the child (it reads each request
  and never answers); the snapshot is taken once all N requests have arrived. Allocations
  made by that server are left out.
* resident: W3 itself (1,000 streams opened at once and held), without tracemalloc, repeated
  in fresh processes with the clients alternating. Each run reads how the growth of the
  resident set splits between the C heap and anonymous mappings (``/proc/self/smaps``),
  what glibc's allocator has in use (``mallinfo2``) and what Python's object allocator holds
  in live objects and in free blocks of the pools it has in use (``sys._debugmallocstats``).

Each allocation is charged to the file of its innermost Python frame (code generated at run
time, such as a dataclass's ``__init__``, to its caller) and grouped by owner (aiohttp, the
standard library, other dependencies, deepinfra_async, the benchmark code), so the part both
clients share shows apart from each client's own. The bytes each client's held streams keep
are also traced back to where they were allocated. The result is written to
``benchmarks/STREAM_MEMORY.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import math
import os
import subprocess
import sys
import sysconfig
import time
import tracemalloc
import types
from asyncio import selector_events
from collections.abc import Callable, Iterable
from pathlib import Path
from statistics import median
from typing import Any, Final, TypedDict

from benchmarks.clients._harness import (
    HOLD_SAMPLE_SECONDS,
    HOLD_SECONDS,
    WARM_STREAMS,
    hold_open,
    raise_file_limit,
)
from benchmarks.clients._harness import options as adapter_options
from benchmarks.server import W3_PACE

ROOT: Final = Path(__file__).resolve().parent.parent
BENCH_DIR: Final = ROOT / "benchmarks"
LIB_DIR: Final = ROOT / "deepinfra_async"
WWW: Final = BENCH_DIR / ".work" / "stream-memory" / "www"
WORK: Final = BENCH_DIR / ".work" / "stream-memory" / "server"
OUTPUT: Final = BENCH_DIR / "STREAM_MEMORY.md"
STDLIB: Final = Path(sysconfig.get_paths()["stdlib"]).resolve()

CLIENTS: Final = ("floor", "deepinfra_async")
PHASES: Final = ("held", "in-flight")
RESIDENT: Final = "resident"
RESIDENT_STREAMS: Final = 1_000  # W3's count
RESIDENT_REPS: Final = 5
SIGNIFICANCE: Final = 0.05  # for telling the clients' W3 figures apart
ADAPTER_FILES: Final = {
    "floor": BENCH_DIR / "clients" / "floor.py",
    "deepinfra_async": BENCH_DIR / "clients" / "deepinfra.py",
}
OWNERS: Final = (
    "aiohttp",
    "asyncio / stdlib",
    "multidict/yarl/other deps",
    "deepinfra_async",
    "benchmark harness",
)
OTHER: Final = "unattributed"
FRAMES: Final = 16  # deep enough to recognise the silent server's accept path in a traceback
TOP_SITES: Final = 12
SETTLE_SECONDS: Final = 0.5
SHARED: Final = ("aiohttp", "asyncio / stdlib", "multidict/yarl/other deps")
OPAQUE: Final = frozenset({"aiohttp", "asyncio", "multidict", "yarl", "propcache", "frozenlist"})
NOT_DATA: Final = (type, types.ModuleType, types.FunctionType, types.CodeType, types.MethodType)


class Site(TypedDict):
    """One allocation site's growth over a phase (totals, not per stream)."""

    site: str
    owner: str
    bytes: int
    objects: int


class Measurement(TypedDict):
    """What one child reports for one client and phase (totals, not per stream)."""

    client: str
    phase: str
    streams: int
    owners: dict[str, list[int]]
    sites: list[Site]
    adapter_bytes: int
    peak_bytes: int | None
    stream_data: dict[str, int] | None


class Resident(TypedDict):
    """One child's W3 run: growth per figure over the run (totals, not per stream).

    ``rss`` is W3's own figure (the peak over the hold minus the resident set before
    opening); the others are read once, at the end of the hold, and are ``None`` where the
    platform does not give them (``mallinfo2`` is glibc's).
    """

    client: str
    streams: int
    rss: int
    heap: int | None
    anonymous: int | None
    malloc_in_use: int | None
    py_allocated: int | None
    py_free: int | None


# -- Attribution ---------------------------------------------------------------------------


def _site_packages_part(path: Path) -> tuple[str, ...] | None:
    """The path's parts after ``site-packages``, or ``None`` outside site-packages."""
    parts = path.parts
    if "site-packages" not in parts:
        return None
    return parts[parts.index("site-packages") + 1 :]


def owner(filename: str) -> str:
    """The owner an allocation made in ``filename`` is charged to."""
    if filename.startswith("<frozen "):
        return "asyncio / stdlib"
    path = Path(filename)
    inside = _site_packages_part(path)
    if inside is not None:
        if inside and inside[0] == "aiohttp":
            return "aiohttp"
        if inside and inside[0] == "deepinfra_async":
            return "deepinfra_async"
        return "multidict/yarl/other deps"
    if path.is_relative_to(LIB_DIR):
        return "deepinfra_async"
    if path.is_relative_to(BENCH_DIR):
        return "benchmark harness"
    if path.is_relative_to(STDLIB):
        return "asyncio / stdlib"
    return OTHER


def display(filename: str) -> str:
    """A short name for ``filename``: relative to site-packages, the stdlib or the repo."""
    path = Path(filename)
    inside = _site_packages_part(path)
    if inside is not None:
        return "/".join(inside)
    for base in (ROOT, STDLIB):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return filename


def _lines(functions: Iterable[Callable[..., Any]]) -> set[tuple[str, int]]:
    """Every (file, line) of the given functions' source."""
    found: set[tuple[str, int]] = set()
    for function in functions:
        source, first = inspect.getsourcelines(function)
        filename = function.__code__.co_filename
        found.update((filename, first + i) for i in range(len(source)))
    return found


def _site(frames: list[tuple[str, int]]) -> tuple[str, int]:
    """The (file, line) an allocation is charged to, from its frames (oldest first).

    That is the innermost frame, unless its code was generated at run time (a namedtuple's
    or a dataclass's methods, named ``<string>``): then the frame that called it.
    """
    for filename, lineno in reversed(frames):
        if not filename.startswith("<") or filename.startswith("<frozen "):
            return filename, lineno
    return frames[-1] if frames else ("<unknown>", 0)


def _group(
    snapshot: tracemalloc.Snapshot,
    skip_files: frozenset[str],
    skip_lines: set[tuple[str, int]],
) -> dict[tuple[str, int], list[int]]:
    """Bytes and block count per innermost (file, line), leaving out skipped tracebacks.

    A traceback is skipped when any of its frames is in ``skip_files`` or on a line of
    ``skip_lines``.
    """
    grouped: dict[tuple[str, int], list[int]] = {}
    for stat in snapshot.statistics("traceback"):
        frames = [(frame.filename, frame.lineno) for frame in stat.traceback]
        if any(f in skip_files or (f, n) in skip_lines for f, n in frames):
            continue
        slot = grouped.setdefault(_site(frames), [0, 0])
        slot[0] += stat.size
        slot[1] += stat.count
    return grouped


def attribute(
    client: str,
    phase: str,
    streams: int,
    before: tracemalloc.Snapshot,
    after: tracemalloc.Snapshot,
    skip_lines: set[tuple[str, int]] | None = None,
    skip_files: Iterable[str] = (),
    peak_bytes: int | None = None,
    stream_data: dict[str, int] | None = None,
) -> Measurement:
    """Compare two snapshots: growth per owner, the top sites and the adapter's share."""
    skipped = frozenset({tracemalloc.__file__, *skip_files})
    lines = skip_lines or set()
    old = _group(before, skipped, lines)
    new = _group(after, skipped, lines)
    owners: dict[str, list[int]] = {name: [0, 0] for name in (*OWNERS, OTHER)}
    sites: list[Site] = []
    adapter = str(ADAPTER_FILES[client])
    adapter_bytes = 0
    for key in old.keys() | new.keys():
        size = new.get(key, [0, 0])[0] - old.get(key, [0, 0])[0]
        count = new.get(key, [0, 0])[1] - old.get(key, [0, 0])[1]
        if not size and not count:
            continue
        filename, lineno = key
        name = owner(filename)
        owners[name][0] += size
        owners[name][1] += count
        if filename == adapter:
            adapter_bytes += size
        sites.append(
            Site(site=f"{display(filename)}:{lineno}", owner=name, bytes=size, objects=count)
        )
    sites.sort(key=lambda s: abs(s["bytes"]), reverse=True)
    return Measurement(
        client=client,
        phase=phase,
        streams=streams,
        owners=owners,
        sites=sites[:TOP_SITES],
        adapter_bytes=adapter_bytes,
        peak_bytes=peak_bytes,
        stream_data=stream_data,
    )


def stream_data(objects: Iterable[object]) -> dict[str, int]:
    """Bytes of data the client's own objects keep, by the owner that allocated them.

    Walks the references from ``objects`` (the held streams) without entering aiohttp's,
    asyncio's or their dependencies' objects, and sums the ``bytes`` and ``bytearray``
    objects it reaches that were allocated while tracemalloc was tracing.
    """
    found: dict[str, int] = {}
    seen: set[int] = set()
    todo = list(objects)
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, bytes | bytearray):
            trace = tracemalloc.get_object_traceback(obj)
            if trace is not None:
                frames = [(frame.filename, frame.lineno) for frame in trace]
                name = owner(_site(frames)[0])
                found[name] = found.get(name, 0) + sys.getsizeof(obj)
            continue
        if isinstance(obj, NOT_DATA):
            continue
        if (type(obj).__module__ or "").partition(".")[0] in OPAQUE:
            continue
        todo.extend(gc.get_referents(obj))
    return found


# -- The child: one client, one phase ------------------------------------------------------


def _adapter(client: str) -> Any:
    """A fresh W3 adapter for ``client``, on the standard library's json."""
    options = adapter_options(json="stdlib")
    if client == "floor":
        from benchmarks.clients.floor import Floor

        return Floor(options)
    from benchmarks.clients.deepinfra import DeepInfraAsync

    return DeepInfraAsync(options)


async def _warm(client: str, base_url: str) -> Any:
    """Start an adapter on ``base_url`` and open and close a few streams through it."""
    adapter = _adapter(client)
    await adapter.start({"base_url": base_url, "kind": "hold"})
    warm = [await adapter.open_stream() for _ in range(WARM_STREAMS)]
    for stream in warm:
        await stream.close()
    return adapter


async def _settle() -> None:
    gc.collect()
    await asyncio.sleep(0.2)


async def held(client: str, base_url: str, streams: int) -> Measurement:
    """Open ``streams`` streams on the benchmark server, hold them, and attribute the growth."""
    adapter = await _warm(client, base_url)
    opened: list[Any] = []
    try:
        await _settle()
        tracemalloc.start(FRAMES)
        before = tracemalloc.take_snapshot()
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()

        async def open_one() -> None:
            opened.append(await adapter.open_stream())

        await asyncio.gather(*(open_one() for _ in range(streams)))
        _, peak = tracemalloc.get_traced_memory()
        await asyncio.sleep(HOLD_SECONDS)
        gc.collect()
        after = tracemalloc.take_snapshot()
        data = stream_data(opened)
        tracemalloc.stop()
        return attribute(
            client, "held", streams, before, after, peak_bytes=peak - start, stream_data=data
        )
    finally:
        tracemalloc.stop()
        await asyncio.gather(*(h.close() for h in opened))
        await adapter.close()


class SilentServer:
    """A server on 127.0.0.1 that reads each request and never answers."""

    def __init__(self) -> None:
        self.requests = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen on a free port and return it."""
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=4096)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            if await reader.read(65536):
                self.requests += 1
            while await reader.read(65536):  # until the client drops the connection
                pass
        except (asyncio.CancelledError, ConnectionError):
            pass  # the run is over: nothing to report
        finally:
            writer.close()

    async def close(self) -> None:
        """Close every connection and the listening socket."""
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @staticmethod
    def own_lines() -> set[tuple[str, int]]:
        """The source lines whose allocations are the server's, not the client's."""
        loop: Any = selector_events.BaseSelectorEventLoop
        return _lines([SilentServer._handle, loop._accept_connection, loop._accept_connection2])


async def in_flight(client: str, base_url: str, streams: int) -> Measurement:
    """Send ``streams`` requests to a silent server and attribute the growth once all wait."""
    warm = await _warm(client, base_url)  # code paths and caches, on the benchmark server
    await warm.close()
    del warm
    silent = SilentServer()
    port = await silent.start()
    adapter = _adapter(client)
    await adapter.start({"base_url": f"http://127.0.0.1:{port}/w3", "kind": "hold"})
    tasks: list[asyncio.Task[Any]] = []
    try:
        await _settle()
        tracemalloc.start(FRAMES)
        before = tracemalloc.take_snapshot()
        tasks.extend(asyncio.create_task(adapter.open_stream()) for _ in range(streams))
        deadline = time.monotonic() + 60
        while silent.requests < streams:
            if time.monotonic() > deadline:
                msg = f"only {silent.requests} of {streams} requests arrived within 60 s"
                raise RuntimeError(msg)
            await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE_SECONDS)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        server_files = [asyncio.streams.__file__]
        return attribute(
            client, "in-flight", streams, before, after, SilentServer.own_lines(), server_files
        )
    finally:
        tracemalloc.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await adapter.close()
        await silent.close()


def _smaps_rss() -> dict[str, int] | None:
    """Resident bytes of the C heap (``[heap]``) and of anonymous mappings, or ``None``."""
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return None
    out = {"heap": 0, "anonymous": 0}
    kind: str | None = None
    for line in lines:
        fields = line.split()
        if not fields:
            continue
        if "-" in fields[0] and not fields[0].endswith(":"):  # a mapping's header line
            name = fields[5] if len(fields) > 5 else ""
            kind = "heap" if name == "[heap]" else "anonymous" if not name else None
        elif fields[0] == "Rss:" and kind is not None:
            out[kind] += int(fields[1]) * 1024
    return out


def _malloc_in_use() -> int | None:
    """Bytes glibc's allocator has handed out and not had back (``mallinfo2``), or ``None``."""
    import ctypes
    import ctypes.util

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                         "fsmblks", "uordblks", "fordblks", "keepcost")
        ]  # fmt: skip

    path = ctypes.util.find_library("c")
    try:
        mallinfo2 = ctypes.CDLL(path).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    in_use: int = info.uordblks + info.hblkhd
    return in_use


def _pymalloc() -> tuple[int, int] | None:
    """Bytes in pymalloc's allocated blocks and in its free blocks of used pools, or ``None``.

    ``sys._debugmallocstats`` writes to the C-level stderr, so file descriptor 2 is pointed
    at a temporary file while it runs.
    """
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read()
    values: dict[str, int] = {}
    for line in text.splitlines():
        for key in ("allocated blocks", "available blocks"):
            if line.startswith(f"# bytes in {key}"):
                values[key] = int(line.partition("=")[2].replace(",", "").strip())
    if len(values) != 2:
        return None
    return values["allocated blocks"], values["available blocks"]


def _allocators() -> dict[str, int | None]:
    smaps = _smaps_rss()
    py = _pymalloc()
    return {
        "heap": None if smaps is None else smaps["heap"],
        "anonymous": None if smaps is None else smaps["anonymous"],
        "malloc_in_use": _malloc_in_use(),
        "py_allocated": None if py is None else py[0],
        "py_free": None if py is None else py[1],
    }


def _growth(after: int | None, before: int | None) -> int | None:
    return None if after is None or before is None else after - before


async def resident(client: str, base_url: str, streams: int) -> Resident:
    """Run W3 as the benchmark does and split the resident set's growth by allocator."""
    adapter = _adapter(client)
    await adapter.start({"base_url": base_url, "kind": "hold"})
    figures: dict[str, dict[str, int | None]] = {}

    def mark(moment: str) -> None:
        figures[moment] = _allocators()

    try:
        base, peak, _ = await hold_open(adapter, streams, HOLD_SECONDS, mark)
    finally:
        await adapter.close()
    before, after = figures["before"], figures["held"]
    return Resident(
        client=client,
        streams=streams,
        rss=peak - base,
        heap=_growth(after["heap"], before["heap"]),
        anonymous=_growth(after["anonymous"], before["anonymous"]),
        malloc_in_use=_growth(after["malloc_in_use"], before["malloc_in_use"]),
        py_allocated=_growth(after["py_allocated"], before["py_allocated"]),
        py_free=_growth(after["py_free"], before["py_free"]),
    )


def child(client: str, phase: str, base_url: str, streams: int) -> None:
    """Measure one client in one phase and print the result as one JSON line."""
    raise_file_limit()
    if phase == RESIDENT:
        print(json.dumps(asyncio.run(resident(client, base_url, streams))), flush=True)
        return
    measure = held if phase == "held" else in_flight
    result = asyncio.run(measure(client, base_url, streams))
    print(json.dumps(result), flush=True)


# -- The parent: the server, the children, the report --------------------------------------


def _run_child(client: str, phase: str, base_url: str, streams: int) -> Any:
    """Run one child; returns the JSON result it printed (a Measurement or a Resident)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.stream_memory", "--child", client,
         "--phase", phase, "--base-url", base_url, "--streams", str(streams)],
        capture_output=True, text=True, check=False, timeout=600, cwd=ROOT,
    )  # fmt: skip
    if done.stderr:
        sys.stderr.write(done.stderr)
    if done.returncode != 0:
        msg = f"the {client} child ({phase}) exited with status {done.returncode}"
        raise RuntimeError(msg)
    return json.loads(done.stdout.strip().splitlines()[-1])


class Results(TypedDict):
    """Everything one run of the tool measured."""

    traced: dict[tuple[str, str], Measurement]
    resident: dict[str, list[Resident]]


def run(
    streams: int, server_kind: str, resident_streams: int, resident_reps: int
) -> tuple[Results, str]:
    """Start the benchmark server, measure every client in every phase; name the server."""
    from benchmarks import canned, server

    canned.build(WWW, big_stream_bytes=1 << 20)
    srv = server.start_server(server_kind, WWW, WORK, None)
    traced: dict[tuple[str, str], Measurement] = {}
    runs: dict[str, list[Resident]] = {client: [] for client in CLIENTS}
    try:
        for phase in PHASES:
            for client in CLIENTS:
                result: Measurement = _run_child(client, phase, srv.url("w3"), streams)
                traced[phase, client] = result
                total = sum(v[0] for v in result["owners"].values()) / streams
                print(f"{phase} {client}: {total:,.0f} B/stream", file=sys.stderr, flush=True)
        for rep in range(resident_reps):
            for client in CLIENTS:  # alternating, as the benchmark runs its clients
                one: Resident = _run_child(client, RESIDENT, srv.url("w3"), resident_streams)
                runs[client].append(one)
                print(
                    f"{RESIDENT} {rep} {client}: {one['rss'] / resident_streams / 1024:.1f} "
                    "KiB/stream",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        srv.stop()
    return Results(traced=traced, resident=runs), srv.version or srv.name


def _per(value: float, streams: int) -> float:
    return value / streams


def _bytes(value: float) -> str:
    return f"{value:,.0f}"


def _signed(value: float) -> str:
    return f"{value:+,.0f}"


def owner_table(floor: Measurement, lib: Measurement) -> str:
    """The per-owner table of one phase: bytes (objects) per stream, and the difference."""
    n = floor["streams"]
    names = [
        name
        for name in (*OWNERS, OTHER)
        if name in OWNERS or floor["owners"][name][0] or lib["owners"][name][0]
    ]
    rows = [
        "| owner | floor B/stream | deepinfra_async B/stream | difference |",
        "|---|---:|---:|---:|",
    ]
    for name in [*names, None]:
        if name is None:
            a = [sum(floor["owners"][k][i] for k in names) for i in (0, 1)]
            b = [sum(lib["owners"][k][i] for k in names) for i in (0, 1)]
            label = "**total**"
        else:
            a, b = floor["owners"][name], lib["owners"][name]
            label = name
        rows.append(
            f"| {label} | {_bytes(_per(a[0], n))} ({_per(a[1], n):.1f}) "
            f"| {_bytes(_per(b[0], n))} ({_per(b[1], n):.1f}) "
            f"| {_signed(_per(b[0] - a[0], n))} ({_per(b[1] - a[1], n):+.1f}) |"
        )
    return "\n".join(rows)


def site_table(result: Measurement) -> str:
    """The top allocation sites of one client in one phase."""
    n = result["streams"]
    rows = [
        f"{result['client']}:",
        "",
        "| site | owner | B/stream | objects/stream |",
        "|---|---|---:|---:|",
    ]
    rows.extend(
        f"| `{s['site']}` | {s['owner']} | {_per(s['bytes'], n):,.1f} "
        f"| {_per(s['objects'], n):.2f} |"
        for s in result["sites"]
    )
    return "\n".join(rows)


def _total(result: Measurement) -> float:
    return sum(v[0] for v in result["owners"].values()) / result["streams"]


def _owner(result: Measurement, name: str) -> float:
    return result["owners"][name][0] / result["streams"]


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _data_owners(data: dict[str, int], streams: int) -> str:
    """Name the owners that allocated a client's kept bytes, largest first."""
    total = sum(data.values())
    named = [(size, name) for name, size in data.items() if total and size >= 0.1 * total and size]
    named.sort(reverse=True)
    if len(named) == 1:
        return named[0][1]
    return _join([f"{name} ({_bytes(size / streams)} B)" for size, name in named]) or "no"


RESIDENT_FIGURES: Final = (
    ("rss", "resident set (W3's figure: peak over the hold)"),
    ("heap", "C heap resident (`[heap]` in smaps)"),
    ("anonymous", "anonymous mappings resident (pymalloc's arenas, large blocks)"),
    ("malloc_in_use", "glibc allocator in use (`mallinfo2`)"),
    ("py_allocated", "pymalloc: live objects (allocated blocks)"),
    ("py_free", "pymalloc: free blocks in pools in use"),
)


def _per_stream(runs: list[Resident], key: str) -> list[float]:
    values: list[float] = []
    for one in runs:
        value = one[key]  # type: ignore[literal-required]
        if value is not None:
            values.append(value / one["streams"])
    return values


def _both(runs: dict[str, list[Resident]], key: str) -> tuple[list[float], list[float]]:
    """``key`` per stream over the runs: the floor's, then deepinfra_async's."""
    return _per_stream(runs["floor"], key), _per_stream(runs["deepinfra_async"], key)


def resident_table(runs: dict[str, list[Resident]]) -> str:
    """Per figure: each client's median [range] per stream, and the medians' difference."""
    rows = [
        "| figure (growth per stream) | floor B | deepinfra_async B | difference of medians |",
        "|---|---:|---:|---:|",
    ]
    for key, label in RESIDENT_FIGURES:
        floor, lib = _both(runs, key)
        if not floor or not lib:
            rows.append(f"| {label} | n/a | n/a | n/a |")
            continue
        cells = [
            f"{_bytes(median(v))} [{_bytes(min(v))} to {_bytes(max(v))}]" for v in (floor, lib)
        ]
        rows.append(
            f"| {label} | {cells[0]} | {cells[1]} | {_signed(median(lib) - median(floor))} |"
        )
    return "\n".join(rows)


def below_share(lib: list[float], floor: list[float]) -> tuple[float, float]:
    """How often a deepinfra_async run is below a floor run, and how likely that is by chance.

    Returns the share of the (deepinfra_async, floor) pairs of runs in which deepinfra_async's
    value is the lower (ties count half: the Mann-Whitney U statistic over the number of
    pairs), and the one-sided p-value of that U under "neither client tends lower"
    (normal approximation, without a tie correction; rough below about 8 runs per client).
    """
    pairs = len(lib) * len(floor)
    u = sum(1.0 if a < b else 0.5 if a == b else 0.0 for a in lib for b in floor)
    spread = math.sqrt(pairs * (len(lib) + len(floor) + 1) / 12)
    z = (u - pairs / 2) / spread  # above 0 when deepinfra_async tends lower
    return u / pairs, 0.5 * math.erfc(z / math.sqrt(2))


def _more_or_less(value: float) -> str:
    return f"{_bytes(abs(value))} B {'more' if value > 0 else 'less'}"


def explain_resident(runs: dict[str, list[Resident]], kept: tuple[float, float] | None) -> str:
    """What the resident-set runs show, from their values.

    ``kept`` is the bytes received from the server that a held stream keeps, per stream, for
    the floor and deepinfra_async, from the traced phase.
    """

    def diff(key: str) -> float | None:
        floor, lib = _both(runs, key)
        return median(lib) - median(floor) if floor and lib else None

    rss_f, rss_l = _both(runs, "rss")
    sentences = [
        f"Over {len(rss_f)} runs per client, W3's figure is {_bytes(median(rss_f))} B per "
        f"stream for the floor and {_bytes(median(rss_l))} B for deepinfra_async (medians; "
        f"{median(rss_l) / median(rss_f):.3f}x). Between runs of the same client it spreads "
        f"over {_bytes(max(rss_f) - min(rss_f))} B (floor) and "
        f"{_bytes(max(rss_l) - min(rss_l))} B (deepinfra_async) per stream."
    ]
    share, p = below_share(rss_l, rss_f)
    if p < SIGNIFICANCE:
        verdict = "deepinfra_async's figure tends to be the lower"
    elif 1 - p < SIGNIFICANCE:
        verdict = "deepinfra_async's figure tends to be the higher"
    else:
        verdict = "the two cannot be told apart"
    sentences.append(
        f"In {share:.0%} of the {len(rss_l) * len(rss_f):,} pairs of one run of each, "
        f"deepinfra_async's figure is the lower (Mann-Whitney, one-sided p = {p:.2f}): at "
        f"the {SIGNIFICANCE:.0%} level, {verdict}."
    )
    live, free, malloc = diff("py_allocated"), diff("py_free"), diff("malloc_in_use")
    if live is not None and free is not None:
        sentences.append(
            f"deepinfra_async's live Python objects take {_more_or_less(live)} per stream than "
            "the floor's, while the free blocks left in the pools Python's allocator has in "
            "use (memory freed after it was allocated, which stays resident until a whole "
            f"pool is empty) come to {_more_or_less(free)}."
        )
    if malloc is not None:
        sentence = f"glibc's allocator has {_more_or_less(malloc)} in use per stream"
        if kept is not None:
            sentence += (
                "; the bytes received from the server that a held stream keeps differ by "
                f"{_signed(kept[1] - kept[0])} B (traced above: the floor keeps a copy of "
                "the rest of its first read, deepinfra_async the read itself)"
            )
        sentences.append(sentence + ".")
    return " ".join(sentences)


def explain(results: dict[tuple[str, str], Measurement]) -> str:
    """A few sentences, built from the measured values, on what the tables show."""
    held_f, held_l = results["held", "floor"], results["held", "deepinfra_async"]
    fly_f, fly_l = results["in-flight", "floor"], results["in-flight", "deepinfra_async"]
    n = held_f["streams"]

    def shared(result: Measurement) -> float:
        return sum(_owner(result, name) for name in SHARED)

    def objects(result: Measurement, name: str) -> float:
        return result["owners"][name][1] / result["streams"]

    sentences = [
        "With a request in flight and no response yet, the rows both clients share (aiohttp, "
        f"asyncio / stdlib, other deps) come to {_bytes(shared(fly_f))} B per stream for the "
        f"floor and {_bytes(shared(fly_l))} B for deepinfra_async "
        f"({shared(fly_l) / shared(fly_f) - 1:+.1%}), aiohttp alone to "
        f"{_bytes(_owner(fly_f, 'aiohttp'))} B and {_bytes(_owner(fly_l, 'aiohttp'))} B.",
        "deepinfra_async's own code allocates "
        f"{_bytes(_owner(fly_l, 'deepinfra_async'))} B "
        f"({objects(fly_l, 'deepinfra_async'):.0f} objects) per request in flight and "
        f"{_bytes(_owner(held_l, 'deepinfra_async'))} B "
        f"({objects(held_l, 'deepinfra_async'):.0f} objects) per held stream; the floor has "
        "no library code, only its adapter (benchmarks/clients/floor.py, "
        f"{_bytes(fly_f['adapter_bytes'] / fly_f['streams'])} B in flight and "
        f"{_bytes(held_f['adapter_bytes'] / n)} B held).",
    ]
    data_f, data_l = held_f["stream_data"], held_l["stream_data"]
    if data_f is not None and data_l is not None:
        sentences.append(
            "A held stream's own objects also keep bytes received from the server: "
            f"{_bytes(sum(data_f.values()) / n)} B per stream for the floor, allocated in "
            f"{_data_owners(data_f, n)} code, and {_bytes(sum(data_l.values()) / n)} B for "
            f"deepinfra_async, allocated in {_data_owners(data_l, n)} code, which is why the "
            "held table's aiohttp and benchmark harness rows move by "
            f"{_signed(_owner(held_l, 'aiohttp') - _owner(held_f, 'aiohttp'))} B and "
            f"{_signed(_owner(held_l, 'benchmark harness') - _owner(held_f, 'benchmark harness'))}"
            " B between the clients."
        )
    held_diff = _total(held_l) - _total(held_f)
    sentences.append(
        f"In total deepinfra_async traces {_bytes(_total(held_l))} B per held stream against "
        f"the floor's {_bytes(_total(held_f))} B ({_total(held_l) / _total(held_f):.2f}x, "
        f"{_signed(held_diff)} B, of which {_bytes(_owner(held_l, 'deepinfra_async'))} B are "
        f"allocated in deepinfra_async), and {_bytes(_total(fly_l))} B against "
        f"{_bytes(_total(fly_f))} B per request in flight "
        f"({_total(fly_l) / _total(fly_f):.2f}x)."
    )
    if held_f["peak_bytes"] and held_l["peak_bytes"]:
        peak_f = held_f["peak_bytes"] / n
        peak_l = held_l["peak_bytes"] / n
        sentences.append(
            f"While the streams open, traced memory peaks at {_bytes(peak_f)} B per stream "
            f"for the floor and {_bytes(peak_l)} B for deepinfra_async "
            f"({peak_l / peak_f:.2f}x); tracemalloc counts only memory allocated through "
            "Python's allocators, so W3's RSS also carries allocator overhead and memory "
            "that C code allocates with malloc."
        )
    return " ".join(sentences)


def render(everything: Results, streams: int, server_name: str, command: str) -> str:
    """The whole Markdown report."""
    import aiohttp

    results = everything["traced"]
    runs = everything["resident"]
    held_f, held_l = results["held", "floor"], results["held", "deepinfra_async"]
    fly_f, fly_l = results["in-flight", "floor"], results["in-flight", "deepinfra_async"]
    parts = [
        "# Where an open chat stream's memory goes",
        "",
        f"`{command}`, {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, "
        f"aiohttp {aiohttp.__version__}, {server_name}. N = {streams:,} streams per client "
        "and phase; each client runs in a fresh process through its W3 adapter "
        "(`benchmarks/clients`, standard-library json), after opening and closing "
        f"{WARM_STREAMS} streams to warm it up. tracemalloc ({FRAMES} frames) compares a "
        "snapshot before with one after; each allocation is charged to the file of its "
        "innermost Python frame, so memory allocated inside C code (aiohttp's compiled "
        "parser, the event loop's C parts) counts against the Python line that called it, "
        "and code generated at run time (a dataclass's or namedtuple's methods) against its "
        "caller.",
        "",
        "Cells are bytes per stream, with allocated blocks (objects) per stream in brackets. "
        "Owners: aiohttp; asyncio / stdlib is anything in the standard library (asyncio, "
        "socket, selectors, weakref ...); multidict/yarl/other deps is the rest of "
        "site-packages; deepinfra_async is the library; benchmark harness is `benchmarks/` "
        "(the adapters and this tool).",
        "",
        "## Held streams",
        "",
        f"{streams:,} streams opened at once against the benchmark's {server_name} (`/w3`: "
        f"canned SSE, {W3_PACE}) and held after their first event, as W3 does; the second "
        f"snapshot is {HOLD_SECONDS:.0f} s after the last one opened.",
        "",
        owner_table(held_f, held_l),
        "",
    ]
    if held_f["peak_bytes"] is not None and held_l["peak_bytes"] is not None:
        parts += [
            "Peak traced memory while opening: floor "
            f"{_bytes(held_f['peak_bytes'] / streams)} B/stream, deepinfra_async "
            f"{_bytes(held_l['peak_bytes'] / streams)} B/stream.",
            "",
        ]
    if held_f["stream_data"] is not None and held_l["stream_data"] is not None:
        parts += [
            "Bytes received from the server that the held-stream objects of each client keep "
            "(bytes and bytearray objects reachable from them without passing through "
            "aiohttp's or asyncio's objects), by where they were allocated: floor "
            f"{_bytes(sum(held_f['stream_data'].values()) / streams)} B/stream "
            f"({_data_owners(held_f['stream_data'], streams)}), deepinfra_async "
            f"{_bytes(sum(held_l['stream_data'].values()) / streams)} B/stream "
            f"({_data_owners(held_l['stream_data'], streams)}).",
            "",
        ]
    parts += [
        "## Requests in flight",
        "",
        f"{streams:,} requests sent to a silent asyncio server in the same process (it reads "
        "each request and never answers); the second snapshot is taken "
        f"{SETTLE_SECONDS} s after all of them have arrived. The server's allocations "
        "(`asyncio/streams.py`, its accepted sockets and transports, its handler) are left "
        "out.",
        "",
        owner_table(fly_f, fly_l),
        "",
        "## Top allocation sites",
        "",
        f"The {TOP_SITES} largest sites per client and phase (file:line of the innermost frame).",
        "",
        "### Held streams",
        "",
        site_table(held_f),
        "",
        site_table(held_l),
        "",
        "### Requests in flight",
        "",
        site_table(fly_f),
        "",
        site_table(fly_l),
        "",
        "## What the numbers say",
        "",
        explain(results),
        "",
    ]
    if runs["floor"] and runs["deepinfra_async"]:
        count = runs["floor"][0]["streams"]
        data_f, data_l = held_f["stream_data"], held_l["stream_data"]
        kept = None
        if data_f is not None and data_l is not None:
            kept = (sum(data_f.values()) / streams, sum(data_l.values()) / streams)
        parts += [
            "## Resident memory, by allocator",
            "",
            f"W3 itself, without tracemalloc: {count:,} streams opened at once and held for "
            f"{HOLD_SECONDS:.0f} s, the resident set sampled every {HOLD_SAMPLE_SECONDS} s as W3 "
            f"samples it, in {len(runs['floor'])} fresh processes per client with the "
            "clients alternating. The other figures are read at the end of the hold. Cells "
            "are the median growth per stream, with the range over the runs in brackets.",
            "",
            resident_table(runs),
            "",
            explain_resident(runs, kept),
            "",
        ]
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=300, help="streams per client and phase")
    parser.add_argument(
        "--server", choices=("auto", "nginx", "python"), default="auto", help="W3's server"
    )
    parser.add_argument(
        "--resident-streams",
        type=int,
        default=RESIDENT_STREAMS,
        help="streams per resident-set run (W3's count by default)",
    )
    parser.add_argument(
        "--resident-reps", type=int, default=RESIDENT_REPS, help="resident-set runs per client"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the Markdown report")
    parser.add_argument("--child", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument(
        "--phase", choices=(*PHASES, RESIDENT), default="held", help=argparse.SUPPRESS
    )
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.phase, args.base_url, args.streams)
        return 0
    results, server_name = run(args.streams, args.server, args.resident_streams, args.resident_reps)
    command = "python -m benchmarks.stream_memory"
    if args.streams != 300:
        command += f" --streams {args.streams}"
    if args.resident_streams != RESIDENT_STREAMS:
        command += f" --resident-streams {args.resident_streams}"
    if args.resident_reps != RESIDENT_REPS:
        command += f" --resident-reps {args.resident_reps}"
    report = render(results, args.streams, server_name, command)
    args.output.write_text(report)
    traced = results["traced"]
    for phase in PHASES:
        print(f"{phase}:")
        print(owner_table(traced[phase, "floor"], traced[phase, "deepinfra_async"]))
    if results["resident"]["floor"]:
        print(f"{RESIDENT}:")
        print(resident_table(results["resident"]))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
