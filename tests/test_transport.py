"""Pooling, per-model limits, retries, timeouts and error mapping, over loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
from aiohttp import web

from deepinfra_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DeepInfra,
    InternalServerError,
    Limits,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryDetails,
    RetryPolicy,
    Timeout,
    UnprocessableEntityError,
)
from deepinfra_async.testing import Emulator

from .conftest import CHAT_MODEL, FAST_RETRY, OTHER_CHAT_MODEL, chat_body, serve

CHAT = "/v1/openai/chat/completions"
MODELS = "/v1/openai/models"


async def test_sequential_requests_share_one_connection(client: DeepInfra, emu: Emulator) -> None:
    """20 sequential requests reuse a single keep-alive TCP connection."""
    for _ in range(20):
        response = await client.request("GET", MODELS)
        assert response.status == 200
    assert emu.connections_accepted == 1
    assert len(emu.requests) == 20


async def test_per_model_limiter_caps_in_flight_requests(emu: Emulator) -> None:
    """With per_model_concurrency=3 one model never has more than 3 in flight; others proceed."""
    emu.faults.add(CHAT, delay=0.2, times=None)
    limits = Limits(per_model_concurrency=3)
    async with DeepInfra(emu.api_key, base_url=emu.url, limits=limits) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def timed(model: str) -> float:
            await client.request("POST", CHAT, json=chat_body(model))
            return loop.time() - started

        first = [asyncio.create_task(timed(CHAT_MODEL)) for _ in range(12)]
        await asyncio.sleep(0.05)
        second = [asyncio.create_task(timed(OTHER_CHAT_MODEL)) for _ in range(3)]
        first_done = await asyncio.gather(*first)
        second_done = await asyncio.gather(*second)
    assert emu.max_in_flight[CHAT_MODEL] == 3
    assert emu.max_in_flight[OTHER_CHAT_MODEL] == 3
    # 12 requests through 3 slots take four 0.2 s waves; the other model is not held back.
    assert max(first_done) >= 0.75
    assert max(second_done) < 0.6


async def test_limiter_wait_counts_against_pool_timeout(emu: Emulator) -> None:
    """Waiting longer than Timeout.pool for a limiter slot raises APITimeoutError (pool)."""
    emu.faults.add(CHAT, delay=1.0, times=1)
    async with DeepInfra(
        emu.api_key,
        base_url=emu.url,
        limits=Limits(per_model_concurrency=1),
        timeout=Timeout(pool=0.2),
    ) as client:
        slow = asyncio.create_task(client.request("POST", CHAT, json=chat_body()))
        await asyncio.sleep(0.05)
        with pytest.raises(APITimeoutError) as info:
            await client.request("POST", CHAT, json=chat_body())
        assert info.value.phase == "pool"
        assert "pool timeout" in str(info.value)
        assert (await slow).status == 200
    assert len(emu.requests) == 1


async def test_limiter_can_be_turned_off(emu: Emulator) -> None:
    """per_model_concurrency=None lets every request through at once."""
    emu.faults.add(CHAT, delay=0.2, times=None)
    limits = Limits(per_model_concurrency=None)
    async with DeepInfra(emu.api_key, base_url=emu.url, limits=limits) as client:
        await asyncio.gather(*(client.request("POST", CHAT, json=chat_body()) for _ in range(8)))
    assert emu.max_in_flight[CHAT_MODEL] == 8


async def test_429_with_retry_after_is_retried_once_after_the_delay(emu: Emulator) -> None:
    """A 429 with Retry-After: 1 then a 200 is retried exactly once, no sooner than 1 s."""
    emu.faults.add(CHAT, status=429, retry_after=1, times=1)
    seen: list[RetryDetails] = []
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, on_retry=seen.append)
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=policy) as client:
        started = time.monotonic()
        response = await client.request("POST", CHAT, json=chat_body())
        elapsed = time.monotonic() - started
    assert response.status == 200
    assert elapsed >= 1.0
    assert len(emu.requests) == 2
    assert len(seen) == 1
    assert seen[0].attempt == 1
    assert seen[0].delay == 1.0
    assert seen[0].reason == "429 RateLimitError"
    assert isinstance(seen[0].error, RateLimitError)


async def test_retry_after_ms_is_honoured(emu: Emulator) -> None:
    """retry-after-ms takes precedence and is waited for."""
    emu.faults.add(CHAT, status=503, retry_after_ms=300, times=1)
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=FAST_RETRY) as client:
        started = time.monotonic()
        await client.request("POST", CHAT, json=chat_body())
        assert time.monotonic() - started >= 0.3
    assert len(emu.requests) == 2


async def test_retry_after_beyond_the_cap_is_raised(emu: Emulator) -> None:
    """A server asking for longer than max_retry_after gets its RateLimitError raised at once."""
    emu.faults.add(CHAT, status=429, retry_after=120, times=1)
    policy = RetryPolicy(max_retry_after=5.0)
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=policy) as client:
        with pytest.raises(RateLimitError) as info:
            await client.request("POST", CHAT, json=chat_body())
    assert info.value.retry_after == 120.0
    assert len(emu.requests) == 1


async def test_fail_fast_429_is_not_retried(client: DeepInfra, emu: Emulator) -> None:
    """A request sent with fail_fast gets its 429 back without a retry."""
    emu.faults.add(CHAT, status=429, times=None)
    with pytest.raises(RateLimitError):
        await client.request("POST", CHAT, json=chat_body(fail_fast=True))
    assert len(emu.requests) == 1


async def test_three_500s_end_in_internal_server_error(emu: Emulator) -> None:
    """Three 500s with max_attempts=3 raise InternalServerError after exactly 3 attempts."""
    emu.faults.add(CHAT, status=500, times=None)
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01)
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=policy) as client:
        with pytest.raises(InternalServerError) as info:
            await client.request("POST", CHAT, json=chat_body())
    assert info.value.status == 500
    assert len(emu.requests) == 3


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, UnprocessableEntityError),
    ],
)
async def test_client_errors_are_never_retried(
    client: DeepInfra, emu: Emulator, status: int, cls: type[APIStatusError]
) -> None:
    """400, 401, 403, 404 and 422 are raised after a single attempt."""
    emu.faults.add(CHAT, status=status, times=None)
    with pytest.raises(cls):
        await client.request("POST", CHAT, json=chat_body())
    assert len(emu.requests) == 1


async def test_real_401_and_404_and_422_from_the_emulator(emu: Emulator) -> None:
    """A wrong key, an unknown route and a malformed body map to their classes, unretried."""
    async with DeepInfra("wrong-key", base_url=emu.url, retry=FAST_RETRY) as bad:
        with pytest.raises(AuthenticationError, match="Not authenticated"):
            await bad.request("GET", MODELS)
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=FAST_RETRY) as client:
        with pytest.raises(NotFoundError, match="Not Found"):
            await client.request("GET", "/v1/openai/nothing-here")
        with pytest.raises(UnprocessableEntityError) as info:
            await client.request("POST", CHAT, json={"model": CHAT_MODEL})
    assert "messages" in info.value.message
    assert isinstance(info.value.body, dict)
    assert len(emu.requests) == 3


async def test_missing_key_fails_before_sending(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any API key the first request raises AuthenticationError and sends nothing."""
    monkeypatch.delenv("DEEPINFRA_API_KEY", raising=False)
    monkeypatch.delenv("DEEPINFRA_API_TOKEN", raising=False)
    async with DeepInfra(base_url=emu.url) as client:
        with pytest.raises(AuthenticationError, match="no API key"):
            await client.request("GET", MODELS)
    assert emu.requests == []


