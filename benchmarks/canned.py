"""DeepInfra-shaped canned response bodies, written once to disk for the loopback server.

The shapes follow DeepInfra's wire format: Python-style ``", "`` separators, ``role`` repeated
in every streamed delta, usage (with ``estimated_cost``) on the finish chunk followed by
``data: [DONE]``, and the native ``request_id`` + ``inference_status`` envelope.

Each workload gets its own URL prefix (``/w1``, ``/w2`` ...), so a static server can pick the
body from the path alone: a client's base URL is ``http://127.0.0.1:PORT/w2`` and the file
``www/w2/v1/openai/chat/completions`` is what it receives. Every body also has a checksum that
the clients recompute from what they decoded (see ``benchmarks/clients``).
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any, Final

__all__ = [
    "CHAT_MODEL",
    "EMBED_INPUTS",
    "EMBED_MODEL",
    "FORMAT_VERSION",
    "NATIVE_MODEL",
    "PROMPT",
    "STREAM_CHUNKS",
    "Manifest",
    "build",
    "chat_completion",
    "embeddings",
    "native_text_generation",
    "sse_stream",
]

FORMAT_VERSION: Final = 3

CHAT_MODEL: Final = "meta-llama/Meta-Llama-3.1-8B-Instruct"
EMBED_MODEL: Final = "BAAI/bge-large-en-v1.5"
NATIVE_MODEL: Final = "meta-llama/Meta-Llama-3-8B-Instruct"
PROMPT: Final = "Write a short paragraph about the sea."
EMBED_INPUTS: Final = tuple(f"passage number {i} about the sea" for i in range(16))
EMBED_DIM: Final = 1024
STREAM_CHUNKS: Final = 1000
COMPLETION_TOKENS: Final = 64
PROMPT_TOKENS: Final = 48
CREATED: Final = 1732684855

_WORDS: Final = (
    "the", "sea", "is", "wide", "and", "deep", "waves", "roll", "over", "sand", "under",
    "a", "grey", "sky", "while", "gulls", "call", "to", "each", "other", "far", "away",
)  # fmt: skip

Manifest = dict[str, Any]


def _dump(obj: object) -> bytes:
    # DeepInfra's JSON uses Python's default separators (", " and ": ").
    return json.dumps(obj).encode()


def _text(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n_words)).capitalize() + "."


def chat_completion() -> tuple[bytes, int]:
    """A non-streamed chat completion; the checksum is ``len(content) + completion_tokens``."""
    content = _text(random.Random(1), 60)
    body = {
        "id": "chatcmpl-RXE8YP4fhWBTFLGpZWdMCq34",
        "object": "chat.completion",
        "created": CREATED,
        "model": CHAT_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "name": None,
                    "tool_calls": None,
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "estimated_cost": 9.68e-05,
        },
    }
    return _dump(body), len(content) + COMPLETION_TOKENS


def _chunk(content: str | None, *, final: bool, tokens: int) -> bytes:
    delta: dict[str, Any] = (
        {} if final else {"role": "assistant", "content": content, "tool_calls": None}
    )
    body = {
        "id": "chatcmpl-RXE8YP4fhWBTFLGpZWdMCq34",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": CHAT_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if final else None}],
        "usage": (
            {
                "prompt_tokens": PROMPT_TOKENS,
                "total_tokens": PROMPT_TOKENS + tokens,
                "completion_tokens": tokens,
                "estimated_cost": 9.24e-05,
            }
            if final
            else None
        ),
    }
    return b"data: " + _dump(body) + b"\n\n"


def sse_stream(chunks: int) -> tuple[bytes, int]:
    """A chat stream of ``chunks`` events (the last one carries usage) then ``[DONE]``.

    The first delta has empty content, as DeepInfra sends it. The checksum is the total
    content length plus ``completion_tokens``.
    """
    rng = random.Random(2)
    parts = [_chunk("", final=False, tokens=0)]
    total = 0
    for _ in range(chunks - 2):
        token = " " + rng.choice(_WORDS)
        total += len(token)
        parts.append(_chunk(token, final=False, tokens=0))
    tokens = chunks - 1
    parts.append(_chunk(None, final=True, tokens=tokens))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts), total + tokens


def write_big_stream(path: Path, target_bytes: int, piece_chars: int = 1900) -> tuple[int, int]:
    """Write a chat stream of at least ``target_bytes`` made of large content deltas.

    Returns:
        ``(events, checksum)``: the number of content events, and the total content length
        plus ``completion_tokens``.
    """
    rng = random.Random(3)
    pieces = [
        _chunk(" " + _text(rng, piece_chars // 5)[: piece_chars - 1], final=False, tokens=0)
        for _ in range(16)
    ]
    lengths = [len(json.loads(p[6:])["choices"][0]["delta"]["content"]) for p in pieces]
    written = 0
    events = 0
    total = 0
    with path.open("wb") as out:
        first = _chunk("", final=False, tokens=0)
        out.write(first)
        written += len(first)
        events += 1
        while written < target_bytes:
            i = events % len(pieces)
            out.write(pieces[i])
            written += len(pieces[i])
            total += lengths[i]
            events += 1
        tokens = events
        out.write(_chunk(None, final=True, tokens=tokens))
        out.write(b"data: [DONE]\n\n")
    return events, total + tokens


def embeddings() -> tuple[bytes, int]:
    """16 embeddings of 1024 float32 values; the checksum is the number of floats + tokens."""
    rng = random.Random(4)
    pack = struct.Struct("<f")

    def value() -> float:
        # Round through float32, as a model server's output is.
        result: float = pack.unpack(pack.pack(rng.gauss(0.0, 0.04)))[0]
        return result

    data = [
        {"index": i, "object": "embedding", "embedding": [value() for _ in range(EMBED_DIM)]}
        for i in range(len(EMBED_INPUTS))
    ]
    tokens = 8 * len(EMBED_INPUTS)
    body = {
        "object": "list",
        "model": EMBED_MODEL,
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "estimated_cost": 6.4e-07},
    }
    return _dump(body), len(EMBED_INPUTS) * EMBED_DIM + tokens


def native_text_generation() -> tuple[bytes, int]:
    """A native text-generation answer; checksum ``len(generated_text) + tokens_generated``."""
    text = _text(random.Random(5), 60)
    body = {
        "request_id": "RfMWDr1NXCd7cnaegcm3A8q0",
        "inference_status": {
            "status": "succeeded",
            "runtime_ms": 0,
            "cost": 1.23e-05,
            "tokens_input": 13,
            "tokens_generated": COMPLETION_TOKENS,
        },
        "results": [{"generated_text": text}],
        "num_tokens": COMPLETION_TOKENS,
        "num_input_tokens": 13,
    }
    return _dump(body), len(text) + COMPLETION_TOKENS


def _place(root: Path, prefix: str, route: str, body: bytes) -> None:
    path = root / prefix / route.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def build(root: Path, *, big_stream_bytes: int) -> Manifest:
    """Write every canned body under ``root`` (skipped when an identical set is there).

    Args:
        root: The server's document root.
        big_stream_bytes: Size of W4's stream.

    Returns:
        The manifest: per-operation checksums and the W4 stream's event count.
    """
    manifest_path = root / "manifest.json"
    params = {"format": FORMAT_VERSION, "big_stream_bytes": big_stream_bytes}
    if manifest_path.exists():
        try:
            manifest: Manifest = json.loads(manifest_path.read_text())
        except ValueError:
            manifest = {}
        if manifest.get("params") == params:
            return manifest
    root.mkdir(parents=True, exist_ok=True)
    chat, chat_check = chat_completion()
    stream, stream_check = sse_stream(STREAM_CHUNKS)
    embed, embed_check = embeddings()
    native, native_check = native_text_generation()
    chat_route = "/v1/openai/chat/completions"
    _place(root, "w1", chat_route, chat)
    _place(root, "w2", chat_route, stream)
    _place(root, "w3", chat_route, stream)
    _place(root, "w6", "/v1/openai/embeddings", embed)
    _place(root, "w7", f"/v1/inference/{NATIVE_MODEL}", native)
    big = root / "w4" / chat_route.lstrip("/")
    big.parent.mkdir(parents=True, exist_ok=True)
    big_events, big_check = write_big_stream(big, big_stream_bytes)
    manifest = {
        "params": params,
        "checks": {
            "chat": chat_check,
            "stream": stream_check,
            "embed": embed_check,
            "native": native_check,
            "big_stream": big_check,
        },
        "sizes": {
            "chat": len(chat),
            "stream": len(stream),
            "embed": len(embed),
            "native": len(native),
            "big_stream": big.stat().st_size,
        },
        "big_stream_events": big_events,
        "stream_chunks": STREAM_CHUNKS,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest
