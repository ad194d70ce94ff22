"""The emulator's OpenAI-compatible routes: chat streams, tools, faults, completions, embeddings."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from deepinfra_async.testing import Emulator, Faults, StreamStats

CHAT = "/v1/openai/chat/completions"
COMPLETIONS = "/v1/openai/completions"
EMBEDDINGS = "/v1/openai/embeddings"
LLAMA = "meta-llama/Meta-Llama-3-8B-Instruct"
R1 = "deepseek-ai/DeepSeek-R1"
BGE = "BAAI/bge-large-en-v1.5"
QWEN_EMBED = "Qwen/Qwen3-Embedding-8B"
DONE = "[DONE]"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a place.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "hourly": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["location"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A running emulator with a fixed key."""
    async with Emulator(api_key="test-key") as emulator:
        yield emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    """A raw aiohttp session that sends the emulator's key."""
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(emu.url, headers=headers) as session:
        yield session


def chat(model: str = LLAMA, content: str = "Hello there", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def split_sse(raw: bytes) -> list[str]:
    """Split an SSE body into the payloads of its ``data:`` events, checking the framing."""
    text = raw.decode()
    assert text.endswith("\n\n") or not text
    events = text.split("\n\n")[:-1]
    payloads = []
    for event in events:
        assert "\n" not in event  # one data line per event, nothing else
        assert event.startswith("data: ")
        payloads.append(event[len("data: ") :])
    return payloads


def decode(payloads: list[str]) -> list[dict[str, Any]]:
    return [json.loads(p) for p in payloads if p != DONE]


async def post(http: aiohttp.ClientSession, body: Any, path: str = CHAT) -> tuple[int, Any]:
    async with http.post(path, json=body) as response:
        return response.status, await response.json()


async def stream(http: aiohttp.ClientSession, body: dict[str, Any], path: str = CHAT) -> list[str]:
    async with http.post(path, json={**body, "stream": True}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        return split_sse(await response.read())


async def read_until_error(
    response: aiohttp.ClientResponse,
) -> tuple[bytes, BaseException | None]:
    received = bytearray()
    try:
        async for piece in response.content.iter_any():
            received += piece
    except (TimeoutError, aiohttp.ClientError) as exc:
        return bytes(received), exc
    return bytes(received), None


def content_of(chunks: list[dict[str, Any]], index: int = 0) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if c["choices"] and c["choices"][0]["index"] == index
    )


# -- chat streaming ---------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/v1/openai", "/v1"])
async def test_stream_framing_is_exact(http: aiohttp.ClientSession, prefix: str) -> None:
    """Each event is one `data: <json>` line and a blank line, Python-style JSON, then [DONE]."""
    async with http.post(f"{prefix}/chat/completions", json=chat(stream=True)) as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        raw = await response.read()
    assert raw.endswith(b"\n\ndata: [DONE]\n\n")
    payloads = split_sse(raw)
    assert payloads[-1] == DONE
    assert payloads.count(DONE) == 1
    for payload in payloads[:-1]:
        assert json.dumps(json.loads(payload)) == payload  # ", " and ": " separators
    chunks = decode(payloads)
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    assert chunks[0]["id"].startswith("chatcmpl-")
    for chunk in chunks:
        assert set(chunk) == {"id", "object", "created", "model", "choices", "usage"}
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == LLAMA


async def test_role_in_every_delta_and_first_content_empty(http: aiohttp.ClientSession) -> None:
    """Every delta but the finish chunk's carries role assistant; the first content is ""."""
    chunks = decode(await stream(http, chat()))
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[-1] == {}
    for delta in deltas[:-1]:
        assert delta["role"] == "assistant"
        assert isinstance(delta["content"], str)
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len(chunks) == 1 + 16 + 1  # empty first delta, one word per event, finish


async def test_usage_rides_on_the_finish_chunk_only(http: aiohttp.ClientSession) -> None:
    """Usage with estimated_cost is on the finish chunk only; no empty-choices chunk follows."""
    chunks = decode(await stream(http, chat(content="one two three")))
    assert [c["usage"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    usage = chunks[-1]["usage"]
    assert usage == {
        "prompt_tokens": 3,
        "completion_tokens": 16,
        "total_tokens": 19,
        "estimated_cost": pytest.approx((3 * 0.03 + 16 * 0.06) / 1e6),
    }
    assert all(c["choices"] for c in chunks)


async def test_include_usage_false_sends_no_usage(http: aiohttp.ClientSession) -> None:
    """stream_options.include_usage false leaves usage null everywhere."""
    body = chat(stream_options={"include_usage": False, "continuous_usage_stats": True})
    chunks = decode(await stream(http, body))
    assert all(c["usage"] is None for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_usage_control_none_sends_no_usage(http: aiohttp.ClientSession) -> None:
    """The usage control "none" leaves usage null everywhere."""
    chunks = decode(await stream(http, chat(emulator={"usage": "none"})))
    assert all(c["usage"] is None for c in chunks)


async def test_continuous_usage_on_every_chunk(http: aiohttp.ClientSession) -> None:
    """continuous_usage_stats puts running usage on every chunk, ending at the final counts."""
    body = chat(content="a b", stream_options={"continuous_usage_stats": True})
    chunks = decode(await stream(http, body))
    counts = [c["usage"]["completion_tokens"] for c in chunks]
    assert counts == [0, *range(1, 17), 16]
    assert all(c["usage"]["prompt_tokens"] == 2 for c in chunks)
    assert all("estimated_cost" in c["usage"] for c in chunks)
    _, answer = await post(http, chat(content="a b"))
    assert chunks[-1]["usage"] == answer["usage"]


async def test_trailing_usage_style(http: aiohttp.ClientSession) -> None:
    """The "trailing" control sends usage on an extra empty-choices chunk before [DONE]."""
    payloads = await stream(http, chat(emulator={"usage": "trailing"}))
    assert payloads[-1] == DONE
    chunks = decode(payloads)
    *body, finish, trailer = chunks
    assert all(c["usage"] is None for c in [*body, finish])
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert trailer["choices"] == []
    assert trailer["usage"]["completion_tokens"] == 16
    assert trailer["usage"]["estimated_cost"] > 0


async def test_n2_interleaves_choices(http: aiohttp.ClientSession) -> None:
    """With n=2 the choices alternate chunk by chunk and usage is on the last finish chunk."""
    body = chat(n=2, emulator={"tokens": 5})
    chunks = decode(await stream(http, body))
    assert [c["choices"][0]["index"] for c in chunks] == [0, 1] * 7
    finishes = [c for c in chunks if c["choices"][0]["finish_reason"] is not None]
    assert [c["choices"][0]["index"] for c in finishes] == [0, 1]
    assert finishes[0]["usage"] is None
    assert finishes[1]["usage"]["completion_tokens"] == 10
    _, answer = await post(http, body)
    for index in (0, 1):
        assert content_of(chunks, index) == answer["choices"][index]["message"]["content"]
    assert content_of(chunks, 0) != content_of(chunks, 1)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"emulator": {"tokens": 37, "chunk_tokens": 5}},
        {"max_tokens": 7, "emulator": {"tokens": 37, "chunk_tokens": 3}},
        {"model": R1, "emulator": {"tokens": 9, "chunk_tokens": 2}},
    ],
)
async def test_stream_matches_non_stream(
    http: aiohttp.ClientSession, extra: dict[str, Any]
) -> None:
    """Streaming and non-streaming give the same text, finish reason and token counts."""
    body = {**chat(), **extra}
    _, answer = await post(http, body)
    chunks = decode(await stream(http, body))
    message = answer["choices"][0]["message"]
    assert content_of(chunks) == message["content"]
    assert chunks[-1]["usage"] == answer["usage"]
    assert chunks[-1]["choices"][0]["finish_reason"] == answer["choices"][0]["finish_reason"]
    tokens = extra.get("emulator", {}).get("tokens", 16)
    if "max_tokens" in extra:
        assert answer["choices"][0]["finish_reason"] == "length"
        tokens = extra["max_tokens"]
    assert len(message["content"].split()) == tokens


async def test_chunk_tokens_sets_words_per_event(http: aiohttp.ClientSession) -> None:
    """chunk_tokens=4 puts four words in each content event (the last one may have fewer)."""
    chunks = decode(await stream(http, chat(emulator={"tokens": 10, "chunk_tokens": 4})))
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert [len(p.split()) for p in pieces] == [4, 4, 2]
    assert pieces[0][0] != " "
    assert all(p.startswith(" ") for p in pieces[1:])


# -- tool calls and reasoning ------------------------------------------------------------------


def fragments(chunks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        delta = chunk["choices"][0]["delta"]
        for part in delta.get("tool_calls") or []:
            assert delta["role"] == "assistant"
            call = calls.setdefault(part["index"], {"arguments": "", "pieces": 0})
            if "id" in part:
                assert part["function"]["arguments"] == ""
                call.update(id=part["id"], type=part["type"], name=part["function"]["name"])
            else:
                assert set(part["function"]) == {"arguments"}
                call["arguments"] += part["function"]["arguments"]
                call["pieces"] += 1
    return calls


async def test_tool_call_fragments_join_to_the_arguments(http: aiohttp.ClientSession) -> None:
    """Streamed argument fragments concatenate to the non-streaming arguments JSON."""
    body = chat(tools=[WEATHER], tool_choice="required")
    status, answer = await post(http, body)
    assert status == 200
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    assert set(arguments) == {"location", "days", "unit", "hourly", "tags"}
    assert isinstance(arguments["location"], str)
    assert arguments["location"]
    assert 1 <= arguments["days"] <= 7
    assert arguments["unit"] in ("celsius", "fahrenheit")
    assert isinstance(arguments["hourly"], bool)
    assert len(arguments["tags"]) == 2

    chunks = decode(await stream(http, body))
    (streamed,) = fragments(chunks).values()
    assert streamed["name"] == "get_weather"
    assert streamed["id"] == call["id"]  # ids derive from the request
    assert streamed["pieces"] > 3
    assert streamed["arguments"] == call["function"]["arguments"]
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "tool_calls"}
    assert chunks[-1]["usage"] == answer["usage"]
    assert all("content" not in c["choices"][0]["delta"] for c in chunks)


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        ({"tool_choice": "required"}, ["get_weather", "get_time"]),
        ({"tool_choice": "required", "parallel_tool_calls": False}, ["get_weather"]),
        ({"tool_choice": {"type": "function", "function": {"name": "get_time"}}}, ["get_time"]),
        ({"tool_choice": "auto"}, []),
        ({}, []),
    ],
)
async def test_tool_choice_decides_the_calls(
    http: aiohttp.ClientSession, extra: dict[str, Any], names: list[str]
) -> None:
    """Tool choice "required" calls every tool (or one), a named one calls it, "auto" is text."""
    body = chat(tools=[WEATHER, TIME], **extra)
    _, answer = await post(http, body)
    message = answer["choices"][0]["message"]
    calls = message["tool_calls"] or []
    assert [c["function"]["name"] for c in calls] == names
    assert (message["content"] is None) == bool(names)
    streamed = fragments(decode(await stream(http, body)))
    assert [streamed[i]["name"] for i in sorted(streamed)] == names
    assert [streamed[i]["arguments"] for i in sorted(streamed)] == [
        c["function"]["arguments"] for c in calls
    ]


