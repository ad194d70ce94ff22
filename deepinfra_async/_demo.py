"""``deepinfra-async demo``: a guided tour, against the emulator unless an API key is set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ._client import DeepInfra
from ._config import API_KEY_ENV_VARS, Limits, RetryDetails, RetryPolicy
from ._errors import DeepInfraError, NotFoundError
from ._jsonl import run_jsonl
from .types import Usage

__all__ = ["run_demo"]

DEMO_MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
LIVE_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def _say(title: str) -> None:
    print(f"\n== {title}")


@contextlib.asynccontextmanager
async def _target(force_emulator: bool) -> AsyncIterator[tuple[str | None, str | None, Any]]:
    """Yield (base_url, api_key, emulator-or-None) for the demo to use."""
    has_key = any(os.environ.get(name) for name in API_KEY_ENV_VARS)
    if has_key and not force_emulator:
        yield None, None, None
        return
    from .testing import Emulator  # noqa: PLC0415 - only the demo needs the emulator

    async with Emulator() as emu:
        yield emu.url, emu.api_key, emu


async def run_demo(*, force_emulator: bool = False) -> int:
    """Walk through the client's features and print what happens.

    Args:
        force_emulator: Use the built-in emulator even when an API key is set.

    Returns:
        The process exit status (0 on success).
    """
    async with _target(force_emulator) as (base_url, api_key, emu):
        where = f"the built-in emulator at {base_url}" if emu else "api.deepinfra.com"
        print(f"deepinfra_async demo, talking to {where}")
        model = DEMO_MODEL if emu else LIVE_MODEL
        retries: list[RetryDetails] = []
        policy = RetryPolicy(initial_backoff=0.1, on_retry=retries.append)
        try:
            async with DeepInfra(api_key, base_url=base_url, retry=policy) as client:
                await _models(client)
                await _chat(client, model)
                await _native(client, model)
                await _batch(client, model)
                await _errors(client)
                if emu is not None:
                    await _retries(client, emu, model, retries)
                    await _concurrency(emu, model)
        except DeepInfraError as exc:
            print(f"\nThe demo stopped on an error: {exc}")
            return 1
    print("\nDone.")
    return 0


async def _models(client: DeepInfra) -> None:
    _say("Models: client.models.list()")
    listing = await client.models.list()
    names = [m.id for m in listing.data]
    print(f"{len(names)} models, e.g. {', '.join(names[:3])}")


def _cost(usage: Usage | None) -> str:
    if usage is None:
        return "no usage reported"
    cost = usage.estimated_cost or 0.0
    return (
        f"{usage.prompt_tokens} tokens in, {usage.completion_tokens} out, "
        f"estimated cost ${cost:.8f}"
    )


async def _chat(client: DeepInfra, model: str) -> None:
    _say(f"A chat completion with {model}")
    messages = [{"role": "user", "content": "Say hello in five words."}]
    chat = await client.chat.completions.create(model=model, messages=messages, max_tokens=16)
    print(f"reply: {chat.choices[0].message.content!r}")
    print(_cost(chat.usage))

    _say("The same, streamed: each chunk is read from the socket when the loop asks for it")
    async with await client.chat.completions.create(
        model=model, messages=messages, max_tokens=16, stream=True
    ) as stream:
        print("reply: ", end="")
        async for chunk in stream:
            for choice in chunk.choices:
                print(choice.delta.content or "", end="", flush=True)
        print()
    print(_cost(stream.usage))

    _say("Embeddings: client.embeddings.create()")
    model_id = "BAAI/bge-large-en-v1.5"
    embedded = await client.embeddings.create(model=model_id, input=["a fox", "a dog"])
    sizes = ", ".join(str(len(item.embedding)) for item in embedded.data)
    print(f"{len(embedded.data)} vectors of {sizes} floats from {model_id}")


async def _native(client: DeepInfra, model: str) -> None:
    _say(f"The native endpoint: POST /v1/inference/{model}")
    result = await client.inference.text_generation(model, "The fox", max_new_tokens=8)
    status = result.status
    cost = f"${status.cost:.8f}" if status.cost is not None else "not reported"
    print(f"generated: {result.text!r}")
    print(f"request {result.request_id}: {status.status}, cost {cost}")


async def _batch(client: DeepInfra, model: str) -> None:
    _say("A small batch job: JSONL in, JSONL out, resumable")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.jsonl"
        lines = [
            {
                "custom_id": f"q{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": model,
                    "messages": [{"role": "user", "content": f"Give me fact number {i}"}],
                    "max_tokens": 12,
                },
            }
            for i in range(25)
        ]
        source.write_text("".join(json.dumps(line) + "\n" for line in lines))
        summary = await run_jsonl(
            client, source, Path(folder) / "out.jsonl", concurrency=8, progress=sys.stdout
        )
    print(f"{summary.succeeded} answers written; the job cost ${summary.cost:.8f}")


async def _errors(client: DeepInfra) -> None:
    _say("Errors say what went wrong")
    try:
        await client.chat.completions.create(
            model="nobody/no-such-model", messages=[{"role": "user", "content": "x"}]
        )
    except NotFoundError as exc:
        print(f"{type(exc).__name__}: status {exc.status}, message {exc.message!r}")


async def _retries(client: DeepInfra, emu: Any, model: str, seen: list[RetryDetails]) -> None:
    _say("Retries honour Retry-After")
    emu.faults.add("/v1/openai/chat/completions", status=429, retry_after=0.3, times=1)
    seen.clear()
    await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "again"}]
    )
    for details in seen:
        print(f"attempt {details.attempt} got {details.reason}; retried after {details.delay} s")
    print("then the call succeeded")


async def _concurrency(emu: Any, model: str) -> None:
    _say("The per-model concurrency cap queues calls locally instead of collecting 429s")
    emu.faults.add("/v1/openai/chat/completions", delay=0.05, times=None)
    limits = Limits(per_model_concurrency=4)
    async with DeepInfra(emu.api_key, base_url=emu.url, limits=limits) as client:
        messages = [{"role": "user", "content": "hi"}]
        await asyncio.gather(
            *(
                client.chat.completions.create(model=model, messages=messages, max_tokens=4)
                for _ in range(20)
            )
        )
    emu.faults.clear()
    print(f"20 concurrent calls, at most {emu.max_in_flight[model]} in flight at the server")
