"""``python -m benchmarks.inprocess``: what deepinfra_async's own code costs, without a network.

The end-to-end runs (``python -m benchmarks``) include aiohttp, the event loop and the kernel,
and on a shared machine their per-repetition ratios spread widely. These measurements take
the network out, in one process, so a change to the library's hot paths shows up steadily:

* ``stream``: a canned 1,000-chunk DeepInfra chat stream is fed from memory (64 KiB reads)
  to ``ChatCompletionStream`` through the library's ``StreamResponse`` (so each read pays for
  its read clock), each chunk decoded into its typed object, against the floor's minimal
  split plus ``json.loads``; CPU µs per chunk.
* ``events``: the same with one event per read, as a model's tokens usually arrive. What a
  read costs in itself (its read clock, one more await) falls on a single event here; in
  64 KiB reads about 200 events share it.
* ``request``: ``client.chat.completions.create()`` with the session's ``request`` replaced by
  a stub that answers the canned completion at once, against the floor's ``json.dumps`` +
  ``json.loads``; CPU µs per request. The difference is the library's own per-request work
  (options, body, headers, limiter, retry bookkeeping, decoding, typing, usage).

Each prints the best of several repetitions and the ratio to the floor. ``--json stdlib``
hides orjson (the plain install); the default uses it when installed.

Examples::

    .venv/bin/python -m benchmarks.inprocess --json stdlib
    benchmarks/.venv/bin/python -m benchmarks.inprocess stream
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from . import canned
from .clients._harness import MAX_TOKENS, MESSAGES

READ_SIZE = 1 << 16
STREAM_REPEATS = 20
REQUESTS = 2000


class _Content:
    """Stands in for aiohttp's ``StreamReader``: hands out a canned body, a piece per read."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = iter(pieces)
        self._eof = False

    async def readany(self) -> bytes:
        piece = next(self._pieces, b"")
        self._eof = not piece
        return piece

    def is_eof(self) -> bool:
        return self._eof


class _StreamAnswer:
    """Stands in for aiohttp's response to a streamed request."""

    status = 200
    url = URL("http://127.0.0.1:9/v1/openai/chat/completions")

    def __init__(self, pieces: list[bytes]) -> None:
        self.headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "text/event-stream"}))
        self.content = _Content(pieces)

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Body:
    """Stands in for aiohttp's ``StreamReader``: what the watchdog reads of a body's progress."""

    def __init__(self, size: int) -> None:
        self.total_bytes = size


class _Answer:
    """Stands in for aiohttp's response to a non-streamed request."""

    status = 200

    def __init__(self, body: bytes, headers: Any) -> None:
        self._body = body
        self.headers = headers
        self.content = _Body(len(body))

    async def read(self) -> bytes:
        return self._body

    def release(self) -> None:
        pass


async def _best(op: Callable[[], Awaitable[Any]], count: int, reps: int) -> float:
    """Best CPU time per call over ``reps`` runs of ``count`` sequential calls, in µs."""
    await op()
    best = float("inf")
    for _ in range(reps):
        started = time.process_time()
        for _ in range(count):
            await op()
        best = min(best, (time.process_time() - started) / count * 1e6)
    return best


async def stream(reps: int) -> tuple[float, float]:
    """µs per chunk in 64 KiB reads: (floor, deepinfra_async)."""
    body, checksum = canned.sse_stream(canned.STREAM_CHUNKS)
    pieces = [body[i : i + READ_SIZE] for i in range(0, len(body), READ_SIZE)]
    return await _stream(reps, pieces, checksum)


async def events(reps: int) -> tuple[float, float]:
    """µs per chunk with one event per read: (floor, deepinfra_async)."""
    body, checksum = canned.sse_stream(canned.STREAM_CHUNKS)
    pieces = [event + b"\n\n" for event in body.split(b"\n\n") if event]
    assert b"".join(pieces) == body
    return await _stream(reps, pieces, checksum)


