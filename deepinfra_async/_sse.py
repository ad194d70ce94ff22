r"""An I/O-free, incremental decoder for ``text/event-stream`` bodies (server-sent events).

:class:`SSEDecoder` takes the response body as it arrives, in chunks split anywhere, and
returns the complete events in each chunk. It follows the WHATWG "server-sent events"
parsing rules:

* lines end in CR, LF or CRLF, and are split on *bytes* before UTF-8 decoding, so a
  multi-byte character or a CRLF split between two chunks is put back together; no other
  character ends a line;
* each line is decoded as UTF-8 with invalid bytes replaced, and a UTF-8 byte order mark at
  the start of the stream is dropped;
* ``data`` lines are joined with ``"\n"``, ``event`` names the type (default
  ``"message"``), ``id`` sets the last event id, which carries over to later events, and
  ``retry`` is kept when it is all ASCII digits; comments (``:``) and unknown fields are
  skipped;
* a blank line dispatches the event, if it had at least one ``data`` line.

One event may not grow past ``max_event_bytes``: the decoder raises
:class:`EventTooLargeError` as soon as it has seen more, so a server that never ends a line
cannot make it buffer without limit.

The decoder sits on the per-chunk path of every streamed LLM response, so in the common
chunk (one or more ``data: {...}\n\n`` events, LF only) each event is found with one
``bytes.find(b"\n\n")`` and each single-line ``data:`` event is built straight away, without
per-line or per-byte Python work. :meth:`SSEDecoder.pull` cuts the events one at a time,
when they are asked for, so a stream holds a chunk's bytes rather than its decoded events.
"""

from __future__ import annotations

from typing import Final, NamedTuple, NoReturn

__all__ = ["EventTooLargeError", "SSEDecoder", "ServerSentEvent"]

_BOM: Final = b"\xef\xbb\xbf"
_LF: Final = 10
_CR: Final = 13
_COLON: Final = 58


