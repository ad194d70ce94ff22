"""``AsyncStream``: server-sent events turned into typed items, one socket read per pull.

There is no background reader and no queue: :meth:`AsyncStream.__anext__` reads the socket
only when the current chunk's events are used up, and cuts each event from the chunk only
when it is asked for, so aiohttp pauses the socket when the consumer is slow, and memory
stays within aiohttp's read buffer plus one chunk. ``[DONE]``,
in-band error events and truncated streams are all handled here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Generic, Self, TypeVar

from ._codec import loads
from ._errors import APIConnectionError, APITimeoutError, StreamError, extract_message
from ._sse import EventTooLargeError, SSEDecoder
from ._transport import StreamResponse, warn_unclosed

__all__ = ["RECEIVED_TEXT_LIMIT", "AsyncStream"]

T = TypeVar("T")

RECEIVED_TEXT_LIMIT: Final = 1 << 20
"""Characters of generated text a stream keeps for errors and merging (see ``AsyncStream``)."""

_DONE: Final = "[DONE]"


class AsyncStream(Generic[T]):
    """An async iterator of typed stream items, and an async context manager.

    Iterate it with ``async for`` inside ``async with``; leaving the block (normally, by
    ``break``, by an exception or by cancellation) closes the stream and gives the
    connection back. Each pull reads the socket only when needed, so a slow consumer slows
    the server down instead of filling memory.

    The generated text is kept (up to ``RECEIVED_TEXT_LIMIT`` characters) so that a
    :class:`StreamError` can carry what arrived before a failure.

    Attributes:
        usage: The last usage object seen on the stream (DeepInfra sends it with the finish
            chunk; OpenAI-style servers on a trailing chunk), or ``None``.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_closed", "_decoder", "_done", "_finished", "_is_final",
        "_on_done", "_overflowed", "_parse", "_received", "_received_len", "_response", "_text_of",
        "_unbounded", "_usage_of", "usage",
    )  # fmt: skip

    def __init__(
        self,
        response: StreamResponse,
        parse: Callable[[Any], T],
        *,
        max_event_bytes: int,
        is_final: Callable[[Any], bool] | None = None,
        text_of: Callable[[T], str | None] | None = None,
        usage_of: Callable[[T], Any] | None = None,
        on_done: Callable[[Any], None] | None = None,
    ) -> None:
        self._response = response
        self._parse = parse
        self._decoder = SSEDecoder(max_event_bytes)
        self._done = False  # no more items will be produced
        self._finished = False  # the stream reached its proper end
        self._closed = False
        self._is_final = is_final
        self._text_of = text_of
        self._usage_of = usage_of
        self._on_done = on_done
        self._received: list[str] | None = None  # made on first use
        self._received_len = 0
        self._unbounded = False
        self._overflowed = False
        self.usage: Any = None

    @property
    def request_id(self) -> str | None:
        """The request id the server sent in the response headers, if any."""
        return self._response.request_id

    @property
    def response(self) -> StreamResponse:
        """The underlying response (status and headers)."""
        return self._response

    @property
    def closed(self) -> bool:
        """Whether the stream has been closed and its connection released."""
        return self._closed

    @property
    def received_text(self) -> str:
        """The generated text seen so far (at most ``RECEIVED_TEXT_LIMIT`` characters)."""
        return "".join(self._received) if self._received else ""

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        decoder = self._decoder
        try:
            while True:
                pulled = decoder.pull()
                if pulled is None:
                    if self._done:
                        if not self._finished:
                            msg = "the stream ended before its final event ([DONE])"
                            raise self._error(msg)
                        break
                    await self._fill()
                    continue
                data = pulled if isinstance(pulled, str) else pulled.data
                if data == _DONE:
                    self._finished = True
                    break
                item = self._item(data)
                if item is not None:
                    return item
        except EventTooLargeError as exc:
            self._release()
            msg = f"a server-sent event exceeded Limits.max_event_bytes ({exc.limit} bytes)"
            raise self._error(msg) from exc
        except BaseException:
            # Errors, cancellation and GeneratorExit all end the stream here.
            self._release()
            raise
        self._done = True
        self._release()
        if self._finished and self._on_done is not None:
            done, self._on_done = self._on_done, None
            done(self.usage)
        raise StopAsyncIteration

    async def _fill(self) -> None:
        """Read the next socket chunk; its events are cut from it as they are pulled."""
        try:
            chunk = await self._response.read_chunk()
        except APITimeoutError:
            raise
        except APIConnectionError as exc:
            raise self._error(f"the connection was lost mid-stream: {exc.message}") from exc
        if chunk:
            self._decoder.push(chunk)
        else:
            self._done = True
            self._decoder.end()

    def _item(self, data: str) -> T | None:
        try:
            obj = loads(data)
        except ValueError as exc:
            msg = f"a stream event is not valid JSON: {data[:200]!r}"
            raise self._error(msg) from exc
        if obj.__class__ is dict and ("error_type" in obj or obj.get("error") is not None):
            message = extract_message(obj, status=200)
            error_type = obj.get("error_type")
            raise self._error(
                f"the server reported an error mid-stream: {message}",
                body=obj,
                error_type=error_type if isinstance(error_type, str) else None,
            )
        item = self._parse(obj)
        self._observe(item)
        if self._is_final is not None and self._is_final(obj):
            self._finished = True
        return item

    def _observe(self, item: T) -> None:
        """Note what an item carries (usage, text); subclasses that merge items override it."""
        if self._usage_of is not None:
            usage = self._usage_of(item)
            if usage is not None:
                self.usage = usage
        if self._text_of is not None:
            text = self._text_of(item)
            if text:
                if self._unbounded or self._received_len < RECEIVED_TEXT_LIMIT:
                    if self._received is None:
                        self._received = []
                    self._received.append(text)
                    self._received_len += len(text)
                else:
                    self._overflowed = True

    def _error(
        self, message: str, *, body: object = None, error_type: str | None = None
    ) -> StreamError:
        received = self.received_text
        if self._overflowed:
            message += f" (received text kept: the first {len(received)} characters)"
        return StreamError(
            message,
            body=body,
            error_type=error_type,
            received=received,
            request_id=self.request_id,
        )

    def _release(self) -> None:
        if not self._closed:
            self._closed = True
            self._done = True
            self._response._release()

    async def aclose(self) -> None:
        """Close the stream and release its connection. Safe to call more than once."""
        self._release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._release()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            warn_unclosed(self, repr(self))
            self._release()

    def __repr__(self) -> str:
        state = ("finished" if self._finished else "closed") if self._closed else "open"
        return f"<{type(self).__name__} {state} status={self._response.status}>"
