"""The emulator's Files API routes: uploads streamed to disk, listed, downloaded, deleted.

Routes (under both OpenAI prefixes):

* ``POST {p}/files``: multipart ``file`` and ``purpose`` (``"batch"`` or ``"fine-tune"``),
  optional ``expires_after[anchor]`` (``"created_at"``) and ``expires_after[seconds]``
  (3600-2592000, default 30 days). The file part is written to a temporary directory the
  emulator owns, chunk by chunk, and is never held in memory whole.
* ``GET {p}/files``: query ``after``, ``limit`` (1-10000, default 10000), ``order``
  (``asc`` or ``desc``, the default) and ``purpose``, answered with the list envelope
  ``{"object": "list", "data", "first_id", "last_id", "has_more"}``.
* ``GET {p}/files/{file_id}`` and ``DELETE {p}/files/{file_id}``.
* ``GET {p}/files/{file_id}/content``: the bytes, streamed from disk.

An unknown id is 404 with an OpenAI-style body. Uploads larger than
``Emulator.max_batch_file_bytes`` for purpose ``"batch"`` (or ``Emulator.max_file_bytes``
for any purpose) are refused with 413; an unknown ``after`` cursor is 400. Each upload is
also recorded in ``Emulator.uploads``. Expiry times are reported but not enforced.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import attrs
from aiohttp import BodyPartReader, web

from ._files import DEFAULT_EXPIRY, bad_cursor, list_page, query_choice, query_int
from ._uploads import UploadRecord
from ._wire import json_response, openai_error, problem, validation_error

if TYPE_CHECKING:
    from ._emulator import Emulator
    from ._openai import Handler

__all__ = [
    "FILE_ROUTES",
    "delete_file",
    "file_content",
    "list_files",
    "retrieve_file",
    "upload_file",
]

_MIN_EXPIRY: Final = 3600
_PURPOSES: Final = ("batch", "fine-tune")
_CHUNK: Final = 64 << 10
_SEND_CHUNK: Final = 256 << 10
# Upload chunks are gathered up to this size before one write, so a thread hop moves a
# useful amount of data while memory stays bounded.
_FLUSH: Final = 1 << 20
_MAX_FIELD: Final = 1 << 16
_MAX_PARTS: Final = 100
_TEXT_FIELDS: Final = frozenset({"purpose", "expires_after[anchor]", "expires_after[seconds]"})
_MULTIPART_ERROR: Final = {"detail": "There was an error parsing the body"}

Problem = dict[str, Any]


def _no_such_file(file_id: str) -> web.Response:
    return json_response(openai_error(f"No such File object: {file_id}", param="id"), 404)


# -- upload -----------------------------------------------------------------------------


@attrs.define
class _Received:
    size: int = 0
    too_large: bool = False
    content_type: str | None = None
    filename: str = "file"
    sha256: str = ""


def _open(path: Path, mode: str) -> IO[bytes]:
    file: IO[bytes] = path.open(mode)
    return file


async def _receive(part: BodyPartReader, path: Path, limit: int) -> _Received:
    """Write a file part to ``path``, stopping as soon as it exceeds ``limit`` bytes."""
    received = _Received(content_type=part.headers.get("Content-Type"))
    received.filename = part.filename or "file"
    digest = hashlib.sha256()
    sink = await asyncio.to_thread(_open, path, "wb")
    try:
        pending = bytearray()
        # Bounded by the body: every pass consumes at least one byte or ends the part.
        while True:
            chunk = await part.read_chunk(_CHUNK)
            if not chunk:
                break
            received.size += len(chunk)
            if received.size > limit:
                received.too_large = True
                return received
            digest.update(chunk)
            pending += chunk
            if len(pending) >= _FLUSH:
                full, pending = pending, bytearray()
                await asyncio.to_thread(sink.write, full)
        if pending:
            await asyncio.to_thread(sink.write, pending)
    finally:
        sink.close()
    received.sha256 = digest.hexdigest()
    return received


async def _read_text(part: BodyPartReader) -> str | None:
    data = bytearray()
    while True:  # bounded: stops once the field passes _MAX_FIELD
        chunk = await part.read_chunk(_CHUNK)
        if not chunk:
            return bytes(data).decode("utf-8", errors="replace")
        data += chunk
        if len(data) > _MAX_FIELD:
            return None


def _check_fields(fields: Mapping[str, str | None], received: bool) -> tuple[list[Problem], int]:
    """Validate the text fields; return the problems and the expiry in seconds."""
    problems: list[Problem] = []
    if not received:
        problems.append(problem(["file"], "Field required", "missing"))
    purpose = fields.get("purpose")
    if purpose is None:
        problems.append(problem(["purpose"], "Field required", "missing"))
    elif purpose not in _PURPOSES:
        listed = " or ".join(f"'{p}'" for p in _PURPOSES)
        problems.append(problem(["purpose"], f"Input should be {listed}", "literal_error"))
    anchor = fields.get("expires_after[anchor]")
    if anchor is not None and anchor != "created_at":
        msg = "Input should be 'created_at'"
        problems.append(problem(["expires_after", "anchor"], msg, "literal_error"))
    seconds = DEFAULT_EXPIRY
    raw = fields.get("expires_after[seconds]")
    if raw is not None:
        where: list[str | int] = ["expires_after", "seconds"]
        try:
            seconds = int(raw)
        except ValueError:
            problems.append(problem(where, "Input should be a valid integer", "int_parsing"))
        else:
            if not _MIN_EXPIRY <= seconds <= DEFAULT_EXPIRY:
                msg = f"Input should be between {_MIN_EXPIRY} and {DEFAULT_EXPIRY}"
                problems.append(problem(where, msg, "value_error"))
    return problems, seconds


def _too_large(limit: int, purpose: str | None) -> web.Response:
    which = f" for purpose '{purpose}'" if purpose == "batch" else ""
    message = f"File is too large: the maximum size{which} is {limit} bytes"
    return json_response(openai_error(message, param="file", code="file_too_large"), 413)


async def upload_file(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/files``: store a multipart upload on disk.

    Args:
        emu: The emulator.
        request: The request, whose body has not been read.
        body: Ignored (the body is multipart).

    Returns:
        The file object, or a 400, 413 or 422 error.
    """
    if request.content_type != "multipart/form-data":
        missing = [
            problem(["file"], "Field required", "missing"),
            problem(["purpose"], "Field required", "missing"),
        ]
        return validation_error(missing)
    store = emu._files
    file_id = emu._new_id("file-")
    path = store.scratch(file_id)
    fields: dict[str, str | None] = {}
    received: _Received | None = None
    kept = False
    try:
        try:
            reader = await request.multipart()
            for _ in range(_MAX_PARTS):
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    return json_response(_MULTIPART_ERROR, 400)
                if part.name == "file" and received is None:
                    purpose = fields.get("purpose")
                    limit = emu.max_file_bytes
                    if purpose == "batch":
                        limit = min(limit, emu.max_batch_file_bytes)
                    received = await _receive(part, path, limit)
                    if received.too_large:
                        return _too_large(limit, purpose)
                elif part.name in _TEXT_FIELDS:
                    fields[part.name] = await _read_text(part)
                else:
                    await part.release()
            else:
                return json_response(_MULTIPART_ERROR, 400)
        except (ValueError, RuntimeError):
            # aiohttp's multipart reader reports malformed bodies with these.
            return json_response(_MULTIPART_ERROR, 400)
        problems, expires_in = _check_fields(fields, received is not None)
        if problems or received is None:
            return validation_error(problems)
        purpose = fields["purpose"]
        assert purpose is not None  # checked above
        if purpose == "batch" and received.size > emu.max_batch_file_bytes:
            return _too_large(emu.max_batch_file_bytes, purpose)
        record = UploadRecord(
            request.path,
            "file",
            received.filename,
            received.content_type,
            received.size,
            received.sha256,
        )
        emu.uploads.append(record)
        content_type = received.content_type or "application/jsonl"
        if content_type == "application/octet-stream":
            content_type = "application/jsonl"
        stored = store.add(
            file_id,
            path,
            filename=received.filename,
            purpose=purpose,
            size=received.size,
            content_type=content_type,
            expires_in=expires_in,
        )
        kept = True
        return json_response(stored.as_json())
    finally:
        if not kept:
            path.unlink(missing_ok=True)


