"""Client configuration: timeouts, pool limits, retry policy, and the resolved client config.

All of them are frozen attrs classes with validators; per-call overrides go through
``attrs.evolve``.
"""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs
from yarl import URL

__all__ = [
    "DEFAULT_BASE_URL",
    "UNSET",
    "ClientConfig",
    "Limits",
    "RetryDetails",
    "RetryPolicy",
    "Timeout",
    "Unset",
    "join_path",
    "resolve_timeout",
]

DEFAULT_BASE_URL: Final = "https://api.deepinfra.com"
API_KEY_ENV_VARS: Final = ("DEEPINFRA_API_KEY", "DEEPINFRA_API_TOKEN")
BASE_URL_ENV_VAR: Final = "DEEPINFRA_BASE_URL"


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = enum.auto()

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
"""Marks an argument as "not passed: use the client's default". ``None`` means "disabled"."""


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number of seconds or None, got {value!r}"
        raise TypeError(msg)
    if not (value > 0 and math.isfinite(value)):
        msg = f"{attribute.name} must be a positive finite number of seconds or None, got {value!r}"
        raise ValueError(msg)


def _positive_int_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{attribute.name} must be an int or None, got {value!r}"
        raise TypeError(msg)
    if value < 1:
        msg = f"{attribute.name} must be at least 1 or None, got {value!r}"
        raise ValueError(msg)


