"""The emulator's OpenAI-compatible surface: the route table and the model list.

Route handlers take ``(emulator, request, body)``, where ``body`` is the request's decoded
JSON (``None`` when the request had no JSON body). The emulator registers every route in
`ROUTES` under each prefix of `OPENAI_PREFIXES` and runs routing, auth, pre-header faults
and bookkeeping before a handler is called, so handlers only validate and answer.

The handlers live in their own modules: `._chat` (with `._chat_stream` and `._tools`),
`._completions`, `._embeddings`, `._openai_media` (images, speech, transcription),
`._file_routes` and `._batch_routes`.
Shapes shared by every route are in `._wire`; this module re-exports the common ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ._batch_routes import BATCH_ROUTES
from ._catalogue import DEFAULT_MODELS, estimated_cost, model_entry
from ._chat import ChatPlan, chat_completions, plan_chat, prompt_tokens, validate_chat
from ._completions import completions
from ._embeddings import embeddings
from ._file_routes import FILE_ROUTES
from ._openai_media import image_generations, speech, transcriptions, translations
from ._wire import json_response, model_not_found, openai_error, validation_error

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
    "list_models",
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


async def list_models(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``GET {prefix}/models``: the registry in the OpenAI list shape, with metadata.

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        The JSON response.
    """
    data = [model_entry(name, task) for name, task in emu.models.items()]
    return json_response({"object": "list", "data": data})


#: ``(method, path after the prefix, handler)`` for every OpenAI-compatible route.
ROUTES: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("GET", "/models", list_models),
    ("POST", "/chat/completions", chat_completions),
    ("POST", "/completions", completions),
    ("POST", "/embeddings", embeddings),
    ("POST", "/images/generations", image_generations),
    ("POST", "/audio/speech", speech),
    ("POST", "/audio/transcriptions", transcriptions),
    ("POST", "/audio/translations", translations),
    *FILE_ROUTES,
    *BATCH_ROUTES,
)
