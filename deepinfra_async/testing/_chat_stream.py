"""Rendering a chat plan as ``chat.completion.chunk`` events, DeepInfra style.

Every delta carries ``"role": "assistant"``; a text answer starts with an empty content
delta; reasoning models send ``reasoning_content`` pieces before the content; tool calls
arrive as a header fragment per call and then argument fragments. Each choice ends with a
chunk whose delta is ``{}`` and which carries its ``finish_reason``. With several choices
the chunks interleave, one event per choice in turn.

Usage placement follows `StreamSettings`: on the last finish chunk (DeepInfra), on an extra
``"choices": []`` chunk (OpenAI), nowhere, and with ``continuous`` running usage on every
chunk.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from ._controls import StreamSettings
from ._sse_writer import DONE, Event, Template, sse_event
from ._text import WordStream, word_pieces
from ._tools import argument_pieces

if TYPE_CHECKING:
    from ._chat import ChatPlan

__all__ = ["chat_events"]

_TEXT: Final = "\x00deepinfra_async text slot\x00"
_USAGE: Final = "\x00deepinfra_async usage slot\x00"


class _Progress:
    """Tokens streamed so far over all choices, and how many choices are still open."""

    __slots__ = ("completion", "open", "plan", "reasoning")

    def __init__(self, plan: ChatPlan) -> None:
        self.plan = plan
        self.completion = 0
        self.reasoning = 0
        self.open = len(plan.choices)

    def usage(self) -> dict[str, Any]:
        return self.plan.usage(self.completion, self.reasoning)


class _Choice:
    """Renders the chunks of one choice."""

    __slots__ = ("base", "index", "progress", "settings")

    def __init__(self, index: int, progress: _Progress, settings: StreamSettings) -> None:
        plan = progress.plan
        self.index = index
        self.progress = progress
        self.settings = settings
        self.base = {
            "id": plan.id,
            "object": "chat.completion.chunk",
            "created": plan.created,
            "model": plan.model,
        }

    def _data(self, delta: Any, finish_reason: str | None, usage: Any) -> dict[str, Any]:
        choice = {"index": self.index, "delta": delta, "finish_reason": finish_reason}
        return {**self.base, "choices": [choice], "usage": usage}

    def template(self, field: str) -> Template:
        delta = {"role": "assistant", field: _TEXT}
        return Template(self._data(delta, None, _USAGE), [_TEXT, _USAGE])

    def running(self) -> str:
        return json.dumps(self.progress.usage()) if self.settings.continuous else "null"

    def chunk(self, delta: dict[str, Any]) -> str:
        usage = self.progress.usage() if self.settings.continuous else None
        return sse_event(self._data(delta, None, usage))

    def words(
        self, template: Template, material: bytes, total: int, reasoning: bool
    ) -> Iterator[Event]:
        progress = self.progress
        pieces = word_pieces(
            WordStream(material), total, self.settings.chunk_tokens, leading_space=False
        )
        for text, tokens in pieces:
            progress.completion += tokens
            if reasoning:
                progress.reasoning += tokens
            # Generated words are plain ASCII letters: quoting them is their JSON form.
            yield template.render(f'"{text}"', self.running()), tokens

    def events(self) -> Iterator[Event]:
        choice = self.progress.plan.choices[self.index]
        content = self.template("content")
        if not choice.tool_calls:
            yield content.render('""', self.running()), 0
        if choice.reasoning_length:
            reasoning = self.template("reasoning_content")
            yield from self.words(
                reasoning, choice.reasoning_material, choice.reasoning_length, True
            )
        for number, call in enumerate(choice.tool_calls):
            header: dict[str, Any] = {"index": number, "id": call.id, "type": "function"}
            header["function"] = {"name": call.name, "arguments": ""}
            yield self.chunk({"role": "assistant", "tool_calls": [header]}), 0
            for fragment, tokens in argument_pieces(call.arguments, self.settings.chunk_tokens):
                self.progress.completion += tokens
                piece = {"index": number, "function": {"arguments": fragment}}
                yield self.chunk({"role": "assistant", "tool_calls": [piece]}), tokens
        yield from self.words(content, choice.material, choice.length, False)
        yield self.finish(choice.finish_reason), 0

    def finish(self, reason: str) -> str:
        progress = self.progress
        progress.open -= 1
        usage: Any = None
        if self.settings.continuous:
            usage = progress.usage()
        elif self.settings.usage == "finish" and progress.open == 0:
            usage = progress.plan.usage()
        return sse_event(self._data({}, reason, usage))


def chat_events(plan: ChatPlan, settings: StreamSettings) -> Iterator[Event]:
    """Render a chat plan as SSE events, ``[DONE]`` included.

    Args:
        plan: The answer.
        settings: Event size and usage placement.

    Yields:
        ``(event text, tokens carried)`` in sending order.
    """
    progress = _Progress(plan)
    streams = [_Choice(i, progress, settings).events() for i in range(len(plan.choices))]
    if len(streams) == 1:
        yield from streams[0]
    else:
        for step in itertools.zip_longest(*streams):
            yield from (event for event in step if event is not None)
    if settings.usage == "trailing":
        base = {"id": plan.id, "object": "chat.completion.chunk", "created": plan.created}
        yield sse_event({**base, "model": plan.model, "choices": [], "usage": plan.usage()}), 0
    yield DONE, 0
