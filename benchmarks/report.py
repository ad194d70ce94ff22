"""Turn a run's measurements into medians, ratios to the floor, and a Markdown report."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .clients._harness import HOLD_SECONDS
from .runner import Options, Run
from .server import W3_PACE
from .spec import CLIENTS, WORKLOADS, Client, Workload

__all__ = [
    "Cell", "Saved", "Verdict", "cells", "load_raw", "machine", "main", "markdown", "save_raw",
    "verdicts", "versions",
]  # fmt: skip

_PACKAGES: Final = (
    "deepinfra-async", "aiohttp", "attrs", "cattrs", "yarl", "multidict", "orjson", "openai",
    "httpx2", "httpx", "httpcore2", "pydantic", "pydantic-core", "jiter",
)  # fmt: skip


@dataclass
class Cell:
    """One client on one workload: the median metric, its ratio to the floor, the spread.

    ``by_rep`` holds the metric of each repetition and ``paired`` the ratio of each to the
    floor's repetition of the same round.
    """

    value: float | None
    ratio: float | None
    ok: bool
    unavailable: bool = False
    by_rep: dict[int, float] = field(default_factory=dict)
    paired: dict[int, float] = field(default_factory=dict)

    @property
    def reps(self) -> int:
        """How many repetitions measured something."""
        return len(self.by_rep)

    @property
    def low(self) -> float | None:
        """The lowest per-repetition ratio to the floor."""
        return min(self.paired.values()) if self.paired else None

    @property
    def high(self) -> float | None:
        """The highest per-repetition ratio to the floor."""
        return max(self.paired.values()) if self.paired else None


def _paired(values: dict[int, float], base: dict[int, float]) -> dict[int, float]:
    """Each repetition's value over ``base``'s value in the same round, where both exist."""
    return {r: v / base[r] for r, v in sorted(values.items()) if base.get(r)}


@dataclass(frozen=True)
class Verdict:
    """One target: the median measured against it, and how many repetitions meet it alone.

    ``met`` is ``None`` when the run has nothing to judge by; ``held`` counts the
    repetitions that meet the target by themselves, out of ``of``.
    """

    target: str
    measured: str
    met: bool | None
    held: int = 0
    of: int = 0


def _metric(workload: Workload, record: dict[str, Any], field: str = "cpu") -> float | None:
    if not record.get("ok") or record.get("unavailable"):
        return None
    if workload.metric == "cpu":
        return float(record[field]) / max(int(record["units"]), 1)
    if workload.metric == "rss_per_stream":
        return float(record["rss_per_stream"])
    if workload.metric == "rss_growth":
        return float(record["rss_growth"])
    return float(record["cpu"])


def cells(run: Run, field: str = "cpu") -> dict[tuple[str, str], Cell]:
    """Medians per (workload, client), with ratios to the floor's median in the same run.

    ``field`` picks the CPU measure of the CPU workloads: ``"cpu"`` (user + sys) or
    ``"cpu_user"``; with ``"cpu_user"`` only those workloads are included.
    """
    out: dict[tuple[str, str], Cell] = {}
    for workload in run.options.workloads:
        if field != "cpu" and workload.metric != "cpu":
            continue
        per_client: dict[str, dict[int, float]] = {}
        flags: dict[str, tuple[bool, bool]] = {}
        for record in run.results:
            if record["workload"] != workload.key:
                continue
            key = record["client"]
            value = _metric(workload, record, field)
            ok, unavailable = flags.get(key, (True, False))
            flags[key] = (
                ok and bool(record.get("ok")),
                unavailable or bool(record.get("unavailable")),
            )
            if value is not None:
                per_client.setdefault(key, {})[record["rep"]] = value
        floor = per_client.get("floor", {})
        floor_median = statistics.median(floor.values()) if floor else None
        for key, (ok, unavailable) in flags.items():
            values = per_client.get(key, {})
            median = statistics.median(values.values()) if values else None
            ratio = None
            paired: dict[int, float] = {}
            if median is not None and floor_median:
                ratio = median / floor_median
                paired = _paired(values, floor)
            out[(workload.key, key)] = Cell(
                median, ratio, ok, unavailable and not values, dict(sorted(values.items())), paired
            )
    return out


def _server_use(run: Run, workload: Workload) -> tuple[float, float] | None:
    uses = [
        r["server_cpu"] / r["wall"]
        for r in run.results
        if r["workload"] == workload.key and r.get("wall") and "server_cpu" in r
    ]
    if not uses:
        return None
    return statistics.median(uses), max(uses)


def _fmt_value(workload: Workload, value: float) -> str:
    if workload.metric == "cpu":
        micro = value * 1e6
        digits = 1 if micro < 100 else 0
        return f"{micro:,.{digits}f} µs/{workload.unit}"
    if workload.metric == "rss_per_stream":
        return f"{value / 1024:,.1f} KiB/stream"
    if workload.metric == "rss_growth":
        return f"{value / 2**20:,.2f} MiB"
    return f"{value * 1000:,.0f} ms"


def _fmt_cell(workload: Workload, client: Client, cell: Cell | None) -> str:
    if cell is None:
        return "n/a" if workload.kind == "batch" and client.key.startswith("openai") else "-"
    if cell.unavailable:
        return "not available"
    if not cell.ok and cell.value is None:
        return "FAILED"
    if cell.value is None:
        return "-"
    flag = "" if cell.ok else " (some reps failed)"
    if workload.metric == "rss_growth":
        text = _fmt_value(workload, cell.value)
        if cell.ratio is not None and client.key != "floor":
            text += f" ({cell.ratio:.2f}x)"
        return text + flag
    if client.key == "floor":
        return f"1.00x = {_fmt_value(workload, cell.value)}{flag}"
    if cell.ratio is None:
        return _fmt_value(workload, cell.value) + flag
    spread = ""
    if cell.low is not None and cell.high is not None and cell.reps > 1:
        spread = f" [{cell.low:.2f}-{cell.high:.2f}]"
    return f"{cell.ratio:.2f}x{spread}{flag}"


def _judged(
    target: str,
    measured: float | None,
    shown: str,
    limit: float,
    reps: Iterable[float],
    *,
    strict: bool = False,
) -> Verdict:
    """A verdict on ``measured <= limit`` (``<`` when ``strict``), and on each repetition.

    ``shown`` formats the measured value (``str.format``); the limit is in its units.
    """
    if measured is None:
        return Verdict(target, "-", None)

    def meets(x: float) -> bool:
        return x < limit if strict else x <= limit

    each = [meets(x) for x in reps]
    return Verdict(target, shown.format(measured), meets(measured), sum(each), len(each))


def verdicts(run: Run, table: dict[tuple[str, str], Cell]) -> list[Verdict]:
    """Check deepinfra_async against the issue's targets, by median and per repetition.

    A repetition's ratio pairs the client's run with the floor's run of the same round.
    """
    out: list[Verdict] = []
    keys = {w.key: w for w in run.options.workloads}

    def ratio_target(
        target: str, w: str, client: str, limit: float, *, strict: bool = False
    ) -> Verdict:
        cell = table.get((w, client))
        r = None if cell is None else cell.ratio
        reps = () if cell is None else cell.paired.values()
        return _judged(target, r, "{:.2f}x", limit, reps, strict=strict)

    for key, limit in (("W1", 1.2), ("W2", 1.6), ("W6", 1.3), ("W7", 1.2), ("W8", 1.3)):
        if key not in keys:
            continue
        cell = table.get((key, "deepinfra_async"))
        if key == "W8" and cell is not None and cell.ratio is None:
            out.append(Verdict(f"W8 <= {limit}x floor's W1 CPU per request", "not available", None))
            continue
        label = f"{key} <= {limit}x floor"
        if key == "W8":
            label = "W8 <= 1.3x floor's W1 CPU per request"
        out.append(ratio_target(label, key, "deepinfra_async", limit))
    if "W3" in keys:
        out.append(ratio_target("W3 RSS per open stream <= floor", "W3", "deepinfra_async", 1.0))
    if "W4" in keys:
        cell = table.get(("W4", "deepinfra_async"))
        v = None if cell is None else cell.value
        mib = None if v is None else v / 2**20
        reps = () if cell is None else [x / 2**20 for x in cell.by_rep.values()]
        out.append(_judged("W4 RSS growth <= 8 MiB", mib, "{:.2f} MiB", 8.0, reps))
    if "W5" in keys:
        out.append(ratio_target("W5 import <= 1.5x `import aiohttp`", "W5", "deepinfra_async", 1.5))
        mine = table.get(("W5", "deepinfra_async"))
        theirs = table.get(("W5", "openai"))
        if mine is not None and theirs is not None and mine.value and theirs.value:
            share = mine.value / theirs.value
            each = _paired(mine.by_rep, theirs.by_rep).values()
            label = "W5 import below `import openai`"
            out.append(_judged(label, share, "{:.2f}x openai's", 1.0, each, strict=True))
    for key in ("W1", "W6"):
        cell = table.get((key, "deepinfra_async+orjson"))
        if key in keys and cell is not None and cell.ratio is not None:
            label = f"{key} with orjson (speedups) beats the floor"
            out.append(ratio_target(label, key, "deepinfra_async+orjson", 1.0, strict=True))
    return out


_REFERENCE: Final = "floor+read"


def _read_timeout_share(run: Run, table: dict[tuple[str, str], Cell]) -> list[str]:
    """The section that compares against the floor with deepinfra_async's read timeout."""
    rows = []
    for workload in run.options.workloads:
        reference = table.get((workload.key, _REFERENCE))
        if reference is None or reference.value is None:
            continue
        row = [f"{reference.ratio:.2f}x" if reference.ratio is not None else "-"]
        for key in ("deepinfra_async", "deepinfra_async+orjson"):
            cell = table.get((workload.key, key))
            if cell is None or cell.value is None:
                row.append("-")
            else:
                row.append(f"{cell.value / reference.value:.2f}x")
        rows.append(f"| {workload.key} | " + " | ".join(row) + " |")
    if not rows:
        return []
    return [
        "",
        "## The read timeout's share",
        "",
        "The floor enforces no idle-read timeout. deepinfra_async enforces `Timeout.read` (120 s"
        " by default: the longest silence allowed between two reads) and `Timeout.total` with"
        " one watchdog timer per client. `floor + read timeout` is the floor with aiohttp's"
        " `sock_read=120`, which re-arms a timer when the request is sent and on every socket"
        " read: what enforcing the same timeout per request costs. A reference, not a target.",
        "",
        "| Workload | floor + read timeout vs floor | deepinfra_async vs floor + read timeout"
        " | deepinfra_async + orjson vs floor + read timeout |",
        "|---|---|---|---|",
        *rows,
    ]