async def test_tool_choice_errors(http: aiohttp.ClientSession) -> None:
    """Forced tool choice without tools or with an unknown name is 400; bad tools are 422."""
    status, body = await post(http, chat(tool_choice="required"))
    assert status == 400
    assert body["error"]["param"] == "tool_choice"
    named = {"type": "function", "function": {"name": "nope"}}
    status, body = await post(http, chat(tools=[WEATHER], tool_choice=named))
    assert status == 400
    bad = chat(tools=[{"type": "function", "function": {}}, "x"], tool_choice="sometimes")
    status, body = await post(http, bad)
    assert status == 422
    assert [e["loc"] for e in body["detail"]] == [
        ["body", "tools", 0, "function", "name"],
        ["body", "tools", 1],
        ["body", "tool_choice"],
    ]


async def test_reasoning_deltas_come_before_content(http: aiohttp.ClientSession) -> None:
    """DeepSeek-R1 streams reasoning_content pieces before the content pieces."""
    chunks = decode(await stream(http, chat(R1)))
    kinds = [
        "reasoning" if "reasoning_content" in delta else "content" if delta.get("content") else "-"
        for delta in (c["choices"][0]["delta"] for c in chunks)
    ]
    first_content = kinds.index("content")
    assert kinds.count("reasoning") == 8
    assert "reasoning" not in kinds[first_content:]
    assert all(c["choices"][0]["delta"].get("role") == "assistant" for c in chunks[:-1])
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks)
    _, answer = await post(http, chat(R1))
    message = answer["choices"][0]["message"]
    assert message["reasoning_content"] == reasoning
    assert message["content"] == content_of(chunks)
    assert answer["usage"]["completion_tokens"] == 24
    assert answer["usage"]["completion_tokens_details"] == {"reasoning_tokens": 8}


