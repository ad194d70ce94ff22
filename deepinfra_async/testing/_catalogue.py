"""The emulator's model catalogue: tasks, prices, flags, and the usage objects they price.

Prices are illustrative, in the shape DeepInfra publishes them: USD per million tokens for
language and embedding models, and for the other tasks USD per `ModelInfo.unit` (an image at
the default size, a second of input audio, a million characters, a second of runtime).
Models added to an emulator's registry that are not in the catalogue get fallback values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

__all__ = [
    "DEFAULT_MODELS",
    "UNITS",
    "ModelInfo",
    "estimated_cost",
    "model_entry",
    "model_info",
    "resolve_model",
    "unit_cost",
    "usage_body",
]

#: The billing units of `ModelInfo.unit`.
UNITS: Final = ("tokens", "images", "audio_seconds", "characters", "runtime_seconds")


@attrs.frozen
class ModelInfo:
    """What the emulator knows about one model.

    Attributes:
        task: The task the model serves: ``"chat"`` (OpenAI chat and completions, native
            text-generation), ``"embeddings"``, or a native task such as ``"reranker"``,
            ``"text-to-image"``, ``"automatic-speech-recognition"``, ``"text-to-speech"``,
            ``"text-classification"``, ``"token-classification"``, ``"fill-mask"``,
            ``"image-classification"``, ``"zero-shot-image-classification"``,
            ``"object-detection"`` or ``"question-answering"``.
        input_price: USD per 1M input tokens.
        output_price: USD per 1M output tokens.
        context_length: The context window in tokens.
        created: Unix time listed by ``GET /models``.
        description: Listed by ``GET /models``.
        reasoning: Chat models only: the answer starts with ``reasoning_content``.
        dimensions: Embedding models only: the native vector size.
        unit: What the model is billed by, one of `UNITS`.
        unit_price: USD per unit when ``unit`` is not ``"tokens"`` (per 1M characters for
            ``"characters"``; per image of ``default_size`` squared pixels for ``"images"``).
        default_size: Image models only: the default width and height in pixels.
        speech_json: Text-to-speech models only: the native route answers JSON with a data
            URL instead of the raw audio body.
    """

    task: str
    input_price: float
    output_price: float
    context_length: int
    created: int
    description: str
    reasoning: bool = False
    dimensions: int = 0
    unit: str = "tokens"
    unit_price: float = 0.0
    default_size: int = 1024
    speech_json: bool = False


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
    "Qwen/Qwen3-Reranker-4B": ModelInfo(
        "reranker", 0.025, 0.0, 32768, 1749168000, "Qwen3 4B reranker: scores query-document pairs."
    ),
    "black-forest-labs/FLUX-1-schnell": ModelInfo(
        "text-to-image",
        0.0,
        0.0,
        0,
        1722470400,
        "FLUX.1 schnell: fast text-to-image generation.",
        unit="images",
        unit_price=0.0005,
    ),
    "openai/whisper-large-v3": ModelInfo(
        "automatic-speech-recognition",
        0.0,
        0.0,
        0,
        1699488000,
        "Whisper large v3 speech recognition and translation.",
        unit="audio_seconds",
        unit_price=0.0000075,
    ),
    "hexgrad/Kokoro-82M": ModelInfo(
        "text-to-speech",
        0.0,
        0.0,
        0,
        1735689600,
        "Kokoro 82M text to speech; the native route answers the raw WAV body.",
        unit="characters",
        unit_price=0.80,
    ),
    "canopylabs/orpheus-3b-0.1-ft": ModelInfo(
        "text-to-speech",
        0.0,
        0.0,
        0,
        1742169600,
        "Orpheus 3B text to speech; the native route answers JSON with a data URL.",
        unit="characters",
        unit_price=7.0,
        speech_json=True,
    ),
    **{
        name: ModelInfo(
            task, 0.0, 0.0, 512, created, description, unit="runtime_seconds", unit_price=0.0005
        )
        for name, task, created, description in (
            (
                "ProsusAI/finbert",
                "text-classification",
                1623628800,
                "FinBERT financial sentiment classification.",
            ),
            (
                "Davlan/bert-base-multilingual-cased-ner-hrl",
                "token-classification",
                1623628800,
                "Multilingual named entity recognition.",
            ),
            (
                "bert-base-cased",
                "fill-mask",
                1551398400,
                "BERT base (cased) masked language model.",
            ),
            (
                "google/vit-base-patch16-224",
                "image-classification",
                1617235200,
                "ViT base image classification (ImageNet labels).",
            ),
            (
                "openai/clip-vit-base-patch32",
                "zero-shot-image-classification",
                1614556800,
                "CLIP ViT-B/32 zero-shot image classification.",
            ),
            ("hustvl/yolos-small", "object-detection", 1651363200, "YOLOS small object detection."),
            (
                "deepset/roberta-base-squad2",
                "question-answering",
                1614556800,
                "RoBERTa base extractive question answering (SQuAD 2.0).",
            ),
        )
    },
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


def unit_cost(model: str, amount: float) -> float:
    """Return the USD cost of a request billed by the model's `ModelInfo.unit`.

    Args:
        model: The model id (unknown ids use a fallback price).
        amount: How many units the request used: tokens, images (scaled by their pixel
            count relative to the default size), seconds of audio or runtime, characters.

    Returns:
        The cost, rounded to 12 decimal places.
    """
    info = model_info(model)
    if info.unit == "tokens":
        return round(amount * info.input_price / 1e6, 12)
    if info.unit == "characters":
        return round(amount * info.unit_price / 1e6, 12)
    return round(amount * info.unit_price, 12)


_PRICE_KEYS: Final = {
    "images": "per_image_unit",
    "audio_seconds": "input_seconds",
    "characters": "input_characters",
    "runtime_seconds": "runtime_seconds",
}


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
    pricing: dict[str, float]
    if info.unit in _PRICE_KEYS:
        pricing = {_PRICE_KEYS[info.unit]: info.unit_price}
    else:
        pricing = {"input_tokens": info.input_price}
        if task == "chat":
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
