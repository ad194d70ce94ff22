"""Deterministic text for the emulator: seeded words, word counts and identifiers.

Everything here is pure and reproducible across processes and Python versions: seeds are
derived with BLAKE2b from canonical JSON, and `random.Random` seeded with bytes does not
depend on ``PYTHONHASHSEED``. One generated word counts as one token.

Generated text is a sequence of four-word phrases. A seeded generator draws 16-bit values
(in whole 32-bit words, so the sequence does not depend on how it is split into draws) and
each value picks one of 65,536 fixed phrases. Joining whole phrases costs one lookup per
four words, which lets the emulator stream hundreds of megabytes per second.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import string
import sys
from array import array
from collections.abc import Iterable, Iterator
from typing import Any, Final

__all__ = [
    "DEFAULT_COMPLETION_TOKENS",
    "VOCABULARY",
    "WordStream",
    "count_words",
    "generate_tokens",
    "random_id",
    "request_digest",
    "seed_material",
    "text_pieces",
    "word_pieces",
]

#: How many words a completion has when the request does not ask for fewer.
DEFAULT_COMPLETION_TOKENS: Final = 16

#: The fixed vocabulary generated text is drawn from: 64 plain ASCII words, so generated
#: text never needs escaping in JSON.
VOCABULARY: Final[tuple[str, ...]] = (
    "the", "a", "model", "answer", "is", "quick", "brown", "fox", "jumps", "over",
    "lazy", "dog", "river", "stone", "light", "shadow", "garden", "winter", "summer", "bread",
    "lamb", "slowly", "roasted", "with", "garlic", "and", "rosemary", "then", "served", "warm",
    "token", "stream", "server", "request", "async", "client", "latency", "budget", "cloud", "tea",
    "blue", "green", "small", "large", "early", "late", "north", "south", "paper", "signal",
    "orbit", "planet", "music", "quiet", "bright", "simple", "careful", "steady", "open", "clear",
    "hello", "world", "again", "today",
)  # fmt: skip

_ID_ALPHABET: Final = string.ascii_letters + string.digits
_PHRASE_WORDS: Final = 4
_PHRASE_COUNT: Final = 1 << 16
# Values are drawn in blocks of this many bytes (a multiple of 4, see the module docstring).
_DRAW_BYTES: Final = 1 << 14


@functools.cache
def _phrases() -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """Return the phrase table: the words of each phrase and the phrase as text."""
    rng = random.Random(b"deepinfra_async.testing phrases")
    words: list[tuple[str, ...]] = []
    for _ in range(_PHRASE_COUNT):
        bits = rng.getrandbits(6 * _PHRASE_WORDS)
        words.append(tuple(VOCABULARY[(bits >> (6 * k)) & 63] for k in range(_PHRASE_WORDS)))
    return tuple(words), tuple(" ".join(phrase) for phrase in words)


class WordStream:
    """A lazily generated, seeded sequence of words.

    However the words are taken (one call for everything, or many small calls), the
    sequence is the same, so a streamed completion equals the non-streamed one and a
    completion cut short is a prefix of the full one.

    Args:
        material: Seed bytes, usually from `seed_material`.
    """

    __slots__ = ("_left", "_pos", "_rng", "_values")

    def __init__(self, material: bytes) -> None:
        self._rng = random.Random(material)
        self._values: array[int] = array("H")
        self._pos = 0
        # Words of the last phrase that a previous `take` did not use.
        self._left: tuple[str, ...] = ()

    def _draw(self, count: int) -> array[int]:
        available = len(self._values) - self._pos
        if available < count:
            size = max(2 * (count - available), _DRAW_BYTES)
            size += -size % 4
            fresh = array("H", self._rng.randbytes(size))
            if sys.byteorder == "big":
                fresh.byteswap()
            self._values = self._values[self._pos :] + fresh
            self._pos = 0
        start = self._pos
        self._pos += count
        return self._values[start : self._pos]

    def take(self, n: int) -> str:
        """Return the next ``n`` words joined by single spaces.

        Args:
            n: How many words to take (zero or less gives ``""``).

        Returns:
            The words, without leading or trailing space.
        """
        if n <= 0:
            return ""
        words, texts = _phrases()
        parts: list[str] = []
        left = self._left
        if left:
            if n <= len(left):
                self._left = left[n:]
                return " ".join(left[:n])
            parts.append(" ".join(left))
            n -= len(left)
            self._left = ()
        full, rest = divmod(n, _PHRASE_WORDS)
        if full:
            parts.append(" ".join([texts[value] for value in self._draw(full)]))
        if rest:
            phrase = words[self._draw(1)[0]]
            parts.append(" ".join(phrase[:rest]))
            self._left = phrase[rest:]
        return " ".join(parts)


def word_pieces(
    words: WordStream, total: int, per_piece: int, *, leading_space: bool
) -> Iterator[tuple[str, int]]:
    """Split the next ``total`` words into streaming pieces.

    Joining the pieces gives ``words.take(total)``, with a leading space when
    ``leading_space`` is true.

    Args:
        words: The stream to take words from.
        total: How many words to take.
        per_piece: Words per piece (at least 1).
        leading_space: Start the first piece with a space too.

    Yields:
        ``(text, word count)`` for each piece.
    """
    per_piece = max(per_piece, 1)
    space = leading_space
    for start in range(0, max(total, 0), per_piece):
        count = min(per_piece, total - start)
        text = words.take(count)
        yield (f" {text}" if space else text), count
        space = True


def request_digest(model: str, content: Any) -> bytes:
    """Return a stable digest of a request's model and content.

    Args:
        model: The model id the request names.
        content: JSON-like request content (chat messages, a prompt, inputs).

    Returns:
        16 bytes that are equal for equal inputs in every process.
    """
    canonical = json.dumps(
        [model, content], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def seed_material(seed: int, digest: bytes, index: int) -> bytes:
    """Combine the emulator seed, a request digest and a choice index into seed bytes.

    Args:
        seed: The emulator-wide seed.
        digest: A digest from `request_digest`.
        index: The choice index (0 for single-output requests).

    Returns:
        Bytes to pass to `generate_tokens` or `WordStream`.
    """
    return b"%d|%d|" % (seed, index) + digest


def generate_tokens(material: bytes, n: int) -> list[str]:
    """Return the first ``n`` words of the `WordStream` seeded by ``material``.

    The first ``k`` words for a given seed are the same whatever ``n`` is, so a
    completion cut by ``max_tokens`` is a prefix of the uncut one.

    Args:
        material: Seed bytes, usually from `seed_material`.
        n: How many words to draw (negative counts as zero).

    Returns:
        The words, one per token.
    """
    text = WordStream(material).take(n)
    return text.split(" ") if text else []


def text_pieces(tokens: Iterable[str]) -> list[str]:
    """Return the text each token adds, so that ``"".join(pieces) == " ".join(tokens)``.

    Args:
        tokens: Words from `generate_tokens`.

    Returns:
        The first word as is and every later word with a leading space.
    """
    pieces: list[str] = []
    for token in tokens:
        pieces.append(f" {token}" if pieces else token)
    return pieces


def count_words(text: str) -> int:
    """Count whitespace-separated words, the emulator's notion of a token.

    Args:
        text: Any text.

    Returns:
        The number of words in ``text``.
    """
    return len(text.split())


def random_id(rng: random.Random, length: int = 24) -> str:
    """Return a random-looking identifier of letters and digits.

    Args:
        rng: The generator to draw from (seeded, so ids are reproducible).
        length: How many characters to return.

    Returns:
        The identifier.
    """
    return "".join(rng.choices(_ID_ALPHABET, k=length))
