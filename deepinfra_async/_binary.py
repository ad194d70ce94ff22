"""``BinaryResponse``: a binary body (speech, file contents) read whole or in chunks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Self, final

from ._transport import StreamResponse, warn_unclosed

__all__ = ["BinaryResponse"]


@final
class BinaryResponse:
    """A binary response body, read on demand.

    Read it whole with ``await response.read()``, in chunks with
    ``async for chunk in response.iter_bytes()``, or straight to disk with
    ``await response.write_to(path)``. Each way reads the socket only as fast as it goes, and
    releases the connection when the body ends; ``aclose()`` (or ``async with``) releases it
    early.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_consumed", "_response")

    def __init__(self, response: StreamResponse) -> None:
        self._response = response
        self._consumed = False

    @property
    def content_type(self) -> str:
        """The media type the server declared (without parameters)."""
        value = self._response.headers.get("Content-Type", "application/octet-stream")
        return value.split(";", 1)[0].strip()

    @property
    def request_id(self) -> str | None:
        """The request id from the response headers, if any."""
        return self._response.request_id

    @property
    def response(self) -> StreamResponse:
        """The underlying response (status and headers)."""
        return self._response

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield the body in chunks as they arrive.

        Raises:
            RuntimeError: The body was already read.
            APIConnectionError: The connection was lost mid-body.
        """
        if self._consumed:
            msg = "this response body was already read: keep the bytes from the first read"
            raise RuntimeError(msg)
        self._consumed = True
        try:
            while chunk := await self._response.read_chunk():
                yield chunk
        finally:
            await self._response.aclose()

    async def read(self) -> bytes:
        """Read the whole body."""
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def write_to(self, path: str | os.PathLike[str]) -> int:
        """Stream the body into a file, chunk by chunk; memory stays bounded.

        Disk writes run in a worker thread, so the event loop never waits on the disk.

        Args:
            path: Where to write (replaced if it exists).

        Returns:
            The number of bytes written.
        """
        written = 0
        handle = await asyncio.to_thread(Path(path).open, "wb")
        try:
            async for chunk in self.iter_bytes():
                await asyncio.to_thread(handle.write, chunk)
                written += len(chunk)
        finally:
            await asyncio.to_thread(handle.close)
        return written

    async def aclose(self) -> None:
        """Release the connection without reading the rest. Safe to call more than once."""
        self._consumed = True
        await self._response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        response = getattr(self, "_response", None)
        if response is not None and not response.closed:
            warn_unclosed(self, repr(self))
            response._release()

    def __repr__(self) -> str:
        state = "closed" if self._response.closed else "open"
        return f"<BinaryResponse {self.content_type} {state}>"
