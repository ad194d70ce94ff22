"""The command line: the demo against the emulator, and the emulator as a server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deepinfra_async._cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_against_the_emulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`deepinfra-async demo` without a key walks through the features and exits 0."""
    for name in ("DEEPINFRA_API_KEY", "DEEPINFRA_API_TOKEN", "DEEPINFRA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "built-in emulator" in out
    assert "NotFoundError: status 404" in out
    assert "retried after 0.3 s" in out
    assert "at most 4 in flight" in out


def test_emulator_command_serves_until_interrupted() -> None:
    """`python -m deepinfra_async emulator --port 0` serves on loopback and stops on SIGINT."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepinfra_async", "emulator", "--port", "0", "--api-key", "k"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("DeepInfra emulator listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        request = urllib.request.Request(
            f"{url}/v1/openai/models", headers={"Authorization": "Bearer k"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
        if proc.stdout is not None:
            proc.stdout.close()


def test_readme_commands_match_ci() -> None:
    """The README's test command is the one .ci/run executes, and its demo command exists."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```bash\n")[1:3]]
    install_and_demo, tests = blocks
    assert install_and_demo.endswith("deepinfra-async demo")
    assert tests in ci.splitlines()
