"""Embeddings (``POST /embeddings``)."""

import array
import base64
import sys

import attrs

__all__ = ["CreateEmbeddingResponse", "Embedding", "EmbeddingUsage", "decode_base64_embedding"]


@attrs.frozen(kw_only=True)
class Embedding:
    """The embedding of one input.

    ``embedding`` is the list the JSON parser produced, kept as it is: its items are not
    converted one by one, so a server that writes ``0`` instead of ``0.0`` yields an ``int``
    there.

    Attributes:
        index: The position of the input this embeds.
        embedding: The vector.
        object: ``"embedding"``.

    .. versionadded:: 0.1.0
    """

    index: int
    embedding: list[float]
    object: str = "embedding"


@attrs.frozen(kw_only=True)
class EmbeddingUsage:
    """Token counts of an embeddings call, and what it cost.

    Attributes:
        prompt_tokens: Tokens in the inputs.
        total_tokens: Tokens billed.
        estimated_cost: The cost in USD, when DeepInfra reports it.

    .. versionadded:: 0.1.0
    """

    prompt_tokens: int = 0
    total_tokens: int = 0
    estimated_cost: float | None = None


@attrs.frozen(kw_only=True)
class CreateEmbeddingResponse:
    """The answer to an embeddings request.

    Attributes:
        data: One embedding per input, in input order.
        model: The model that served the request.
        object: ``"list"``.
        usage: Token counts.
        request_id: DeepInfra's id for the request, when known.

    .. versionadded:: 0.1.0
    """

    data: list[Embedding]
    model: str
    object: str = "list"
    usage: EmbeddingUsage | None = None
    request_id: str | None = None


def decode_base64_embedding(data: str) -> list[float]:
    """Decode an embedding sent with ``encoding_format="base64"``.

    The payload is little-endian float32 values; they are converted in C, without a Python
    loop over the items.

    Args:
        data: The base64 text.

    Returns:
        The floats.

    Raises:
        ValueError: ``data`` is not valid base64 or not a whole number of float32 values.

    .. versionadded:: 0.1.0
    """
    raw = base64.b64decode(data, validate=True)
    if len(raw) % 4:
        msg = f"a base64 embedding must hold whole float32 values, got {len(raw)} bytes"
        raise ValueError(msg)
    if sys.byteorder == "little":
        floats: list[float] = memoryview(raw).cast("f").tolist()  # type: ignore[assignment]
        return floats
    values = array.array("f", raw)
    values.byteswap()
    return values.tolist()
