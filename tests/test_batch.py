"""Local batches: map, as_completed, resumable JSONL jobs, the CLI, and usage accounting."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deepinfra_async import (
    BadRequestError,
    BatchRequest,
    DeepInfra,
    Limits,
    RetryPolicy,
    run_jsonl,
)
from deepinfra_async.testing import Emulator

from .conftest import CHAT_MODEL, OTHER_CHAT_MODEL

CHAT = "/v1/openai/chat/completions"


def line(i: int, model: str = CHAT_MODEL, **extra: Any) -> dict[str, Any]:
    """One batch line asking for a short chat completion."""
    return {
        "custom_id": f"req-{i}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": model,
            "messages": [{"role": "user", "content": f"n{i}"}],
            "max_tokens": 2,
            **extra,
        },
    }


def write_jsonl(path: Path, lines: list[Any]) -> None:
    with path.open("w") as handle:
        for item in lines:
            handle.write((item if isinstance(item, str) else json.dumps(item)) + "\n")


def output_ids(path: Path) -> list[str]:
    return [json.loads(raw)["custom_id"] for raw in path.read_text().splitlines() if raw]


async def test_map_returns_results_in_input_order(client: DeepInfra, emu: Emulator) -> None:
    """map() keeps input order even when later requests finish first."""
    emu.faults.add(CHAT, delay=0.2, times=1)
    results = await client.batch.map([line(i) for i in range(10)], concurrency=4)
    assert [r.index for r in results] == list(range(10))
    assert [r.custom_id for r in results] == [f"req-{i}" for i in range(10)]
    assert all(r.ok for r in results)
    assert results[0].value["object"] == "chat.completion"
    assert results[0].status_code == 200


async def test_map_consumes_input_lazily_and_bounds_concurrency(emu: Emulator) -> None:
    """A generator is pulled only as workers free up; at most `concurrency` are in flight."""
    emu.faults.add(CHAT, delay=0.05, times=None)
    pulled = 0
    finished = 0
    max_ahead = 0

    def requests() -> Iterator[dict[str, Any]]:
        nonlocal pulled, max_ahead
        for i in range(60):
            pulled += 1
            max_ahead = max(max_ahead, pulled - finished)
            yield line(i)

    client = DeepInfra(emu.api_key, base_url=emu.url)
    async with client, client.batch.as_completed(requests(), concurrency=5) as results:
        async for _result in results:
            finished += 1
    assert finished == 60
    # In flight (5) plus finished results waiting for the consumer (at most 5).
    assert max_ahead <= 2 * 5 + 1
    assert emu.max_in_flight[CHAT_MODEL] == 5


async def test_per_model_limiter_still_applies(emu: Emulator) -> None:
    """A batch wider than the per-model limit never exceeds the limit for one model."""
    emu.faults.add(CHAT, delay=0.05, times=None)
    limits = Limits(per_model_concurrency=3)
    async with DeepInfra(emu.api_key, base_url=emu.url, limits=limits) as client:
        requests = [line(i) for i in range(20)] + [line(i, OTHER_CHAT_MODEL) for i in range(20)]
        results = await client.batch.map(requests, concurrency=16)
    assert all(r.ok for r in results)
    assert emu.max_in_flight[CHAT_MODEL] == 3
    assert emu.max_in_flight[OTHER_CHAT_MODEL] == 3


async def test_one_failure_does_not_stop_the_others(client: DeepInfra, emu: Emulator) -> None:
    """A failed item is recorded with its error; every other item still runs."""
    emu.faults.add(CHAT, status=400, body={"error": "bad one"}, times=1)

    async def requests() -> Any:
        for i in range(8):
            yield BatchRequest.from_dict(line(i))
        yield {"url": "/v1/nowhere", "body": {}}

    results = await client.batch.map(requests(), concurrency=1)
    assert [r.ok for r in results] == [False] + [True] * 7 + [False]
    assert isinstance(results[0].error, BadRequestError)
    assert results[0].status_code == 400
    assert results[0].to_output_line()["response"]["status_code"] == 400
    assert isinstance(results[8].error, ValueError)
    assert results[8].to_output_line()["error"]["code"] == "invalid_request"


async def test_early_exit_cancels_work_and_releases_connections(emu: Emulator) -> None:
    """Leaving as_completed early leaves no task running and no slot or connection held."""
    emu.faults.add(CHAT, delay=0.2, times=None)
    async with DeepInfra(emu.api_key, base_url=emu.url) as client:
        async with client.batch.as_completed(
            (line(i) for i in range(1000)), concurrency=8
        ) as results:
            async for _result in results:
                break
        await asyncio.sleep(0)
        assert client._transport.limiter_in_use(CHAT_MODEL) == 0
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not [t for t in tasks if "work" in repr(t.get_coro())]
        connector = client._transport._session.connector  # type: ignore[union-attr]
        assert connector is not None
        assert sum(len(v) for v in connector._acquired_per_host.values()) == 0
        # The client is still usable afterwards.
        chat = await client.chat.completions.create(
            model=CHAT_MODEL, messages=[{"role": "user", "content": "x"}]
        )
    assert chat.choices
    assert len(emu.requests) < 1000


def test_batch_request_validation() -> None:
    """Batch lines are checked: url, method, body, streaming and unknown fields."""
    assert BatchRequest.from_json(json.dumps(line(1))).model == CHAT_MODEL
    native = BatchRequest(url="/v1/inference/BAAI/bge-large-en-v1.5", body={"inputs": ["a"]})
    assert native.model == "BAAI/bge-large-en-v1.5"
    with pytest.raises(ValueError, match="url"):
        BatchRequest(url="/v1/images/generations", body={})
    with pytest.raises(ValueError, match="method"):
        BatchRequest(method="GET", url="/v1/embeddings", body={})
    with pytest.raises(TypeError, match="body"):
        BatchRequest(url="/v1/embeddings", body=[])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stream"):
        BatchRequest(url="/v1/chat/completions", body={"stream": True})
    with pytest.raises(ValueError, match="unknown"):
        BatchRequest.from_dict({**line(1), "extra": 1})
    with pytest.raises(json.JSONDecodeError):
        BatchRequest.from_json("{not json")


async def test_jsonl_job_with_faults_writes_every_line_once(emu: Emulator, tmp_path: Path) -> None:
    """10,000 lines, one request in ten answered 429 or 500: each custom_id once, all 200."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, [line(i) for i in range(10_000)])
    # About one attempt in ten fails, at random (seeded): half 429, half 500.
    rate_limited = emu.faults.add(CHAT, status=429, retry_after=0, rate=0.05, times=None)
    broken = emu.faults.add(CHAT, status=500, rate=0.0526, times=None, seed=1)
    policy = RetryPolicy(max_attempts=8, initial_backoff=0.01, max_backoff=0.05)
    async with DeepInfra(emu.api_key, base_url=emu.url, retry=policy) as client:
        summary = await run_jsonl(client, source, target, concurrency=64, progress=None)
    ids = output_ids(target)
    assert len(ids) == 10_000
    assert Counter(ids) == Counter(f"req-{i}" for i in range(10_000))
    rows = target.read_text().splitlines()
    statuses = {json.loads(raw)["response"]["status_code"] for raw in rows}
    assert statuses == {200}
    assert summary.succeeded == 10_000
    assert summary.failed == 0
    faults = rate_limited.hits + broken.hits
    assert 0.08 < faults / len(emu.requests) < 0.12
    assert rate_limited.hits > 300
    assert broken.hits > 300
    assert len(emu.requests) == 10_000 + faults
    assert summary.usage[CHAT_MODEL].requests == 10_000
    assert summary.cost > 0


