"""A loopback DeepInfra emulator for tests, demos, benchmarks and your own app's tests.

Example::

    from deepinfra_async import DeepInfra
    from deepinfra_async.testing import Emulator

    async with Emulator() as emu:
        emu.faults.add("/v1/openai/chat/completions", status=429, retry_after=1)
        async with DeepInfra(emu.api_key, base_url=emu.url) as client:
            ...

This package uses only ``aiohttp.web`` and never imports the rest of ``deepinfra_async``.

.. versionadded:: 0.1.0
"""

from ._emulator import Emulator, RecordedRequest
from ._faults import Fault, Faults

__all__ = ["Emulator", "Fault", "Faults", "RecordedRequest"]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
