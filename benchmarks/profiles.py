"""Summarise the cProfile dumps of ``python -m benchmarks --profile``.

``python -m benchmarks.profiles [DIR]`` prints, for each profiled workload, the internal time
per operation grouped by where the code lives (aiohttp, asyncio, json, deepinfra_async's
modules, cattrs-generated code, ...) for the floor and for deepinfra_async side by side, and
the deepinfra_async functions that cost the most per operation. cProfile's own overhead
inflates every call, so read the shares and call counts, not the absolute times.
"""

from __future__ import annotations

import argparse
import pstats
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

__all__ = ["group_of", "main", "summarise"]

_UNITS: Final = {"W1": 5_000, "W2": 50_000, "W6": 300, "W7": 5_000, "W8": 5_000}
_UNIT_NAMES: Final = {"W2": "chunk", "W6": "response", "W7": "call"}


def group_of(filename: str, name: str) -> str:
    """Name the group a profiled function belongs to."""
    if filename.startswith("<cattrs generated") or "/cattrs/" in filename:
        return "cattrs (generated structure hooks)"
    if filename.startswith("<attrs generated") or "/attr/" in filename:
        return "attrs (generated __init__)"
    if "deepinfra_async" in filename:
        tail = filename.split("deepinfra_async/", 1)[-1]
        return "deepinfra_async/" + tail.removesuffix(".py")
    for lib in ("aiohttp", "yarl", "multidict", "asyncio", "json", "orjson"):
        if f"/{lib}/" in filename or filename.startswith(lib):
            return lib
    if "benchmarks/clients" in filename:
        return "benchmark harness"
    if filename == "~":
        if "orjson" in name:
            return "orjson"
        if "socket" in name:
            return "socket syscalls"
        if "json" in name:
            return "json"
        return "builtins"
    if "<string>" in filename:
        return "attrs (generated __init__)"
    return "other: " + Path(filename).name


def _stats(path: Path) -> dict[tuple[str, int, str], Any]:
    stats = pstats.Stats(str(path))
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    return table


def _groups(path: Path) -> tuple[dict[str, float], int]:
    groups: dict[str, float] = defaultdict(float)
    calls = 0
    for (filename, _line, name), (_cc, nc, tt, _ct, _callers) in _stats(path).items():
        groups[group_of(filename, name)] += tt
        calls += nc
    return groups, calls


def summarise(directory: Path, workload: str, client: str = "deepinfra_async") -> str:
    """Render one workload's comparison as Markdown."""
    floor_path = directory / f"floor-{workload}.prof"
    mine_path = directory / f"{client}-{workload}.prof"
    if not floor_path.exists() or not mine_path.exists():
        return f"{workload}: no profile for the floor and {client}\n"
    units = _UNITS.get(workload, 1)
    unit = _UNIT_NAMES.get(workload, "request")
    floor, floor_calls = _groups(floor_path)
    mine, mine_calls = _groups(mine_path)
    floor_total = sum(floor.values())
    mine_total = sum(mine.values())
    lines = [
        f"### {workload}: {client} vs floor (cProfile, {units:,} {unit}s)",
        "",
        f"Function calls per {unit}: floor {floor_calls / units:.0f}, "
        f"{client} {mine_calls / units:.0f}. Profiled time ratio {mine_total / floor_total:.2f}x.",
        "",
        f"| Group | floor µs/{unit} | {client} µs/{unit} | extra |",
        "|---|---|---|---|",
    ]
    names = sorted(set(floor) | set(mine), key=lambda g: -(mine.get(g, 0) - floor.get(g, 0)))
    for name in names:
        a = floor.get(name, 0.0) / units * 1e6
        b = mine.get(name, 0.0) / units * 1e6
        if max(a, b) < 0.5:
            continue
        lines.append(f"| {name} | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
    lines += ["", f"Top {client} functions by internal time:", ""]
    lines += ["| Function | calls/op | µs/op |", "|---|---|---|"]
    own = [
        (tt, nc, filename, line, name)
        for (filename, line, name), (_cc, nc, tt, _ct, _c) in _stats(mine_path).items()
        if group_of(filename, name).startswith(("deepinfra_async", "cattrs", "attrs"))
    ]
    for tt, nc, filename, line, name in sorted(own, reverse=True)[:12]:
        short = filename.split("deepinfra_async/", 1)[-1].removeprefix("<").split(" ")[-1]
        lines.append(f"| `{short}:{line}({name})` | {nc / units:.1f} | {tt / units * 1e6:.1f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the summary of every profiled workload."""
    parser = argparse.ArgumentParser(description=__doc__)
    default = Path(__file__).resolve().parent / ".work" / "profiles"
    parser.add_argument("directory", nargs="?", type=Path, default=default)
    parser.add_argument("--client", default="deepinfra_async")
    args = parser.parse_args(argv)
    for workload in _UNITS:
        sys.stdout.write(summarise(args.directory, workload, args.client) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
