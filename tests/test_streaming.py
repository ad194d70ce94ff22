"""Streaming over loopback: typed chunks, merging, errors, release on every exit, backpressure."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import psutil
import pytest

from deepinfra_async import (
    APITimeoutError,
    AsyncStream,
    ChatCompletionStream,
    DeepInfra,
    Limits,
    RetryPolicy,
    StreamError,
    Timeout,
)
from deepinfra_async.testing import Emulator
from deepinfra_async.types import ChatCompletionChunk, Completion

from .conftest import CHAT_MODEL, FAST_RETRY, chunk_event, serve

HELLO = [{"role": "user", "content": "Tell me a story"}]
CHAT = "/v1/openai/chat/completions"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}


def controls(**values: Any) -> dict[str, Any]:
    """The emulator's per-request controls, sent through extra_body."""
    return {"emulator": values}


async def open_chat(
    client: DeepInfra,
    *,
    model: str = CHAT_MODEL,
    max_tokens: int | None = None,
    n: int | None = None,
    extra_body: dict[str, Any] | None = None,
) -> ChatCompletionStream:
    """Open a chat stream on the emulator."""
    return await client.chat.completions.create(
        model=model,
        messages=HELLO,
        stream=True,
        max_tokens=max_tokens,
        n=n,
        extra_body=extra_body,
    )


async def drain(stream: ChatCompletionStream, into: list[str] | None = None) -> None:
    """Read a stream to its end inside `async with`, keeping the first choice's text."""
    async with stream:
        async for chunk in stream:
            if into is not None and chunk.choices:
                into.append(chunk.choices[0].delta.content or "")


async def test_chat_stream_yields_typed_chunks(client: DeepInfra, emu: Emulator) -> None:
    """A chat stream yields ChatCompletionChunks whose text equals the non-streamed reply."""
    plain = await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=8)
    pieces: list[str] = []
    async with await open_chat(client, max_tokens=8) as stream:
        async for chunk in stream:
            assert isinstance(chunk, ChatCompletionChunk)
            pieces.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(pieces) == plain.choices[0].message.content
    assert stream.closed
    assert stream.usage is not None
    assert stream.usage.completion_tokens == 8
    assert stream.usage.estimated_cost is not None
    assert stream.usage.estimated_cost > 0
    assert emu.requests[1].json["stream"] is True


async def test_finished_streams_reuse_the_connection(client: DeepInfra, emu: Emulator) -> None:
    """A stream read to [DONE] gives its connection back to the pool for reuse."""
    for _ in range(3):
        async with await open_chat(client, max_tokens=4) as stream:
            async for _chunk in stream:
                pass
    await client.models.list()
    assert emu.connections_accepted == 1


async def test_trailing_usage_chunk_is_recorded(client: DeepInfra) -> None:
    """Usage on an OpenAI-style trailing chunk with no choices is exposed as stream.usage."""
    async with await open_chat(client, max_tokens=3, extra_body=controls(usage="trailing")) as s:
        chunks = [chunk async for chunk in s]
    assert chunks[-1].choices == []
    assert s.usage is not None
    assert s.usage.completion_tokens == 3


async def test_get_final_completion_merges_tool_calls(client: DeepInfra) -> None:
    """Tool-call fragments are joined by index into the same calls as a plain completion."""
    kwargs: dict[str, Any] = {
        "model": CHAT_MODEL,
        "messages": HELLO,
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "tool_choice": "required",
    }
    plain = await client.chat.completions.create(**kwargs)
    async with await client.chat.completions.create(stream=True, **kwargs) as stream:
        merged = await stream.get_final_completion()
    expected = plain.choices[0].message.tool_calls
    calls = merged.choices[0].message.tool_calls
    assert expected is not None
    assert calls is not None
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        (c.id, c.function.name, c.function.arguments) for c in expected
    ]
    assert json.loads(calls[0].function.arguments).keys() == {"city", "unit"}
    assert merged.choices[0].finish_reason == "tool_calls"
    assert merged.choices[0].message.content is None
    assert merged.usage == plain.usage


async def test_get_final_completion_merges_reasoning_and_choices(client: DeepInfra) -> None:
    """Reasoning and content of every choice are merged, even after partial iteration."""
    model = "deepseek-ai/DeepSeek-R1"
    plain = await client.chat.completions.create(model=model, messages=HELLO, n=2, max_tokens=6)
    async with await open_chat(client, model=model, n=2, max_tokens=6) as stream:
        first = await anext(stream)
        merged = await stream.get_final_completion()
    assert first.choices
    assert len(merged.choices) == 2
    for got, want in zip(merged.choices, plain.choices, strict=True):
        assert got.message.content == want.message.content
        assert got.message.reasoning_content == want.message.reasoning_content
        assert got.message.reasoning_content
    assert merged.id == plain.id or merged.id.startswith("chatcmpl-")


