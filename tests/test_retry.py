"""Retry decisions and Retry-After parsing, without I/O."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from deepinfra_async import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
)
from deepinfra_async._retry import backoff_delay, parse_retry_after, retry_delay


def no_jitter() -> float:
    return 0.0


def test_retry_after_seconds_ms_and_date() -> None:
    """Retry-After takes seconds or an HTTP date; retry-after-ms wins over both."""
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = 1_700_000_000.0
    date = formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=lambda: now) == pytest.approx(30.0)
    past = formatdate(now - 30, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=lambda: now) == 0.0


@pytest.mark.parametrize("value", ["soon", "", "nan", "Mon, 99 Foo 20"])
def test_retry_after_garbage_is_ignored(value: str) -> None:
    """Unparseable Retry-After values count as absent rather than raising."""
    assert parse_retry_after({"retry-after": value}) is None


def test_backoff_grows_and_caps() -> None:
    """Backoff doubles from initial_backoff and stops at max_backoff; jitter only shortens it."""
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=3.0, jitter=0.5)
    assert [backoff_delay(policy, n, rand=no_jitter) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert backoff_delay(policy, 1, rand=lambda: 0.999) == pytest.approx(0.25, abs=0.001)


def test_retryable_statuses_and_attempt_limit() -> None:
    """5xx and 429 retry until max_attempts; 4xx never does."""
    policy = RetryPolicy(max_attempts=3, initial_backoff=1.0, jitter=0.0)
    err500 = InternalServerError("x", status=500)
    assert retry_delay(policy, err500, 1) == 1.0
    assert retry_delay(policy, err500, 2) == 2.0
    assert retry_delay(policy, err500, 3) is None
    assert retry_delay(policy, BadRequestError("x", status=400), 1) is None


def test_retry_after_is_honoured_within_the_cap() -> None:
    """A server delay replaces the backoff, but one above max_retry_after is not waited for."""
    policy = RetryPolicy(max_retry_after=10.0)
    assert retry_delay(policy, RateLimitError("busy", retry_after=4.0), 1) == 4.0
    assert retry_delay(policy, RateLimitError("busy", retry_after=11.0), 1) is None
    err503 = InternalServerError("x", status=503, headers={"retry-after": "3"})
    assert retry_delay(policy, err503, 1) == 3.0


def test_fail_fast_429_is_never_retried() -> None:
    """A 429 for a request sent with fail_fast is raised at once; a 503 still retries."""
    policy = RetryPolicy()
    assert retry_delay(policy, RateLimitError("busy"), 1, fail_fast=True) is None
    assert retry_delay(policy, InternalServerError("x", status=503), 1, fail_fast=True) is not None


def test_no_sleep_past_the_deadline() -> None:
    """When the delay would reach the total deadline, the error is raised instead."""
    policy = RetryPolicy(initial_backoff=2.0, jitter=0.0)
    err = InternalServerError("x", status=500)
    assert retry_delay(policy, err, 1, remaining=5.0) == 2.0
    assert retry_delay(policy, err, 1, remaining=1.0) is None


def test_connection_errors_retry_only_before_sending() -> None:
    """Connect failures retry; a lost connection after sending, or a pool timeout, does not."""
    policy = RetryPolicy(jitter=0.0)
    assert retry_delay(policy, APIConnectionError("refused", request_sent=False), 1) == 0.5
    assert retry_delay(policy, APIConnectionError("reset", request_sent=True), 1) is None
    connect = APITimeoutError("t", phase="connect", request_sent=False)
    assert retry_delay(policy, connect, 1) == 0.5
    assert retry_delay(policy, APITimeoutError("t", phase="read"), 1) is None
    assert retry_delay(policy, APITimeoutError("t", phase="pool", request_sent=False), 1) is None
    assert retry_delay(policy, ValueError("x"), 1) is None
