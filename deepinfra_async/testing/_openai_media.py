"""The OpenAI-compatible media routes: image generation, speech, transcription, translation.

``POST {prefix}/images/generations`` answers ``{"created", "data": [{"b64_json", "url",
"revised_prompt": null}]}`` with the field of the chosen ``response_format`` set and the
other ``null``; URLs point at ``GET /v1/images/{id}``. ``POST {prefix}/audio/speech``
answers raw audio bytes in chunks with a fitting content type. ``POST
{prefix}/audio/transcriptions`` and ``/audio/translations`` take a multipart body with a
``file`` part (streamed and recorded in ``Emulator.uploads``) and answer ``json``,
``verbose_json``, or ``text``, ``srt`` and ``vtt`` as ``text/plain``.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ._catalogue import resolve_model
from ._controls import read_controls
from ._media import AUDIO_FORMATS
from ._native_base import fractions
from ._native_media import (
    generate_pngs,
    image_url,
    send_raw,
    speech_body,
    speech_seconds,
    upload_seconds,
)
from ._schema import Field, check_fields, read_body
from ._transcripts import TRANSCRIPT_FORMATS, transcribe
from ._uploads import FormError, Upload
from ._wire import (
    check_body,
    json_response,
    model_not_found,
    problem,
    unsupported_model,
    validation_error,
)

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["DEFAULT_IMAGE_MODEL", "image_generations", "speech", "transcriptions", "translations"]

#: The model ``images/generations`` uses when the body names none (as the docs say).
DEFAULT_IMAGE_MODEL: Final = "black-forest-labs/FLUX-1-schnell"
_SIZE: Final = re.compile(r"(\d{1,5})x(\d{1,5})")
_MIN_SIDE: Final = 64
_MAX_SIDE: Final = 2048
_GRANULARITIES: Final = ("segment", "word")

_IMAGE_FIELDS: Final = (
    Field("model", "str"),
    Field("prompt", "str", required=True),
    Field("n", "int", low=1, high=4),
    Field("size", "str"),
    Field("response_format", "str", choices=("b64_json", "url")),
    Field("quality", "str"),
    Field("style", "str"),
    Field("user", "str"),
)
_SPEECH_FIELDS: Final = (
    Field("model", "str", required=True),
    Field("input", "str", required=True),
    Field("voice", "str"),
    Field("response_format", "str", choices=tuple(AUDIO_FORMATS)),
    Field("speed", "number", low=0.25, high=4),
    Field("extra_body", "dict"),
)
_TRANSCRIPTION_FIELDS: Final = (
    Field("file", "file", required=True),
    Field("model", "str", required=True),
    Field("language", "str"),
    Field("prompt", "str"),
    Field("response_format", "str", choices=TRANSCRIPT_FORMATS),
    Field("temperature", "number", low=0, high=1),
    Field("timestamp_granularities", "str_list"),
)

Problem = dict[str, Any]


def _size(body: Mapping[str, Any]) -> tuple[tuple[int, int], list[Problem]]:
    text = body.get("size") or "1024x1024"
    match = _SIZE.fullmatch(text) if isinstance(text, str) else None
    if match is not None:
        width, height = int(match[1]), int(match[2])
        if min(width, height) >= _MIN_SIDE and max(width, height) <= _MAX_SIDE:
            return (width, height), []
    msg = f"size must be 'WIDTHxHEIGHT' with sides from {_MIN_SIDE} to {_MAX_SIDE}"
    return (0, 0), [problem(["size"], msg, "value_error")]


def _model(emu: Emulator, name: str, task: str, what: str) -> str | web.Response:
    model = resolve_model(emu.models, name)
    if model is None:
        return model_not_found(name)
    if emu.models[model] != task:
        return unsupported_model(model, what)
    return model


async def image_generations(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/images/generations``: generate PNGs, as base64 or as URLs.

    Args:
        emu: The emulator.
        request: The request.
        body: Its decoded JSON body.

    Returns:
        The JSON response.
    """
    if not isinstance(body, dict):
        return validation_error(check_body(body))
    controls, problems = read_controls(body)
    problems += check_fields(body, _IMAGE_FIELDS)
    (width, height), found = _size(body)
    problems += found
    if problems:
        return validation_error(problems)
    model = _model(emu, body.get("model") or DEFAULT_IMAGE_MODEL, "text-to-image", "images")
    if isinstance(model, web.Response):
        return model
    prompt: str = body["prompt"]
    count: int = body.get("n") or 1
    seed = int(fractions(emu.seed, model, prompt)[0] * 2**31)
    pngs = generate_pngs(emu, model, prompt, count, width, height, seed)
    as_url = body.get("response_format") == "url" or controls.image_urls
    data = [
        {
            "b64_json": None if as_url else base64.b64encode(png).decode("ascii"),
            "url": image_url(emu, png) if as_url else None,
            "revised_prompt": None,
        }
        for png in pngs
    ]
    return json_response({"created": int(time.time()), "data": data})


