"""The client's life cycle: open, close, event loops, warnings, and the raw request API."""

from __future__ import annotations

import asyncio

import pytest

from deepinfra_async import ClientState, DeepInfra
from deepinfra_async.testing import Emulator

from .conftest import CHAT_MODEL, chat_body

MODELS = "/v1/openai/models"


def state_of(client: DeepInfra) -> ClientState:
    """Read the state through a call, so type checkers do not carry it across awaits."""
    return client.state


async def test_states_and_idempotent_close(emu: Emulator) -> None:
    """The client goes UNOPENED -> OPENED -> CLOSED, and aclose() may run twice."""
    client = DeepInfra(emu.api_key, base_url=emu.url)
    assert state_of(client) is ClientState.UNOPENED
    async with client:
        assert state_of(client) is ClientState.OPENED
        assert "state=opened" in repr(client)
    assert state_of(client) is ClientState.CLOSED
    await client.aclose()
    assert state_of(client) is ClientState.CLOSED
    assert "state=closed" in repr(client)


async def test_use_after_close_says_how_to_fix_it(emu: Emulator) -> None:
    """A request on a closed client raises RuntimeError telling the caller to make a new one."""
    async with DeepInfra(emu.api_key, base_url=emu.url) as client:
        pass
    with pytest.raises(RuntimeError, match=r"closed: create a new DeepInfra\(\)"):
        await client.request("GET", MODELS)
    with pytest.raises(RuntimeError, match="cannot be reopened"):
        await client.__aenter__()
    assert emu.requests == []


async def test_double_entry_is_refused(emu: Emulator) -> None:
    """Entering an open client again raises RuntimeError and leaves it usable."""
    async with DeepInfra(emu.api_key, base_url=emu.url) as client:
        with pytest.raises(RuntimeError, match="already open"):
            await client.__aenter__()
        assert (await client.request("GET", MODELS)).status == 200


async def test_opens_on_first_use_without_async_with(emu: Emulator) -> None:
    """A client used without `async with` opens on its first request and closes with aclose()."""
    client = DeepInfra(emu.api_key, base_url=emu.url)
    response = await client.request("GET", MODELS)
    assert state_of(client) is ClientState.OPENED
    assert response.status == 200
    await client.aclose()
    assert state_of(client) is ClientState.CLOSED


def test_use_from_another_event_loop_is_refused() -> None:
    """A client opened in one event loop raises a clear RuntimeError when used in another."""
    first = asyncio.new_event_loop()
    try:
        # The loop check comes before any I/O, so no server is needed.
        client = DeepInfra("unused-key", base_url="http://127.0.0.1:9")
        first.run_until_complete(client.__aenter__())

        async def use_elsewhere() -> None:
            with pytest.raises(RuntimeError, match="opened in another event loop"):
                await client.request("GET", MODELS)
            with pytest.raises(RuntimeError, match="another event loop"):
                await client.aclose()

        asyncio.run(use_elsewhere())
        assert state_of(client) is ClientState.OPENED
        first.run_until_complete(client.aclose())
        assert state_of(client) is ClientState.CLOSED
    finally:
        first.close()


async def test_unclosed_client_warns(emu: Emulator) -> None:
    """A client collected while open emits a ResourceWarning naming it."""
    client = DeepInfra(emu.api_key, base_url=emu.url)
    await client.__aenter__()
    # Close aiohttp's session directly so that only the client's own warning is emitted.
    session = client._transport._session
    assert session is not None
    await session.close()
    # The last reference goes: CPython finalises the client right here.
    with pytest.warns(ResourceWarning, match="DeepInfra state=opened"):
        del client


async def test_response_accessors(client: DeepInfra, emu: Emulator) -> None:
    """Response exposes status, headers, json(), text() and the body's request id."""
    response = await client.request("POST", "/v1/openai/chat/completions", json=chat_body())
    data = response.json()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert data["model"] == CHAT_MODEL
    assert response.text().startswith("{")
    assert response.json() is data
    assert response.request_id is None or isinstance(response.request_id, str)
    assert repr(response).startswith("<Response 200 ")


async def test_request_validates_arguments_before_sending(client: DeepInfra, emu: Emulator) -> None:
    """Bad method, path or body types are rejected with the argument named; nothing is sent."""
    with pytest.raises(ValueError, match="method"):
        await client.request("FETCH", MODELS)
    with pytest.raises(ValueError, match="path"):
        await client.request("GET", "v1/openai/models")
    with pytest.raises(ValueError, match="params="):
        await client.request("GET", "/v1/openai/models?x=1")
    with pytest.raises(TypeError):
        await client.request("POST", "/v1/openai/chat/completions", json={"model": object()})
    assert emu.requests == []


async def test_absolute_urls_and_lowercase_methods(client: DeepInfra, emu: Emulator) -> None:
    """request() accepts absolute URLs and lower-case methods."""
    response = await client.request("get", f"{emu.url}{MODELS}")
    assert response.status == 200
    assert emu.requests[0].method == "GET"
