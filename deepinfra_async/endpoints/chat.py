"""``client.chat.completions``: OpenAI-compatible chat completions, plain or streamed."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict, overload

from .._config import Timeout
from .._streaming import RECEIVED_TEXT_LIMIT, AsyncStream
from ..types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    ChatCompletionTokenLogprob,
    ChatMessage,
    Choice,
    ChoiceLogprobs,
    ChunkChoice,
    Function,
    message_to_dict,
)
from ._base import Resource, check_model, check_stream, merge_options, structure, structurer

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._transport import StreamResponse

__all__ = ["Chat", "ChatCompletionOptions", "ChatCompletionStream", "ChatCompletions"]


class ChatCompletionOptions(TypedDict, total=False):
    """Options of ``client.chat.completions.create``; ``None`` (or leaving one out) omits it.

    OpenAI names: ``max_tokens``, ``max_completion_tokens`` (sent as ``max_tokens``),
    ``temperature``, ``top_p``, ``stop``, ``n``, ``tools``, ``tool_choice``,
    ``parallel_tool_calls``, ``response_format``, ``seed``, ``logprobs``, ``top_logprobs``,
    ``presence_penalty``, ``frequency_penalty``, ``user``, ``stream_options``.
    DeepInfra extras: ``top_k``, ``min_p``, ``repetition_penalty``, ``reasoning_effort``,
    ``reasoning``, ``service_tier`` (``"default"``, ``"priority"``, ``"flex"``), ``fail_fast``
    (answer 429 at once instead of queueing; such a 429 is never retried), ``models`` (up to 4
    fallback models), ``prompt_cache_key``, ``prompt_cache_options``, ``chat_template_kwargs``,
    ``continue_final_message``, ``ignore_eos``, ``stop_token_ids``.
    """

    max_tokens: int | None
    max_completion_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop: str | Sequence[str] | None
    n: int | None
    tools: Sequence[Mapping[str, Any]] | None
    tool_choice: str | Mapping[str, Any] | None
    parallel_tool_calls: bool | None
    response_format: Mapping[str, Any] | None
    seed: int | None
    logprobs: bool | None
    top_logprobs: int | None
    presence_penalty: float | None
    frequency_penalty: float | None
    user: str | None
    stream_options: Mapping[str, Any] | None
    top_k: int | None
    min_p: float | None
    repetition_penalty: float | None
    reasoning_effort: str | None
    reasoning: Mapping[str, Any] | None
    service_tier: str | None
    fail_fast: bool | None
    models: Sequence[str] | None
    prompt_cache_key: str | None
    prompt_cache_options: Mapping[str, Any] | None
    chat_template_kwargs: Mapping[str, Any] | None
    continue_final_message: bool | None
    ignore_eos: bool | None
    stop_token_ids: Sequence[int] | None


_ALLOWED: Final = frozenset(ChatCompletionOptions.__annotations__)


def _messages(messages: object) -> list[Any]:
    """Return the messages as JSON-ready dicts, reusing the caller's list when possible."""
    if type(messages) is list:
        items = messages
    elif isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        msg = "messages must be a list of message dicts or message objects"
        raise TypeError(msg)
    else:
        items = list(messages)
    if not items:
        msg = "messages must not be empty"
        raise ValueError(msg)
    converted: list[Any] | None = None
    for i, message in enumerate(items):
        if type(message) is dict:
            if converted is not None:
                converted.append(message)
            continue
        if converted is None:
            converted = items[:i]
        if isinstance(message, Mapping):
            converted.append(dict(message))
        else:
            try:
                converted.append(message_to_dict(message))
            except Exception as exc:
                msg = f"messages[{i}] must be a dict or a message object, got {message!r}"
                raise TypeError(msg) from exc
    return items if converted is None else converted


class _ChoiceState:
    __slots__ = ("content", "finish_reason", "logprobs", "reasoning", "role", "tools")

    def __init__(self) -> None:
        # The containers are made on first use: a stream held open keeps little.
        self.role = "assistant"
        self.content: list[str] | None = None
        self.reasoning: list[str] | None = None
        self.tools: dict[int, list[Any]] | None = None  # index -> [id, type, name, [parts]]
        self.finish_reason: str | None = None
        self.logprobs: list[ChatCompletionTokenLogprob] | None = None


def _carries(choice: ChunkChoice) -> bool:
    """Whether a streamed choice adds anything to its merged message."""
    delta = choice.delta
    return bool(
        delta.content
        or delta.reasoning_content
        or delta.tool_calls
        or choice.finish_reason
        or choice.logprobs is not None
        or (delta.role and delta.role != "assistant")
    )


