"""``client.files`` and ``client.batches``: DeepInfra's server-side Batch API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypeVar

from .._binary import BinaryResponse
from .._codec import FileInput, build_multipart
from .._config import Timeout
from ..types.batches import Batch, BatchList, FileDeleted, FileList, FileObject
from ._base import Resource, decode_json, require_files, structure

__all__ = ["Batches", "Files"]

R = TypeVar("R")

BATCH_ENDPOINTS: Final = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})


def _object_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not value or not all(c.isalnum() or c in "-_" for c in value):
        msg = f"{name} must be an id of letters, digits, '-' and '_', got {value!r}"
        raise ValueError(msg)
    return value


def _query(**values: object) -> dict[str, str] | None:
    query = {k: str(v) for k, v in values.items() if v is not None}
    return query or None


class _Api(Resource):
    __slots__ = ()

    async def _call(
        self,
        cls: type[R],
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> R:
        response = await self._send_json(
            method,
            self._openai_url(path),
            body,
            model=None,
            extra_headers=extra_headers,
            timeout=timeout,
            params=params,
        )
        return structure(cls, decode_json(response))


class Files(_Api):
    """``client.files``: upload, list, read and delete files (batch inputs and outputs)."""

    __slots__ = ()

    async def create(
        self,
        *,
        file: FileInput,
        purpose: str = "batch",
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> FileObject:
        """Upload a file; a ``pathlib.Path`` is streamed from disk.

        Args:
            file: Bytes, a path, a binary file, or ``(filename, file[, content_type])``.
            purpose: ``"batch"`` for batch inputs.
            extra_headers: Extra headers for this call.
            timeout: Timeouts for this call.

        Returns:
            The stored file.

        .. versionadded:: 0.1.0
        """
        require_files([("file", file)])
        transport = self._ready()
        response = await transport.send(
            "POST",
            self._openai_url("/files"),
            multipart=build_multipart([("purpose", purpose)], [("file", file)]),
            headers=extra_headers,
            timeout=self._timeout(timeout),
        )
        return structure(FileObject, decode_json(response))

    async def list(
        self,
        *,
        purpose: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        timeout: Timeout | float | None = None,
    ) -> FileList:
        """List files, a page at a time (pass the last id as ``after`` for the next page)."""
        params = _query(purpose=purpose, after=after, limit=limit, order=order)
        return await self._call(FileList, "GET", "/files", params=params, timeout=timeout)

    async def retrieve(self, file_id: str, *, timeout: Timeout | float | None = None) -> FileObject:
        """Describe one file."""
        path = f"/files/{_object_id('file_id', file_id)}"
        return await self._call(FileObject, "GET", path, timeout=timeout)

    async def content(
        self, file_id: str, *, timeout: Timeout | float | None = None
    ) -> BinaryResponse:
        """Open a file's contents: ``await .read()``, ``.iter_bytes()`` or ``.write_to(path)``."""
        transport = self._ready()
        response = await transport.stream(
            "GET",
            self._openai_url(f"/files/{_object_id('file_id', file_id)}/content"),
            timeout=self._timeout(timeout),
        )
        return BinaryResponse(response)

    async def delete(self, file_id: str, *, timeout: Timeout | float | None = None) -> FileDeleted:
        """Delete a file."""
        path = f"/files/{_object_id('file_id', file_id)}"
        return await self._call(FileDeleted, "DELETE", path, timeout=timeout)


class Batches(_Api):
    """``client.batches``: create, follow and cancel server-side batch jobs."""

    __slots__ = ()

    async def create(
        self,
        *,
        input_file_id: str,
        endpoint: str,
        completion_window: str = "24h",
        metadata: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> Batch:
        """Start a batch over an uploaded JSONL file.

        Args:
            input_file_id: The uploaded input (``purpose="batch"``).
            endpoint: ``/v1/chat/completions``, ``/v1/completions`` or ``/v1/embeddings``;
                every line's ``url`` must equal it.
            completion_window: ``"24h"``.
            metadata: Up to 16 string pairs.
            timeout: Timeouts for this call.

        Returns:
            The batch, usually ``validating``.

        .. versionadded:: 0.1.0
        """
        if endpoint not in BATCH_ENDPOINTS:
            msg = f"endpoint must be one of {sorted(BATCH_ENDPOINTS)}, got {endpoint!r}"
            raise ValueError(msg)
        body: dict[str, Any] = {
            "input_file_id": _object_id("input_file_id", input_file_id),
            "endpoint": endpoint,
            "completion_window": completion_window,
        }
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return await self._call(Batch, "POST", "/batches", body=body, timeout=timeout)

    async def retrieve(self, batch_id: str, *, timeout: Timeout | float | None = None) -> Batch:
        """Describe one batch."""
        path = f"/batches/{_object_id('batch_id', batch_id)}"
        return await self._call(Batch, "GET", path, timeout=timeout)

    async def list(
        self,
        *,
        after: str | None = None,
        limit: int | None = None,
        timeout: Timeout | float | None = None,
    ) -> BatchList:
        """List batches, newest first, a page at a time."""
        params = _query(after=after, limit=limit)
        return await self._call(BatchList, "GET", "/batches", params=params, timeout=timeout)

    async def cancel(self, batch_id: str, *, timeout: Timeout | float | None = None) -> Batch:
        """Ask a batch to stop; finished lines stay in its output."""
        path = f"/batches/{_object_id('batch_id', batch_id)}/cancel"
        return await self._call(Batch, "POST", path, timeout=timeout)
