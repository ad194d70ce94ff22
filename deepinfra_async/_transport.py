"""The transport: one pooled aiohttp session, the per-model limiter, and the retry loop.

This is the only module that imports the aiohttp client. Everything above it sends a request
and gets back either a fully read :class:`Response` or a :class:`StreamResponse` whose body is
read on demand. aiohttp and asyncio exceptions become ours in one function,
:func:`map_transport_error`, used for requests and for stream reads alike. aiohttp only gets
the connection within its timeouts; ``Timeout.read`` and ``Timeout.total`` are kept by the
client's watchdog (:mod:`._watchdog`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import io
import logging
import platform
import warnings
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, final

import aiohttp
import attrs
from aiohttp import hdrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._codec import Multipart, loads
from ._config import ClientConfig, RetryDetails, RetryPolicy, Timeout
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    DeepInfraError,
    RateLimitError,
    StreamError,
    error_class_for_status,
    extract_message,
)
from ._retry import parse_retry_after, retry_delay, retry_reason
from ._version import __version__
from ._watchdog import INF, CallWatch, Watch, Watchdog, period_for

__all__ = ["ClientState", "Response", "StreamResponse", "Transport", "map_transport_error"]

log: Final = logging.getLogger("deepinfra_async")
_DEBUG: Final = logging.DEBUG

USER_AGENT: Final = (
    f"deepinfra-async/{__version__} python/{platform.python_version()} "
    f"aiohttp/{aiohttp.__version__}"
)
# Header names are aiohttp's case-insensitive constants, which carry their folded form: names
# given as plain strings are folded again each time aiohttp copies the headers (three times per
# request), and the copy a response keeps for its request_info holds the folded strings. The
# per-request sets are read-only multidicts, which aiohttp takes without converting them first.
_JSON_CONTENT: Final = CIMultiDictProxy(CIMultiDict({hdrs.CONTENT_TYPE: "application/json"}))
# What _send hands back: the whole body, a stream, or a stream that must be server-sent events.
_WHOLE: Final = 0
_STREAM: Final = 1
_EVENT_STREAM: Final = 2
_SNIPPET_BYTES: Final = 4096
_REDACTED: Final = "[redacted]"


class ClientState(enum.Enum):
    """Life cycle of a :class:`~deepinfra_async.DeepInfra` client: it opens once, closes once.

    .. versionadded:: 0.1.0
    """

    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


def map_transport_error(
    exc: BaseException, method: str, url: URL | str, timeout: Timeout
) -> DeepInfraError:
    """Translate an aiohttp or OS error into the matching ``deepinfra_async`` error.

    Args:
        exc: The error raised while connecting, sending, or reading.
        method: The HTTP method, for the message.
        url: The request URL, for the message.
        timeout: The timeouts in force, for the message.

    Returns:
        The error to raise (``raise mapped from exc``).
    """
    where = f"{method} {url}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(
            f"{where}: no connection within the connect timeout ({timeout.connect} s) "
            f"or the pool timeout ({timeout.pool} s)",
            phase="connect",
            request_sent=False,
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return read_timeout_error(method, url, timeout)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"{where}: cannot connect to {exc.host}:{exc.port}: {exc.os_error}",
            request_sent=False,
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError(f"{where}: the server closed the connection unexpectedly")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return APIConnectionError(f"{where}: the response body was cut short ({exc})")
    return APIConnectionError(f"{where}: {type(exc).__name__}: {exc}")


def read_timeout_error(method: str, url: URL | str, timeout: Timeout) -> APITimeoutError:
    """The error for a call or a stream that received nothing for ``timeout.read`` seconds."""
    return APITimeoutError(
        f"{method} {url}: the server sent nothing for {timeout.read} s (read timeout)",
        phase="read",
    )


def _request_id_from(headers: Mapping[str, str], body: object) -> str | None:
    rid = headers.get("x-request-id")
    if rid:
        return rid
    if isinstance(body, dict):
        value = body.get("request_id")
        if isinstance(value, str) and value:
            return value
    return None


async def _not_an_event_stream(resp: aiohttp.ClientResponse) -> StreamError:
    """Build the error for a 2xx answer that is not an event stream (e.g. a proxy's JSON).

    Reads the start of the body for the message, then drops the connection.
    """
    head = b""
    with contextlib.suppress(aiohttp.ClientError):
        while len(head) < _SNIPPET_BYTES:
            chunk = await resp.content.readany()
            if not chunk:
                break
            head += chunk
    if resp.content.is_eof():
        resp.release()
    else:
        resp.close()
    ctype = resp.headers.get("Content-Type", "")
    text = head[:_SNIPPET_BYTES].decode("utf-8", errors="replace")
    msg = f"expected an event stream, got {ctype or 'no content type'}: {text[:200]!r}"
    return StreamError(msg, body=text, request_id=resp.headers.get("x-request-id") or None)


# aiohttp warns (ResourceWarning) about a bytes body larger than this.
_LARGE_BODY: Final = 1 << 20
_CONNECTOR_FILE: Final = aiohttp.connector.__file__
_CLIENT_FILE: Final = aiohttp.client.__file__
_MAX_AWAIT_DEPTH: Final = 64


def _unsent(pending: object) -> bool:
    """Whether an aiohttp request has not been sent whole (waiting for a connection, or writing).

    It may wait in the connector (pool, DNS, TCP connect), or still be writing its body. This
    walks the chain of awaits from the request's coroutine (``session.request()``'s awaitable
    keeps it as ``_coro``); in the session's own frames, the request (``req``) keeps the task
    writing its body as ``_writer`` until it is done. Looked at only when a read clock runs
    out; anything unexpected answers ``False``, and the read clock then counts from the start
    of the attempt, as if the request had gone out at once.
    """
    node = getattr(pending, "_coro", None)
    for _ in range(_MAX_AWAIT_DEPTH):
        if node is None:
            return False
        code = getattr(node, "cr_code", None) or getattr(node, "gi_code", None)
        if code is not None:
            if code.co_filename == _CONNECTOR_FILE:
                return True
            frame = getattr(node, "cr_frame", None)
            if code.co_filename == _CLIENT_FILE and frame is not None:
                request = frame.f_locals.get("req")
                if getattr(request, "_writer", None) is not None:
                    return True
        node = getattr(node, "cr_await", None) or getattr(node, "gi_yieldfrom", None)
    return False


def _large_body(body: bytes) -> aiohttp.BytesPayload:
    """A body over 1 MiB as aiohttp's payload, without its advice to send it from a file.

    A large JSON body (say, an image as a data URL) is already in memory: the transport hands
    the socket what it takes and buffers the rest, so sending it does not hold the event loop
    up, and the caller has nothing to change. The payload is reused by every attempt.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return aiohttp.BytesPayload(body)


