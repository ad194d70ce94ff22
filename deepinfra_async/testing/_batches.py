"""The emulator's Batches API: batch objects, their store and their routes.

Routes (under both OpenAI prefixes):

* ``POST {p}/batches`` with ``{"input_file_id", "endpoint", "completion_window": "24h",
  "metadata"?, "output_expires_after"?}``: 422 for an invalid body (``endpoint`` must be
  ``/v1/chat/completions``, ``/v1/completions`` or ``/v1/embeddings``), 404 for an unknown
  input file, 400 for a file whose purpose is not ``"batch"``, 429 when 100 batches are
  already active. Otherwise the batch starts in ``validating`` and is processed in the
  background (see `._batch_runner`).
* ``GET {p}/batches/{batch_id}``; ``GET {p}/batches`` with ``after`` and ``limit``
  (1-100, default 20), newest first, in the list envelope.
* ``POST {p}/batches/{batch_id}/cancel``: ``cancelling`` at once, ``cancelled`` when the
  lines already sent have finished. A batch that has already ended cannot be cancelled (400).

Batches never expire in the emulator; ``expires_at`` is reported 24 hours after creation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import attrs
from aiohttp import web

from ._batch_runner import ENDPOINT_ROUTES, run_batch
from ._files import DEFAULT_EXPIRY, bad_cursor, list_page, query_int
from ._wire import (
    check_choice,
    check_string,
    json_response,
    openai_error,
    problem,
    validation_error,
)

if TYPE_CHECKING:
    from ._emulator import Emulator
    from ._openai import Handler

__all__ = ["BATCH_ROUTES", "BatchJob", "BatchStore"]

_WINDOW: Final = 24 * 3600
_MAX_ACTIVE: Final = 100
_ACTIVE: Final = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
_ENDED: Final = frozenset({"completed", "failed", "expired", "cancelled"})
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

Problem = dict[str, Any]


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
        cancel_requested: Whether a cancel was asked for.
        done: Set when the batch has reached its final status.
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


# -- routes -----------------------------------------------------------------------------


def _no_such_batch(batch_id: str) -> web.Response:
    return json_response(openai_error(f"No such Batch object: {batch_id}", param="id"), 404)


def _check_expiry(value: Any) -> tuple[list[Problem], int]:
    if value is None:
        return [], DEFAULT_EXPIRY
    loc: list[str | int] = ["output_expires_after"]
    if not isinstance(value, dict):
        return [problem(loc, "Input should be a valid dictionary", "dict_type")], 0
    anchor = check_choice(value, "anchor", ("created_at",), loc=loc)
    problems = [] if anchor is None else [anchor]
    seconds = value.get("seconds", DEFAULT_EXPIRY)
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        problems.append(problem([*loc, "seconds"], "Input should be a valid integer", "int_type"))
    elif not 3600 <= seconds <= DEFAULT_EXPIRY:
        msg = f"Input should be between 3600 and {DEFAULT_EXPIRY}"
        problems.append(problem([*loc, "seconds"], msg, "value_error"))
    return problems, seconds if isinstance(seconds, int) else 0


def _check_metadata(value: Any) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [problem(["metadata"], "Input should be a valid dictionary", "dict_type")]
    if len(value) > 16:
        return [problem(["metadata"], "Metadata can have at most 16 pairs", "value_error")]
    for key, item in value.items():
        if len(key) > 64 or not isinstance(item, str) or len(item) > 512:
            msg = "Metadata keys are at most 64 characters and values strings of at most 512"
            return [problem(["metadata", key], msg, "value_error")]
    return []


def _check_create(body: Any) -> tuple[list[Problem], int]:
    if body is None:
        return [{"loc": ["body"], "msg": "Field required", "type": "missing"}], 0
    if not isinstance(body, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return [{"loc": ["body"], "msg": msg, "type": "model_attributes_type"}], 0
    problems = [
        problem([name], "Field required", "missing")
        for name in ("input_file_id", "endpoint", "completion_window")
        if name not in body
    ]
    checks = (
        check_string(body, "input_file_id"),
        check_choice(body, "endpoint", tuple(ENDPOINT_ROUTES)),
        check_choice(body, "completion_window", ("24h",)),
    )
    problems += [p for p in checks if p is not None]
    problems += _check_metadata(body.get("metadata"))
    expiry_problems, expires_in = _check_expiry(body.get("output_expires_after"))
    return problems + expiry_problems, expires_in


async def create_batch(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/batches``: create a batch and start processing it.

    Args:
        emu: The emulator.
        request: The request.
        body: The decoded JSON body.

    Returns:
        The batch object (``validating``), or a 400, 404, 422 or 429 error.
    """
    problems, expires_in = _check_create(body)
    if problems:
        return validation_error(problems)
    file_id = body["input_file_id"]
    stored = emu._files.get(file_id)
    if stored is None:
        message = f"No such File object: {file_id}"
        return json_response(openai_error(message, param="input_file_id"), 404)
    if stored.purpose != "batch":
        message = f"The input file must have purpose 'batch', not {stored.purpose!r}."
        return json_response(openai_error(message, param="input_file_id"), 400)
    batches = emu._batches
    if batches.active >= _MAX_ACTIVE:
        message = f"Too many active batches: at most {_MAX_ACTIVE} can run at once."
        return json_response(openai_error(message, type="rate_limit_error"), 429)
    job = BatchJob(
        emu._new_id("batch_"),
        len(batches),
        body["endpoint"],
        file_id,
        body.get("metadata"),
        expires_in,
    )
    batches.start(emu, job, stored.path, stored.size)
    return json_response(job.as_json())


async def retrieve_batch(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``GET {prefix}/batches/{batch_id}``: the batch object as it is now.

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        The batch object, or 404.
    """
    batch_id = request.match_info["batch_id"]
    job = emu._batches.get(batch_id)
    if job is None:
        return _no_such_batch(batch_id)
    return json_response(job.as_json())


async def list_batches(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``GET {prefix}/batches``: one page of batches, newest first.

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        The list envelope, or 422 for an invalid ``limit``.
    """
    problems: list[Problem] = []
    limit = query_int(request.query, "limit", 20, 1, 100, problems)
    if problems:
        return validation_error(problems)
    jobs = emu._batches.listed()
    jobs.reverse()
    after = request.query.get("after")
    if after is not None:
        cursor = emu._batches.get(after)
        if cursor is None:
            return bad_cursor(after)
        jobs = [job for job in jobs if job.seq < cursor.seq]
    return json_response(list_page(jobs, limit))


async def cancel_batch(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/batches/{batch_id}/cancel``: stop launching the batch's lines.

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        The batch object (``cancelling``, or ``cancelled`` once done), 400 for a batch
        that has already ended, or 404.
    """
    batch_id = request.match_info["batch_id"]
    job = emu._batches.get(batch_id)
    if job is None:
        return _no_such_batch(batch_id)
    if job.status in _ENDED - {"cancelled"} or job.status == "finalizing":
        message = f"Cannot cancel a batch with status {job.status!r}."
        return json_response(openai_error(message), 400)
    if not job.cancel_requested:
        job.request_cancel()
    return json_response(job.as_json())


#: ``(method, path after the prefix, handler)`` for the Batches API.
BATCH_ROUTES: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("POST", "/batches", create_batch),
    ("GET", "/batches", list_batches),
    ("GET", "/batches/{batch_id}", retrieve_batch),
    ("POST", "/batches/{batch_id}/cancel", cancel_batch),
)
