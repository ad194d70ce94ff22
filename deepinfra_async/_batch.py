"""Concurrent batches: ``client.batch.map`` and ``client.batch.as_completed``.

A request is a line of OpenAI's batch format (``custom_id``, ``method``, ``url``, ``body``).
A fixed number of workers pulls from the input as they free up, so an input of any size
(a generator of millions) is consumed lazily with at most ``concurrency`` requests in flight,
and the per-model limiter still applies underneath.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from typing import Any, Final, Self, final

import attrs
from yarl import URL

from ._codec import dumps, loads
from ._config import ClientConfig, join_path
from ._errors import APIStatusError, DeepInfraError
from ._transport import Transport
from ._usage import UsageTracker

__all__ = ["BatchRequest", "BatchResult", "BatchRunner"]

OPENAI_URLS: Final = {
    "/v1/chat/completions": "/chat/completions",
    "/v1/completions": "/completions",
    "/v1/embeddings": "/embeddings",
}
NATIVE_PREFIX: Final = "/v1/inference/"


def _validator(check: Callable[[object], None]) -> Callable[[Any, Any, Any], None]:
    """An attrs validator running a check of the value alone (also used without attrs)."""

    def validate(instance: Any, attribute: Any, value: Any) -> None:
        check(value)

    return validate


def _check_url(value: object) -> None:
    if not isinstance(value, str) or not (
        value in OPENAI_URLS or (value.startswith(NATIVE_PREFIX) and len(value) > 14)
    ):
        msg = (
            "url must be /v1/chat/completions, /v1/completions, /v1/embeddings or "
            f"/v1/inference/{{model}}, got {value!r}"
        )
        raise ValueError(msg)


def _check_body(value: object) -> None:
    if not isinstance(value, dict):
        msg = f"body must be a JSON object, got {type(value).__name__}"
        raise TypeError(msg)
    if value.get("stream") is True:
        msg = "body must not ask for a stream: batch results are whole responses"
        raise ValueError(msg)


def _check_method(value: object) -> None:
    if value != "POST":
        msg = f"method must be 'POST', got {value!r}"
        raise ValueError(msg)


def _check_custom_id(value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        msg = f"custom_id must be a non-empty str or None, got {value!r}"
        raise ValueError(msg)


@final
@attrs.frozen(kw_only=True)
class BatchRequest:
    """One request of a batch, in OpenAI's batch line format.

    Attributes:
        custom_id: The caller's id for the request (unique within a JSONL job).
        method: Always ``"POST"``.
        url: ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings`` or
            ``/v1/inference/{model}``.
        body: The request body, as for the matching endpoint (no streaming).

    .. versionadded:: 0.1.0
    """

    custom_id: str | None = attrs.field(default=None, validator=_validator(_check_custom_id))
    method: str = attrs.field(default="POST", validator=_validator(_check_method))
    url: str = attrs.field(validator=_validator(_check_url))
    body: dict[str, Any] = attrs.field(validator=_validator(_check_body))

    @classmethod
    def from_dict(cls, data: object) -> BatchRequest:
        """Build a request from a decoded batch line.

        Raises:
            TypeError: ``data`` is not an object, or a field has the wrong type.
            ValueError: A field has an invalid value, or an unknown field is present.
        """
        custom_id, url, body = _read_line(data)
        return cls(custom_id=custom_id, method="POST", url=url, body=body)

    @classmethod
    def from_json(cls, line: str | bytes) -> BatchRequest:
        """Build a request from one JSONL line.

        Raises:
            ValueError: The line is not valid JSON, or not a valid request.
            TypeError: A field has the wrong type.
        """
        return cls.from_dict(loads(line))

    @property
    def model(self) -> str | None:
        """The model the request is for (from the body, or the native URL)."""
        return _model_of(self.url, self.body)


_LINE_FIELDS: Final = frozenset({"custom_id", "method", "url", "body"})


def _read_line(data: object) -> tuple[str | None, str, dict[str, Any]]:
    """Check a batch line (a mapping) as :class:`BatchRequest` would; return its fields.

    Raises:
        TypeError: ``data`` is not a mapping, or a field has the wrong type.
        ValueError: A field has an invalid value, is unknown, or is missing.
    """
    if not isinstance(data, Mapping):
        msg = f"a batch request must be a JSON object, got {type(data).__name__}"
        raise TypeError(msg)
    if not _LINE_FIELDS.issuperset(data):
        unknown = set(data) - _LINE_FIELDS
        msg = f"unknown batch request field(s): {', '.join(sorted(map(str, unknown)))}"
        raise ValueError(msg)
    if "url" not in data or "body" not in data:
        msg = "a batch request needs 'url' and 'body'"
        raise ValueError(msg)
    custom_id = data.get("custom_id")
    url = data["url"]
    body = data["body"]
    _check_custom_id(custom_id)
    _check_method(data.get("method", "POST"))
    _check_url(url)
    _check_body(body)
    return custom_id, url, body


def _model_of(url: str, body: Mapping[str, Any]) -> str | None:
    model = body.get("model")
    if isinstance(model, str) and model:
        return model
    if url.startswith(NATIVE_PREFIX):
        return url[len(NATIVE_PREFIX) :]
    return None


@final
@attrs.frozen(kw_only=True)
class BatchResult:
    """The outcome of one batch request.

    Attributes:
        index: The request's position in the input (0-based).
        custom_id: The request's ``custom_id``.
        ok: Whether a 2xx response arrived.
        value: The decoded response body when ``ok``, else ``None``.
        error: The error the request ended with when not ``ok``.
        status_code: The HTTP status, when a response arrived.
        request_id: The request id, when known.
        model: The model the request was for, when known.

    .. versionadded:: 0.1.0
    """

    index: int
    custom_id: str | None
    ok: bool
    value: Any = None
    error: BaseException | None = None
    status_code: int | None = None
    request_id: str | None = None
    model: str | None = None

    def to_output_line(self) -> dict[str, Any]:
        """Render the result as a line of OpenAI's batch output format."""
        if self.ok:
            response: dict[str, Any] | None = {
                "status_code": self.status_code,
                "request_id": self.request_id,
                "body": self.value,
            }
            error = None
        elif isinstance(self.error, APIStatusError):
            response = {
                "status_code": self.error.status,
                "request_id": self.error.request_id,
                "body": self.error.body,
            }
            error = None
        else:
            response = None
            if isinstance(self.error, DeepInfraError):
                code = "connection_error"
            else:
                code = "invalid_request"
            error = {"code": code, "message": str(self.error)}
        return {"custom_id": self.custom_id, "response": response, "error": error}