class ChatCompletionStream(AsyncStream[ChatCompletionChunk]):
    """A stream of :class:`ChatCompletionChunk`, able to merge itself into a completion.

    Besides iterating, ``await stream.get_final_completion()`` reads the rest and returns the
    merged :class:`ChatCompletion` (content, reasoning content and tool-call fragments joined
    by index). Merging keeps up to ``RECEIVED_TEXT_LIMIT`` characters unless
    ``get_final_completion()`` is called before iterating, which keeps everything.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_created", "_fingerprint", "_id", "_model", "_service_tier", "_states")

    def __init__(
        self,
        response: StreamResponse,
        parse: Callable[[Any], ChatCompletionChunk],
        *,
        max_event_bytes: int,
        on_done: Callable[[Any], None] | None = None,
    ) -> None:
        # Named parameters: passing ``**kwargs`` on would build a dict per stream.
        super().__init__(response, parse, max_event_bytes=max_event_bytes, on_done=on_done)
        # Made when a choice first carries something to merge: a stream held open after
        # DeepInfra's opening chunk (role only, empty content) keeps none.
        self._states: dict[int, _ChoiceState] | None = None
        # From the first chunk, for the merged completion. ``_id`` is set by the first chunk,
        # so it also says whether iterating has begun.
        self._id: str | None = None
        self._created: int | None = None
        self._model = ""
        self._service_tier: str | None = None
        self._fingerprint: str | None = None

    def _observe(self, item: ChatCompletionChunk) -> None:
        if item.usage is not None:
            self.usage = item.usage
        if self._id is None:
            self._id = item.id
            self._created = item.created
            # Streams of one model share its name instead of each keeping a copy.
            self._model = sys.intern(item.model)
            self._service_tier = item.service_tier
            self._fingerprint = item.system_fingerprint
        if self._overflowed:
            return
        for choice in item.choices:
            delta = choice.delta
            states = self._states
            state = None if states is None else states.get(choice.index)
            if state is None:
                if not _carries(choice):
                    continue
                if states is None:
                    states = self._states = {}
                state = states[choice.index] = _ChoiceState()
            if delta.role:
                state.role = delta.role
            if delta.content:
                if state.content is None:
                    state.content = [delta.content]
                else:
                    state.content.append(delta.content)
                self._received_len += len(delta.content)
            if delta.reasoning_content:
                if state.reasoning is None:
                    state.reasoning = []
                state.reasoning.append(delta.reasoning_content)
                self._received_len += len(delta.reasoning_content)
            if delta.tool_calls:
                if state.tools is None:
                    state.tools = {}
                for call in delta.tool_calls:
                    slot = state.tools.get(call.index)
                    if slot is None:
                        slot = state.tools[call.index] = [None, "function", None, []]
                    if call.id:
                        slot[0] = call.id
                    if call.type:
                        slot[1] = call.type
                    function = call.function
                    if function is not None:
                        if function.name:
                            slot[2] = function.name
                        if function.arguments:
                            slot[3].append(function.arguments)
                            self._received_len += len(function.arguments)
            if choice.finish_reason:
                state.finish_reason = choice.finish_reason
            if choice.logprobs is not None and choice.logprobs.content:
                if state.logprobs is None:
                    state.logprobs = []
                state.logprobs.extend(choice.logprobs.content)
        if not self._unbounded and self._received_len > RECEIVED_TEXT_LIMIT:
            # Stop merging: memory stays bounded however long the stream runs.
            self._overflowed = True

    @property
    def received_text(self) -> str:
        """The content of the first choice seen so far (bounded as described above)."""
        state = self._states.get(0) if self._states is not None else None
        return "".join(state.content) if state is not None and state.content else ""

    async def get_final_completion(self) -> ChatCompletion:
        """Read the rest of the stream and merge every chunk into one completion.

        Returns:
            The merged completion, with ``usage`` when the server sent it.

        Raises:
            RuntimeError: More than ``RECEIVED_TEXT_LIMIT`` characters were consumed by
                iterating before this call, so they were not all kept.
            StreamError: The stream failed or was cut short.
        """
        if self._id is None:
            self._unbounded = True
        async for _ in self:
            pass
        if self._overflowed:
            msg = (
                "the stream produced more text than is kept while iterating: call "
                "get_final_completion() before iterating to merge a stream of any size"
            )
            raise RuntimeError(msg)
        return self._merged()

    def _merged(self) -> ChatCompletion:
        choices = []
        states = self._states or {}
        for index in sorted(states):
            state = states[index]
            tool_calls = [
                ChatCompletionMessageToolCall(
                    id=slot[0] or "",
                    type=slot[1] or "function",
                    function=Function(name=slot[2] or "", arguments="".join(slot[3])),
                )
                for _, slot in sorted((state.tools or {}).items())
            ]
            message = ChatCompletionMessage(
                role=state.role,
                content="".join(state.content) if state.content else None,
                reasoning_content="".join(state.reasoning) if state.reasoning else None,
                tool_calls=tool_calls or None,
            )
            choices.append(
                Choice(
                    index=index,
                    message=message,
                    finish_reason=state.finish_reason,
                    logprobs=ChoiceLogprobs(content=state.logprobs) if state.logprobs else None,
                )
            )
        return ChatCompletion(
            id=self._id or "",
            choices=choices,
            created=self._created or 0,
            model=self._model,
            usage=self.usage,
            service_tier=self._service_tier,
            system_fingerprint=self._fingerprint,
            request_id=self.request_id,
        )


_parse_chunk: Final = structurer(ChatCompletionChunk)


class ChatCompletions(Resource):
    """``client.chat.completions``."""

    __slots__ = ()
    _path = "/chat/completions"

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[ChatMessage | ChatCompletionMessage | Mapping[str, Any]],
        stream: Literal[False] = False,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        **options: Unpack[ChatCompletionOptions],
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[ChatMessage | ChatCompletionMessage | Mapping[str, Any]],
        stream: Literal[True],
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        **options: Unpack[ChatCompletionOptions],
    ) -> ChatCompletionStream: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[ChatMessage | ChatCompletionMessage | Mapping[str, Any]],
        stream: bool,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        **options: Unpack[ChatCompletionOptions],
    ) -> ChatCompletion | ChatCompletionStream: ...

    async def create(
        self,
        *,
        model: str,
        messages: Iterable[ChatMessage | ChatCompletionMessage | Mapping[str, Any]],
        stream: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        **options: Unpack[ChatCompletionOptions],
    ) -> ChatCompletion | ChatCompletionStream:
        """Create a chat completion (``POST /chat/completions``).

        Args:
            model: Model id, e.g. ``"meta-llama/Meta-Llama-3-8B-Instruct"``.
            messages: The conversation, as dicts or message objects.
            stream: Return a :class:`ChatCompletionStream` of chunks instead of a completion.
            extra_body: Fields merged into the body last (for options not listed here).
            extra_headers: Extra headers for this call.
            timeout: Timeouts for this call (a number replaces the total).
            **options: Any of :class:`ChatCompletionOptions`.

        Returns:
            The completion, or with ``stream=True`` an open stream to use with ``async with``.

        Raises:
            TypeError: An unknown option, or an argument of the wrong type (named).
            ValueError: An argument with an invalid value (named).
            APIStatusError: The server answered with an error status.
            APIConnectionError: No usable response.
            ResponseValidationError: The response did not have the expected shape.

        .. versionadded:: 0.1.0
        """
        body: dict[str, Any] = {"model": check_model(model), "messages": _messages(messages)}
        if options:
            merge_options(body, options, _ALLOWED, None, "create")
            if "max_completion_tokens" in body:
                _rename_max_completion_tokens(body)
        check_stream(body, stream)
        if extra_body:
            merge_options(body, {}, _ALLOWED, extra_body, "create")
        # The body is encoded before the request goes out; dropping it and the options here
        # leaves a request in flight holding only its coroutine and its bytes.
        if stream:
            opening = self._open_stream(self._url, body, model, extra_headers, timeout)
            del body, options
            return ChatCompletionStream(
                await opening,
                _parse_chunk,
                max_event_bytes=self._config.limits.max_event_bytes,
                on_done=self._stream_done(model),
            )
        sending = self._send_json(
            "POST", self._url, body, model=model, extra_headers=extra_headers, timeout=timeout
        )
        del body, options
        return structure(ChatCompletion, self._decoded(await sending, model))


def _rename_max_completion_tokens(body: dict[str, Any]) -> None:
    """DeepInfra reads ``max_tokens``; send the OpenAI name under it."""
    value = body.pop("max_completion_tokens")
    current = body.get("max_tokens")
    if current is not None and current != value:
        msg = "pass either max_tokens or max_completion_tokens, not both with different values"
        raise ValueError(msg)
    body["max_tokens"] = value


class Chat:
    """``client.chat``: holds ``completions``."""

    __slots__ = ("completions",)

    def __init__(self, completions: ChatCompletions) -> None:
        self.completions = completions
