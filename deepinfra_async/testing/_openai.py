"""OpenAI-compatible routes of the emulator, plus the JSON and error shapes they answer with.

Route handlers take ``(emulator, request, body)``, where ``body`` is the request's decoded
JSON (``None`` when the request had no JSON body). The emulator registers every route in
`ROUTES` under each prefix of `OPENAI_PREFIXES` and runs routing, auth, faults and
bookkeeping before a handler is called, so handlers only validate and answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from ._text import (
    DEFAULT_COMPLETION_TOKENS,
    count_words,
    generate_tokens,
    request_digest,
    seed_material,
)

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = [
    "DEFAULT_MODELS",
    "OPENAI_PREFIXES",
    "ROUTES",
    "ChatPlan",
    "Handler",
    "estimated_cost",
    "json_response",
    "model_not_found",
    "openai_error",
    "plan_chat",
    "prompt_tokens",
    "validate_chat",
    "validation_error",
]

Handler = Callable[["Emulator", web.Request, Any], Awaitable[web.StreamResponse]]
"""A route handler: ``(emulator, request, decoded JSON body or None) -> response``."""

#: Both prefixes DeepInfra serves the OpenAI-compatible surface under.
OPENAI_PREFIXES: Final = ("/v1/openai", "/v1")


@attrs.frozen
class _ModelInfo:
    task: str
    input_price: float  # USD per 1M input tokens
    output_price: float  # USD per 1M output tokens
    context_length: int
    created: int
    description: str


_CATALOGUE: Final[Mapping[str, _ModelInfo]] = {
    "meta-llama/Meta-Llama-3-8B-Instruct": _ModelInfo(
        "chat", 0.03, 0.06, 8192, 1713398400, "Llama 3 8B instruction-tuned chat model."
    ),
    "meta-llama/Meta-Llama-3.1-70B-Instruct": _ModelInfo(
        "chat", 0.23, 0.40, 131072, 1721692800, "Llama 3.1 70B instruction-tuned chat model."
    ),
    "deepseek-ai/DeepSeek-V3": _ModelInfo(
        "chat", 0.38, 0.89, 163840, 1735084800, "DeepSeek V3 mixture-of-experts chat model."
    ),
    "BAAI/bge-large-en-v1.5": _ModelInfo(
        "embeddings", 0.01, 0.0, 512, 1695168000, "BGE large English embedding model."
    ),
}
_FALLBACK = _ModelInfo("chat", 0.10, 0.20, 8192, 1700000000, "A model added to the emulator.")

#: The registry an emulator starts with: model id -> task.
DEFAULT_MODELS: Final[Mapping[str, str]] = {name: m.task for name, m in _CATALOGUE.items()}

_ROLES: Final = frozenset({"system", "user", "assistant", "tool"})


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Serialise ``data`` as a JSON response.

    The separators are Python's defaults (``", "``), as DeepInfra's own responses use, so
    clients are exercised on parsing rather than on byte patterns.

    Args:
        data: A JSON-serialisable value.
        status: The HTTP status.
        headers: Extra response headers.

    Returns:
        The response, not yet sent.
    """
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def openai_error(
    message: str,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Build an OpenAI-style error body (shape A in the reference).

    Args:
        message: Human-readable message.
        type: Error type, e.g. ``"invalid_request_error"``.
        param: The request field at fault, if any.
        code: A machine-readable code, if any.

    Returns:
        ``{"error": {"message", "type", "param", "code"}}``.
    """
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def validation_error(problems: list[dict[str, Any]]) -> web.Response:
    """Answer 422 with FastAPI's ``{"detail": [{"loc", "msg", "type"}, ...]}`` body.

    Args:
        problems: One entry per problem found.

    Returns:
        The 422 response.
    """
    return json_response({"detail": problems}, status=422)


def model_not_found(model: str) -> web.Response:
    """Answer 404 for a model that is not in the registry.

    Args:
        model: The model id the request named.

    Returns:
        The 404 response with an OpenAI-style body.
    """
    body = openai_error(
        f"The model `{model}` does not exist", param="model", code="model_not_found"
    )
    return json_response(body, status=404)


def _info(model: str) -> _ModelInfo:
    return _CATALOGUE.get(model, _FALLBACK)


def estimated_cost(model: str, prompt: int, completion: int) -> float:
    """Return the USD cost the emulator reports for a request.

    Args:
        model: The model id (unknown ids use a fallback price).
        prompt: Prompt (input) tokens.
        completion: Completion (output) tokens.

    Returns:
        ``prompt x input price + completion x output price``, prices per 1M tokens.
    """
    info = _info(model)
    return round((prompt * info.input_price + completion * info.output_price) / 1e6, 12)


def _problem(loc: list[str | int], msg: str, type: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": type}


def _range_problem(
    name: str, value: float, low: float, high: float | None
) -> dict[str, Any] | None:
    if value < low:
        msg = f"Input should be greater than or equal to {low}"
        return _problem([name], msg, "greater_than_equal")
    if high is not None and value > high:
        return _problem([name], f"Input should be less than or equal to {high}", "less_than_equal")
    return None


def _check_int(
    body: Mapping[str, Any], name: str, low: int, high: int | None, nullable: bool
) -> dict[str, Any] | None:
    if name not in body or (nullable and body[name] is None):
        return None
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        return _problem([name], "Input should be a valid integer", "int_type")
    return _range_problem(name, value, low, high)


def _check_number(
    body: Mapping[str, Any], name: str, low: float, high: float
) -> dict[str, Any] | None:
    if name not in body:
        return None
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _problem([name], "Input should be a valid number", "float_type")
    return _range_problem(name, value, low, high)


def _check_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in body:
        return [_problem(["messages"], "Field required", "missing")]
    messages = body["messages"]
    if not isinstance(messages, list):
        return [_problem(["messages"], "Input should be a valid list", "list_type")]
    if not messages:
        msg = "List should have at least 1 item after validation, not 0"
        return [_problem(["messages"], msg, "too_short")]
    problems: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            msg = "Input should be a valid dictionary"
            problems.append(_problem(["messages", i], msg, "dict_type"))
            continue
        if "role" not in message:
            problems.append(_problem(["messages", i, "role"], "Field required", "missing"))
        elif not isinstance(message["role"], str) or message["role"] not in _ROLES:
            msg = "Input should be 'system', 'user', 'assistant' or 'tool'"
            problems.append(_problem(["messages", i, "role"], msg, "literal_error"))
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            msg = "Input should be a valid string or a list of content parts"
            problems.append(_problem(["messages", i, "content"], msg, "string_type"))
    return problems


def validate_chat(body: Any) -> list[dict[str, Any]]:
    """Check a chat completion request body the way the real API's schema does.

    Args:
        body: The decoded JSON body, or ``None`` when there was none.

    Returns:
        FastAPI-style problem entries; empty when the body is valid.
    """
    if body is None:
        return [{"loc": ["body"], "msg": "Field required", "type": "missing"}]
    if not isinstance(body, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return [{"loc": ["body"], "msg": msg, "type": "model_attributes_type"}]
    problems: list[dict[str, Any]] = []
    if "model" not in body:
        problems.append(_problem(["model"], "Field required", "missing"))
    elif not isinstance(body["model"], str):
        problems.append(_problem(["model"], "Input should be a valid string", "string_type"))
    problems.extend(_check_messages(body))
    checks = (
        _check_int(body, "max_tokens", 1, None, nullable=True),
        _check_number(body, "temperature", 0, 2),
        _check_int(body, "n", 1, 4, nullable=False),
    )
    problems.extend(problem for problem in checks if problem is not None)
    if "stream" in body and not isinstance(body["stream"], bool):
        problems.append(_problem(["stream"], "Input should be a valid boolean", "bool_type"))
    return problems


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def prompt_tokens(messages: list[Any]) -> int:
    """Count the prompt tokens of validated chat messages (one word, one token).

    Args:
        messages: The request's messages.

    Returns:
        The number of words in all text content.
    """
    return sum(count_words(_text_of(message.get("content"))) for message in messages)


@attrs.frozen
class ChatPlan:
    """Everything a chat completion answers with, computed once for JSON and streaming.

    Attributes:
        id: The completion id (``chatcmpl-...``).
        created: Unix time the completion was created.
        model: The model id echoed back.
        choices: Generated words for each choice.
        finish_reasons: ``"length"`` or ``"stop"`` for each choice.
        prompt_tokens: Input tokens.
        completion_tokens: Output tokens over all choices.
        cost: The estimated cost in USD.
    """

    id: str
    created: int
    model: str
    choices: list[list[str]]
    finish_reasons: list[str]
    prompt_tokens: int
    completion_tokens: int
    cost: float

    def usage(self) -> dict[str, Any]:
        """Return the ``usage`` object, with DeepInfra's ``estimated_cost``."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "estimated_cost": self.cost,
        }

    def completion(self) -> dict[str, Any]:
        """Return the non-streaming ``chat.completion`` body."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": index,
                    "message": {"role": "assistant", "content": " ".join(tokens)},
                    "finish_reason": reason,
                }
                for index, (tokens, reason) in enumerate(
                    zip(self.choices, self.finish_reasons, strict=True)
                )
            ],
            "usage": self.usage(),
        }


def plan_chat(emu: Emulator, body: Mapping[str, Any], model: str) -> ChatPlan:
    """Generate the deterministic completion for a validated chat request.

    Args:
        emu: The emulator (for its seed and id generator).
        body: The validated request body.
        model: The registry id the request resolved to.

    Returns:
        The plan to render as JSON or as a stream.
    """
    messages: list[Any] = body["messages"]
    max_tokens = body.get("max_tokens")
    length = DEFAULT_COMPLETION_TOKENS
    reason = "stop"
    if max_tokens is not None and max_tokens < length:
        length, reason = max_tokens, "length"
    digest = request_digest(body["model"], messages)
    n: int = body.get("n", 1)
    choices = [generate_tokens(seed_material(emu.seed, digest, i), length) for i in range(n)]
    prompt = prompt_tokens(messages)
    completion = length * n
    return ChatPlan(
        id=emu._new_id("chatcmpl-"),
        created=int(time.time()),
        model=model,
        choices=choices,
        finish_reasons=[reason] * n,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost=estimated_cost(model, prompt, completion),
    )


def _resolve_model(emu: Emulator, name: str) -> str | None:
    """Map a request's model (possibly ``id:VERSION``) to a registry id."""
    if name in emu.models:
        return name
    base = name.partition(":")[0]
    return base if base in emu.models else None


