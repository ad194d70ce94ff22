"""The public surface: one sorted __all__, public module paths, and no import-time surprises."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import deepinfra_async
import deepinfra_async.testing
import deepinfra_async.types


def _isort_key(name: str) -> tuple[int, str]:
    """Constants first, then classes, then the rest, as ruff's RUF022 orders them."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


@pytest.mark.parametrize(
    "module", [deepinfra_async, deepinfra_async.types, deepinfra_async.testing]
)
def test_all_is_sorted_complete_and_public(module: types.ModuleType) -> None:
    """__all__ is sorted, every name exists, and public classes show the public module path."""
    names = module.__all__
    assert list(names) == sorted(names, key=_isort_key)
    public = {n for n in dir(module) if not n.startswith("_")}
    # Everything importable from the package without an underscore is listed.
    submodules = {n for n in public if isinstance(getattr(module, n), types.ModuleType)}
    assert public - submodules - {"annotations"} <= set(names) | {"__version__"}
    for name in names:
        obj = getattr(module, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__ == module.__name__, name


def test_library_import_does_not_load_the_emulator() -> None:
    """Importing deepinfra_async loads neither the emulator nor aiohttp.web."""
    code = (
        "import sys, deepinfra_async; "
        "print('deepinfra_async.testing' in sys.modules, 'aiohttp.web' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]


def test_works_without_orjson() -> None:
    """Without orjson the standard json module encodes and decodes the same bodies."""
    code = (
        "import sys; sys.modules['orjson'] = None; "
        "from deepinfra_async import _codec; "
        "assert not _codec.HAS_ORJSON; "
        "body = _codec.dumps({'model': 'm', 'text': 'héllo', 'n': 2**70}); "
        'expected = \'{"model":"m","text":"héllo","n":\' + str(2**70) + \'}\'; '
        "assert body == expected.encode(), body; "
        "assert _codec.loads(body)['text'] == 'héllo'; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
