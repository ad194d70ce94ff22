"""Tool calling for emulated chat: request checks, which tools to call, and their arguments.

The emulator calls tools only when the request forces it (``tool_choice`` is
``"required"`` or names a function); with ``"auto"`` or ``"none"`` it answers with text.
Arguments are deterministic JSON built from each tool's ``parameters`` JSON Schema, and
count one token per four characters.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from typing import Any, Final

from ._text import VOCABULARY
from ._wire import check_bool, problem

__all__ = [
    "argument_pieces",
    "argument_tokens",
    "check_tools",
    "forced_tools",
    "tool_arguments",
]

Problem = dict[str, Any]

_CHOICES: Final = ("none", "auto", "required")
_CHARS_PER_TOKEN: Final = 4
# Schemas nested deeper than this get null values: generated arguments stay small.
_MAX_DEPTH: Final = 4
_ARRAY_ITEMS: Final = 2


def _check_tool(tool: Any, index: int) -> list[Problem]:
    loc: list[str | int] = ["tools", index]
    if not isinstance(tool, dict):
        return [problem(loc, "Input should be a valid dictionary", "dict_type")]
    problems: list[Problem] = []
    if tool.get("type", "function") != "function":
        problems.append(problem([*loc, "type"], "Input should be 'function'", "literal_error"))
    function = tool.get("function")
    if function is None:
        return [*problems, problem([*loc, "function"], "Field required", "missing")]
    if not isinstance(function, dict):
        msg = "Input should be a valid dictionary"
        return [*problems, problem([*loc, "function"], msg, "dict_type")]
    if not isinstance(function.get("name"), str):
        kind = "missing" if "name" not in function else "string_type"
        msg = "Field required" if kind == "missing" else "Input should be a valid string"
        problems.append(problem([*loc, "function", "name"], msg, kind))
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        msg = "Input should be a valid dictionary"
        problems.append(problem([*loc, "function", "parameters"], msg, "dict_type"))
    return problems


def _check_choice(choice: Any) -> Problem | None:
    if isinstance(choice, str) and choice in _CHOICES:
        return None
    if (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str)
    ):
        return None
    msg = (
        "Input should be 'none', 'auto', 'required' or "
        '{"type": "function", "function": {"name": ...}}'
    )
    return problem(["tool_choice"], msg, "union_tag_invalid")


def check_tools(body: Mapping[str, Any]) -> list[Problem]:
    """Validate ``tools``, ``tool_choice`` and ``parallel_tool_calls``.

    Args:
        body: The chat request body.

    Returns:
        FastAPI-style problems; empty when the fields are absent or valid.
    """
    problems: list[Problem] = []
    tools = body.get("tools")
    if tools is not None:
        if isinstance(tools, list):
            for index, tool in enumerate(tools):
                problems.extend(_check_tool(tool, index))
        else:
            problems.append(problem(["tools"], "Input should be a valid list", "list_type"))
    if body.get("tool_choice") is not None:
        found = _check_choice(body["tool_choice"])
        if found is not None:
            problems.append(found)
    parallel = check_bool(body, "parallel_tool_calls")
    if parallel is not None:
        problems.append(parallel)
    return problems


def forced_tools(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """Decide which functions a validated request makes the model call.

    Args:
        body: The validated chat request body.

    Returns:
        The ``function`` objects to call, in order (empty for a text answer), and an
        error message when ``tool_choice`` cannot be honoured (answered with 400).
    """
    functions = [tool["function"] for tool in body.get("tools") or []]
    choice = body.get("tool_choice")
    if choice is None or choice in ("none", "auto"):
        return [], None
    if not functions:
        return [], "tool_choice requires tools to be set"
    if choice == "required":
        parallel = body.get("parallel_tool_calls", True)
        return (functions if parallel else functions[:1]), None
    name = choice["function"]["name"]
    named = [function for function in functions if function["name"] == name]
    if not named:
        return [], f"tool_choice names the function `{name}`, which is not in tools"
    return named[:1], None


def _integer(schema: Mapping[str, Any], rng: random.Random) -> int:
    low, high = schema.get("minimum", 0), schema.get("maximum", 100)
    if not isinstance(low, int) or not isinstance(high, int) or low > high:
        low, high = 0, 100
    return rng.randint(low, high)


def _value(schema: Any, rng: random.Random, depth: int) -> Any:
    if not isinstance(schema, dict):
        return rng.choice(VOCABULARY)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return rng.choice(enum)
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        if depth >= _MAX_DEPTH:
            return {}
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {str(key): _value(sub, rng, depth + 1) for key, sub in properties.items()}
    if kind == "array":
        if depth >= _MAX_DEPTH:
            return []
        return [_value(schema.get("items"), rng, depth + 1) for _ in range(_ARRAY_ITEMS)]
    if kind == "integer":
        return _integer(schema, rng)
    if kind == "number":
        return round(rng.uniform(0, 100), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return rng.choice(VOCABULARY)


def tool_arguments(function: Mapping[str, Any], material: bytes) -> str:
    """Generate the JSON arguments of one call from the function's parameter schema.

    Each property gets a value of its type: a generated word for strings, a seeded
    number, boolean or enum member, two items for arrays, and nested objects in turn.

    Args:
        function: The tool's ``function`` object.
        material: Seed bytes; equal seeds give equal arguments.

    Returns:
        The arguments as a JSON object text (Python-style separators).
    """
    parameters = function.get("parameters")
    schema = parameters if isinstance(parameters, dict) else {}
    value = _value({**schema, "type": "object"}, random.Random(material), 0)
    return json.dumps(value)


def argument_tokens(arguments: str) -> int:
    """Count the completion tokens of a call's arguments (one per four characters).

    Args:
        arguments: The arguments JSON text.

    Returns:
        The token count, at least 1.
    """
    return max(1, -(-len(arguments) // _CHARS_PER_TOKEN))


def argument_pieces(arguments: str, tokens_per_piece: int) -> Iterator[tuple[str, int]]:
    """Cut a call's arguments into streamed fragments.

    Args:
        arguments: The arguments JSON text.
        tokens_per_piece: Tokens per fragment (at least 1).

    Yields:
        ``(fragment, tokens)``; the fragments join to ``arguments`` and the tokens sum
        to `argument_tokens`.
    """
    size = max(tokens_per_piece, 1) * _CHARS_PER_TOKEN
    for start in range(0, max(len(arguments), 1), size):
        piece = arguments[start : start + size]
        # Every piece but the last is a whole number of tokens, so the counts add up.
        yield piece, max(1, -(-len(piece) // _CHARS_PER_TOKEN))