async def _stream(reps: int, pieces: list[bytes], checksum: int) -> tuple[float, float]:
    from deepinfra_async._config import Limits, Timeout
    from deepinfra_async._transport import StreamResponse
    from deepinfra_async._watchdog import Watchdog
    from deepinfra_async.endpoints.chat import ChatCompletionStream, _parse_chunk

    limit = Limits().max_event_bytes
    timeout = Timeout()
    watchdog = Watchdog(asyncio.get_running_loop(), lambda _pending: False)

    async def floor() -> None:
        total = 0
        buffer = b""
        source = _Content(pieces)
        while data := await source.readany():
            events = (buffer + data).split(b"\n\n")
            buffer = events.pop()
            for event in events:
                if event[:6] != b"data: " or event[6:] == b"[DONE]":
                    continue
                obj = json.loads(event[6:])
                content = obj["choices"][0]["delta"].get("content")
                total += len(content) if content else 0
                usage = obj.get("usage")
                total += usage["completion_tokens"] if usage else 0
        assert total == checksum

    async def library() -> None:
        total = 0
        response = StreamResponse(
            _StreamAnswer(pieces),  # type: ignore[arg-type]
            None,
            "POST",
            timeout,
            watchdog,
        )
        chunks = ChatCompletionStream(response, _parse_chunk, max_event_bytes=limit)
        async with chunks:
            async for chunk in chunks:
                content = chunk.choices[0].delta.content if chunk.choices else None
                total += len(content) if content else 0
                total += chunk.usage.completion_tokens if chunk.usage is not None else 0
        assert total == checksum

    per_chunk = STREAM_REPEATS * canned.STREAM_CHUNKS
    try:
        floor_us = await _best(floor, STREAM_REPEATS, reps) * STREAM_REPEATS / per_chunk
        library_us = await _best(library, STREAM_REPEATS, reps) * STREAM_REPEATS / per_chunk
    finally:
        watchdog.close()
    return floor_us, library_us


async def request(reps: int) -> tuple[float, float]:
    """µs per request: (floor, deepinfra_async), with aiohttp's request stubbed out."""
    import deepinfra_async

    body, _ = canned.chat_completion()
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))

    async def answer(method: str, url: Any, **kwargs: Any) -> _Answer:
        return _Answer(body, headers)

    async def floor() -> None:
        data = json.dumps(
            {"model": canned.CHAT_MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS}
        ).encode()
        resp = await answer("POST", "url", data=data, headers={})
        out = json.loads(await resp.read())
        assert out["choices"][0]["message"]["content"]

    async with deepinfra_async.DeepInfra(api_key="bench", base_url="http://127.0.0.1:9") as c:
        session = c._transport._session
        assert session is not None
        session.request = answer  # type: ignore[method-assign,assignment]

        async def library() -> None:
            result = await c.chat.completions.create(
                model=canned.CHAT_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS
            )
            assert result.choices[0].message.content

        floor_us = await _best(floor, REQUESTS, reps)
        library_us = await _best(library, REQUESTS, reps)
    return floor_us, library_us


def main(argv: list[str] | None = None) -> int:
    """Run the chosen measurements and print them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess")
    parser.add_argument("which", nargs="*", help="stream, events, request (default: all)")
    parser.add_argument("--json", choices=["stdlib", "orjson"], default="orjson")
    parser.add_argument("--reps", type=int, default=7)
    options = parser.parse_args(argv)
    if options.json == "stdlib":
        sys.modules["orjson"] = None  # type: ignore[assignment]
    from deepinfra_async._codec import HAS_ORJSON

    print(f"deepinfra_async with {'orjson' if HAS_ORJSON else 'the standard json module'}")
    runs = {
        "stream": (stream, "chunk"),
        "events": (events, "chunk"),
        "request": (request, "request"),
    }
    unknown = set(options.which) - set(runs)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    for name in options.which or list(runs):
        measure, unit = runs[name]
        floor_us, library_us = asyncio.run(measure(options.reps))
        print(
            f"{name:8s} floor {floor_us:6.2f} µs/{unit}  deepinfra_async {library_us:6.2f} "
            f"µs/{unit}  ratio {library_us / floor_us:.2f}x  (+{library_us - floor_us:.2f} µs)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
