"""Request bodies described by field specs: reading JSON or forms, decoding, validating.

A native task (or a form route) declares its request fields as `Field` specs. `read_body`
turns a JSON, ``multipart/form-data`` or URL-encoded body into one dict: files become
`Upload` objects (data URLs in JSON are decoded), and form text is decoded by `form_value`
into the value a JSON body would hold, guided by the field's kind. `check_fields` then
validates the dict FastAPI style (``{"loc": ["body", field], "msg", "type"}``); unknown
fields are ignored, as the real API tolerates them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs
from aiohttp import web

from ._uploads import Upload, UploadRecord, read_form, resolve_files
from ._wire import check_bool, check_choice, check_int, check_number, check_string, problem

__all__ = ["KINDS", "Field", "check_fields", "decode_form", "form_value", "read_body"]

#: The kinds a `Field` can have.
KINDS: Final = (
    "str",
    "int",
    "number",
    "bool",
    "str_list",
    "str_or_list",
    "list",
    "dict",
    "file",
    "any",
)

Problem = dict[str, Any]


@attrs.frozen
class Field:
    """One request field of a native task or a form route.

    Attributes:
        name: The field name.
        kind: One of `KINDS`: ``"file"`` fields take an upload (a multipart file part or a
            data URL in JSON); ``"str_list"`` is a list of strings; ``"str_or_list"`` a
            string or a list of strings.
        required: Whether the field must be present (and not ``null``).
        low: Smallest allowed value of a number, or shortest list.
        high: Largest allowed value of a number, or longest list.
        choices: The allowed values of a string field (any string when empty).
    """

    name: str
    kind: str
    required: bool = False
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


def _check_list(body: Mapping[str, Any], spec: Field) -> list[Problem]:
    value = body[spec.name]
    if spec.kind == "str_or_list" and isinstance(value, str):
        return []
    if not isinstance(value, list):
        return [problem([spec.name], "Input should be a valid list", "list_type")]
    if spec.low is not None and len(value) < spec.low:
        msg = f"List should have at least {int(spec.low)} item after validation, not {len(value)}"
        return [problem([spec.name], msg, "too_short")]
    if spec.high is not None and len(value) > spec.high:
        msg = f"List should have at most {int(spec.high)} items after validation, not {len(value)}"
        return [problem([spec.name], msg, "too_long")]
    if spec.kind == "list":
        return []
    return [
        problem([spec.name, i], "Input should be a valid string", "string_type")
        for i, item in enumerate(value)
        if not isinstance(item, str)
    ]


def _check_one(body: Mapping[str, Any], spec: Field) -> list[Problem]:
    name, kind = spec.name, spec.kind
    found: Problem | None = None
    if kind == "str":
        found = check_choice(body, name, spec.choices) if spec.choices else check_string(body, name)
    elif kind == "int":
        low = int(spec.low) if spec.low is not None else -(1 << 63)
        found = check_int(body, name, low, int(spec.high) if spec.high is not None else None)
    elif kind == "number":
        found = check_number(body, name, spec.low if spec.low is not None else -1e308, spec.high)
    elif kind == "bool":
        found = check_bool(body, name)
    elif kind in ("str_list", "str_or_list", "list"):
        return _check_list(body, spec)
    elif kind == "dict" and not isinstance(body[name], dict):
        found = problem([name], "Input should be a valid dictionary", "dict_type")
    elif kind == "file" and not isinstance(body[name], Upload):
        found = problem([name], "Expected UploadFile, received: <class 'str'>", "value_error")
    return [found] if found is not None else []


def check_fields(body: Mapping[str, Any], fields: Iterable[Field]) -> list[Problem]:
    """Validate a decoded body against field specs.

    ``null`` counts as absent. File fields must already hold an `Upload` (JSON data URLs
    are decoded before validation).

    Args:
        body: The decoded body (a JSON object or the decoded form).
        fields: The specs to check.

    Returns:
        One FastAPI-style problem per invalid or missing field.
    """
    problems: list[Problem] = []
    for spec in fields:
        if body.get(spec.name) is None:
            if spec.required:
                problems.append(problem([spec.name], "Field required", "missing"))
            continue
        problems.extend(_check_one(body, spec))
    return problems


_SCALARS: Final = {"true": True, "false": False}
_LIST_KINDS: Final = frozenset({"str_list", "str_or_list", "list"})


def form_value(kind: str | None, text: str) -> Any:
    """Decode the text of a form field into the value a JSON body would carry.

    Lists and objects arrive JSON-encoded, booleans as ``true``/``false``, numbers as
    text; strings arrive as is or JSON-quoted (as some SDKs send every field). Text that
    does not decode is kept, so validation reports the field's type.

    Args:
        kind: The field's kind (see `KINDS`), or ``None`` for a field the route does not
            declare (decoded as JSON when it looks like JSON).
        text: The field's text.

    Returns:
        The decoded value.
    """
    stripped = text.strip()
    if kind == "str" and not stripped.startswith('"'):
        return text
    if kind == "str_or_list" and not stripped.startswith(("[", '"')):
        return text
    if kind == "bool":
        return _SCALARS.get(stripped.lower(), text)
    if kind == "int":
        try:
            return int(stripped)
        except ValueError:
            return text
    if kind == "number":
        try:
            return float(stripped)
        except ValueError:
            return text
    try:
        value = json.loads(stripped)
    except ValueError:
        return text
    if kind == "str" and not isinstance(value, str):
        return text
    if kind == "str_or_list" and not isinstance(value, str | list):
        return text
    return value


def decode_form(raw: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    """Decode every field of a read form with `form_value`.

    Args:
        raw: Field name to a string, an `Upload`, or a list of those (repeated names).
        kinds: Field kinds by name.

    Returns:
        The body as a JSON object would carry it. A repeated field becomes a list of its
        values when its kind is a list; otherwise its last value counts.
    """
    body: dict[str, Any] = {}
    for name, value in raw.items():
        kind = kinds.get(name)
        if isinstance(value, list) and kind in _LIST_KINDS:
            body[name] = [v if isinstance(v, Upload) else form_value("str", v) for v in value]
            continue
        last = value[-1] if isinstance(value, list) else value
        body[name] = last if isinstance(last, Upload) else form_value(kind, last)
    return body


_MISSING: Final = {"loc": ["body"], "msg": "Field required", "type": "missing"}


async def read_body(
    request: web.Request, json_body: Any, fields: Iterable[Field], uploads: list[UploadRecord]
) -> tuple[dict[str, Any], list[Problem]]:
    """Read a request body of any accepted encoding into one decoded dict.

    JSON comes decoded from the emulator's middleware; its file fields' data URLs are
    decoded. Multipart bodies are streamed (see `._uploads.read_form`); URL-encoded ones
    are small and read whole. Every file received is appended to ``uploads``.

    Args:
        request: The request.
        json_body: The decoded JSON body, or ``None`` when the body was not JSON.
        fields: The route's field specs (for kinds and file fields).
        uploads: Where to record files.

    Returns:
        The body and the problems found while reading it (not yet validated against
        ``fields``); when the body is missing or not an object, the body is empty and
        the only problem is located at ``["body"]``.

    Raises:
        FormError: A form body is malformed or too large.
    """
    specs = tuple(fields)
    kinds = {spec.name: spec.kind for spec in specs}
    files = tuple(spec.name for spec in specs if spec.kind == "file")
    if request.content_type == "multipart/form-data":
        return decode_form(await read_form(request, kinds, uploads), kinds), []
    if request.content_type == "application/x-www-form-urlencoded":
        posted = await request.post()
        raw: dict[str, Any] = {}
        for name in posted:
            values = [str(value) for value in posted.getall(name)]
            raw[name] = values if len(values) > 1 else values[0]
        return decode_form(raw, kinds), []
    if json_body is None:
        return {}, [dict(_MISSING)]
    if not isinstance(json_body, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return {}, [{"loc": ["body"], "msg": msg, "type": "model_attributes_type"}]
    return resolve_files(request.path, json_body, files, uploads)