async def speech(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/audio/speech``: synthesise audio, sent raw in chunks.

    The body's size follows the input's length (50 ms of audio per character), or is
    exactly ``"emulator": {"audio_bytes": N}``.

    Args:
        emu: The emulator.
        request: The request.
        body: Its decoded JSON body.

    Returns:
        The response, already sent.
    """
    if not isinstance(body, dict):
        return validation_error(check_body(body))
    controls, problems = read_controls(body)
    problems += check_fields(body, _SPEECH_FIELDS)
    if problems:
        return validation_error(problems)
    model = _model(emu, body["model"], "text-to-speech", "speech")
    if isinstance(model, web.Response):
        return model
    seconds = speech_seconds(body["input"], body.get("speed") or 1.0)
    raw = speech_body(body.get("response_format") or "wav", seconds, controls)
    return await send_raw(request, raw)


def _check_granularities(body: Mapping[str, Any]) -> list[Problem]:
    values = body.get("timestamp_granularities")
    if not isinstance(values, list):
        return []
    return [
        problem(["timestamp_granularities", i], "Input should be 'segment' or 'word'", "enum")
        for i, value in enumerate(values)
        if value not in _GRANULARITIES
    ]


async def _transcribe(
    emu: Emulator, request: web.Request, json_body: Any, task: str
) -> web.StreamResponse:
    try:
        body, problems = await read_body(request, json_body, _TRANSCRIPTION_FIELDS, emu.uploads)
    except FormError as exc:
        return exc.response
    if not problems:
        problems = check_fields(body, _TRANSCRIPTION_FIELDS) + _check_granularities(body)
    if problems:
        return validation_error(problems)
    model = _model(emu, body["model"], "automatic-speech-recognition", "speech recognition")
    if isinstance(model, web.Response):
        return model
    audio: Upload = body["file"]
    language = body.get("language") if task == "transcribe" else None
    transcript = transcribe(emu.seed, audio.digest, upload_seconds(audio), language, task)
    fmt = body.get("response_format") or "json"
    if fmt == "json":
        return json_response({"text": transcript.text})
    if fmt == "verbose_json":
        asked = body.get("timestamp_granularities") if task == "transcribe" else None
        return json_response(transcript.verbose(asked or []))
    return web.Response(text=transcript.subtitles(fmt), content_type="text/plain")


async def transcriptions(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/audio/transcriptions``: transcribe an uploaded audio file.

    Args:
        emu: The emulator.
        request: The request (multipart, read here).
        body: Its decoded JSON body, or ``None``.

    Returns:
        The transcript in the requested ``response_format``.
    """
    return await _transcribe(emu, request, body, "transcribe")


async def translations(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/audio/translations``: translate an uploaded audio file to English.

    ``language`` and ``timestamp_granularities[]`` are ignored, as the route has neither.

    Args:
        emu: The emulator.
        request: The request (multipart, read here).
        body: Its decoded JSON body, or ``None``.

    Returns:
        The English transcript in the requested ``response_format``.
    """
    return await _transcribe(emu, request, body, "translate")
