"""Shared fixtures: a loopback emulator and a client connected to it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from deepinfra_async import DeepInfra, RetryPolicy
from deepinfra_async.testing import Emulator

CHAT_MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
OTHER_CHAT_MODEL = "deepseek-ai/DeepSeek-V3"

# Retries in tests wait milliseconds, not seconds, unless a test says otherwise.
FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A running emulator on 127.0.0.1."""
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[DeepInfra]:
    """A client pointed at the emulator, with fast retries."""
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=FAST_RETRY) as c:
        yield c


def chat_body(model: str = CHAT_MODEL, **extra: object) -> dict[str, object]:
    """A minimal valid chat completion body."""
    return {"model": model, "messages": [{"role": "user", "content": "Hello"}], **extra}


def chunk_event(content: str, finish: str | None = None) -> bytes:
    """One server-sent event carrying a chat chunk with ``content``, as DeepInfra sends it."""
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": CHAT_MODEL,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


@contextlib.asynccontextmanager
async def serve(app: web.Application, shutdown_timeout: float = 60.0) -> AsyncIterator[str]:
    """Run a bare aiohttp app on 127.0.0.1 (a free port); yields its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
