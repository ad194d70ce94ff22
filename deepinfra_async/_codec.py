"""JSON encoding and decoding, with orjson when it is installed (the ``speedups`` extra).

No I/O here: the transport and endpoints call these on bodies they already hold.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

__all__ = ["HAS_ORJSON", "data_url", "dumps", "loads"]

_std_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _std_dumps(obj: Any) -> bytes:
    return _std_encoder.encode(obj).encode()


try:
    import orjson
except ImportError:  # pragma: no cover - exercised when the extra is absent
    HAS_ORJSON = False
    dumps: Callable[[Any], bytes] = _std_dumps
    loads: Callable[[bytes | str], Any] = json.loads
else:
    HAS_ORJSON = True
    _orjson_dumps = orjson.dumps

    def _fast_dumps(obj: Any) -> bytes:
        try:
            return _orjson_dumps(obj)
        except TypeError:
            # Integers wider than 64 bits, non-str keys, subclasses orjson refuses: the
            # standard encoder either handles them or raises a clear TypeError.
            return _std_dumps(obj)

    dumps = _fast_dumps
    loads = orjson.loads


def data_url(data: bytes, mime: str) -> str:
    """Encode bytes as an RFC 2397 ``data:`` URL for JSON request bodies.

    Args:
        data: The raw bytes (an image, a sound, ...).
        mime: Their media type, e.g. ``"image/png"``.

    Returns:
        ``"data:<mime>;base64,<payload>"``.

    Raises:
        TypeError: ``data`` is not bytes-like.
        ValueError: ``mime`` is not a ``type/subtype`` media type.

    .. versionadded:: 0.1.0
    """
    given: object = data
    if not isinstance(given, bytes | bytearray | memoryview):
        msg = f"data must be bytes, got {type(given).__name__}"
        raise TypeError(msg)
    kind: object = mime
    if not isinstance(kind, str) or mime.count("/") != 1 or any(c in mime for c in " ;,\r\n"):
        msg = f"mime must be a media type like 'image/png', got {mime!r}"
        raise ValueError(msg)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
