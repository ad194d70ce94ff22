"""Deterministic Whisper-style transcripts, in the native and the OpenAI-compatible shapes.

The words depend on the emulator seed and the audio's SHA-256 only, so the same file gives
the same text on every route. There are about 2.5 words per second of audio, evenly spaced,
grouped into segments of at most 12 words; every segment is one capitalised sentence.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import attrs

from ._text import VOCABULARY, WordStream, seed_material

__all__ = ["TRANSCRIPT_FORMATS", "Transcript", "transcribe"]

#: The ``response_format`` values of the OpenAI-compatible transcription routes.
TRANSCRIPT_FORMATS: Final = ("json", "verbose_json", "text", "srt", "vtt")

_WORDS_PER_SECOND: Final = 2.5
_MAX_WORDS: Final = 400
_SEGMENT_WORDS: Final = 12
_TOKEN_BASE: Final = 1000
_LANGUAGES: Final = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "ja": "japanese",
    "zh": "chinese",
}


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


@attrs.frozen
class Transcript:
    """A generated transcript: words with their timing, and per-segment scores.

    Attributes:
        words: The words, lower case as generated.
        seconds: The audio duration.
        language: The ISO-639-1 language reported.
        task: ``"transcribe"`` or ``"translate"``.
        scores: Bytes that pick each segment's log probability and ratios.
    """

    words: tuple[str, ...]
    seconds: float
    language: str
    task: str
    scores: bytes

    def _bounds(self, index: int) -> tuple[float, float]:
        step = self.seconds / len(self.words) if self.words else 0.0
        return round(index * step, 2), round((index + 1) * step, 2)

    def _groups(self) -> list[range]:
        n = len(self.words)
        return [range(i, min(i + _SEGMENT_WORDS, n)) for i in range(0, n, _SEGMENT_WORDS)]

    def _sentence(self, group: range) -> str:
        words = [self.words[i] for i in group]
        return (" ".join(words).capitalize() + ".") if words else ""

    @property
    def text(self) -> str:
        """The whole transcript: the segments' sentences joined by spaces."""
        return " ".join(self._sentence(group) for group in self._groups())

    def _segment(self, number: int, group: range) -> dict[str, Any]:
        start = self._bounds(group[0])[0]
        end = self._bounds(group[-1])[1]
        score = self.scores[number % len(self.scores)]
        return {
            "id": number,
            "seek": round(start * 100),
            "start": start,
            "end": end,
            "text": " " + self._sentence(group),
            "tokens": [_TOKEN_BASE + VOCABULARY.index(self.words[i]) for i in group],
            "temperature": 0.0,
            "avg_logprob": round(-0.1 - score / 640, 4),
            "compression_ratio": round(1.2 + score / 640, 4),
            "no_speech_prob": round(0.001 + score / 25600, 4),
        }

    def _word_timings(self, group: range, key: str) -> list[dict[str, Any]]:
        timed = []
        for i in group:
            start, end = self._bounds(i)
            word = {key: self.words[i], "start": start, "end": end}
            if key == "text":
                word["confidence"] = round(0.8 + self.scores[i % len(self.scores)] / 1280, 4)
            timed.append(word)
        return timed

    def native(self) -> dict[str, Any]:
        """Return the native output.

        Returns:
            ``{"text", "segments" (each with "words"), "language", "input_length_ms"}``.
        """
        segments = []
        for number, group in enumerate(self._groups()):
            segment = self._segment(number, group)
            segment["words"] = self._word_timings(group, "text")
            segments.append(segment)
        return {
            "text": self.text,
            "segments": segments,
            "language": self.language,
            "input_length_ms": round(self.seconds * 1000),
        }

    def verbose(self, granularities: list[str]) -> dict[str, Any]:
        """Return OpenAI's ``verbose_json`` body.

        Args:
            granularities: The ``timestamp_granularities[]`` sent: segments are listed
                unless only ``"word"`` was asked for, words only when ``"word"`` was.

        Returns:
            ``{"task", "language" (a full English name), "duration", "text", ...}``.
        """
        body: dict[str, Any] = {
            "task": self.task,
            "language": _LANGUAGES.get(self.language, self.language),
            "duration": round(self.seconds, 2),
            "text": self.text,
        }
        groups = self._groups()
        if not granularities or "segment" in granularities:
            body["segments"] = [self._segment(n, group) for n, group in enumerate(groups)]
        if "word" in granularities:
            body["words"] = [word for group in groups for word in self._word_timings(group, "word")]
        return body

    def subtitles(self, fmt: str) -> str:
        """Return the transcript as ``"text"``, ``"srt"`` or ``"vtt"``.

        Args:
            fmt: The format.

        Returns:
            The plain-text body.
        """
        if fmt == "text":
            return self.text + "\n"
        separator = "," if fmt == "srt" else "."
        blocks = []
        for number, group in enumerate(self._groups()):
            start = _clock(self._bounds(group[0])[0], separator)
            end = _clock(self._bounds(group[-1])[1], separator)
            counter = f"{number + 1}\n" if fmt == "srt" else ""
            blocks.append(f"{counter}{start} --> {end}\n{self._sentence(group)}\n\n")
        header = "WEBVTT\n\n" if fmt == "vtt" else ""
        return header + "".join(blocks)


def transcribe(
    seed: int, digest: bytes, seconds: float, language: str | None, task: str
) -> Transcript:
    """Generate the transcript of an audio file.

    Args:
        seed: The emulator seed.
        digest: The audio's SHA-256.
        seconds: The audio duration.
        language: The language asked for, or ``None`` to report English.
        task: ``"transcribe"`` or ``"translate"`` (which always reports English).

    Returns:
        The transcript.
    """
    count = min(max(round(seconds * _WORDS_PER_SECOND), 1), _MAX_WORDS)
    words = tuple(WordStream(seed_material(seed, digest, 0)).take(count).split(" "))
    reported = "en" if task == "translate" or not language else language
    scores = hashlib.blake2b(b"scores" + digest, digest_size=32).digest()
    return Transcript(words, seconds, reported, task, scores)
