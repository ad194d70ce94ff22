"""Fault injection: make chosen requests slow, fail with a status, or lose their connection.

A fault is matched after routing and auth, so it only ever replaces the answer of a request
that would otherwise have reached a real handler.

There are two kinds. A *pre-header* fault (no ``after_events``) is taken when the request
arrives and delays it, answers it with a status, or drops its connection before any header.
A *mid-stream* fault (``after_events=k``) is taken only when a streaming (SSE) response
starts, and acts after ``k`` events: it pauses, drops the connection, sends an in-band
error event, or stalls. Each kind is looked up in its own turn, so one request can meet a
pre-header fault and a mid-stream fault.
"""

from __future__ import annotations

import asyncio
import fnmatch
import http
import json
import math
import random
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
from aiohttp import web
from multidict import CIMultiDict

from ._wire import openai_error

__all__ = ["Fault", "Faults", "run_fault"]


def _remaining_default(fault: Fault) -> int | None:
    return fault.times


@attrs.define(kw_only=True, eq=False)
class Fault:
    """One injected fault, as created by `Faults.add`.

    Attributes:
        path_pattern: `fnmatch` pattern matched against the request path (case-sensitive).
        method: Only requests with this method match (any method when ``None``).
        status: Answer with this status instead of running the real handler.
        body: The body sent with ``status``.
        headers: Extra headers sent with ``status``.
        retry_after: Value of the ``Retry-After`` header sent with ``status``.
        retry_after_ms: Value of the ``retry-after-ms`` header sent with ``status``.
        delay: Seconds to wait before anything is sent; for a mid-stream fault, seconds to
            pause after ``after_events`` events.
        drop: Close the connection without a response (after ``delay``), or, for a
            mid-stream fault, abruptly after ``after_events`` events.
        after_events: Makes this a mid-stream fault that acts after this many events of
            a streaming response (``None`` for a pre-header fault).
        error: Mid-stream only: the JSON object of the in-band error event sent after
            ``after_events`` events, after which the stream ends without ``[DONE]``.
        stall: Mid-stream only: stop sending after ``after_events`` events and keep the
            connection open until the client leaves or the emulator closes.
        times: How many requests the fault applies to (``None`` = all of them).
        every: Apply to every ``every``-th matching request only (1 = each of them), which
            spreads faults through a run, e.g. ``every=10`` for one request in ten.
        hits: How many requests it has applied to so far.
        remaining: Uses left (``None`` = unlimited).
        rate: Apply to each matching request with this probability (1.0 = always), drawn
            from a generator seeded with ``seed``, so a run is repeatable.
        seed: Seed of the ``rate`` draws.
        seen: Matching requests seen so far (counted for ``every``).

    .. versionadded:: 0.1.0
    """

    path_pattern: str
    method: str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    retry_after: float | str | None = None
    retry_after_ms: int | None = None
    delay: float = 0.0
    drop: bool = False
    after_events: int | None = None
    error: dict[str, Any] | None = None
    stall: bool = False
    times: int | None = 1
    every: int = 1
    rate: float = 1.0
    seed: int = 0
    seen: int = 0
    _rng: random.Random = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self) -> bool:
        """Decide whether this matching request is hit, counting it for ``every``."""
        self.seen += 1
        if self.seen % self.every:
            return False
        return self.rate >= 1.0 or self._rng.random() < self.rate

    hits: int = 0
    remaining: int | None = attrs.field(default=attrs.Factory(_remaining_default, takes_self=True))

    def matches(self, method: str, path: str) -> bool:
        """Tell whether the fault still applies to a request.

        Args:
            method: The request method (upper case).
            path: The request path, without the query string.

        Returns:
            ``True`` when uses are left and the method and path match.
        """
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        return fnmatch.fnmatchcase(path, self.path_pattern)


