"""``client.models``: the OpenAI-compatible model listing."""

from __future__ import annotations

from collections.abc import Mapping

from .._config import Timeout
from ..types.models import ModelList
from ._base import Resource, decode_json, structure

__all__ = ["Models"]


class Models(Resource):
    """``client.models``."""

    __slots__ = ()
    _path = "/models"

    async def list(
        self,
        *,
        with_metadata: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
    ) -> ModelList:
        """List the models (``GET /models``).

        Args:
            with_metadata: Ask for each model's metadata (context length, pricing, tags).
            extra_headers: Extra headers for this call.
            timeout: Timeouts for this call (a number replaces the total).

        Returns:
            The models.

        Raises:
            APIStatusError: The server answered with an error status.
            APIConnectionError: No usable response.
            ResponseValidationError: The response did not have the expected shape.

        .. versionadded:: 0.1.0
        """
        response = await self._send_json(
            "GET",
            self._url,
            None,
            model=None,
            extra_headers=extra_headers,
            timeout=timeout,
            params={"filter": "with_meta"} if with_metadata else None,
        )
        return structure(ModelList, decode_json(response))