async def test_in_band_error_raises_stream_error_with_received_text(client: DeepInfra) -> None:
    """An in-band error event raises StreamError carrying the error and the text so far."""
    received: list[str] = []
    stream = await open_chat(client, max_tokens=50, extra_body=controls(error_after=4, tokens=50))
    with pytest.raises(StreamError) as info:
        await drain(stream, received)
    error = info.value
    assert error.error_type is not None
    assert "mid-stream" in error.message
    assert error.received == "".join(received)
    assert error.received
    assert stream.closed


async def test_scripted_mid_stream_fault(client: DeepInfra, emu: Emulator) -> None:
    """A fault scripted on the emulator after k events surfaces the same way."""
    emu.faults.add(CHAT, after_events=3, error={"error_type": "overloaded", "error_message": "x"})
    stream = await open_chat(client, max_tokens=20)
    with pytest.raises(StreamError) as info:
        await drain(stream)
    assert info.value.error_type == "overloaded"


async def test_dropped_stream_is_never_silently_truncated(client: DeepInfra) -> None:
    """A connection that drops before [DONE] raises StreamError, not a short stream."""
    stream = await open_chat(client, extra_body=controls(drop_after=3, tokens=40))
    with pytest.raises(StreamError, match=r"lost mid-stream|ended before") as info:
        await drain(stream)
    assert info.value.received
    assert stream.closed


async def test_stalled_stream_hits_the_read_timeout(emu: Emulator) -> None:
    """A stream that stops sending raises APITimeoutError (read) soon after Timeout.read.

    The watchdog looks at a pending read every tenth of ``Timeout.read`` (here 0.03 s), also
    when nothing else has a clock running (it went idle while the consumer was busy).
    """
    async with DeepInfra(
        emu.api_key, base_url=emu.url, timeout=Timeout(read=0.3), retry=FAST_RETRY
    ) as client:
        stream = await open_chat(client, extra_body=controls(stall_after=2, tokens=40))
        await anext(stream)
        await asyncio.sleep(0.1)  # no read pending: nothing for the watchdog to look at
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            await drain(stream)
        assert 0.3 <= time.monotonic() - started < 0.8
    assert info.value.phase == "read"


async def test_oversized_event_is_refused(emu: Emulator) -> None:
    """An event larger than Limits.max_event_bytes raises instead of buffering without bound."""
    limits = Limits(max_event_bytes=2_000)
    async with DeepInfra(emu.api_key, base_url=emu.url, limits=limits) as client:
        stream = await open_chat(client, extra_body=controls(tokens=2_000, chunk_tokens=1_000))
        with pytest.raises(StreamError, match="max_event_bytes"):
            await drain(stream)


async def test_stream_retries_only_before_headers(emu: Emulator) -> None:
    """A 429 before the stream opens is retried; the stream then reads normally."""
    emu.faults.add(CHAT, status=429, retry_after=0, times=1)
    received: list[str] = []
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=FAST_RETRY) as client:
        await drain(await open_chat(client, max_tokens=3), received)
    assert len(received) >= 3
    assert len(emu.requests) == 2


async def test_non_stream_answer_to_a_stream_request(client: DeepInfra, emu: Emulator) -> None:
    """A 200 JSON answer where an event stream was expected raises a clear StreamError."""
    emu.faults.add(CHAT, status=200, body={"id": "x", "choices": []})
    with pytest.raises(StreamError, match="expected an event stream"):
        await open_chat(client)


async def test_break_releases_the_connection_with_a_pool_of_one(emu: Emulator) -> None:
    """With one pooled connection, 10 streams that break after one chunk finish within 2 s."""
    limits = Limits(max_connections=1)
    body = controls(tokens=100_000, token_rate=2_000)
    async with DeepInfra(
        emu.api_key, base_url=emu.url, limits=limits, timeout=Timeout(pool=5)
    ) as client:
        started = time.monotonic()
        for _ in range(10):
            async with await open_chat(client, extra_body=body) as stream:
                async for _chunk in stream:
                    break
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert len(emu.requests) == 10


async def test_dropping_an_open_stream_releases_its_connection(emu: Emulator) -> None:
    """A stream object dropped without closing warns and gives its connection back."""
    limits = Limits(max_connections=1, per_model_concurrency=1)
    async with DeepInfra(
        emu.api_key, base_url=emu.url, limits=limits, timeout=Timeout(pool=2)
    ) as client:
        stream = await open_chat(client, extra_body=controls(tokens=100_000, token_rate=1_000))
        await anext(stream)
        # The last reference goes: CPython finalises the stream right here.
        with pytest.warns(ResourceWarning, match="ChatCompletionStream open"):
            del stream
        chat = await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO)
    assert chat.choices


