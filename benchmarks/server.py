"""The loopback server that serves the canned bodies: nginx, or a pure-Python fallback.

nginx (one worker, keep-alive, no access log) answers every POST with the file at the
request's path: its static handler refuses POST with 405, and ``error_page 405 =200 $uri``
turns that into the file itself. ``/w3/`` is rate-limited (``limit_rate_after`` 4 KiB, then
1 KiB/s), so the streams W3 holds open go quiet like a model that is generating instead of
filling buffers. nginx rounds each ``sendfile`` up to a whole 4 KiB page of the file, so a
``/w3/`` response arrives as 8 KiB at once and then 4 KiB about every 4 s: nothing more
arrives during W3's 1 s hold.

The pure-Python server (aiohttp.web) does the same; it is used for ``--smoke`` when nginx is
not installed, and as a fallback. Run it alone with
``python -m benchmarks.server --root DIR --port N``.

Both bind 127.0.0.1 only and are stopped by the PID this module started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

__all__ = ["NginxServer", "PythonServer", "Server", "find_nginx", "free_port", "start_server"]

SSE_PREFIXES: Final = ("w2", "w3", "w4")
THROTTLED_PREFIX: Final = "w3"
THROTTLE_AFTER: Final = 4096
THROTTLE_RATE: Final = 1024  # bytes per second, per connection
# What nginx makes of those two, its sends rounded up to 4 KiB pages (the Python server
# sends the same): the first burst, then one page per THROTTLE_PAGE / THROTTLE_RATE seconds.
THROTTLE_PAGE: Final = 4096
THROTTLE_FIRST: Final = -(-(THROTTLE_AFTER + THROTTLE_RATE) // THROTTLE_PAGE) * THROTTLE_PAGE
W3_PACE: Final = (
    f"{THROTTLE_FIRST // 1024} KiB at once, then {THROTTLE_PAGE // 1024} KiB about every "
    f"{THROTTLE_PAGE // THROTTLE_RATE} s"
)
"""How a ``/w3/`` response arrives, in words, for the reports."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def find_nginx() -> str | None:
    """Return the nginx binary, or ``None`` when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"the server exited at start with status {proc.returncode}"
            raise RuntimeError(msg)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    msg = f"the server did not listen on 127.0.0.1:{port} within {timeout} s"
    raise RuntimeError(msg)


def _pin_prefix(cpu: int | None) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(cpu)] if cpu is not None and taskset else []


class Server:
    """A started server: its base URL, the PIDs whose CPU is measured, and ``stop()``."""

    name = "server"

    def __init__(self, proc: subprocess.Popen[bytes], port: int, cpu: int | None) -> None:
        self.proc = proc
        self.port = port
        self.cpu = cpu
        self.version = ""

    def url(self, prefix: str) -> str:
        """The base URL of one workload's bodies."""
        return f"http://127.0.0.1:{self.port}/{prefix}"

    def pids(self) -> list[int]:
        """The processes that serve requests."""
        return [self.proc.pid]

    def stop(self) -> None:
        """Stop the server this object started (by PID) and wait for it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class NginxServer(Server):
    """nginx with one worker, serving the canned files for POST."""

    name = "nginx"

    def pids(self) -> list[int]:
        # The master only supervises; the worker serves. Both are counted.
        return [self.proc.pid, *_children(self.proc.pid)]


def _nginx_config(root: Path, work: Path, port: int, cpu: int | None) -> str:
    user = "user root root;" if os.geteuid() == 0 else ""
    affinity = f"worker_cpu_affinity {1 << cpu:b};" if cpu is not None else ""
    temp = work / "temp"
    sse = "\n".join(
        f"        location /{p}/ {{ default_type text/event-stream; }}"
        for p in SSE_PREFIXES
        if p != THROTTLED_PREFIX
    )
    return f"""# Generated by benchmarks/server.py; do not edit.
{user}
worker_processes 1;
{affinity}
daemon off;
master_process on;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
worker_rlimit_nofile 16384;
events {{
    worker_connections 8192;
    use epoll;
}}
http {{
    access_log off;
    server_tokens off;
    etag off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
    client_max_body_size 16m;
    client_body_buffer_size 1m;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    open_file_cache max=64;
    open_file_cache_valid 3600s;
    types {{ }}
    default_type application/json;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        # The static handler answers POST with 405: serve the file instead.
        error_page 405 =200 $uri;
{sse}
        location /{THROTTLED_PREFIX}/ {{
            default_type text/event-stream;
            limit_rate_after {THROTTLE_AFTER};
            limit_rate {THROTTLE_RATE};
        }}
    }}
}}
"""


def _nginx_version(binary: str) -> str:
    try:
        done = subprocess.run(
            [binary, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "nginx"
    text = (done.stderr or done.stdout).strip()
    return text.split(":", 1)[-1].strip() or "nginx"


def start_nginx(binary: str, root: Path, work: Path, cpu: int | None) -> NginxServer:
    """Start nginx on a free port, pinned to ``cpu``, serving ``root``."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "temp").mkdir(exist_ok=True)
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(_nginx_config(root.resolve(), work.resolve(), port, cpu))
    log = (work / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [*_pin_prefix(cpu), binary, "-p", str(work.resolve()), "-c", str(conf.resolve())],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    server = NginxServer(proc, port, cpu)
    try:
        _wait_listening(port, proc, 15)
    except RuntimeError:
        server.stop()
        raise
    server.version = _nginx_version(binary)
    return server


def start_python(root: Path, work: Path, cpu: int | None) -> PythonServer:
    """Start the pure-Python server in a child process, pinned to ``cpu``."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (work / "python-server.log").open("wb")
    proc = subprocess.Popen(
        [
            *_pin_prefix(cpu),
            sys.executable,
            "-m",
            "benchmarks.server",
            "--root",
            str(root.resolve()),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )
    log.close()
    server = PythonServer(proc, port, cpu)
    try:
        _wait_listening(port, proc, 30)
    except RuntimeError:
        server.stop()
        raise
    import aiohttp

    server.version = f"aiohttp.web {aiohttp.__version__}"
    return server


class PythonServer(Server):
    """The aiohttp.web fallback server."""

    name = "python"


def start_server(kind: str, root: Path, work: Path, cpu: int | None) -> Server:
    """Start ``kind`` (``"nginx"``, ``"python"`` or ``"auto"``: nginx when installed)."""
    if kind in ("nginx", "auto"):
        binary = find_nginx()
        if binary is not None:
            return start_nginx(binary, root, work / "nginx", cpu)
        if kind == "nginx":
            msg = "nginx is not installed: run benchmarks/setup.sh, or pass --server python"
            raise RuntimeError(msg)
    return start_python(root, work / "python-server", cpu)


# -- The pure-Python server ---------------------------------------------------------------


def _index(root: Path) -> dict[str, tuple[Path, str, bytes | None]]:
    """Map each URL path to its file, content type, and body (``None``: sent from disk)."""
    files: dict[str, tuple[Path, str, bytes | None]] = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.parent == root:
            continue
        rel = path.relative_to(root)
        ctype = "text/event-stream" if rel.parts[0] in SSE_PREFIXES else "application/json"
        size = path.stat().st_size
        body = path.read_bytes() if size <= 1 << 20 else None
        files["/" + rel.as_posix()] = (path, ctype, body)
    return files


def _serve(root: Path, port: int) -> None:
    from aiohttp import web

    files = _index(root.resolve())
    throttled = f"/{THROTTLED_PREFIX}/"

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        found = files.get(request.path)
        if found is None:
            return web.Response(status=404, text="not found")
        path, ctype, body = found
        if body is None:
            return web.FileResponse(path, headers={"Content-Type": ctype})
        if request.path.startswith(throttled):
            return await _trickle(request, body, ctype)
        return web.Response(body=body, headers={"Content-Type": ctype})

    async def _trickle(request: web.Request, body: bytes, ctype: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": ctype})
        response.content_length = len(body)
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            await response.write(body[:THROTTLE_FIRST])
            for start in range(THROTTLE_FIRST, len(body), THROTTLE_PAGE):
                await asyncio.sleep(THROTTLE_PAGE / THROTTLE_RATE)
                await response.write(body[start : start + THROTTLE_PAGE])
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, backlog=4096)


def _main() -> None:
    parser = argparse.ArgumentParser(description="Serve canned bodies for POST on loopback.")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    _serve(args.root, args.port)


if __name__ == "__main__":
    _main()
