"""Read and total timeouts kept by the client's watchdog: its rules, and calls over loopback."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiohttp import web

from deepinfra_async import APITimeoutError, DeepInfra, Limits, Timeout
from deepinfra_async._watchdog import CallWatch, Watch, Watchdog, period_for

from .conftest import CHAT_MODEL, FAST_RETRY, chunk_event, serve

PATH = "/v1/openai/chat/completions"
BODY = json.dumps({"ok": True, "pad": "x" * 600}).encode()


@pytest.mark.parametrize(
    ("read", "total", "period"),
    [(120.0, 600.0, 1.0), (120.0, None, 1.0), (None, 2.0, 0.2), (0.3, 1.0, 0.03), (None, None, 1.0),
     (0.000_1, None, 0.001)],
)  # fmt: skip
def test_period_is_a_tenth_of_the_shortest_timeout_within_bounds(
    read: float | None, total: float | None, period: float
) -> None:
    assert period_for(read, total) == pytest.approx(period)


def _watchdog() -> Watchdog:
    """A watchdog for which no call is ever waiting for a connection."""
    return Watchdog(asyncio.get_running_loop(), lambda _pending: False)


async def _call_under_watch(dog: Watchdog, watch: Watch, phase: str) -> bool:
    """Wait until cancelled; whether the watchdog claims the cancellation as ``phase``.

    A cancellation it does not claim propagates, as it does out of a call.
    """
    dog.start(watch, 0.01)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        if dog.claim(watch, phase):
            return True
        raise
    finally:
        dog.stop(watch)
    return False


async def test_a_read_clock_that_runs_out_cancels_the_task_and_is_claimed() -> None:
    dog = _watchdog()
    watch = Watch(0.05)
    watch.expires = dog.now() + 0.05
    started = time.monotonic()
    claimed = await asyncio.create_task(_call_under_watch(dog, watch, "read"))
    assert claimed
    assert 0.05 <= time.monotonic() - started < 0.5
    dog.close()


async def test_a_deadline_fires_as_total_and_not_as_read() -> None:
    dog = _watchdog()
    watch = CallWatch(None, dog.now() + 0.05)
    task = asyncio.create_task(_call_under_watch(dog, watch, "read"))
    with pytest.raises(asyncio.CancelledError):
        # Not claimed as "read": the cancellation propagates out of the task.
        await task
    assert watch.fired == "total"
    dog.close()


async def test_a_cancellation_from_elsewhere_is_not_claimed() -> None:
    """The caller's own cancel at the same moment wins: the task stays cancelled."""
    dog = _watchdog()
    watch = Watch(0.05)
    watch.expires = dog.now() + 10
    task = asyncio.create_task(_call_under_watch(dog, watch, "read"))
    await asyncio.sleep(0.02)
    watch.expires = dog.now()
    dog._tick()  # the watchdog fires ...
    task.cancel()  # ... and so does the caller, before the task runs again
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    dog.close()


async def test_nothing_fires_before_the_clock_runs_out_or_after_stop() -> None:
    dog = _watchdog()
    watch = Watch(0.05)
    watch.expires = dog.now() + 10
    dog.start(watch, 0.01)
    await asyncio.sleep(0.1)  # ten periods
    dog.stop(watch)
    watch.expires = dog.now()
    await asyncio.sleep(0.05)
    assert watch.fired is None
    dog.close()


def _slow_body(pieces: int, pause: float) -> web.Application:
    """An app answering ``BODY`` in ``pieces`` writes, ``pause`` seconds apart."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(BODY)
        await response.prepare(request)
        step = -(-len(BODY) // pieces)
        for start in range(0, len(BODY), step):
            if start:
                await asyncio.sleep(pause)
            await response.write(BODY[start : start + step])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post(PATH, handle)
    return app


async def test_a_whole_body_that_keeps_coming_is_not_cut_off_by_read() -> None:
    """Each piece of a slow body restarts the read clock: 1 s of body, read timeout 0.3 s."""
    app = _slow_body(9, 0.12)
    timeout = Timeout(read=0.3)
    async with serve(app) as url, DeepInfra("k", base_url=url, timeout=timeout) as client:
        started = time.monotonic()
        response = await client.request("POST", PATH, json={"model": CHAT_MODEL})
        assert time.monotonic() - started > 0.9
    assert response.json() == json.loads(BODY)


async def test_a_whole_body_that_stops_hits_the_read_timeout() -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(BODY)
        await response.prepare(request)
        await response.write(BODY[:100])
        await asyncio.sleep(5)
        return response

    app = web.Application()
    app.router.add_post(PATH, handle)
    timeout = Timeout(read=0.3)
    async with (
        serve(app, shutdown_timeout=0.1) as url,
        DeepInfra("k", base_url=url, timeout=timeout, retry=FAST_RETRY) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"sent nothing for 0\.3 s") as info:
            await client.request("POST", PATH, json={"model": CHAT_MODEL})
        elapsed = time.monotonic() - started
    assert info.value.phase == "read"
    assert 0.3 <= elapsed < 1.0


async def test_waiting_for_a_pooled_connection_does_not_count_against_read() -> None:
    """With one connection, the second call waits 0.45 s for it; its read timeout is 0.3 s."""
    app = _slow_body(4, 0.15)
    limits = Limits(max_connections=1, per_model_concurrency=None)
    timeout = Timeout(read=0.3)
    async with (
        serve(app) as url,
        DeepInfra("k", base_url=url, timeout=timeout, limits=limits, retry=FAST_RETRY) as client,
    ):
        responses = await asyncio.gather(
            *(client.request("POST", PATH, json={"model": CHAT_MODEL}) for _ in range(2))
        )
    assert [r.json() for r in responses] == [json.loads(BODY)] * 2


async def test_writing_a_long_upload_does_not_count_against_read() -> None:
    """16 MB whose first half the server takes about 0.8 s to read; the read timeout is 0.3 s.

    The second half is read at once, so that the server answers soon after the client has
    written the last bytes (the kernel holds several MB of them).
    """
    received = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal received
        while chunk := await request.content.read(1 << 20):
            received += len(chunk)
            if received < 8 << 20:
                await asyncio.sleep(0.1)
        return web.json_response({"received": received})

    app = web.Application()
    app.router.add_post(PATH, handle)
    payload = {"model": CHAT_MODEL, "input": "x" * (16 << 20)}
    timeout = Timeout(read=0.3)
    async with (
        serve(app) as url,
        DeepInfra("k", base_url=url, timeout=timeout, retry=FAST_RETRY) as client,
    ):
        started = time.monotonic()
        response = await client.request("POST", PATH, json=payload)
        assert time.monotonic() - started > 0.6
    assert response.json() == {"received": received}
    assert received > 16 << 20


async def test_a_stream_read_clock_runs_only_while_the_consumer_reads() -> None:
    """A consumer that stops pulling for longer than read is not timed out for it."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(chunk_event("a"))
        await asyncio.sleep(0.6)
        await response.write(chunk_event("b") + chunk_event("", "stop") + b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post(PATH, handle)
    timeout = Timeout(read=0.3)
    messages = [{"role": "user", "content": "Hi"}]
    async with serve(app) as url, DeepInfra("k", base_url=url, timeout=timeout) as client:
        stream = await client.chat.completions.create(
            model=CHAT_MODEL, messages=messages, stream=True
        )
        async with stream:
            first = await stream.__anext__()
            await asyncio.sleep(0.9)  # the server's pause passes while nobody reads
            rest = [chunk.choices[0].delta.content async for chunk in stream]
    assert first.choices[0].delta.content == "a"
    assert rest == ["b", ""]
