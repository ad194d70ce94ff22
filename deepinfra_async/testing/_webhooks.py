"""Webhook deliveries for native calls that carry ``"webhook": "<url>"``.

The call is answered at once as ``queued``; the full result is then POSTed as JSON to the
URL in a background task, as DeepInfra does. The emulator only ever calls loopback hosts
(``localhost``, ``127.0.0.0/8``, ``::1``): any other URL is recorded as not delivered and
never contacted. A delivery answered with 4xx or 5xx, or that fails to connect, is tried
up to three times in all. Each delivery is listed in ``Emulator.webhooks`` from the start
and updated when it ends; closing the emulator cancels deliveries still pending.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any, Final

import aiohttp
import attrs
from yarl import URL

__all__ = ["WebhookDelivery", "WebhookSender", "is_loopback_url"]

_ATTEMPTS: Final = 3
_FIRST_BACKOFF: Final = 0.05
_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
_CLOSE_TIMEOUT: Final = 1.0


@attrs.define(eq=False)
class WebhookDelivery:
    """One webhook call of a native request, updated as it goes.

    Attributes:
        url: The webhook URL from the request body.
        request_id: The ``request_id`` of the native call.
        payload: The JSON body POSTed (the result a synchronous call would have returned).
        status: The HTTP status of the last attempt, or ``None`` when none was answered.
        error: Why the delivery failed or was not attempted, or ``None``.
        attempts: How many POSTs were made.
        finished: ``False`` while the delivery is pending or being retried.

    .. versionadded:: 0.1.0
    """

    url: str
    request_id: str
    payload: dict[str, Any] = attrs.field(repr=False)
    status: int | None = None
    error: str | None = None
    attempts: int = 0
    finished: bool = False

    @property
    def delivered(self) -> bool:
        """Whether the webhook answered with a 2xx status."""
        return self.status is not None and 200 <= self.status < 300


def is_loopback_url(url: str) -> bool:
    """Tell whether a URL is ``http(s)`` on a loopback host, without resolving any name.

    Args:
        url: The URL.

    Returns:
        ``True`` for ``localhost`` and loopback IP addresses.
    """
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return False
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return False
    host = parsed.host
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WebhookSender:
    """Runs webhook deliveries in background tasks and records them.

    Args:
        deliveries: The list every delivery is appended to (``Emulator.webhooks``).
    """

    __slots__ = ("_deliveries", "_session", "_tasks")

    def __init__(self, deliveries: list[WebhookDelivery]) -> None:
        self._deliveries = deliveries
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def schedule(self, url: str, request_id: str, payload: dict[str, Any]) -> WebhookDelivery:
        """Record a delivery and start it, unless the URL is not on a loopback host.

        Args:
            url: The webhook URL.
            request_id: The native call's request id.
            payload: The JSON result to POST.

        Returns:
            The delivery record.
        """
        delivery = WebhookDelivery(url, request_id, payload)
        self._deliveries.append(delivery)
        if not is_loopback_url(url):
            delivery.error = "not delivered: the emulator only calls loopback http(s) URLs"
            delivery.finished = True
            return delivery
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def _deliver(self, delivery: WebhookDelivery) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        session = self._session
        try:
            for attempt in range(_ATTEMPTS):
                if attempt:
                    await asyncio.sleep(_FIRST_BACKOFF * 2 ** (attempt - 1))
                delivery.attempts += 1
                try:
                    async with session.post(delivery.url, json=delivery.payload) as response:
                        await response.read()
                        delivery.status, delivery.error = response.status, None
                except (aiohttp.ClientError, TimeoutError) as exc:
                    delivery.status, delivery.error = None, f"{type(exc).__name__}: {exc}"
                    continue
                if response.status < 400:
                    return
        except asyncio.CancelledError:
            delivery.error = "cancelled: the emulator was closed"
            raise
        finally:
            delivery.finished = True

    @property
    def pending(self) -> int:
        """How many deliveries are still running."""
        return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel pending deliveries and close the HTTP session. Idempotent."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_TIMEOUT)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
