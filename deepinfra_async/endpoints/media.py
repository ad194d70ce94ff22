"""OpenAI-compatible media: ``client.images`` and ``client.audio``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, overload

from .._binary import BinaryResponse
from .._codec import FileInput, build_multipart, dumps
from .._config import Timeout
from ..types.audio import Transcription
from ..types.images import ImagesResponse
from ._base import Resource, check_model, merge_options, require_files, structure
from ._native import check_text

__all__ = ["Audio", "Images", "Speech", "Transcriptions", "Translations"]

_IMAGE_OPTIONS: Final = frozenset({"n", "size", "quality", "style", "user"})
_TEXT_FORMATS: Final = frozenset({"text", "srt", "vtt"})
_JSON_FORMATS: Final = frozenset({"json", "verbose_json"})


class Images(Resource):
    """``client.images``."""

    __slots__ = ()
    _path = "/images/generations"

    async def generate(
        self,
        *,
        model: str,
        prompt: str,
        n: int | None = None,
        size: str | None = None,
        response_format: Literal["b64_json", "url"] | None = None,
        quality: str | None = None,
        style: str | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> ImagesResponse:
        """Generate images (``POST /images/generations``); ``Image.decode()`` gives bytes.

        Args:
            model: Model id, e.g. ``"black-forest-labs/FLUX-1-schnell"``.
            prompt: What to draw.
            n: How many images (1-4).
            size: ``"WIDTHxHEIGHT"``.
            response_format: ``"b64_json"`` (default) or ``"url"`` (a temporary link).
            quality: Accepted for compatibility.
            style: Accepted for compatibility.
            user: End-user id.
            extra_body: Fields merged into the body last.
            extra_headers: Extra headers for this call.
            timeout: Timeouts for this call.

        Returns:
            The images.

        .. versionadded:: 0.1.0
        """
        if not check_text("prompt", prompt):
            msg = "prompt must not be empty"
            raise ValueError(msg)
        if response_format not in (None, "b64_json", "url"):
            msg = f"response_format must be 'b64_json' or 'url', got {response_format!r}"
            raise ValueError(msg)
        if size is not None and not all(
            p.isdigit() for p in check_text("size", size).split("x", 1)
        ):
            msg = f"size must look like '1024x1024', got {size!r}"
            raise ValueError(msg)
        body: dict[str, Any] = {"model": check_model(model), "prompt": prompt}
        if response_format is not None:
            # Checked above: here it is a string, not chat's response_format object.
            body["response_format"] = response_format
        merge_options(
            body,
            {"n": n, "size": size, "quality": quality, "style": style, "user": user},
            _IMAGE_OPTIONS,
            extra_body,
            "generate",
        )
        response = await self._send_json(
            "POST", self._url, body, model=model, extra_headers=extra_headers, timeout=timeout
        )
        return structure(
            ImagesResponse,
            self._decoded(response, model),
        )


class _AudioText(Resource):
    """Shared by transcriptions and translations: a multipart upload, a JSON or text answer."""

    __slots__ = ()

    async def _create(
        self,
        fields: list[tuple[str, object]],
        file: FileInput,
        model: str,
        response_format: str | None,
        extra_headers: Mapping[str, str] | None,
        timeout: Timeout | float | None,
    ) -> Transcription | str:
        if response_format is not None and response_format not in (_JSON_FORMATS | _TEXT_FORMATS):
            msg = (
                "response_format must be one of json, verbose_json, text, srt, vtt, "
                f"got {response_format!r}"
            )
            raise ValueError(msg)
        require_files([("file", file)])
        multipart = build_multipart(
            [("model", check_model(model)), *fields, ("response_format", response_format)],
            [("file", file)],
        )
        transport = self._ready()
        response = await transport.send(
            "POST",
            self._url,
            multipart=multipart,
            headers=extra_headers,
            model=model,
            timeout=self._timeout(timeout),
        )
        if response_format in _TEXT_FORMATS:
            return response.text()
        return structure(
            Transcription,
            self._decoded(response, model),
        )


class Transcriptions(_AudioText):
    """``client.audio.transcriptions``."""

    __slots__ = ()
    _path = "/audio/transcriptions"

    @overload
    async def create(
        self,
        *,
        file: FileInput,
        model: str,
        response_format: Literal["json", "verbose_json"] | None = None,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        timestamp_granularities: Sequence[Literal["word", "segment"]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> Transcription: ...

    @overload
    async def create(
        self,
        *,
        file: FileInput,
        model: str,
        response_format: Literal["text", "srt", "vtt"],
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        timestamp_granularities: Sequence[Literal["word", "segment"]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> str: ...

    async def create(
        self,
        *,
        file: FileInput,
        model: str,
        response_format: str | None = None,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        timestamp_granularities: Sequence[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> Transcription | str:
        """Transcribe audio (``POST /audio/transcriptions``, multipart).

        Args:
            file: The audio: bytes, a ``pathlib.Path`` (streamed from disk), a binary file,
                or ``(filename, file[, content_type])``.
            model: Model id, e.g. ``"openai/whisper-large-v3"``.
            response_format: ``json`` (default) or ``verbose_json`` give a
                :class:`Transcription`; ``text``, ``srt`` and ``vtt`` give a str.
            language: ISO-639-1 language of the audio.
            prompt: Text to guide the style or continue a previous segment.
            temperature: Sampling temperature.
            timestamp_granularities: ``"word"`` and/or ``"segment"`` (with ``verbose_json``).
            extra_headers: Extra headers for this call.
            timeout: Timeouts for this call.

        Returns:
            The transcription.

        .. versionadded:: 0.1.0
        """
        fields: list[tuple[str, object]] = [
            ("language", language),
            ("prompt", prompt),
            ("temperature", temperature),
        ]
        for granularity in timestamp_granularities or ():
            if granularity not in ("word", "segment"):
                msg = f"timestamp_granularities takes 'word' and 'segment', got {granularity!r}"
                raise ValueError(msg)
            fields.append(("timestamp_granularities[]", granularity))
        return await self._create(fields, file, model, response_format, extra_headers, timeout)


class Translations(_AudioText):
    """``client.audio.translations``: speech in any language to English text."""

    __slots__ = ()
    _path = "/audio/translations"

    @overload
    async def create(
        self,
        *,
        file: FileInput,
        model: str,
        response_format: Literal["json", "verbose_json"] | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> Transcription: ...

    @overload
    async def create(
        self,
        *,
        file: FileInput,
        model: str,
        response_format: Literal["text", "srt", "vtt"],
        prompt: str | None = None,
        temperature: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> str: ...

    async def create(
        self,
        *,
        file: FileInput,
        model: str,
        response_format: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> Transcription | str:
        """Translate speech to English (``POST /audio/translations``); arguments as above.

        .. versionadded:: 0.1.0
        """
        fields: list[tuple[str, object]] = [("prompt", prompt), ("temperature", temperature)]
        return await self._create(fields, file, model, response_format, extra_headers, timeout)


class Speech(Resource):
    """``client.audio.speech``."""

    __slots__ = ()
    _path = "/audio/speech"

    async def create(
        self,
        *,
        model: str,
        input: str,
        voice: str | None = None,
        response_format: Literal["mp3", "opus", "flac", "wav", "pcm"] | None = None,
        speed: float | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> BinaryResponse:
        """Synthesise speech (``POST /audio/speech``); the audio is read on demand.

        Args:
            model: Model id, e.g. ``"hexgrad/Kokoro-82M"``.
            input: The text to speak.
            voice: A voice of the model, e.g. ``"af_bella"``.
            response_format: ``mp3``, ``opus``, ``flac``, ``wav`` (default) or ``pcm``.
            speed: 0.25 to 4.
            extra_body: Fields merged into the body last.
            extra_headers: Extra headers for this call.
            timeout: Timeouts for this call.

        Returns:
            The audio: ``await .read()``, ``.iter_bytes()`` or ``await .write_to(path)``.

        .. versionadded:: 0.1.0
        """
        if not check_text("input", input):
            msg = "input must not be empty"
            raise ValueError(msg)
        if response_format not in (None, "mp3", "opus", "flac", "wav", "pcm"):
            msg = f"response_format must be mp3, opus, flac, wav or pcm, got {response_format!r}"
            raise ValueError(msg)
        body: dict[str, Any] = {"model": check_model(model), "input": input}
        if response_format is not None:
            body["response_format"] = response_format
        merge_options(
            body,
            {"voice": voice, "speed": speed},
            frozenset({"voice", "speed"}),
            extra_body,
            "create",
        )
        transport = self._ready()
        response = await transport.stream(
            "POST",
            self._url,
            body=dumps(body),
            headers=extra_headers,
            model=model,
            timeout=self._timeout(timeout),
        )
        return BinaryResponse(response)


class Audio:
    """``client.audio``: ``transcriptions``, ``translations`` and ``speech``."""

    __slots__ = ("speech", "transcriptions", "translations")

    def __init__(
        self, transcriptions: Transcriptions, translations: Translations, speech: Speech
    ) -> None:
        self.transcriptions = transcriptions
        self.translations = translations
        self.speech = speech