async def test_killed_job_resumes_without_loss_or_duplicates(emu: Emulator, tmp_path: Path) -> None:
    """A job SIGKILLed at several points and run again holds every custom_id exactly once."""
    total = 1_500
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, [line(i) for i in range(total)])
    emu.faults.add(CHAT, delay=0.003, times=None)
    code = (
        "import asyncio, sys\n"
        "from deepinfra_async import DeepInfra, run_jsonl\n"
        "async def main():\n"
        "    async with DeepInfra() as c:\n"
        "        await run_jsonl(c, sys.argv[1], sys.argv[2], concurrency=16, progress=None)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "DEEPINFRA_BASE_URL": emu.url, "DEEPINFRA_API_KEY": emu.api_key}
    for kill_at in (150, 600, 1100):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, str(source), str(target), env=env
        )
        try:
            for _ in range(3000):
                if target.exists() and target.read_bytes().count(b"\n") >= kill_at:
                    break
                await asyncio.sleep(0.01)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        ids = output_ids_tolerant(target)
        assert len(ids) == len(set(ids))
        assert len(ids) < total
    async with DeepInfra(emu.api_key, base_url=emu.url) as client:
        summary = await run_jsonl(client, source, target, progress=None)
    ids = output_ids(target)
    assert Counter(ids) == Counter(f"req-{i}" for i in range(total))
    assert summary.skipped + summary.succeeded == total


