"""Retry decisions: which failures are retried, and how long to wait. No I/O here."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Final

from ._config import RetryPolicy
from ._errors import APIConnectionError, APIStatusError, APITimeoutError, RateLimitError

__all__ = ["backoff_delay", "parse_retry_after", "retry_delay", "retry_reason"]

_HTTP_DATE_MIN_LEN: Final = 16


def parse_retry_after(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """Read the server's requested delay from ``retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` may be a number of seconds or an HTTP date. Negative values count as 0.

    Args:
        headers: Response headers (case-insensitive mapping, or lower-case keys).
        now: Clock for HTTP dates, in Unix seconds.

    Returns:
        Seconds to wait, or ``None`` when neither header is present and valid.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = None
        if value is not None and not math.isnan(value):
            return max(0.0, value)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        if len(raw) < _HTTP_DATE_MIN_LEN:
            return None
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when.timestamp() - now())
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(
    policy: RetryPolicy, attempt: int, *, rand: Callable[[], float] = random.random
) -> float:
    """Compute the exponential backoff before the attempt after ``attempt``.

    Args:
        policy: The retry policy.
        attempt: The attempt that just failed (1-based).
        rand: Source of uniform numbers in [0, 1), for jitter.

    Returns:
        Seconds to wait.
    """
    base = min(policy.max_backoff, policy.initial_backoff * 2.0 ** (attempt - 1))
    return base * (1.0 - policy.jitter * rand())


def retry_reason(exc: BaseException) -> str:
    """Describe a failed attempt in a few words, for logs and :class:`RetryDetails`."""
    if isinstance(exc, APIStatusError):
        return f"{exc.status} {type(exc).__name__}"
    if isinstance(exc, APITimeoutError):
        return f"{exc.phase} timeout"
    if isinstance(exc, APIConnectionError):
        return "connection failed before the request was sent"
    return type(exc).__name__


def retry_delay(
    policy: RetryPolicy,
    exc: BaseException,
    attempt: int,
    *,
    fail_fast: bool = False,
    remaining: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Decide whether a failed attempt is retried, and after how long.

    Args:
        policy: The retry policy.
        exc: The error the attempt ended with.
        attempt: The attempt that just failed (1-based).
        fail_fast: The request asked DeepInfra to answer 429 at once rather than queue.
        remaining: Seconds left before the call's total deadline, or ``None`` for no deadline.
        rand: Source of uniform numbers in [0, 1), for jitter.

    Returns:
        Seconds to sleep before the next attempt, or ``None`` to raise ``exc`` now.
    """
    if attempt >= policy.max_attempts:
        return None
    if isinstance(exc, APIStatusError):
        if exc.status not in policy.retry_statuses:
            return None
        if fail_fast and exc.status == 429:
            return None
        asked = (
            exc.retry_after if isinstance(exc, RateLimitError) else parse_retry_after(exc.headers)
        )
        if asked is not None:
            if asked > policy.max_retry_after:
                return None
            delay = asked
        else:
            delay = backoff_delay(policy, attempt, rand=rand)
    elif isinstance(exc, APIConnectionError):
        # Only failures before the request went out are safe: a POST that reached the server
        # may have been billed. A pool timeout means the client itself is saturated.
        if exc.request_sent or (isinstance(exc, APITimeoutError) and exc.phase == "pool"):
            return None
        delay = backoff_delay(policy, attempt, rand=rand)
    else:
        return None
    if remaining is not None and delay >= remaining:
        return None
    return delay
