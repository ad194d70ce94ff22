"""deepinfra_async, with its defaults, through its public API.

``--json stdlib`` hides orjson before the library is imported, so it runs on the standard
library's ``json`` (the plain install); ``--json orjson`` (the default when orjson is
installed) measures the ``speedups`` extra.

Only W3 changes a default: 1,000 streams held open at once need more than the default pool
(256 connections) and per-model limit (200 in flight), so both are lifted there.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from .. import canned
from ._harness import MAX_TOKENS, MESSAGES, Adapter, Held, Sample, main, stream_check

if TYPE_CHECKING:
    from deepinfra_async import AsyncStream, DeepInfra


class _HeldStream(Held):
    def __init__(self, stream: AsyncStream[Any]) -> None:
        self.stream = stream

    async def close(self) -> None:
        await self.stream.aclose()


class DeepInfraAsync(Adapter):
    """``DeepInfra`` from deepinfra_async."""

    name = "deepinfra_async"

    def __init__(self, options: argparse.Namespace) -> None:
        super().__init__(options)
        if options.json == "stdlib":
            # A None entry makes `import orjson` raise ImportError.
            sys.modules["orjson"] = None  # type: ignore[assignment]
        import deepinfra_async

        if options.json == "orjson" and importlib.util.find_spec("orjson") is None:
            raise RuntimeError("--json orjson was asked for, but orjson is not installed")
        self.lib = deepinfra_async
        self.client: DeepInfra | None = None

    async def start(self, job: dict[str, Any]) -> None:
        tweaks = _tweaks(self.options.tweak)
        limit_fields = dict(tweaks["limits"])
        if job["kind"] == "hold":
            limit_fields = {"max_connections": None, "per_model_concurrency": None, **limit_fields}
        limits = self.lib.Limits(**limit_fields) if limit_fields else None
        timeout = self.lib.Timeout(**tweaks["timeout"]) if tweaks["timeout"] else None
        self.client = self.lib.DeepInfra(
            api_key="bench", base_url=job["base_url"], limits=limits, timeout=timeout
        )
        await self.client.__aenter__()

    @property
    def c(self) -> DeepInfra:
        assert self.client is not None
        return self.client

    async def close(self) -> None:
        await self.c.aclose()

    async def chat(self) -> int:
        result = await self.c.chat.completions.create(
            model=canned.CHAT_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS
        )
        content = result.choices[0].message.content or ""
        assert result.usage is not None
        return len(content) + result.usage.completion_tokens

    async def stream(self) -> int:
        total = 0
        async with await self.c.chat.completions.create(
            model=canned.CHAT_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True
        ) as stream:
            async for chunk in stream:
                usage = chunk.usage
                total += stream_check(
                    chunk.choices[0].delta.content,
                    usage.completion_tokens if usage is not None else None,
                )
        return total

    async def open_stream(self) -> Held:
        stream = await self.c.chat.completions.create(
            model=canned.CHAT_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True
        )
        await stream.__anext__()
        return _HeldStream(stream)

    async def slow_stream(self, every: int, pause: float, sample: Sample) -> int:
        total = 0
        seen = 0
        async with await self.c.chat.completions.create(
            model=canned.CHAT_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True
        ) as stream:
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
        result = await self.c.embeddings.create(
            model=canned.EMBED_MODEL, input=list(canned.EMBED_INPUTS)
        )
        assert result.usage is not None
        return sum(len(item.embedding) for item in result.data) + result.usage.prompt_tokens

    async def native(self) -> int:
        result = await self.c.inference.text_generation(
            canned.NATIVE_MODEL, canned.PROMPT, max_new_tokens=MAX_TOKENS
        )
        return len(result.text) + (result.status.tokens_generated or 0)

    async def batch(self, count: int, concurrency: int) -> int | None:
        runner = getattr(self.c, "batch", None)
        run_map = getattr(runner, "map", None)
        if run_map is None:
            return None
        requests = (
            {
                "custom_id": f"request-{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": canned.CHAT_MODEL,
                    "messages": MESSAGES,
                    "max_tokens": MAX_TOKENS,
                },
            }
            for i in range(count)
        )
        results = await run_map(requests, concurrency=concurrency)
        total = 0
        for result in results:
            if not getattr(result, "ok", True):
                raise RuntimeError(f"a batch request failed: {result.error!r}")
            value = getattr(result, "value", result)
            total += len(value["choices"][0]["message"]["content"])
            total += value["usage"]["completion_tokens"]
        return total


def _tweaks(text: str | None) -> dict[str, dict[str, Any]]:
    """Parse ``--tweak`` (experiments only), e.g. ``total=none,per_model_concurrency=none``.

    Timeout fields (``connect``, ``pool``, ``read``, ``total``) and Limits fields are set to
    ``None`` or a number; the default run uses none of this.
    """
    out: dict[str, dict[str, Any]] = {"timeout": {}, "limits": {}}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, _, raw = item.partition("=")
        value: Any = None if raw.strip().lower() == "none" else float(raw)
        name = name.strip()
        if name in ("connect", "pool", "read", "total"):
            out["timeout"][name] = value
        else:
            out["limits"][name] = value if value is None else int(value)
    return out


def _factory(options: argparse.Namespace) -> Adapter:
    adapter = DeepInfraAsync(options)
    if options.json == "orjson":
        adapter.name = "deepinfra_async+orjson"
    return adapter


if __name__ == "__main__":
    raise SystemExit(main(_factory))
