"""Files the emulator holds: a store in a temporary directory, and list pagination.

Each emulator keeps its files (uploads and batch outputs) in a `FileStore`, whose directory
is created on first use and removed when the emulator closes. File bytes only ever live on
disk. The query and page helpers here are shared by the Files and Batches list routes.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import attrs
from aiohttp import web

from ._wire import json_response, openai_error

__all__ = [
    "DEFAULT_EXPIRY",
    "FileStore",
    "StoredFile",
    "bad_cursor",
    "list_page",
    "query_choice",
    "query_int",
]

#: Seconds a file lives when the upload names no ``expires_after``.
DEFAULT_EXPIRY: Final = 30 * 86400

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
