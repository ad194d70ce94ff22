"""Deterministic text for the emulator: seeded words, word counts and identifiers.

Everything here is pure and reproducible across processes and Python versions: seeds are
derived with BLAKE2b from canonical JSON, and `random.Random` seeded with bytes does not
depend on ``PYTHONHASHSEED``. One generated word counts as one token.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections.abc import Iterable
from typing import Any, Final

__all__ = [
    "DEFAULT_COMPLETION_TOKENS",
    "VOCABULARY",
    "count_words",
    "generate_tokens",
    "random_id",
    "request_digest",
    "seed_material",
    "text_pieces",
]

#: How many words a completion has when the request does not ask for fewer.
DEFAULT_COMPLETION_TOKENS: Final = 16

#: The fixed vocabulary generated text is drawn from.
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
        Bytes to pass to `generate_tokens`.
    """
    return b"%d|%d|" % (seed, index) + digest


def generate_tokens(material: bytes, n: int) -> list[str]:
    """Draw ``n`` words from `VOCABULARY` with a generator seeded by ``material``.

    The first ``k`` words for a given seed are the same whatever ``n`` is, so a
    completion cut by ``max_tokens`` is a prefix of the uncut one.

    Args:
        material: Seed bytes, usually from `seed_material`.
        n: How many words to draw (negative counts as zero).

    Returns:
        The words, one per token.
    """
    return random.Random(material).choices(VOCABULARY, k=max(n, 0))


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
