"""Writing server-sent event streams: chunk templates, batching, pacing and mid-stream faults.

A route renders its stream as an iterator of ``(event text, tokens)`` pairs; `write_stream`
sends them. Unthrottled streams are batched into writes of about 64 KiB, and every write
goes through ``await response.write(...)``, which waits while the socket's buffers are full:
a client that stops reading stops the writer, and `StreamStats` shows how far it got.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from ._controls import Controls
from ._faults import Fault

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["DONE", "Event", "StreamStats", "Template", "sse_event", "write_stream"]

#: The line that ends a successful stream.
DONE: Final = "data: [DONE]\n\n"
#: An event's text and the number of tokens it carries (for pacing).
Event = tuple[str, int]

# Unthrottled streams are written in batches of at least this many bytes.
_BATCH_BYTES: Final = 64 << 10
# A stalled stream gives up and drops its connection after this many seconds.
_STALL_LIMIT: Final = 3600.0


@attrs.define(eq=False)
class StreamStats:
    """Live accounting of one streamed (SSE) response, updated as the emulator writes.

    Attributes:
        path: The request path.
        model: The model that serves the stream.
        bytes_written: Body bytes handed to the connection so far.
        events_written: SSE events written so far (``[DONE]`` and error events included).
        finished: ``True`` once the body was ended normally, after ``[DONE]`` or after an
            in-band error event; ``False`` while streaming and for streams that were
            dropped, stalled or abandoned by the client.

    .. versionadded:: 0.1.0
    """

    path: str
    model: str | None
    bytes_written: int = 0
    events_written: int = 0
    finished: bool = False


def sse_event(data: Any) -> str:
    """Render one SSE event carrying ``data`` as JSON (Python-style separators).

    Args:
        data: A JSON-serialisable value.

    Returns:
        ``data: <json>`` followed by a blank line.
    """
    return f"data: {json.dumps(data)}\n\n"


class Template:
    """An SSE event serialised once, with slots to fill with JSON text per event.

    Example::

        template = Template({"text": "<t>", "usage": "<u>"}, ["<t>", "<u>"])
        template.render('"hi"', "null")  # the event of {"text": "hi", "usage": null}

    Args:
        data: The event's JSON value, with a unique marker string where each slot goes.
        slots: The markers, in the order they appear in the serialised JSON.

    Raises:
        ValueError: A marker is missing or out of order.
    """

    __slots__ = ("_parts",)

    def __init__(self, data: Any, slots: Sequence[str]) -> None:
        rest = sse_event(data)
        parts: list[str] = []
        for slot in slots:
            head, found, rest = rest.partition(json.dumps(slot))
            if not found:
                raise ValueError(f"slot {slot!r} is missing or out of order in the template")
            parts.append(head)
        parts.append(rest)
        self._parts = tuple(parts)

    def render(self, *values: str) -> str:
        """Fill the slots, in order, with JSON text.

        Args:
            *values: One JSON text per slot, e.g. ``'"piece"'`` or ``"null"``.

        Returns:
            The event text.
        """
        parts = self._parts
        if len(values) == 2:
            return parts[0] + values[0] + parts[1] + values[1] + parts[2]
        pieces = [parts[0]]
        for value, part in zip(values, parts[1:], strict=True):
            pieces += (value, part)
        return "".join(pieces)


@attrs.frozen
class _Interrupt:
    """Something to do once ``after`` events have been written."""

    after: int
    delay: float = 0.0
    action: str | None = None  # "drop", "error", "stall", or None to go on after the delay
    error: dict[str, Any] | None = None


def _interrupts(controls: Controls, fault: Fault | None) -> deque[_Interrupt]:
    found: list[_Interrupt] = []
    if controls.drop_after is not None:
        found.append(_Interrupt(controls.drop_after, action="drop"))
    if controls.error_after is not None:
        error = {"error_type": controls.error_type, "error_message": controls.error_message}
        found.append(_Interrupt(controls.error_after, action="error", error=error))
    if controls.stall_after is not None:
        found.append(_Interrupt(controls.stall_after, action="stall"))
    if fault is not None and fault.after_events is not None:
        action = (
            "drop"
            if fault.drop
            else "stall"
            if fault.stall
            else "error"
            if fault.error is not None
            else None
        )
        found.append(_Interrupt(fault.after_events, fault.delay, action, fault.error))
    return deque(sorted(found, key=lambda interrupt: interrupt.after))


class _Writer:
    """Batches event text into writes and keeps the stream's statistics."""

    __slots__ = ("_batch", "_events", "_request", "_response", "_size", "stats")

    def __init__(
        self, request: web.BaseRequest, response: web.StreamResponse, stats: StreamStats
    ) -> None:
        self._request = request
        self._response = response
        self.stats = stats
        self._batch: list[str] = []
        self._size = 0
        self._events = 0

    async def add(self, text: str) -> None:
        self._batch.append(text)
        self._size += len(text)
        self._events += 1
        if self._size >= _BATCH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if not self._batch:
            return
        data = "".join(self._batch).encode()
        events = self._events
        self._batch.clear()
        self._size = self._events = 0
        await self._response.write(data)
        self.stats.bytes_written += len(data)
        self.stats.events_written += events

    async def end(self) -> None:
        await self.flush()
        await self._response.write_eof()
        self.stats.finished = True

    def abort(self) -> None:
        transport = self._request.transport
        if transport is not None:
            transport.abort()

    async def interrupt(self, interrupt: _Interrupt) -> bool:
        """Apply an interrupt; return whether the stream is over."""
        await self.flush()
        if interrupt.delay > 0:
            await asyncio.sleep(interrupt.delay)
        if interrupt.action == "drop":
            self.abort()
            return True
        if interrupt.action == "error":
            await self.add(sse_event(interrupt.error))
            await self.end()
            return True
        if interrupt.action == "stall":
            await asyncio.sleep(_STALL_LIMIT)
            self.abort()
            return True
        return False


