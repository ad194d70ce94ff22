"""Error classes and message extraction from every body shape DeepInfra uses."""

from __future__ import annotations

import pickle

import pytest

from deepinfra_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeepInfraError,
    InternalServerError,
    LockedError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    StreamError,
    UnprocessableEntityError,
)
from deepinfra_async._errors import error_class_for_status, extract_message


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (423, LockedError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (599, InternalServerError),
        (405, APIStatusError),
        (410, APIStatusError),
        (413, APIStatusError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[APIStatusError]) -> None:
    """Each status that matters has its own class; others fall back to the base class."""
    assert error_class_for_status(status) is cls


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A: OpenAI style
        (
            {
                "error": {
                    "message": "Not authenticated",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
            "Not authenticated",
        ),
        ({"error": {"message": "Model busy, retry later"}}, "Model busy, retry later"),
        # B: FastAPI validation list
        (
            {
                "detail": [
                    {"loc": ["body", "messages", 0, "role"], "msg": "bad role", "type": "x"},
                    {"loc": ["body", "model"], "msg": "field required", "type": "missing"},
                ]
            },
            "body.messages.0.role: bad role; body.model: field required",
        ),
        # C and H: single string
        ({"error": "Model not found"}, "Model not found"),
        ({"error": "Unauthorised"}, "Unauthorised"),
        # D: nested detail
        ({"detail": {"error": "image too large"}}, "image too large"),
        ({"detail": "Invalid rerank input"}, "Invalid rerank input"),
        # E: in-band event whose message is itself an OpenAI error in JSON
        (
            {
                "error_type": "validation_error",
                "error_message": '{"error": {"message": "context too long"}}',
            },
            "context too long",
        ),
        ({"error_type": "overloaded", "error_message": "try later"}, "try later"),
        # F: FastAPI default 404
        ({"detail": "Not Found"}, "Not Found"),
        # top-level message
        (
            {"message": "Input should be 'tool'", "param": "messages.0.role"},
            "Input should be 'tool'",
        ),
    ],
)
def test_extract_message_json_shapes(body: object, expected: str) -> None:
    """Every JSON error shape from the reference yields its human message."""
    assert extract_message(body, status=400, reason="Bad Request") == expected


def test_extract_message_empty_body_uses_status_and_reason() -> None:
    """An empty body (shape G) falls back to the status line and says the body was empty."""
    assert extract_message(None, status=405, reason="Method Not Allowed") == (
        "HTTP 405 Method Not Allowed (empty body)"
    )
    assert extract_message("", status=502, reason=None) == "HTTP 502 (empty body)"


def test_extract_message_html_page_uses_title() -> None:
    """An HTML page from a proxy is reduced to its title, not dumped whole."""
    html = (
        "<html><head><title>502 Bad Gateway</title></head>"
        "<body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>"
    )
    assert extract_message(html, status=502, reason="Bad Gateway") == "502 Bad Gateway"


def test_extract_message_html_without_title_strips_tags_and_truncates() -> None:
    """Untitled HTML loses its tags, and long text is cut to a readable length."""
    html = "<div><p>upstream</p> <b>failed</b></div>"
    assert extract_message(html, status=503, reason=None) == "upstream failed"
    long_text = "x" * 2000
    message = extract_message(long_text, status=500, reason=None)
    assert len(message) <= 501
    assert message.endswith("…")


def test_extract_message_unknown_json_falls_back_to_status() -> None:
    """JSON without any known key falls back to the status line, never an empty message."""
    assert extract_message({"foo": 1}, status=500, reason="Internal Server Error") == (
        "HTTP 500 Internal Server Error"
    )
    assert extract_message({"error": {}}, status=418, reason=None) == "HTTP 418"


def test_status_error_fields_and_str() -> None:
    """A status error carries status, body, request id, headers and OpenAI error fields."""
    body = {
        "error": {"message": "nope", "type": "invalid_request_error", "code": "bad", "param": "x"}
    }
    exc = BadRequestError(
        "nope", status=400, body=body, request_id="req-1", headers={"x-request-id": "req-1"}
    )
    assert exc.status == 400
    assert exc.body is body
    assert exc.code == "bad"
    assert exc.type == "invalid_request_error"
    assert exc.param == "x"
    assert str(exc) == "400 BadRequestError: nope (request_id=req-1)"
    assert isinstance(exc, APIStatusError)
    assert isinstance(exc, DeepInfraError)


def test_rate_limit_error_has_retry_after_and_pickles() -> None:
    """RateLimitError keeps retry_after, and status errors survive pickling (for process pools)."""
    exc = RateLimitError("busy", body={"error": "busy"}, retry_after=1.5)
    assert exc.status == 429
    assert exc.retry_after == 1.5
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is RateLimitError
    assert clone.message == "busy"
    assert clone.body == {"error": "busy"}


def test_timeout_error_is_connection_error_and_builtin_timeout() -> None:
    """APITimeoutError is both an APIConnectionError and a builtin TimeoutError."""
    exc = APITimeoutError("slow", phase="read")
    assert isinstance(exc, APIConnectionError)
    assert isinstance(exc, TimeoutError)
    assert exc.phase == "read"
    assert exc.request_sent is True


def test_other_errors_share_the_root() -> None:
    """Stream and validation errors are DeepInfraErrors; validation is also a ValueError."""
    stream = StreamError("cut", received="partial", error_type="x")
    assert isinstance(stream, DeepInfraError)
    assert stream.received == "partial"
    validation = ResponseValidationError("bad", body={"a": 1}, type_name="ChatCompletion")
    assert isinstance(validation, ValueError)
    assert isinstance(validation, DeepInfraError)
