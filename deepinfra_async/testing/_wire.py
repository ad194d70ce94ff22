"""JSON answers, error bodies and FastAPI-style validation checks shared by every route.

The separators of every JSON body are Python's defaults (``", "`` and ``": "``), as in
DeepInfra's own responses, so clients are exercised on parsing rather than on byte patterns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from typing import Any

from aiohttp import web

__all__ = [
    "check_body",
    "check_bool",
    "check_choice",
    "check_int",
    "check_number",
    "check_object",
    "check_string",
    "json_response",
    "model_not_found",
    "openai_error",
    "problem",
    "unsupported_model",
    "validation_error",
]

Problem = dict[str, Any]


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Serialise ``data`` as a JSON response.

    Args:
        data: A JSON-serialisable value.
        status: The HTTP status.
        headers: Extra response headers.

    Returns:
        The response, not yet sent.
    """
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def openai_error(
    message: str,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Build an OpenAI-style error body (shape A in the reference).

    Args:
        message: Human-readable message.
        type: Error type, e.g. ``"invalid_request_error"``.
        param: The request field at fault, if any.
        code: A machine-readable code, if any.

    Returns:
        ``{"error": {"message", "type", "param", "code"}}``.
    """
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def validation_error(problems: list[Problem]) -> web.Response:
    """Answer 422 with FastAPI's ``{"detail": [{"loc", "msg", "type"}, ...]}`` body.

    Args:
        problems: One entry per problem found.

    Returns:
        The 422 response.
    """
    return json_response({"detail": problems}, status=422)


def model_not_found(model: str) -> web.Response:
    """Answer 404 for a model that is not in the registry.

    Args:
        model: The model id the request named.

    Returns:
        The 404 response with an OpenAI-style body.
    """
    body = openai_error(
        f"The model `{model}` does not exist", param="model", code="model_not_found"
    )
    return json_response(body, status=404)


def unsupported_model(model: str, what: str) -> web.Response:
    """Answer 400 for a model whose task does not fit the route.

    Args:
        model: The registry id of the model.
        what: What the route does, e.g. ``"chat completions"``.

    Returns:
        The 400 response with an OpenAI-style body.
    """
    body = openai_error(
        f"The model `{model}` does not support {what}", param="model", code="model_not_supported"
    )
    return json_response(body, status=400)


def problem(loc: list[str | int], msg: str, type: str) -> Problem:
    """Build one FastAPI problem entry located in the request body.

    Args:
        loc: Path of the field inside the body, e.g. ``["messages", 0, "role"]``.
        msg: Human-readable message.
        type: Pydantic-style error type, e.g. ``"missing"``.

    Returns:
        ``{"loc": ["body", *loc], "msg": msg, "type": type}``.
    """
    return {"loc": ["body", *loc], "msg": msg, "type": type}


def check_body(body: Any) -> list[Problem]:
    """Check that a request has a JSON object body with a string ``model``.

    Args:
        body: The decoded JSON body, or ``None`` when there was none.

    Returns:
        The problems found. When the body is not an object, the only problem is located
        at ``["body"]`` and no field can be checked further.
    """
    if body is None:
        return [{"loc": ["body"], "msg": "Field required", "type": "missing"}]
    if not isinstance(body, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return [{"loc": ["body"], "msg": msg, "type": "model_attributes_type"}]
    if "model" not in body:
        return [problem(["model"], "Field required", "missing")]
    if not isinstance(body["model"], str):
        return [problem(["model"], "Input should be a valid string", "string_type")]
    return []


def _range(loc: list[str | int], value: float, low: float, high: float | None) -> Problem | None:
    if value < low:
        return problem(loc, f"Input should be greater than or equal to {low}", "greater_than_equal")
    if high is not None and value > high:
        return problem(loc, f"Input should be less than or equal to {high}", "less_than_equal")
    return None


def check_int(
    body: Mapping[str, Any],
    name: str,
    low: int,
    high: int | None,
    *,
    nullable: bool = False,
    loc: list[str | int] | None = None,
) -> Problem | None:
    """Check an optional integer field and its range.

    Args:
        body: The object holding the field.
        name: The field name.
        low: Smallest allowed value.
        high: Largest allowed value (``None`` = unbounded).
        nullable: Whether ``null`` is allowed.
        loc: Path of ``body`` inside the request body (top level when ``None``).

    Returns:
        A problem entry, or ``None`` when the field is absent or valid.
    """
    if name not in body or (nullable and body[name] is None):
        return None
    where = [*(loc or []), name]
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        return problem(where, "Input should be a valid integer", "int_type")
    return _range(where, value, low, high)


def check_number(
    body: Mapping[str, Any],
    name: str,
    low: float,
    high: float | None,
    *,
    loc: list[str | int] | None = None,
) -> Problem | None:
    """Check an optional number field and its range.

    Args:
        body: The object holding the field.
        name: The field name.
        low: Smallest allowed value.
        high: Largest allowed value (``None`` = unbounded).
        loc: Path of ``body`` inside the request body (top level when ``None``).

    Returns:
        A problem entry, or ``None`` when the field is absent or valid.
    """
    if name not in body:
        return None
    where = [*(loc or []), name]
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return problem(where, "Input should be a valid number", "float_type")
    if not math.isfinite(value):  # json.loads accepts NaN and Infinity
        return problem(where, "Input should be a finite number", "finite_number")
    return _range(where, value, low, high)


def check_bool(
    body: Mapping[str, Any], name: str, *, loc: list[str | int] | None = None
) -> Problem | None:
    """Check an optional boolean field.

    Args:
        body: The object holding the field.
        name: The field name.
        loc: Path of ``body`` inside the request body (top level when ``None``).

    Returns:
        A problem entry, or ``None`` when the field is absent or a boolean.
    """
    if name in body and not isinstance(body[name], bool):
        return problem([*(loc or []), name], "Input should be a valid boolean", "bool_type")
    return None


def check_string(
    body: Mapping[str, Any], name: str, *, loc: list[str | int] | None = None
) -> Problem | None:
    """Check an optional string field.

    Args:
        body: The object holding the field.
        name: The field name.
        loc: Path of ``body`` inside the request body (top level when ``None``).

    Returns:
        A problem entry, or ``None`` when the field is absent or a string.
    """
    if name in body and not isinstance(body[name], str):
        return problem([*(loc or []), name], "Input should be a valid string", "string_type")
    return None


def check_choice(
    body: Mapping[str, Any],
    name: str,
    allowed: Collection[str],
    *,
    nullable: bool = False,
    loc: list[str | int] | None = None,
) -> Problem | None:
    """Check an optional field that takes one of a few strings.

    Args:
        body: The object holding the field.
        name: The field name.
        allowed: The accepted values, in the order the message lists them.
        nullable: Whether ``null`` is allowed.
        loc: Path of ``body`` inside the request body (top level when ``None``).

    Returns:
        A problem entry, or ``None`` when the field is absent or allowed.
    """
    if name not in body or (nullable and body[name] is None):
        return None
    value = body[name]
    if isinstance(value, str) and value in allowed:
        return None
    names = [f"'{item}'" for item in allowed]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"
    return problem([*(loc or []), name], f"Input should be {listed}", "literal_error")


def check_object(
    body: Mapping[str, Any], name: str, *, loc: list[str | int] | None = None
) -> Problem | None:
    """Check an optional field that must be a JSON object.

    Args:
        body: The object holding the field.
        name: The field name.
        loc: Path of ``body`` inside the request body (top level when ``None``).

    Returns:
        A problem entry, or ``None`` when the field is absent or an object.
    """
    if name in body and not isinstance(body[name], dict):
        return problem([*(loc or []), name], "Input should be a valid dictionary", "dict_type")
    return None