class ServerSentEvent(NamedTuple):
    r"""One dispatched server-sent event.

    A plain named tuple, because one is built for every streamed chunk.

    Attributes:
        data: The ``data`` lines of the event, joined with ``"\n"``.
        event: The event type: the last ``event`` field of the event, or ``"message"``.
        id: The last event id seen in the stream so far (it carries over from earlier
            events, as in the WHATWG rules), or ``None`` if the stream never sent one.
        retry: The reconnection time in milliseconds from a valid ``retry`` field in this
            event, or ``None``.

    .. versionadded:: 0.1.0
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


# Building the tuple directly skips the generated ``__new__``, which matters per event.
_new_event: Final = tuple.__new__


class EventTooLargeError(ValueError):
    """A server-sent event, or one of its lines, grew past ``max_event_bytes``.

    Attributes:
        limit: The configured ``max_event_bytes``.
        size: The bytes seen so far for the event when the decoder gave up (its ``data``
            lines plus the line being read, without line terminators).

    .. versionadded:: 0.1.0
    """

    def __init__(self, limit: int, size: int) -> None:
        super().__init__(limit, size)
        self.limit = limit
        self.size = size

    def __str__(self) -> str:
        return (
            f"server-sent event exceeds max_event_bytes: {self.size} bytes seen, "
            f"the limit is {self.limit}"
        )


class SSEDecoder:
    r"""Incremental decoder from ``text/event-stream`` bytes to :class:`ServerSentEvent`.

    Call :meth:`feed` with each chunk of the body, in order, and :meth:`flush` once at
    the end. The decoder does no I/O.

    At the end of the stream, :meth:`flush` departs from the WHATWG rules in one way:
    the rules discard an event that no blank line ended, but some servers end with
    ``data: [DONE]\n`` and no blank line. So :meth:`flush` dispatches the pending event
    if, and only if, its last line was terminated (by CR, LF or CRLF). A trailing line with
    no terminator is still parsed as a line (an ``id`` in it is kept), but because it may
    have been cut off mid-way, the event it belongs to is dropped.

    After :meth:`flush` the decoder is ready for a new stream (for instance after a
    reconnection): it drops a byte order mark again and keeps only the last event id.

    Size cap: the bytes of the event being built (its ``data`` lines so far plus the line
    currently being read, without terminators) may not exceed ``max_event_bytes``. The
    decoder raises :class:`EventTooLargeError` as soon as they would, so it never holds
    more than ``max_event_bytes`` of unfinished line (see :attr:`buffered_bytes`). After
    that error the stream cannot be resynchronised: every later :meth:`feed` or
    :meth:`flush` raises it again. Events that were complete in the same chunk as the
    oversized data are lost with it.

    Args:
        max_event_bytes: The largest event (and line) accepted, in bytes.

    Raises:
        ValueError: If ``max_event_bytes`` is less than 1.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_buf", "_chunk", "_clean", "_cr", "_data", "_event", "_failed", "_head", "_last_id",
        "_limit", "_pending", "_pos", "_retry", "_size", "_special", "_start",
    )  # fmt: skip

    def __init__(self, max_event_bytes: int = 8 * 1024 * 1024) -> None:
        if max_event_bytes < 1:
            msg = f"max_event_bytes must be at least 1, got {max_event_bytes!r}"
            raise ValueError(msg)
        self._limit = max_event_bytes
        # The unterminated end of the stream so far: never holds a CR or LF.
        self._buf: bytes | bytearray = b""
        # Bytes held back at the very start while they could still be a split BOM.
        self._head = b""
        self._start = True
        # The previous chunk ended in CR, so an LF opening the next one ends no line.
        self._cr = False
        self._failed: EventTooLargeError | None = None
        # Any of the three states above: checked once per chunk instead of three times.
        self._special = True
        # Nothing pending: the stream so far ended with a blank line (or is empty).
        self._clean = True
        # The event being built.
        self._data: list[str] | None = None  # made when an event is parsed line by line
        self._event = "message"
        self._retry: int | None = None
        self._size = 0
        # Per the WHATWG rules the last event id outlives the event that set it.
        self._last_id: str | None = None
        # The pushed chunk, where pull() goes on from, and events cut but not yet pulled.
        self._chunk = b""
        self._pos = 0
        self._pending: list[ServerSentEvent] | None = None

    @property
    def max_event_bytes(self) -> int:
        """The size cap this decoder enforces, in bytes."""
        return self._limit

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for a line that has not ended yet.

        At most ``max_event_bytes``, except for up to two bytes of a possibly split byte
        order mark at the start of a stream.
        """
        return len(self._buf) + len(self._head)

    def __repr__(self) -> str:
        return (
            f"<SSEDecoder max_event_bytes={self._limit} buffered_bytes={self.buffered_bytes}"
            f" pending_data_lines={len(self._data or ())} failed={self._failed is not None}>"
        )

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode the next chunk of the stream.

        Args:
            chunk: The next bytes of the body, split anywhere (an empty chunk is a no-op).

        Returns:
            The events completed by this chunk, in order (often empty).

        Raises:
            EventTooLargeError: If the event being built grew past ``max_event_bytes``,
                or the decoder already raised it.
        """
        self.push(chunk)
        events: list[ServerSentEvent] = []
        while (item := self.pull()) is not None:
            if item.__class__ is str:
                # A plain event: its id is the one in force when it was pulled.
                item = _new_event(ServerSentEvent, (item, "message", self._last_id, None))
            events.append(item)  # type: ignore[arg-type]
        return events

    def push(self, chunk: bytes) -> None:
        """Take the next chunk of the stream, whose events :meth:`pull` then cuts one by one.

        Only the chunk is held, never a list of its decoded events: a consumer that pulls
        one event at a time holds the bytes it has not reached yet and nothing more. Pull
        every event (until ``None``) before the next :meth:`push`, :meth:`feed` or :meth:`end`.

        Args:
            chunk: The next bytes of the body, split anywhere (an empty chunk is a no-op).

        Raises:
            EventTooLargeError: If the decoder already raised it.
        """
        if self._special:
            chunk = self._prepare(chunk)
        # Membership of an int is a memchr; a one-byte bytes needle is several times slower.
        if _CR in chunk:
            # Rare in practice: normalise to LF. A final CR already ends its line, so only
            # remember it, to swallow an LF that may open the next chunk.
            if chunk[-1] == _CR:
                self._cr = self._special = True
            # (Joining an rsplit measured faster than bytes.replace for a two-byte needle.)
            chunk = b"\n".join(chunk.rsplit(b"\r\n"))
            if _CR in chunk:
                chunk = chunk.replace(b"\r", b"\n")
        self._chunk = chunk
        self._pos = 0
        if not self._clean:
            # The first "\n\n" ends the event that earlier chunks began.
            end = chunk.find(b"\n\n")
            if end >= 0:
                self._pending = self._finish_event(chunk[:end])
                self._pos = end + 2

    def pull(self) -> str | ServerSentEvent | None:
        """Cut the next complete event from the pushed chunk (or the end of the stream).

        Returns:
            The data of an event made of one ``data:`` line within the chunk (the common
            case) as a ``str``, with ``event`` ``"message"``, the current ``id`` and no
            ``retry``; any other event as a :class:`ServerSentEvent`; ``None`` once the chunk
            holds no further complete event.

        Raises:
            EventTooLargeError: If an event grew past ``max_event_bytes``; the events before
                it were pulled first.
        """
        pending = self._pending
        if pending:
            return pending.pop(0)
        chunk = self._chunk
        if not chunk:
            return None
        # A blank line ends every event, so each "\n\n" ends a whole event; what follows the
        # last one is unfinished. Any choice of non-overlapping "\n\n" gives the same lines.
        pos = self._pos
        size = len(chunk)
        line_end = chunk.find(b"\n", pos)
        while line_end >= 0:
            if (
                line_end + 1 < size
                and chunk[line_end + 1] == _LF
                and chunk.startswith(b"data: ", pos)
            ):
                # The usual event: one "data: " line, then the blank line.
                if line_end - pos > self._limit:
                    self._fail(line_end - pos)
                self._pos = line_end + 2
                return chunk[pos + 6 : line_end].decode("utf-8", "replace")
            end = chunk.find(b"\n\n", pos)
            if end < 0:
                break
            lines = chunk[pos:end].split(b"\n")
            lines.append(b"")
            pos = self._pos = end + 2
            events = self._lines(lines)
            if events:
                self._pending = events
                return events.pop(0)
            line_end = chunk.find(b"\n", pos)
        # The unfinished rest: the start of the next event, if any.
        self._chunk = b""
        if pos < size:
            events = []
            self._rest(chunk[pos:] if pos else chunk, events)
            if events:
                self._pending = events
                return events.pop(0)
        return None

    def end(self) -> None:
        """End the stream as :meth:`flush` does; its last event, if any, is then pulled.

        Raises:
            EventTooLargeError: If the decoder already raised it.
        """
        self._pending = self.flush()

    def flush(self) -> list[ServerSentEvent]:
        """End the stream: parse a trailing unterminated line and dispatch what is complete.

        The pending event is dispatched only if its last line was terminated; see the
        class docstring for why this differs from the WHATWG rules.

        Returns:
            The pending event, if it is complete, in a list; otherwise an empty list.

        Raises:
            EventTooLargeError: If the decoder already raised it.
        """
        if self._failed is not None:
            self._fail(self._failed.size)
        self._chunk = b""
        self._pending = None
        rest = self._head + self._buf
        self._head = b""
        self._buf = b""
        self._start = self._special = self._clean = True
        self._cr = False
        if rest:
            self._lines([rest])
            # The unterminated line may have been cut short: drop its event.
            self._data = None
            self._event = "message"
            self._retry = None
            self._size = 0
            return []
        return self._lines([b""])

    def _prepare(self, chunk: bytes) -> bytes:
        """Handle the rare states before a chunk: failure, stream start, a CR just seen."""
        if self._failed is not None:
            self._fail(self._failed.size)
        if self._start:
            chunk = self._strip_bom(chunk)
        if self._cr and chunk:
            self._cr = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        self._special = self._start or self._cr
        return chunk

    def _finish_event(self, block: bytes) -> list[ServerSentEvent]:
        """Apply the first whole block of a chunk when earlier chunks left a partial event."""
        lines = block.split(b"\n")
        if self._buf:
            lines[0] = b"".join((self._buf, lines[0]))
            self._buf = b""
        lines.append(b"")
        self._clean = True
        return self._lines(lines)

    def _rest(self, rest: bytes, events: list[ServerSentEvent]) -> None:
        """Apply what follows the last double LF of a chunk: the start of an event, if any."""
        lines = rest.split(b"\n")
        tail = lines.pop()
        if lines:
            if self._buf:
                lines[0] = b"".join((self._buf, lines[0]))
                self._buf = b""
            events += self._lines(lines)
            self._clean = not tail and not lines[-1]
        else:
            self._clean = False
        if tail:
            held = self._size + len(self._buf) + len(tail)
            if held > self._limit:
                self._fail(held)
            if self._buf:
                self._buf += tail  # a bytearray: appending stays linear
            else:
                self._buf = bytearray(tail)

    def _strip_bom(self, chunk: bytes) -> bytes:
        """Drop a UTF-8 BOM at the start of the stream, even when it arrives split."""
        head = self._head + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._head = head
            return b""
        self._head = b""
        self._start = False
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        """Apply complete lines (without terminators) and return the events they dispatch."""
        events: list[ServerSentEvent] = []
        limit = self._limit
        size = self._size
        data = self._data
        if data is None:
            data = self._data = []
        event_type = self._event
        retry = self._retry
        last_id = self._last_id
        for line in lines:
            if not line:
                if data:
                    events.append(
                        _new_event(ServerSentEvent, ("\n".join(data), event_type, last_id, retry))
                    )
                    data.clear()
                event_type = "message"
                retry = None
                size = 0
            elif line.startswith(b"data:"):
                size += len(line)
                if size > limit:
                    self._fail(size)
                value = line[6:] if line[5:6] == b" " else line[5:]
                data.append(value.decode("utf-8", "replace"))
            elif size + len(line) > limit:
                self._fail(size + len(line))
            elif line[0] != _COLON:  # a leading colon marks a comment
                name, colon, value = line.partition(b":")
                if colon and value[:1] == b" ":
                    value = value[1:]
                if name == b"event":
                    event_type = value.decode("utf-8", "replace") or "message"
                elif name == b"id":
                    if b"\x00" not in value:
                        last_id = value.decode("utf-8", "replace")
                elif name == b"retry":
                    # bytes.isdigit() accepts ASCII digits only, as the rules require.
                    if value.isdigit():
                        retry = int(value)
                elif name == b"data":  # "data" with no colon: an empty data line
                    size += len(line)
                    data.append("")
        self._size = size
        self._event = event_type
        self._retry = retry
        self._last_id = last_id
        return events

    def _fail(self, size: int) -> NoReturn:
        """Drop the buffers, remember the failure and raise it."""
        self._buf = b""
        self._head = b""
        self._data = None
        self._special = True
        self._clean = False
        self._failed = EventTooLargeError(self._limit, size)
        raise EventTooLargeError(self._limit, size)
