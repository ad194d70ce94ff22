"""``client.embeddings``: OpenAI-compatible embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from .._config import Timeout
from ..types.embeddings import CreateEmbeddingResponse, decode_base64_embedding
from ._base import Resource, check_model, merge_options, structure

__all__ = ["Embeddings"]

_ALLOWED: Final = frozenset({"dimensions", "input_type", "service_tier", "fail_fast", "user"})
_MAX_INPUTS: Final = 1024


def _check_input(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and value:
        if len(value) > _MAX_INPUTS:
            msg = f"input takes at most {_MAX_INPUTS} items per request, got {len(value)}"
            raise ValueError(msg)
        if all(isinstance(v, str | list) for v in value):
            return value if isinstance(value, list) else list(value)
    msg = "input must be a str or a non-empty list of str (or of content-part lists)"
    raise TypeError(msg)


class Embeddings(Resource):
    """``client.embeddings``."""

    __slots__ = ()
    _path = "/embeddings"

    async def create(
        self,
        *,
        model: str,
        input: str | Sequence[str] | Sequence[Sequence[Mapping[str, Any]]],
        encoding_format: Literal["float", "base64"] = "float",
        dimensions: int | None = None,
        input_type: str | None = None,
        service_tier: str | None = None,
        fail_fast: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> CreateEmbeddingResponse:
        """Embed text (``POST /embeddings``).

        Args:
            model: Model id, e.g. ``"BAAI/bge-large-en-v1.5"``.
            input: A string, or up to 1024 strings (or content-part lists for multimodal
                embedders).
            encoding_format: ``"float"``, or ``"base64"`` (smaller on the wire; decoded to
                floats here).
            dimensions: Output size for models that support it (>= 32).
            input_type: ``"query"``, ``"passage"`` or ``"document"`` for asymmetric models.
            service_tier: ``"default"``, ``"priority"`` or ``"flex"``.
            fail_fast: Answer 429 at once instead of queueing (never retried).
            extra_body: Fields merged into the body last.
            extra_headers: Extra headers for this call.
            timeout: Timeouts for this call (a number replaces the total).

        Returns:
            The embeddings, as lists of floats, in input order.

        Raises:
            TypeError: An argument of the wrong type (named).
            ValueError: An argument with an invalid value (named).
            APIStatusError: The server answered with an error status.
            APIConnectionError: No usable response.
            ResponseValidationError: The response did not have the expected shape.

        .. versionadded:: 0.1.0
        """
        if encoding_format not in ("float", "base64"):
            msg = f"encoding_format must be 'float' or 'base64', got {encoding_format!r}"
            raise ValueError(msg)
        if dimensions is not None and (type(dimensions) is not int or dimensions < 1):
            msg = f"dimensions must be a positive int, got {dimensions!r}"
            raise ValueError(msg)
        body: dict[str, Any] = {
            "model": check_model(model),
            "input": _check_input(input),
            "encoding_format": encoding_format,
        }
        merge_options(
            body,
            {
                "dimensions": dimensions,
                "input_type": input_type,
                "service_tier": service_tier,
                "fail_fast": fail_fast,
            },
            _ALLOWED,
            extra_body,
            "create",
        )
        # Only the encoded body stays alive while the request is in flight (as in chat).
        sending = self._send_json(
            "POST", self._url, body, model=model, extra_headers=extra_headers, timeout=timeout
        )
        del body
        data = self._decoded(await sending, model)
        if encoding_format == "base64" and type(data) is dict:
            for item in data.get("data") or ():
                if type(item) is dict and isinstance(item.get("embedding"), str):
                    item["embedding"] = decode_base64_embedding(item["embedding"])
        return structure(CreateEmbeddingResponse, data)