def versions() -> dict[str, str]:
    """Installed versions of the measured packages."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def machine() -> dict[str, str]:
    """The CPU model, core count, kernel and memory."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "kernel": f"{platform.system()} {platform.release()}",
        "memory": memory,
    }


def markdown(
    run: Run,
    skipped: list[str],
    *,
    packages: dict[str, str] | None = None,
    host: dict[str, str] | None = None,
) -> str:
    """Render the report.

    ``packages`` and ``host`` describe where the run took place (by default: here, now, as
    :func:`versions` and :func:`machine` find them).
    """
    table = cells(run)
    clients = run.options.clients
    when = datetime.datetime.fromtimestamp(run.started, datetime.UTC)
    lines = [
        "# Benchmark results",
        "",
        f"Run on {when:%Y-%m-%d %H:%M} UTC with `python -m benchmarks"
        f" --reps {run.options.reps}`. Each cell is the median over the repetitions of the CPU"
        " time (user + sys) of a fresh client process, as a ratio to the raw-aiohttp floor"
        " measured in the same run; `[low-high]` is the range of the per-repetition ratios."
        " The floor's own cell shows its median CPU time per operation for scale. W3 and W4"
        " report memory, W5 the CPU time of the import statement. No wall times.",
        "",
    ]
    header = ["Workload", *(c.label for c in clients), "Target (deepinfra_async)", "Server CPU"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for workload in run.options.workloads:
        row = [f"{workload.key} {workload.title}"]
        row += [_fmt_cell(workload, c, table.get((workload.key, c.key))) for c in clients]
        row.append(workload.target_text)
        use = _server_use(run, workload)
        row.append("-" if use is None else f"{100 * use[0]:.0f}% (max {100 * use[1]:.0f}%)")
        lines.append("| " + " | ".join(row) + " |")
    w8 = table.get(("W8", "deepinfra_async"))
    w1 = table.get(("W1", "deepinfra_async"))
    if w8 is not None and w1 is not None and w8.value and w1.value:
        lines += [
            "",
            f"W8 against deepinfra_async's own W1: {w8.value / w1.value:.2f}x CPU per request.",
        ]
    user = cells(run, "cpu_user")
    if user:
        lines += [
            "",
            "User CPU time only (kernel time, mostly socket calls, varies between runs with how"
            " many responses each event-loop pass collects):",
            "",
            "| Workload | " + " | ".join(c.label for c in clients) + " |",
            "|" + "---|" * (len(clients) + 1),
        ]
        for workload in run.options.workloads:
            if workload.metric != "cpu":
                continue
            row = [workload.key]
            row += [_fmt_cell(workload, c, user.get((workload.key, c.key))) for c in clients]
            lines.append("| " + " | ".join(row) + " |")
    lines += _targets(verdicts(run, table), run.options.reps)
    lines += _read_timeout_share(run, table)
    info = machine() if host is None else host
    vers = versions() if packages is None else packages
    lines += [
        "",
        "## Setup",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['kernel']}"
        " (shared with other work; only ratios measured in one run are meaningful).",
        f"- Server: {run.server_version or run.server_name}, one worker, keep-alive, serving"
        " canned DeepInfra-shaped bodies from files (`benchmarks/canned.py`). Server CPU is its"
        " CPU time over the client's measured span divided by that span (100% = one core).",
        (
            f"- Pinning: server on core {run.pinned[0]}, each client process on core"
            f" {run.pinned[1]}."
            if run.pinned
            else "- Pinning: none (fewer than two cores available)."
        ),
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".",
        f"- deepinfra_async measured: last commit touching it {run.revision_start}.",
        "- Clients: `floor + read timeout` is the floor with aiohttp's `sock_read=120` (see"
        " above). `deepinfra_async` runs with orjson hidden (standard-library `json`, the plain"
        " install); `deepinfra_async + orjson` is the `speedups` extra. Both use the library's"
        " defaults, except W3, which lifts the pool (256) and per-model (200) limits so that"
        " 1,000 streams can be open at once. The OpenAI SDK has no native-endpoint method, so"
        " its W7 uses the generic `client.post(..., cast_to=object)`; it has no batch runner"
        ' (W8 n/a). Its W6 asks for `encoding_format="float"`.',
        "- Method: for each workload, the clients run in turn (A B C A B C ...), each in a fresh"
        " process, after an untimed warm-up that opens the connections. CPU time comes from"
        " `getrusage(RUSAGE_SELF)` around the workload only. W2 decodes each chunk into the"
        " client's typed object (the floor: `json.loads`). W3 opens 1,000 streams at once and"
        f" holds them for {HOLD_SECONDS:.0f} s after their first event (the server sends each"
        f" one {W3_PACE}, so nothing more arrives while they are held);"
        " the RSS growth is divided by 1,000. W4 reads one 200 MB stream of ~2 KB events with a"
        " 1 ms sleep every 64 events; growth is the peak RSS after the first event minus the RSS"
        " then. W5 times the import statement in a fresh interpreter (bytecode cached), at"
        " least 5 repetitions. W8's floor runs W1's loop.",
    ]
    if skipped:
        lines += ["- Skipped clients: " + "; ".join(skipped) + "."]
    if run.revision_end and run.revision_end != run.revision_start:
        lines[3:3] = [
            f"**Warning: deepinfra_async changed during this run** ({run.revision_start} at"
            f" the start, {run.revision_end} at the end): later workloads measured other code.",
            "",
        ]
    if run.failures:
        lines += ["", "## Failures", "", "```", *run.failures, "```"]
    lines.append("")
    return "\n".join(lines)