# -- list, retrieve, content, delete ----------------------------------------------------


async def list_files(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``GET {prefix}/files``: one page of the files, newest first unless ``order=asc``.

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        The list envelope, or 422 for invalid query parameters.
    """
    query = request.query
    problems: list[Problem] = []
    limit = query_int(query, "limit", 10000, 1, 10000, problems)
    order = query_choice(query, "order", "desc", ("asc", "desc"), problems)
    if problems:
        return validation_error(problems)
    store = emu._files
    files = store.listed(query.get("purpose"))
    if order == "desc":
        files.reverse()
    after = query.get("after")
    if after is not None:
        cursor = store.position(after)
        if cursor is None:
            return bad_cursor(after)
        if order == "desc":
            files = [f for f in files if f.seq < cursor]
        else:
            files = [f for f in files if f.seq > cursor]
    return json_response(list_page(files, limit))


async def retrieve_file(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``GET {prefix}/files/{file_id}``: the file object.

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        The file object, or 404.
    """
    file_id = request.match_info["file_id"]
    stored = emu._files.get(file_id)
    if stored is None:
        return _no_such_file(file_id)
    return json_response(stored.as_json())


async def file_content(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``GET {prefix}/files/{file_id}/content``: the file's bytes, streamed from disk.

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        The bytes with the upload's media type (``application/jsonl`` by default), or 404.
    """
    file_id = request.match_info["file_id"]
    stored = emu._files.get(file_id)
    if stored is None:
        return _no_such_file(file_id)
    response = web.StreamResponse(headers={"Content-Type": stored.content_type})
    response.content_length = stored.size
    source = await asyncio.to_thread(_open, stored.path, "rb")
    try:
        await response.prepare(request)
        # Each pass sends at least one byte of a file whose size is known.
        for _ in range(stored.size // _SEND_CHUNK + 2):
            chunk = await asyncio.to_thread(source.read, _SEND_CHUNK)
            if not chunk:
                break
            await response.write(chunk)
    finally:
        source.close()
    await response.write_eof()
    return response


async def delete_file(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``DELETE {prefix}/files/{file_id}``: remove a file.

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        ``{"id", "object": "file", "deleted": true}``, or 404.
    """
    file_id = request.match_info["file_id"]
    if await emu._files.delete(file_id) is None:
        return _no_such_file(file_id)
    return json_response({"id": file_id, "object": "file", "deleted": True})


#: ``(method, path after the prefix, handler)`` for the Files API.
FILE_ROUTES: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("POST", "/files", upload_file),
    ("GET", "/files", list_files),
    ("GET", "/files/{file_id}", retrieve_file),
    ("DELETE", "/files/{file_id}", delete_file),
    ("GET", "/files/{file_id}/content", file_content),
)
