"""``client.completions``: the legacy raw-prompt completion, plain or streamed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict, overload

from .._config import Timeout
from .._streaming import AsyncStream
from ..types.completions import Completion
from ._base import Resource, check_model, check_stream, merge_options, structure, structurer

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["CompletionOptions", "Completions"]


class CompletionOptions(TypedDict, total=False):
    """Options of ``client.completions.create``; ``None`` (or leaving one out) omits it.

    ``logprobs`` is an int here (how many top tokens to return), as in OpenAI's legacy API.
    ``data`` carries images or videos for the few non-chat vision models.
    """

    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    min_p: float | None
    top_k: int | None
    n: int | None
    stop: str | Sequence[str] | None
    stop_token_ids: Sequence[int] | None
    stream_options: Mapping[str, Any] | None
    logprobs: int | None
    echo: bool | None
    presence_penalty: float | None
    frequency_penalty: float | None
    repetition_penalty: float | None
    response_format: Mapping[str, Any] | None
    user: str | None
    seed: int | None
    return_tokens_as_token_ids: bool | None
    prompt_cache_key: str | None
    prompt_cache_options: Mapping[str, Any] | None
    ignore_eos: bool | None
    service_tier: str | None
    fail_fast: bool | None
    models: Sequence[str] | None
    data: Mapping[str, Any] | None


_ALLOWED: Final = frozenset(CompletionOptions.__annotations__)


def _check_prompt(prompt: object) -> object:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt and all(type(t) is int for t in prompt):
        return prompt
    msg = "prompt must be a str or a non-empty list of token ids"
    raise TypeError(msg)


_parse: Final = structurer(Completion)


def _text(item: Completion) -> str | None:
    return item.choices[0].text if item.choices else None


def _usage(item: Completion) -> Any:
    return item.usage


class Completions(Resource):
    """``client.completions``."""

    __slots__ = ()
    _path = "/completions"

    @overload
    async def create(
        self,
        *,
        model: str,
        prompt: str | Sequence[int],
        stream: Literal[False] = False,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        **options: Unpack[CompletionOptions],
    ) -> Completion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        prompt: str | Sequence[int],
        stream: Literal[True],
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        **options: Unpack[CompletionOptions],
    ) -> AsyncStream[Completion]: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        prompt: str | Sequence[int],
        stream: bool,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        **options: Unpack[CompletionOptions],
    ) -> Completion | AsyncStream[Completion]: ...

    async def create(
        self,
        *,
        model: str,
        prompt: str | Sequence[int],
        stream: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        **options: Unpack[CompletionOptions],
    ) -> Completion | AsyncStream[Completion]:
        """Complete a raw prompt (``POST /completions``); apply the model's template yourself.

        Args:
            model: Model id.
            prompt: The prompt text, or a list of token ids.
            stream: Return an :class:`AsyncStream` of :class:`Completion` chunks.
            extra_body: Fields merged into the body last.
            extra_headers: Extra headers for this call.
            timeout: Timeouts for this call (a number replaces the total).
            **options: Any of :class:`CompletionOptions`.

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
        body: dict[str, Any] = {"model": check_model(model), "prompt": _check_prompt(prompt)}
        check_stream(body, stream)
        merge_options(body, options, _ALLOWED, extra_body, "create")
        # Only the encoded body stays alive while the request is in flight (as in chat).
        if stream:
            opening = self._open_stream(self._url, body, model, extra_headers, timeout)
            del body, options
            return AsyncStream(
                await opening,
                _parse,
                max_event_bytes=self._config.limits.max_event_bytes,
                text_of=_text,
                usage_of=_usage,
                on_done=self._stream_done(model),
            )
        sending = self._send_json(
            "POST", self._url, body, model=model, extra_headers=extra_headers, timeout=timeout
        )
        del body, options
        return structure(Completion, self._decoded(await sending, model))
