"""Native media tasks (text to image, speech recognition, text to speech) and their helpers.

The helpers are shared with the OpenAI-compatible media routes: `generate_pngs` draws the
images of a request, `image_url` stores one for ``GET /v1/images/{id}``, `speech_body`
sizes and produces a speech body, and `upload_seconds` estimates an audio upload's length.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ._catalogue import model_info, unit_cost
from ._controls import Controls
from ._media import AUDIO_FORMATS, audio_chunks, audio_seconds, audio_size, png_image
from ._native_base import NativeCall, NativeTask, Outcome, RawBody, fractions, runtime_ms
from ._schema import Field
from ._transcripts import transcribe
from ._uploads import Upload
from ._wire import problem

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = [
    "MEDIA_TASKS",
    "generate_pngs",
    "image_url",
    "send_raw",
    "speech_body",
    "speech_seconds",
    "upload_seconds",
]

_SECONDS_PER_CHARACTER: Final = 0.05
_MIN_SPEECH: Final = 0.1
# A URL stands for a remote file the emulator never fetches: it gets a length from its text.
_URL_SECONDS: Final = (5, 26)

Problem = dict[str, Any]


def generate_pngs(
    emu: Emulator, model: str, prompt: str, count: int, width: int, height: int, seed: int
) -> list[bytes]:
    """Draw the images of a text-to-image request.

    Args:
        emu: The emulator (for its seed).
        model: The registry id.
        prompt: The prompt.
        count: How many images.
        width: Their width.
        height: Their height.
        seed: The request's seed.

    Returns:
        One PNG per image; equal arguments give equal images.
    """
    images = []
    for index in range(count):
        key = f"{emu.seed}|{model}|{prompt}|{seed}|{index}".encode(errors="surrogatepass")
        colours = hashlib.blake2b(key, digest_size=6).digest()
        images.append(png_image(width, height, colours))
    return images


def image_url(emu: Emulator, png: bytes) -> str:
    """Store an image and return the URL that serves it without auth."""
    image_id = emu._new_id("img-")
    emu._images.put(image_id, png)
    return f"{emu.url}/v1/images/{image_id}"


def upload_seconds(upload: Upload) -> float:
    """Return the duration of an audio upload (a URL gets one from its text)."""
    if upload.url is not None:
        low, high = _URL_SECONDS
        return float(low + upload.digest[0] % (high - low))
    return audio_seconds(upload.head, upload.record.size)


def speech_seconds(text: str, speed: float) -> float:
    """Return how long the speech of a text lasts: 50 ms per character at speed 1."""
    return max(_SECONDS_PER_CHARACTER * len(text), _MIN_SPEECH) / speed


def speech_body(fmt: str, seconds: float, controls: Controls) -> RawBody:
    """Describe a speech body: its content type, size and chunks.

    Args:
        fmt: A key of `._media.AUDIO_FORMATS`.
        seconds: The speech duration.
        controls: The request's controls (``audio_bytes`` sets the size).

    Returns:
        The body.
    """
    size = controls.audio_bytes
    if size is None:
        size = audio_size(fmt, seconds)
    total = size
    return RawBody(AUDIO_FORMATS[fmt], total, lambda: audio_chunks(fmt, total))


async def send_raw(request: web.Request, raw: RawBody) -> web.StreamResponse:
    """Send a raw body in chunks, with its ``Content-Length``.

    Args:
        request: The request to answer.
        raw: The body.

    Returns:
        The response, already sent (or abandoned when the client left).
    """
    response = web.StreamResponse(headers={"Content-Type": raw.content_type})
    response.content_length = raw.size
    try:
        await response.prepare(request)
        for chunk in raw.chunks():
            await response.write(chunk)
        await response.write_eof()
    except ConnectionError:
        pass
    return response


# -- text to image ------------------------------------------------------------------------


def _text_to_image(call: NativeCall) -> Outcome:
    body, emu = call.body, call.emu
    size = model_info(call.model).default_size
    width: int = body.get("width") or size
    height: int = body.get("height") or size
    count: int = body.get("num_images") or 1
    prompt: str = body["prompt"]
    seed: int | None = body.get("seed")
    if seed is None:
        seed = int(fractions(emu.seed, call.model, prompt)[0] * 2**31)
    pngs = generate_pngs(emu, call.model, prompt, count, width, height, seed)
    if call.controls.image_urls:
        images = [image_url(emu, png) for png in pngs]
    else:
        images = [f"data:image/png;base64,{base64.b64encode(png).decode()}" for png in pngs]
    output = {"images": images, "nsfw_content_detected": [False] * count, "seed": seed}
    units = count * width * height / (size * size)
    steps: int = body.get("num_inference_steps") or 4
    return Outcome(output, unit_cost(call.model, units), runtime_ms(150, 40 * count, steps))


# -- speech recognition and synthesis -----------------------------------------------------


def _speech_recognition(call: NativeCall) -> Outcome:
    body = call.body
    audio: Upload = body["audio"]
    seconds = upload_seconds(audio)
    transcript = transcribe(
        call.emu.seed, audio.digest, seconds, body.get("language"), body.get("task") or "transcribe"
    )
    output = transcript.native()
    return Outcome(output, unit_cost(call.model, seconds), runtime_ms(40, 25, seconds))


def _check_text(body: Mapping[str, Any]) -> list[Problem]:
    if body.get("text") == "":
        msg = "String should have at least 1 character"
        return [problem(["text"], msg, "string_too_short")]
    return []


def _text_to_speech(call: NativeCall) -> Outcome:
    body = call.body
    text: str = body["text"]
    seconds = speech_seconds(text, body.get("speed") or 1.0)
    raw = speech_body(body.get("output_format") or "wav", seconds, call.controls)
    runtime = runtime_ms(20, 2, len(text))
    cost = unit_cost(call.model, len(text))
    if model_info(call.model).speech_json:
        return Outcome({"audio": raw.data_url()}, cost, runtime)
    return Outcome({}, cost, runtime, raw=raw)


#: Native media tasks by name.
MEDIA_TASKS: Final[Mapping[str, NativeTask]] = {
    "text-to-image": NativeTask(
        (
            Field("prompt", "str", required=True),
            Field("negative_prompt", "str"),
            Field("image", "file"),
            Field("mask", "file"),
            Field("num_images", "int", low=1, high=4),
            Field("num_inference_steps", "int", low=1, high=100),
            Field("guidance_scale", "number", low=0, high=50),
            Field("strength", "number", low=0, high=1),
            Field("width", "int", low=128, high=2048),
            Field("height", "int", low=128, high=2048),
            Field("seed", "int", low=0, high=2**32 - 1),
            Field("use_compel", "bool"),
        ),
        _text_to_image,
    ),
    "automatic-speech-recognition": NativeTask(
        (
            Field("audio", "file", required=True),
            Field("task", "str", choices=("transcribe", "translate")),
            Field("language", "str"),
            Field("temperature", "number", low=0, high=1),
            Field("initial_prompt", "str"),
            Field("chunk_level", "str", choices=("segment", "word")),
            Field("chunk_length_s", "int", low=1, high=30),
        ),
        _speech_recognition,
    ),
    "text-to-speech": NativeTask(
        (
            Field("text", "str", required=True),
            Field("preset_voice", "str_or_list"),
            Field("voice", "str"),
            Field("output_format", "str", choices=tuple(AUDIO_FORMATS)),
            Field("speed", "number", low=0.25, high=4),
        ),
        _text_to_speech,
        check=_check_text,
    ),
}
