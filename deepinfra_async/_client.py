"""The ``DeepInfra`` client: what users hold, as an async context manager."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, final

from yarl import URL

from ._batch import BatchRunner
from ._codec import dumps
from ._config import ClientConfig, Limits, RetryPolicy, Timeout, join_path, resolve_timeout
from ._transport import ClientState, Response, Transport, warn_unclosed
from ._usage import UsageTracker
from .endpoints import (
    Audio,
    Batches,
    Chat,
    ChatCompletions,
    Completions,
    Embeddings,
    Files,
    Images,
    Inference,
    Models,
    Speech,
    Transcriptions,
    Translations,
)

__all__ = ["DeepInfra"]

_NATIVE_PREFIX: Final = "/v1/inference/"
_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def _model_of(path: str, json: object) -> str | None:
    """Find the model a raw request is for, to pick its concurrency limiter."""
    if isinstance(json, dict):
        model = json.get("model")
        if isinstance(model, str) and model:
            return model
    if path.startswith(_NATIVE_PREFIX):
        rest = path[len(_NATIVE_PREFIX) :]
        return rest or None
    return None


@final
class DeepInfra:
    """Asynchronous client for DeepInfra's API.

    Use it as ``async with DeepInfra() as client:``. It owns one pooled aiohttp session,
    created in the running event loop when entered (or on first use) and closed on exit.
    A client opens once: entering it twice, using it after it closed, or using it from
    another event loop raise ``RuntimeError``.

    Attributes:
        chat: ``chat.completions.create(...)``, OpenAI-compatible chat.
        completions: ``completions.create(...)``, raw-prompt completion.
        embeddings: ``embeddings.create(...)``.
        models: ``models.list()``.
        images: ``images.generate(...)``.
        audio: ``audio.transcriptions``, ``audio.translations``, ``audio.speech``.
        inference: the native ``/v1/inference/{model}`` endpoint: ``inference.run(...)`` and
            typed helpers per task.
        batch: ``batch.map(...)`` and ``batch.as_completed(...)``, concurrent local batches.
        files: ``files.create/list/retrieve/content/delete``, for server-side batches.
        batches: ``batches.create/retrieve/list/cancel``, DeepInfra's server-side Batch API.
        usage: Per-model totals of requests, tokens and cost for every typed call and batch
            made through this client (``usage.by_model()``, ``usage.total``).

    Args:
        api_key: The API key; else ``DEEPINFRA_API_KEY``, then ``DEEPINFRA_API_TOKEN``. When
            none is found the first request raises ``AuthenticationError`` before sending.
        base_url: Root of DeepInfra's API; else ``DEEPINFRA_BASE_URL``, then
            ``https://api.deepinfra.com``.
        openai_base_url: Root of the OpenAI-compatible API; ``{base_url}/v1/openai`` by
            default. Any OpenAI-compatible server works, including one rooted at ``/v1``.
        timeout: Default timeouts (connect 10 s, pool 60 s, read 120 s, total 600 s).
        limits: Pool size, keep-alive, per-model concurrency (200) and buffer limits.
        retry: Retry policy (3 attempts; 408, 429, 500, 502, 503, 504 and connect failures).
        default_headers: Extra headers sent with every request.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An argument has an invalid value.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "__weakref__", "_config", "_transport", "_trusted", "audio", "batch", "batches", "chat",
        "completions", "embeddings", "files", "images", "inference", "models", "usage",
    )  # fmt: skip

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | URL | None = None,
        openai_base_url: str | URL | None = None,
        timeout: Timeout | None = None,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._config = ClientConfig.from_env(
            api_key,
            base_url=base_url,
            openai_base_url=openai_base_url,
            timeout=timeout,
            limits=limits,
            retry=retry,
            default_headers=default_headers,
        )
        self._transport = transport = Transport(self._config)
        # The API key is only ever sent to these origins.
        self._trusted = frozenset(
            (u.scheme, u.host, u.port)
            for u in (self._config.base_url, self._config.openai_base_url)
        )
        # Endpoint groups hold the transport, never the client: no reference cycle, so an
        # abandoned client is finalised (and warns) as soon as it is dropped.
        self.usage = usage = UsageTracker()
        shared = (transport.ready, self._config, usage)
        self.chat = Chat(ChatCompletions(*shared))
        self.completions = Completions(*shared)
        self.embeddings = Embeddings(*shared)
        self.models = Models(*shared)
        self.images = Images(*shared)
        self.audio = Audio(Transcriptions(*shared), Translations(*shared), Speech(*shared))
        self.inference = Inference(*shared)
        self.files = Files(*shared)
        self.batches = Batches(*shared)
        self.batch = BatchRunner(*shared)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        msg = "DeepInfra is not designed for subclassing: wrap it, or use RetryPolicy.on_retry"
        raise TypeError(msg)

    @property
    def config(self) -> ClientConfig:
        """The resolved configuration."""
        return self._config

    @property
    def state(self) -> ClientState:
        """Where the client is in its life cycle."""
        return self._transport.state

    def __repr__(self) -> str:
        return f"<DeepInfra state={self.state.value} base_url='{self._config.base_url}'>"

    async def __aenter__(self) -> DeepInfra:
        self._transport.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._transport.aclose()

    async def aclose(self) -> None:
        """Close the session and its connections. Safe to call more than once.

        Raises:
            RuntimeError: Called from an event loop other than the one the client opened in.
        """
        await self._transport.aclose()

    def __del__(self) -> None:
        transport = getattr(self, "_transport", None)
        if transport is not None and transport.state is ClientState.OPENED:
            warn_unclosed(self, repr(self))

    def resolve_timeout(self, timeout: Timeout | float | None) -> Timeout:
        """Return the timeouts for one call.

        Args:
            timeout: ``None`` for the client's, a :class:`Timeout`, or a number of seconds that
                replaces the client's ``total``.

        Raises:
            TypeError: ``timeout`` has another type.
        """
        return resolve_timeout(self._config.timeout, timeout)

    def _url(self, path: str) -> URL:
        given: object = path
        if not isinstance(given, str):
            msg = f"path must be a str, got {type(given).__name__}"
            raise TypeError(msg)
        if path.startswith(("http://", "https://")):
            return URL(path)
        if not path.startswith("/"):
            msg = f"path must start with '/' or be an http(s) URL, got {path!r}"
            raise ValueError(msg)
        if "?" in path or "#" in path:
            msg = f"path must not carry a query or fragment; pass params= instead, got {path!r}"
            raise ValueError(msg)
        return join_path(self._config.base_url, path)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> Response:
        """Call any route with the client's auth, pooling, limits, retries and errors.

        Args:
            method: HTTP method, e.g. ``"GET"``.
            path: A path relative to ``base_url`` (e.g. ``"/v1/openai/models"``), or an
                absolute http(s) URL. The API key is sent only to the origins of ``base_url``
                and ``openai_base_url``.
            json: A JSON-serialisable body. Its ``model`` picks the per-model limiter, and
                ``"fail_fast": true`` turns off 429 retries.
            params: Query parameters.
            headers: Extra headers for this call.
            timeout: Timeouts for this call (see :meth:`resolve_timeout`).

        Returns:
            The response, its body read in full.

        Raises:
            ValueError: ``method`` or ``path`` is invalid.
            TypeError: An argument has the wrong type, or ``json`` is not serialisable.
            APIStatusError: The server answered with an error status (after retries).
            APIConnectionError: No usable response (after retries).
            RuntimeError: The client is closed, or used from another event loop.

        .. versionadded:: 0.1.0
        """
        transport = self._transport.ready()
        given: object = method
        verb = given.upper() if isinstance(given, str) else given
        if verb not in _METHODS:
            msg = f"method must be one of {sorted(_METHODS)}, got {method!r}"
            raise ValueError(msg)
        url = self._url(path)
        body = None if json is None else dumps(json)
        trusted = (url.scheme, url.host, url.port) in self._trusted
        fail_fast = isinstance(json, dict) and json.get("fail_fast") is True
        return await transport.send(
            str(verb),
            url,
            body=body,
            headers=headers,
            params=params,
            model=_model_of(path, json),
            timeout=self.resolve_timeout(timeout),
            fail_fast=fail_fast,
            authorize=trusted,
        )