def _positive_int(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        msg = f"{attribute.name} must be an int, got None"
        raise TypeError(msg)
    _positive_int_or_none(instance, attribute, value)


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number, got {value!r}"
        raise TypeError(msg)
    if not (value >= 0 and math.isfinite(value)):
        msg = f"{attribute.name} must be a finite number >= 0, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True, cache_hash=True)
class Timeout:
    """Per-phase timeouts, in seconds; ``None`` disables one.

    Attributes:
        connect: Establishing a TCP (and TLS) connection.
        pool: Waiting for the per-model concurrency limiter and a free pooled connection.
        read: The idle gap allowed between two reads, including before the response headers
            and before the first event of a stream.
        total: A deadline for the whole call, across every retry and backoff sleep. For a
            streaming call it bounds opening the stream (until its headers arrive); reading
            the stream is bounded by ``read`` only, so a long generation is never cut off.

    .. versionadded:: 0.1.0
    """

    connect: float | None = attrs.field(default=10.0, validator=_positive_or_none)
    pool: float | None = attrs.field(default=60.0, validator=_positive_or_none)
    read: float | None = attrs.field(default=120.0, validator=_positive_or_none)
    total: float | None = attrs.field(default=600.0, validator=_positive_or_none)


@attrs.frozen(kw_only=True)
class Limits:
    """Connection pool and safety limits.

    Attributes:
        max_connections: Total connections in the pool (``None`` for no limit).
        max_connections_per_host: Connections per host (``None`` for no limit).
        keepalive_expiry: Seconds an idle pooled connection is kept.
        per_model_concurrency: Requests in flight per model before further calls queue
            locally; DeepInfra answers 429 above 200 per model per account. ``None`` disables
            the limiter.
        read_bufsize: Size of aiohttp's read buffer; a stream holds at most about twice this
            before the socket is paused.
        max_event_bytes: Largest single server-sent event accepted; a larger one raises.

    .. versionadded:: 0.1.0
    """

    max_connections: int | None = attrs.field(default=256, validator=_positive_int_or_none)
    max_connections_per_host: int | None = attrs.field(
        default=None, validator=_positive_int_or_none
    )
    keepalive_expiry: float = attrs.field(default=30.0, validator=_non_negative)
    per_model_concurrency: int | None = attrs.field(default=200, validator=_positive_int_or_none)
    read_bufsize: int = attrs.field(default=2**16, validator=_positive_int)
    max_event_bytes: int = attrs.field(default=8 * 2**20, validator=_positive_int)


@attrs.frozen(kw_only=True)
class RetryDetails:
    """What the ``on_retry`` hook receives before each retry sleep.

    Attributes:
        method: The HTTP method.
        url: The request URL.
        attempt: The attempt that just failed (1-based).
        max_attempts: The policy's attempt limit.
        delay: Seconds until the next attempt.
        reason: Why it is retried, e.g. ``"429 RateLimitError"`` or ``"connect failed"``.
        error: The error the failed attempt ended with.
        elapsed: Seconds since the call started.

    .. versionadded:: 0.1.0
    """

    method: str
    url: str
    attempt: int
    max_attempts: int
    delay: float
    reason: str
    error: BaseException
    elapsed: float


def _to_statuses(value: Iterable[int]) -> frozenset[int]:
    return value if isinstance(value, frozenset) else frozenset(value)


def _check_statuses(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, frozenset) or not all(
        isinstance(s, int) and 100 <= s <= 599 for s in value
    ):
        msg = f"{attribute.name} must be a set of HTTP status codes, got {value!r}"
        raise ValueError(msg)


def _check_jitter(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _non_negative(instance, attribute, value)
    if isinstance(value, int | float) and value > 1:
        msg = f"{attribute.name} must be between 0 and 1, got {value!r}"
        raise ValueError(msg)


def _check_hook(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        msg = f"{attribute.name} must be a callable or None, got {value!r}"
        raise TypeError(msg)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How failed attempts are retried.

    Retried: connection failures that happened before the request was sent, and the statuses
    in ``retry_statuses``. Delays grow exponentially from ``initial_backoff`` up to
    ``max_backoff``, each reduced by up to ``jitter`` (a fraction) at random. A server's
    ``retry-after-ms`` or ``Retry-After`` replaces the computed delay; when it asks for more
    than ``max_retry_after`` seconds the error is raised instead. No sleep ever runs past the
    call's total deadline, a 429 is never retried for a request sent with ``fail_fast``, and a
    stream is never retried once its response headers arrived.

    Attributes:
        max_attempts: Attempts in all, including the first (1 disables retries).
        initial_backoff: Delay before the second attempt, in seconds.
        max_backoff: Cap on the computed delay.
        jitter: Fraction of each computed delay removed at random (0 to 1).
        retry_statuses: HTTP statuses that are retried.
        max_retry_after: Longest server-requested delay that is honoured.
        on_retry: Called with a :class:`RetryDetails` before each retry sleep.

    .. versionadded:: 0.1.0
    """

    max_attempts: int = attrs.field(default=3, validator=_positive_int)
    initial_backoff: float = attrs.field(default=0.5, validator=_non_negative)
    max_backoff: float = attrs.field(default=8.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.25, validator=_check_jitter)
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({408, 429, 500, 502, 503, 504}),
        converter=_to_statuses,
        validator=_check_statuses,
    )
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    on_retry: Callable[[RetryDetails], object] | None = attrs.field(
        default=None, validator=_check_hook
    )


def _check_base_url(value: str | URL) -> URL:
    url: object = URL(value) if isinstance(value, str) else value
    if not isinstance(url, URL):
        msg = f"base URL must be a str or yarl.URL, got {value!r}"
        raise TypeError(msg)
    if url.scheme not in ("http", "https") or not url.host:
        msg = f"base URL must be an absolute http(s) URL, got {str(url)!r}"
        raise ValueError(msg)
    if url.query_string or url.fragment:
        msg = f"base URL must not carry a query or fragment, got {str(url)!r}"
        raise ValueError(msg)
    # A trailing slash is dropped so that joining paths never doubles it.
    return url.with_path(url.path.rstrip("/"))


def resolve_timeout(default: Timeout, timeout: Timeout | float | None) -> Timeout:
    """Return the timeouts for one call.

    Args:
        default: The client's timeouts.
        timeout: ``None`` for the client's, a :class:`Timeout`, or a number of seconds that
            replaces the client's ``total``.

    Returns:
        The timeouts to use.

    Raises:
        TypeError: ``timeout`` has another type.
    """
    if timeout is None:
        return default
    if isinstance(timeout, Timeout):
        return timeout
    given: object = timeout
    if isinstance(given, int | float) and not isinstance(given, bool):
        return attrs.evolve(default, total=float(given))
    msg = f"timeout must be a Timeout, a number of seconds or None, got {timeout!r}"
    raise TypeError(msg)


def join_path(base: URL, path: str) -> URL:
    """Append ``path`` (starting with ``/``) to ``base``'s path, keeping every ``/`` literal.

    Args:
        base: A base URL without query or fragment.
        path: The path to append, e.g. ``"/v1/inference/meta-llama/Llama-3-8B"``.

    Returns:
        The joined URL.
    """
    return base.with_path(base.path.rstrip("/") + path)


def _headers_repr(value: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k!r}: '[secure]'" for k in value) + "}"


def _check_headers(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        msg = f"{attribute.name} must be a mapping of str to str"
        raise TypeError(msg)


@attrs.frozen(kw_only=True)
class ClientConfig:
    """The resolved configuration of a :class:`~deepinfra_async.DeepInfra` client.

    Attributes:
        api_key: The bearer token (never shown in reprs), or ``None`` when none was found.
        base_url: Root of DeepInfra's API, e.g. ``https://api.deepinfra.com``.
        openai_base_url: Root of the OpenAI-compatible API, by default
            ``{base_url}/v1/openai``.
        timeout: Default timeouts.
        limits: Pool and safety limits.
        retry: Retry policy.
        default_headers: Extra headers sent with every request.

    .. versionadded:: 0.1.0
    """

    api_key: str | None = attrs.field(repr=False)
    base_url: URL = attrs.field(converter=_check_base_url)
    openai_base_url: URL = attrs.field(converter=_check_base_url)
    timeout: Timeout = attrs.field(factory=Timeout, validator=attrs.validators.instance_of(Timeout))
    limits: Limits = attrs.field(factory=Limits, validator=attrs.validators.instance_of(Limits))
    retry: RetryPolicy = attrs.field(
        factory=RetryPolicy, validator=attrs.validators.instance_of(RetryPolicy)
    )
    default_headers: Mapping[str, str] = attrs.field(
        factory=dict, validator=_check_headers, repr=_headers_repr
    )

    @classmethod
    def from_env(
        cls,
        api_key: str | None = None,
        *,
        base_url: str | URL | None = None,
        openai_base_url: str | URL | None = None,
        timeout: Timeout | None = None,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Resolve a configuration from arguments, then the environment, then defaults.

        The key comes from ``api_key``, then ``DEEPINFRA_API_KEY``, then
        ``DEEPINFRA_API_TOKEN``; the base URL from ``base_url``, then ``DEEPINFRA_BASE_URL``,
        then ``https://api.deepinfra.com``.

        Args:
            api_key: The API key.
            base_url: Root of DeepInfra's API.
            openai_base_url: Root of the OpenAI-compatible API; ``{base_url}/v1/openai`` when
                not given. Any OpenAI-compatible server works, including one rooted at ``/v1``.
            timeout: Default timeouts.
            limits: Pool and safety limits.
            retry: Retry policy.
            default_headers: Extra headers sent with every request.
            environ: The environment to read (``os.environ`` when ``None``).

        Returns:
            The resolved configuration.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument has an invalid value.
        """
        env = os.environ if environ is None else environ
        given: object = api_key
        if given is not None and not isinstance(given, str):
            msg = f"api_key must be a str or None, got {type(given).__name__}"
            raise TypeError(msg)
        if api_key is None:
            api_key = next((env[name] for name in API_KEY_ENV_VARS if env.get(name)), None)
        if api_key is not None and (not api_key.strip() or any(c in api_key for c in "\r\n")):
            msg = "api_key must be a non-empty single-line string"
            raise ValueError(msg)
        base = _check_base_url(base_url or env.get(BASE_URL_ENV_VAR) or DEFAULT_BASE_URL)
        openai = (
            _check_base_url(openai_base_url)
            if openai_base_url is not None
            else join_path(base, "/v1/openai")
        )
        return cls(
            api_key=api_key,
            base_url=base,
            openai_base_url=openai,
            timeout=Timeout() if timeout is None else timeout,
            limits=Limits() if limits is None else limits,
            retry=RetryPolicy() if retry is None else retry,
            default_headers=dict(default_headers or {}),
        )
