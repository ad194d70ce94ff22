"""Per-request emulator controls and the stream settings they combine with.

A request can carry an ``"emulator"`` object in its JSON body (clients send it through
``extra_body``); it is not part of the real API. Every key is optional:

``tokens``
    Completion length in tokens (words); still capped by ``max_tokens``.
``token_rate``
    Tokens per second while streaming; ``0`` streams as fast as possible.
``chunk_tokens``
    Tokens per streamed event (default 1).
``usage``
    Where a stream reports usage: ``"finish"`` (DeepInfra style, on the last finish
    chunk; the default), ``"trailing"`` (OpenAI style, an extra chunk with ``"choices": []``
    before ``[DONE]``) or ``"none"``.
``drop_after`` / ``error_after`` / ``stall_after``
    After this many events, close the connection abruptly, send one in-band error
    event and end the stream, or stop sending and hold the connection open. At most one
    of the three.
``error_type`` / ``error_message``
    The fields of the event ``error_after`` sends.
``image_urls``
    Image generation (native and OpenAI-compatible) answers URLs served by the emulator at
    ``GET /v1/images/{id}`` instead of data URLs or base64.
``audio_bytes``
    Speech routes send an audio body of exactly this many bytes, whatever the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs
from aiohttp import web

from ._catalogue import resolve_model
from ._wire import (
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_object,
    check_string,
    model_not_found,
    problem,
    unsupported_model,
    validation_error,
)

__all__ = [
    "USAGE_MODES",
    "Controls",
    "StreamSettings",
    "admit_text_request",
    "check_stream_options",
    "read_controls",
    "stream_settings",
]

#: The accepted values of the ``usage`` control.
USAGE_MODES: Final = ("finish", "trailing", "none")
_MAX_TOKENS: Final = 1_000_000_000
_FAULT_KEYS: Final = ("drop_after", "error_after", "stall_after")
_MAX_AUDIO_BYTES: Final = 1 << 40
_KEYS: Final = frozenset(
    {
        "tokens",
        "token_rate",
        "chunk_tokens",
        "usage",
        "error_type",
        "error_message",
        "image_urls",
        "audio_bytes",
        *_FAULT_KEYS,
    }
)

Problem = dict[str, Any]


@attrs.frozen(kw_only=True)
class Controls:
    """The decoded ``"emulator"`` object of a request (defaults when it has none).

    Attributes:
        tokens: Completion length in tokens, or ``None`` for the default length.
        token_rate: Tokens per second while streaming (``0`` = unthrottled).
        chunk_tokens: Tokens per streamed event.
        usage: ``"finish"``, ``"trailing"`` or ``"none"``.
        drop_after: Close the connection after this many events.
        error_after: Send an in-band error event after this many events.
        stall_after: Stop sending after this many events.
        error_type: ``error_type`` of the in-band error event.
        error_message: ``error_message`` of the in-band error event.
        image_urls: Answer generated images as emulator URLs.
        audio_bytes: Exact size of a speech body, or ``None`` for a size that follows
            the text.
    """

    tokens: int | None = None
    token_rate: float = 0.0
    chunk_tokens: int = 1
    usage: str = "finish"
    drop_after: int | None = None
    error_after: int | None = None
    stall_after: int | None = None
    error_type: str = "internal_error"
    error_message: str = "The emulator interrupted the stream with an error"
    image_urls: bool = False
    audio_bytes: int | None = None


def admit_text_request(
    models: Mapping[str, str], body: Any, problems: list[Problem], what: str
) -> tuple[str, Controls] | web.Response:
    """Admit an OpenAI-style text request whose body was checked, or answer its error.

    Args:
        models: The emulator's model catalogue (name -> kind).
        body: The decoded JSON body.
        problems: What the route's own validation found in it.
        what: The route's name for an unsupported-model error, e.g. ``"completions"``.

    Returns:
        The served chat model and the request's controls, or the error response: a 422 for
        problems in the body or its controls, a 404 for an unknown model, a 400 for a model
        that is not a chat model.
    """
    controls, found = read_controls(body) if isinstance(body, dict) else (Controls(), [])
    problems = [*problems, *found]
    if problems:
        return validation_error(problems)
    model = resolve_model(models, body["model"])
    if model is None:
        return model_not_found(body["model"])
    if models[model] != "chat":
        return unsupported_model(model, what)
    return model, controls


def read_controls(body: Mapping[str, Any]) -> tuple[Controls, list[Problem]]:
    """Decode and validate the ``"emulator"`` object of a request body.

    Args:
        body: The request body (already known to be an object).

    Returns:
        The controls (defaults when the body has none or they are invalid) and the
        FastAPI-style problems found.
    """
    if body.get("emulator") is None:
        return Controls(), []
    found = check_object(body, "emulator")
    if found is not None:
        return Controls(), [found]
    raw: dict[str, Any] = body["emulator"]
    loc: list[str | int] = ["emulator"]
    problems = [
        problem([*loc, key], "Extra inputs are not permitted", "extra_forbidden")
        for key in raw
        if key not in _KEYS
    ]
    checks = (
        check_int(raw, "tokens", 0, _MAX_TOKENS, nullable=True, loc=loc),
        check_number(raw, "token_rate", 0, None, loc=loc),
        check_int(raw, "chunk_tokens", 1, _MAX_TOKENS, loc=loc),
        check_choice(raw, "usage", USAGE_MODES, loc=loc),
        *(check_int(raw, key, 0, None, nullable=True, loc=loc) for key in _FAULT_KEYS),
        check_string(raw, "error_type", loc=loc),
        check_string(raw, "error_message", loc=loc),
        check_bool(raw, "image_urls", loc=loc),
        check_int(raw, "audio_bytes", 0, _MAX_AUDIO_BYTES, nullable=True, loc=loc),
    )
    problems.extend(found for found in checks if found is not None)
    if sum(raw.get(key) is not None for key in _FAULT_KEYS) > 1:
        msg = "Set at most one of drop_after, error_after and stall_after"
        problems.append(problem(loc, msg, "value_error"))
    if problems:
        return Controls(), problems
    known = {key: value for key, value in raw.items() if value is not None}
    if "token_rate" in known:
        known["token_rate"] = float(known["token_rate"])
    return Controls(**known), []


@attrs.frozen(kw_only=True)
class StreamSettings:
    """How a stream is cut into events and where it reports usage.

    Attributes:
        usage: ``"finish"``, ``"trailing"`` or ``"none"``.
        continuous: Every chunk carries the usage so far.
        chunk_tokens: Tokens per event.
    """

    usage: str = "finish"
    continuous: bool = False
    chunk_tokens: int = 1


def check_stream_options(body: Mapping[str, Any]) -> list[Problem]:
    """Validate the ``stream_options`` object of a request body.

    Args:
        body: The request body.

    Returns:
        FastAPI-style problems; empty when the field is absent, null or valid.
    """
    if body.get("stream_options") is None:
        return []
    found = check_object(body, "stream_options")
    if found is not None:
        return [found]
    options = body["stream_options"]
    loc: list[str | int] = ["stream_options"]
    checks = (
        check_bool(options, "include_usage", loc=loc),
        check_bool(options, "continuous_usage_stats", loc=loc),
    )
    return [found for found in checks if found is not None]


def stream_settings(body: Mapping[str, Any], controls: Controls) -> StreamSettings:
    """Combine a validated request's ``stream_options`` with its controls.

    ``include_usage: false`` turns usage off whatever the ``usage`` control says.

    Args:
        body: The validated request body.
        controls: Its decoded controls.

    Returns:
        The settings for its stream.
    """
    options = body.get("stream_options") or {}
    include = options.get("include_usage", True)
    usage = controls.usage if include else "none"
    continuous = usage != "none" and options.get("continuous_usage_stats", False)
    return StreamSettings(usage=usage, continuous=continuous, chunk_tokens=controls.chunk_tokens)
