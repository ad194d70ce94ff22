"""deepinfra_async: an asyncio-first client for DeepInfra's inference API.

``async with DeepInfra() as client:`` gives one pooled aiohttp session with typed endpoints,
per-model concurrency limits, retries, timeouts and errors that say what went wrong.
"""

import contextlib

from ._batch import BatchRequest, BatchResult, BatchRunner
from ._binary import BinaryResponse
from ._client import DeepInfra
from ._codec import data_url
from ._config import UNSET, ClientConfig, Limits, RetryDetails, RetryPolicy, Timeout, Unset
from ._errors import (
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
from ._jsonl import JobSummary, run_jsonl
from ._streaming import AsyncStream
from ._transport import ClientState, Response, StreamResponse
from ._usage import ModelUsage, UsageTracker
from ._version import __version__
from .endpoints import ChatCompletionStream

__all__ = [
    "UNSET",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchRequest",
    "BatchResult",
    "BatchRunner",
    "BinaryResponse",
    "ChatCompletionStream",
    "ClientConfig",
    "ClientState",
    "ConflictError",
    "DeepInfra",
    "DeepInfraError",
    "InternalServerError",
    "JobSummary",
    "Limits",
    "LockedError",
    "ModelUsage",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "Response",
    "ResponseValidationError",
    "RetryDetails",
    "RetryPolicy",
    "StreamError",
    "StreamResponse",
    "Timeout",
    "UnprocessableEntityError",
    "Unset",
    "UsageTracker",
    "__version__",
    "data_url",
    "run_jsonl",
]

# Show the public path in reprs and tracebacks, not the private module.
_INTERNAL = ("deepinfra_async._", "deepinfra_async.endpoints")
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(_INTERNAL):
        with contextlib.suppress(AttributeError, TypeError):  # instances such as UNSET
            _obj.__module__ = __name__
del _name, _obj, _INTERNAL
