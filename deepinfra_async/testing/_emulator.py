"""The loopback DeepInfra emulator: application, life cycle, auth and request recording.

Every request goes through one middleware, in this order:

1. it is recorded in `Emulator.requests` (rejected ones too);
2. unknown routes get 404 ``{"detail": "Not Found"}``, wrong methods 405;
3. a missing or wrong bearer token gets 401 with an OpenAI-style body (except on public
   routes such as ``GET /v1/images/{id}``);
4. the request counts as in flight for its model until its response is finished;
5. the first matching pre-header fault (if any) delays, drops or answers it;
6. otherwise the route's handler answers. A streaming handler records a `StreamStats` in
   `Emulator.streams` and applies the first matching mid-stream fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import json
import random
import secrets
import warnings
from contextvars import ContextVar
from typing import Any, Final, Self

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler as _AiohttpHandler

from ._batches import BatchStore
from ._catalogue import DEFAULT_MODELS
from ._faults import Faults, run_fault
from ._files import FileStore
from ._media import ImageStore
from ._native import DEFAULT_DEPLOYMENTS, NATIVE_PREFIX, NATIVE_ROUTES
from ._openai import OPENAI_PREFIXES, ROUTES, Handler
from ._sse_writer import StreamStats
from ._text import random_id
from ._uploads import UploadRecord
from ._webhooks import WebhookDelivery, WebhookSender
from ._wire import json_response, openai_error, validation_error

__all__ = ["Emulator", "RecordedRequest"]

#: JSON bodies up to this size are decoded into the request log.
_MAX_LOGGED_BODY: Final = 1 << 20
#: Largest request body a handler accepts (vision requests carry data URLs).
_MAX_BODY: Final = 64 << 20
#: How long shutdown waits for handlers and connections before forcing them closed.
_SHUTDOWN_TIMEOUT: Final = 0.25
_DEPLOY_PREFIX: Final = NATIVE_PREFIX + "deploy/"
_SECRET_HEADERS: Final = frozenset({"authorization", "x-api-key", "xi-api-key"})
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})

# The decoded JSON body of the request being handled, set by the middleware for the route
# handler. Each aiohttp request runs in its own task, so the value never leaks across requests.
_BODY: ContextVar[Any] = ContextVar("deepinfra_async_testing_body", default=None)


def _redacted(headers: dict[str, str]) -> str:
    shown = {k: "[secure]" if k in _SECRET_HEADERS else v for k, v in headers.items()}
    return repr(shown)


@attrs.frozen
class RecordedRequest:
    """A request the emulator received, as recorded before it was answered.

    Attributes:
        method: HTTP method, upper case.
        path: URL path without the query string.
        query: Query parameters (the first value of repeated ones).
        headers: Request headers with lower-cased names (repeated ones joined by ``", "``).
            The repr hides credentials.
        json: The decoded JSON body, or ``None`` when the body was not JSON (multipart and
            other bodies are never read into the log), was invalid JSON or was larger
            than 1 MiB.
        model: The JSON body's ``"model"`` (OpenAI-style routes), the model in the path
            of ``/v1/inference/{model}``, or the model of a ``/v1/inference/deploy/{id}``
            deployment; ``None`` otherwise.

    .. versionadded:: 0.1.0
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = attrs.field(repr=_redacted)
    json: Any
    model: str | None


class _State(enum.Enum):
    UNSTARTED = "unstarted"
    RUNNING = "running"
    CLOSED = "closed"


class _Unread(enum.Enum):
    """Markers for a JSON body that has not been decoded, or could not be."""

    UNREAD = enum.auto()
    INVALID = enum.auto()
    TOO_LARGE = enum.auto()


def _loopback(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"the emulator only listens on loopback addresses, got host={host!r}")
    return str(address)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        return _Unread.INVALID


