"""Emulated legacy completions (``POST {prefix}/completions``), as JSON or as a stream.

The prompt is a string or a list of token ids; ids are "detokenised" to vocabulary words
(``id % 64``) when ``echo`` repeats the prompt. Generated text continues the prompt, so it
starts with a space. Streaming chunks carry ``choices[0].text`` pieces and the finish chunk
carries the usage, as chat streams do.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from ._catalogue import usage_body
from ._controls import (
    Controls,
    StreamSettings,
    admit_text_request,
    check_stream_options,
    stream_settings,
)
from ._sse_writer import DONE, Event, Template, sse_event, write_stream
from ._text import (
    DEFAULT_COMPLETION_TOKENS,
    VOCABULARY,
    WordStream,
    count_words,
    request_digest,
    seed_material,
    word_pieces,
)
from ._wire import (
    check_body,
    check_bool,
    check_int,
    check_number,
    json_response,
    problem,
)

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["CompletionPlan", "completions", "plan_completion", "validate_completion"]

_TEXT: Final = "\x00deepinfra_async text slot\x00"
_USAGE: Final = "\x00deepinfra_async usage slot\x00"

Problem = dict[str, Any]


def _check_prompt(body: Mapping[str, Any]) -> list[Problem]:
    if "prompt" not in body:
        return [problem(["prompt"], "Field required", "missing")]
    prompt = body["prompt"]
    if isinstance(prompt, str):
        return []
    if not isinstance(prompt, list):
        msg = "Input should be a valid string or a list of token ids"
        return [problem(["prompt"], msg, "string_type")]
    return [
        problem(["prompt", i], "Input should be a valid integer >= 0", "int_type")
        for i, token in enumerate(prompt)
        if isinstance(token, bool) or not isinstance(token, int) or token < 0
    ]


def validate_completion(body: Any) -> list[Problem]:
    """Check a completions request body the way the real API's schema does.

    Args:
        body: The decoded JSON body, or ``None`` when there was none.

    Returns:
        FastAPI-style problem entries; empty when the body is valid.
    """
    problems = check_body(body)
    if not isinstance(body, dict):
        return problems
    problems.extend(_check_prompt(body))
    checks = (
        check_int(body, "max_tokens", 1, None, nullable=True),
        check_number(body, "temperature", 0, 2),
        check_int(body, "n", 1, 4),
        check_bool(body, "stream"),
        check_bool(body, "echo"),
        check_int(body, "logprobs", 0, 20, nullable=True),
    )
    problems.extend(found for found in checks if found is not None)
    problems.extend(check_stream_options(body))
    return problems


@attrs.frozen
class CompletionPlan:
    """Everything a completion answers with, computed once for JSON and streaming.

    Attributes:
        id: The completion id (``cmpl-...``).
        created: Unix time the completion was created.
        model: The model id echoed back.
        materials: Seed of each choice's words.
        length: Generated tokens per choice.
        finish_reason: ``"stop"`` or ``"length"``.
        prompt_tokens: Input tokens.
        echo: The prompt text to put before each choice's text, or ``None``.
    """

    id: str
    created: int
    model: str
    materials: tuple[bytes, ...]
    length: int
    finish_reason: str
    prompt_tokens: int
    echo: str | None = None

    def usage(self, completion: int | None = None) -> dict[str, Any]:
        """Return the ``usage`` object, with DeepInfra's ``estimated_cost``.

        Args:
            completion: Completion tokens so far (all of them when ``None``).

        Returns:
            The usage.
        """
        if completion is None:
            completion = self.length * len(self.materials)
        return usage_body(self.model, self.prompt_tokens, completion)

    def text(self, index: int) -> str:
        """Generate the whole text of a choice, with the echoed prompt if any."""
        words = WordStream(self.materials[index]).take(self.length)
        generated = f" {words}" if words else ""
        return generated if self.echo is None else self.echo + generated

    def completion(self) -> dict[str, Any]:
        """Return the non-streaming ``text_completion`` body."""
        reason = self.finish_reason
        choices = [
            {"index": i, "text": self.text(i), "finish_reason": reason, "logprobs": None}
            for i in range(len(self.materials))
        ]
        return {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": self.usage(),
        }

    def events(self, settings: StreamSettings) -> Iterator[Event]:
        """Render the completion as SSE events, ``[DONE]`` included.

        Args:
            settings: Event size and usage placement.

        Yields:
            ``(event text, tokens carried)`` in sending order.
        """
        n = len(self.materials)
        # Completion tokens streamed so far over all choices, and choices still open.
        progress = {"done": 0, "open": n}
        base = {"id": self.id, "object": "text_completion", "created": self.created}
        base["model"] = self.model

        def running() -> str:
            return json.dumps(self.usage(progress["done"])) if settings.continuous else "null"

        def choice(index: int) -> Iterator[Event]:
            data = {"index": index, "text": _TEXT, "logprobs": None, "finish_reason": None}
            template = Template({**base, "choices": [data], "usage": _USAGE}, [_TEXT, _USAGE])
            if self.echo is not None:
                yield template.render(json.dumps(self.echo), running()), 0
            words = WordStream(self.materials[index])
            for text, tokens in word_pieces(
                words, self.length, settings.chunk_tokens, leading_space=True
            ):
                progress["done"] += tokens
                # Generated words are plain ASCII letters: quoting them is their JSON form.
                yield template.render(f'"{text}"', running()), tokens
            progress["open"] -= 1
            usage: Any = None
            if settings.continuous:
                usage = self.usage(progress["done"])
            elif settings.usage == "finish" and progress["open"] == 0:
                usage = self.usage()
            data = {"index": index, "text": "", "logprobs": None}
            data["finish_reason"] = self.finish_reason
            yield sse_event({**base, "choices": [data], "usage": usage}), 0

        streams = [choice(i) for i in range(n)]
        for step in itertools.zip_longest(*streams):
            yield from (event for event in step if event is not None)
        if settings.usage == "trailing":
            yield sse_event({**base, "choices": [], "usage": self.usage()}), 0
        yield DONE, 0


def _prompt_text(prompt: str | list[int]) -> str:
    if isinstance(prompt, str):
        return prompt
    return " ".join(VOCABULARY[token % len(VOCABULARY)] for token in prompt)


def plan_completion(
    emu: Emulator, body: Mapping[str, Any], model: str, controls: Controls | None = None
) -> CompletionPlan:
    """Generate the deterministic answer to a validated completions request.

    Args:
        emu: The emulator (for its seed and id generator).
        body: The validated request body.
        model: The registry id the request resolved to.
        controls: The request's ``"emulator"`` controls (``tokens`` sets the length).

    Returns:
        The plan to render as JSON or as a stream.
    """
    controls = controls or Controls()
    prompt: str | list[int] = body["prompt"]
    wanted = controls.tokens if controls.tokens is not None else DEFAULT_COMPLETION_TOKENS
    budget: int | None = body.get("max_tokens")
    length = wanted if budget is None else min(wanted, budget)
    digest = request_digest(body["model"], prompt)
    n: int = body.get("n", 1)
    return CompletionPlan(
        id=emu._new_id("cmpl-"),
        created=int(time.time()),
        model=model,
        materials=tuple(seed_material(emu.seed, digest, i) for i in range(n)),
        length=length,
        finish_reason="stop" if length == wanted else "length",
        prompt_tokens=count_words(prompt) if isinstance(prompt, str) else len(prompt),
        echo=_prompt_text(prompt) if body.get("echo") is True else None,
    )


async def completions(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST {prefix}/completions``: validate, then answer with JSON or a stream.

    Args:
        emu: The emulator.
        request: The request.
        body: Its decoded JSON body.

    Returns:
        The response (a stream is already sent when this returns).
    """
    admitted = admit_text_request(emu.models, body, validate_completion(body), "completions")
    if isinstance(admitted, web.Response):
        return admitted
    model, controls = admitted
    plan = plan_completion(emu, body, model, controls)
    if body.get("stream") is True:
        events = plan.events(stream_settings(body, controls))
        return await write_stream(emu, request, model, events, controls)
    return json_response(plan.completion())