def output_ids_tolerant(path: Path) -> list[str]:
    """custom_ids of the complete lines (a killed writer may leave a torn last line)."""
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(raw)["custom_id"] for raw in complete.splitlines() if raw]


async def test_torn_last_line_is_repaired(client: DeepInfra, tmp_path: Path) -> None:
    """A torn last line is cut off and its request run again; finished lines are kept."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, [line(i) for i in range(5)])
    done = {"custom_id": "req-0", "response": {"status_code": 200, "body": {}}, "error": None}
    target.write_text(json.dumps(done) + "\n" + '{"custom_id": "req-1", "respo')
    summary = await run_jsonl(client, source, target, progress=None)
    assert summary.skipped == 1
    assert summary.succeeded == 4
    assert sorted(output_ids(target)) == [f"req-{i}" for i in range(5)]


async def test_duplicate_custom_ids_are_rejected_before_sending(
    client: DeepInfra, emu: Emulator, tmp_path: Path
) -> None:
    """Duplicate custom_ids are reported with their line numbers, and nothing is sent."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [line(1), line(2), line(1), line(3), line(2)])
    with pytest.raises(ValueError, match=r"'req-1' on lines 1, 3; 'req-2' on lines 2, 5"):
        await run_jsonl(client, source, tmp_path / "out.jsonl", progress=None)
    assert emu.requests == []


async def test_malformed_lines_become_error_lines(client: DeepInfra, tmp_path: Path) -> None:
    """A malformed line produces an error line in the output; the job goes on."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    bad_url = {**line(2), "url": "/v1/nowhere"}
    write_jsonl(source, [line(1), "{broken", bad_url, line(3)])
    summary = await run_jsonl(client, source, target, progress=None)
    rows = {row["custom_id"]: row for row in map(json.loads, target.read_text().splitlines())}
    assert set(rows) == {"req-1", "line-2", "req-2", "req-3"}
    assert rows["line-2"]["error"]["code"] == "invalid_request"
    assert "line 2" in rows["line-2"]["error"]["message"]
    assert rows["req-2"]["response"] is None
    assert summary.failed == 2
    assert summary.succeeded == 2


async def test_progress_and_summary(client: DeepInfra, tmp_path: Path) -> None:
    """Progress and the final summary, with the cost per model, go to the given stream."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [line(i) for i in range(20)] + [line(99, OTHER_CHAT_MODEL)])
    out = io.StringIO()
    await run_jsonl(client, source, tmp_path / "out.jsonl", progress=out)
    text = out.getvalue()
    assert "21/21 (100%)" in text
    assert "done: 21 succeeded, 0 failed" in text
    assert f"{CHAT_MODEL}: 20 requests" in text
    assert f"{OTHER_CHAT_MODEL}: 1 requests" in text
    assert "total cost: $" in text


