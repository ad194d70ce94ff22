"""Deterministic media for the emulator: PNG images, audio bodies, and header sniffing.

Images are valid RGB PNGs of the requested size, drawn as bands of two colours picked from
a digest, so they compress to a few kilobytes whatever their size. Audio is 24 kHz mono
16-bit: WAV and raw PCM carry a steady tone; MP3 is a run of silent MPEG-1 Layer III frames;
Opus and FLAC bodies start with their container's magic bytes but are filler after that
(clients can test reading and saving them, not decoding them). Audio of any size is produced
in chunks, so a body of gigabytes costs no memory.

Generated images served by URL live in an `ImageStore`, which keeps the latest ones only.
"""

from __future__ import annotations

import functools
import math
import struct
import sys
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from typing import Final

__all__ = [
    "AUDIO_FORMATS",
    "SAMPLE_RATE",
    "ImageStore",
    "audio_chunks",
    "audio_content_type",
    "audio_seconds",
    "audio_size",
    "png_image",
    "png_size",
]

#: Audio formats the speech routes answer, with their content types.
AUDIO_FORMATS: Final = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
#: Sample rate of generated audio.
SAMPLE_RATE: Final = 24000

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_WAV_HEADER: Final = 44
_CHUNK: Final = 64 << 10
# MPEG-1 Layer III, 128 kbit/s, 48 kHz, mono, no CRC: 384-byte frames of 24 ms.
_MP3_FRAME: Final = b"\xff\xfb\x94\xc0" + bytes(380)
_MP3_FRAME_SECONDS: Final = 0.024
# Compressed formats other than MP3 are sized as 128 kbit/s.
_COMPRESSED_RATE: Final = 16000
_BANDS: Final = 8
_MAX_IMAGES: Final = 256


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@functools.lru_cache(maxsize=64)
def png_image(width: int, height: int, colours: bytes) -> bytes:
    """Draw a PNG of horizontal bands in two colours.

    Args:
        width: Width in pixels (at least 1).
        height: Height in pixels (at least 1).
        colours: At least 6 bytes: the RGB of the first and of the second colour.

    Returns:
        The PNG file.
    """
    rows = (b"\x00" + colours[0:3] * width, b"\x00" + colours[3:6] * width)
    band = max(height // _BANDS, 1)
    raw = b"".join(rows[(y // band) % 2] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def png_size(head: bytes) -> tuple[int, int] | None:
    """Read the width and height from the first bytes of a PNG file.

    Args:
        head: At least the first 24 bytes of a file.

    Returns:
        ``(width, height)``, or ``None`` when ``head`` is not the start of a PNG.
    """
    if len(head) < 24 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def audio_seconds(head: bytes, size: int) -> float:
    """Estimate the duration of an audio file from its header and size.

    A WAV header gives the exact byte rate; any other file counts as 128 kbit/s.

    Args:
        head: The file's first bytes.
        size: Its size in bytes.

    Returns:
        The duration in seconds.
    """
    if len(head) >= 32 and head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt ":
        byte_rate: int = struct.unpack("<I", head[28:32])[0]
        if byte_rate:
            return max(size - _WAV_HEADER, 0) / byte_rate
    return size / _COMPRESSED_RATE


def audio_content_type(fmt: str) -> str:
    """Return the content type of an audio format of `AUDIO_FORMATS`."""
    return AUDIO_FORMATS[fmt]


def audio_size(fmt: str, seconds: float) -> int:
    """Return the body size of ``seconds`` of audio in a format.

    Args:
        fmt: A key of `AUDIO_FORMATS`.
        seconds: The duration.

    Returns:
        The size in bytes.
    """
    if fmt == "mp3":
        return math.ceil(seconds / _MP3_FRAME_SECONDS) * len(_MP3_FRAME)
    samples = round(seconds * SAMPLE_RATE)
    if fmt == "wav":
        return _WAV_HEADER + 2 * samples
    if fmt == "pcm":
        return 2 * samples
    return max(round(seconds * _COMPRESSED_RATE), 64)


@functools.cache
def _tone_block() -> bytes:
    # 64 KiB of a 375 Hz sine (64 samples per period), so blocks join without a click.
    period = array("h", (round(8000 * math.sin(2 * math.pi * i / 64)) for i in range(64)))
    if sys.byteorder == "big":
        period.byteswap()
    return period.tobytes() * (_CHUNK // 128)


def _wav_header(data_size: int) -> bytes:
    return b"RIFF" + struct.pack(
        "<I4s4sIHHIIHH4sI",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        SAMPLE_RATE,
        2 * SAMPLE_RATE,
        2,
        16,
        b"data",
        data_size,
    )


def _prefix(fmt: str, total: int) -> tuple[bytes, bytes]:
    """Return the header of a body and the block that fills the rest of it."""
    if fmt == "wav":
        return _wav_header(max(total - _WAV_HEADER, 0)), _tone_block()
    if fmt == "pcm":
        return b"", _tone_block()
    if fmt == "mp3":
        return b"", _MP3_FRAME * (_CHUNK // len(_MP3_FRAME))
    if fmt == "opus":
        return b"OggS\x00\x02" + bytes(22) + b"OpusHead", bytes(_CHUNK)
    return b"fLaC\x00\x00\x00\x22", bytes(_CHUNK)


def audio_chunks(fmt: str, total: int) -> Iterator[bytes]:
    """Produce an audio body of exactly ``total`` bytes, in chunks of at most 64 KiB.

    Args:
        fmt: A key of `AUDIO_FORMATS`.
        total: The body size in bytes.

    Yields:
        The body's chunks, in order.
    """
    header, block = _prefix(fmt, total)
    header = header[:total]
    if header:
        yield header
    left = total - len(header)
    while left > 0:
        piece = block[: min(left, len(block))]
        yield piece
        left -= len(piece)


class ImageStore:
    """The generated images the emulator serves at ``GET /v1/images/{id}``.

    Only the latest 256 are kept; older ids answer 404, as expired images do.
    """

    __slots__ = ("_images",)

    def __init__(self) -> None:
        self._images: OrderedDict[str, bytes] = OrderedDict()

    def put(self, image_id: str, data: bytes) -> None:
        """Keep an image under an id, dropping the oldest beyond the limit."""
        self._images[image_id] = data
        while len(self._images) > _MAX_IMAGES:
            self._images.popitem(last=False)

    def get(self, image_id: str) -> bytes | None:
        """Return an image by id, or ``None`` when it is unknown or expired."""
        return self._images.get(image_id)

    def __len__(self) -> int:
        return len(self._images)
