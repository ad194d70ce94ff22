"""The emulator's Files API: uploads streamed to disk, then listed, downloaded and deleted.

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
for any purpose) are refused with 413. Expiry times are reported but not enforced.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Protocol

import attrs
from aiohttp import BodyPartReader, web

from ._uploads import UploadRecord
from ._wire import json_response, openai_error, problem, validation_error

if TYPE_CHECKING:
    from ._emulator import Emulator
    from ._openai import Handler

__all__ = [
    "DEFAULT_EXPIRY",
    "FILE_ROUTES",
    "FileStore",
    "StoredFile",
    "bad_cursor",
    "list_page",
    "query_choice",
    "query_int",
]

#: Seconds a file lives when the upload names no ``expires_after``.
DEFAULT_EXPIRY: Final = 30 * 86400
_MIN_EXPIRY: Final = 3600
_PURPOSES: Final = ("batch", "fine-tune")
_CHUNK: Final = 64 << 10
# Upload chunks are gathered up to this size before one write, so a thread hop moves a
# useful amount of data while memory stays bounded.
_FLUSH: Final = 1 << 20
_MAX_FIELD: Final = 1 << 16
_MAX_PARTS: Final = 100
_TEXT_FIELDS: Final = frozenset({"purpose", "expires_after[anchor]", "expires_after[seconds]"})
_MULTIPART_ERROR: Final = {"detail": "There was an error parsing the body"}

Problem = dict[str, Any]


@attrs.define(eq=False)
class StoredFile:
    """A file the emulator holds on disk.

    Attributes:
        id: The ``file-...`` id.
        seq: Position in upload order, for pagination.
        filename: The name it was uploaded under (or given by the emulator).
        purpose: ``"batch"``, ``"fine-tune"`` or ``"batch_output"``.
        size: Its size in bytes.
        created_at: Unix time of the upload.
        expires_at: Unix time it expires at, or ``None``.
        content_type: The media type ``/content`` answers with.
        path: Where the bytes are.
    """

    id: str
    seq: int
    filename: str
    purpose: str
    size: int
    created_at: int
    expires_at: int | None
    content_type: str
    path: Path

    def as_json(self) -> dict[str, Any]:
        """Describe the file as the API does.

        Returns:
            The file object.
        """
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.size,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
        }


class _Listable(Protocol):
    @property
    def id(self) -> str: ...

    def as_json(self) -> dict[str, Any]: ...


class FileStore:
    """The files of one emulator, kept in a temporary directory created on first use.

    The directory is removed by `aclose` (or when the store is collected, as a fallback).
    """

    __slots__ = ("__weakref__", "_closed", "_dir", "_files", "_finalizer", "_order")

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        # Upload position of every id ever issued, so a deleted file still works as a cursor.
        self._order: dict[str, int] = {}
        self._dir: Path | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._closed = False

    def scratch(self, name: str) -> Path:
        """Return a path in the store's directory, creating the directory if needed.

        Args:
            name: The file name (an id, so it is unique).

        Returns:
            The path; nothing is created there.

        Raises:
            RuntimeError: The store was closed.
        """
        if self._closed:
            raise RuntimeError("The emulator is closed: its files are gone.")
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="deepinfra-emulator-"))
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
        return self._dir / name

    def add(
        self,
        file_id: str,
        path: Path,
        *,
        filename: str,
        purpose: str,
        size: int,
        content_type: str,
        expires_in: int | None = DEFAULT_EXPIRY,
    ) -> StoredFile:
        """Register a file whose bytes are already at ``path``.

        Args:
            file_id: Its ``file-...`` id.
            path: Where its bytes are (inside the store's directory).
            filename: Its name.
            purpose: Its purpose.
            size: Its size in bytes.
            content_type: The media type to serve it with.
            expires_in: Seconds until it expires, or ``None`` for never.

        Returns:
            The stored file.
        """
        now = int(time.time())
        seq = len(self._order)
        self._order[file_id] = seq
        stored = StoredFile(
            file_id,
            seq,
            filename,
            purpose,
            size,
            now,
            None if expires_in is None else now + expires_in,
            content_type,
            path,
        )
        self._files[file_id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """Look a file up.

        Args:
            file_id: The id.

        Returns:
            The file, or ``None`` when there is none with that id.
        """
        return self._files.get(file_id)

    def position(self, file_id: str) -> int | None:
        """Where an id stands in upload order (deleted files included), for cursors."""
        return self._order.get(file_id)

    def listed(self, purpose: str | None) -> list[StoredFile]:
        """The files in upload order, optionally only those with one purpose."""
        files = self._files.values()
        return [f for f in files if purpose is None or f.purpose == purpose]

    async def delete(self, file_id: str) -> StoredFile | None:
        """Forget a file and remove its bytes.

        Args:
            file_id: The id.

        Returns:
            The deleted file, or ``None`` when there was none with that id.
        """
        stored = self._files.pop(file_id, None)
        if stored is not None:
            await asyncio.to_thread(stored.path.unlink, missing_ok=True)
        return stored

    def __len__(self) -> int:
        return len(self._files)

    async def aclose(self) -> None:
        """Forget every file and remove the directory. Idempotent."""
        self._closed = True
        self._files.clear()
        if self._finalizer is not None:
            await asyncio.to_thread(self._finalizer)


# -- query strings and pages ------------------------------------------------------------


def _query_problem(name: str, msg: str, type: str) -> Problem:
    return {"loc": ["query", name], "msg": msg, "type": type}


def query_int(
    query: Mapping[str, str], name: str, default: int, low: int, high: int, problems: list[Problem]
) -> int:
    """Read an integer query parameter and check its range.

    Args:
        query: The request's query parameters.
        name: The parameter.
        default: Its value when absent.
        low: Smallest allowed value.
        high: Largest allowed value.
        problems: Where a problem is appended when the value is invalid.

    Returns:
        The value (``default`` when invalid).
    """
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        msg = "Input should be a valid integer, unable to parse string as an integer"
        problems.append(_query_problem(name, msg, "int_parsing"))
        return default
    if value < low:
        msg = f"Input should be greater than or equal to {low}"
        problems.append(_query_problem(name, msg, "greater_than_equal"))
    elif value > high:
        msg = f"Input should be less than or equal to {high}"
        problems.append(_query_problem(name, msg, "less_than_equal"))
    return value


def query_choice(
    query: Mapping[str, str],
    name: str,
    default: str,
    allowed: Iterable[str],
    problems: list[Problem],
) -> str:
    """Read a query parameter that takes one of a few strings.

    Args:
        query: The request's query parameters.
        name: The parameter.
        default: Its value when absent.
        allowed: The accepted values.
        problems: Where a problem is appended when the value is not accepted.

    Returns:
        The value.
    """
    value = query.get(name, default)
    choices = tuple(allowed)
    if value not in choices:
        listed = " or ".join(f"'{choice}'" for choice in choices)
        problems.append(_query_problem(name, f"Input should be {listed}", "literal_error"))
    return value


def bad_cursor(after: str) -> web.Response:
    """Answer 400 for an ``after`` cursor that names no object.

    Args:
        after: The cursor.

    Returns:
        The response.
    """
    message = f"Invalid cursor: no object with id {after!r}"
    return json_response(openai_error(message, param="after"), 400)


def list_page(items: Sequence[_Listable], limit: int) -> dict[str, Any]:
    """Cut the first page out of items already ordered and filtered by the cursor.

    Args:
        items: Objects with an ``id`` and an ``as_json()``, in list order, starting after
            the cursor.
        limit: Page size.

    Returns:
        ``{"object": "list", "data", "first_id", "last_id", "has_more"}``.
    """
    chosen = items[:limit]
    return {
        "object": "list",
        "data": [item.as_json() for item in chosen],
        "first_id": chosen[0].id if chosen else None,
        "last_id": chosen[-1].id if chosen else None,
        "has_more": len(items) > limit,
    }


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


def _open_for_writing(path: Path) -> IO[bytes]:
    return path.open("wb")


async def _receive(part: BodyPartReader, path: Path, limit: int) -> _Received:
    """Write a file part to ``path``, stopping as soon as it exceeds ``limit`` bytes."""
    received = _Received(content_type=part.headers.get("Content-Type"))
    received.filename = part.filename or "file"
    digest = hashlib.sha256()
    sink = await asyncio.to_thread(_open_for_writing, path)
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
    return web.FileResponse(stored.path, headers={"Content-Type": stored.content_type})


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
