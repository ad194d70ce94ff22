"""Every exception the client raises, and how error bodies become messages.

The tree::

    DeepInfraError
    ├── APIStatusError                  the server answered with a 4xx/5xx status
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401 (also raised before sending when no key is set)
    │   ├── PaymentRequiredError        402
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   ├── UnprocessableEntityError    422
    │   ├── LockedError                 423
    │   ├── RateLimitError              429 (adds ``retry_after``)
    │   └── InternalServerError         >= 500
    ├── APIConnectionError              no usable response: connect failed, connection lost
    │   └── APITimeoutError             connect, pool, read or total timeout (also a TimeoutError)
    ├── StreamError                     in-band error event, or a stream cut before its end
    └── ResponseValidationError         a body that does not match its type (also a ValueError)

Misuse of the client itself (closed client, wrong event loop) raises ``RuntimeError``; bad
arguments raise ``ValueError`` or ``TypeError`` naming the argument, before anything is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DeepInfraError",
    "InternalServerError",
    "LockedError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "StreamError",
    "UnprocessableEntityError",
    "error_class_for_status",
    "extract_message",
]

_MAX_TEXT: Final = 500


class DeepInfraError(Exception):
    """Root of every error raised by ``deepinfra_async``.

    .. versionadded:: 0.1.0
    """


class APIStatusError(DeepInfraError):
    """The server answered with an error status.

    Attributes:
        status: The HTTP status code.
        message: A human-readable message taken from the body (every shape DeepInfra uses).
        body: The decoded JSON body, the body text when it is not JSON, or ``None`` when empty.
        request_id: The request id from the ``x-request-id`` header or the body, if any.
        headers: The response headers.
        code: The OpenAI-style ``error.code``, when the body has one.
        type: The OpenAI-style ``error.type``, when the body has one.
        param: The OpenAI-style ``error.param``, when the body has one.

    .. versionadded:: 0.1.0
    """

    status_code: ClassVar[int | None] = None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: object = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.body = body
        self.request_id = request_id
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        inner = body.get("error") if isinstance(body, dict) else None
        inner = inner if isinstance(inner, dict) else {}
        self.code: object = inner.get("code")
        self.type: object = inner.get("type")
        self.param: object = inner.get("param")
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.status} {type(self).__name__}: {self.message}"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_status_error,
            (type(self), self.message, self.status, self.body, self.request_id, dict(self.headers)),
        )


def _rebuild_status_error(
    cls: type[APIStatusError],
    message: str,
    status: int,
    body: object,
    request_id: str | None,
    headers: dict[str, str],
) -> APIStatusError:
    return cls(message, status=status, body=body, request_id=request_id, headers=headers)


class BadRequestError(APIStatusError):
    """400: the request is malformed, or prompt plus output exceed the context window."""

    status_code = 400


class AuthenticationError(APIStatusError):
    """401: the API key is missing or invalid.

    Also raised before anything is sent when the client has no API key at all.
    """

    status_code = 401


class PaymentRequiredError(APIStatusError):
    """402: the account needs funding."""

    status_code = 402


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this model or resource (e.g. a scoped token's limits)."""

    status_code = 403


class NotFoundError(APIStatusError):
    """404: unknown model, object or route."""

    status_code = 404


class ConflictError(APIStatusError):
    """409: the resource is in a conflicting state."""

    status_code = 409


class UnprocessableEntityError(APIStatusError):
    """422: the body failed the server's schema validation."""

    status_code = 422


class LockedError(APIStatusError):
    """423: the model is locked (typically not ready to serve yet)."""

    status_code = 423


class RateLimitError(APIStatusError):
    """429: over the concurrency cap, the model is busy, or ``fail_fast`` found no capacity.

    Attributes:
        retry_after: Seconds the server asked to wait (``retry-after-ms`` or ``Retry-After``),
            or ``None`` when it did not say.
    """

    status_code = 429

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        body: object = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, body=body, request_id=request_id, headers=headers)


class InternalServerError(APIStatusError):
    """A status of 500 or above."""


_STATUS_CLASSES: Final[dict[int | None, type[APIStatusError]]] = {
    cls.status_code: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PaymentRequiredError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        LockedError,
        RateLimitError,
    )
}


def error_class_for_status(status: int) -> type[APIStatusError]:
    """Return the most specific error class for an HTTP status.

    Args:
        status: The HTTP status code (400 or more).

    Returns:
        The subclass for that status, ``InternalServerError`` for 5xx, else ``APIStatusError``.
    """
    cls = _STATUS_CLASSES.get(status)
    if cls is not None:
        return cls
    return InternalServerError if status >= 500 else APIStatusError


