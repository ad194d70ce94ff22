"""Background processing of one batch: check the input file, run its lines, write the results.

A batch moves ``validating`` -> ``in_progress`` -> ``finalizing`` -> ``completed``. While
validating, the input file is read line by line (in worker threads, a thousand lines per
step) and every line is checked: a JSON object with a unique non-empty string
``custom_id``, ``"method": "POST"``, a ``url`` equal to the batch's endpoint and an object
``body``. Blank lines are skipped. Any problem fails the batch with
``errors.data = [{"code", "line", "message", "param"}]`` (1-based line numbers, at most 100
entries); the codes are ``invalid_json_line``, ``missing_custom_id``,
``duplicate_custom_id``, ``invalid_method``, ``invalid_url``, ``invalid_body``,
``line_too_long``, ``too_many_requests`` and ``empty_file``.

Then every line is sent as an HTTP request to the emulator itself, over loopback, with the
emulator's key, so routing, faults, models and request recording behave exactly as for a
live call. ``/v1/chat/completions`` goes to ``/v1/openai/chat/completions`` and so on.
At most ``Emulator.batch_concurrency`` lines run at once, each after
``Emulator.batch_line_delay`` seconds. Every answered line (any status) is appended to the
output file; a line whose request got no answer (connection lost, timeout) goes to the error
file instead. Both are registered as files with purpose ``"batch_output"`` when the run
ends, if they have any line. ``request_counts`` and ``usage`` are updated as lines finish.

A cancelled batch stops launching lines; lines already sent finish and are kept.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import aiohttp

if TYPE_CHECKING:
    from ._batches import BatchJob
    from ._emulator import Emulator

__all__ = ["ENDPOINT_ROUTES", "MAX_LINES", "run_batch"]

#: Where each batchable endpoint is served inside the emulator.
ENDPOINT_ROUTES: Final[Mapping[str, str]] = {
    "/v1/chat/completions": "/v1/openai/chat/completions",
    "/v1/completions": "/v1/openai/completions",
    "/v1/embeddings": "/v1/openai/embeddings",
}
#: Most requests one input file may hold.
MAX_LINES: Final = 50_000
# The longest input line: the largest request body the emulator accepts.
_LINE_LIMIT: Final = 64 << 20
_MAX_ERRORS: Final = 100
_SCAN_STEP: Final = 1000
_READ_STEP: Final = 256
_SINK_FLUSH: Final = 64 << 10


def _error(code: str, line: int | None, message: str, param: str | None) -> dict[str, Any]:
    return {"code": code, "line": line, "message": message, "param": param}


class _Scanner:
    """Checks the lines of an input file, one step of lines at a time."""

    def __init__(self, source: IO[bytes], endpoint: str) -> None:
        self.source = source
        self.endpoint = endpoint
        self.line = 0
        self.requests = 0
        self.model: str | None = None
        self.errors: list[dict[str, Any]] = []
        self._ids: set[str] = set()

    def step(self, lines: int) -> bool:
        """Check up to ``lines`` lines; return whether the scan is over."""
        for _ in range(lines):
            raw = self.source.readline(_LINE_LIMIT + 1)
            if not raw:
                if not self.requests and not self.errors:
                    message = "The file has no requests."
                    self.errors.append(_error("empty_file", None, message, None))
                return True
            self.line += 1
            if len(raw) > _LINE_LIMIT:
                message = f"The line is longer than {_LINE_LIMIT} bytes."
                self.errors.append(_error("line_too_long", self.line, message, None))
                return True
            if raw.strip():
                self._check(raw)
            if len(self.errors) >= _MAX_ERRORS:
                return True
        return False

    def _add(self, code: str, message: str, param: str | None) -> None:
        self.errors.append(_error(code, self.line, message, param))

    def _check(self, raw: bytes) -> None:
        try:
            item = json.loads(raw)
        except ValueError:
            self._add("invalid_json_line", "This line is not parseable as valid JSON.", None)
            return
        if not isinstance(item, dict):
            self._add("invalid_json_line", "Each line must be a JSON object.", None)
            return
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            self._add("missing_custom_id", "custom_id must be a non-empty string.", "custom_id")
        elif custom_id in self._ids:
            message = f"The custom_id {custom_id!r} is used by more than one request."
            self._add("duplicate_custom_id", message, "custom_id")
        else:
            self._ids.add(custom_id)
        if item.get("method") != "POST":
            self._add("invalid_method", "The method must be 'POST'.", "method")
        url = item.get("url")
        if url != self.endpoint:
            message = f"The url {url!r} does not match the batch endpoint {self.endpoint!r}."
            self._add("invalid_url", message, "url")
        body = item.get("body")
        if not isinstance(body, dict):
            self._add("invalid_body", "The body must be a JSON object.", "body")
        elif self.model is None and isinstance(body.get("model"), str):
            self.model = body["model"]
        self.requests += 1
        if self.requests > MAX_LINES:
            message = f"The file has more than {MAX_LINES} requests."
            self._add("too_many_requests", message, None)


def _read_requests(source: IO[bytes], count: int) -> tuple[list[tuple[str, Any]], bool]:
    """Read up to ``count`` checked lines; return their ``(custom_id, body)`` and EOF."""
    items: list[tuple[str, Any]] = []
    for _ in range(count):
        raw = source.readline(_LINE_LIMIT + 1)
        if not raw:
            return items, True
        if raw.strip():
            item = json.loads(raw)
            items.append((item["custom_id"], item["body"]))
    return items, False


def _open(path: Path, mode: str) -> IO[bytes]:
    file: IO[bytes] = path.open(mode)
    return file


class _Sink:
    """An output JSONL file written in buffered steps from worker threads."""

    def __init__(self, file_id: str, path: Path) -> None:
        self.file_id = file_id
        self.path = path
        self.lines = 0
        self.size = 0
        self.kept = False
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None
        self._lock = asyncio.Lock()

    async def write(self, item: dict[str, Any]) -> None:
        data = (json.dumps(item) + "\n").encode()
        self._buffer += data
        self.lines += 1
        self.size += len(data)
        if len(self._buffer) >= _SINK_FLUSH:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            if not self._buffer:
                return
            data, self._buffer = self._buffer, bytearray()
            if self._file is None:
                self._file = await asyncio.to_thread(_open, self.path, "wb")
            await asyncio.to_thread(self._file.write, data)

    async def finish(self) -> None:
        """Write what is buffered and close the file, so its bytes can be served."""
        await self.flush()
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def discard(self) -> None:
        """Close the file, and remove it unless it was registered."""
        if self._file is not None:
            file, self._file = self._file, None
            file.close()
        if not self.kept:
            self.path.unlink(missing_ok=True)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        return raw.decode("utf-8", errors="replace")


async def _run_line(
    emu: Emulator,
    job: BatchJob,
    custom_id: str,
    body: Any,
    sinks: tuple[_Sink, _Sink],
) -> None:
    if emu.batch_line_delay > 0:
        await asyncio.sleep(emu.batch_line_delay)
    if job.cancel_requested:
        return
    output, errors = sinks
    line_id = emu._new_id("batch_req_")
    headers = {"Authorization": f"Bearer {emu.api_key}", "X-Emulator-Batch": job.id}
    url = emu.url + ENDPOINT_ROUTES[job.endpoint]
    try:
        session = emu._batches.session()
        async with session.post(url, json=body, headers=headers) as response:
            raw = await response.read()
            status = response.status
            request_id = response.headers.get("X-Request-Id") or emu._new_id("")
    except (aiohttp.ClientError, TimeoutError) as exc:
        message = f"The request could not be completed: {type(exc).__name__}: {exc}"
        error = {"code": "request_failed", "message": message}
        line = {"id": line_id, "custom_id": custom_id, "response": None, "error": error}
        await errors.write(line)
        job.count(ok=False)
        return
    decoded = _decode(raw)
    result = {"status_code": status, "request_id": request_id, "body": decoded}
    await output.write({"id": line_id, "custom_id": custom_id, "response": result, "error": None})
    ok = 200 <= status < 300
    if ok and isinstance(decoded, dict):
        job.add_usage(decoded.get("usage"))
    job.count(ok=ok)


async def _guarded_line(
    emu: Emulator,
    job: BatchJob,
    item: tuple[str, Any],
    sinks: tuple[_Sink, _Sink],
    slots: asyncio.Semaphore,
) -> None:
    try:
        await _run_line(emu, job, item[0], item[1], sinks)
    finally:
        slots.release()


async def _launch(
    emu: Emulator, job: BatchJob, source: IO[bytes], size: int, sinks: tuple[_Sink, _Sink]
) -> None:
    """Run every line under a semaphore until the file ends or the batch is cancelled."""
    slots = asyncio.Semaphore(max(1, emu.batch_concurrency))
    async with asyncio.TaskGroup() as group:
        # Each step consumes at least one byte of the file, so this bound is never reached.
        for _ in range(size // _READ_STEP + 2):
            items, eof = await asyncio.to_thread(_read_requests, source, _READ_STEP)
            for item in items:
                await slots.acquire()
                if job.cancel_requested:
                    slots.release()
                    return
                group.create_task(_guarded_line(emu, job, item, sinks, slots))
            if eof or job.cancel_requested:
                return


async def _finish(emu: Emulator, job: BatchJob, sinks: tuple[_Sink, _Sink]) -> None:
    """Register the output and error files and end the batch."""
    if not job.cancel_requested:
        job.set_status("finalizing")
    for sink in sinks:
        await sink.finish()
        if not sink.lines:
            continue
        kind = "output" if sink is sinks[0] else "error"
        emu._files.add(
            sink.file_id,
            sink.path,
            filename=f"{job.id}_{kind}.jsonl",
            purpose="batch_output",
            size=sink.size,
            content_type="application/jsonl",
            expires_in=job.output_expires_in,
        )
        sink.kept = True
        if kind == "output":
            job.output_file_id = sink.file_id
        else:
            job.error_file_id = sink.file_id
    job.set_status("cancelled" if job.cancel_requested else "completed")


async def _process(emu: Emulator, job: BatchJob, path: Path, size: int) -> None:
    try:
        source = await asyncio.to_thread(_open, path, "rb")
    except OSError:
        error = _error("file_not_found", None, "The input file could not be read.", "input_file_id")
        job.fail([error])
        return
    try:
        scanner = _Scanner(source, job.endpoint)
        # Each step reads up to _SCAN_STEP lines of at least one byte each.
        for _ in range(size // _SCAN_STEP + 2):
            if job.cancel_requested:
                job.set_status("cancelled")
                return
            if await asyncio.to_thread(scanner.step, _SCAN_STEP):
                break
        if scanner.errors:
            job.fail(scanner.errors)
            return
        job.start(scanner.requests, scanner.model)
        await asyncio.to_thread(source.seek, 0)
        store = emu._files
        ids = (emu._new_id("file-"), emu._new_id("file-"))
        sinks = (_Sink(ids[0], store.scratch(ids[0])), _Sink(ids[1], store.scratch(ids[1])))
        try:
            await _launch(emu, job, source, size, sinks)
            await _finish(emu, job, sinks)
        finally:
            for sink in sinks:
                sink.discard()
    finally:
        source.close()


async def run_batch(emu: Emulator, job: BatchJob, path: Path, size: int) -> None:
    """Process a batch from ``validating`` to its final status.

    An unexpected error fails the batch with code ``internal_error``; cancellation of the
    task (the emulator closing) leaves the status as it is. Either way ``job.done`` is set.

    Args:
        emu: The emulator that runs the lines.
        job: The batch, in ``validating``.
        path: The input file's bytes on disk.
        size: The input file's size in bytes.
    """
    try:
        await _process(emu, job, path, size)
    except Exception as exc:
        message = f"The batch could not be processed: {type(exc).__name__}: {exc}"
        job.fail([_error("internal_error", None, message, None)])
    finally:
        job.done.set()
