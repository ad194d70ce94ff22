"""The floor: what a hand-written raw-aiohttp client costs.

One ``ClientSession``, ``json.dumps`` / ``json.loads`` from the standard library, and a
minimal SSE split (events on ``b"\\n\\n"``, ``data: `` stripped, no typing). Nothing is
validated beyond what the checksum needs.

``--sock-read SECONDS`` adds aiohttp's idle-read timeout to the session's default timeouts:
the reference client "floor + read timeout", which enforces what deepinfra_async's default
``Timeout.read`` enforces, the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import aiohttp

from .. import canned
from ._harness import MAX_TOKENS, MESSAGES, Adapter, Held, Sample, main, run_pool

_DONE = b"[DONE]"


class _HeldResponse(Held):
    def __init__(self, resp: aiohttp.ClientResponse, buffer: bytes) -> None:
        self.resp = resp
        self.buffer = buffer

    async def close(self) -> None:
        self.resp.close()


class Floor(Adapter):
    """Raw aiohttp, standard-library JSON, a minimal SSE split."""

    name = "floor"

    async def start(self, job: dict[str, Any]) -> None:
        base = job["base_url"]
        sock_read = self.options.sock_read
        # aiohttp's default timeouts (total 300 s, sock_connect 30 s), plus sock_read if given.
        timeout = aiohttp.ClientTimeout(total=300, sock_connect=30, sock_read=sock_read)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=timeout
        )
        self.headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
        self.chat_url = base + "/v1/openai/chat/completions"
        self.embed_url = base + "/v1/openai/embeddings"
        self.native_url = base + "/v1/inference/" + canned.NATIVE_MODEL

    async def close(self) -> None:
        await self.session.close()

    async def _post(self, url: str, body: dict[str, Any]) -> Any:
        async with self.session.post(
            url, data=json.dumps(body).encode(), headers=self.headers
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            return json.loads(await resp.read())

    async def chat(self) -> int:
        data = await self._post(
            self.chat_url,
            {"model": canned.CHAT_MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS},
        )
        content: str = data["choices"][0]["message"]["content"]
        tokens: int = data["usage"]["completion_tokens"]
        return len(content) + tokens

    def _stream_body(self) -> bytes:
        body = {
            "model": canned.CHAT_MODEL,
            "messages": MESSAGES,
            "max_tokens": MAX_TOKENS,
            "stream": True,
        }
        return json.dumps(body).encode()

    @staticmethod
    def _check(obj: Any) -> int:
        total = 0
        content = obj["choices"][0]["delta"].get("content")
        if content:
            total += len(content)
        usage = obj.get("usage")
        if usage:
            total += usage["completion_tokens"]
        return total

    async def stream(self) -> int:
        total = 0
        async with self.session.post(
            self.chat_url, data=self._stream_body(), headers=self.headers
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            buffer = b""
            async for data in resp.content.iter_any():
                events = (buffer + data).split(b"\n\n")
                buffer = events.pop()
                for event in events:
                    if event[:6] != b"data: ":
                        continue
                    payload = event[6:]
                    if payload == _DONE:
                        return total
                    total += self._check(json.loads(payload))
        raise RuntimeError("the stream ended before [DONE]")

    async def open_stream(self) -> Held:
        resp = await self.session.post(
            self.chat_url, data=self._stream_body(), headers=self.headers
        )
        if resp.status != 200:
            resp.close()
            raise RuntimeError(f"HTTP {resp.status}")
        buffer = b""
        while True:
            data = await resp.content.readany()
            if not data:
                resp.close()
                raise RuntimeError("the stream ended before its first event")
            buffer += data
            head, sep, rest = buffer.partition(b"\n\n")
            if sep:
                json.loads(head[6:])
                return _HeldResponse(resp, rest)

    async def slow_stream(self, every: int, pause: float, sample: Sample) -> int:
        total = 0
        seen = 0
        async with self.session.post(
            self.chat_url, data=self._stream_body(), headers=self.headers
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            buffer = b""
            async for data in resp.content.iter_any():
                events = (buffer + data).split(b"\n\n")
                buffer = events.pop()
                for event in events:
                    if event[:6] != b"data: ":
                        continue
                    payload = event[6:]
                    if payload == _DONE:
                        return total
                    total += self._check(json.loads(payload))
                    seen += 1
                    if seen == 1:
                        sample()
                    elif seen % every == 0:
                        sample()
                        await asyncio.sleep(pause)
        raise RuntimeError("the stream ended before [DONE]")

    async def embed(self) -> int:
        data = await self._post(
            self.embed_url,
            {
                "model": canned.EMBED_MODEL,
                "input": list(canned.EMBED_INPUTS),
                "encoding_format": "float",
            },
        )
        floats = sum(len(item["embedding"]) for item in data["data"])
        tokens: int = data["usage"]["prompt_tokens"]
        return floats + tokens

    async def native(self) -> int:
        data = await self._post(
            self.native_url, {"input": canned.PROMPT, "max_new_tokens": MAX_TOKENS}
        )
        text: str = data["results"][0]["generated_text"]
        tokens: int = data["inference_status"]["tokens_generated"]
        return len(text) + tokens

    async def batch(self, count: int, concurrency: int) -> int | None:
        # The floor has no batch runner: W8's floor is W1's loop.
        return await run_pool(count, concurrency, self.chat)


def _factory(options: argparse.Namespace) -> Adapter:
    return Floor(options)


if __name__ == "__main__":
    raise SystemExit(main(_factory))
