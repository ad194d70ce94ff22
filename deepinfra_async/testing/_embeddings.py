"""Emulated embeddings (``POST {prefix}/embeddings``): deterministic unit vectors.

A text's vector depends only on the model and the text: a BLAKE2b digest of both seeds a
generator that draws the model's native number of components, which are then normalised to
unit length and rounded to float32, so the ``float`` and ``base64`` encodings carry the
same numbers. ``dimensions`` truncates (and re-normalises) or zero-pads. Vectors are cached
per (model, text), so repeated inputs are cheap.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import random
import sys
from array import array
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ._catalogue import estimated_cost, model_info, resolve_model
from ._text import count_words
from ._wire import (
    check_body,
    check_choice,
    check_int,
    json_response,
    model_not_found,
    problem,
    unsupported_model,
    validation_error,
)

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["MAX_INPUTS", "embed", "embeddings", "validate_embeddings"]

#: The most inputs one request may carry.
MAX_INPUTS: Final = 1024
_MAX_DIMENSIONS: Final = 16384
_CACHE_SIZE: Final = 2048

Problem = dict[str, Any]


def _check_input(body: Mapping[str, Any]) -> list[Problem]:
    if "input" not in body:
        return [problem(["input"], "Field required", "missing")]
    value = body["input"]
    if isinstance(value, str):
        return []
    if not isinstance(value, list):
        msg = "Input should be a valid string or a list of strings"
        return [problem(["input"], msg, "string_type")]
    if not value:
        msg = "List should have at least 1 item after validation, not 0"
        return [problem(["input"], msg, "too_short")]
    if len(value) > MAX_INPUTS:
        msg = f"List should have at most {MAX_INPUTS} items after validation, not {len(value)}"
        return [problem(["input"], msg, "too_long")]
    return [
        problem(["input", i], "Input should be a valid string", "string_type")
        for i, item in enumerate(value)
        if not isinstance(item, str)
    ]


def validate_embeddings(body: Any) -> list[Problem]:
    """Check an embeddings request body the way the real API's schema does.

    Args:
        body: The decoded JSON body, or ``None`` when there was none.

    Returns:
        FastAPI-style problem entries; empty when the body is valid.
    """
    problems = check_body(body)
    if not isinstance(body, dict):
        return problems
    problems.extend(_check_input(body))
    checks = (
        check_choice(body, "encoding_format", ("float", "base64"), nullable=True),
        check_int(body, "dimensions", 32, _MAX_DIMENSIONS, nullable=True),
        check_choice(body, "input_type", ("query", "passage", "document"), nullable=True),
    )
    problems.extend(found for found in checks if found is not None)
    return problems


def _unit(values: array[Any]) -> array[float]:
    norm = math.sqrt(math.fsum(x * x for x in values))
    scale = 1 / norm if norm else 0.0
    return array("f", [x * scale for x in values])


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _native(model: str, text: str, size: int) -> array[float]:
    digest = hashlib.blake2b(f"{model}\x00{text}".encode(errors="surrogatepass")).digest()
    # Signed 16-bit components, drawn in one call: fast even for 4096-wide vectors.
    components = array("h", random.Random(digest).randbytes(2 * size))
    if sys.byteorder == "big":
        components.byteswap()
    return _unit(components)


def embed(model: str, text: str, dimensions: int | None = None) -> array[float]:
    """Return the emulator's embedding of a text, as float32 components.

    Args:
        model: The registry id of an embedding model.
        text: The input text.
        dimensions: The requested size; ``None`` for the model's native size.

    Returns:
        A unit-length vector. It may be shared with a cache: do not modify it.
    """
    native = _native(model, text, model_info(model).dimensions)
    if dimensions is None or dimensions == len(native):
        return native
    if dimensions < len(native):
        return _unit(native[:dimensions])
    return native + array("f", bytes(4 * (dimensions - len(native))))


def _encode(vector: array[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector.tolist()
    if sys.byteorder == "big":
        vector = array("f", vector)
        vector.byteswap()
    return base64.b64encode(vector.tobytes()).decode("ascii")


async def embeddings(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/embeddings``: validate, then answer with one vector per input.

    Args:
        emu: The emulator.
        request: The request.
        body: Its decoded JSON body.

    Returns:
        The JSON response.
    """
    problems = validate_embeddings(body)
    if problems:
        return validation_error(problems)
    model = resolve_model(emu.models, body["model"])
    if model is None:
        return model_not_found(body["model"])
    if emu.models[model] != "embeddings":
        return unsupported_model(model, "embeddings")
    inputs: list[str] = [body["input"]] if isinstance(body["input"], str) else body["input"]
    encoding = body.get("encoding_format") or "float"
    dimensions: int | None = body.get("dimensions")
    data = [
        {
            "index": index,
            "object": "embedding",
            "embedding": _encode(embed(model, text, dimensions), encoding),
        }
        for index, text in enumerate(inputs)
    ]
    tokens = sum(count_words(text) for text in inputs)
    usage = {
        "prompt_tokens": tokens,
        "total_tokens": tokens,
        "estimated_cost": estimated_cost(model, tokens, 0),
    }
    return json_response({"object": "list", "model": model, "data": data, "usage": usage})
