"""``openai.AsyncOpenAI`` with its aiohttp backend (``http_client=DefaultAioHttpClient()``).

Needs the SDK's ``aiohttp`` extra (``pip install 'openai[aiohttp]'``).
"""

from __future__ import annotations

import argparse
from typing import Any

from ._harness import Adapter, main
from .openai_default import OpenAIDefault


class OpenAIAiohttp(OpenAIDefault):
    """``AsyncOpenAI`` over aiohttp."""

    name = "openai+aiohttp"

    def http_client(self) -> Any:
        return self.openai.DefaultAioHttpClient()


def _factory(options: argparse.Namespace) -> Adapter:
    return OpenAIAiohttp(options)


if __name__ == "__main__":
    raise SystemExit(main(_factory))
