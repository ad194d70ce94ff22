"""Run the workloads: start the server, spawn one child per client and workload, collect.

Order: for each workload, ``reps`` rounds of every client in turn (A B C A B C ...), each a
fresh process pinned to the client core while the server holds the other. W5 runs a bare
``python -c`` per client that times one import statement.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Final

from . import canned
from .clients._harness import HOLD_SECONDS
from .server import Server, start_server
from .spec import CLIENTS, Client, Workload

__all__ = ["REPO", "WORK", "Options", "Run", "available_clients", "run"]

REPO: Final = Path(__file__).resolve().parent.parent
WORK: Final = REPO / "benchmarks" / ".work"

FULL_STREAM_BYTES: Final = 200_000_000
SMOKE_STREAM_BYTES: Final = 2_000_000
PROFILE_COUNTS: Final = {"W1": 5_000, "W2": 50, "W6": 300, "W7": 5_000, "W8": 5_000}

_IMPORT_CODE: Final = """\
import resource as _r
_a = _r.getrusage(_r.RUSAGE_SELF)
{stmt}
_b = _r.getrusage(_r.RUSAGE_SELF)
print("RESULT", (_b.ru_utime - _a.ru_utime) + (_b.ru_stime - _a.ru_stime))
"""


@dataclass
class Options:
    """What to run and how."""

    workloads: tuple[Workload, ...]
    clients: tuple[Client, ...]
    reps: int = 3
    smoke: bool = False
    server: str = "auto"
    pin: bool = True
    profile: bool = False
    job_timeout: float = 1200.0
    verbose: bool = True


@dataclass
class Run:
    """Everything one run measured."""

    options: Options
    results: list[dict[str, Any]] = field(default_factory=list)
    server_name: str = ""
    server_version: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    pinned: tuple[int, int] | None = None
    started: float = 0.0
    finished: float = 0.0
    failures: list[str] = field(default_factory=list)
    revision_start: str = ""
    revision_end: str = ""


def available_clients(keys: str | None) -> tuple[tuple[Client, ...], list[str]]:
    """Return the clients asked for (all when ``None``) whose packages import here.

    Returns:
        The clients to run, and a note for each one skipped.

    Raises:
        ValueError: A client name is unknown.
    """
    known = {c.key: c for c in CLIENTS}
    wanted = [k.strip() for k in keys.split(",") if k.strip()] if keys else list(known)
    unknown = [k for k in wanted if k not in known]
    if unknown:
        msg = f"unknown client(s): {', '.join(unknown)}; known: {', '.join(known)}"
        raise ValueError(msg)
    chosen = []
    skipped = []
    for key in wanted:
        client = known[key]
        if client.needs is not None and find_spec(client.needs) is None:
            skipped.append(f"{client.label}: `{client.needs}` is not installed")
            continue
        chosen.append(client)
    if "floor" not in [c.key for c in chosen]:
        chosen.insert(0, known["floor"])
    return tuple(chosen), skipped


def library_revision() -> str:
    """Name the library code being measured: its commit, and a hash of its sources.

    The hash changes with any edit, committed or not, so a run during which the library
    changed can be flagged.
    """
    digest = hashlib.sha1()
    package = REPO / "deepinfra_async"
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    commit = "unknown commit"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "-C", str(REPO), "log", "-1", "--format=%h", "--", "deepinfra_async"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            commit = done.stdout.strip()
    return f"{commit}, sources {digest.hexdigest()[:10]}"


def _log(options: Options, text: str) -> None:
    if options.verbose:
        print(text, file=sys.stderr, flush=True)


def _job(
    workload: Workload, options: Options, server: Server, manifest: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """Build the child's job and the checksum it must report."""
    smoke = options.smoke
    count = workload.smoke_count if smoke else workload.count
    concurrency = workload.smoke_concurrency if smoke else workload.concurrency
    if options.profile and workload.key in PROFILE_COUNTS and not smoke:
        count = PROFILE_COUNTS[workload.key]
    checks = manifest["checks"]
    job: dict[str, Any] = {
        "workload": workload.key,
        "kind": workload.kind,
        "base_url": server.url(workload.prefix),
        "count": count,
        "concurrency": concurrency,
        "server_pids": server.pids(),
    }
    kind = workload.kind
    if kind in ("chat", "native", "batch"):
        job["warmup"] = min(count, 2 * concurrency)
    elif kind in ("stream", "embed"):
        job["warmup"] = min(count, concurrency)
    if kind == "hold":
        job["hold_seconds"] = 0.2 if smoke else HOLD_SECONDS
    if kind == "slow":
        job["every"] = 64
        job["pause"] = 0.001
    expected = {
        "chat": checks["chat"] * count,
        "batch": checks["chat"] * count,
        "stream": checks["stream"] * count,
        "embed": checks["embed"] * count,
        "native": checks["native"] * count,
        "hold": count,
        "slow": checks["big_stream"],
    }[kind]
    return job, expected