class APIConnectionError(DeepInfraError):
    """No usable response: the connection failed, was refused, or was lost.

    Attributes:
        request_sent: ``False`` when the failure happened before the request went out
            (such failures are safe to retry).
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        self.message = message
        self.request_sent = request_sent
        super().__init__(message)


class APITimeoutError(APIConnectionError, TimeoutError):
    """A connect, pool, read or total timeout expired.

    Attributes:
        phase: Which timeout expired: ``"connect"``, ``"pool"``, ``"read"`` or ``"total"``.
    """

    def __init__(self, message: str, *, phase: str, request_sent: bool = True) -> None:
        self.phase = phase
        super().__init__(message, request_sent=request_sent)


class StreamError(DeepInfraError):
    """A stream ended badly: an in-band error event, or the connection closed before its end.

    Attributes:
        message: What went wrong.
        body: The decoded error event, when the server sent one.
        error_type: The event's ``error_type``, when it had one.
        received: The text received on the stream before the failure.
        request_id: The stream's request id, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        body: object = None,
        error_type: str | None = None,
        received: str = "",
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.body = body
        self.error_type = error_type
        self.received = received
        self.request_id = request_id
        super().__init__(message)


class ResponseValidationError(DeepInfraError, ValueError):
    """The server's body did not match the expected type.

    The cattrs error group is kept as ``__cause__``.

    Attributes:
        body: The decoded body that failed to structure.
        type_name: The name of the type it was structured into.
    """

    def __init__(self, message: str, *, body: object = None, type_name: str = "") -> None:
        self.message = message
        self.body = body
        self.type_name = type_name
        super().__init__(message)


_TAG_RE: Final = re.compile(r"<[^>]+>")
_TITLE_RE: Final = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SPACE_RE: Final = re.compile(r"\s+")


def _from_detail_list(items: list[Any]) -> str | None:
    """Join FastAPI validation items as ``loc: msg`` (shape B)."""
    parts: list[str] = []
    for item in items:
        if isinstance(item, dict):
            msg = item.get("msg") or item.get("message")
            loc = item.get("loc")
            if isinstance(loc, list) and loc:
                where = ".".join(str(p) for p in loc)
                parts.append(f"{where}: {msg}" if msg else where)
            elif msg:
                parts.append(str(msg))
        elif isinstance(item, str) and item:
            parts.append(item)
    return "; ".join(parts) or None


def _from_json(value: object, depth: int = 0) -> str | None:
    """Find the message in a decoded error body of any known shape."""
    if depth > 4:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") and depth < 4:
            # In-band stream errors wrap a JSON-encoded OpenAI error in ``error_message``.
            try:
                nested = json.loads(text)
            except ValueError:
                return text or None
            return _from_json(nested, depth + 1) or text
        return text or None
    if isinstance(value, list):
        return _from_detail_list(value)
    if not isinstance(value, dict):
        return None
    for key in ("error", "detail", "error_message", "message", "msg"):
        if key in value:
            found = _from_json(value[key], depth + 1)
            if found:
                return found
    return None


def _from_text(text: str) -> str | None:
    """Make a short message out of a non-JSON body (HTML pages from proxies, plain text)."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.startswith("<"):
        title = _TITLE_RE.search(stripped)
        if title:
            found = _SPACE_RE.sub(" ", title.group(1)).strip()
            if found:
                return found
        stripped = _TAG_RE.sub(" ", stripped)
    collapsed = _SPACE_RE.sub(" ", stripped).strip()
    if len(collapsed) > _MAX_TEXT:
        collapsed = collapsed[:_MAX_TEXT] + "…"
    return collapsed or None


def extract_message(body: object, *, status: int, reason: str | None = None) -> str:
    """Return the most useful human-readable message for an error response.

    Understands every body shape DeepInfra uses: OpenAI ``{"error": {"message": ...}}``, FastAPI
    ``{"detail": [...]}`` lists, ``{"error": "..."}``, ``{"detail": {"error": ...}}``,
    ``{"detail": "..."}``, in-band ``{"error_type", "error_message"}`` events (whose message may
    itself be JSON), plain text and HTML pages, and empty bodies.

    Args:
        body: The decoded JSON body, the raw text when it was not JSON, or ``None``.
        status: The HTTP status, used when the body says nothing.
        reason: The HTTP reason phrase, used when the body says nothing.

    Returns:
        The message; never empty.
    """
    found = _from_text(body) if isinstance(body, str) else _from_json(body)
    if found:
        return found
    phrase = f"HTTP {status} {reason}" if reason else f"HTTP {status}"
    return f"{phrase} (empty body)" if body in (None, "", b"") else phrase
