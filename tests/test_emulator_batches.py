"""The emulator's Files and Batches APIs, driven by a raw aiohttp client over loopback."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from deepinfra_async.testing import Emulator

P = "/v1/openai"
FILES = f"{P}/files"
BATCHES = f"{P}/batches"
CHAT = f"{P}/chat/completions"
LLAMA = "meta-llama/Meta-Llama-3-8B-Instruct"
BGE = "BAAI/bge-large-en-v1.5"
FILE_KEYS = {"id", "object", "bytes", "created_at", "expires_at", "filename", "purpose"}
BATCH_KEYS = {
    "id",
    "object",
    "endpoint",
    "errors",
    "input_file_id",
    "completion_window",
    "status",
    "output_file_id",
    "error_file_id",
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "request_counts",
    "metadata",
    "model",
    "usage",
}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A running emulator with a fixed key."""
    async with Emulator(api_key="test-key") as emulator:
        yield emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    """A raw aiohttp session that sends the emulator's key."""
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(emu.url, headers=headers) as session:
        yield session


def jsonl(items: list[Any]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def chat_line(n: int, url: str = "/v1/chat/completions") -> dict[str, Any]:
    body = {
        "model": LLAMA,
        "messages": [{"role": "user", "content": f"Question number {n}"}],
        "emulator": {"tokens": 3 + n % 4},
    }
    return {"custom_id": f"req-{n}", "method": "POST", "url": url, "body": body}


def embed_line(n: int) -> dict[str, Any]:
    body = {"model": BGE, "input": [f"text {n}", "two more words"]}
    return {"custom_id": f"emb-{n}", "method": "POST", "url": "/v1/embeddings", "body": body}


async def upload(
    http: aiohttp.ClientSession,
    data: bytes,
    purpose: str | None = "batch",
    prefix: str = P,
    fields: dict[str, str] | None = None,
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    if purpose is not None:
        form.add_field("purpose", purpose)
    for name, value in (fields or {}).items():
        form.add_field(name, value)
    form.add_field("file", data, filename="in.jsonl", content_type="application/jsonl")
    async with http.post(f"{prefix}/files", data=form) as response:
        return response.status, await response.json()


async def upload_ok(http: aiohttp.ClientSession, data: bytes, prefix: str = P) -> str:
    status, body = await upload(http, data, prefix=prefix)
    assert status == 200, body
    file_id: str = body["id"]
    return file_id


async def get(http: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with http.get(path) as response:
        return response.status, await response.json()


async def content(http: aiohttp.ClientSession, file_id: str, prefix: str = P) -> bytes:
    async with http.get(f"{prefix}/files/{file_id}/content") as response:
        assert response.status == 200
        return await response.read()


async def output_lines(http: aiohttp.ClientSession, file_id: str) -> list[dict[str, Any]]:
    raw = await content(http, file_id)
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.splitlines()]


async def start_batch(
    http: aiohttp.ClientSession,
    lines: list[Any],
    endpoint: str = "/v1/chat/completions",
    prefix: str = P,
) -> dict[str, Any]:
    file_id = await upload_ok(http, jsonl(lines), prefix)
    body = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h"}
    async with http.post(f"{prefix}/batches", json=body) as response:
        batch: dict[str, Any] = await response.json()
        assert response.status == 200, batch
    return batch


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {timeout} s")


# -- files ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/v1/openai", "/v1"])
async def test_file_round_trip(http: aiohttp.ClientSession, prefix: str) -> None:
    """Upload, retrieve, list, download and delete a file under both prefixes."""
    data = jsonl([chat_line(n) for n in range(3)])
    before = int(time.time())
    status, created = await upload(http, data, prefix=prefix)
    assert status == 200
    assert set(created) == FILE_KEYS
    assert created["id"].startswith("file-")
    assert (created["object"], created["bytes"]) == ("file", len(data))
    assert (created["filename"], created["purpose"]) == ("in.jsonl", "batch")
    assert before <= created["created_at"] <= int(time.time())
    assert created["expires_at"] == created["created_at"] + 30 * 86400
    file_id = created["id"]
    assert await get(http, f"{prefix}/files/{file_id}") == (200, created)
    status, listed = await get(http, f"{prefix}/files")
    assert status == 200
    assert listed == {
        "object": "list",
        "data": [created],
        "first_id": file_id,
        "last_id": file_id,
        "has_more": False,
    }
    async with http.get(f"{prefix}/files/{file_id}/content") as response:
        assert response.status == 200
        assert response.content_type == "application/jsonl"
        assert await response.read() == data
    async with http.delete(f"{prefix}/files/{file_id}") as response:
        assert response.status == 200
        assert await response.json() == {"id": file_id, "object": "file", "deleted": True}
    assert (await get(http, f"{prefix}/files/{file_id}"))[0] == 404
    assert (await get(http, f"{prefix}/files"))[1]["data"] == []


async def test_large_upload_streams_to_disk(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A 24 MiB upload is written to disk without being held in memory and reads back intact."""
    chunk = bytes(range(256)) * 256  # 64 KiB
    count = 384
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield chunk

    with aiohttp.MultipartWriter("form-data") as writer:
        writer.append("batch").set_content_disposition("form-data", name="purpose")
        part = writer.append(body(), {"Content-Type": "application/octet-stream"})
        part.set_content_disposition("form-data", name="file", filename="big.bin")
    tracemalloc.start()
    try:
        async with http.post(FILES, data=writer) as response:
            assert response.status == 200
            created = await response.json()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    assert created["bytes"] == count * len(chunk)
    record = emu.uploads[-1]
    assert (record.filename, record.size) == ("big.bin", count * len(chunk))
    assert record.sha256 == expected.hexdigest()
    received = hashlib.sha256()
    async with http.get(f"{FILES}/{created['id']}/content") as response:
        assert response.content_type == "application/jsonl"
        async for piece in response.content.iter_chunked(1 << 16):
            received.update(piece)
    assert received.hexdigest() == expected.hexdigest()


async def test_files_directory_is_removed_on_close() -> None:
    """aclose() deletes the temporary directory that holds the uploads."""
    async with Emulator() as emu:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        async with aiohttp.ClientSession(emu.url, headers=headers) as http:
            file_id = await upload_ok(http, b'{"a": 1}\n')
        stored = emu._files.get(file_id)
        assert stored is not None
        assert "files=1 batches=0>" in repr(emu)
        directory = stored.path.parent
        assert await asyncio.to_thread(stored.path.read_bytes) == b'{"a": 1}\n'
    assert not await asyncio.to_thread(directory.exists)


async def test_file_list_pagination(http: aiohttp.ClientSession) -> None:
    """List pages follow `after` and `limit` in either order and filter by purpose."""
    ids = [await upload_ok(http, f'{{"n": {n}}}\n'.encode()) for n in range(5)]
    status, _ = await upload(http, b"x\n", purpose="fine-tune")
    assert status == 200
    status, page = await get(http, f"{FILES}?limit=2&order=asc&purpose=batch")
    assert status == 200
    assert [f["id"] for f in page["data"]] == ids[:2]
    assert (page["first_id"], page["last_id"], page["has_more"]) == (ids[0], ids[1], True)
    _, page = await get(http, f"{FILES}?limit=2&order=asc&purpose=batch&after={ids[1]}")
    assert [f["id"] for f in page["data"]] == ids[2:4]
    _, page = await get(http, f"{FILES}?limit=2&order=asc&purpose=batch&after={ids[3]}")
    assert [f["id"] for f in page["data"]] == ids[4:]
    assert page["has_more"] is False
    _, page = await get(http, f"{FILES}?purpose=batch")
    assert [f["id"] for f in page["data"]] == ids[::-1]
    _, page = await get(http, f"{FILES}?limit=2&after={ids[2]}")
    assert [f["id"] for f in page["data"]] == ids[1::-1]
    _, everything = await get(http, FILES)
    assert len(everything["data"]) == 6
    status, body = await get(http, f"{FILES}?limit=0")
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "limit"]
    assert (await get(http, f"{FILES}?order=up"))[0] == 422
    status, body = await get(http, f"{FILES}?after=file-nope")
    assert status == 400
    assert body["error"]["param"] == "after"


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("GET", "/content"), ("DELETE", "")])
async def test_unknown_file_is_404(http: aiohttp.ClientSession, method: str, suffix: str) -> None:
    """Unknown file ids answer 404 with an OpenAI-style error body."""
    async with http.request(method, f"{FILES}/file-missing{suffix}") as response:
        assert response.status == 404
        body = await response.json()
    assert body == {
        "error": {
            "message": "No such File object: file-missing",
            "type": "invalid_request_error",
            "param": "id",
            "code": None,
        }
    }


async def test_upload_validation(http: aiohttp.ClientSession) -> None:
    """Missing or invalid form fields answer 422; a custom expiry sets expires_at."""
    status, body = await upload(http, b"{}\n", purpose=None)
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "purpose"]
    status, body = await upload(http, b"{}\n", purpose="assistants")
    assert status == 422
    assert body["detail"][0]["type"] == "literal_error"
    status, body = await upload(http, b"{}\n", fields={"expires_after[seconds]": "60"})
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "expires_after", "seconds"]
    async with http.post(FILES, json={"purpose": "batch"}) as response:
        assert response.status == 422
        locs = [p["loc"] for p in (await response.json())["detail"]]
    assert locs == [["body", "file"], ["body", "purpose"]]
    expiry = {"expires_after[anchor]": "created_at", "expires_after[seconds]": "7200"}
    status, body = await upload(http, b"{}\n", fields=expiry)
    assert status == 200
    assert body["expires_at"] == body["created_at"] + 7200


@pytest.mark.parametrize("purpose_first", [True, False])
async def test_batch_upload_size_limit(
    emu: Emulator, http: aiohttp.ClientSession, purpose_first: bool
) -> None:
    """A batch file over the limit is refused with 413 and not kept; other purposes pass."""
    emu.max_batch_file_bytes = 1000
    data = b"x" * 2000
    form = aiohttp.FormData()
    if purpose_first:
        form.add_field("purpose", "batch")
    form.add_field("file", data, filename="big.jsonl")
    if not purpose_first:
        form.add_field("purpose", "batch")
    async with http.post(FILES, data=form) as response:
        assert response.status == 413
        body = await response.json()
    assert body["error"]["code"] == "file_too_large"
    assert (await get(http, FILES))[1]["data"] == []
    assert len(emu._files) == 0
    status, created = await upload(http, data, purpose="fine-tune")
    assert (status, created["bytes"]) == (200, 2000)


# -- batches ----------------------------------------------------------------------------


async def test_chat_batch_completes(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Every chat line runs once, 16 at a time; counts, usage and times are set."""
    emu.faults.add(CHAT, delay=0.05, times=None)
    lines = [chat_line(n) for n in range(24)]
    created = await start_batch(http, lines)
    assert set(created) == BATCH_KEYS
    assert created["id"].startswith("batch_")
    assert (created["object"], created["status"]) == ("batch", "validating")
    assert created["expires_at"] == created["created_at"] + 86400
    final = await emu.wait_batch(created["id"], timeout=5)
    assert final["status"] == "completed"
    assert (await get(http, f"{BATCHES}/{created['id']}")) == (200, final)
    assert final["request_counts"] == {"total": 24, "completed": 24, "failed": 0}
    assert (final["model"], final["errors"], final["error_file_id"]) == (LLAMA, None, None)
    stamps = [final[k] for k in ("created_at", "in_progress_at", "finalizing_at", "completed_at")]
    assert all(isinstance(t, int) for t in stamps)
    assert stamps == sorted(stamps)
    assert final["failed_at"] is None
    assert final["cancelled_at"] is None
    results = await output_lines(http, final["output_file_id"])
    assert sorted(r["custom_id"] for r in results) == sorted(f"req-{n}" for n in range(24))
    for result in results:
        assert result["id"].startswith("batch_req_")
        assert result["error"] is None
        assert result["response"]["status_code"] == 200
        assert result["response"]["request_id"]
        assert result["response"]["body"]["object"] == "chat.completion"
    usages = [r["response"]["body"]["usage"] for r in results]
    prompt = sum(u["prompt_tokens"] for u in usages)
    completion = sum(u["completion_tokens"] for u in usages)
    assert completion == sum(3 + n % 4 for n in range(24))
    assert final["usage"] == {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }
    status, output = await get(http, f"{FILES}/{final['output_file_id']}")
    assert (status, output["purpose"]) == (200, "batch_output")
    assert output["filename"] == f"{created['id']}_output.jsonl"
    sent = [r for r in emu.requests if r.path == CHAT]
    assert len(sent) == 24
    assert all(r.headers["x-emulator-batch"] == created["id"] for r in sent)
    assert emu.max_in_flight[LLAMA] == 16


async def test_embeddings_batch_under_v1_prefix(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """An embeddings batch created under /v1 runs every line and sums input tokens."""
    lines = [embed_line(n) for n in range(10)]
    created = await start_batch(http, lines, "/v1/embeddings", prefix="/v1")
    final = await emu.wait_batch(created["id"], timeout=5)
    assert final["status"] == "completed"
    assert final["request_counts"] == {"total": 10, "completed": 10, "failed": 0}
    assert final["model"] == BGE
    results = await output_lines(http, final["output_file_id"])
    assert sorted(r["custom_id"] for r in results) == sorted(f"emb-{n}" for n in range(10))
    bodies = [r["response"]["body"] for r in results]
    assert all(len(b["data"]) == 2 and len(b["data"][0]["embedding"]) == 1024 for b in bodies)
    tokens = sum(b["usage"]["prompt_tokens"] for b in bodies)
    assert tokens == 10 * (2 + 3)
    assert final["usage"]["input_tokens"] == tokens
    assert final["usage"]["output_tokens"] == 0
    assert final["usage"]["total_tokens"] == tokens


async def test_faults_become_failed_lines(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Injected 500s show up in the output with status_code 500 and count as failed."""
    emu.faults.add(CHAT, status=500, times=3)
    created = await start_batch(http, [chat_line(n) for n in range(10)])
    final = await emu.wait_batch(created["id"], timeout=5)
    assert final["status"] == "completed"
    assert final["request_counts"] == {"total": 10, "completed": 7, "failed": 3}
    results = await output_lines(http, final["output_file_id"])
    assert len(results) == 10
    failed = [r for r in results if r["response"]["status_code"] == 500]
    assert len(failed) == 3
    assert all(r["response"]["body"]["error"]["type"] == "server_error" for r in failed)
    assert all(r["error"] is None for r in failed)
    assert final["error_file_id"] is None
    ok = [r["response"]["body"]["usage"]["total_tokens"] for r in results if r not in failed]
    assert final["usage"]["total_tokens"] == sum(ok)


async def test_dropped_lines_go_to_the_error_file(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """Lines whose connection is dropped are written to the error file, not the output."""
    emu.faults.add(CHAT, drop=True, times=2)
    created = await start_batch(http, [chat_line(n) for n in range(6)])
    final = await emu.wait_batch(created["id"], timeout=5)
    assert final["status"] == "completed"
    assert final["request_counts"] == {"total": 6, "completed": 4, "failed": 2}
    errors = await output_lines(http, final["error_file_id"])
    assert len(errors) == 2
    for line in errors:
        assert line["response"] is None
        assert line["error"]["code"] == "request_failed"
        assert line["error"]["message"]
    results = await output_lines(http, final["output_file_id"])
    custom_ids = {r["custom_id"] for r in results} | {e["custom_id"] for e in errors}
    assert custom_ids == {f"req-{n}" for n in range(6)}
    assert len(results) == 4


def _duplicate() -> bytes:
    return jsonl([chat_line(0), chat_line(1), chat_line(0)])


def _wrong_url() -> bytes:
    return jsonl([chat_line(0), chat_line(1, url="/v1/embeddings")])


def _bad_json() -> bytes:
    return jsonl([chat_line(0)]) + b'{"custom_id": "x", oops\n' + jsonl([chat_line(2)])


@pytest.mark.parametrize(
    ("make", "code", "line", "param"),
    [
        (_duplicate, "duplicate_custom_id", 3, "custom_id"),
        (_wrong_url, "invalid_url", 2, "url"),
        (_bad_json, "invalid_json_line", 2, None),
        (lambda: b"\n\n", "empty_file", None, None),
    ],
)
async def test_invalid_input_fails_the_batch(
    emu: Emulator,
    http: aiohttp.ClientSession,
    make: Callable[[], bytes],
    code: str,
    line: int | None,
    param: str | None,
) -> None:
    """A bad input file ends as failed with the offending line numbers and runs nothing."""
    file_id = await upload_ok(http, make())
    body = {
        "input_file_id": file_id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    async with http.post(BATCHES, json=body) as response:
        assert response.status == 200
        batch_id = (await response.json())["id"]
    final = await emu.wait_batch(batch_id, timeout=5)
    assert final["status"] == "failed"
    assert final["errors"]["object"] == "list"
    (error,) = final["errors"]["data"]
    assert (error["code"], error["line"], error["param"]) == (code, line, param)
    assert error["message"]
    assert isinstance(final["failed_at"], int)
    assert final["in_progress_at"] is None
    assert final["output_file_id"] is None
    assert not [r for r in emu.requests if r.path == CHAT]


@pytest.mark.parametrize(
    ("change", "status", "where"),
    [
        ({"endpoint": "/v1/images/generations"}, 422, ["body", "endpoint"]),
        ({"completion_window": "48h"}, 422, ["body", "completion_window"]),
        ({"metadata": {"k": 1}}, 422, ["body", "metadata", "k"]),
        ({"input_file_id": "file-nope"}, 404, "input_file_id"),
        ({"input_file_id": None}, 422, ["body", "input_file_id"]),
    ],
)
async def test_create_batch_rejects_bad_requests(
    http: aiohttp.ClientSession, change: dict[str, Any], status: int, where: Any
) -> None:
    """Invalid creation bodies answer 422 (validation) or 404 (unknown input file)."""
    file_id = await upload_ok(http, jsonl([chat_line(0)]))
    body = {
        "input_file_id": file_id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    body.update(change)
    async with http.post(BATCHES, json=body) as response:
        assert response.status == status
        answer = await response.json()
    if status == 422:
        assert answer["detail"][0]["loc"] == where
    else:
        assert answer["error"]["param"] == where


async def test_batch_needs_a_batch_purpose_file(http: aiohttp.ClientSession) -> None:
    """An input file uploaded for another purpose is refused with 400."""
    status, created = await upload(http, jsonl([chat_line(0)]), purpose="fine-tune")
    assert status == 200
    body = {"input_file_id": created["id"], "endpoint": "/v1/completions"}
    async with http.post(BATCHES, json={**body, "completion_window": "24h"}) as response:
        assert response.status == 400
        assert "purpose" in (await response.json())["error"]["message"]


async def test_cancel_mid_run_keeps_finished_lines(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """Cancelling stops launching lines; what finished stays in the output."""
    emu.batch_line_delay = 0.05
    emu.batch_concurrency = 2
    created = await start_batch(http, [chat_line(n) for n in range(40)])
    batch_id = created["id"]

    async def progressed() -> bool:
        _, batch = await get(http, f"{BATCHES}/{batch_id}")
        return bool(batch["status"] == "in_progress" and batch["request_counts"]["completed"] >= 2)

    await eventually(progressed)
    async with http.post(f"{BATCHES}/{batch_id}/cancel") as response:
        assert response.status == 200
        cancelling = await response.json()
    assert cancelling["status"] == "cancelling"
    assert isinstance(cancelling["cancelling_at"], int)
    final = await emu.wait_batch(batch_id, timeout=5)
    assert final["status"] == "cancelled"
    assert isinstance(final["cancelled_at"], int)
    assert final["completed_at"] is None
    counts = final["request_counts"]
    assert counts["total"] == 40
    assert 2 <= counts["completed"] < 40
    results = await output_lines(http, final["output_file_id"])
    assert len(results) == counts["completed"] + counts["failed"]
    assert len({r["custom_id"] for r in results}) == len(results)
    assert len([r for r in emu.requests if r.path == CHAT]) == len(results)
    async with http.post(f"{BATCHES}/{batch_id}/cancel") as response:
        assert response.status == 200
        assert (await response.json())["status"] == "cancelled"


async def test_cancel_rules_and_unknown_batches(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A finished batch cannot be cancelled (400); unknown batch ids are 404."""
    created = await start_batch(http, [chat_line(0)])
    await emu.wait_batch(created["id"], timeout=5)
    async with http.post(f"{BATCHES}/{created['id']}/cancel") as response:
        assert response.status == 400
        assert "completed" in (await response.json())["error"]["message"]
    for method, path in [
        ("GET", f"{BATCHES}/batch_nope"),
        ("POST", f"{BATCHES}/batch_nope/cancel"),
    ]:
        async with http.request(method, path) as response:
            assert response.status == 404
            assert (await response.json())["error"]["message"] == "No such Batch object: batch_nope"
    with pytest.raises(KeyError):
        await emu.wait_batch("batch_nope")


async def test_batch_list_pagination(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Batches are listed newest first, paged by `after` and `limit`."""
    ids = [(await start_batch(http, [chat_line(n)]))["id"] for n in range(3)]
    for batch_id in ids:
        await emu.wait_batch(batch_id, timeout=5)
    status, page = await get(http, f"{BATCHES}?limit=2")
    assert status == 200
    assert [b["id"] for b in page["data"]] == [ids[2], ids[1]]
    assert (page["first_id"], page["last_id"], page["has_more"]) == (ids[2], ids[1], True)
    _, page = await get(http, f"{BATCHES}?limit=2&after={ids[1]}")
    assert [b["id"] for b in page["data"]] == [ids[0]]
    assert page["has_more"] is False
    _, page = await get(http, "/v1/batches")
    assert page["object"] == "list"
    assert [b["status"] for b in page["data"]] == ["completed"] * 3
    assert (await get(http, f"{BATCHES}?limit=101"))[0] == 422


async def test_wait_batch_times_out(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """wait_batch() raises TimeoutError while the batch is still running."""
    emu.batch_line_delay = 0.5
    created = await start_batch(http, [chat_line(0)])
    with pytest.raises(TimeoutError):
        await emu.wait_batch(created["id"], timeout=0.05)
    _, batch = await get(http, f"{BATCHES}/{created['id']}")
    assert batch["status"] in ("validating", "in_progress")


async def test_aclose_while_a_batch_runs_is_quick() -> None:
    """Closing the emulator mid-batch cancels it promptly and removes its files."""
    emu = Emulator()
    await emu.start()
    emu.batch_line_delay = 30.0
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(emu.url, headers=headers) as http:
        created = await start_batch(http, [chat_line(n) for n in range(50)])
        batch_id = created["id"]

        async def running() -> bool:
            return bool((await get(http, f"{BATCHES}/{batch_id}"))[1]["status"] == "in_progress")

        await eventually(running)
    stored = emu._files.get(created["input_file_id"])
    assert stored is not None
    directory: Path = stored.path.parent
    waiter = asyncio.create_task(emu.wait_batch(batch_id, timeout=5))
    started = time.monotonic()
    await emu.aclose()
    assert time.monotonic() - started < 1.5
    assert not await asyncio.to_thread(directory.exists)
    final = await asyncio.wait_for(waiter, 1)
    assert final["status"] == "in_progress"
    assert final["request_counts"]["completed"] == 0
    await emu.aclose()
