"""Chat completions: the response, its streamed chunks, and the messages a request sends.

Response classes are named as in the OpenAI Python SDK so code ports over. Request messages
can be given as these classes or as plain dicts; :func:`message_to_dict` turns a message
object into the JSON-ready dict that is sent, leaving out every field that is ``None``.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from .shared import Usage

__all__ = [
    "AssistantMessage",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "ChatMessage",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "ContentPart",
    "Function",
    "ImageURLPart",
    "SystemMessage",
    "TextPart",
    "ToolMessage",
    "TopLogprob",
    "UserMessage",
    "message_to_dict",
]

# -- Responses ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TopLogprob:
    """One of the most likely tokens at a position.

    Attributes:
        token: The token text.
        logprob: Its log probability.
        bytes: The UTF-8 bytes of the token, when the server sends them.

    .. versionadded:: 0.1.0
    """

    token: str
    logprob: float
    bytes: list[int] | None = None


@attrs.frozen(kw_only=True)
class ChatCompletionTokenLogprob:
    """The log probability of one generated token, with the most likely alternatives.

    Attributes:
        token: The token text.
        logprob: Its log probability.
        bytes: The UTF-8 bytes of the token, when the server sends them.
        top_logprobs: The most likely tokens at this position (``top_logprobs`` in the
            request sets how many).

    .. versionadded:: 0.1.0
    """

    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class ChoiceLogprobs:
    """Log probabilities of a choice's tokens (requested with ``logprobs=True``).

    Attributes:
        content: One entry per generated token.

    .. versionadded:: 0.1.0
    """

    content: list[ChatCompletionTokenLogprob] | None = None


@attrs.frozen(kw_only=True)
class Function:
    """The function a tool call invokes.

    Attributes:
        name: The function's name.
        arguments: Its arguments as a JSON string, as generated (it may not be valid JSON).

    .. versionadded:: 0.1.0
    """

    name: str
    arguments: str


@attrs.frozen(kw_only=True)
class ChatCompletionMessageToolCall:
    """A tool call made by the model.

    Attributes:
        id: The call's id, echoed back as ``tool_call_id`` in the tool's answer.
        function: The function called and its arguments.
        type: Always ``"function"`` today.

    .. versionadded:: 0.1.0
    """

    id: str
    function: Function
    type: str = "function"


@attrs.frozen(kw_only=True)
class ChatCompletionMessage:
    """The message the model generated.

    It can be sent back as history: :func:`message_to_dict` accepts it.

    Attributes:
        role: ``"assistant"``.
        content: The text, or ``None`` (for instance when the model only called tools).
        reasoning_content: The thinking text of reasoning models.
        tool_calls: The tool calls the model made, if any.
        name: The name of the author, if the server set one.

    .. versionadded:: 0.1.0
    """

    role: str = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    name: str | None = None


@attrs.frozen(kw_only=True)
class Choice:
    """One alternative of a chat completion.

    Attributes:
        index: Its position among the choices (``n`` in the request).
        message: The generated message.
        finish_reason: Why generation stopped: ``"stop"``, ``"length"``, ``"tool_calls"``...
        logprobs: Token log probabilities, when requested.

    .. versionadded:: 0.1.0
    """

    index: int
    message: ChatCompletionMessage
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


@attrs.frozen(kw_only=True)
class ChatCompletion:
    """The answer to a chat completion request (``POST /chat/completions``).

    Attributes:
        id: The completion's id.
        choices: The generated alternatives.
        created: Unix time of creation, when the server sent it.
        model: The model that served the request (with ``models=[...]`` fallbacks, the one
            that answered).
        object: ``"chat.completion"``.
        usage: Token counts and ``estimated_cost``.
        service_tier: The tier that actually served the request.
        system_fingerprint: The backend configuration, when reported.
        request_id: DeepInfra's id for the request, when known.

    .. versionadded:: 0.1.0
    """

    id: str
    choices: list[Choice]
    created: int | None = None
    model: str
    object: str = "chat.completion"
    usage: Usage | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None
    request_id: str | None = None


# -- Streaming ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ChoiceDeltaToolCallFunction:
    """A fragment of a streamed tool call's function.

    Attributes:
        name: The function name (usually in the first fragment only).
        arguments: The next piece of the JSON arguments; join the pieces in order.

    .. versionadded:: 0.1.0
    """

    name: str | None = None
    arguments: str | None = None


@attrs.frozen(kw_only=True)
class ChoiceDeltaToolCall:
    """A fragment of a streamed tool call; fragments with the same ``index`` belong together.

    Attributes:
        index: Which tool call of the message this fragment continues.
        id: The call's id (usually in the first fragment only).
        type: ``"function"`` (usually in the first fragment only).
        function: The function name and a piece of the arguments.

    .. versionadded:: 0.1.0
    """

    index: int
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None


@attrs.frozen(kw_only=True)
class ChoiceDelta:
    """What one streamed chunk adds to a choice's message.

    DeepInfra repeats ``role`` in every delta and sends an empty delta with the finish reason.

    Attributes:
        role: ``"assistant"``, when sent.
        content: The next piece of text.
        reasoning_content: The next piece of thinking text (reasoning models stream it first).
        tool_calls: Tool-call fragments.

    .. versionadded:: 0.1.0
    """

    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None


@attrs.frozen(kw_only=True)
class ChunkChoice:
    """One choice in a streamed chunk.

    Attributes:
        index: Which choice this continues.
        delta: What this chunk adds.
        finish_reason: Set on the choice's last chunk.
        logprobs: Log probabilities of this chunk's tokens, when requested.

    .. versionadded:: 0.1.0
    """

    index: int
    delta: ChoiceDelta
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


@attrs.frozen(kw_only=True)
class ChatCompletionChunk:
    """One event of a streamed chat completion.

    On DeepInfra the chunk that carries ``finish_reason`` also carries ``usage``.

    Attributes:
        id: The completion's id (the same in every chunk).
        choices: The choices this chunk continues (empty on a usage-only chunk).
        created: Unix time of creation, when the server sent it.
        model: The model that serves the request.
        object: ``"chat.completion.chunk"``.
        usage: Token counts and ``estimated_cost``, on the final chunk.
        service_tier: The tier that serves the request.
        system_fingerprint: The backend configuration, when reported.
        request_id: DeepInfra's id for the request, when known.

    .. versionadded:: 0.1.0
    """

    id: str
    choices: list[ChunkChoice]
    created: int | None = None
    model: str
    object: str = "chat.completion.chunk"
    usage: Usage | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None
    request_id: str | None = None


# -- Request messages ---------------------------------------------------------------------


@attrs.frozen
class TextPart:
    """A text part of a message's content: ``{"type": "text", "text": ...}``.

    Attributes:
        text: The text.

    .. versionadded:: 0.1.0
    """

    type: Literal["text"] = attrs.field(default="text", init=False)
    text: str


@attrs.frozen
class ImageURLPart:
    """An image part of a user message's content.

    Sent as ``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}``.

    Attributes:
        url: An ``https://`` URL or a ``data:image/...;base64,...`` URL (see ``data_url()``).
        detail: ``"auto"``, ``"low"`` or ``"high"``; left out when ``None``.

    .. versionadded:: 0.1.0
    """

    type: Literal["image_url"] = attrs.field(default="image_url", init=False)
    url: str
    detail: str | None = None


ContentPart: TypeAlias = TextPart | ImageURLPart
"""A typed content part. Other kinds (audio, video, files) can be given as dicts."""


@attrs.frozen
class SystemMessage:
    """A system message: instructions for the model.

    Attributes:
        content: The text, or a list of text parts.
        name: An optional name for the author.

    .. versionadded:: 0.1.0
    """

    role: Literal["system"] = attrs.field(default="system", init=False)
    content: str | Sequence[TextPart | Mapping[str, Any]]
    name: str | None = None


@attrs.frozen
class UserMessage:
    """A user message.

    Attributes:
        content: The text, or a list of parts (:class:`TextPart`, :class:`ImageURLPart`, or
            dicts for the part kinds without a class here).
        name: An optional name for the author.

    .. versionadded:: 0.1.0
    """

    role: Literal["user"] = attrs.field(default="user", init=False)
    content: str | Sequence[ContentPart | Mapping[str, Any]]
    name: str | None = None


@attrs.frozen
class AssistantMessage:
    """An earlier answer of the model, sent back as history.

    Attributes:
        content: The text, or ``None`` when the model only called tools.
        name: An optional name for the author.
        tool_calls: The tool calls it made (objects, or dicts to echo back extra fields).
        reasoning_content: Its thinking text, for models that take it back.

    .. versionadded:: 0.1.0
    """

    role: Literal["assistant"] = attrs.field(default="assistant", init=False)
    content: str | Sequence[TextPart | Mapping[str, Any]] | None = None
    name: str | None = None
    tool_calls: Sequence[ChatCompletionMessageToolCall | Mapping[str, Any]] | None = None
    reasoning_content: str | None = None


@attrs.frozen
class ToolMessage:
    """The result of a tool call, answering the call with id ``tool_call_id``.

    Attributes:
        content: The tool's output.
        tool_call_id: The ``id`` of the tool call this answers.

    .. versionadded:: 0.1.0
    """

    role: Literal["tool"] = attrs.field(default="tool", init=False)
    content: str | Sequence[TextPart | Mapping[str, Any]]
    tool_call_id: str


ChatMessage: TypeAlias = SystemMessage | UserMessage | AssistantMessage | ToolMessage
"""Any request message class."""

_Unstructure = Callable[[Any], Any]


def _image_url_part_to_dict(part: ImageURLPart) -> dict[str, Any]:
    image_url = {"url": part.url}
    if part.detail is not None:
        image_url["detail"] = part.detail
    return {"type": "image_url", "image_url": image_url}


def _build_request_hooks() -> dict[type[Any], _Unstructure]:
    """Generate the unstructure function of each request-side class, once.

    ChatCompletionMessage gets one too, so an answer can be sent back as history.

    Every field that is ``None`` is left out and ``role``/``type`` come first. Fields that
    may hold either typed objects or dicts get a small hand-written hook instead of cattrs'
    union dispatch, which would look the hook up again for every value.
    """
    base = cattrs.Converter()
    text_part = make_dict_unstructure_fn(TextPart, base, type=override(omit=False))
    parts: dict[type[Any], _Unstructure] = {
        TextPart: text_part,
        ImageURLPart: _image_url_part_to_dict,
    }
    tool_call = make_dict_unstructure_fn(ChatCompletionMessageToolCall, base)

    def part_to_json(part: Any) -> Any:
        hook = parts.get(part.__class__)
        if hook is not None:
            return hook(part)
        if isinstance(part, Mapping):
            return part if type(part) is dict else dict(part)
        msg = f"a content part must be TextPart, ImageURLPart or a dict, got {part!r}"
        raise TypeError(msg)

    def content_to_json(content: Any) -> Any:
        if content.__class__ is str:
            return content
        return [part_to_json(part) for part in content]

    def tool_calls_to_json(calls: Any) -> list[Any]:
        out = []
        for call in calls:
            if call.__class__ is ChatCompletionMessageToolCall:
                out.append(tool_call(call))
            elif isinstance(call, Mapping):
                out.append(call if type(call) is dict else dict(call))
            else:
                msg = f"a tool call must be ChatCompletionMessageToolCall or a dict, got {call!r}"
                raise TypeError(msg)
        return out

    role = override(omit=False, omit_if_default=False)
    content = override(unstruct_hook=content_to_json)
    calls = override(unstruct_hook=tool_calls_to_json)
    hooks: dict[type[Any], _Unstructure] = dict(parts)
    cls: type[Any]
    for cls in (SystemMessage, UserMessage, ToolMessage):
        hooks[cls] = make_dict_unstructure_fn(
            cls, base, _cattrs_omit_if_default=True, role=role, content=content
        )
    for cls in (AssistantMessage, ChatCompletionMessage):
        hooks[cls] = make_dict_unstructure_fn(
            cls, base, _cattrs_omit_if_default=True, role=role, content=content, tool_calls=calls
        )
    return hooks


_HOOKS: Final = _build_request_hooks()
_MESSAGE_HOOKS: Final = {
    cls: _HOOKS[cls]
    for cls in (SystemMessage, UserMessage, AssistantMessage, ToolMessage, ChatCompletionMessage)
}
_REQUEST_UNSTRUCTURE_HOOKS: Final = {
    cls: _HOOKS[cls]
    for cls in (SystemMessage, UserMessage, AssistantMessage, ToolMessage, TextPart, ImageURLPart)
}
"""The request-side classes' unstructure functions, registered by ``configure_converter``."""


def message_to_dict(message: ChatMessage | ChatCompletionMessage) -> dict[str, Any]:
    """Turn a message object into the dict sent to the API.

    ``role`` comes first and fields that are ``None`` are left out. A
    :class:`ChatCompletionMessage` from an earlier answer is accepted too, so it can be
    appended to the history as it is.

    Args:
        message: The message.

    Returns:
        A new JSON-ready dict.

    Raises:
        TypeError: ``message`` is not one of the message classes.

    .. versionadded:: 0.1.0
    """
    hook = _MESSAGE_HOOKS.get(message.__class__)
    if hook is None:
        msg = f"expected a message object (SystemMessage, UserMessage...), got {message!r}"
        raise TypeError(msg)
    result: dict[str, Any] = hook(message)
    return result