async def _chat_call(client: DeepInfra, stream: bool) -> None:
    """A chat call, whole or streamed; a stream that opens is closed again."""
    if stream:
        opened = await client.chat.completions.create(
            model=CHAT_MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        await opened.aclose()
    else:
        await client.request("POST", CHAT, json=chat_body())


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_stalled_server_hits_the_total_deadline(emu: Emulator, stream: bool) -> None:
    """A server that stalls raises APITimeoutError within total + 0.5 s, retries notwithstanding.

    For a stream the deadline bounds opening it: its headers never come here.
    """
    emu.faults.add(CHAT, delay=30.0, times=None)
    policy = RetryPolicy(max_attempts=5, initial_backoff=0.01)
    async with DeepInfra(
        emu.api_key, base_url=emu.url, retry=policy, timeout=Timeout(total=1.0)
    ) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            await _chat_call(client, stream)
        elapsed = time.monotonic() - started
    assert info.value.phase == "total"
    assert 1.0 <= elapsed < 1.5


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_total_deadline_spans_retries(emu: Emulator, stream: bool) -> None:
    """The total deadline covers every attempt and backoff, not each attempt separately."""
    emu.faults.add(CHAT, status=503, delay=0.3, times=None)
    policy = RetryPolicy(max_attempts=10, initial_backoff=0.2, jitter=0.0)
    async with DeepInfra(
        emu.api_key, base_url=emu.url, retry=policy, timeout=Timeout(total=1.0)
    ) as client:
        started = time.monotonic()
        with pytest.raises((APITimeoutError, InternalServerError)):
            await _chat_call(client, stream)
        assert time.monotonic() - started < 1.5
    assert 2 <= len(emu.requests) < 5


async def test_read_timeout_is_not_retried(emu: Emulator) -> None:
    """An idle read past Timeout.read raises APITimeoutError (read) after one attempt."""
    emu.faults.add(CHAT, delay=5.0, times=None)
    async with DeepInfra(
        emu.api_key, base_url=emu.url, retry=FAST_RETRY, timeout=Timeout(read=0.3)
    ) as client:
        with pytest.raises(APITimeoutError) as info:
            await client.request("POST", CHAT, json=chat_body())
    assert info.value.phase == "read"
    assert len(emu.requests) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_closed_port_raises_connection_error() -> None:
    """Connecting to a closed port raises APIConnectionError, after the retries allowed."""
    seen: list[RetryDetails] = []
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.01, on_retry=seen.append)
    url = f"http://127.0.0.1:{_closed_port()}"
    async with DeepInfra("k", base_url=url, retry=policy) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.request("GET", MODELS)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.request_sent is False
    assert "cannot connect" in str(info.value)
    assert len(seen) == 1


