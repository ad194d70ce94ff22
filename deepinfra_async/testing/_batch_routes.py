"""The emulator's Batches API routes.

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

from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ._batch_runner import ENDPOINT_ROUTES
from ._batches import ENDED, MAX_ACTIVE, BatchJob
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

__all__ = ["BATCH_ROUTES", "cancel_batch", "create_batch", "list_batches", "retrieve_batch"]

Problem = dict[str, Any]


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
    if batches.active >= MAX_ACTIVE:
        message = f"Too many active batches: at most {MAX_ACTIVE} can run at once."
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
    if job.status in ENDED - {"cancelled"} or job.status == "finalizing":
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