def _targets(judged: list[Verdict], reps: int) -> list[str]:
    """The Targets section: each target by the median, and by each repetition alone."""
    lines = [
        "",
        "## Targets",
        "",
        "| Target | Measured | Met | Repetitions that meet it alone |",
        "|---|---|---|---|",
    ]
    close = []
    for v in judged:
        mark = "n/a" if v.met is None else ("yes" if v.met else "**no**")
        each = f"{v.held} of {v.of}" if v.of else "-"
        lines.append(f"| {v.target} | {v.measured} | {mark} | {each} |")
        if v.met and v.held < v.of:
            close.append(v)
    if close:
        text = (
            "Met by the median but not in every repetition: "
            + "; ".join(f"{v.target} ({v.held} of {v.of})" for v in close)
            + ". Each repetition is judged alone, a ratio pairing the client's run with the"
            " floor's run in the same round. Where the repetitions fall on both sides of a"
            " limit, the limit lies within that figure's run-to-run spread, so another run of"
            f" {reps} repetitions can land on either side of it."
        )
        if any(v.target.startswith("W3") for v in close):
            text += (
                " For W3, `python -m benchmarks.stream_memory` compares the two over more runs"
                " per client and tests whether they differ."
            )
        lines += ["", text]
    return lines


def save_raw(run: Run, path: Path, skipped: list[str] | None = None) -> None:
    """Write every measurement as JSON, enough for :func:`load_raw` to render it again."""
    payload = {
        "started": run.started,
        "finished": run.finished,
        "reps": run.options.reps,
        "smoke": run.options.smoke,
        "server": run.server_version,
        "server_name": run.server_name,
        "pinned": run.pinned,
        "manifest": run.manifest,
        "versions": versions(),
        "machine": machine(),
        "argv": sys.argv,
        "revision_start": run.revision_start,
        "revision_end": run.revision_end,
        "workloads": [w.key for w in run.options.workloads],
        "clients": [c.key for c in run.options.clients],
        "all_clients": [c.key for c in CLIENTS],
        "skipped": skipped or [],
        "results": run.results,
        "failures": run.failures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")


@dataclass
class Saved:
    """A run read back by :func:`load_raw`, with where it ran."""

    run: Run
    skipped: list[str]
    packages: dict[str, str]
    host: dict[str, str]

    def markdown(self) -> str:
        """The report of the run, as it was rendered when it ran."""
        return markdown(self.run, self.skipped, packages=self.packages, host=self.host)


def load_raw(path: Path) -> Saved:
    """Read a run written by :func:`save_raw`.

    Raises:
        ValueError: The file is not such a run, or names a workload or client this suite
            does not have.
    """
    try:
        payload = json.loads(path.read_text())
        workload_keys = payload.get("workloads") or list(
            dict.fromkeys(r["workload"] for r in payload["results"])
        )
        workloads = {w.key: w for w in WORKLOADS}
        clients = {c.key: c for c in CLIENTS}
        options = Options(
            workloads=tuple(workloads[k] for k in workload_keys),
            clients=tuple(clients[k] for k in payload["clients"]),
            reps=int(payload["reps"]),
            smoke=bool(payload["smoke"]),
        )
        pinned = payload.get("pinned")
        run = Run(
            options=options,
            results=list(payload["results"]),
            server_name=str(payload.get("server_name", "")),
            server_version=str(payload.get("server", "")),
            manifest=dict(payload.get("manifest", {})),
            pinned=None if pinned is None else (int(pinned[0]), int(pinned[1])),
            started=float(payload["started"]),
            finished=float(payload["finished"]),
            failures=list(payload.get("failures", [])),
            revision_start=str(payload.get("revision_start", "")),
            revision_end=str(payload.get("revision_end", "")),
        )
        return Saved(
            run,
            list(payload.get("skipped", [])),
            dict(payload["versions"]),
            dict(payload["machine"]),
        )
    except (KeyError, TypeError, IndexError, AttributeError, json.JSONDecodeError) as exc:
        msg = f"{path} is not a run saved by python -m benchmarks ({type(exc).__name__}: {exc})"
        raise ValueError(msg) from exc


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.report RUN.json [--out FILE]``: render a saved run again."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Render a run saved by python -m benchmarks (e.g. benchmarks/RESULTS.json)"
        " as its Markdown report.",
    )
    parser.add_argument("run", type=Path, help="the saved run (JSON)")
    parser.add_argument("--out", type=Path, help="write the report here too")
    parser.add_argument(
        "--check", type=Path, metavar="FILE",
        help="exit 1 unless FILE holds exactly this report",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        text = load_raw(args.run).markdown()
        expected = None if args.check is None else args.check.read_text()
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.check is not None:
        if expected != text:
            print(f"{args.check} is not the report of {args.run}", file=sys.stderr)
            return 1
        return 0
    print(text)
    if args.out is not None:
        args.out.write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