async def test_cancelling_mid_stream_leaves_the_pool_usable(emu: Emulator) -> None:
    """Cancelling a task mid-stream releases the connection and the limiter slot."""
    limits = Limits(max_connections=1, per_model_concurrency=1)
    async with DeepInfra(
        emu.api_key, base_url=emu.url, limits=limits, timeout=Timeout(pool=2)
    ) as client:
        first_chunk = asyncio.Event()

        async def consume() -> None:
            async with await open_chat(
                client, extra_body=controls(tokens=100_000, token_rate=50)
            ) as stream:
                async for _chunk in stream:
                    first_chunk.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first_chunk.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client._transport.limiter_in_use(CHAT_MODEL) == 0
        chat = await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO)
    assert chat.choices


async def test_slow_consumer_applies_backpressure(emu: Emulator) -> None:
    """A consumer that waits holds the server to a few MB of a 100+ MB stream, in bounded memory."""
    process = psutil.Process()
    async with DeepInfra(emu.api_key, base_url=emu.url) as client:
        stream = await open_chat(client, extra_body=controls(tokens=20_000_000, chunk_tokens=200))
        async with stream:
            await anext(stream)
            rss_before = process.memory_info().rss
            await asyncio.sleep(1.0)
            written = emu.streams[-1].bytes_written
            rss_after = process.memory_info().rss
            # A little more reading still works, and still pauses the writer.
            for _ in range(10):
                await anext(stream)
            await asyncio.sleep(0.3)
            written_later = emu.streams[-1].bytes_written
    assert written < 8 * 2**20
    assert written_later < 8 * 2**20
    assert rss_after - rss_before < 16 * 2**20
    assert emu.streams[-1].finished is False


async def test_completions_stream(client: DeepInfra) -> None:
    """A completions stream yields Completion chunks and records usage."""
    plain = await client.completions.create(model=CHAT_MODEL, prompt="Once", max_tokens=6)
    async with await client.completions.create(
        model=CHAT_MODEL, prompt="Once", max_tokens=6, stream=True
    ) as stream:
        assert isinstance(stream, AsyncStream)
        chunks = [chunk async for chunk in stream]
    assert all(isinstance(c, Completion) for c in chunks)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == plain.choices[0].text
    assert stream.received_text == plain.choices[0].text
    assert stream.usage is not None
    assert stream.usage.completion_tokens == 6


async def test_stream_repr_shows_state(client: DeepInfra) -> None:
    """A stream's repr says whether it is open, finished or closed early."""
    stream = await open_chat(client, max_tokens=2)
    assert repr(stream) == "<ChatCompletionStream open status=200>"
    async with stream:
        async for _chunk in stream:
            pass
    assert repr(stream) == "<ChatCompletionStream finished status=200>"
    early = await open_chat(client, max_tokens=20)
    await early.aclose()
    await early.aclose()
    assert repr(early) == "<ChatCompletionStream closed status=200>"


async def test_retry_policy_applies_to_stream_opening(emu: Emulator) -> None:
    """Opening a stream shares the retry loop: three 503s with max_attempts=3 raise."""
    emu.faults.add(CHAT, status=503, times=None)
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01)
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=policy) as client:
        with pytest.raises(Exception, match="503"):
            await open_chat(client)
    assert len(emu.requests) == 3


async def test_clean_end_without_done_after_an_unterminated_event_is_an_error() -> None:
    """A body that ends cleanly after an event with no blank line, and no [DONE], is cut short."""
    from aiohttp import web

    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": CHAT_MODEL,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}],
    }
    body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(chunk)}\n".encode()

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/event-stream")

    app = web.Application()
    app.router.add_post("/v1/openai/chat/completions", handle)
    async with serve(app) as base_url, DeepInfra("k", base_url=base_url) as client:
        stream = await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO, stream=True)
        seen: list[str | None] = []

        async def consume() -> None:
            async with stream:
                async for item in stream:
                    seen.append(item.choices[0].delta.content)  # noqa: PERF401

        with pytest.raises(StreamError, match="ended before its final event") as info:
            await consume()
        assert seen == ["Hi", "Hi"]
        assert info.value.received == "HiHi"
        assert stream.closed


async def test_total_deadline_does_not_cut_off_reading_a_stream() -> None:
    """Reading an opened stream is bounded by Timeout.read only, however long it goes on."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index in range(6):
            await response.write(chunk_event(str(index)))
            await asyncio.sleep(0.15)
        await response.write(chunk_event("", "stop") + b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post(CHAT, handle)
    timeout = Timeout(total=0.3, read=1.0)
    async with serve(app) as base_url, DeepInfra("k", base_url=base_url, timeout=timeout) as client:
        started = time.monotonic()
        stream = await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO, stream=True)
        async with stream:
            text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
        assert time.monotonic() - started > 0.6
    assert text == "012345"