def _units(workload: Workload, job: dict[str, Any], manifest: dict[str, Any]) -> int:
    if workload.kind == "stream":
        return int(job["count"]) * int(manifest["stream_chunks"])
    return int(job["count"])


def _child_env() -> dict[str, str]:
    """The children's environment: bytecode cached for every package alike.

    With ``PYTHONDONTWRITEBYTECODE`` set, an editable project would be compiled from source
    on every import while installed packages use the .pyc files pip wrote, which skews W5.
    All bytecode goes to one cache under ``benchmarks/.work`` instead, written by W5's
    untimed warm-up import and read by the measured ones.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


def _spawn(args: list[str], cpu: int | None, timeout: float) -> tuple[int, list[str], str]:
    """Run a child to completion (killed after ``timeout``); return status, RESULT lines, err."""
    proc = subprocess.Popen(
        args,
        cwd=REPO,
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    if cpu is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(proc.pid, {cpu})
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n(killed after {timeout:.0f} s)".encode()
    lines = [
        line[len("RESULT ") :]
        for line in out.decode(errors="replace").splitlines()
        if line.startswith("RESULT ")
    ]
    return proc.returncode, lines, err.decode(errors="replace")


def _run_client_jobs(
    client: Client,
    workloads: list[Workload],
    rep: int,
    options: Options,
    server: Server,
    run: Run,
    client_cpu: int | None,
) -> None:
    """Run one child for ``client`` that does ``workloads`` in turn (one, except in smoke)."""
    jobs = []
    expected = []
    for workload in workloads:
        job, check = _job(workload, options, server, run.manifest)
        if options.profile:
            profiles = WORK / "profiles"
            profiles.mkdir(parents=True, exist_ok=True)
            job["profile"] = str(profiles / f"{client.key}-{workload.key}")
        jobs.append(job)
        expected.append(check)
    args = [
        sys.executable, "-m", client.module, *client.args,
        "--jobs", json.dumps(jobs),
        "--cpu", str(-1 if client_cpu is None else client_cpu),
    ]  # fmt: skip
    status, lines, err = _spawn(args, client_cpu, options.job_timeout * len(jobs))
    reported = {}
    for line in lines:
        item = json.loads(line)
        reported[item.get("workload")] = item
    for workload, job, check in zip(workloads, jobs, expected, strict=True):
        record: dict[str, Any] = {
            "client": client.key,
            "workload": workload.key,
            "rep": rep,
            "expected": check,
            "units": _units(workload, job, run.manifest),
        }
        record.update(reported.get(workload.key, {}))
        record["client"] = client.key
        _judge(record, status, workload.key in reported, err, run)
        run.results.append(record)
        _log(options, _describe(record))


def _judge(record: dict[str, Any], status: int, reported: bool, err: str, run: Run) -> None:
    where = f"{record['workload']} {record['client']} rep {record['rep']}"
    if not reported or "error" in record:
        record["ok"] = False
        record.setdefault("error", f"no result (exit status {status})")
        tail = err.strip().splitlines()[-12:]
        run.failures.append(f"{where}: {record['error']}\n    " + "\n    ".join(tail))
    elif record.get("unavailable"):
        record["ok"] = True
    else:
        record["ok"] = record.get("checksum") == record["expected"]
        if not record["ok"]:
            run.failures.append(
                f"{where}: checksum {record.get('checksum')} != expected {record['expected']}"
            )


def _describe(record: dict[str, Any]) -> str:
    head = f"  {record['workload']} rep {record['rep']} {record['client']:<24}"
    if not record.get("ok"):
        return f"{head} FAILED: {record.get('error', 'checksum mismatch')}"
    if record.get("unavailable"):
        return f"{head} not available"
    parts = [f"cpu {record.get('cpu', 0.0):.3f} s"]
    if "rss_per_stream" in record:
        parts.append(f"rss/stream {record['rss_per_stream'] / 1024:.1f} KiB")
    if "rss_growth" in record:
        parts.append(f"rss growth {record['rss_growth'] / 2**20:.2f} MiB")
    wall = record.get("wall") or 0.0
    if wall > 0 and "server_cpu" in record:
        parts.append(f"server {100 * record['server_cpu'] / wall:.0f}%")
    return f"{head} " + ", ".join(parts)


def _run_imports(workload: Workload, options: Options, run: Run, client_cpu: int | None) -> None:
    reps = 1 if options.smoke else max(options.reps, 5)
    clients = [c for c in options.clients if _applies(workload, c)]
    if not options.smoke:
        for client in clients:  # compile and cache bytecode first: not measured
            _spawn([sys.executable, "-c", client.import_stmt], client_cpu, 120)
    for rep in range(reps):
        for client in clients:
            code = _IMPORT_CODE.format(stmt=client.import_stmt)
            status, lines, err = _spawn([sys.executable, "-c", code], client_cpu, 120)
            record: dict[str, Any] = {
                "client": client.key, "workload": workload.key, "rep": rep, "units": 1,
            }  # fmt: skip
            if status == 0 and lines:
                record["cpu"] = float(lines[-1])
                record["ok"] = True
            else:
                record["ok"] = False
                record["error"] = f"exit status {status}"
                run.failures.append(f"W5 {client.key}: {err.strip()[-400:]}")
            run.results.append(record)
            _log(options, _describe(record))


def _applies(workload: Workload, client: Client) -> bool:
    if client.kinds is not None and workload.kind not in client.kinds:
        return False
    # The OpenAI SDK has no batch runner.
    return not (workload.kind == "batch" and client.key.startswith("openai"))


def _smoke(options: Options, server: Server, run: Run, client_cpu: int | None) -> None:
    """One child per client doing every workload once (fast), then W5's imports."""
    for client in options.clients:
        workloads = [w for w in options.workloads if w.kind != "import" and _applies(w, client)]
        if workloads:
            _run_client_jobs(client, workloads, 0, options, server, run, client_cpu)
    for workload in options.workloads:
        if workload.kind == "import":
            _run_imports(workload, options, run, client_cpu)


