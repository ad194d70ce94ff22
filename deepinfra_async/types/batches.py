"""Typed results of the Files and Batches API (DeepInfra's server-side batch processing)."""

from typing import Any

import attrs

__all__ = [
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchList",
    "BatchRequestCounts",
    "FileDeleted",
    "FileList",
    "FileObject",
]


@attrs.frozen(kw_only=True)
class FileObject:
    """An uploaded file (``POST /files``, ``GET /files/{id}``).

    Attributes:
        id: The file id, ``file-...``.
        bytes: Size in bytes.
        created_at: Unix time of the upload.
        expires_at: Unix time it expires, if it does.
        filename: The uploaded name.
        purpose: ``batch``, ``batch_output`` ...
        request_id: DeepInfra's request id, when known.

    .. versionadded:: 0.1.0
    """

    id: str
    bytes: int | None = None
    created_at: int | None = None
    expires_at: int | None = None
    filename: str | None = None
    purpose: str | None = None
    object: str = "file"
    request_id: str | None = None


@attrs.frozen(kw_only=True)
class FileList:
    """A page of files (``GET /files``).

    .. versionadded:: 0.1.0
    """

    data: list[FileObject]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
    object: str = "list"
    request_id: str | None = None


@attrs.frozen(kw_only=True)
class FileDeleted:
    """The answer of ``DELETE /files/{id}``.

    .. versionadded:: 0.1.0
    """

    id: str
    deleted: bool
    object: str = "file"
    request_id: str | None = None


@attrs.frozen(kw_only=True)
class BatchRequestCounts:
    """How many lines of a batch are done.

    .. versionadded:: 0.1.0
    """

    total: int = 0
    completed: int = 0
    failed: int = 0


@attrs.frozen(kw_only=True)
class BatchError:
    """A problem found in a batch's input file.

    .. versionadded:: 0.1.0
    """

    code: str | None = None
    line: int | None = None
    message: str | None = None
    param: str | None = None


@attrs.frozen(kw_only=True)
class BatchErrors:
    """The list of a batch's input errors.

    .. versionadded:: 0.1.0
    """

    data: list[BatchError] = attrs.field(factory=list)
    object: str = "list"


@attrs.frozen(kw_only=True)
class Batch:
    """A server-side batch job (``POST /batches``, ``GET /batches/{id}``).

    ``status`` is one of ``validating``, ``in_progress``, ``finalizing``, ``completed``,
    ``failed``, ``expired``, ``cancelling`` and ``cancelled``; ``output_file_id`` holds the
    results once completed.

    .. versionadded:: 0.1.0
    """

    id: str
    status: str
    endpoint: str | None = None
    input_file_id: str | None = None
    completion_window: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: BatchErrors | None = None
    created_at: int | None = None
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: BatchRequestCounts | None = None
    metadata: dict[str, Any] | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None
    object: str = "batch"
    request_id: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the batch reached a final status."""
        return self.status in ("completed", "failed", "expired", "cancelled")


@attrs.frozen(kw_only=True)
class BatchList:
    """A page of batches (``GET /batches``).

    .. versionadded:: 0.1.0
    """

    data: list[Batch]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
    object: str = "list"
    request_id: str | None = None
