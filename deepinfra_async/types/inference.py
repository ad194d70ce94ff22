"""Native per-model inference (``POST /v1/inference/{model}``): the envelope and text tasks.

A native response is one JSON object: the model's output fields next to DeepInfra's
envelope, ``request_id`` and ``inference_status`` (state, cost, runtime and token counts).
:func:`inference_result` splits any response into output and envelope; the typed results
here and in :mod:`.inference_media` and :mod:`.inference_tasks` are structured from the
whole object by the converter of ``make_converter()``, which reads their ``status`` field
from the ``inference_status`` key.
"""

from typing import Any

import attrs

__all__ = [
    "EmbeddingsResult",
    "GeneratedText",
    "InferenceResult",
    "InferenceStatus",
    "RerankResult",
    "StreamToken",
    "TextGenerationResult",
    "TextGenerationStreamEvent",
    "inference_result",
]

# -- The envelope -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class InferenceStatus:
    """DeepInfra's report on one native call (``inference_status`` on the wire).

    Every field is optional on the wire; a response without the object reads as the
    defaults.

    Attributes:
        status: ``"unknown"``, ``"queued"`` (e.g. answered at once for a webhook call),
            ``"running"``, ``"succeeded"`` or ``"failed"``.
        cost: The cost in USD.
        runtime_ms: The time the model ran, in milliseconds (not reported for LLMs).
        tokens_input: Tokens in the input (LLMs only).
        tokens_generated: Tokens generated (LLMs only).

    .. versionadded:: 0.1.0
    """

    status: str = "unknown"
    cost: float | None = None
    runtime_ms: int | None = None
    tokens_input: int | None = None
    tokens_generated: int | None = None


@attrs.frozen(kw_only=True)
class InferenceResult:
    """Any native response, split into the model's output and DeepInfra's envelope.

    Built by :func:`inference_result`; used for models without a typed result.

    Attributes:
        output: Every key of the response except ``request_id`` and ``inference_status``,
            as decoded.
        status: State, cost, runtime and token counts.
        request_id: DeepInfra's id for the request, when known.

    .. versionadded:: 0.1.0
    """

    output: dict[str, Any]
    status: InferenceStatus = attrs.field(factory=InferenceStatus)
    request_id: str | None = None


def _check_str(key: str, value: Any) -> str:
    if value.__class__ is str:
        return value
    msg = f"inference_status.{key}: expected a string, got {type(value).__name__}"
    raise TypeError(msg)


def _check_float(key: str, value: Any) -> float | None:
    if value is None or value.__class__ is float:
        return value
    if value.__class__ is int:
        return float(value)
    msg = f"inference_status.{key}: expected a number or null, got {type(value).__name__}"
    raise TypeError(msg)


def _check_int(key: str, value: Any) -> int | None:
    if value is None or value.__class__ is int:
        return value
    if value.__class__ is float and value.is_integer():
        return int(value)
    msg = f"inference_status.{key}: expected an integer or null, got {type(value).__name__}"
    raise TypeError(msg)


def _inference_status(value: Any) -> InferenceStatus:
    # The same checks as the converter's (numbers are checked, not coerced), without
    # depending on it; unknown keys are ignored.
    if value is None:
        return InferenceStatus()
    if value.__class__ is not dict:
        msg = f"inference_status must be an object or null, got {type(value).__name__}"
        raise TypeError(msg)
    get = value.get
    return InferenceStatus(
        status=_check_str("status", get("status", "unknown")),
        cost=_check_float("cost", get("cost")),
        runtime_ms=_check_int("runtime_ms", get("runtime_ms")),
        tokens_input=_check_int("tokens_input", get("tokens_input")),
        tokens_generated=_check_int("tokens_generated", get("tokens_generated")),
    )


def inference_result(data: dict[str, Any]) -> InferenceResult:
    """Split a decoded native response into the model's output and the envelope.

    ``data`` is not changed: the output is a new dict holding every other key.

    Args:
        data: The decoded JSON body of ``POST /v1/inference/{model}``.

    Returns:
        The output, the status (defaults when the response has no ``inference_status``)
        and the request id.

    Raises:
        TypeError: ``data`` is not a dict, ``inference_status`` is not an object (or null),
            ``request_id`` is not a string (or null), or a status field has the wrong type.

    .. versionadded:: 0.1.0
    """
    body: object = data  # checked: the annotation is not enforced at run time
    if not isinstance(body, dict):
        msg = f"a native response must be a JSON object, got {type(body).__name__}"
        raise TypeError(msg)
    output = dict(body)
    request_id = output.pop("request_id", None)
    if request_id is not None and request_id.__class__ is not str:
        msg = f"request_id must be a string or null, got {type(request_id).__name__}"
        raise TypeError(msg)
    status = _inference_status(output.pop("inference_status", None))
    return InferenceResult(output=output, status=status, request_id=request_id)


# -- Text generation ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class GeneratedText:
    """One generated answer of a native text-generation call.

    Attributes:
        generated_text: The text, without the prompt.

    .. versionadded:: 0.1.0
    """

    generated_text: str


@attrs.frozen(kw_only=True)
class TextGenerationResult:
    """The answer of a native text-generation model (raw prompt in, text out).

    Attributes:
        results: One entry per requested response (``num_responses``).
        num_tokens: Tokens generated.
        num_input_tokens: Tokens in the prompt.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and token counts (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    results: list[GeneratedText]
    num_tokens: int | None = None
    num_input_tokens: int | None = None
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)

    @property
    def text(self) -> str:
        """The first result's text, or ``""`` when there is none."""
        return self.results[0].generated_text if self.results else ""


@attrs.frozen(kw_only=True)
class StreamToken:
    """The token carried by one native stream event.

    Attributes:
        id: The token id in the model's vocabulary.
        text: The token text.
        logprob: Its log probability.
        special: Whether it is a special token (end of sequence...), usually not shown.

    .. versionadded:: 0.1.0
    """

    id: int | None = None
    text: str
    logprob: float | None = None
    special: bool = False


@attrs.frozen(kw_only=True)
class TextGenerationStreamEvent:
    """One event of a streamed native text generation (``"stream": true``), TGI style.

    Each event carries the next token; the last one also carries the whole text and the
    ``details`` of the generation (finish reason, token counts), as the server sent them.

    Attributes:
        token: The next token.
        generated_text: The whole generated text, on the last event only.
        details: Details of the generation, on the last event only.

    .. versionadded:: 0.1.0
    """

    token: StreamToken | None = None
    generated_text: str | None = None
    details: dict[str, Any] | None = None


# -- Embeddings and reranking -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EmbeddingsResult:
    """The answer of a native embeddings model.

    Each vector is the list the JSON parser produced, kept as it is: its items are not
    converted one by one, so a server that writes ``0`` instead of ``0.0`` yields an
    ``int`` there.

    Attributes:
        embeddings: One vector per input, in input order.
        input_tokens: Tokens in the inputs.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    embeddings: list[list[float]]
    input_tokens: int | None = None
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


@attrs.frozen(kw_only=True)
class RerankResult:
    """The answer of a reranker model.

    ``scores`` is the list the JSON parser produced, kept as it is (see
    :class:`EmbeddingsResult`).

    Attributes:
        scores: One relevance score (0 to 1) per document, in input order.
        input_tokens: Tokens in the query and documents.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    scores: list[float]
    input_tokens: int | None = None
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)