async def test_reasoning_takes_at_most_half_of_max_tokens(http: aiohttp.ClientSession) -> None:
    """With max_tokens=6, R1 thinks three words, answers three, and finishes with "length"."""
    _, answer = await post(http, chat(R1, max_tokens=6))
    choice = answer["choices"][0]
    assert len(choice["message"]["reasoning_content"].split()) == 3
    assert len(choice["message"]["content"].split()) == 3
    assert choice["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 6


async def test_reasoning_can_be_turned_off(http: aiohttp.ClientSession) -> None:
    """reasoning_effort "none" and non-reasoning models answer without reasoning_content."""
    _, off = await post(http, chat(R1, reasoning_effort="none"))
    assert "reasoning_content" not in off["choices"][0]["message"]
    assert off["usage"]["completion_tokens"] == 16
    _, plain = await post(http, chat())
    assert "reasoning_content" not in plain["choices"][0]["message"]
    assert "completion_tokens_details" not in plain["usage"]


# -- mid-stream faults -------------------------------------------------------------------------


def check_drop(received: bytes, error: BaseException | None, stats: StreamStats) -> None:
    assert isinstance(error, aiohttp.ClientPayloadError)
    payloads = split_sse(received)
    assert len(payloads) == 3
    assert DONE not in payloads
    assert (stats.events_written, stats.finished) == (3, False)


def check_error(received: bytes, error: BaseException | None, stats: StreamStats) -> None:
    assert error is None  # the body ends cleanly, just without [DONE]
    payloads = split_sse(received)
    assert len(payloads) == 4
    assert DONE not in payloads
    assert json.loads(payloads[-1]) == {"error_type": "overloaded", "error_message": "busy"}
    assert (stats.events_written, stats.finished) == (4, True)


def check_stall(received: bytes, error: BaseException | None, stats: StreamStats) -> None:
    assert isinstance(error, TimeoutError)
    assert len(split_sse(received)) == 3
    assert (stats.events_written, stats.finished) == (3, False)


CHECKS = {"drop": check_drop, "error": check_error, "stall": check_stall}
CONTROLS: dict[str, dict[str, Any]] = {
    "drop": {"drop_after": 3},
    "error": {"error_after": 3, "error_type": "overloaded", "error_message": "busy"},
    "stall": {"stall_after": 3},
}
FAULTS: dict[str, dict[str, Any]] = {
    "drop": {"drop": True},
    "error": {"error": {"error_type": "overloaded", "error_message": "busy"}},
    "stall": {"stall": True},
}


async def run_faulty_stream(
    emu: Emulator, http: aiohttp.ClientSession, body: dict[str, Any]
) -> tuple[bytes, BaseException | None, StreamStats]:
    timeout = aiohttp.ClientTimeout(sock_read=0.3)
    async with http.post(CHAT, json={**body, "stream": True}, timeout=timeout) as response:
        assert response.status == 200
        received, error = await read_until_error(response)
    return received, error, emu.streams[-1]


@pytest.mark.parametrize("kind", ["drop", "error", "stall"])
async def test_mid_stream_faults_from_controls(
    emu: Emulator, http: aiohttp.ClientSession, kind: str
) -> None:
    """drop_after, error_after and stall_after act after exactly k events."""
    received, error, stats = await run_faulty_stream(emu, http, chat(emulator=CONTROLS[kind]))
    CHECKS[kind](received, error, stats)
    assert stats.bytes_written == len(received)


@pytest.mark.parametrize("kind", ["drop", "error", "stall"])
async def test_mid_stream_faults_from_faults_add(
    emu: Emulator, http: aiohttp.ClientSession, kind: str
) -> None:
    """faults.add(after_events=k, ...) drops, errors or stalls a stream after k events, once."""
    fault = emu.faults.add("*/chat/completions", after_events=3, **FAULTS[kind])
    received, error, stats = await run_faulty_stream(emu, http, chat())
    CHECKS[kind](received, error, stats)
    assert (fault.hits, fault.remaining) == (1, 0)
    payloads = await stream(http, chat())
    assert payloads[-1] == DONE
    assert emu.streams[-1].finished


async def test_mid_stream_fault_ignores_non_streaming_requests(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """A fault with after_events is left for the next stream; pre-header faults still apply."""
    fault = emu.faults.add(CHAT, after_events=0, drop=True)
    status, _ = await post(http, chat())
    assert status == 200
    assert fault.hits == 0
    emu.faults.add(CHAT, status=503)
    status, _ = await post(http, chat(stream=True))
    assert status == 503
    assert fault.hits == 0
    received, error, stats = await run_faulty_stream(emu, http, chat())
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert received == b""
    assert stats.events_written == 0
    assert fault.hits == 1


async def test_mid_stream_delay_pauses_then_continues(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """A mid-stream fault with only a delay pauses after k events and then finishes the stream."""
    emu.faults.add(CHAT, after_events=2, delay=0.3)
    async with http.post(CHAT, json=chat(stream=True)) as response:
        first = await response.content.readuntil(b"\n\n")
        second = await response.content.readuntil(b"\n\n")
        started = time.monotonic()
        third = await response.content.readuntil(b"\n\n")
        gap = time.monotonic() - started
        rest = await response.read()
    assert gap >= 0.25
    payloads = split_sse(first + second + third + rest)
    assert payloads[-1] == DONE
    assert len(payloads) == 19


@pytest.mark.parametrize(
    "kwargs",
    [
        {"after_events": -1, "drop": True},
        {"after_events": 1, "status": 500},
        {"after_events": 1, "retry_after": 1},
        {"after_events": 1, "drop": True, "stall": True},
        {"after_events": 1, "stall": True, "error": {"error_type": "x"}},
        {"stall": True},
        {"error": {"error_type": "x", "error_message": "y"}},
    ],
)
def test_mid_stream_fault_arguments_are_validated(kwargs: dict[str, Any]) -> None:
    """Mid-stream fault arguments that do not fit together raise ValueError."""
    with pytest.raises(ValueError, match=r"after_events|mid-stream"):
        Faults().add(CHAT, **kwargs)


@pytest.mark.parametrize(
    ("controls", "locs"),
    [
        ({"tokens": "5"}, [["body", "emulator", "tokens"]]),
        ({"tokens": -1}, [["body", "emulator", "tokens"]]),
        ({"token_rate": "fast"}, [["body", "emulator", "token_rate"]]),
        ({"chunk_tokens": 0}, [["body", "emulator", "chunk_tokens"]]),
        ({"usage": "sometimes"}, [["body", "emulator", "usage"]]),
        (
            {"drop_after": 1.5, "colour": "red"},
            [
                ["body", "emulator", "colour"],
                ["body", "emulator", "drop_after"],
            ],
        ),
        ({"drop_after": 1, "stall_after": 2}, [["body", "emulator"]]),
        ({"error_type": 3}, [["body", "emulator", "error_type"]]),
        ("fast", [["body", "emulator"]]),
    ],
)
async def test_controls_are_validated(
    http: aiohttp.ClientSession, controls: Any, locs: list[list[Any]]
) -> None:
    """A malformed emulator object answers 422 naming each bad key."""
    for path in (CHAT, COMPLETIONS):
        body = {"model": LLAMA, "messages": [{"role": "user", "content": "x"}], "prompt": "x"}
        status, answer = await post(http, {**body, "emulator": controls}, path)
        assert status == 422
        assert [entry["loc"] for entry in answer["detail"]] == locs


async def test_stream_options_are_validated(http: aiohttp.ClientSession) -> None:
    """stream_options must be an object of booleans."""
    status, answer = await post(http, chat(stream=True, stream_options={"include_usage": "no"}))
    assert status == 422
    assert answer["detail"][0]["loc"] == ["body", "stream_options", "include_usage"]


async def test_token_rate_paces_the_stream(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """token_rate=40 takes about a quarter of a second for ten tokens."""
    started = time.monotonic()
    payloads = await stream(http, chat(emulator={"tokens": 10, "token_rate": 40}))
    elapsed = time.monotonic() - started
    assert 0.22 <= elapsed < 2.0
    assert payloads[-1] == DONE
    assert emu.streams[-1].events_written == len(payloads)


# -- backpressure ------------------------------------------------------------------------------


async def test_backpressure_pauses_the_writer(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A client that stops reading a 100 MB stream stops the emulator within a few MB."""
    body = chat(stream=True, emulator={"tokens": 17_500_000, "chunk_tokens": 8192})
    async with http.post(CHAT, json=body) as response:
        await asyncio.sleep(0.8)
        stats = emu.streams[-1]
        paused_at = stats.bytes_written
        await asyncio.sleep(0.3)
        assert stats.bytes_written == paused_at
        assert 0 < paused_at < 16 << 20
        finished_while_paused = stats.finished
        assert not finished_while_paused
        received = 0
        async for piece in response.content.iter_chunked(1 << 20):
            received += len(piece)
    assert received > 100_000_000
    assert stats.finished
    assert stats.bytes_written == received
    assert stats.path == CHAT
    assert stats.model == LLAMA


async def test_stream_stats_are_listed_and_reset(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """Each stream adds a StreamStats; non-streaming answers add none; reset() clears them."""
    await post(http, chat())
    payloads = await stream(http, chat(emulator={"tokens": 2}), "/v1/chat/completions")
    (stats,) = emu.streams
    assert stats.events_written == len(payloads) == 5
    assert stats.path == "/v1/chat/completions"
    emu.reset()
    assert emu.streams == []


# -- completions -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [COMPLETIONS, "/v1/completions"])
async def test_completion_shape(http: aiohttp.ClientSession, path: str) -> None:
    """A completion has the text_completion shape, priced usage and null logprobs."""
    status, body = await post(
        http, {"model": LLAMA, "prompt": "Once upon a time", "logprobs": 2, "n": 2}, path
    )
    assert status == 200
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert body["id"].startswith("cmpl-")
    assert body["object"] == "text_completion"
    for index, choice in enumerate(body["choices"]):
        assert set(choice) == {"index", "text", "finish_reason", "logprobs"}
        assert choice["index"] == index
        assert choice["text"].startswith(" ")
        assert len(choice["text"].split()) == 16
        assert choice["finish_reason"] == "stop"
        assert choice["logprobs"] is None
    assert body["usage"]["prompt_tokens"] == 4
    assert body["usage"]["completion_tokens"] == 32
    assert body["usage"]["estimated_cost"] == pytest.approx((4 * 0.03 + 32 * 0.06) / 1e6)


async def test_completion_echo_and_token_ids(http: aiohttp.ClientSession) -> None:
    """Echo prepends the prompt; a token-id prompt counts one token per id."""
    request = {"model": LLAMA, "prompt": "Once upon", "max_tokens": 3}
    _, plain = await post(http, request, COMPLETIONS)
    _, echoed = await post(http, {**request, "echo": True}, COMPLETIONS)
    assert echoed["choices"][0]["text"] == "Once upon" + plain["choices"][0]["text"]
    assert plain["choices"][0]["finish_reason"] == "length"
    _, ids = await post(http, {"model": LLAMA, "prompt": [1, 2, 3, 64]}, COMPLETIONS)
    assert ids["usage"]["prompt_tokens"] == 4


async def test_completion_stream(http: aiohttp.ClientSession) -> None:
    """Completion chunks carry text pieces, usage on the finish chunk, then [DONE]."""
    request = {"model": LLAMA, "prompt": "Once upon", "echo": True, "emulator": {"tokens": 6}}
    _, answer = await post(http, request, COMPLETIONS)
    payloads = await stream(http, request, COMPLETIONS)
    assert payloads[-1] == DONE
    chunks = decode(payloads)
    assert all(c["object"] == "text_completion" for c in chunks)
    assert chunks[0]["choices"][0]["text"] == "Once upon"
    text = "".join(c["choices"][0]["text"] for c in chunks)
    assert text == answer["choices"][0]["text"]
    assert [c["usage"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1]["usage"] == answer["usage"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"][0]["text"] == ""


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        ({"model": LLAMA}, [["body", "prompt"]]),
        ({"model": LLAMA, "prompt": [1, "x", -2]}, [["body", "prompt", 1], ["body", "prompt", 2]]),
        ({"model": LLAMA, "prompt": "x", "n": 5}, [["body", "n"]]),
        ({"model": LLAMA, "prompt": "x", "echo": "yes"}, [["body", "echo"]]),
        ({"prompt": "x"}, [["body", "model"]]),
    ],
)
async def test_completion_validation(
    http: aiohttp.ClientSession, body: dict[str, Any], locs: list[list[Any]]
) -> None:
    """Malformed completion requests answer 422 naming each bad field."""
    status, answer = await post(http, body, COMPLETIONS)
    assert status == 422
    assert [entry["loc"] for entry in answer["detail"]] == locs


async def test_wrong_task_and_unknown_model(http: aiohttp.ClientSession) -> None:
    """An embedding model refuses text routes with 400, a chat model embeddings; unknown is 404."""
    status, body = await post(http, {"model": BGE, "prompt": "x"}, COMPLETIONS)
    assert (status, body["error"]["code"]) == (400, "model_not_supported")
    status, body = await post(http, chat(BGE))
    assert (status, body["error"]["code"]) == (400, "model_not_supported")
    status, body = await post(http, {"model": LLAMA, "input": "x"}, EMBEDDINGS)
    assert (status, body["error"]["code"]) == (400, "model_not_supported")
    for path, request in [
        (COMPLETIONS, {"model": "nobody/nothing", "prompt": "x"}),
        (EMBEDDINGS, {"model": "nobody/nothing", "input": "x"}),
    ]:
        status, body = await post(http, request, path)
        assert status == 404
        assert body["error"]["code"] == "model_not_found"


# -- embeddings --------------------------------------------------------------------------------


def norm(vector: list[float]) -> float:
    return math.sqrt(math.fsum(x * x for x in vector))


@pytest.mark.parametrize("path", [EMBEDDINGS, "/v1/embeddings"])
async def test_embedding_shape_and_unit_norm(http: aiohttp.ClientSession, path: str) -> None:
    """Embeddings come as a list of 1024 unit floats per input, with priced usage."""
    status, body = await post(http, {"model": BGE, "input": ["hello world", "x"]}, path)
    assert status == 200
    assert body["object"] == "list"
    assert body["model"] == BGE
    assert [item["index"] for item in body["data"]] == [0, 1]
    for item in body["data"]:
        assert item["object"] == "embedding"
        assert len(item["embedding"]) == 1024
        assert norm(item["embedding"]) == pytest.approx(1.0, abs=1e-5)
    assert body["usage"] == {
        "prompt_tokens": 3,
        "total_tokens": 3,
        "estimated_cost": pytest.approx(3 * 0.01 / 1e6),
    }


async def test_embeddings_are_deterministic(http: aiohttp.ClientSession) -> None:
    """The same text gives the same vector, in any batch and any emulator; other text differs."""
    _, first = await post(http, {"model": BGE, "input": ["alpha", "beta", "alpha"]}, EMBEDDINGS)
    vectors = [item["embedding"] for item in first["data"]]
    assert vectors[0] == vectors[2]
    assert vectors[0] != vectors[1]
    async with Emulator(seed=5) as other:
        headers = {"Authorization": f"Bearer {other.api_key}"}
        async with aiohttp.ClientSession(other.url, headers=headers) as session:
            _, again = await post(session, {"model": BGE, "input": "alpha"}, EMBEDDINGS)
    assert again["data"][0]["embedding"] == vectors[0]
    _, qwen = await post(http, {"model": QWEN_EMBED, "input": "alpha"}, EMBEDDINGS)
    assert len(qwen["data"][0]["embedding"]) == 4096


async def test_base64_embeddings_decode_to_the_floats(http: aiohttp.ClientSession) -> None:
    """base64 encoding carries the same numbers as little-endian float32."""
    request = {"model": BGE, "input": "pack me"}
    _, floats = await post(http, request, EMBEDDINGS)
    _, packed = await post(http, {**request, "encoding_format": "base64"}, EMBEDDINGS)
    raw = base64.b64decode(packed["data"][0]["embedding"])
    assert len(raw) == 4 * 1024
    decoded = list(struct.unpack("<1024f", raw))
    assert decoded == floats["data"][0]["embedding"]


async def test_embedding_dimensions_truncate_and_pad(http: aiohttp.ClientSession) -> None:
    """Smaller dimensions truncate and re-normalise; larger ones zero-pad."""
    request = {"model": BGE, "input": "sized"}
    _, native = await post(http, request, EMBEDDINGS)
    full = native["data"][0]["embedding"]
    _, short = await post(http, {**request, "dimensions": 256}, EMBEDDINGS)
    cut = short["data"][0]["embedding"]
    assert len(cut) == 256
    assert norm(cut) == pytest.approx(1.0, abs=1e-5)
    scale = norm(full[:256])
    assert cut == pytest.approx([x / scale for x in full[:256]], abs=1e-6)
    _, long = await post(http, {**request, "dimensions": 1500}, EMBEDDINGS)
    padded = long["data"][0]["embedding"]
    assert len(padded) == 1500
    assert padded[:1024] == full
    assert padded[1024:] == [0.0] * 476


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        ({"model": BGE, "input": ["x"] * 1025}, [["body", "input"]]),
        ({"model": BGE, "input": []}, [["body", "input"]]),
        ({"model": BGE}, [["body", "input"]]),
        ({"model": BGE, "input": ["ok", 3]}, [["body", "input", 1]]),
        ({"model": BGE, "input": "x", "dimensions": 8}, [["body", "dimensions"]]),
        ({"model": BGE, "input": "x", "encoding_format": "int8"}, [["body", "encoding_format"]]),
        ({"model": BGE, "input": "x", "input_type": "essay"}, [["body", "input_type"]]),
    ],
)
async def test_embedding_validation(
    http: aiohttp.ClientSession, body: dict[str, Any], locs: list[list[Any]]
) -> None:
    """Malformed embedding requests answer 422 naming each bad field."""
    status, answer = await post(http, body, EMBEDDINGS)
    assert status == 422
    assert [entry["loc"] for entry in answer["detail"]] == locs


async def test_new_models_are_listed(http: aiohttp.ClientSession) -> None:
    """DeepSeek-R1 is listed as a reasoning chat model and Qwen3-Embedding as embeddings."""
    async with http.get("/v1/openai/models") as response:
        entries = {entry["id"]: entry for entry in (await response.json())["data"]}
    assert entries[R1]["metadata"]["tags"] == ["chat", "reasoning"]
    assert entries[QWEN_EMBED]["metadata"]["tags"] == ["embeddings"]
