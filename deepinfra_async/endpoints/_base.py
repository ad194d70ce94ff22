"""What every endpoint shares: building bodies, sending them, structuring what comes back."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Final, TypeVar

import attrs
import cattrs
from yarl import URL

from .._codec import dumps, loads
from .._config import ClientConfig, Timeout, join_path, resolve_timeout
from .._errors import ResponseValidationError
from .._transport import Response, StreamResponse, Transport
from .._usage import UsageTracker
from ..types._converter import converter, fast_converter

__all__ = [
    "Resource",
    "check_model",
    "decode_json",
    "merge_options",
    "require_files",
    "structure",
]

T = TypeVar("T")


Check = Callable[[str, object], None]


def _int_at_least(minimum: int) -> Check:
    def check(name: str, value: object) -> None:
        if type(value) is not int:
            msg = f"{name} must be an int, got {type(value).__name__}"
            raise TypeError(msg)
        if value < minimum:
            msg = f"{name} must be at least {minimum}, got {value}"
            raise ValueError(msg)

    return check


def _number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number, got {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value):
        msg = f"{name} must be finite, got {value}"
        raise ValueError(msg)


def _boolean(name: str, value: object) -> None:
    if not isinstance(value, bool):
        msg = f"{name} must be a bool, got {type(value).__name__}"
        raise TypeError(msg)


def _string(name: str, value: object) -> None:
    if not isinstance(value, str):
        msg = f"{name} must be a str, got {type(value).__name__}"
        raise TypeError(msg)


def _stop(name: str, value: object) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list | tuple) or not all(isinstance(s, str) for s in value):
        msg = f"{name} must be a str or a list of str"
        raise TypeError(msg)


def _mapping(name: str, value: object) -> None:
    if not isinstance(value, Mapping):
        msg = f"{name} must be a mapping, got {type(value).__name__}"
        raise TypeError(msg)


def _models(name: str, value: object) -> None:
    if not isinstance(value, list | tuple) or not all(isinstance(m, str) and m for m in value):
        msg = f"{name} must be a list of model names"
        raise TypeError(msg)


# Checks for options whose wrong type would otherwise come back as a 422 after a round trip.
# Ranges that the server may widen (stop counts, token caps) are left to the server.
CHECKS: Final[dict[str, Check]] = {
    "max_tokens": _int_at_least(1),
    "max_completion_tokens": _int_at_least(1),
    "n": _int_at_least(1),
    "top_k": _int_at_least(0),
    "top_logprobs": _int_at_least(0),
    "seed": _int_at_least(-(2**63)),
    "temperature": _number,
    "top_p": _number,
    "min_p": _number,
    "presence_penalty": _number,
    "frequency_penalty": _number,
    "repetition_penalty": _number,
    "stream_options": _mapping,
    "response_format": _mapping,
    "reasoning": _mapping,
    "chat_template_kwargs": _mapping,
    "prompt_cache_options": _mapping,
    "stop": _stop,
    "user": _string,
    "reasoning_effort": _string,
    "service_tier": _string,
    "prompt_cache_key": _string,
    "fail_fast": _boolean,
    "echo": _boolean,
    "parallel_tool_calls": _boolean,
    "continue_final_message": _boolean,
    "ignore_eos": _boolean,
    "models": _models,
}


def require_files(files: Iterable[tuple[str, object]]) -> None:
    """Check that every path among file arguments names an existing file, before sending.

    A stat per path: cheap enough not to need a thread.

    Raises:
        ValueError: A path does not name a file (the field is named).
    """
    for name, value in files:
        source = value[1] if isinstance(value, tuple) and len(value) >= 2 else value
        if isinstance(source, os.PathLike) and not Path(source).is_file():
            msg = f"{name}: no such file: {os.fspath(source)}"
            raise ValueError(msg)


def check_model(model: object) -> str:
    """Validate a model id for the OpenAI-compatible routes.

    Raises:
        TypeError: ``model`` is not a str.
        ValueError: ``model`` is empty or has whitespace or control characters.
    """
    if not isinstance(model, str):
        msg = f"model must be a str, got {type(model).__name__}"
        raise TypeError(msg)
    if not model or model != model.strip() or not model.isprintable():
        msg = f"model must be a non-empty id without spaces or control characters, got {model!r}"
        raise ValueError(msg)
    return model


def check_stream(body: dict[str, Any], stream: object) -> None:
    """Check the ``stream`` argument and ask for a stream in ``body`` when it is ``True``.

    Raises:
        TypeError: ``stream`` is not a bool.
    """
    if stream is not False:
        if stream is not True:
            msg = f"stream must be a bool, got {stream!r}"
            raise TypeError(msg)
        body["stream"] = True


def merge_options(
    body: dict[str, Any],
    options: Mapping[str, object],
    allowed: frozenset[str],
    extra_body: Mapping[str, object] | None,
    where: str,
) -> dict[str, Any]:
    """Add the set options to ``body`` (``None`` means unset and is left out), then extras.

    Args:
        body: The body built so far; updated in place.
        options: Keyword options the caller passed.
        allowed: The option names this call knows.
        extra_body: Fields merged last, unchecked (for options this client does not know yet).
        where: The call's name, for error messages.

    Returns:
        ``body``.

    Raises:
        TypeError: An unknown option, or an option of the wrong type (named).
        ValueError: An option with an invalid value (named).
    """
    for name, value in options.items():
        if value is None:
            continue
        if name not in allowed:
            msg = f"{where}() got an unexpected keyword argument {name!r}"
            raise TypeError(msg)
        check = CHECKS.get(name)
        if check is not None:
            check(name, value)
        body[name] = value
    if extra_body:
        given: object = extra_body
        if not isinstance(given, Mapping):
            msg = f"extra_body must be a mapping, got {type(given).__name__}"
            raise TypeError(msg)
        body.update(given)
    return body


_HOOKS: dict[type[Any], Callable[[Any, Any], Any]] = {}


def _hook_for(cls: type[Any]) -> Callable[[Any, Any], Any]:
    hook = _HOOKS.get(cls)
    if hook is None:
        hook = _HOOKS[cls] = fast_converter.get_structure_hook(cls)
    return hook


def structure(cls: type[T], data: Any) -> T:
    """Structure decoded JSON into ``cls``, turning any mismatch into ResponseValidationError.

    The structuring function for each type is generated on first use (not at import) and
    kept, so each later call costs one dictionary lookup.

    Raises:
        ResponseValidationError: ``data`` does not fit ``cls``.
    """
    hook = _HOOKS.get(cls) or _hook_for(cls)
    try:
        return hook(data, cls)  # type: ignore[no-any-return]
    except Exception as exc:
        raise _validation_error(cls, data, exc) from None


def structurer(cls: type[T]) -> Callable[[Any], T]:
    """Return ``structure`` for one class, for per-item paths such as a stream's chunks.

    The hook is looked up on the first call and then held, saving the lookup per item.
    """
    hook: Callable[[Any, Any], Any] | None = None

    def structure_one(data: Any) -> T:
        nonlocal hook
        if hook is None:
            hook = _hook_for(cls)
        try:
            return hook(data, cls)  # type: ignore[no-any-return]
        except Exception as exc:
            raise _validation_error(cls, data, exc) from None

    structure_one.__name__ = structure_one.__qualname__ = f"structure_{cls.__name__}"
    return structure_one


def _validation_error(cls: type[Any], data: Any, first: Exception) -> ResponseValidationError:
    """Describe a structuring failure with every path, using the detailed converter."""
    cause: Exception
    if attrs.has(cls) and data.__class__ is not dict:
        cause = TypeError(f"expected an object, got {type(data).__name__}")
    else:
        try:
            converter.structure(data, cls)
        except Exception as exc:
            cause = exc
        else:
            # The fast path is stricter in one way: a non-object where an object belongs.
            cause = first
    if isinstance(cause, cattrs.BaseValidationError):
        detail = "; ".join(cattrs.transform_error(cause))
    else:
        detail = f"{type(cause).__name__}: {cause}"
    msg = f"the response does not match {cls.__name__}: {detail}"
    error = ResponseValidationError(msg, body=data, type_name=cls.__name__)
    error.__cause__ = cause
    return error


class Resource:
    """Base of the endpoint groups (``client.chat.completions`` and so on).

    Args:
        ready: Returns the open transport, or raises when the client cannot be used.
        config: The client's configuration.
    """

    __slots__ = ("_config", "_ready", "_url", "_usage")

    _path: ClassVar[str] = ""
    """The OpenAI-compatible route of a single-route resource, e.g. ``"/chat/completions"``."""

    def __init__(
        self, ready: Callable[[], Transport], config: ClientConfig, usage: UsageTracker
    ) -> None:
        self._ready = ready
        self._config = config
        self._usage = usage
        # Built once per client: no URL parsing or joining per request.
        self._url = join_path(config.openai_base_url, self._path)

    def _decoded(self, response: Response, model: str | None) -> Any:
        """Decode a JSON answer and count its tokens and cost for ``client.usage``."""
        data = decode_json(response)
        self._usage.add_body(model, data)
        return data

    def _stream_done(self, model: str) -> Callable[[Any], None]:
        """Return the callback a finished stream uses to count its usage."""
        return self._usage.stream_done(model)

    def _openai_url(self, path: str) -> URL:
        return join_path(self._config.openai_base_url, path)

    def _timeout(self, timeout: Timeout | float | None) -> Timeout:
        if timeout is None:
            return self._config.timeout
        return resolve_timeout(self._config.timeout, timeout)

    def _open_stream(
        self,
        url: URL,
        body: Mapping[str, Any],
        model: str | None,
        extra_headers: Mapping[str, str] | None,
        timeout: Timeout | float | None,
    ) -> Coroutine[Any, Any, StreamResponse]:
        """Open a server-sent event stream: returns the transport's coroutine, to await."""
        transport = self._ready()
        return transport.stream(
            "POST",
            url,
            body=dumps(body),
            headers=extra_headers,
            model=model,
            timeout=self._timeout(timeout),
            fail_fast=body.get("fail_fast") is True,
            event_stream=True,
        )

    def _send_json(
        self,
        method: str,
        url: URL,
        body: Mapping[str, Any] | None,
        *,
        model: str | None,
        extra_headers: Mapping[str, str] | None,
        timeout: Timeout | float | None,
        params: Mapping[str, str] | None = None,
    ) -> Coroutine[Any, Any, Response]:
        """Send a JSON request: returns the transport's coroutine, to await."""
        transport = self._ready()
        return transport.send(
            method,
            url,
            body=None if body is None else dumps(body),
            headers=extra_headers,
            params=params,
            model=model,
            timeout=self._timeout(timeout),
            fail_fast=body is not None and body.get("fail_fast") is True,
        )


def decode_json(response: Response) -> Any:
    """Decode a JSON response body and add its request id for structuring.

    Raises:
        ResponseValidationError: The body is not JSON.
    """
    try:
        data = loads(response.content)
    except ValueError as exc:
        snippet = response.content[:200].decode("utf-8", errors="replace")
        msg = f"expected a JSON body, got {snippet!r}"
        raise ResponseValidationError(msg, body=snippet) from exc
    rid = response.headers.get("x-request-id")
    if rid and type(data) is dict:
        data["request_id"] = rid
    return data
