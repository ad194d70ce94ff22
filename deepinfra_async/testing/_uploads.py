"""Receiving files: multipart parts hashed as they stream in, and data URLs in JSON bodies.

A multipart body is read part by part with ``request.multipart()``. A file part is never
held in memory: each chunk of at most 64 KiB updates a SHA-256 and a byte count and is then
dropped, so an upload of any size costs the emulator a few chunks of memory. Only the first
bytes are kept, to recognise PNG and WAV headers. Text fields are read whole, up to 1 MiB.

A JSON body carries files as RFC 2397 data URLs (``"data:audio/wav;base64,..."``); those
are decoded in slices and hashed the same way. Every file received is recorded as an
`UploadRecord` in ``Emulator.uploads``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final
from urllib.parse import unquote, unquote_to_bytes

import attrs
from aiohttp import BodyPartReader, web

from ._wire import json_response, problem

__all__ = [
    "HEAD_BYTES",
    "FormError",
    "Upload",
    "UploadRecord",
    "data_url_upload",
    "read_form",
    "resolve_files",
]

#: How many leading bytes of each upload are kept for format sniffing.
HEAD_BYTES: Final = 64
_CHUNK: Final = 64 << 10
_MAX_FIELD: Final = 1 << 20
_MAX_PARTS: Final = 1000
# Base64 text decoded per step: a multiple of 4, so every slice but the last is whole.
_B64_SLICE: Final = 1 << 20
_BASE64: Final = ";base64"

Problem = dict[str, Any]


@attrs.frozen
class UploadRecord:
    """A file the emulator received, as a multipart file part or a data URL.

    Attributes:
        path: The request path.
        field: The form field or JSON key that carried the file.
        filename: The part's filename (``None`` for data URLs).
        content_type: The part's or data URL's media type, when given.
        size: The file size in bytes.
        sha256: The SHA-256 of the file, as lower-case hex.

    .. versionadded:: 0.1.0
    """

    path: str
    field: str
    filename: str | None
    content_type: str | None
    size: int
    sha256: str


@attrs.frozen(eq=False)
class Upload:
    """A received file as a route sees it: its record and its first bytes.

    Attributes:
        record: What was received.
        head: The first `HEAD_BYTES` bytes.
        url: For a plain URL given instead of content (never fetched): the URL. The record
            then describes the URL text and is not listed in ``Emulator.uploads``.
    """

    record: UploadRecord
    head: bytes
    url: str | None = None

    @property
    def digest(self) -> bytes:
        """The SHA-256 of the file as bytes, to seed deterministic outputs."""
        return bytes.fromhex(self.record.sha256)


class FormError(Exception):
    """A form body could not be read; `response` is the answer to send."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class _Hasher:
    """Hash, count and keep the head of a file as its chunks go by."""

    __slots__ = ("hash", "head", "size")

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.head = b""
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.hash.update(chunk)
        self.size += len(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head = (self.head + chunk[:HEAD_BYTES])[:HEAD_BYTES]

    def upload(
        self, path: str, field: str, filename: str | None, content_type: str | None
    ) -> Upload:
        record = UploadRecord(path, field, filename, content_type, self.size, self.hash.hexdigest())
        return Upload(record, self.head)


def _parse_error(detail: str) -> FormError:
    return FormError(json_response({"detail": detail}, 400))


async def _read_file(part: BodyPartReader, hasher: _Hasher) -> None:
    # Bounded by the body: every iteration consumes at least one byte or ends the part.
    while True:
        chunk = await part.read_chunk(_CHUNK)
        if not chunk:
            return
        hasher.update(chunk)


async def _read_text(part: BodyPartReader) -> str:
    data = bytearray()
    while True:
        chunk = await part.read_chunk(_CHUNK)
        if not chunk:
            break
        data += chunk
        if len(data) > _MAX_FIELD:
            raise _parse_error(f"Part exceeded maximum size of {_MAX_FIELD >> 10}KB.")
    return bytes(data).decode(part.get_charset("utf-8"), errors="replace")


async def read_form(
    request: web.Request, kinds: Mapping[str, str], uploads: list[UploadRecord]
) -> dict[str, Any]:
    """Read a ``multipart/form-data`` body into a dict, streaming file parts.

    A part is a file when it has a filename or its field's kind is ``"file"``; it becomes
    an `Upload` and is appended to ``uploads``. Other parts are text, decoded later by
    `._schema.form_value`: here they stay strings. A name ending in ``[]`` (such as
    ``timestamp_granularities[]``) collects its repeated values into a list under the bare
    name; another repeated name keeps every value in a list too.

    Args:
        request: The request, whose body has not been read.
        kinds: Field kinds by name (files are ``"file"``).
        uploads: Where to record each file received.

    Returns:
        Field name to a string, an `Upload`, or a list of those for repeated names.

    Raises:
        FormError: The body is malformed, a text field exceeds 1 MiB, or it has more than
            1000 parts.
    """
    path = request.path
    fields: dict[str, Any] = {}
    repeated: set[str] = set()
    try:
        reader = await request.multipart()
        for _ in range(_MAX_PARTS + 1):
            part = await reader.next()
            if part is None:
                return _joined(fields, repeated)
            if not isinstance(part, BodyPartReader):
                raise _parse_error("There was an error parsing the body")
            name = part.name
            if name is None:
                await part.release()
                continue
            value: Any
            if part.filename is not None or kinds.get(name) == "file":
                hasher = _Hasher()
                await _read_file(part, hasher)
                content_type = part.headers.get("Content-Type")
                value = hasher.upload(path, name, part.filename, content_type)
                uploads.append(value.record)
            else:
                value = await _read_text(part)
            if name.endswith("[]"):
                name = name[:-2]
                repeated.add(name)
            elif name in fields:
                repeated.add(name)
            fields.setdefault(name, []).append(value)
    except (ValueError, RuntimeError) as exc:
        # aiohttp's multipart reader reports malformed bodies with these.
        raise _parse_error("There was an error parsing the body") from exc
    raise _parse_error(f"Too many fields. Maximum number of fields is {_MAX_PARTS}.")


def _joined(fields: dict[str, list[Any]], repeated: set[str]) -> dict[str, Any]:
    return {name: values if name in repeated else values[0] for name, values in fields.items()}


def _data_url_bytes(value: str) -> tuple[str, Iterator[bytes]]:
    header, comma, payload = value[5:].partition(",")
    if not comma:
        raise ValueError("a data URL needs a ',' before its payload")
    encoded = header[-len(_BASE64) :].lower() == _BASE64
    media_type = (header[: -len(_BASE64)] if encoded else header).strip()
    if not media_type or media_type.startswith(";"):
        media_type = "text/plain" + (media_type or ";charset=US-ASCII")
    if not encoded:
        return media_type, iter((unquote_to_bytes(payload),))
    if "%" in payload:
        payload = unquote(payload)
    payload += "=" * (-len(payload) % 4)

    def slices() -> Iterator[bytes]:
        for start in range(0, len(payload), _B64_SLICE):
            yield base64.b64decode(payload[start : start + _B64_SLICE], validate=True)

    return media_type, slices()


def data_url_upload(path: str, field: str, value: str) -> Upload:
    """Decode and hash a file sent in a JSON body.

    Args:
        path: The request path.
        field: The JSON key.
        value: A data URL (``data:<type>[;base64],<payload>``), or an ``http(s)://`` URL
            that stands for a file the emulator will not fetch.

    Returns:
        The upload. For a data URL, its record describes the decoded bytes.

    Raises:
        ValueError: ``value`` is neither, or its base64 payload is invalid.
    """
    hasher = _Hasher()
    if value[:5].lower() != "data:":
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("not a data URL or an http(s) URL")
        hasher.update(value.encode())
        upload = hasher.upload(path, field, None, None)
        return Upload(attrs.evolve(upload.record, size=0), b"", url=value)
    media_type, chunks = _data_url_bytes(value)
    try:
        for chunk in chunks:
            hasher.update(chunk)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64 payload: {exc}") from exc
    return hasher.upload(path, field, None, media_type.partition(";")[0] or None)


def resolve_files(
    path: str,
    body: Mapping[str, Any],
    file_fields: Iterable[str],
    uploads: list[UploadRecord],
) -> tuple[dict[str, Any], list[Problem]]:
    """Replace the data URLs of a JSON body's file fields with uploads.

    The body is not modified: a shallow copy is returned. Decoded data URLs are appended
    to ``uploads``.

    Args:
        path: The request path.
        body: The decoded JSON object.
        file_fields: The names of the fields that carry files.
        uploads: Where to record each file received.

    Returns:
        The new body and one problem per file field that is not a valid data URL or URL.
    """
    resolved = dict(body)
    problems: list[Problem] = []
    for name in file_fields:
        value = body.get(name)
        if value is None or isinstance(value, Upload):
            continue
        if not isinstance(value, str):
            problems.append(problem([name], "Input should be a valid string", "string_type"))
            continue
        try:
            upload = data_url_upload(path, name, value)
        except ValueError as exc:
            msg = f"Input should be a data URL or an http(s) URL ({exc})"
            problems.append(problem([name], msg, "value_error"))
            continue
        if upload.url is None:
            uploads.append(upload.record)
        resolved[name] = upload
    return resolved, problems
