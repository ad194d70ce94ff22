"""Native text generation (the chat models on ``/v1/inference/{model}``), JSON or streamed.

The raw ``input`` prompt is continued with seeded words, the same words the legacy
completions route generates for the same prompt, without the leading space. Lengths follow
the ``tokens`` control (16 words by default), capped by ``max_new_tokens`` (finish reason
``"length"``); a ``stop`` string found in the text cuts it after the word that completes it
(``"stop_sequence"``); otherwise the model ends on its own (``"eos_token"``).

Streams are TGI style: one event per token (``chunk_tokens`` words per token), each
``{"token": {"id", "text", "logprob", "special"}, "generated_text": null, "details": null}``.
The last token event carries the whole ``generated_text`` and ``details`` (``finish_reason``,
``generated_tokens``, ``input_length``); when the model ended on its own that last event is
the special end-of-sequence token ``</s>`` (text not part of ``generated_text``). Then
``data: [DONE]``. Only the first of ``num_responses`` answers is streamed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import attrs

from ._catalogue import estimated_cost
from ._native_base import NativeCall, NativeTask, Outcome, runtime_ms
from ._schema import Field
from ._sse_writer import DONE, Event, Template, sse_event
from ._text import (
    DEFAULT_COMPLETION_TOKENS,
    VOCABULARY,
    WordStream,
    count_words,
    request_digest,
    seed_material,
    word_pieces,
)

__all__ = ["EOS_TOKEN", "TEXT_GENERATION", "TextPlan", "plan_text"]

#: The end-of-sequence token a stream ends with when the model stopped on its own.
EOS_TOKEN: Final = {"id": 2, "text": "</s>", "logprob": -0.0135, "special": True}

_TOKEN_IDS: Final = {word: 1000 + index for index, word in enumerate(VOCABULARY)}
_ID: Final = "\x00deepinfra_async id slot\x00"
_TEXT: Final = "\x00deepinfra_async text slot\x00"
_LOGPROB: Final = "\x00deepinfra_async logprob slot\x00"
_TEMPLATE: Final = Template(
    {
        "token": {"id": _ID, "text": _TEXT, "logprob": _LOGPROB, "special": False},
        "generated_text": None,
        "details": None,
    },
    [_ID, _TEXT, _LOGPROB],
)

_FIELDS: Final = (
    Field("input", "str", required=True),
    Field("stream", "bool"),
    Field("max_new_tokens", "int", low=1),
    Field("temperature", "number", low=0, high=100),
    Field("top_p", "number", low=0, high=1),
    Field("top_k", "int", low=0),
    Field("repetition_penalty", "number", low=0.01, high=5),
    Field("presence_penalty", "number", low=-2, high=2),
    Field("frequency_penalty", "number", low=-2, high=2),
    Field("stop", "str_or_list", high=16),
    Field("num_responses", "int", low=1, high=4),
    Field("response_format", "dict"),
    Field("seed", "int"),
)


@attrs.frozen
class TextPlan:
    """The deterministic answer to a native text-generation call.

    Attributes:
        materials: Seed of each response's words.
        lengths: Words generated per response.
        finish_reasons: Per response: ``"length"``, ``"stop_sequence"`` or ``"eos_token"``.
        input_tokens: Words in the prompt.
    """

    materials: tuple[bytes, ...]
    lengths: tuple[int, ...]
    finish_reasons: tuple[str, ...]
    input_tokens: int

    def text(self, index: int) -> str:
        """Return the generated text of one response."""
        return WordStream(self.materials[index]).take(self.lengths[index])


def _cut(text: str, stops: list[str]) -> int | None:
    """Return how many words to keep when a stop string occurs in ``text``."""
    ends = [text.find(stop) + len(stop) for stop in stops if stop and stop in text]
    if not ends:
        return None
    return len(text[: min(ends)].split())


def plan_text(call: NativeCall) -> TextPlan:
    """Plan the answer to a validated text-generation call.

    Args:
        call: The call.

    Returns:
        The plan, shared by the JSON answer and the stream.
    """
    body = call.body
    prompt: str = body["input"]
    controls = call.controls
    wanted = controls.tokens if controls.tokens is not None else DEFAULT_COMPLETION_TOKENS
    cap: int | None = body.get("max_new_tokens")
    stop = body.get("stop") or []
    stops: list[str] = [stop] if isinstance(stop, str) else stop
    digest = request_digest(call.model, prompt)
    materials, lengths, reasons = [], [], []
    for index in range(body.get("num_responses") or 1):
        material = seed_material(call.emu.seed, digest, index)
        length = wanted if cap is None else min(wanted, cap)
        reason = "eos_token" if length == wanted else "length"
        kept = _cut(WordStream(material).take(length), stops) if stops else None
        if kept is not None:
            length, reason = kept, "stop_sequence"
        materials.append(material)
        lengths.append(length)
        reasons.append(reason)
    return TextPlan(tuple(materials), tuple(lengths), tuple(reasons), count_words(prompt))


def _run(call: NativeCall) -> Outcome:
    plan = plan_text(call)
    generated = sum(plan.lengths)
    output = {
        "results": [{"generated_text": plan.text(i)} for i in range(len(plan.materials))],
        "num_tokens": generated,
        "num_input_tokens": plan.input_tokens,
    }
    cost = estimated_cost(call.model, plan.input_tokens, generated)
    return Outcome(
        output, cost, runtime_ms(30, 12, generated), tokens=(plan.input_tokens, generated)
    )


def _logprob(index: int) -> str:
    return repr(-((index + 1) * 7919 % 1000) / 1000)


def _events(call: NativeCall) -> Iterator[Event]:
    plan = plan_text(call)
    length, reason = plan.lengths[0], plan.finish_reasons[0]
    details = {
        "finish_reason": reason,
        "generated_tokens": length,
        "input_length": plan.input_tokens,
    }
    per = max(call.controls.chunk_tokens, 1)
    count = -(-length // per)
    words = WordStream(plan.materials[0])
    pieces: list[str] = []
    for index, (text, tokens) in enumerate(word_pieces(words, length, per, leading_space=False)):
        pieces.append(text)
        token_id = _TOKEN_IDS[text.lstrip(" ").split(" ", 1)[0]]
        if index == count - 1 and reason != "eos_token":
            token = {"id": token_id, "text": text, "logprob": float(_logprob(index))}
            token["special"] = False
            last = {"token": token, "generated_text": "".join(pieces), "details": details}
            yield sse_event(last), tokens
        else:
            # Generated words are plain ASCII letters: quoting them is their JSON form.
            yield _TEMPLATE.render(str(token_id), f'"{text}"', _logprob(index)), tokens
    if reason == "eos_token":
        last = {"token": EOS_TOKEN, "generated_text": "".join(pieces), "details": details}
        yield sse_event(last), 0
    yield DONE, 0


#: The text-generation task.
TEXT_GENERATION: Final = NativeTask(_FIELDS, _run, stream=_events)