def _check_mid_stream_args(
    after_events: int | None,
    error: Mapping[str, Any] | None,
    stall: bool,
    drop: bool,
    answers: bool,
) -> None:
    if after_events is None:
        if error is not None or stall:
            raise ValueError("error= and stall= are mid-stream faults: set after_events too")
        return
    if after_events < 0 or type(after_events) is bool:
        raise ValueError(f"after_events must be an integer >= 0, got {after_events!r}")
    if answers:
        raise ValueError(
            "a mid-stream fault (after_events) cannot set status, body, headers or "
            "retry_after: the response headers are already sent"
        )
    if sum((drop, stall, error is not None)) > 1:
        raise ValueError("a mid-stream fault either drops, sends an error or stalls, not several")


def _check_fault_args(
    status: int | None,
    retry_after: float | str | None,
    retry_after_ms: int | None,
    delay: float,
    drop: bool,
    times: int | None,
) -> None:
    if status is not None and not 200 <= status <= 599:
        raise ValueError(f"status must be between 200 and 599, got {status!r}")
    if drop and status is not None:
        raise ValueError("a fault either drops the connection or answers with a status, not both")
    if not math.isfinite(delay) or delay < 0:
        raise ValueError(f"delay must be a finite number of seconds >= 0, got {delay!r}")
    if times is not None and times < 1:
        raise ValueError(f"times must be >= 1 or None (forever), got {times!r}")
    if isinstance(retry_after, int | float) and (not math.isfinite(retry_after) or retry_after < 0):
        raise ValueError(f"retry_after must be >= 0 seconds or an HTTP date, got {retry_after!r}")
    if retry_after_ms is not None and retry_after_ms < 0:
        raise ValueError(f"retry_after_ms must be >= 0, got {retry_after_ms!r}")