def _connect_timeouts(timeout: Timeout, waited: float = 0.0) -> aiohttp.ClientTimeout:
    """Aiohttp's timeouts for one attempt: getting a connection only.

    ``read`` and ``total`` are the watchdog's (:mod:`._watchdog`). ``waited``: seconds already
    spent waiting for a per-model slot, which count against ``pool``.
    """
    pool = None if timeout.pool is None else max(timeout.pool - waited, 0.001)
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if pool is None or timeout.connect is None else pool + timeout.connect,
        sock_connect=timeout.connect,
    )


def _redact(value: object, secret: str) -> Any:
    """Remove ``secret`` from every string inside a decoded body (error paths only)."""
    if isinstance(value, str):
        return value.replace(secret, _REDACTED)
    if isinstance(value, dict):
        return {k: _redact(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secret) for v in value]
    return value


@final
class _Limiter:
    """A per-model slot counter; taking a free slot needs no coroutine and no lock.

    Waiters queue in FIFO order. A released slot goes straight to the first live waiter, so
    a newcomer cannot overtake the queue.
    """

    __slots__ = ("free", "size", "waiters")

    def __init__(self, size: int) -> None:
        self.size = size
        self.free = size
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def wait(self) -> None:
        """Wait for a slot to be handed over (call only when ``free`` is 0)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # The slot arrived as the wait was cancelled: pass it on.
                self.release()
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back: to the first waiter still waiting, or to the free count."""
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