RequestInput = BatchRequest | Mapping[str, Any]
Requests = Iterable[RequestInput] | AsyncIterable[RequestInput]


class _Source:
    """Hands out (index, request) pairs to workers, pulling lazily from sync or async input."""

    __slots__ = ("_aiter", "_index", "_iter", "_lock")

    def __init__(self, requests: Requests) -> None:
        self._iter: Iterator[RequestInput] | None = None
        self._aiter: AsyncIterator[RequestInput] | None = None
        given: object = requests
        if isinstance(given, AsyncIterable):
            self._aiter = aiter(given)
        elif isinstance(given, Iterable) and not isinstance(given, str | bytes | Mapping):
            self._iter = iter(given)
        else:
            msg = "requests must be an iterable or async iterable of BatchRequest or dicts"
            raise TypeError(msg)
        self._lock = asyncio.Lock()
        self._index = 0

    @property
    def is_sync(self) -> bool:
        """Whether :meth:`take` can be used (the input is a plain iterable)."""
        return self._iter is not None

    def take(self) -> tuple[int, RequestInput] | None:
        """The next request of a plain iterable, or ``None`` at the end."""
        assert self._iter is not None
        item = next(self._iter, None)
        if item is None:
            return None
        index = self._index
        self._index += 1
        return index, item

    async def next(self) -> tuple[int, RequestInput] | None:
        """The next request of any input, or ``None`` at the end."""
        if self._iter is not None:
            return self.take()
        assert self._aiter is not None
        # An async iterator must not be advanced by two workers at once.
        async with self._lock:
            item = await anext(self._aiter, None)
        if item is None:
            return None
        index = self._index
        self._index += 1
        return index, item


