#!/usr/bin/env bash
# Prepare the benchmark machine: nginx (the loopback server) and benchmarks/.venv, a
# virtualenv holding this project (with its speedups extra) and the comparison clients.
# The comparison clients are never dependencies of the library itself.
#
#   bash benchmarks/setup.sh          # then: benchmarks/.venv/bin/python -m benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        # The package's post-install script may try to start the system service; the
        # benchmark never uses it (it runs its own nginx with its own config).
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light \
            || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx
    else
        echo "nginx is missing: install it (e.g. apt-get install nginx-light)." >&2
        echo "Without it the benchmark falls back to a slower pure-Python server." >&2
    fi
fi

PY="${PYTHON:-python3}"
if [ ! -x benchmarks/.venv/bin/python ]; then
    "$PY" -m venv benchmarks/.venv
fi
benchmarks/.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
benchmarks/.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -e '.[speedups]' 'openai[aiohttp]' psutil
benchmarks/.venv/bin/python - <<'PY'
import importlib.metadata as md
for name in ("deepinfra-async", "aiohttp", "orjson", "openai", "httpx", "httpx-aiohttp"):
    try:
        print(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name} (not installed)")
PY