@final
class Response:
    """A response whose body has been read in full.

    Attributes:
        status: The HTTP status.
        headers: The response headers (case-insensitive).
        content: The raw body.
        url: The request URL.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_json", "content", "headers", "status", "url")

    def __init__(
        self, status: int, headers: CIMultiDictProxy[str], content: bytes, url: URL
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.url = url
        self._json: Any = _UNREAD

    def json(self) -> Any:
        """Decode the body as JSON (decoded once, then cached).

        Raises:
            ValueError: The body is not valid JSON.
        """
        if self._json is _UNREAD:
            self._json = loads(self.content)
        return self._json

    def text(self) -> str:
        """Decode the body as text, using the charset the server declared (UTF-8 otherwise)."""
        charset = "utf-8"
        ctype = self.headers.get("Content-Type", "")
        for part in ctype.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` header, or the JSON body's ``request_id``."""
        rid = self.headers.get("x-request-id")
        if rid:
            return rid
        if self.content[:1] == b"{":
            try:
                body = self.json()
            except ValueError:
                return None
            return _request_id_from(self.headers, body)
        return None

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.content)} bytes>"


_UNREAD: Final = object()


@final
class StreamResponse(Watch):
    """A successful response whose body is read chunk by chunk, only when asked.

    Nothing reads the socket in the background: aiohttp pauses it once its buffer is full, so
    the server is slowed to the consumer's pace. :meth:`aclose` (idempotent) gives the
    connection and the per-model limiter slot back. ``Timeout.read`` bounds each read; the
    response is its own watch (:mod:`._watchdog`) while a read is pending.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_closed", "_eof", "_limiter", "_period", "_resp", "_timeout", "_watchdog", "headers",
        "method", "status", "url",
    )  # fmt: skip

    def __init__(
        self,
        resp: aiohttp.ClientResponse,
        limiter: _Limiter | None,
        method: str,
        timeout: Timeout,
        watchdog: Watchdog,
    ) -> None:
        super().__init__(timeout.read)
        # How often the watchdog looks at a pending read: worked out once, not on every read.
        self._period = period_for(timeout.read, None)
        self._watchdog = watchdog
        self._resp = resp
        self._limiter = limiter
        self._timeout = timeout
        self._closed = False
        self._eof = False
        self.status = resp.status
        self.headers: CIMultiDictProxy[str] = resp.headers
        self.url = resp.url
        self.method = method

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` header, if the server sent one."""
        return self.headers.get("x-request-id") or None

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` ran (or the stream was released otherwise)."""
        return self._closed

    async def read_chunk(self) -> bytes:
        """Read whatever the socket has next; ``b""`` at the end of the body.

        Raises:
            APIConnectionError: The connection was lost mid-body.
            APITimeoutError: Nothing arrived within the read timeout.
        """
        limit = self.limit
        watched = limit != INF
        watchdog = self._watchdog
        if watched:
            watchdog.start(self, self._period)
            self.expires = watchdog.now() + limit
        try:
            data = await self._resp.content.readany()
        except aiohttp.ClientError as exc:
            raise map_transport_error(exc, self.method, self.url, self._timeout) from exc
        except asyncio.CancelledError:
            # Not ours unless the watchdog fired (claim is False for a watch never started).
            if watchdog.claim(self, "read"):
                raise read_timeout_error(self.method, self.url, self._timeout) from None
            raise
        finally:
            if watched:
                watchdog.stop(self)
        if not data:
            self._eof = True
        return data

    def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._eof or self._resp.content.is_eof():
            # The body ended (its last bytes may sit unread in the buffer): reuse the socket.
            self._resp.release()
        else:
            # An unfinished HTTP/1.1 body cannot be skipped cheaply: drop the connection.
            self._resp.close()
        if self._limiter is not None:
            self._limiter.release()

    async def aclose(self) -> None:
        """Release the connection and the limiter slot. Safe to call more than once."""
        self._release()

    def __del__(self) -> None:
        if not self._closed:
            # The loop may already be gone at interpreter exit.
            with contextlib.suppress(Exception):
                self._release()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<StreamResponse {self.status} {state}>"


@final
class Transport:
    """Sends requests over one pooled ``aiohttp.ClientSession``, with limits and retries.

    Args:
        config: The client configuration.
    """

    __slots__ = (
        "_auth", "_auth_json", "_base_headers", "_client_timeouts", "_config", "_default_period",
        "_default_timeout", "_limiters", "_loop", "_session", "_watchdog", "state",
    )  # fmt: skip

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self.state = ClientState.UNOPENED
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiters: dict[str, _Limiter] = {}
        self._watchdog: Watchdog | None = None
        self._client_timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        # The client's own Timeout, the common case.
        self._default_timeout = _connect_timeouts(config.timeout)
        self._default_period = period_for(config.timeout.read, config.timeout.total)
        # Case-insensitive, so that a caller's "user-agent" replaces ours instead of joining it.
        headers = CIMultiDict({hdrs.USER_AGENT: USER_AGENT, hdrs.ACCEPT: "application/json"})
        headers.update(config.default_headers)
        self._base_headers = headers
        # The key goes on each request rather than on the session, so that a request to a host
        # other than DeepInfra's (say, a generated image's URL) never carries it.
        auth = CIMultiDict[str]()
        if config.api_key is not None:
            auth[hdrs.AUTHORIZATION] = f"Bearer {config.api_key}"
        self._auth: Mapping[str, str] | None = CIMultiDictProxy(auth.copy()) if auth else None
        auth.extend(_JSON_CONTENT)
        self._auth_json: Mapping[str, str] = CIMultiDictProxy(auth)

    def open(self) -> None:
        """Create the connector and session in the running event loop.

        Raises:
            RuntimeError: The transport is already open, or closed.
        """
        if self.state is not ClientState.UNOPENED:
            if self.state is ClientState.OPENED:
                msg = (
                    "this DeepInfra client is already open: enter it with `async with` once, "
                    "and share that one client instead of entering it again"
                )
            else:
                msg = (
                    "this DeepInfra client is closed and cannot be reopened: "
                    "create a new DeepInfra()"
                )
            raise RuntimeError(msg)
        limits = self._config.limits
        loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            limit_per_host=limits.max_connections_per_host or 0,
            keepalive_timeout=limits.keepalive_expiry,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self._base_headers,
            timeout=self._default_timeout,
            read_bufsize=limits.read_bufsize,
            raise_for_status=False,
        )
        self._loop = loop
        self._watchdog = Watchdog(loop, _unsent)
        self.state = ClientState.OPENED

    def check_loop(self) -> None:
        """Refuse use from an event loop other than the one the session was opened in.

        Raises:
            RuntimeError: The running loop is another one.
        """
        if asyncio.get_running_loop() is not self._loop:
            msg = (
                "this DeepInfra client was opened in another event loop, and aiohttp sessions "
                "cannot cross event loops: create the client inside the loop that uses it "
                "(e.g. within the coroutine passed to asyncio.run)"
            )
            raise RuntimeError(msg)

    def ready(self) -> Transport:
        """Return this transport ready to send: opened on first use, in the right loop.

        Raises:
            RuntimeError: The client is closed, or used from another event loop.
        """
        if self.state is not ClientState.OPENED:
            if self.state is ClientState.CLOSED:
                msg = "this DeepInfra client is closed: create a new DeepInfra() to send requests"
                raise RuntimeError(msg)
            self.open()
        elif asyncio.get_running_loop() is not self._loop:
            self.check_loop()
        return self

    async def aclose(self) -> None:
        """Close the session and every pooled connection. Safe to call more than once.

        Raises:
            RuntimeError: Called from an event loop other than the one it opened in.
        """
        if self.state is ClientState.CLOSED:
            return
        if self.state is ClientState.OPENED:
            self.check_loop()
        self.state = ClientState.CLOSED
        if self._watchdog is not None:
            self._watchdog.close()
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _client_timeout(self, timeout: Timeout, waited: float) -> aiohttp.ClientTimeout:
        """Aiohttp's timeouts for one attempt, after ``waited`` seconds for a per-model slot."""
        if waited:
            return _connect_timeouts(timeout, waited)
        # The common case builds no object; the client's own timeouts skip even hashing.
        if timeout is self._config.timeout:
            return self._default_timeout
        cached = self._client_timeouts.get(timeout)
        if cached is None:
            cached = self._client_timeouts[timeout] = _connect_timeouts(timeout)
        return cached

    def _limiter_for(self, model: str | None) -> _Limiter | None:
        if model is None:
            return None
        limiter = self._limiters.get(model)
        if limiter is None:
            size = self._config.limits.per_model_concurrency
            if size is None:
                return None
            limiter = self._limiters[model] = _Limiter(size)
        return limiter

    def limiter_in_use(self, model: str) -> int:
        """Return how many requests for ``model`` hold a limiter slot now."""
        limiter = self._limiters.get(model)
        if limiter is None:
            return 0
        return limiter.size - limiter.free

    def send(
        self,
        method: str,
        url: URL,
        *,
        body: bytes | None = None,
        multipart: Multipart | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        model: str | None = None,
        timeout: Timeout,
        retry: RetryPolicy | None = None,
        fail_fast: bool = False,
        authorize: bool = True,
    ) -> Coroutine[Any, Any, Response]:
        """Send a request with retries and read its whole body (a coroutine: await it).

        Args:
            method: HTTP method.
            url: Absolute URL.
            body: A JSON body, already encoded.
            multipart: A multipart body instead of ``body``; built afresh for each attempt
                (a body that cannot be replayed, such as an unseekable file, is not retried).
            headers: Extra headers for this call.
            params: Query parameters.
            model: The model the call is for; selects the per-model limiter.
            timeout: Timeouts for this call.
            retry: Retry policy for this call (the client's when ``None``).
            fail_fast: The body asked for an immediate 429 when there is no capacity.
            authorize: Send the API key (only to DeepInfra's own hosts).

        Returns:
            The response, body read.

        Raises:
            APIStatusError: The final attempt got an error status.
            APIConnectionError: The final attempt got no usable response.
        """
        # Returns _send's coroutine itself: no extra coroutine layer per request.
        coroutine: Coroutine[Any, Any, Response] = self._send(  # type: ignore[assignment]
            method, url, body, multipart, headers, params, model, timeout, retry, fail_fast,
            authorize, _WHOLE,
        )  # fmt: skip
        return coroutine

    def stream(
        self,
        method: str,
        url: URL,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        model: str | None = None,
        timeout: Timeout,
        retry: RetryPolicy | None = None,
        fail_fast: bool = False,
        authorize: bool = True,
        event_stream: bool = False,
    ) -> Coroutine[Any, Any, StreamResponse]:
        """Open a streaming response (a coroutine: await it); retries stop at its headers.

        ``timeout.total`` bounds opening the stream; reading it is bounded by ``timeout.read``.
        The caller must ``aclose()`` the result.

        Args and raises are as for :meth:`send`, and:
            event_stream: Refuse a 2xx answer that is not ``text/event-stream`` with a
                :class:`StreamError` quoting the start of its body.
        """
        coroutine: Coroutine[Any, Any, StreamResponse] = self._send(  # type: ignore[assignment]
            method, url, body, None, headers, params, model, timeout, retry, fail_fast,
            authorize, _EVENT_STREAM if event_stream else _STREAM,
        )  # fmt: skip
        return coroutine

    async def _send(
        self,
        method: str,
        url: URL,
        body: bytes | None,
        multipart: Multipart | None,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        model: str | None,
        timeout: Timeout,
        retry: RetryPolicy | None,
        fail_fast: bool,
        authorize: bool,
        mode: int,
    ) -> Response | StreamResponse:
        # One coroutine per call, retry loop and attempts alike: a request in flight holds one
        # frame of this library, not two.
        send_headers = self._headers(body is not None, headers, authorize)
        session = self._session
        loop = self._loop
        watchdog = self._watchdog
        if session is None or loop is None or watchdog is None:
            msg = "the transport is not open"
            raise RuntimeError(msg)
        policy = self._config.retry if retry is None else retry
        starts: dict[int, int] | None = None
        if multipart is not None:
            if not multipart.replayable and policy.max_attempts > 1:
                policy = attrs.evolve(policy, max_attempts=1)
            starts = _start_positions(multipart)
        start = loop.time()
        deadline = None if timeout.total is None else start + timeout.total
        # The read clock and the deadline are the watchdog's: aiohttp only gets a connection.
        watch: CallWatch | None = None
        if deadline is not None or timeout.read is not None:
            if timeout is self._config.timeout:
                period = self._default_period
            else:
                period = period_for(timeout.read, timeout.total)
            watch = CallWatch(timeout.read, INF if deadline is None else deadline)
            watchdog.start(watch, period)
        limiter = self._limiter_for(model)
        attempt = 1
        payload: bytes | aiohttp.BytesPayload | None = body
        if body is not None and len(body) > _LARGE_BODY:
            payload = _large_body(body)
        data: aiohttp.FormData | None = None
        opened: list[IO[bytes]] | None = None
        try:
            while True:
                if multipart is not None and starts is not None:
                    # Sending consumes a multipart body: each attempt builds its own.
                    data, opened = _form(multipart, starts)
                waited = 0.0
                handed_over = False
                try:
                    if limiter is not None:
                        if limiter.free:
                            limiter.free -= 1
                        else:
                            waited = await self._acquire(limiter, timeout, model or "")
                    debug = log.isEnabledFor(_DEBUG)
                    started = loop.time() if debug else 0.0
                    try:
                        pending = session.request(
                            method,
                            url,
                            data=payload if data is None else data,
                            headers=send_headers,
                            params=params,
                            timeout=self._client_timeout(timeout, waited),
                        )
                        if watch is not None:
                            watch.pending = pending
                            watch.unsent = False
                            watch.expires = loop.time() + watch.limit
                        resp = await pending
                        if watch is not None:
                            watch.pending = None
                            watch.body = resp.content
                            watch.seen = 0
                            watch.expires = loop.time() + watch.limit
                        status = resp.status
                        if status >= 400:
                            raw = await resp.read()
                            resp.release()
                        elif mode != _WHOLE:
                            if mode == _EVENT_STREAM and not resp.headers.get(
                                hdrs.CONTENT_TYPE, ""
                            ).startswith("text/event-stream"):
                                raise await _not_an_event_stream(resp)
                            handed_over = True
                            result: Response | StreamResponse = StreamResponse(
                                resp, limiter, method, timeout, watchdog
                            )
                        else:
                            result = Response(status, resp.headers, await resp.read(), url)
                    except aiohttp.ClientError as exc:
                        if debug:
                            outcome = type(exc).__name__
                            self._log_attempt(method, url, outcome, started, attempt, policy)
                        raise map_transport_error(exc, method, url, timeout) from exc
                    except asyncio.CancelledError:
                        if watch is None or not watchdog.claim(watch, "read"):
                            raise
                        if debug:
                            self._log_attempt(method, url, "read timeout", started, attempt, policy)
                        watchdog.start(watch, period)
                        raise read_timeout_error(method, url, timeout) from None
                    else:
                        if debug:
                            self._log_attempt(method, url, status, started, attempt, policy)
                        if status >= 400:
                            raise self._status_error(resp, raw)
                        return result
                    finally:
                        if watch is not None:
                            watch.pending = watch.body = None
                            watch.expires = INF
                        if limiter is not None and not handed_over:
                            limiter.release()
                except (APIStatusError, APIConnectionError) as exc:
                    error: DeepInfraError = exc
                finally:
                    if opened is not None:
                        for handle in opened:
                            handle.close()
                await asyncio.sleep(
                    self._backoff(method, url, error, policy, attempt, fail_fast, start, deadline)
                )
                attempt += 1
        except asyncio.CancelledError:
            if watch is None or not watchdog.claim(watch, "total"):
                raise
            msg = (
                f"{method} {url}: no complete answer within the total timeout "
                f"({timeout.total} s, {attempt} attempt(s))"
            )
            raise APITimeoutError(msg, phase="total") from None
        finally:
            if watch is not None:
                watchdog.stop(watch)

    def _headers(
        self, has_body: bool, headers: Mapping[str, str] | None, authorize: bool
    ) -> Mapping[str, str] | None:
        """The headers a call sends besides the session's: the key, the body's type, the caller's.

        Raises:
            AuthenticationError: The call needs the key and the client has none.
        """
        base: Mapping[str, str] | None
        if authorize:
            if self._auth is None:
                msg = (
                    "no API key: pass DeepInfra(api_key=...) or set DEEPINFRA_API_KEY "
                    "(or DEEPINFRA_API_TOKEN); nothing was sent"
                )
                raise AuthenticationError(msg, status=401)
            base = self._auth_json if has_body else self._auth
        else:
            base = _JSON_CONTENT if has_body else None
        if headers is None:
            return base
        # Case-insensitive, so that the caller's "content-type" replaces ours.
        merged = CIMultiDict(base or ())
        merged.update(headers)
        return merged

    @staticmethod
    def _backoff(
        method: str,
        url: URL,
        error: DeepInfraError,
        policy: RetryPolicy,
        attempt: int,
        fail_fast: bool,
        start: float,
        deadline: float | None,
    ) -> float:
        """Seconds to wait before retrying a failed attempt, after logging and ``on_retry``.

        Raises:
            DeepInfraError: ``error`` itself, when it is not to be retried.
        """
        now = asyncio.get_running_loop().time()
        delay = retry_delay(
            policy,
            error,
            attempt,
            fail_fast=fail_fast,
            remaining=None if deadline is None else deadline - now,
        )
        if delay is None:
            raise error
        reason = retry_reason(error)
        log.warning(
            "Retrying %s %s in %.2f s after %s (attempt %d of %d)",
            method, url, delay, reason, attempt, policy.max_attempts,
        )  # fmt: skip
        if policy.on_retry is not None:
            policy.on_retry(
                RetryDetails(
                    method=method,
                    url=str(url),
                    attempt=attempt,
                    max_attempts=policy.max_attempts,
                    delay=delay,
                    reason=reason,
                    error=error,
                    elapsed=now - start,
                )
            )
        return delay

    async def _acquire(self, limiter: _Limiter, timeout: Timeout, model: str) -> float:
        """Wait for a slot of a full limiter; return how long it took."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        if timeout.pool is None:
            await limiter.wait()
        else:
            try:
                async with asyncio.timeout(timeout.pool):
                    await limiter.wait()
            except TimeoutError:
                msg = (
                    f"waited {timeout.pool} s (pool timeout) for one of the "
                    f"{self._config.limits.per_model_concurrency} per-model slots of {model!r}"
                )
                raise APITimeoutError(msg, phase="pool", request_sent=False) from None
        return loop.time() - started

    @staticmethod
    def _log_attempt(
        method: str, url: URL, outcome: object, started: float, attempt: int, policy: RetryPolicy
    ) -> None:
        elapsed = (asyncio.get_running_loop().time() - started) * 1000.0
        log.debug(
            "%s %s -> %s in %.1f ms (attempt %d of %d)",
            method, url, outcome, elapsed, attempt, policy.max_attempts,
        )  # fmt: skip

    def _status_error(self, resp: aiohttp.ClientResponse, raw: bytes) -> APIStatusError:
        status = resp.status
        headers = resp.headers
        body: object = None
        if raw:
            try:
                body = loads(raw)
            except ValueError:
                body = raw.decode("utf-8", errors="replace")
        key = self._config.api_key
        if key and body is not None:
            body = _redact(body, key)
        message = extract_message(body, status=status, reason=resp.reason)
        request_id = _request_id_from(headers, body)
        cls = error_class_for_status(status)
        if cls is RateLimitError:
            return RateLimitError(
                message,
                status=status,
                body=body,
                request_id=request_id,
                headers=headers,
                retry_after=parse_retry_after(headers),
            )
        return cls(message, status=status, body=body, request_id=request_id, headers=headers)


class _Borrowed(io.RawIOBase):
    """The caller's file object, lent to aiohttp: read and seek pass through, close does not."""

    def __init__(self, inner: BinaryIO) -> None:
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)

    def seekable(self) -> bool:
        return self._inner.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def fileno(self) -> int:
        return self._inner.fileno()

    def close(self) -> None:
        """Leave the caller's file open: it is theirs to close."""


def _start_positions(multipart: Multipart) -> dict[int, int]:
    """Remember where each seekable file object starts, so a retry can send it again."""
    starts: dict[int, int] = {}
    for part in multipart.files:
        source = part.source
        if not isinstance(source, bytes | Path):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                starts[id(source)] = source.tell()
    return starts


def _form(multipart: Multipart, starts: dict[int, int]) -> tuple[aiohttp.FormData, list[IO[bytes]]]:
    """Build one attempt's multipart body; returns it with the files opened for it."""
    form = aiohttp.FormData()
    opened: list[IO[bytes]] = []
    for name, value in multipart.fields:
        form.add_field(name, value)
    for part in multipart.files:
        source = part.source
        payload: bytes | IO[bytes] | io.RawIOBase
        if isinstance(source, bytes):
            payload = source
        elif isinstance(source, Path):
            # Streamed from disk in chunks by aiohttp; never read whole.
            handle = source.open("rb")
            opened.append(handle)
            payload = handle
        else:
            start = starts.get(id(source))
            if start is not None:
                source.seek(start)
            payload = _Borrowed(source)
        form.add_field(part.field, payload, filename=part.filename, content_type=part.content_type)
    return form, opened


def warn_unclosed(obj: object, what: str) -> None:
    """Emit the ``ResourceWarning`` for an object collected while still open."""
    warnings.warn(
        f"{what} was not closed: use `async with` or call `await ...aclose()`",
        ResourceWarning,
        source=obj,
        stacklevel=2,
    )
