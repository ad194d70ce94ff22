"""The workloads, the clients, and the targets the issue sets for deepinfra_async."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["CLIENTS", "WORKLOADS", "Client", "Workload", "by_key"]


@dataclass(frozen=True)
class Workload:
    """One workload: what each client does, how much of it, and how it is scored.

    ``kind`` selects the client operation; ``metric`` is ``"cpu"`` (CPU time per ``unit``),
    ``"rss_per_stream"``, ``"rss_growth"`` or ``"import"``. ``target`` is the largest ratio
    to the floor (or, for W4, the largest growth in MiB) that deepinfra_async may show.
    """

    key: str
    title: str
    kind: str
    prefix: str
    count: int
    concurrency: int
    smoke_count: int
    smoke_concurrency: int
    metric: str
    unit: str
    target: float | None
    target_text: str


WORKLOADS: Final = (
    Workload(
        "W1", "20,000 chat completions, concurrency 64", "chat", "w1",
        20_000, 64, 24, 4, "cpu", "request", 1.2, "<= 1.2x floor",
    ),
    Workload(
        "W2", "200 streams x 1,000 chunks, concurrency 32", "stream", "w2",
        200, 32, 3, 2, "cpu", "chunk", 1.6, "<= 1.6x floor",
    ),
    Workload(
        "W3", "1,000 concurrently open streams", "hold", "w3",
        1_000, 1_000, 12, 12, "rss_per_stream", "stream", 1.0, "<= floor",
    ),
    Workload(
        "W4", "200 MB stream, slow consumer", "slow", "w4",
        1, 1, 1, 1, "rss_growth", "stream", 8.0, "<= 8 MiB growth",
    ),
    Workload(
        "W5", "import time", "import", "",
        1, 1, 1, 1, "import", "import", 1.5, "<= 1.5x import aiohttp, < import openai",
    ),
    Workload(
        "W6", "500 embeddings responses of 16 x 1,024 floats, concurrency 64", "embed", "w6",
        500, 64, 6, 3, "cpu", "response", 1.3, "<= 1.3x floor",
    ),
    Workload(
        "W7", "20,000 native text-generation calls, concurrency 64", "native", "w7",
        20_000, 64, 24, 4, "cpu", "call", 1.2, "<= 1.2x floor",
    ),
    Workload(
        "W8", "client.batch.map over 20,000 chat requests", "batch", "w1",
        20_000, 64, 24, 4, "cpu", "request", 1.3, "<= 1.3x floor W1",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Client:
    """A measured client: its child module and the import its W5 measures.

    ``kinds`` limits the client to those workload kinds (``None``: every workload).
    """

    key: str
    label: str
    module: str
    args: tuple[str, ...]
    needs: str | None
    import_stmt: str
    kinds: tuple[str, ...] | None = None


CLIENTS: Final = (
    Client("floor", "floor (raw aiohttp)", "benchmarks.clients.floor", (), None, "import aiohttp"),
    # A reference, not a target: the floor enforcing deepinfra_async's default read timeout
    # (Timeout.read = 120 s) through aiohttp's sock_read, a timer per request.
    Client(
        "floor+read", "floor + read timeout", "benchmarks.clients.floor",
        ("--sock-read", "120"), None, "import aiohttp",
        ("chat", "stream", "hold", "embed", "native"),
    ),
    Client(
        "deepinfra_async", "deepinfra_async", "benchmarks.clients.deepinfra",
        ("--json", "stdlib"), None,
        "import sys; sys.modules['orjson'] = None; import deepinfra_async",
    ),
    Client(
        "deepinfra_async+orjson", "deepinfra_async + orjson", "benchmarks.clients.deepinfra",
        ("--json", "orjson"), "orjson", "import deepinfra_async",
    ),
    Client(
        "openai", "openai (httpx)", "benchmarks.clients.openai_default", (), "openai",
        "import openai",
    ),
    Client(
        "openai+aiohttp", "openai (aiohttp)", "benchmarks.clients.openai_aiohttp", (),
        "openai", "import openai; openai.DefaultAioHttpClient",
    ),
)  # fmt: skip


def by_key(keys: str | None) -> tuple[Workload, ...]:
    """Return the workloads named in a comma-separated list (all when ``None``).

    Raises:
        ValueError: A name is unknown.
    """
    if not keys:
        return WORKLOADS
    wanted = [k.strip().upper() for k in keys.split(",") if k.strip()]
    known = {w.key: w for w in WORKLOADS}
    unknown = [k for k in wanted if k not in known]
    if unknown:
        msg = f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(known)}"
        raise ValueError(msg)
    return tuple(known[k] for k in wanted)
