"""Legacy raw-prompt completions (``POST /completions``); streamed chunks share the shape."""

from typing import Any

import attrs

from .shared import Usage

__all__ = ["Completion", "CompletionChoice"]


@attrs.frozen(kw_only=True)
class CompletionChoice:
    """One alternative of a completion (or its next piece, in a streamed chunk).

    Attributes:
        index: Its position among the choices (``n`` in the request).
        text: The generated text (in a chunk, the next piece of it).
        finish_reason: Why generation stopped: ``"stop"``, ``"length"``...
        logprobs: Token log probabilities as the server sent them, when requested.

    .. versionadded:: 0.1.0
    """

    index: int
    text: str
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


@attrs.frozen(kw_only=True)
class Completion:
    """The answer to a completion request, or one chunk of a streamed one.

    Attributes:
        id: The completion's id.
        choices: The generated alternatives.
        created: Unix time of creation, when the server sent it.
        model: The model that served the request.
        object: ``"text_completion"``.
        usage: Token counts and ``estimated_cost`` (on the final chunk when streaming).
        request_id: DeepInfra's id for the request, when known.

    .. versionadded:: 0.1.0
    """

    id: str
    choices: list[CompletionChoice]
    created: int | None = None
    model: str
    object: str = "text_completion"
    usage: Usage | None = None
    request_id: str | None = None
