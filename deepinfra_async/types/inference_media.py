"""Native inference results with media: text to image, speech recognition, text to speech.

Images and audio come back as data URLs (``data:image/png;base64,...``) or plain URLs;
:func:`parse_data_url` decodes the former, and the endpoints build
:class:`TextToImageResult` and :class:`TextToSpeechResult` from the decoded bytes.
:class:`SpeechRecognitionResult` is structured from the response by the converter.
"""

import base64
import binascii
from urllib.parse import unquote, unquote_to_bytes

import attrs

from .inference import InferenceStatus

__all__ = [
    "GeneratedImage",
    "Segment",
    "SpeechRecognitionResult",
    "TextToImageResult",
    "TextToSpeechResult",
    "Word",
    "is_data_url",
    "parse_data_url",
]

# -- Data URLs ----------------------------------------------------------------------------

_BASE64 = ";base64"


def _preview(value: str) -> str:
    # A data URL can be megabytes long: show its start only.
    return repr(value if len(value) <= 40 else value[:40] + "...")


def is_data_url(value: str) -> bool:
    """Whether ``value`` is a data URL (it starts with ``data:``, in any case).

    Args:
        value: A value of an ``images`` or ``audio`` field.

    Returns:
        ``True`` for a data URL, ``False`` for anything else (an ``https://`` URL...).

    .. versionadded:: 0.1.0
    """
    return value[:5].lower() == "data:"


def parse_data_url(value: str) -> tuple[bytes, str]:
    """Decode a data URL (RFC 2397): ``data:<media type>[;base64],<payload>``.

    The payload is base64 (missing ``=`` padding is tolerated) or percent-encoded. A URL
    without a media type is ``text/plain;charset=US-ASCII``, as the RFC says.

    Args:
        value: The data URL, e.g. ``"data:image/png;base64,iVBORw0..."``.

    Returns:
        The decoded bytes and the media type with its parameters (``"image/png"``,
        ``"text/plain;charset=utf-8"``), without ``;base64``.

    Raises:
        ValueError: ``value`` is not a data URL, has no ``,`` before the payload, names a
            media type without ``/``, or carries invalid base64.

    .. versionadded:: 0.1.0
    """
    if not is_data_url(value):
        msg = f"expected a data URL ('data:<media type>[;base64],<payload>'), got {_preview(value)}"
        raise ValueError(msg)
    header, comma, payload = value[5:].partition(",")
    if not comma:
        msg = f"a data URL needs a ',' before its payload, got {_preview(value)}"
        raise ValueError(msg)
    encoded = header[-len(_BASE64) :].lower() == _BASE64
    media_type = (header[: -len(_BASE64)] if encoded else header).strip()
    if not media_type:
        media_type = "text/plain;charset=US-ASCII"
    elif media_type[0] == ";":
        media_type = "text/plain" + media_type
    elif "/" not in media_type.partition(";")[0]:
        msg = f"the media type of a data URL must be 'type/subtype', got {media_type!r}"
        raise ValueError(msg)
    if not encoded:
        return unquote_to_bytes(payload), media_type
    if "%" in payload:
        payload = unquote(payload)
    if len(payload) % 4:
        payload += "=" * (-len(payload) % 4)
    try:
        data = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        msg = f"the base64 payload of a data URL is invalid ({exc}): {_preview(value)}"
        raise ValueError(msg) from exc
    return data, media_type


# -- Text to image ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class GeneratedImage:
    """One image made by a text-to-image model.

    Attributes:
        data: The image file's bytes.
        content_type: Its media type (``"image/png"``...), when known.
        url: Where it was downloaded from, when the server sent a URL rather than the
            image itself.

    .. versionadded:: 0.1.0
    """

    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    content_type: str | None = None
    url: str | None = None


@attrs.frozen(kw_only=True)
class TextToImageResult:
    """The answer of a native text-to-image model, its images decoded.

    Attributes:
        images: The images, in the order the server listed them.
        nsfw_content_detected: Per image, whether the safety checker flagged it.
        seed: The seed used, to reproduce the result.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    images: list[GeneratedImage]
    nsfw_content_detected: list[bool] | None = None
    seed: int | None = None
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


# -- Speech recognition -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Word:
    """One recognised word with its timing (requested with ``chunk_level="word"``).

    Attributes:
        text: The word.
        start: Where it starts in the audio, in seconds.
        end: Where it ends, in seconds.
        confidence: How sure the model is, when reported.

    .. versionadded:: 0.1.0
    """

    text: str
    start: float
    end: float
    confidence: float | None = None


@attrs.frozen(kw_only=True)
class Segment:
    """A stretch of recognised speech, as Whisper reports it.

    Attributes:
        id: The segment's position.
        seek: The offset of the audio window it was decoded from, in frames.
        start: Where it starts in the audio, in seconds.
        end: Where it ends, in seconds.
        text: The recognised text.
        tokens: The token ids of ``text``.
        temperature: The sampling temperature used for it.
        avg_logprob: The mean log probability of its tokens.
        compression_ratio: The gzip compression ratio of ``text`` (high means repetitive).
        no_speech_prob: The probability that the stretch holds no speech.
        confidence: How sure the model is, when reported.
        words: Its words with their timing, when requested.

    .. versionadded:: 0.1.0
    """

    id: int | None = None
    seek: int | None = None
    start: float
    end: float
    text: str
    tokens: list[int] | None = None
    temperature: float | None = None
    avg_logprob: float | None = None
    compression_ratio: float | None = None
    no_speech_prob: float | None = None
    confidence: float | None = None
    words: list[Word] | None = None


@attrs.frozen(kw_only=True)
class SpeechRecognitionResult:
    """The answer of a native speech recognition model (Whisper).

    Attributes:
        text: The whole transcript.
        segments: The transcript in timed stretches.
        language: The spoken language, as the model names it.
        input_length_ms: The length of the audio, in milliseconds.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    text: str
    segments: list[Segment] = attrs.field(factory=list)
    language: str | None = None
    input_length_ms: int | None = None
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)

    @property
    def words(self) -> list[Word]:
        """Every segment's words, in order (empty unless word timings were requested)."""
        return [word for segment in self.segments if segment.words for word in segment.words]


# -- Text to speech -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TextToSpeechResult:
    """The answer of a native text-to-speech model, its audio decoded.

    Attributes:
        audio: The audio file's bytes.
        content_type: Its media type (``"audio/wav"``...).
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire), when the
            server answered with JSON rather than the audio itself.

    .. versionadded:: 0.1.0
    """

    audio: bytes = attrs.field(repr=lambda audio: f"<{len(audio)} bytes>")
    content_type: str
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)
