"""``deepinfra-async batch run|submit|status|download``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._client import DeepInfra
from ._codec import loads
from ._errors import DeepInfraError
from ._jsonl import run_jsonl

__all__ = ["run_batch_command"]


def _first_url(path: Path) -> str | None:
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                try:
                    data = loads(raw)
                except ValueError:
                    return None
                url = data.get("url") if isinstance(data, dict) else None
                return url if isinstance(url, str) else None
    return None


async def run_batch_command(args: argparse.Namespace) -> int:
    """Run one ``batch`` action; returns the exit status."""
    try:
        async with DeepInfra() as client:
            action = args.batch_command
            if action == "run":
                summary = await run_jsonl(
                    client, args.input, args.output, concurrency=args.concurrency
                )
                return 0 if summary.failed == 0 else 1
            if action == "submit":
                endpoint = args.endpoint or _first_url(args.input)
                if endpoint is None:
                    print("cannot tell the endpoint: pass --endpoint", file=sys.stderr)
                    return 2
                uploaded = await client.files.create(file=args.input, purpose="batch")
                batch = await client.batches.create(input_file_id=uploaded.id, endpoint=endpoint)
                print(f"batch {batch.id}: {batch.status} (input {uploaded.id})")
                return 0
            if action == "status":
                batch = await client.batches.retrieve(args.batch_id)
                counts = batch.request_counts
                done = ""
                if counts is not None:
                    done = f" {counts.completed}/{counts.total} done, {counts.failed} failed"
                print(f"batch {batch.id}: {batch.status}{done}")
                if batch.output_file_id:
                    print(f"output file: {batch.output_file_id}")
                return 0
            batch = await client.batches.retrieve(args.batch_id)
            if not batch.output_file_id:
                print(f"batch {batch.id} has no output yet ({batch.status})", file=sys.stderr)
                return 1
            content = await client.files.content(batch.output_file_id)
            written = await content.write_to(args.output)
            print(f"wrote {written} bytes to {args.output}")
            return 0
    except (DeepInfraError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