class Faults:
    """The emulator's fault list: the first matching fault with uses left is applied.

    Example::

        emu.faults.add("/v1/openai/chat/completions", status=429, retry_after=1)
        emu.faults.add("*/chat/completions", delay=0.5, times=None)
        emu.faults.add("*/chat/completions", after_events=3, drop=True)

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_faults",)

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(
        self,
        path_pattern: str,
        *,
        method: str | None = None,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        after_events: int | None = None,
        error: Mapping[str, Any] | None = None,
        stall: bool = False,
        times: int | None = 1,
        every: int = 1,
        rate: float = 1.0,
        seed: int = 0,
    ) -> Fault:
        """Add a fault after the existing ones.

        Args:
            path_pattern: `fnmatch` pattern for the request path, e.g.
                ``"/v1/openai/chat/completions"`` or ``"*/chat/completions"``.
            method: Only match this HTTP method (any when ``None``).
            status: Answer with this status (200-599) instead of the real handler.
            body: Body sent with ``status``: a dict or list is sent as JSON, ``str`` or
                ``bytes`` as is; ``None`` sends an OpenAI-style error whose message is
                the status's reason phrase.
            headers: Extra headers sent with ``status``.
            retry_after: ``Retry-After`` value (seconds, or an HTTP date string).
            retry_after_ms: ``retry-after-ms`` value in milliseconds.
            delay: Seconds to wait before any header is sent. Without ``status`` or
                ``drop`` the real handler answers after the delay. With ``after_events``,
                seconds to pause the stream after that many events (then ``drop``,
                ``error`` or ``stall`` apply, or the stream goes on).
            drop: Close the connection without sending any response, or with
                ``after_events``, abruptly after that many events (no ``[DONE]``).
            after_events: Make this a mid-stream fault: it applies only to streaming
                responses, after this many events (0 = right after the headers). The
                ``[DONE]`` line counts as an event.
            error: With ``after_events``: send this object as one in-band SSE event,
                e.g. ``{"error_type": "internal_error", "error_message": "boom"}``, then end
                the stream without ``[DONE]``.
            stall: With ``after_events``: stop sending and hold the connection open
                until the client gives up or the emulator closes.
            times: How many requests the fault applies to; ``None`` for all.
            every: Apply only to every ``every``-th matching request (1, the default, means
                each one): ``every=10, times=None`` fails one request in ten, spread evenly.
            rate: Apply to each matching request with this probability (0 < rate <= 1),
                independently, as real failures happen: ``rate=0.1`` fails about one in ten.
            seed: Seed of the ``rate`` draws, so a run is repeatable.

        Returns:
            The fault, whose ``hits`` and ``remaining`` show how it was used.

        Raises:
            ValueError: An argument is out of range, or the arguments do not fit together
                (``drop`` with ``status``; ``error`` or ``stall`` without ``after_events``;
                ``after_events`` with ``status``, ``body``, ``headers`` or a retry header;
                more than one of ``drop``, ``error`` and ``stall`` mid-stream).
        """
        _check_fault_args(status, retry_after, retry_after_ms, delay, drop, times)
        if type(every) is not int or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"rate must be in (0, 1], got {rate!r}")
        answers = any(
            value is not None for value in (status, body, headers, retry_after, retry_after_ms)
        )
        _check_mid_stream_args(after_events, error, stall, drop, answers)
        fault = Fault(
            path_pattern=path_pattern,
            method=method.upper() if method is not None else None,
            status=status,
            body=body,
            headers=dict(headers or {}),
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            delay=float(delay),
            drop=drop,
            after_events=after_events,
            error=dict(error) if error is not None else None,
            stall=stall,
            times=times,
            every=every,
            rate=float(rate),
            seed=seed,
        )
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first pre-header fault that applies to a request.

        Mid-stream faults (those with ``after_events``) are skipped: see `take_mid_stream`.

        Args:
            method: The request method (upper case).
            path: The request path.

        Returns:
            The fault, with ``hits`` and ``remaining`` already updated, or ``None``.
        """
        return self._take(method, path, mid_stream=False)

    def take_mid_stream(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first mid-stream fault that applies to a streaming response.

        Args:
            method: The request method (upper case).
            path: The request path.

        Returns:
            The fault, with ``hits`` and ``remaining`` already updated, or ``None``.
        """
        return self._take(method, path, mid_stream=True)

    def _take(self, method: str, path: str, *, mid_stream: bool) -> Fault | None:
        for fault in self._faults:
            if (fault.after_events is not None) is mid_stream and fault.matches(method, path):
                if not fault.draw():
                    continue
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def __repr__(self) -> str:
        active = sum(1 for f in self._faults if f.remaining is None or f.remaining > 0)
        return f"<Faults {len(self._faults)} added, {active} active>"


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


def _format_retry_after(value: float | str) -> str:
    if isinstance(value, str):
        return value
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _status_response(fault: Fault, status: int) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict(fault.headers)
    if fault.retry_after is not None:
        headers["Retry-After"] = _format_retry_after(fault.retry_after)
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    body = fault.body
    if body is None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        body = openai_error(_reason(status), type="rate_limit_error" if status == 429 else kind)
    if isinstance(body, bytes):
        data, content_type = body, "application/octet-stream"
    elif isinstance(body, str):
        data, content_type = body.encode(), "text/plain; charset=utf-8"
    else:
        data, content_type = json.dumps(body).encode(), "application/json"
    if status in (204, 304):
        data = b""
    headers.setdefault("Content-Type", content_type)
    return web.Response(status=status, body=data, headers=headers)


async def run_fault(fault: Fault, request: web.BaseRequest) -> web.StreamResponse | None:
    """Apply a consumed pre-header fault to a request.

    Args:
        fault: The fault returned by `Faults.take`.
        request: The request being answered.

    Returns:
        ``None`` when the real handler should answer (a pure delay); otherwise the
        response to return. For ``drop`` the connection is already aborted and the
        returned response can never be sent.
    """
    if fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if fault.drop:
        transport = request.transport
        if transport is not None:
            transport.abort()
        return web.Response(status=500)
    if fault.status is not None:
        return _status_response(fault, fault.status)
    return None
