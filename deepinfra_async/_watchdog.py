"""Read and total timeouts for the calls in flight, checked by one timer per client.

aiohttp's own timeouts cost each request two or three timer handles: its ``total`` timer, and
its ``sock_read`` timer, which it cancels and schedules again on every socket read. A service
or a batch job sending thousands of calls a second pays for that on each of them, and every
open stream keeps a timer alive. Here a call (or a stream's pending read) registers a
:class:`Watch` instead: a few fields, one set entry. One :class:`Watchdog` per client wakes up
every ``period`` seconds while anything is registered, and cancels the task of a call whose
clock ran out; the call turns that cancellation into its :class:`~deepinfra_async.APITimeoutError`
(:meth:`Watchdog.claim`). A timeout therefore fires up to about two periods late, where a
period is a tenth of the shortest timeout in use, and at most one second.

Clocks:

* ``deadline``: the call's ``Timeout.total``, fixed when the call starts.
* ``expires``: the read clock, ``Timeout.read`` after the last sign of progress: the request
  sent whole, response headers, body bytes read whole (``body``, checked each period) or a
  stream chunk. It does not run while nothing is being read: while the request waits for a
  connection or is still being written (the clock is started with the call, and restarted once
  the watchdog sees it sent), between the chunks a stream's consumer asks for, during a backoff
  sleep, while waiting for a per-model slot.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any, Final, Protocol, cast, final

__all__ = ["INF", "CallWatch", "Progress", "Watch", "Watchdog", "period_for"]

INF: Final = math.inf
_MAX_PERIOD: Final = 1.0
_MIN_PERIOD: Final = 0.001


class Progress(Protocol):
    """A body being read: its byte count so far (aiohttp's ``StreamReader``)."""

    total_bytes: int


def period_for(read: float | None, total: float | None) -> float:
    """How often the watchdog looks at calls with these timeouts: a tenth of the shorter."""
    shortest = min(INF if read is None else read, INF if total is None else total)
    return max(min(shortest / 10, _MAX_PERIOD), _MIN_PERIOD)


class Watch:
    """The read clock of a pending read (a stream's chunk): registered only while reading."""

    __slots__ = ("cancelling", "expires", "fired", "limit", "task")

    # A stream's reads have no total deadline, nothing to poll, nothing to look inside.
    deadline: float = INF
    body: Progress | None = None
    pending: object = None
    seen: int = 0
    unsent = False

    def __init__(self, limit: float | None) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.cancelling = 0
        self.limit = INF if limit is None else limit
        self.expires = INF
        self.fired: str | None = None


@final
class CallWatch(Watch):
    """A whole call's clocks: its total deadline and the read clock of each attempt.

    Attributes:
        body: The body being read whole, whose progress restarts the read clock.
        pending: The request in progress before its response headers arrive; handed to the
            watchdog's ``unsent`` when the read clock has run out, to tell a call still
            waiting for a connection or writing its body from one waiting for an answer.
        unsent: The watchdog last saw ``pending`` not yet sent.
    """

    __slots__ = ("body", "deadline", "pending", "seen", "unsent")

    def __init__(self, limit: float | None, deadline: float) -> None:
        super().__init__(limit)
        self.deadline = deadline
        self.body = None
        self.pending = None
        self.seen = 0
        self.unsent = False


@final
class Watchdog:
    """Checks every registered :class:`Watch`, every period, while any is registered.

    Args:
        loop: The client's event loop.
        unsent: Whether a call's ``pending`` request has not been sent whole yet: it waits for
            a connection (bounded by the pool and connect timeouts, not by ``read``) or is
            still writing its body (an upload may take longer than ``read``).
    """

    __slots__ = ("_handle", "_loop", "_period", "_unsent", "_watches")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        unsent: Callable[[object], bool],
    ) -> None:
        self._loop = loop
        self._unsent = unsent
        self._watches: set[Watch] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._period = INF

    def start(self, watch: Watch, period: float) -> None:
        """Register ``watch`` for the running task; it is checked every ``period`` or sooner.

        Raises:
            RuntimeError: Called outside an asyncio task.
        """
        task = asyncio.current_task(self._loop)
        if task is None:
            msg = "deepinfra_async calls must run inside an asyncio task"
            raise RuntimeError(msg)
        watch.task = task
        watch.cancelling = task.cancelling()
        watch.fired = None
        self._watches.add(watch)
        if period < self._period:
            if self._handle is not None:
                self._handle.cancel()
            self._period = period
            self._handle = self._loop.call_at(self._loop.time() + period, self._tick)

    def now(self) -> float:
        """The loop's clock, which the watches' times are on."""
        return self._loop.time()

    def stop(self, watch: Watch) -> None:
        """Unregister ``watch`` (whether or not it is registered)."""
        self._watches.discard(watch)
        watch.task = None
        watch.expires = INF

    def claim(self, watch: Watch, phase: str) -> bool:
        """After a ``CancelledError``: whether it is this watch's ``phase`` timing out.

        ``False`` means the cancellation came from elsewhere (also), and must propagate.
        """
        if watch.fired != phase or watch.task is None:
            return False
        watch.fired = None
        return watch.task.uncancel() <= watch.cancelling

    def close(self) -> None:
        """Stop checking; the calls still registered run on without timeouts."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._watches.clear()
        self._period = INF

    def _tick(self) -> None:
        watches = self._watches
        if not watches:
            self._handle = None
            self._period = INF
            return
        now = self._loop.time()
        expired: list[Watch] = []
        for watch in watches:
            if now >= watch.deadline:
                watch.fired = "total"
            else:
                body = watch.body
                if body is not None and body.total_bytes != watch.seen:
                    # Only a call's watch has a body: bytes arrived since the last look.
                    cast("CallWatch", watch).seen = body.total_bytes
                    watch.expires = now + watch.limit
                    continue
                if now < watch.expires:
                    continue
                if body is None and watch.pending is not None:
                    call = cast("CallWatch", watch)
                    if self._unsent(watch.pending):
                        # Not sent yet: look again next period.
                        call.unsent = True
                        watch.expires = now + self._period
                        continue
                    if call.unsent:
                        # Sent since the last look: the wait for an answer starts now.
                        call.unsent = False
                        watch.expires = now + watch.limit
                        continue
                watch.fired = "read"
            expired.append(watch)
        for watch in expired:
            watches.discard(watch)
            if watch.task is not None:
                watch.task.cancel()
        self._handle = self._loop.call_at(now + self._period, self._tick)
