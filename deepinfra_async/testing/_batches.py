"""Batches the emulator holds: each batch's state, and the store that runs them.

A `BatchJob` is updated live by its background task (see `._batch_runner`) and rendered
as the API's batch object by `BatchJob.as_json`. The `BatchStore` owns the tasks and the
HTTP session their lines are sent with; closing the emulator cancels both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import attrs

from ._batch_runner import run_batch

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["ENDED", "MAX_ACTIVE", "BatchJob", "BatchStore"]

_WINDOW: Final = 24 * 3600
#: How many batches may be active (not yet ended) at once.
MAX_ACTIVE: Final = 100
_ACTIVE: Final = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
#: The final statuses.
ENDED: Final = frozenset({"completed", "failed", "expired", "cancelled"})
_STAMPS: Final[Mapping[str, str]] = {
    "in_progress": "in_progress_at",
    "finalizing": "finalizing_at",
    "completed": "completed_at",
    "failed": "failed_at",
    "expired": "expired_at",
    "cancelling": "cancelling_at",
    "cancelled": "cancelled_at",
}
_CLOSE_TIMEOUT: Final = 1.0
# A line whose request hangs (a long injected delay) ends as failed after this long.
_LINE_TIMEOUT: Final = aiohttp.ClientTimeout(total=300)
_USAGE_KEYS: Final = ("input", "cached", "output", "reasoning", "total")


def _now() -> int:
    return int(time.time())


def _tokens(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@attrs.define(eq=False)
class BatchJob:
    """One batch and its progress, updated live by its background task.

    Attributes:
        id: The ``batch_...`` id.
        seq: Creation order, for pagination.
        endpoint: The endpoint every line calls.
        input_file_id: The input file.
        metadata: The caller's metadata, or ``None``.
        output_expires_in: Seconds the output and error files live.
        created_at: Unix time of creation.
        status: The current status.
        errors: The input file's problems when validation failed, else ``None``.
        output_file_id: The output file, once registered.
        error_file_id: The error file, once registered (only when a line got no answer).
        model: The first line's ``body.model``, once validated.
        total: How many requests the input file holds.
        completed: Lines answered with a 2xx status so far.
        failed: Lines answered otherwise, or not at all, so far.
        usage: Token totals of the 2xx answers so far.
        stamps: The ``*_at`` times of the statuses reached so far.
        cancel_requested: Whether a cancel was asked for.
        done: Set when the batch has reached its final status (or the emulator closed).
    """

    id: str
    seq: int
    endpoint: str
    input_file_id: str
    metadata: dict[str, str] | None
    output_expires_in: int
    created_at: int = attrs.Factory(_now)
    status: str = "validating"
    errors: list[dict[str, Any]] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    model: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    usage: dict[str, int] = attrs.Factory(lambda: dict.fromkeys(_USAGE_KEYS, 0))
    stamps: dict[str, int] = attrs.Factory(dict)
    cancel_requested: bool = False
    done: asyncio.Event = attrs.Factory(asyncio.Event)

    def set_status(self, status: str) -> None:
        """Move to ``status`` and stamp the time it happened."""
        self.status = status
        self.stamps[_STAMPS[status]] = _now()

    def start(self, total: int, model: str | None) -> None:
        """The input file passed validation: start running its ``total`` lines."""
        self.total, self.model = total, model
        if not self.cancel_requested:
            self.set_status("in_progress")

    def fail(self, errors: list[dict[str, Any]]) -> None:
        """End as ``failed`` with these error entries."""
        self.errors = errors
        self.set_status("failed")

    def request_cancel(self) -> None:
        """Ask the background task to stop launching lines."""
        self.cancel_requested = True
        self.set_status("cancelling")

    def count(self, *, ok: bool) -> None:
        """Count one finished line."""
        if ok:
            self.completed += 1
        else:
            self.failed += 1

    def add_usage(self, usage: Any) -> None:
        """Add a response body's ``usage`` to the batch's totals."""
        if not isinstance(usage, dict):
            return
        prompt = _tokens(usage.get("prompt_tokens"))
        completion = _tokens(usage.get("completion_tokens"))
        prompt_details = usage.get("prompt_tokens_details")
        completion_details = usage.get("completion_tokens_details")
        totals = self.usage
        totals["input"] += prompt
        totals["output"] += completion
        totals["total"] += _tokens(usage.get("total_tokens")) or prompt + completion
        if isinstance(prompt_details, dict):
            totals["cached"] += _tokens(prompt_details.get("cached_tokens"))
        if isinstance(completion_details, dict):
            totals["reasoning"] += _tokens(completion_details.get("reasoning_tokens"))

    def as_json(self) -> dict[str, Any]:
        """Describe the batch as the API does.

        Returns:
            The batch object.
        """
        stamps = self.stamps
        errors = None if self.errors is None else {"object": "list", "data": list(self.errors)}
        usage = self.usage
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": errors,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": stamps.get("in_progress_at"),
            "expires_at": self.created_at + _WINDOW,
            "finalizing_at": stamps.get("finalizing_at"),
            "completed_at": stamps.get("completed_at"),
            "failed_at": stamps.get("failed_at"),
            "expired_at": stamps.get("expired_at"),
            "cancelling_at": stamps.get("cancelling_at"),
            "cancelled_at": stamps.get("cancelled_at"),
            "request_counts": {
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": None if self.metadata is None else dict(self.metadata),
            "model": self.model,
            "usage": {
                "input_tokens": usage["input"],
                "input_tokens_details": {"cached_tokens": usage["cached"]},
                "output_tokens": usage["output"],
                "output_tokens_details": {"reasoning_tokens": usage["reasoning"]},
                "total_tokens": usage["total"],
            },
        }


class BatchStore:
    """The batches of one emulator, their background tasks and their loopback session."""

    __slots__ = ("_jobs", "_session", "_tasks")

    def __init__(self) -> None:
        self._jobs: dict[str, BatchJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The HTTP session batch lines are sent with, created on first use."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_LINE_TIMEOUT)
        return self._session

    def start(self, emu: Emulator, job: BatchJob, path: Path, size: int) -> None:
        """Record a new batch and start processing it in the background.

        Args:
            emu: The emulator that runs its lines.
            job: The batch.
            path: The input file's bytes.
            size: The input file's size.
        """
        self._jobs[job.id] = job
        task = asyncio.get_running_loop().create_task(run_batch(emu, job, path, size))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def get(self, batch_id: str) -> BatchJob | None:
        """Look a batch up by id."""
        return self._jobs.get(batch_id)

    def listed(self) -> list[BatchJob]:
        """Every batch, oldest first."""
        return list(self._jobs.values())

    def __len__(self) -> int:
        return len(self._jobs)

    @property
    def active(self) -> int:
        """How many batches have not reached a final status."""
        return sum(job.status in _ACTIVE for job in self._jobs.values())

    async def wait(self, batch_id: str, timeout: float) -> dict[str, Any]:
        """Wait for a batch to reach its final status.

        Args:
            batch_id: The batch.
            timeout: Seconds to wait at most.

        Returns:
            The final batch object.

        Raises:
            KeyError: There is no batch with that id.
            TimeoutError: It did not finish in time.
        """
        job = self._jobs[batch_id]
        async with asyncio.timeout(timeout):
            await job.done.wait()
        return job.as_json()

    async def aclose(self) -> None:
        """Cancel the batches still running and close the session. Idempotent."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_TIMEOUT)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