def _model_of(path: str, body: Any, deployments: dict[str, str]) -> str | None:
    if path.startswith(_DEPLOY_PREFIX):
        return deployments.get(path[len(_DEPLOY_PREFIX) :])
    if path.startswith(NATIVE_PREFIX):
        return path[len(NATIVE_PREFIX) :] or None
    if isinstance(body, dict):
        model = body.get("model")
        if isinstance(model, str):
            return model
    return None


def _headers_of(request: web.BaseRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


class Emulator:
    """An in-process imitation of DeepInfra's HTTP API, served on loopback.

    Use it as an async context manager (or call `start` and `aclose`)::

        async with Emulator() as emu:
            async with DeepInfra(emu.api_key, base_url=emu.url) as client:
                ...
            assert emu.requests[0].path == "/v1/openai/chat/completions"

    Args:
        api_key: The bearer token to accept; a random ``emu-...`` token when ``None``.
        host: A loopback address to listen on.
        port: The port to listen on; 0 picks a free one.
        seed: Seed for generated text and ids: the same seed gives the same outputs.

    Raises:
        ValueError: ``host`` is not a loopback address, or ``port`` or ``api_key`` is invalid.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port!r}")
        if api_key is not None and (not api_key or api_key != api_key.strip()):
            raise ValueError("api_key must be a non-empty token without surrounding spaces")
        self._host = _loopback(host)
        self._port = port
        self._url: str | None = None
        self._state = _State.UNSTARTED
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._ids = random.Random(f"deepinfra_async.testing ids {seed}")
        #: The bearer token the emulator accepts.
        self.api_key: str = api_key if api_key is not None else f"emu-{secrets.token_urlsafe(24)}"
        #: Seed for generated outputs.
        self.seed: int = seed
        #: Every request received, in arrival order, including rejected ones.
        self.requests: list[RecordedRequest] = []
        #: TCP connections accepted so far.
        self.connections_accepted: int = 0
        #: Per model: the current number of requests in flight.
        self.in_flight: dict[str, int] = {}
        #: Per model: the highest number of requests in flight at once.
        self.max_in_flight: dict[str, int] = {}
        #: One entry per streamed (SSE) response, in start order, updated live as it is
        #: written: how many body bytes and events have been written, and whether it ended.
        self.streams: list[StreamStats] = []
        #: Fault injection; see `Faults.add`.
        self.faults: Faults = Faults()
        #: The model registry: model id -> task (``"chat"``, ``"embeddings"``,
        #: ``"text-to-image"``, ...). Chat models also serve native text generation.
        self.models: dict[str, str] = dict(DEFAULT_MODELS)
        #: Deployments for ``/v1/inference/deploy/{deploy_id}``: deploy id -> model id.
        self.deployments: dict[str, str] = dict(DEFAULT_DEPLOYMENTS)
        #: Every file received (multipart file parts and data URLs), in arrival order.
        self.uploads: list[UploadRecord] = []
        #: Every webhook delivery of native calls, updated as it goes.
        self.webhooks: list[WebhookDelivery] = []
        #: Seconds each batch line waits before its request is sent, so tests can watch a
        #: batch in progress (lines still overlap, up to `batch_concurrency` at a time).
        self.batch_line_delay: float = 0.0
        #: How many lines of one batch run at once.
        self.batch_concurrency: int = 16
        #: Largest upload accepted for purpose ``"batch"``, in bytes (DeepInfra: 200 MB).
        self.max_batch_file_bytes: int = 200 << 20
        #: Largest upload accepted for any purpose, in bytes (DeepInfra: 512 MB).
        self.max_file_bytes: int = 512 << 20
        self._webhook_sender = WebhookSender(self.webhooks)
        self._files = FileStore()
        self._batches = BatchStore()
        self._images = ImageStore()
        self._public: set[web.AbstractRoute] = set()

    # -- life cycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the emulator listens on (the requested one before `start`)."""
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``"http://127.0.0.1:8787"`` (no trailing slash).

        Raises:
            RuntimeError: The emulator has not been started.
        """
        if self._url is None:
            raise RuntimeError("The emulator has no URL yet: call `await emu.start()` first.")
        return self._url

    async def start(self) -> None:
        """Start listening.

        Raises:
            RuntimeError: The emulator is already running or was closed.
            OSError: The port could not be bound.
        """
        if self._state is not _State.UNSTARTED:
            raise RuntimeError(
                f"The emulator is {self._state.value}: start() can only be called once; "
                "create a new Emulator to serve again."
            )
        runner = web.AppRunner(
            self._build_app(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        server = runner.server
        assert server is not None  # set by setup()

        def accept() -> asyncio.BaseProtocol:
            # The loop calls the protocol factory once per accepted TCP connection.
            self.connections_accepted += 1
            return server()

        loop = asyncio.get_running_loop()
        try:
            listener = await loop.create_server(accept, self._host, self._port, backlog=1024)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener = runner, listener
        self._port = int(listener.sockets[0].getsockname()[1])
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._url = f"http://{host}:{self._port}"
        self._state = _State.RUNNING

    async def aclose(self) -> None:
        """Stop listening, cancel requests in progress and close every connection.

        Returns within about half a second even when handlers are stalled. Idempotent.
        """
        if self._state is not _State.RUNNING:
            self._state = _State.CLOSED
            return
        self._state = _State.CLOSED
        runner, listener = self._runner, self._listener
        self._runner = self._listener = None
        assert runner is not None
        assert listener is not None
        listener.close()
        await self._webhook_sender.aclose()
        await self._batches.aclose()
        pending = [task for task in self._handlers if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=_SHUTDOWN_TIMEOUT)
        await runner.cleanup()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_SHUTDOWN_TIMEOUT):
                await listener.wait_closed()
        await self._files.aclose()
        # Closed transports release their sockets on the next loop iterations.
        for _ in range(3):
            await asyncio.sleep(0)

    async def serve_forever(self) -> None:
        """Start if needed, serve until cancelled, then close.

        Raises:
            RuntimeError: The emulator was already closed.
        """
        if self._state is _State.UNSTARTED:
            await self.start()
        elif self._state is _State.CLOSED:
            raise RuntimeError("The emulator is closed: create a new Emulator to serve again.")
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            await self.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if getattr(self, "_state", None) is _State.RUNNING:
            _warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=2)

    def __repr__(self) -> str:
        where = f" {self._url}" if self._url else ""
        return (
            f"<Emulator {self._state.value}{where} requests={len(self.requests)} "
            f"connections={self.connections_accepted} faults={len(self.faults)} "
            f"files={len(self._files)} batches={len(self._batches)}>"
        )

    async def wait_batch(self, batch_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until a batch reaches a final status and return its batch object.

        A final status is ``completed``, ``failed`` or ``cancelled``. Closing the emulator
        also ends the wait.

        Args:
            batch_id: The ``batch_...`` id returned by ``POST /v1/openai/batches``.
            timeout: Seconds to wait at most.

        Returns:
            The batch object, as ``GET /v1/openai/batches/{batch_id}`` would return it.

        Raises:
            KeyError: No batch has that id.
            TimeoutError: The batch did not finish within ``timeout`` seconds.

        .. versionadded:: 0.1.0
        """
        return await self._batches.wait(batch_id, timeout)

    def reset(self) -> None:
        """Clear the logs, the statistics, the faults, and the upload and webhook records.

        Stream statistics are cleared too; generated images stay available by URL.

        Requests still in flight stay counted in `in_flight` (and so in `max_in_flight`).
        """
        self.requests.clear()
        self.connections_accepted = 0
        for model in [m for m, count in self.in_flight.items() if not count]:
            del self.in_flight[model]
        self.max_in_flight.clear()
        self.max_in_flight.update(self.in_flight)
        self.streams.clear()
        self.faults.clear()
        self.uploads.clear()
        self.webhooks.clear()

    # -- request pipeline -----------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return prefix + random_id(self._ids)

    def _build_app(self) -> web.Application:
        @web.middleware
        async def pipeline(request: web.Request, handler: _AiohttpHandler) -> web.StreamResponse:
            return await self._handle(request, handler)

        app = web.Application(middlewares=[pipeline], client_max_size=_MAX_BODY)
        for prefix in OPENAI_PREFIXES:
            for method, suffix, func in ROUTES:
                app.router.add_route(method, prefix + suffix, self._route(func))
        for method, path, func, public in NATIVE_ROUTES:
            route = app.router.add_route(method, path, self._route(func))
            if public:
                self._public.add(route)
        return app

    def _route(self, func: Handler) -> _AiohttpHandler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await func(self, request, _BODY.get())

        return handle

    async def _read_json(self, request: web.BaseRequest, logged_only: bool) -> Any:
        if not request.body_exists or not _is_json(request.content_type):
            return None
        if logged_only:
            length = request.content_length
            if length is not None and length > _MAX_LOGGED_BODY:
                return _Unread.UNREAD
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _Unread.TOO_LARGE
        return _decode(raw)

    def _authorized(self, request: web.BaseRequest) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return secrets.compare_digest(token.strip().encode(), self.api_key.encode())

    async def _handle(self, request: web.Request, handler: _AiohttpHandler) -> web.StreamResponse:
        body = await self._read_json(request, logged_only=True)
        logged = body if not isinstance(body, _Unread) else None
        # A chunked body is read whole for its handler; the log keeps only small ones.
        if (
            logged is not None
            and request.content_length is None
            and len(await request.read()) > _MAX_LOGGED_BODY
        ):
            logged = None
        path = request.path
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=path,
                query=dict(request.query),
                headers=_headers_of(request),
                json=logged,
                model=_model_of(path, logged, self.deployments),
            )
        )
        routing_error = request.match_info.http_exception
        if routing_error is not None:
            if isinstance(routing_error, web.HTTPMethodNotAllowed):
                allow = {"Allow": ",".join(sorted(routing_error.allowed_methods))}
                return json_response({"detail": "Method Not Allowed"}, 405, allow)
            return json_response({"detail": "Not Found"}, 404)
        if request.match_info.route not in self._public and not self._authorized(request):
            return json_response(openai_error("Not authenticated"), 401)
        if body is _Unread.UNREAD:
            body = await self._read_json(request, logged_only=False)
        return await self._admitted(request, handler, body)

    async def _admitted(
        self, request: web.Request, handler: _AiohttpHandler, body: Any
    ) -> web.StreamResponse:
        model = _model_of(request.path, body, self.deployments)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        if model is not None:
            count = self.in_flight.get(model, 0) + 1
            self.in_flight[model] = count
            if count > self.max_in_flight.get(model, 0):
                self.max_in_flight[model] = count
        try:
            fault = self.faults.take(request.method, request.path)
            if fault is not None:
                response = await run_fault(fault, request)
                if response is not None:
                    if not fault.drop:  # a dropped connection has nothing left to send
                        await self._finish(request, response)
                    return response
            if body is _Unread.TOO_LARGE:
                message = f"Request body is larger than {_MAX_BODY >> 20} MiB"
                response = json_response(openai_error(message), 413)
            elif body is _Unread.INVALID and request.method in _BODY_METHODS:
                problem = {"loc": ["body", 0], "msg": "JSON decode error", "type": "json_invalid"}
                response = validation_error([problem])
            else:
                _BODY.set(None if isinstance(body, _Unread) else body)
                response = await handler(request)
            await self._finish(request, response)
            return response
        finally:
            if model is not None:
                self.in_flight[model] -= 1
            if task is not None:
                self._handlers.discard(task)

    @staticmethod
    async def _finish(request: web.Request, response: web.StreamResponse) -> None:
        """Send the response now, so in-flight accounting covers the whole response."""
        with contextlib.suppress(ConnectionError):
            await response.prepare(request)
            await response.write_eof()