async def test_dropped_connection_is_not_retried(client: DeepInfra, emu: Emulator) -> None:
    """A connection dropped after the request was sent is raised, not replayed (no double bill)."""
    emu.faults.add(CHAT, drop=True, times=1)
    with pytest.raises(APIConnectionError) as info:
        await client.request("POST", CHAT, json=chat_body())
    assert info.value.request_sent is True
    assert len(emu.requests) == 1
    # The pool recovers: the next call works.
    assert (await client.request("POST", CHAT, json=chat_body())).status == 200


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (
            401,
            {"error": {"message": "Not authenticated", "type": "invalid_request_error"}},
            AuthenticationError,
            "Not authenticated",
        ),
        (
            422,
            {"detail": [{"loc": ["body", "messages", 0, "role"], "msg": "bad role", "type": "v"}]},
            UnprocessableEntityError,
            "body.messages.0.role: bad role",
        ),
        (404, {"error": "Model not found"}, NotFoundError, "Model not found"),
        (400, {"detail": {"error": "image too large"}}, BadRequestError, "image too large"),
        (404, {"detail": "Not Found"}, NotFoundError, "Not Found"),
        (403, {"error": "Unauthorised"}, PermissionDeniedError, "Unauthorised"),
        (405, "", APIStatusError, "HTTP 405 Method Not Allowed (empty body)"),
        (
            502,
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            InternalServerError,
            "502 Bad Gateway",
        ),
        (402, {"error": {"message": "needs funding"}}, APIStatusError, "needs funding"),
    ],
)
async def test_error_bodies_over_the_wire(
    emu: Emulator, status: int, body: object, cls: type[APIStatusError], message: str
) -> None:
    """Every error body shape, sent by a real server, maps to the right class and message."""
    emu.faults.add(CHAT, status=status, body=body, times=None)
    policy = RetryPolicy(max_attempts=1)
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=policy) as client:
        with pytest.raises(cls) as info:
            await client.request("POST", CHAT, json=chat_body())
    assert info.value.status == status
    assert info.value.message == message


async def test_request_id_from_header_or_body(client: DeepInfra, emu: Emulator) -> None:
    """Errors take their request id from x-request-id, else from the body's request_id."""
    emu.faults.add(CHAT, status=400, headers={"x-request-id": "hdr-1"}, times=1)
    emu.faults.add(CHAT, status=400, body={"error": "bad", "request_id": "body-2"}, times=1)
    with pytest.raises(BadRequestError) as first:
        await client.request("POST", CHAT, json=chat_body())
    with pytest.raises(BadRequestError) as second:
        await client.request("POST", CHAT, json=chat_body())
    assert first.value.request_id == "hdr-1"
    assert second.value.request_id == "body-2"
    assert "request_id=body-2" in str(second.value)


async def test_each_attempt_logs_debug_and_each_retry_warns(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """One DEBUG line per attempt (method, URL, status, ms, attempt) and one WARNING per retry."""
    emu.faults.add(CHAT, status=503, times=1)
    caplog.set_level(logging.DEBUG, logger="deepinfra_async")
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=FAST_RETRY) as client:
        await client.request("POST", CHAT, json=chat_body())
    ours = [r for r in caplog.records if r.name == "deepinfra_async"]
    debug = [r.getMessage() for r in ours if r.levelno == logging.DEBUG]
    warning = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
    assert len(debug) == 2
    assert debug[0].startswith(f"POST {emu.url}{CHAT} -> 503 in ")
    assert debug[0].endswith("ms (attempt 1 of 3)")
    assert debug[1].startswith(f"POST {emu.url}{CHAT} -> 200 in ")
    assert len(warning) == 1
    assert "after 503 InternalServerError" in warning[0]


