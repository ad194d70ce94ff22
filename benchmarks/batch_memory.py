"""Peak RSS of a JSONL batch job against input size: ``python -m benchmarks.batch_memory``.

Each size runs in a fresh client process against a canned loopback server in another
process, so the figure is the client's own memory. Bounded memory shows as a flat peak RSS
while the input grows by orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHAT_BODY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1732684855,
        "model": "meta-llama/Meta-Llama-3-8B-Instruct",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "A short canned answer."},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "total_tokens": 17,
            "estimated_cost": 1.2e-06,
        },
    }
).encode()


def serve() -> None:
    """A canned chat completions server on 127.0.0.1; prints its port."""
    from aiohttp import web

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=CHAT_BODY, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/openai/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(port, flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())


def write_input(path: Path, lines: int) -> None:
    """Write a JSONL job of `lines` chat requests, streaming to disk."""
    with path.open("w") as handle:
        for i in range(lines):
            handle.write(
                json.dumps(
                    {
                        "custom_id": f"req-{i}",
                        "method": "POST",
                        "url": "/v1/chat/completions",
                        "body": {
                            "model": "meta-llama/Meta-Llama-3-8B-Instruct",
                            "messages": [{"role": "user", "content": f"Question {i}"}],
                            "max_tokens": 16,
                        },
                    }
                )
                + "\n"
            )


def child(url: str, source: str, target: str) -> None:
    """Run one job and print its peak RSS (KiB) and counts as JSON."""
    from deepinfra_async import DeepInfra, run_jsonl

    async def main() -> dict[str, object]:
        async with DeepInfra("bench-key", base_url=url) as client:
            started = time.monotonic()
            summary = await run_jsonl(client, source, target, concurrency=64, progress=None)
            return {
                "succeeded": summary.succeeded,
                "failed": summary.failed,
                "seconds": time.monotonic() - started,
            }

    result = asyncio.run(main())
    result["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))


def run(sizes: list[int]) -> str:
    """Run every size and return a Markdown table."""
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.batch_memory", "--serve"],
        stdout=subprocess.PIPE,
        text=True,
    )
    rows = []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as folder:
            for size in sizes:
                source = Path(folder) / f"in-{size}.jsonl"
                target = Path(folder) / f"out-{size}.jsonl"
                write_input(source, size)
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.batch_memory", "--child", url,
                     str(source), str(target)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                result = json.loads(out.stdout.strip().splitlines()[-1])
                lines = sum(1 for _ in target.open("rb"))
                rows.append((size, source.stat().st_size, result, lines))
                source.unlink()
                target.unlink()
                print(f"{size} lines: {result}", file=sys.stderr, flush=True)
    finally:
        server.kill()
        server.wait()
    table = [
        "| input lines | input size | output lines | failed | peak RSS (client) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size, nbytes, result, lines in rows:
        table.append(
            f"| {size:,} | {nbytes / 2**20:.1f} MiB | {lines:,} | {result['failed']} | "
            f"{int(result['peak_rss_kib']) / 1024:.1f} MiB |"
        )
    return "\n".join(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--write", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    if args.child:
        child(*args.child)
        return 0
    table = run([int(s) for s in args.sizes.split(",")])
    print(table)
    if args.write is not None:
        header = (
            "# Batch job memory\n\n"
            f"`python -m benchmarks.batch_memory --sizes {args.sizes}`, "
            f"{time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs. A fresh client process per size runs `run_jsonl` "
            "(concurrency 64) against a canned loopback server in another process.\n\n"
        )
        args.write.write_text(header + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
