"""Emulated chat completions: request checks, the deterministic answer, and its JSON form.

`plan_chat` computes everything an answer contains once, as a `ChatPlan`; the JSON body
comes from `ChatPlan.completion` and the stream from `chat_events`, so both carry the same
text and token counts. Text is generated lazily, so a plan for millions of tokens is cheap.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from ._catalogue import model_info, usage_body
from ._chat_stream import chat_events
from ._controls import Controls, admit_text_request, check_stream_options, stream_settings
from ._sse_writer import write_stream
from ._text import (
    DEFAULT_COMPLETION_TOKENS,
    WordStream,
    count_words,
    random_id,
    request_digest,
    seed_material,
)
from ._tools import argument_tokens, check_tools, forced_tools, tool_arguments
from ._wire import (
    check_body,
    check_bool,
    check_choice,
    check_int,
    check_number,
    json_response,
    openai_error,
    problem,
)

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = [
    "DEFAULT_REASONING_TOKENS",
    "ChatChoicePlan",
    "ChatPlan",
    "ToolCallPlan",
    "chat_completions",
    "plan_chat",
    "prompt_tokens",
    "validate_chat",
]

#: How many words of ``reasoning_content`` a reasoning model thinks before answering
#: (at most half of ``max_tokens``; the rest of ``max_tokens`` caps the content).
DEFAULT_REASONING_TOKENS: Final = 8

_ROLES: Final = frozenset({"system", "user", "assistant", "tool"})
_EFFORTS: Final = ("none", "minimal", "low", "medium", "high", "xhigh", "max")

Problem = dict[str, Any]


def _check_messages(body: Mapping[str, Any]) -> list[Problem]:
    if "messages" not in body:
        return [problem(["messages"], "Field required", "missing")]
    messages = body["messages"]
    if not isinstance(messages, list):
        return [problem(["messages"], "Input should be a valid list", "list_type")]
    if not messages:
        msg = "List should have at least 1 item after validation, not 0"
        return [problem(["messages"], msg, "too_short")]
    problems: list[Problem] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            msg = "Input should be a valid dictionary"
            problems.append(problem(["messages", i], msg, "dict_type"))
            continue
        if "role" not in message:
            problems.append(problem(["messages", i, "role"], "Field required", "missing"))
        elif not isinstance(message["role"], str) or message["role"] not in _ROLES:
            msg = "Input should be 'system', 'user', 'assistant' or 'tool'"
            problems.append(problem(["messages", i, "role"], msg, "literal_error"))
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            msg = "Input should be a valid string or a list of content parts"
            problems.append(problem(["messages", i, "content"], msg, "string_type"))
    return problems


def validate_chat(body: Any) -> list[Problem]:
    """Check a chat completion request body the way the real API's schema does.

    The ``"emulator"`` controls are checked separately, by `read_controls`.

    Args:
        body: The decoded JSON body, or ``None`` when there was none.

    Returns:
        FastAPI-style problem entries; empty when the body is valid.
    """
    problems = check_body(body)
    if not isinstance(body, dict):
        return problems
    problems.extend(_check_messages(body))
    checks = (
        check_int(body, "max_tokens", 1, None, nullable=True),
        check_number(body, "temperature", 0, 2),
        check_int(body, "n", 1, 4),
        check_bool(body, "stream"),
        check_choice(body, "reasoning_effort", _EFFORTS, nullable=True),
    )
    problems.extend(found for found in checks if found is not None)
    problems.extend(check_stream_options(body))
    problems.extend(check_tools(body))
    return problems


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def prompt_tokens(messages: list[Any]) -> int:
    """Count the prompt tokens of validated chat messages (one word, one token).

    Args:
        messages: The request's messages.

    Returns:
        The number of words in all text content.
    """
    return sum(count_words(_text_of(message.get("content"))) for message in messages)


@attrs.frozen
class ToolCallPlan:
    """One tool call of an answer.

    Attributes:
        id: The call id (``call_...``).
        name: The function name.
        arguments: The arguments JSON text.
    """

    id: str
    name: str
    arguments: str

    def as_json(self) -> dict[str, Any]:
        """Return the call as ``message.tool_calls`` lists it."""
        function = {"name": self.name, "arguments": self.arguments}
        return {"id": self.id, "type": "function", "function": function}


@attrs.frozen
class ChatChoicePlan:
    """One choice of an answer.

    Attributes:
        material: Seed of the content words.
        length: Content tokens (0 when the choice calls tools).
        finish_reason: ``"stop"``, ``"length"`` or ``"tool_calls"``.
        reasoning_material: Seed of the ``reasoning_content`` words.
        reasoning_length: Reasoning tokens (0 for non-reasoning models).
        tool_calls: The calls the choice makes instead of answering with text.
    """

    material: bytes
    length: int
    finish_reason: str
    reasoning_material: bytes = b""
    reasoning_length: int = 0
    tool_calls: tuple[ToolCallPlan, ...] = ()

    @property
    def tokens(self) -> int:
        """Completion tokens of this choice, reasoning included."""
        calls = sum(argument_tokens(call.arguments) for call in self.tool_calls)
        return self.reasoning_length + self.length + calls

    def content(self) -> str:
        """Generate the whole content text."""
        return WordStream(self.material).take(self.length)

    def reasoning(self) -> str:
        """Generate the whole ``reasoning_content`` text."""
        return WordStream(self.reasoning_material).take(self.reasoning_length)


@attrs.frozen
class ChatPlan:
    """Everything a chat completion answers with, computed once for JSON and streaming.

    Attributes:
        id: The completion id (``chatcmpl-...``).
        created: Unix time the completion was created.
        model: The model id echoed back.
        choices: One plan per choice.
        prompt_tokens: Input tokens.
        reasoning: Whether the answer carries ``reasoning_content``.
    """

    id: str
    created: int
    model: str
    choices: tuple[ChatChoicePlan, ...]
    prompt_tokens: int
    reasoning: bool = False

    @property
    def completion_tokens(self) -> int:
        """Output tokens over all choices."""
        return sum(choice.tokens for choice in self.choices)

    def usage(self, completion: int | None = None, reasoning: int | None = None) -> dict[str, Any]:
        """Return the ``usage`` object, with DeepInfra's ``estimated_cost``.

        Args:
            completion: Completion tokens so far (all of them when ``None``).
            reasoning: Reasoning tokens so far (all of them when ``None``).

        Returns:
            The usage; reasoning answers add ``completion_tokens_details``.
        """
        if completion is None:
            completion = self.completion_tokens
        if reasoning is None:
            reasoning = sum(choice.reasoning_length for choice in self.choices)
        return usage_body(
            self.model, self.prompt_tokens, completion, reasoning if self.reasoning else None
        )

    def completion(self) -> dict[str, Any]:
        """Return the non-streaming ``chat.completion`` body."""
        choices = []
        for index, choice in enumerate(self.choices):
            message: dict[str, Any] = {"role": "assistant", "content": None}
            if self.reasoning:
                message["reasoning_content"] = choice.reasoning()
            if choice.tool_calls:
                calls: list[dict[str, Any]] | None = [c.as_json() for c in choice.tool_calls]
            else:
                message["content"], calls = choice.content(), None
            message.update(name=None, tool_calls=calls)
            reason = choice.finish_reason
            choices.append({"index": index, "message": message, "finish_reason": reason})
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": self.usage(),
        }


def _reasons(body: Mapping[str, Any], model: str) -> bool:
    if not model_info(model).reasoning or body.get("reasoning_effort") == "none":
        return False
    reasoning = body.get("reasoning")
    return not (isinstance(reasoning, dict) and reasoning.get("enabled") is False)


def plan_chat(
    emu: Emulator,
    body: Mapping[str, Any],
    model: str,
    controls: Controls | None = None,
    functions: list[dict[str, Any]] | None = None,
) -> ChatPlan:
    """Generate the deterministic answer to a validated chat request.

    Args:
        emu: The emulator (for its seed and id generator).
        body: The validated request body.
        model: The registry id the request resolved to.
        controls: The request's ``"emulator"`` controls (``tokens`` sets the length).
        functions: Functions the answer calls instead of answering with text.

    Returns:
        The plan to render as JSON or as a stream.
    """
    controls = controls or Controls()
    messages: list[Any] = body["messages"]
    budget: int | None = body.get("max_tokens")
    wanted = controls.tokens if controls.tokens is not None else DEFAULT_COMPLETION_TOKENS
    reasoning = _reasons(body, model)
    think = DEFAULT_REASONING_TOKENS if reasoning else 0
    if budget is not None:
        # Thinking takes at most half of max_tokens, so a small budget still gets an answer.
        think = min(think, budget // 2)
    length = wanted if budget is None else min(wanted, budget - think)
    reason = "stop" if length == wanted else "length"
    digest = request_digest(body["model"], messages)
    choices = []
    for index in range(body.get("n", 1)):
        material = seed_material(emu.seed, digest, index)
        calls = tuple(
            ToolCallPlan(
                # Derived from the request, so the same request gets the same call ids.
                id="call_" + random_id(random.Random(material + b"|call id %d" % number)),
                name=function["name"],
                arguments=tool_arguments(function, material + b"|call %d" % number),
            )
            for number, function in enumerate(functions or ())
        )
        choices.append(
            ChatChoicePlan(
                material=material,
                length=0 if calls else length,
                finish_reason="tool_calls" if calls else reason,
                reasoning_material=material + b"|reasoning",
                reasoning_length=think,
                tool_calls=calls,
            )
        )
    return ChatPlan(
        id=emu._new_id("chatcmpl-"),
        created=int(time.time()),
        model=model,
        choices=tuple(choices),
        prompt_tokens=prompt_tokens(messages),
        reasoning=reasoning,
    )


async def chat_completions(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/chat/completions``: validate, then answer with JSON or a stream.

    Args:
        emu: The emulator.
        request: The request.
        body: Its decoded JSON body.

    Returns:
        The response (a stream is already sent when this returns).
    """
    admitted = admit_text_request(emu.models, body, validate_chat(body), "chat completions")
    if isinstance(admitted, web.Response):
        return admitted
    model, controls = admitted
    functions, refusal = forced_tools(body)
    if refusal is not None:
        return json_response(openai_error(refusal, param="tool_choice"), status=400)
    plan = plan_chat(emu, body, model, controls, functions)
    if body.get("stream") is True:
        events = chat_events(plan, stream_settings(body, controls))
        return await write_stream(emu, request, model, events, controls)
    return json_response(plan.completion())