def _interleaved(options: Options, server: Server, run: Run, client_cpu: int | None) -> None:
    """Each workload: ``reps`` rounds of every client in turn, one fresh process each."""
    for workload in options.workloads:
        _log(options, f"{workload.key}: {workload.title}")
        if workload.kind == "import":
            _run_imports(workload, options, run, client_cpu)
            continue
        reps = 1 if options.profile else options.reps
        for rep in range(reps):
            for client in options.clients:
                if _applies(workload, client):
                    _run_client_jobs(client, [workload], rep, options, server, run, client_cpu)


def _cores(options: Options) -> tuple[int, int] | None:
    if not options.pin:
        return None
    try:
        allowed = os.sched_getaffinity(0)
    except OSError:
        return None
    cores = sorted(allowed)
    if len(cores) < 2:
        return None
    return cores[0], cores[1]


def run(options: Options) -> Run:
    """Run every workload for every client and return what was measured."""
    result = Run(options=options, started=time.time(), revision_start=library_revision())
    www = WORK / ("www-smoke" if options.smoke else "www")
    size = SMOKE_STREAM_BYTES if options.smoke else FULL_STREAM_BYTES
    _log(options, f"canned bodies in {www} ...")
    result.manifest = canned.build(www, big_stream_bytes=size)
    cores = _cores(options)
    result.pinned = cores
    server_cpu, client_cpu = (None, None) if cores is None else cores
    original = os.sched_getaffinity(0)
    if server_cpu is not None:
        # The parent mostly waits; keep it off the client's core.
        os.sched_setaffinity(0, {server_cpu})
    server = start_server(options.server, www, WORK / "server", server_cpu)
    result.server_name = server.name
    result.server_version = server.version
    _log(options, f"server: {server.version} on 127.0.0.1:{server.port} (pids {server.pids()})")
    try:
        if options.smoke:
            _smoke(options, server, result, client_cpu)
        else:
            _interleaved(options, server, result, client_cpu)
    finally:
        server.stop()
        if server_cpu is not None:
            os.sched_setaffinity(0, original)
    result.finished = time.time()
    result.revision_end = library_revision()
    if result.revision_end != result.revision_start:
        _log(options, "warning: deepinfra_async changed during the run")
    return result
