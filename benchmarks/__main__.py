"""``python -m benchmarks``: run the benchmark suite and write ``benchmarks/RESULTS.md``.

Examples::

    bash benchmarks/setup.sh                         # nginx + benchmarks/.venv (once)
    benchmarks/.venv/bin/python -m benchmarks        # full run, 3 repetitions
    benchmarks/.venv/bin/python -m benchmarks --workloads W1,W2 --clients floor,deepinfra_async
    benchmarks/.venv/bin/python -m benchmarks --profile   # cProfile of W1, W2, W6, W7
    .venv/bin/python -m benchmarks --smoke           # a few requests each, checks only
    python -m benchmarks.report benchmarks/RESULTS.json   # render the saved record again

``--smoke`` sends a handful of requests per workload and client, checks every answer, and
exits 0 when all were right; it times nothing. :func:`run_smoke` is the same for tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import report, runner, spec

__all__ = ["main", "run_smoke"]

DEFAULT_OUT = runner.REPO / "benchmarks" / "RESULTS.md"
PROFILED = ("W1", "W2", "W6", "W7", "W8")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Compare deepinfra_async with a raw-aiohttp floor and the OpenAI SDK.",
    )
    p.add_argument("--smoke", action="store_true", help="a few requests each, no timing")
    p.add_argument("--reps", type=int, default=3, help="repetitions per client (default 3)")
    p.add_argument("--workloads", help="comma-separated, e.g. W1,W2 (default: all)")
    p.add_argument(
        "--clients",
        help="comma-separated from: "
        + ", ".join(c.key for c in spec.CLIENTS)
        + " (default: all installed; the floor always runs)",
    )
    p.add_argument(
        "--server", choices=("auto", "nginx", "python"), default="auto",
        help="loopback server (auto: nginx when installed)",
    )  # fmt: skip
    p.add_argument("--no-pin", action="store_true", help="do not pin server and client cores")
    p.add_argument(
        "--profile", action="store_true",
        help="cProfile W1, W2, W6, W7, W8 (deepinfra_async, floor) into benchmarks/.work/profiles",
    )  # fmt: skip
    p.add_argument("--out", type=Path, help="Markdown output (default benchmarks/RESULTS.md)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _smoke_ok(run: runner.Run) -> bool:
    return not run.failures and all(r.get("ok") for r in run.results)


def run_smoke(server: str = "auto", *, verbose: bool = False) -> int:
    """Run every workload with a few requests per installed client; check every answer.

    Args:
        server: ``"auto"`` (nginx when installed), ``"nginx"`` or ``"python"``.
        verbose: Print a line per client and workload on stderr.

    Returns:
        0 when every client produced the expected results, else 1.
    """
    clients, skipped = runner.available_clients(None)
    options = runner.Options(
        workloads=spec.WORKLOADS,
        clients=clients,
        reps=1,
        smoke=True,
        server=server,
        job_timeout=120.0,
        verbose=verbose,
    )
    run = runner.run(options)
    ok = _smoke_ok(run)
    for note in skipped:
        print(f"smoke: skipped {note}", file=sys.stderr)
    for failure in run.failures:
        print(f"smoke: FAILED {failure}", file=sys.stderr)
    done = sum(1 for r in run.results if r.get("ok"))
    print(
        f"smoke: {done} of {len(run.results)} client runs correct "
        f"({len(clients)} clients, server {run.server_version or run.server_name})",
        file=sys.stderr,
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    if args.smoke:
        return run_smoke(args.server, verbose=not args.quiet)
    if args.reps < 1:
        print("--reps must be at least 1", file=sys.stderr)
        return 2
    try:
        workloads = spec.by_key(args.workloads)
        clients, skipped = runner.available_clients(args.clients)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.profile:
        workloads = tuple(w for w in workloads if w.key in PROFILED)
        if not args.clients:
            profiled = ("floor", "deepinfra_async", "deepinfra_async+orjson")
            clients = tuple(c for c in clients if c.key in profiled)
    options = runner.Options(
        workloads=workloads,
        clients=clients,
        reps=args.reps,
        server=args.server,
        pin=not args.no_pin,
        profile=args.profile,
        verbose=not args.quiet,
    )
    run = runner.run(options)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(run.started))
    kind = "profile" if args.profile else "results"
    report.save_raw(run, runner.WORK / "results" / f"{kind}-{stamp}.json", skipped)
    text = report.markdown(run, skipped)
    print(text)
    if args.profile:
        print(f"profiles written to {runner.WORK / 'profiles'}", file=sys.stderr)
    else:
        partial = bool(args.workloads or args.clients)
        out = args.out or (runner.WORK / "RESULTS-partial.md" if partial else DEFAULT_OUT)
        out.write_text(text)
        # The measurements beside the report: `python -m benchmarks.report` renders them again.
        report.save_raw(run, out.with_suffix(".json"), skipped)
        print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return 1 if run.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
