"""JSON encoding and decoding, with orjson when it is installed (the ``speedups`` extra).

No I/O here: the transport and endpoints call these on bodies they already hold.
"""

from __future__ import annotations

import base64
import io
import json
import json.scanner
import mimetypes
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, Final

import attrs

__all__ = [
    "HAS_ORJSON",
    "FileInput",
    "FilePart",
    "FileSource",
    "Multipart",
    "build_multipart",
    "data_url",
    "dumps",
    "file_part",
    "form_value",
    "loads",
]

_std_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _std_dumps(obj: Any) -> bytes:
    return _std_encoder.encode(obj).encode()


_OPENERS: Final = (b"{", b"[")
_JSON_SPACE: Final = " \t\n\r"
# The standard library's own scanner (its C accelerator when available), called directly.
_std_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]
)


def _std_loads(data: bytes | str) -> Any:
    """``json.loads``, without its per-call checks for the common input.

    A stream event's data is a ``str`` holding one JSON document: it goes straight to the
    scanner. So does a body that opens with ``{`` or ``[`` followed by a non-NUL byte,
    which ``json.loads`` would read as UTF-8 too. Anything else (another encoding, leading
    whitespace, invalid JSON) takes ``json.loads``, which gives the same result or raises
    its usual error.
    """
    if data.__class__ is bytes:
        if data[:1] not in _OPENERS or data[1:2] == b"\x00":
            return json.loads(data)
        text = data.decode("utf-8", "surrogatepass")
    else:
        text = data  # type: ignore[assignment]
    try:
        obj, end = _std_scan(text, 0)
    except StopIteration:
        return json.loads(data)
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        return json.loads(data)  # raises "Extra data"
    return obj


try:
    import orjson
except ImportError:  # pragma: no cover - exercised when the extra is absent
    HAS_ORJSON = False
    dumps: Callable[[Any], bytes] = _std_dumps
    loads: Callable[[bytes | str], Any] = _std_loads
else:
    HAS_ORJSON = True
    _orjson_dumps = orjson.dumps

    def _fast_dumps(obj: Any) -> bytes:
        try:
            encoded = _orjson_dumps(obj)
        except TypeError:
            # Integers wider than 64 bits, non-str keys, subclasses orjson refuses: the
            # standard encoder either handles them or raises a clear TypeError.
            return _std_dumps(obj)
        # orjson's result keeps the capacity of its write buffer (4 KiB for a short body,
        # more for a longer one), and a request body is held until its call ends, retries
        # included: keep a copy of the exact size instead.
        return bytes(memoryview(encoded))

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


FileSource = bytes | bytearray | memoryview | os.PathLike[str] | BinaryIO
"""What a file can be: bytes, a path (streamed from disk), or a binary file object."""

FileInput = FileSource | tuple[str, FileSource] | tuple[str, FileSource, str]
"""A file, optionally as ``(filename, file)`` or ``(filename, file, content_type)``."""

_BYTES_LIKE = (bytes, bytearray, memoryview)


@attrs.frozen
class FilePart:
    """One file of a multipart body.

    Attributes:
        field: The form field name.
        filename: The filename sent in the part's ``Content-Disposition``.
        content_type: The part's media type.
        source: The bytes, the path to stream from, or the caller's file object.
    """

    field: str
    filename: str
    content_type: str
    source: bytes | Path | BinaryIO


@attrs.frozen
class Multipart:
    """A multipart/form-data body, described without I/O; the transport builds it per attempt.

    Attributes:
        fields: Text fields in order, as ``(name, value)``.
        files: File parts in order.
        replayable: Whether every part can be sent again (a retry is possible).
    """

    fields: tuple[tuple[str, str], ...]
    files: tuple[FilePart, ...]
    replayable: bool


def form_value(name: str, value: object) -> str:
    """Encode one non-file form field: text as is, booleans as JSON, lists and dicts as JSON.

    Raises:
        TypeError: The value cannot be sent as a form field (the field is named).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        return _std_dumps(value).decode()
    msg = f"{name} cannot be sent as a form field: {type(value).__name__}"
    raise TypeError(msg)


def file_part(field: str, value: object) -> FilePart:
    """Describe one file argument as a multipart part.

    Args:
        field: The form field name, also used in error messages.
        value: Bytes, a path, a binary file object, or a ``(filename, file[, content_type])``
            tuple.

    Returns:
        The part; the content type is guessed from the filename when not given.

    Raises:
        TypeError: ``value`` is none of the accepted shapes (the field is named).
    """
    filename: str | None = None
    content_type: str | None = None
    source: object = value
    if isinstance(value, tuple):
        if len(value) not in (2, 3) or not isinstance(value[0], str):
            msg = f"{field} as a tuple must be (filename, file) or (filename, file, content_type)"
            raise TypeError(msg)
        filename, source = value[0], value[1]
        if len(value) == 3:
            content_type = value[2]
    if isinstance(source, _BYTES_LIKE):
        data: bytes | Path | BinaryIO = bytes(source)
        filename = filename or field
    elif isinstance(source, os.PathLike):
        data = Path(source)
        filename = filename or data.name
    elif isinstance(source, io.IOBase) or (
        hasattr(source, "read") and not isinstance(source, str | io.TextIOBase)
    ):
        if isinstance(source, io.TextIOBase):
            msg = f"{field} must be opened in binary mode ('rb')"
            raise TypeError(msg)
        data = source  # type: ignore[assignment]
        name = getattr(source, "name", None)
        filename = filename or (Path(name).name if isinstance(name, str) else field)
    else:
        if isinstance(source, str | io.TextIOBase):
            msg = f"{field} must be bytes, a pathlib.Path or a binary file, not text"
        else:
            kind = type(source).__name__
            msg = f"{field} must be bytes, a pathlib.Path or a binary file, got {kind}"
        raise TypeError(msg)
    if content_type is None:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return FilePart(field=field, filename=filename, content_type=content_type, source=data)


def build_multipart(
    fields: Iterable[tuple[str, object]], files: Iterable[tuple[str, object]]
) -> Multipart:
    """Describe a multipart body from form fields and file arguments.

    ``None`` fields are left out; a field may repeat (e.g. ``timestamp_granularities[]``).

    Raises:
        TypeError: A field or file of an unsupported type (named).
    """
    text = tuple((name, form_value(name, v)) for name, v in fields if v is not None)
    parts = tuple(file_part(name, v) for name, v in files)
    replayable = all(_replayable(p.source) for p in parts)
    return Multipart(fields=text, files=parts, replayable=replayable)


def _replayable(source: object) -> bool:
    if isinstance(source, bytes | Path):
        return True
    seekable = getattr(source, "seekable", None)
    try:
        return bool(seekable()) if callable(seekable) else False
    except (OSError, ValueError):
        return False
