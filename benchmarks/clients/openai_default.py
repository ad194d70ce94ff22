"""``openai.AsyncOpenAI`` pointed at the loopback server, with its default transport (httpx).

The SDK is imported by name at run time, so this module type-checks and imports without it
(the benchmark skips these clients when ``openai`` is not installed).

W7 has no typed OpenAI method: it goes through the SDK's generic ``client.post(...,
cast_to=object)``, which returns the decoded JSON. W8 is not applicable (no batch runner).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from typing import Any

from .. import canned
from ._harness import MAX_TOKENS, MESSAGES, Adapter, Held, Sample, main, stream_check


class _HeldStream(Held):
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    async def close(self) -> None:
        await self.stream.close()


class OpenAIDefault(Adapter):
    """``AsyncOpenAI`` with its default HTTP client."""

    name = "openai"

    def __init__(self, options: argparse.Namespace) -> None:
        super().__init__(options)
        self.openai: Any = importlib.import_module("openai")
        self.client: Any = None

    def http_client(self) -> Any:
        """The ``http_client`` to pass to ``AsyncOpenAI`` (``None``: the SDK's default)."""
        return None

    async def start(self, job: dict[str, Any]) -> None:
        base = job["base_url"]
        self.native_url = base + "/v1/inference/" + canned.NATIVE_MODEL
        kwargs: dict[str, Any] = {"api_key": "bench", "base_url": base + "/v1/openai"}
        http_client = self.http_client()
        if http_client is not None:
            kwargs["http_client"] = http_client
        self.client = self.openai.AsyncOpenAI(**kwargs)

    async def close(self) -> None:
        await self.client.close()

    async def chat(self) -> int:
        result = await self.client.chat.completions.create(
            model=canned.CHAT_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS
        )
        content: str = result.choices[0].message.content or ""
        tokens: int = result.usage.completion_tokens
        return len(content) + tokens

    async def _open(self) -> Any:
        return await self.client.chat.completions.create(
            model=canned.CHAT_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True
        )

    async def stream(self) -> int:
        total = 0
        async with await self._open() as stream:
            async for chunk in stream:
                usage = chunk.usage
                total += stream_check(
                    chunk.choices[0].delta.content,
                    usage.completion_tokens if usage is not None else None,
                )
        return total

    async def open_stream(self) -> Held:
        stream = await self._open()
        await stream.__anext__()
        return _HeldStream(stream)

    async def slow_stream(self, every: int, pause: float, sample: Sample) -> int:
        total = 0
        seen = 0
        async with await self._open() as stream:
            async for chunk in stream:
                usage = chunk.usage
                total += stream_check(
                    chunk.choices[0].delta.content,
                    usage.completion_tokens if usage is not None else None,
                )
                seen += 1
                if seen == 1:
                    sample()
                elif seen % every == 0:
                    sample()
                    await asyncio.sleep(pause)
        return total

    async def embed(self) -> int:
        result = await self.client.embeddings.create(
            model=canned.EMBED_MODEL, input=list(canned.EMBED_INPUTS), encoding_format="float"
        )
        floats: int = sum(len(item.embedding) for item in result.data)
        tokens: int = result.usage.prompt_tokens
        return floats + tokens

    async def native(self) -> int:
        data = await self.client.post(
            self.native_url,
            body={"input": canned.PROMPT, "max_new_tokens": MAX_TOKENS},
            cast_to=object,
        )
        text: str = data["results"][0]["generated_text"]
        tokens: int = data["inference_status"]["tokens_generated"]
        return len(text) + tokens


def _factory(options: argparse.Namespace) -> Adapter:
    return OpenAIDefault(options)


if __name__ == "__main__":
    raise SystemExit(main(_factory))
