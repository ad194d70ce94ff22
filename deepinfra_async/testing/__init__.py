"""A loopback DeepInfra emulator for tests, demos, benchmarks and your own app's tests.

Example::

    from deepinfra_async import DeepInfra
    from deepinfra_async.testing import Emulator

    async with Emulator() as emu:
        emu.faults.add("/v1/openai/chat/completions", status=429, retry_after=1)
        async with DeepInfra(emu.api_key, base_url=emu.url) as client:
            ...

Answers are shaped per request by an ``"emulator"`` object in the JSON body (send it with
``extra_body``; the real API has no such field), e.g.
``{"tokens": 1000, "token_rate": 50, "chunk_tokens": 4, "drop_after": 3}``. Its keys are
``tokens``, ``token_rate``, ``chunk_tokens``, ``usage`` (``"finish"``, ``"trailing"`` or
``"none"``), ``drop_after``, ``error_after``, ``stall_after``, ``error_type``,
``error_message``, ``image_urls`` and ``audio_bytes``. ``emu.streams`` shows how far each
streamed response has been written.

Besides the OpenAI-compatible routes (chat, completions, embeddings, images, speech,
transcription) the emulator serves native ``/v1/inference/{model}`` calls for every task in
``emu.models`` (JSON with data URLs, or multipart uploads streamed without buffering),
records each file received in ``emu.uploads`` and each webhook call in ``emu.webhooks``.

The Files and Batches APIs (``/v1/openai/files``, ``/v1/openai/batches``) keep uploads in a
temporary directory removed by ``aclose()`` and run each batch in the background, sending
its lines to the emulator's own routes over loopback, so faults apply to them too.
``emu.batch_line_delay`` slows lines down and ``await emu.wait_batch(batch_id)`` returns the
final batch object.

This package uses only ``aiohttp.web`` and never imports the rest of ``deepinfra_async``.

.. versionadded:: 0.1.0
"""

from ._emulator import Emulator, RecordedRequest
from ._faults import Fault, Faults
from ._sse_writer import StreamStats
from ._uploads import UploadRecord
from ._webhooks import WebhookDelivery

__all__ = [
    "Emulator",
    "Fault",
    "Faults",
    "RecordedRequest",
    "StreamStats",
    "UploadRecord",
    "WebhookDelivery",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
