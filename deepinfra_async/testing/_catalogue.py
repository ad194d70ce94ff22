"""The emulator's model catalogue: tasks, prices, flags, and the usage objects they price.

Prices are illustrative USD per million tokens, in the shape DeepInfra publishes them.
Models added to an emulator's registry that are not in the catalogue get fallback values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

__all__ = [
    "DEFAULT_MODELS",
    "ModelInfo",
    "estimated_cost",
    "model_entry",
    "model_info",
    "resolve_model",
    "usage_body",
]


@attrs.frozen
class ModelInfo:
    """What the emulator knows about one model.

    Attributes:
        task: The surface the model serves: ``"chat"`` or ``"embeddings"``.
        input_price: USD per 1M input tokens.
        output_price: USD per 1M output tokens.
        context_length: The context window in tokens.
        created: Unix time listed by ``GET /models``.
        description: Listed by ``GET /models``.
        reasoning: Chat models only: the answer starts with ``reasoning_content``.
        dimensions: Embedding models only: the native vector size.
    """

    task: str
    input_price: float
    output_price: float
    context_length: int
    created: int
    description: str
    reasoning: bool = False
    dimensions: int = 0


_CATALOGUE: Final[Mapping[str, ModelInfo]] = {
    "meta-llama/Meta-Llama-3-8B-Instruct": ModelInfo(
        "chat", 0.03, 0.06, 8192, 1713398400, "Llama 3 8B instruction-tuned chat model."
    ),
    "meta-llama/Meta-Llama-3.1-70B-Instruct": ModelInfo(
        "chat", 0.23, 0.40, 131072, 1721692800, "Llama 3.1 70B instruction-tuned chat model."
    ),
    "deepseek-ai/DeepSeek-V3": ModelInfo(
        "chat", 0.38, 0.89, 163840, 1735084800, "DeepSeek V3 mixture-of-experts chat model."
    ),
    "deepseek-ai/DeepSeek-R1": ModelInfo(
        "chat",
        0.50,
        2.15,
        163840,
        1737331200,
        "DeepSeek R1 reasoning model: thinks in reasoning_content, then answers.",
        reasoning=True,
    ),
    "BAAI/bge-large-en-v1.5": ModelInfo(
        "embeddings",
        0.01,
        0.0,
        512,
        1695168000,
        "BGE large English embedding model.",
        dimensions=1024,
    ),
    "Qwen/Qwen3-Embedding-8B": ModelInfo(
        "embeddings",
        0.01,
        0.0,
        32768,
        1749168000,
        "Qwen3 8B multilingual embedding model.",
        dimensions=4096,
    ),
}
_FALLBACK: Final = ModelInfo(
    "chat", 0.10, 0.20, 8192, 1700000000, "A model added to the emulator.", dimensions=1024
)

#: The registry an emulator starts with: model id -> task.
DEFAULT_MODELS: Final[Mapping[str, str]] = {name: m.task for name, m in _CATALOGUE.items()}


def model_info(model: str) -> ModelInfo:
    """Return the catalogue entry of a model (a fallback entry for unknown ids).

    Args:
        model: A registry id.

    Returns:
        The model's information.
    """
    return _CATALOGUE.get(model, _FALLBACK)


def resolve_model(models: Mapping[str, str], name: str) -> str | None:
    """Map a request's model (possibly ``id:VERSION``) to a registry id.

    Args:
        models: The emulator's registry.
        name: The model the request named.

    Returns:
        The registry id, or ``None`` when the model is unknown.
    """
    if name in models:
        return name
    base = name.partition(":")[0]
    return base if base in models else None


def estimated_cost(model: str, prompt: int, completion: int) -> float:
    """Return the USD cost the emulator reports for a request.

    Args:
        model: The model id (unknown ids use a fallback price).
        prompt: Prompt (input) tokens.
        completion: Completion (output) tokens.

    Returns:
        ``prompt x input price + completion x output price``, prices per 1M tokens.
    """
    info = model_info(model)
    return round((prompt * info.input_price + completion * info.output_price) / 1e6, 12)


def usage_body(
    model: str, prompt: int, completion: int, reasoning: int | None = None
) -> dict[str, Any]:
    """Build a ``usage`` object with DeepInfra's ``estimated_cost``.

    Args:
        model: The model that served the request.
        prompt: Prompt tokens.
        completion: Completion tokens, reasoning included.
        reasoning: Reasoning tokens; adds ``completion_tokens_details`` when given.

    Returns:
        ``{"prompt_tokens", "completion_tokens", "total_tokens", "estimated_cost"}``.
    """
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "estimated_cost": estimated_cost(model, prompt, completion),
    }
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def model_entry(name: str, task: str) -> dict[str, Any]:
    """Describe a registered model as ``GET /models`` lists it (with metadata).

    Args:
        name: The registry id.
        task: The task it is registered for.

    Returns:
        One item of the list's ``data``.
    """
    info = model_info(name)
    pricing: dict[str, float] = {"input_tokens": info.input_price}
    if task != "embeddings":
        pricing["output_tokens"] = info.output_price
    tags = [task, "reasoning"] if info.reasoning and task == "chat" else [task]
    return {
        "id": name,
        "object": "model",
        "created": info.created,
        "owned_by": name.partition("/")[0] if "/" in name else "deepinfra",
        "root": name,
        "parent": None,
        "metadata": {
            "description": info.description,
            "context_length": info.context_length,
            "max_tokens": info.context_length,
            "pricing": pricing,
            "discount": None,
            "tags": tags,
        },
    }