async def test_key_never_leaks_into_logs_or_errors(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The key appears in no log record at DEBUG and no error, even when a server echoes it."""
    key = emu.api_key
    emu.faults.add(CHAT, status=503, times=1)
    emu.faults.add(
        CHAT, status=400, body={"error": {"message": f"bad key {key}", "param": key}}, times=1
    )
    caplog.set_level(logging.DEBUG)
    async with DeepInfra(key, base_url=emu.url, retry=FAST_RETRY) as client:
        with pytest.raises(BadRequestError) as info:
            await client.request("POST", CHAT, json=chat_body())
        texts = [repr(client), str(client), repr(client.config)]
    exc = info.value
    texts += [str(exc), repr(exc), exc.message, repr(exc.body), repr(exc.headers)]
    texts += [record.getMessage() for record in caplog.records]
    assert caplog.records
    for text in texts:
        assert key not in text
    assert "[redacted]" in exc.message


async def test_extra_headers_and_params_are_sent(client: DeepInfra, emu: Emulator) -> None:
    """request() sends auth, user agent, extra headers and query parameters."""
    await client.request(
        "GET", MODELS, params={"filter": "with_meta"}, headers={"x-deepinfra-source": "tests"}
    )
    seen = emu.requests[0]
    assert seen.headers["authorization"] == f"Bearer {emu.api_key}"
    assert seen.headers["user-agent"].startswith("deepinfra-async/")
    assert seen.headers["x-deepinfra-source"] == "tests"
    assert seen.query == {"filter": "with_meta"}


async def test_key_is_sent_only_to_deepinfra_origins(emu: Emulator) -> None:
    """An absolute URL on another origin gets no Authorization header; the base origin does."""
    async with Emulator(api_key="other") as other:
        async with DeepInfra(emu.api_key, base_url=emu.url, retry=FAST_RETRY) as client:
            with pytest.raises(AuthenticationError):
                await client.request("GET", f"{other.url}{MODELS}")
            await client.request("GET", f"{emu.url}{MODELS}")
        assert "authorization" not in other.requests[0].headers
    assert emu.requests[0].headers["authorization"] == f"Bearer {emu.api_key}"


async def test_limiter_hands_slots_over_in_order_and_never_leaks_one() -> None:
    """Waiters get slots first come, first served; a cancelled waiter passes its slot on."""
    from deepinfra_async._transport import _Limiter

    limiter = _Limiter(1)
    limiter.free -= 1  # the one slot is taken
    order: list[int] = []

    async def waiter(i: int) -> None:
        await limiter.wait()
        order.append(i)

    tasks = [asyncio.create_task(waiter(i)) for i in range(3)]
    await asyncio.sleep(0)
    limiter.release()  # handed to waiter 0, which is cancelled before it runs
    tasks[0].cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert order == [1]  # the slot went on to the next waiter, not back to the count
    assert limiter.free == 0
    limiter.release()
    await asyncio.gather(*tasks[1:])
    assert order == [1, 2]
    limiter.release()
    assert (limiter.free, len(limiter.waiters)) == (1, 0)
    assert tasks[0].cancelled()


async def test_caller_headers_replace_ours_whatever_their_case(emu: Emulator) -> None:
    """Headers the caller names, in any case, replace the client's own; none goes twice."""
    defaults = {"user-agent": "my-app/2", "ACCEPT": "application/x-ndjson"}
    async with DeepInfra(
        emu.api_key, base_url=emu.url, retry=FAST_RETRY, default_headers=defaults
    ) as client:
        await client.request("GET", MODELS)
        await client.request(
            "POST",
            CHAT,
            json=chat_body(),
            headers={"content-type": "application/json; charset=utf-8", "accept": "*/*"},
        )
    listing, chat = emu.requests
    assert listing.headers["user-agent"] == "my-app/2"
    assert listing.headers["accept"] == "application/x-ndjson"
    assert chat.headers["user-agent"] == "my-app/2"
    assert chat.headers["content-type"] == "application/json; charset=utf-8"
    assert chat.headers["accept"] == "*/*"
    assert chat.headers["authorization"] == f"Bearer {emu.api_key}"


async def test_a_body_over_1_mib_is_sent_whole_on_every_attempt_without_warnings() -> None:
    """A 3 MiB JSON body (an image as a data URL, say): no ResourceWarning, resent on retry."""
    sizes: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        sizes.append(len(await request.read()))
        if len(sizes) == 1:
            return web.json_response({"detail": "busy"}, status=503)
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=8 << 20)
    app.router.add_post(CHAT, handle)
    body = {"model": CHAT_MODEL, "input": "data:image/png;base64," + "A" * (3 << 20)}
    async with serve(app) as url, DeepInfra("k", base_url=url, retry=FAST_RETRY) as client:
        response = await client.request("POST", CHAT, json=body)
    assert response.json() == {"ok": True}
    assert len(sizes) == 2
    assert sizes[0] == sizes[1] > 3 << 20
