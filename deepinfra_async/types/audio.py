"""Speech to text (``POST /audio/transcriptions`` and ``/audio/translations``), OpenAI-compatible.

With ``response_format="json"`` only ``text`` is set; ``"verbose_json"`` adds the task,
language, duration, segments and (with ``timestamp_granularities=["word"]``) words. The
plain-text formats (``text``, ``srt``, ``vtt``) are not JSON and have no type here.
"""

import attrs

__all__ = ["Transcription", "TranscriptionSegment", "TranscriptionWord"]


@attrs.frozen(kw_only=True)
class TranscriptionWord:
    """One word of the transcript with its timing.

    Attributes:
        word: The word.
        start: Where it starts in the audio, in seconds.
        end: Where it ends, in seconds.

    .. versionadded:: 0.1.0
    """

    word: str
    start: float
    end: float


@attrs.frozen(kw_only=True)
class TranscriptionSegment:
    """A stretch of the transcript with its timing and decoding statistics.

    Attributes:
        id: The segment's position.
        seek: The offset of the audio window it was decoded from, in frames.
        start: Where it starts in the audio, in seconds.
        end: Where it ends, in seconds.
        text: The transcribed text.
        tokens: The token ids of ``text``.
        temperature: The sampling temperature used for it.
        avg_logprob: The mean log probability of its tokens.
        compression_ratio: The gzip compression ratio of ``text`` (high means repetitive).
        no_speech_prob: The probability that the stretch holds no speech.

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


@attrs.frozen(kw_only=True)
class Transcription:
    """The answer to a transcription or translation request (JSON response formats).

    Attributes:
        text: The whole transcript (in English for a translation).
        task: ``"transcribe"`` or ``"translate"`` (``verbose_json`` only).
        language: The spoken language, as a full English name such as ``"english"``
            (``verbose_json`` only).
        duration: The length of the audio, in seconds (``verbose_json`` only).
        segments: The transcript in timed stretches (``verbose_json`` only).
        words: The words with their timing (``verbose_json`` with word timestamps).
        request_id: DeepInfra's id for the request, when known.

    .. versionadded:: 0.1.0
    """

    text: str
    task: str | None = None
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] | None = None
    words: list[TranscriptionWord] | None = None
    request_id: str | None = None