class BatchRunner:
    """``client.batch``: run many requests concurrently, in bounded memory.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_config", "_ready", "_urls", "_usage")

    def __init__(
        self, ready: Callable[[], Transport], config: ClientConfig, usage: UsageTracker
    ) -> None:
        self._ready = ready
        self._config = config
        self._usage = usage
        self._urls: dict[str, URL] = {}

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            tail = OPENAI_URLS.get(path)
            if tail is not None:
                url = join_path(self._config.openai_base_url, tail)
            else:
                from .endpoints._native import model_path  # noqa: PLC0415 - avoids an import cycle

                url = join_path(self._config.base_url, "/v1/inference").joinpath(
                    *model_path(path[len(NATIVE_PREFIX) :])
                )
            if len(self._urls) < 1024:
                self._urls[path] = url
        return url

    async def run_one(self, index: int, item: RequestInput) -> BatchResult:
        """Send one request and capture its outcome (never raises for a failed request)."""
        custom_id = item.custom_id if isinstance(item, BatchRequest) else None
        model: str | None = None
        try:
            if isinstance(item, BatchRequest):
                url, body = item.url, item.body
            else:
                # Checked as a BatchRequest would be, without building one.
                custom_id, url, body = _read_line(item)
            model = _model_of(url, body)
            transport = self._ready()
            response = await transport.send(
                "POST",
                self._url(url),
                body=dumps(body),
                model=model,
                timeout=self._config.timeout,
                fail_fast=body.get("fail_fast") is True,
            )
            value = loads(response.content)
            self._usage.add_body(model, value)
            return BatchResult(
                index=index,
                custom_id=custom_id,
                ok=True,
                value=value,
                status_code=response.status,
                request_id=response.headers.get("x-request-id")
                or (value.get("request_id") if type(value) is dict else None),
                model=model,
            )
        except Exception as exc:
            status = exc.status if isinstance(exc, APIStatusError) else None
            rid = exc.request_id if isinstance(exc, APIStatusError) else None
            return BatchResult(
                index=index,
                custom_id=custom_id,
                ok=False,
                error=exc,
                status_code=status,
                request_id=rid,
                model=model,
            )

    async def work(
        self, source: _Source, emit: Callable[[BatchResult], Awaitable[None] | None]
    ) -> None:
        """Run requests from ``source`` one after another, handing each result to ``emit``.

        ``emit`` may be a plain function or return an awaitable, which is awaited.
        """
        sync = source.is_sync
        while (pair := source.take() if sync else await source.next()) is not None:
            pending = emit(await self.run_one(*pair))
            if pending is not None:
                await pending

    async def map(self, requests: Requests, *, concurrency: int = 64) -> list[BatchResult]:
        """Run every request and return the results in input order.

        Args:
            requests: :class:`BatchRequest` objects or batch-line dicts, from any iterable or
                async iterable (consumed lazily).
            concurrency: Most requests in flight at once.

        Returns:
            One :class:`BatchResult` per request, in input order; a failed request does not
            stop the others.

        Raises:
            TypeError: ``requests`` is not iterable.
            ValueError: ``concurrency`` is below 1.
        """
        _check_concurrency(concurrency)
        source = _Source(requests)
        results: dict[int, BatchResult] = {}

        def keep(result: BatchResult) -> None:
            results[result.index] = result

        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(self.work(source, keep))
        return [results[i] for i in range(len(results))]

    def as_completed(self, requests: Requests, *, concurrency: int = 64) -> _AsCompleted:
        """Yield results as they finish: ``async with client.batch.as_completed(...) as rs``.

        Leaving the block early cancels the requests in flight and releases their
        connections. Finished results wait in a buffer of at most ``concurrency`` items, so
        memory stays bounded however large the input.

        Args:
            requests: As for :meth:`map`.
            concurrency: Most requests in flight at once.

        Raises:
            TypeError: ``requests`` is not iterable.
            ValueError: ``concurrency`` is below 1.
        """
        _check_concurrency(concurrency)
        return _AsCompleted(self, _Source(requests), concurrency)


def _check_concurrency(concurrency: object) -> None:
    if type(concurrency) is not int:
        msg = f"concurrency must be an int, got {type(concurrency).__name__}"
        raise TypeError(msg)
    if concurrency < 1:
        msg = f"concurrency must be at least 1, got {concurrency}"
        raise ValueError(msg)


_END: Final = object()


@final
class _AsCompleted:
    """The async context manager and iterator behind :meth:`Batch.as_completed`."""

    __slots__ = ("_batch", "_concurrency", "_error", "_queue", "_remaining", "_source", "_tasks")

    def __init__(self, batch: BatchRunner, source: _Source, concurrency: int) -> None:
        self._batch = batch
        self._source = source
        self._concurrency = concurrency
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)
        self._tasks: list[asyncio.Task[None]] = []
        self._remaining = concurrency
        self._error: BaseException | None = None

    async def __aenter__(self) -> Self:
        queue = self._queue

        async def worker() -> None:
            try:
                await self._batch.work(self._source, queue.put)
            except Exception as exc:
                self._error = exc
            # Cancellation skips this: the consumer has left and nobody waits for the marker.
            await queue.put(_END)

        self._tasks = [asyncio.create_task(worker()) for _ in range(self._concurrency)]
        return self

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BatchResult:
        while self._remaining:
            item = await self._queue.get()
            if item is _END:
                self._remaining -= 1
                continue
            result: BatchResult = item
            return result
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopAsyncIteration

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