async def write_stream(
    emu: Emulator,
    request: web.Request,
    model: str,
    events: Iterable[Event],
    controls: Controls,
) -> web.StreamResponse:
    """Send a ``text/event-stream`` response made of ``events``.

    Applies the request's pacing (``token_rate``) and mid-stream faults, both from the
    ``"emulator"`` controls and from the first matching mid-stream fault of ``emu.faults``,
    and records a `StreamStats` in ``emu.streams``.

    Args:
        emu: The emulator serving the request.
        request: The request being answered.
        model: The model that serves it.
        events: The events to send, ``[DONE]`` included.
        controls: The request's controls.

    Returns:
        The response, already sent (or dropped).
    """
    pending = _interrupts(controls, emu.faults.take_mid_stream(request.method, request.path))
    response = web.StreamResponse(headers={"Cache-Control": "no-cache"})
    response.content_type = "text/event-stream"
    stats = StreamStats(path=request.path, model=model)
    emu.streams.append(stats)
    writer = _Writer(request, response, stats)
    rate = controls.token_rate
    loop = asyncio.get_running_loop()
    try:
        await response.prepare(request)
        start = loop.time()
        tokens_due = 0
        index = 0
        for text, tokens in events:
            while pending and pending[0].after == index:
                if await writer.interrupt(pending.popleft()):
                    return response
            if rate > 0 and tokens > 0:
                tokens_due += tokens
                wait = start + tokens_due / rate - loop.time()
                if wait > 0:
                    await writer.flush()
                    await asyncio.sleep(wait)
            await writer.add(text)
            index += 1
        while pending and pending[0].after == index:
            if await writer.interrupt(pending.popleft()):
                return response
        await writer.end()
    except ConnectionError:
        # The client went away; the stream stays unfinished in its statistics.
        pass
    return response
