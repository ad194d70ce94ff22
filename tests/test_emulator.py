"""The loopback emulator, driven by a raw aiohttp client over real TCP."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from deepinfra_async import testing
from deepinfra_async.testing import Emulator, Fault, Faults, RecordedRequest

CHAT = "/v1/openai/chat/completions"
MODELS = "/v1/openai/models"
LLAMA = "meta-llama/Meta-Llama-3-8B-Instruct"
DEEPSEEK = "deepseek-ai/DeepSeek-V3"
NOT_AUTHENTICATED = {
    "error": {
        "message": "Not authenticated",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A running emulator with a fixed key."""
    async with Emulator(api_key="test-key") as emulator:
        yield emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    """A raw aiohttp session that sends the emulator's key."""
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(emu.url, headers=headers) as session:
        yield session


def chat(model: str = LLAMA, content: str = "Hello there", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


async def post_json(
    http: aiohttp.ClientSession, body: Any, path: str = CHAT
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.post(path, json=body) as response:
        return response.status, await response.json(), response


async def eventually(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met within 5 s")


# -- auth and routing ---------------------------------------------------------------------


async def test_missing_key_is_401_with_openai_body(emu: Emulator) -> None:
    """Without an Authorization header the answer is 401 "Not authenticated"."""
    async with aiohttp.ClientSession(emu.url) as session, session.get(MODELS) as response:
        assert response.status == 401
        assert await response.json() == NOT_AUTHENTICATED


@pytest.mark.parametrize("value", ["Bearer wrong", "Basic test-key", "test-key", "Bearer"])
async def test_wrong_key_is_401(emu: Emulator, value: str) -> None:
    """A wrong token or scheme is refused with the same 401 body."""
    headers = {"Authorization": value}
    async with (
        aiohttp.ClientSession(emu.url, headers=headers) as session,
        session.get(MODELS) as response,
    ):
        assert response.status == 401
        assert await response.json() == NOT_AUTHENTICATED


async def test_bearer_scheme_is_case_insensitive(emu: Emulator) -> None:
    """A lower-case "bearer" scheme is accepted."""
    headers = {"Authorization": f"bearer {emu.api_key}"}
    async with (
        aiohttp.ClientSession(emu.url, headers=headers) as session,
        session.get(MODELS) as response,
    ):
        assert response.status == 200


async def test_unknown_route_is_404_before_auth(emu: Emulator) -> None:
    """An unknown path answers FastAPI's 404 body, even without a key."""
    async with (
        aiohttp.ClientSession(emu.url) as session,
        session.post("/v1/openai/nothing-here", json={}) as response,
    ):
        assert response.status == 404
        assert await response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_405(http: aiohttp.ClientSession) -> None:
    """A known path with the wrong method answers 405 with an Allow header."""
    async with http.get(CHAT) as response:
        assert response.status == 405
        assert await response.json() == {"detail": "Method Not Allowed"}
        assert response.headers["Allow"] == "POST"


# -- OpenAI-compatible routes -------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/v1/openai", "/v1"])
async def test_models_list_under_both_prefixes(
    emu: Emulator, http: aiohttp.ClientSession, prefix: str
) -> None:
    """GET {prefix}/models lists the registry with metadata and pricing."""
    async with http.get(f"{prefix}/models") as response:
        assert response.status == 200
        body = await response.json()
    assert body["object"] == "list"
    ids = [entry["id"] for entry in body["data"]]
    assert ids == list(emu.models)
    deepseek = body["data"][ids.index(DEEPSEEK)]
    assert deepseek["object"] == "model"
    assert deepseek["owned_by"] == "deepseek-ai"
    assert isinstance(deepseek["created"], int)
    assert deepseek["metadata"]["pricing"] == {"input_tokens": 0.38, "output_tokens": 0.89}
    assert deepseek["metadata"]["tags"] == ["chat"]
    bge = body["data"][ids.index("BAAI/bge-large-en-v1.5")]
    assert bge["metadata"]["tags"] == ["embeddings"]


async def test_models_follow_the_registry(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Models added to emu.models are listed and accepted by chat completions."""
    emu.models["acme/tiny-chat"] = "chat"
    async with http.get("/v1/models") as response:
        ids = [entry["id"] for entry in (await response.json())["data"]]
    assert "acme/tiny-chat" in ids
    status, _, _ = await post_json(http, chat("acme/tiny-chat"))
    assert status == 200


@pytest.mark.parametrize("path", [CHAT, "/v1/chat/completions"])
async def test_chat_completion_shape(http: aiohttp.ClientSession, path: str) -> None:
    """A chat completion has the documented shape, 16 words and a priced usage."""
    status, body, response = await post_json(
        http, chat(content="one two three", n=2, temperature=0.5), path
    )
    assert status == 200
    assert response.content_type == "application/json"
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert body["id"].startswith("chatcmpl-")
    assert len(body["id"]) > len("chatcmpl-") + 10
    assert body["object"] == "chat.completion"
    assert body["model"] == LLAMA
    assert abs(body["created"] - time.time()) < 60
    assert [c["index"] for c in body["choices"]] == [0, 1]
    for choice in body["choices"]:
        assert choice["message"]["role"] == "assistant"
        assert len(choice["message"]["content"].split()) == 16
        assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] == 3
    assert usage["completion_tokens"] == 32
    assert usage["total_tokens"] == 35
    assert usage["estimated_cost"] == pytest.approx((3 * 0.03 + 32 * 0.06) / 1e6)


async def test_chat_is_deterministic(http: aiohttp.ClientSession) -> None:
    """The same request gives the same text; other messages or choices give other text."""
    texts = []
    for content in ["Hello", "Hello", "Goodbye"]:
        _, body, _ = await post_json(http, chat(content=content, n=2))
        texts.append([c["message"]["content"] for c in body["choices"]])
    assert texts[0] == texts[1]
    assert texts[0][0] != texts[2][0]
    assert texts[0][0] != texts[0][1]


async def test_seed_changes_the_text() -> None:
    """Emulators with different seeds generate different text for one request."""
    contents = []
    for seed in (1, 2):
        async with Emulator(seed=seed) as emu:
            headers = {"Authorization": f"Bearer {emu.api_key}"}
            async with aiohttp.ClientSession(emu.url, headers=headers) as session:
                _, body, _ = await post_json(session, chat())
                contents.append(body["choices"][0]["message"]["content"])
    assert contents[0] != contents[1]


async def test_max_tokens_cuts_with_finish_reason_length(http: aiohttp.ClientSession) -> None:
    """max_tokens below 16 cuts the text to a prefix and reports "length"."""
    _, full, _ = await post_json(http, chat())
    _, cut, _ = await post_json(http, chat(max_tokens=5))
    choice = cut["choices"][0]
    assert choice["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] == 5
    words = choice["message"]["content"].split()
    assert words == full["choices"][0]["message"]["content"].split()[:5]
    _, roomy, _ = await post_json(http, chat(max_tokens=100))
    assert roomy["choices"][0]["finish_reason"] == "stop"
    assert roomy["usage"]["completion_tokens"] == 16


async def test_unknown_model_is_404(http: aiohttp.ClientSession) -> None:
    """An unknown model answers 404 with an OpenAI-style model_not_found body."""
    status, body, _ = await post_json(http, chat("nobody/nothing"))
    assert status == 404
    assert body == {
        "error": {
            "message": "The model `nobody/nothing` does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        ({"model": LLAMA}, [["body", "messages"]]),
        ({"messages": [{"role": "user", "content": "x"}]}, [["body", "model"]]),
        ({**chat(), "model": 7}, [["body", "model"]]),
        ({"model": LLAMA, "messages": []}, [["body", "messages"]]),
        ({"model": LLAMA, "messages": "hi"}, [["body", "messages"]]),
        (
            {"model": LLAMA, "messages": [{"role": "developer", "content": "x"}, "x", {}]},
            [
                ["body", "messages", 0, "role"],
                ["body", "messages", 1],
                ["body", "messages", 2, "role"],
            ],
        ),
        (chat(max_tokens=0), [["body", "max_tokens"]]),
        (chat(max_tokens="5"), [["body", "max_tokens"]]),
        (chat(temperature=2.5), [["body", "temperature"]]),
        (chat(temperature=True), [["body", "temperature"]]),
        (chat(n=5), [["body", "n"]]),
        (chat(n=1.5), [["body", "n"]]),
        (
            chat(n=0, temperature=-1, max_tokens=1.0),
            [["body", "max_tokens"], ["body", "temperature"], ["body", "n"]],
        ),
        ([1, 2], [["body"]]),
    ],
)
async def test_malformed_bodies_get_422_details(
    http: aiohttp.ClientSession, body: Any, locs: list[list[Any]]
) -> None:
    """Each schema problem is one FastAPI-style detail entry with loc, msg and type."""
    status, answer, _ = await post_json(http, body)
    assert status == 422
    assert [entry["loc"] for entry in answer["detail"]] == locs
    for entry in answer["detail"]:
        assert set(entry) == {"loc", "msg", "type"}
        assert entry["msg"]
        assert entry["type"]


async def test_invalid_json_gets_422(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A body that is not valid JSON answers 422 json_invalid and is logged with json=None."""
    headers = {"Content-Type": "application/json"}
    async with http.post(CHAT, data=b"{not json", headers=headers) as response:
        assert response.status == 422
        body = await response.json()
    assert body["detail"][0]["type"] == "json_invalid"
    assert emu.requests[-1].json is None


async def test_non_json_body_gets_422(http: aiohttp.ClientSession) -> None:
    """A chat request without a JSON body is missing its body."""
    async with http.post(CHAT, data=b"model=x") as response:
        assert response.status == 422
        assert (await response.json())["detail"][0]["loc"] == ["body"]


# -- faults --------------------------------------------------------------------------------


async def test_status_fault_is_used_exactly_times_times(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """A 429 fault with Retry-After answers twice, then the real handler answers."""
    fault = emu.faults.add(CHAT, status=429, retry_after=1.5, retry_after_ms=1500, times=2)
    assert isinstance(fault, Fault)
    for expected_remaining in (1, 0):
        status, body, response = await post_json(http, chat())
        assert status == 429
        assert response.headers["Retry-After"] == "1.5"
        assert response.headers["retry-after-ms"] == "1500"
        assert body["error"]["message"] == "Too Many Requests"
        assert fault.remaining == expected_remaining
    status, _, response = await post_json(http, chat())
    assert status == 200
    assert "Retry-After" not in response.headers
    assert fault.hits == 2
    assert len(emu.requests) == 3


async def test_fault_bodies_and_headers(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A fault sends dict bodies as JSON, strings raw, and its extra headers."""
    emu.faults.add(CHAT, status=503, body={"error": "Model busy"}, headers={"x-request-id": "r1"})
    emu.faults.add(CHAT, status=502, body="<html>bad gateway</html>", retry_after=2)
    emu.faults.add(CHAT, status=500, body=b"\x00raw")
    async with http.post(CHAT, json=chat()) as response:
        assert response.status == 503
        assert await response.json() == {"error": "Model busy"}
        assert response.headers["x-request-id"] == "r1"
    async with http.post(CHAT, json=chat()) as response:
        assert response.status == 502
        assert await response.text() == "<html>bad gateway</html>"
        assert response.headers["Retry-After"] == "2"
    async with http.post(CHAT, json=chat()) as response:
        assert response.status == 500
        assert await response.read() == b"\x00raw"


async def test_fault_matches_pattern_and_method(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Faults match fnmatch patterns and, when given, only their method."""
    emu.faults.add("*/models", method="post", status=500, times=None)
    emu.faults.add("/v1/*/models", status=418, times=None)
    async with http.get("/v1/openai/models") as response:
        assert response.status == 418
    async with http.get("/v1/models") as response:
        assert response.status == 200
    emu.faults.clear()
    assert len(emu.faults) == 0
    async with http.get("/v1/openai/models") as response:
        assert response.status == 200


async def test_faults_never_replace_401(emu: Emulator) -> None:
    """Auth runs before faults: an unauthenticated request gets 401 and uses no fault."""
    fault = emu.faults.add(CHAT, status=500)
    async with (
        aiohttp.ClientSession(emu.url) as session,
        session.post(CHAT, json=chat()) as response,
    ):
        assert response.status == 401
    assert fault.hits == 0


async def test_drop_fault_disconnects(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A drop fault closes the connection without a response; the next call works."""
    emu.faults.add(CHAT, drop=True)
    with pytest.raises(aiohttp.ClientConnectionError):
        await post_json(http, chat())
    status, _, _ = await post_json(http, chat())
    assert status == 200
    assert emu.in_flight[LLAMA] == 0


async def test_delay_fault_slows_the_real_answer(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """A pure delay fault answers normally, but only after the delay."""
    emu.faults.add(CHAT, delay=0.3)
    started = time.monotonic()
    status, body, _ = await post_json(http, chat())
    assert time.monotonic() - started >= 0.3
    assert status == 200
    assert body["object"] == "chat.completion"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": 99},
        {"status": 600},
        {"status": 500, "drop": True},
        {"delay": -1},
        {"delay": float("inf")},
        {"times": 0},
        {"retry_after": -1},
        {"retry_after_ms": -5},
    ],
)
def test_fault_arguments_are_validated(kwargs: dict[str, Any]) -> None:
    """Out-of-range fault arguments raise ValueError."""
    with pytest.raises(ValueError, match=r"status|drop|delay|times|retry_after"):
        Faults().add(CHAT, **kwargs)


# -- connections, concurrency, life cycle ---------------------------------------------------


async def test_connections_are_counted(emu: Emulator) -> None:
    """Ten sequential requests on one keep-alive session use one connection; two sessions two."""
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(emu.url, headers=headers) as session:
        for _ in range(10):
            async with session.get(MODELS) as response:
                assert response.status == 200
    assert emu.connections_accepted == 1
    async with (
        aiohttp.ClientSession(emu.url, headers=headers) as session,
        session.get(MODELS) as response,
    ):
        assert response.status == 200
    assert emu.connections_accepted == 2
    assert len(emu.requests) == 11


async def test_max_in_flight_per_model(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Concurrent delayed requests are counted per model while in flight."""
    emu.faults.add(CHAT, delay=0.2, times=None)
    bodies = [chat(LLAMA)] * 3 + [chat(DEEPSEEK)] * 2
    results = await asyncio.gather(*(post_json(http, body) for body in bodies))
    assert [status for status, _, _ in results] == [200] * 5
    assert emu.max_in_flight == {LLAMA: 3, DEEPSEEK: 2}
    assert emu.in_flight == {LLAMA: 0, DEEPSEEK: 0}
    emu.reset()
    assert emu.max_in_flight == {}
    assert emu.in_flight == {}
    assert emu.requests == []
    assert len(emu.faults) == 0


async def test_client_disconnect_frees_the_in_flight_slot(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """A client that gives up during a delay is no longer counted in flight."""
    emu.faults.add(CHAT, delay=30.0)
    with pytest.raises(asyncio.TimeoutError):
        await http.post(CHAT, json=chat(), timeout=aiohttp.ClientTimeout(total=0.1))
    await eventually(lambda: emu.in_flight[LLAMA] == 0)
    assert emu.max_in_flight == {LLAMA: 1}


async def test_aclose_is_fast_while_a_request_is_stalled() -> None:
    """aclose() cancels a handler stuck in a long delay and returns within a second."""
    emu = Emulator()
    await emu.start()
    emu.faults.add(CHAT, delay=60.0)
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(emu.url, headers=headers) as session:
        call = asyncio.create_task(post_json(session, chat()))
        await eventually(lambda: emu.in_flight.get(LLAMA, 0) == 1)
        started = time.monotonic()
        await emu.aclose()
        assert time.monotonic() - started < 1.0
        with pytest.raises(aiohttp.ClientConnectionError):
            await call
    assert emu.in_flight[LLAMA] == 0
    await emu.aclose()  # idempotent


async def test_life_cycle_errors() -> None:
    """The url needs start(); start() twice or after close raises; repr hides the key."""
    emu = Emulator(api_key="very-secret")
    with pytest.raises(RuntimeError, match="start"):
        _ = emu.url
    await emu.start()
    try:
        assert emu.url == f"http://127.0.0.1:{emu.port}"
        assert emu.port > 0
        with pytest.raises(RuntimeError, match="running"):
            await emu.start()
        assert "running" in repr(emu)
        assert "very-secret" not in repr(emu)
    finally:
        await emu.aclose()
    assert "closed" in repr(emu)
    with pytest.raises(RuntimeError, match="closed"):
        await emu.start()


async def test_serve_forever_closes_when_cancelled() -> None:
    """serve_forever() starts the emulator and closes it when cancelled."""
    emu = Emulator()
    task = asyncio.create_task(emu.serve_forever())
    await eventually(lambda: emu.port != 0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "closed" in repr(emu)


def test_constructor_validates_arguments() -> None:
    """Non-loopback hosts, bad ports and blank keys raise ValueError; keys default to emu-..."""
    for host in ("0.0.0.0", "10.1.2.3", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            Emulator(host=host)
    with pytest.raises(ValueError, match="port"):
        Emulator(port=70000)
    with pytest.raises(ValueError, match="api_key"):
        Emulator(api_key="")
    assert Emulator(host="127.0.0.2").api_key.startswith("emu-")
    assert Emulator().api_key != Emulator().api_key


# -- request log ---------------------------------------------------------------------------


async def test_request_log(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Every request is logged with method, path, query, lower-cased headers, JSON and model."""
    body = chat(DEEPSEEK, max_tokens=3)
    async with http.post(CHAT, json=body, headers={"X-Deepinfra-Source": "tests"}):
        pass
    async with http.get("/v1/models", params={"filter": "with_meta"}):
        pass
    async with http.post("/v1/inference/openai/whisper-large-v3", data=b"abc"):
        pass
    first, second, third = emu.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path, first.json, first.model) == ("POST", CHAT, body, DEEPSEEK)
    assert first.headers["x-deepinfra-source"] == "tests"
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.headers["content-type"] == "application/json"
    assert "test-key" not in repr(first)
    assert (second.method, second.query, second.json, second.model) == (
        "GET",
        {"filter": "with_meta"},
        None,
        None,
    )
    assert (third.path, third.json, third.model) == (
        "/v1/inference/openai/whisper-large-v3",
        None,
        "openai/whisper-large-v3",
    )


async def test_huge_bodies_are_answered_but_not_logged(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """A JSON body over 1 MiB is handled normally and logged with json=None."""
    data = io.BytesIO(json.dumps(chat(content="word " * 300_000)).encode())
    headers = {"Content-Type": "application/json"}
    async with http.post(CHAT, data=data, headers=headers) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer["usage"]["prompt_tokens"] == 300_000
    assert emu.requests[0].json is None
    assert emu.max_in_flight == {LLAMA: 1}


async def test_chunked_json_bodies_are_logged(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """A small JSON body sent chunked (no Content-Length) is decoded for the log."""
    body = chat()

    async def chunks() -> AsyncIterator[bytes]:
        encoded = json.dumps(body).encode()
        yield encoded[:10]
        yield encoded[10:]

    headers = {"Content-Type": "application/json"}
    async with http.post(CHAT, data=chunks(), headers=headers) as response:
        assert response.status == 200
    assert emu.requests[0].json == body
    assert "content-length" not in emu.requests[0].headers


def test_public_names() -> None:
    """__all__ is sorted and every public name reports the public module."""
    assert testing.__all__ == sorted(testing.__all__)
    for name in testing.__all__:
        assert getattr(testing, name).__module__ == "deepinfra_async.testing"


def test_recorded_request_is_frozen() -> None:
    """RecordedRequest is immutable."""
    record = RecordedRequest("GET", "/", {}, {}, None, None)
    with pytest.raises(AttributeError):
        record.path = "/x"  # type: ignore[misc]
    assert json.loads(json.dumps(record.query)) == {}


async def test_fault_every_spreads_failures() -> None:
    """A fault with every=k applies to every k-th matching request only."""
    async with Emulator() as emu, aiohttp.ClientSession() as session:
        fault = emu.faults.add("/v1/openai/models", status=503, every=3, times=None)
        statuses = []
        for _ in range(9):
            async with session.get(
                f"{emu.url}/v1/openai/models", headers={"Authorization": f"Bearer {emu.api_key}"}
            ) as response:
                statuses.append(response.status)
    assert statuses == [200, 200, 503] * 3
    assert fault.hits == 3
    assert fault.seen == 9
    with pytest.raises(ValueError, match="every"):
        emu.faults.add("/x", status=500, every=0)


async def test_fault_rate_is_random_but_repeatable() -> None:
    """A fault with rate=p hits about p of the requests, the same ones for the same seed."""
    patterns = []
    for _ in range(2):
        async with Emulator() as emu, aiohttp.ClientSession() as session:
            fault = emu.faults.add("/v1/openai/models", status=503, rate=0.3, times=None, seed=7)
            statuses = []
            for _ in range(60):
                async with session.get(
                    f"{emu.url}/v1/openai/models",
                    headers={"Authorization": f"Bearer {emu.api_key}"},
                ) as response:
                    statuses.append(response.status)
            patterns.append(statuses)
            assert 8 <= fault.hits <= 30
    assert patterns[0] == patterns[1]
    assert patterns[0] != sorted(patterns[0])
    with pytest.raises(ValueError, match="rate"):
        emu.faults.add("/x", status=500, rate=0)
