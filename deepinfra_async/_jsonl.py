"""Resumable JSONL batch jobs in OpenAI's batch file format, run locally.

``run_jsonl(client, "in.jsonl", "out.jsonl")`` streams the input, sends each line through
``client.batch``, and appends each result to the output as soon as it completes, with one
``write`` per line on an append-only descriptor (so a crash can only tear the last line) and
an ``fsync`` every few hundred lines. Run it again after a crash and it repairs a torn last
line, skips every ``custom_id`` already in the output, and writes each ``custom_id`` once.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import attrs

from ._batch import BatchRequest
from ._codec import dumps, loads
from ._usage import ModelUsage, UsageTracker
from .endpoints._base import require_files

if TYPE_CHECKING:
    from ._client import DeepInfra

__all__ = ["JobSummary", "run_jsonl"]

_FSYNC_EVERY: Final = 512
_BUCKETS: Final = 256
_FSYNC_SECONDS: Final = 1.0
_MALFORMED_ID: Final = "line-{}"


@attrs.frozen(kw_only=True)
class JobSummary:
    """What a JSONL job did.

    Attributes:
        total: Request lines in the input.
        skipped: Lines already in the output from an earlier run.
        succeeded: Lines answered with a 2xx status in this run.
        failed: Lines that ended with an error in this run (malformed lines included).
        elapsed: Seconds this run took.
        usage: Per-model requests, tokens and cost of this run.

    .. versionadded:: 0.1.0
    """

    total: int
    skipped: int
    succeeded: int
    failed: int
    elapsed: float
    usage: dict[str, ModelUsage]

    @property
    def cost(self) -> float:
        """USD spent in this run, across models."""
        return sum(u.cost for u in self.usage.values())


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, stripped line) for every non-blank line, reading lazily."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if line:
                yield number, line


def _custom_id(line: bytes) -> str | None:
    try:
        data = loads(line)
    except ValueError:
        return None
    value = data.get("custom_id") if type(data) is dict else None
    return value if isinstance(value, str) and value else None


def _check_duplicates(path: Path) -> int:
    """Reject duplicate custom_ids with their line numbers; return the number of lines.

    Memory: 8 bytes per line (a hash in one of 256 arrays, sorted one bucket at a time),
    plus exact ids only for colliding hashes.

    Raises:
        ValueError: Some custom_id appears on more than one line.
    """
    buckets = [array("q") for _ in range(_BUCKETS)]
    count = 0
    for _, line in _lines(path):
        count += 1
        cid = _custom_id(line)
        if cid is not None:
            digest = hash(cid)
            buckets[digest % _BUCKETS].append(digest)
    suspects: set[int] = set()
    for bucket in buckets:
        ordered = sorted(bucket)
        suspects.update(a for a, b in itertools.pairwise(ordered) if a == b)
    del buckets
    if not suspects:
        return count
    seen: dict[str, list[int]] = {}
    for number, line in _lines(path):
        cid = _custom_id(line)
        if cid is not None and hash(cid) in suspects:
            seen.setdefault(cid, []).append(number)
    duplicates = {cid: numbers for cid, numbers in seen.items() if len(numbers) > 1}
    if duplicates:
        shown = "; ".join(
            f"{cid!r} on lines {', '.join(map(str, numbers))}"
            for cid, numbers in list(duplicates.items())[:10]
        )
        more = f" (and {len(duplicates) - 10} more)" if len(duplicates) > 10 else ""
        msg = f"duplicate custom_id in {path}: {shown}{more}; nothing was sent"
        raise ValueError(msg)
    return count


def _repair_and_read_done(path: Path) -> set[str]:
    """Cut a torn last line off the output, then return the custom_ids it already holds."""
    if not path.exists():
        return set()
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":
                # A crash mid-write: keep everything up to the last complete line.
                keep = 0
                step = 1 << 16
                position = size
                while position > 0 and not keep:
                    start = max(0, position - step)
                    handle.seek(start)
                    block = handle.read(position - start)
                    cut = block.rfind(b"\n")
                    if cut != -1:
                        keep = start + cut + 1
                    position = start
                handle.truncate(keep)
    done: set[str] = set()
    for _, line in _lines(path):
        cid = _custom_id(line)
        if cid is not None:
            done.add(cid)
    return done


class _Progress:
    """Progress on stderr: a bar redrawn in place on a terminal, a line every few seconds else."""

    __slots__ = ("_last", "_out", "_started", "_total", "_tty", "done", "failed", "usage")

    def __init__(self, total: int, out: IO[str] | None, usage: UsageTracker) -> None:
        self._total = total
        self._out = out
        self._tty = bool(out is not None and out.isatty())
        self._started = time.monotonic()
        self._last = 0.0
        self.done = 0
        self.failed = 0
        self.usage = usage

    def tick(self, *, force: bool = False) -> None:
        if self._out is None:
            return
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self._tty else 5.0):
            return
        self._last = now
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        cost = self.usage.total.cost
        share = self.done / self._total if self._total else 1.0
        text = (
            f"{self.done}/{self._total} ({share:.0%}) {rate:.1f}/s "
            f"errors {self.failed} cost ${cost:.6f}"
        )
        if self._tty:
            width = 24
            filled = int(share * width)
            bar = "#" * filled + "-" * (width - filled)
            self._out.write(f"\r[{bar}] {text}")
        else:
            self._out.write(text + "\n")
        self._out.flush()

    def finish(self, summary: JobSummary) -> None:
        if self._out is None:
            return
        self.tick(force=True)
        if self._tty:
            self._out.write("\n")
        out = self._out
        out.write(
            f"done: {summary.succeeded} succeeded, {summary.failed} failed, "
            f"{summary.skipped} already done, in {summary.elapsed:.1f} s\n"
        )
        for model, usage in sorted(summary.usage.items()):
            out.write(
                f"  {model}: {usage.requests} requests, {usage.input_tokens} in / "
                f"{usage.output_tokens} out tokens, ${usage.cost:.6f}\n"
            )
        out.write(f"  total cost: ${summary.cost:.6f}\n")
        out.flush()


class _Output:
    """The append-only output: one write per line, fsync'd in batches."""

    __slots__ = ("_fd", "_last_sync", "_unsynced")

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._unsynced = 0
        self._last_sync = time.monotonic()

    async def write(self, line: dict[str, Any]) -> None:
        data = dumps(line) + b"\n"
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._unsynced += 1
        if self._unsynced >= _FSYNC_EVERY or time.monotonic() - self._last_sync > _FSYNC_SECONDS:
            await self.sync()

    async def sync(self) -> None:
        if self._unsynced:
            self._unsynced = 0
            self._last_sync = time.monotonic()
            await asyncio.to_thread(os.fsync, self._fd)

    def close(self) -> None:
        os.close(self._fd)