async def test_usage_accumulates_per_model(client: DeepInfra) -> None:
    """client.usage sums requests, tokens and cost over typed calls, streams and natives."""
    hello = [{"role": "user", "content": "hi"}]
    chat = await client.chat.completions.create(model=CHAT_MODEL, messages=hello, max_tokens=3)
    async with await client.chat.completions.create(
        model=CHAT_MODEL, messages=hello, max_tokens=4, stream=True
    ) as stream:
        async for _chunk in stream:
            pass
    native = await client.inference.text_generation(OTHER_CHAT_MODEL, "x", max_new_tokens=2)
    usage = client.usage.by_model()
    assert usage[CHAT_MODEL].requests == 2
    assert usage[CHAT_MODEL].output_tokens == 7
    assert chat.usage is not None
    assert stream.usage is not None
    expected = (chat.usage.estimated_cost or 0) + (stream.usage.estimated_cost or 0)
    assert usage[CHAT_MODEL].cost == pytest.approx(expected)
    assert usage[OTHER_CHAT_MODEL].requests == 1
    assert usage[OTHER_CHAT_MODEL].cost == pytest.approx(native.status.cost or 0)
    assert client.usage.total.requests == 3


async def test_cli_batch_run(emu: Emulator, tmp_path: Path) -> None:
    """`deepinfra-async batch run IN OUT` runs a job and prints its summary."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, [line(i) for i in range(30)])
    env = {**os.environ, "DEEPINFRA_BASE_URL": emu.url, "DEEPINFRA_API_KEY": emu.api_key}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deepinfra_async", "batch", "run", str(source), str(target),
        "--concurrency", "8",
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    assert proc.returncode == 0
    assert "done: 30 succeeded" in err.decode()
    assert len(output_ids(target)) == 30


async def test_server_side_batch_round_trip(emu: Emulator, tmp_path: Path) -> None:
    """The same file works server-side: submit, poll status, download the output."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, [line(i) for i in range(12)])
    env = {**os.environ, "DEEPINFRA_BASE_URL": emu.url, "DEEPINFRA_API_KEY": emu.api_key}

    async def cli(*args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deepinfra_async", "batch", *args,
            env=env, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out
        return out.decode()

    submitted = await cli("submit", str(source))
    batch_id = submitted.split()[1].rstrip(":")
    assert batch_id.startswith("batch_")
    await emu.wait_batch(batch_id, timeout=10)
    status = await cli("status", batch_id)
    assert "completed 12/12 done, 0 failed" in status
    await cli("download", batch_id, str(target))
    assert sorted(output_ids(target)) == sorted(f"req-{i}" for i in range(12))


async def test_files_and_batches_api(client: DeepInfra, emu: Emulator, tmp_path: Path) -> None:
    """client.files and client.batches cover upload, list, content, delete and cancel."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [line(i) for i in range(3)])
    uploaded = await client.files.create(file=source)
    assert uploaded.purpose == "batch"
    assert uploaded.bytes == source.stat().st_size
    listed = await client.files.list(purpose="batch")
    assert uploaded.id in [f.id for f in listed.data]
    body = await (await client.files.content(uploaded.id)).read()
    assert body == source.read_bytes()
    batch = await client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions")
    final = await emu.wait_batch(batch.id, timeout=10)
    assert final["status"] == "completed"
    again = await client.batches.retrieve(batch.id)
    assert again.finished
    assert again.request_counts is not None
    assert again.request_counts.completed == 3
    assert batch.id in [b.id for b in (await client.batches.list()).data]
    deleted = await client.files.delete(uploaded.id)
    assert deleted.deleted
    with pytest.raises(ValueError, match="endpoint"):
        await client.batches.create(input_file_id=uploaded.id, endpoint="/v1/images")
    with pytest.raises(ValueError, match="file_id"):
        await client.files.retrieve("../etc")


async def test_cancelling_a_server_side_batch(
    client: DeepInfra, emu: Emulator, tmp_path: Path
) -> None:
    """batches.cancel() stops a running batch; what finished stays in its output."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [line(i) for i in range(40)])
    emu.batch_line_delay = 0.05
    uploaded = await client.files.create(file=source)
    batch = await client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions")
    for _ in range(200):
        current = await client.batches.retrieve(batch.id)
        if current.request_counts is not None and current.request_counts.completed > 0:
            break
        await asyncio.sleep(0.02)
    cancelling = await client.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    final = await emu.wait_batch(batch.id, timeout=10)
    assert final["status"] == "cancelled"
    done = await client.batches.retrieve(batch.id)
    assert done.finished
    assert done.request_counts is not None
    assert 0 < done.request_counts.completed < 40
