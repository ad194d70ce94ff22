"""The pieces every emulated native task shares: the call, its outcome, the task spec.

A task validates its body against its `Field` specs (plus an optional extra check) and
turns a `NativeCall` into an `Outcome`: the output fields, the cost and a synthetic runtime.
`._native` wraps the outcome in DeepInfra's envelope (``request_id``, ``inference_status``),
answers it raw when the task produces a raw body, or POSTs it to a webhook.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

from ._controls import Controls
from ._schema import Field
from ._sse_writer import Event

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["NativeCall", "NativeTask", "Outcome", "RawBody", "fractions", "runtime_ms"]

Problem = dict[str, Any]


@attrs.frozen
class RawBody:
    """A non-JSON answer (audio), produced in chunks.

    Attributes:
        content_type: The response's content type.
        size: Its size in bytes.
        chunks: Produces the body's chunks, in order (may be called more than once).
    """

    content_type: str
    size: int
    chunks: Callable[[], Iterator[bytes]]

    def data_url(self) -> str:
        """Return the whole body as a base64 data URL."""
        data = b"".join(self.chunks())
        return f"data:{self.content_type};base64,{base64.b64encode(data).decode('ascii')}"


@attrs.frozen
class Outcome:
    """What a native task answers, before the envelope is added.

    Attributes:
        output: The task's output fields.
        cost: The cost in USD.
        runtime_ms: The runtime reported in ``inference_status``.
        tokens: ``(input, generated)`` tokens for language models, reported as
            ``tokens_input`` and ``tokens_generated``.
        raw: A raw body to answer instead of JSON; ``output`` then holds nothing and a
            webhook receives ``{"audio": <data URL>}``.
    """

    output: dict[str, Any]
    cost: float
    runtime_ms: int
    tokens: tuple[int, int] | None = None
    raw: RawBody | None = None

    def status(self) -> dict[str, Any]:
        """Return the ``inference_status`` object of a finished call."""
        status: dict[str, Any] = {
            "status": "succeeded",
            "runtime_ms": self.runtime_ms,
            "cost": self.cost,
        }
        if self.tokens is not None:
            status["tokens_input"], status["tokens_generated"] = self.tokens
        return status

    def envelope(self, request_id: str) -> dict[str, Any]:
        """Return the JSON answer: envelope first, then the output (audio as a data URL).

        Args:
            request_id: The call's request id.

        Returns:
            The body a synchronous call answers, and a webhook receives.
        """
        output = self.output if self.raw is None else {"audio": self.raw.data_url()}
        return {"request_id": request_id, "inference_status": self.status(), **output}


@attrs.frozen
class NativeCall:
    """One validated native call.

    Attributes:
        emu: The emulator.
        request: The request.
        model: The registry id of the model.
        body: The decoded body (files as `._uploads.Upload`).
        controls: The body's ``"emulator"`` controls.
    """

    emu: Emulator
    request: web.Request
    model: str
    body: Mapping[str, Any]
    controls: Controls


@attrs.frozen
class NativeTask:
    """How the emulator runs one native task.

    Attributes:
        fields: The request fields.
        run: Computes the outcome of a validated call.
        check: Extra checks beyond the field specs (e.g. ``[MASK]`` in a fill-mask
            input); returns FastAPI-style problems.
        stream: Renders a validated call as SSE events, for tasks that can stream.
    """

    fields: tuple[Field, ...]
    run: Callable[[NativeCall], Outcome]
    check: Callable[[Mapping[str, Any]], list[Problem]] | None = None
    stream: Callable[[NativeCall], Iterator[Event]] | None = None


def fractions(seed: int, *parts: str | bytes, count: int = 1) -> list[float]:
    """Return ``count`` deterministic values in ``[0, 1)`` for some inputs.

    Args:
        seed: The emulator seed.
        *parts: Strings or bytes the values depend on.
        count: How many values to return.

    Returns:
        The values; equal inputs give equal values in every process.
    """
    digest = hashlib.blake2b(str(seed).encode(), digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    seed_bytes = digest.digest()
    values: list[float] = []
    block = 0
    while len(values) < count:
        more = hashlib.blake2b(seed_bytes + block.to_bytes(4, "big"), digest_size=64).digest()
        values.extend(
            int.from_bytes(more[i : i + 4], "big") / 2**32 for i in range(0, len(more), 4)
        )
        block += 1
    return values[:count]


def runtime_ms(base: int, per_unit: float, units: float) -> int:
    """Return a synthetic, deterministic runtime: ``base + per_unit x units`` milliseconds."""
    return int(base + per_unit * units)