async def chat_completions(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/chat/completions``: validate, then answer with a completion."""
    problems = validate_chat(body)
    if problems:
        return validation_error(problems)
    model = _resolve_model(emu, body["model"])
    if model is None:
        return model_not_found(body["model"])
    if emu.models[model] != "chat":
        error = openai_error(
            f"The model `{model}` does not support chat completions",
            param="model",
            code="model_not_supported",
        )
        return json_response(error, status=400)
    if body.get("stream") is True:
        # The streaming branch renders the same plan as SSE chunks.
        error = openai_error("The emulator does not stream chat completions yet", param="stream")
        return json_response(error, status=400)
    return json_response(plan_chat(emu, body, model).completion())


def _model_entry(name: str, task: str) -> dict[str, Any]:
    info = _info(name)
    pricing: dict[str, float] = {"input_tokens": info.input_price}
    if task != "embeddings":
        pricing["output_tokens"] = info.output_price
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
            "tags": [task],
        },
    }


async def list_models(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``GET {prefix}/models``: the registry in the OpenAI list shape, with metadata."""
    data = [_model_entry(name, task) for name, task in emu.models.items()]
    return json_response({"object": "list", "data": data})


#: ``(method, path after the prefix, handler)`` for every OpenAI-compatible route.
ROUTES: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("GET", "/models", list_models),
    ("POST", "/chat/completions", chat_completions),
)