async def run_jsonl(
    client: DeepInfra,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    concurrency: int = 64,
    progress: IO[str] | None = sys.stderr,
) -> JobSummary:
    """Run a JSONL batch file through ``client``, resumably.

    Input lines are ``{"custom_id", "method", "url", "body"}``; output lines are
    ``{"custom_id", "response": {"status_code", "request_id", "body"}, "error"}``, in completion
    order. A malformed line becomes an error line (keyed by its ``custom_id``, or
    ``"line-N"`` when it has none) instead of stopping the job.

    Args:
        client: The client to send with (its limits, retries and usage apply).
        input_path: The JSONL input, read lazily.
        output_path: The JSONL output, appended to; lines already there are not run again.
        concurrency: Most requests in flight at once.
        progress: Where progress and the final summary go (``None`` for silence).

    Returns:
        What this run did, with its cost per model.

    Raises:
        ValueError: The input has duplicate custom_ids (nothing is sent), or is missing.

    .. versionadded:: 0.1.0
    """
    source = Path(input_path)
    target = Path(output_path)
    require_files([("input_path", source)])
    started = time.monotonic()
    total = await asyncio.to_thread(_check_duplicates, source)
    done = await asyncio.to_thread(_repair_and_read_done, target)
    usage = UsageTracker()
    tracker = _Progress(total, progress, usage)
    output = _Output(target)
    counts = {"skipped": 0, "succeeded": 0, "failed": 0}

    async def malformed(number: int, cid: str | None, error: Exception) -> None:
        key = cid or _MALFORMED_ID.format(number)
        if key in done:
            counts["skipped"] += 1
            return
        message = f"line {number}: {error}"
        error_body = {"code": "invalid_request", "message": message}
        await output.write({"custom_id": key, "response": None, "error": error_body})
        counts["failed"] += 1
        tracker.failed += 1
        tracker.done += 1

    async def requests() -> Any:
        for number, line in _lines(source):
            cid = _custom_id(line)
            if cid is not None and cid in done:
                counts["skipped"] += 1
                tracker.done += 1
                continue
            try:
                request = BatchRequest.from_json(line)
                if request.custom_id is None:
                    msg = "custom_id is required in a JSONL job"
                    raise ValueError(msg)
            except (ValueError, TypeError) as exc:
                await malformed(number, cid, exc)
                continue
            yield request

    try:
        async with client.batch.as_completed(requests(), concurrency=concurrency) as results:
            async for result in results:
                await output.write(result.to_output_line())
                if result.ok:
                    counts["succeeded"] += 1
                    usage.add_body(result.model, result.value)
                else:
                    counts["failed"] += 1
                    tracker.failed += 1
                tracker.done += 1
                tracker.tick()
        await output.sync()
    finally:
        output.close()
    summary = JobSummary(
        total=total,
        skipped=counts["skipped"],
        succeeded=counts["succeeded"],
        failed=counts["failed"],
        elapsed=time.monotonic() - started,
        usage=usage.by_model(),
    )
    tracker.finish(summary)
    return summary
