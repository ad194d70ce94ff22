"""The OpenAI-compatible endpoints without streaming, over loopback HTTP."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest

from deepinfra_async import (
    DeepInfra,
    NotFoundError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from deepinfra_async.testing import Emulator
from deepinfra_async.types import (
    AssistantMessage,
    ChatCompletion,
    CreateEmbeddingResponse,
    SystemMessage,
    UserMessage,
    make_converter,
)

from .conftest import CHAT_MODEL

EMBED_MODEL = "BAAI/bge-large-en-v1.5"
HELLO = [{"role": "user", "content": "Hello"}]


async def test_chat_completion_is_typed(client: DeepInfra, emu: Emulator) -> None:
    """create() returns a ChatCompletion with content, finish reason and DeepInfra's cost."""
    chat = await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=5)
    assert isinstance(chat, ChatCompletion)
    assert chat.model == CHAT_MODEL
    content = chat.choices[0].message.content
    assert content is not None
    assert len(content.split()) == 5
    assert chat.choices[0].finish_reason == "length"
    assert chat.usage is not None
    assert chat.usage.completion_tokens == 5
    assert chat.usage.estimated_cost is not None
    assert chat.usage.estimated_cost > 0
    assert emu.requests[0].json == {"model": CHAT_MODEL, "messages": HELLO, "max_tokens": 5}


async def test_unset_options_are_never_sent(client: DeepInfra, emu: Emulator) -> None:
    """Options left at None are omitted from the body, never sent as null."""
    await client.chat.completions.create(
        model=CHAT_MODEL, messages=HELLO, temperature=None, top_p=0.5, seed=None, stop=None
    )
    assert emu.requests[0].json == {"model": CHAT_MODEL, "messages": HELLO, "top_p": 0.5}


async def test_deepinfra_extras_and_extra_body(client: DeepInfra, emu: Emulator) -> None:
    """DeepInfra's own options are sent as given; extra_body and extra_headers are merged last."""
    await client.chat.completions.create(
        model=CHAT_MODEL,
        messages=HELLO,
        top_k=40,
        min_p=0.05,
        repetition_penalty=1.1,
        service_tier="priority",
        prompt_cache_key="session-1",
        extra_body={"chat_template_kwargs": {"thinking": False}, "top_k": 20},
        extra_headers={"x-deepinfra-source": "tests"},
    )
    body = emu.requests[0].json
    assert body["top_k"] == 20
    assert body["min_p"] == 0.05
    assert body["service_tier"] == "priority"
    assert body["chat_template_kwargs"] == {"thinking": False}
    assert emu.requests[0].headers["x-deepinfra-source"] == "tests"


async def test_message_objects_are_accepted(client: DeepInfra, emu: Emulator) -> None:
    """Attrs message types and plain dicts mix freely; unset fields are left out."""
    await client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[
            SystemMessage(content="Be brief."),
            {"role": "user", "content": "Hi"},
            AssistantMessage(content="Hello!"),
            UserMessage(content="Again"),
        ],
    )
    assert emu.requests[0].json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Again"},
    ]


async def test_max_completion_tokens_is_sent_as_max_tokens(
    client: DeepInfra, emu: Emulator
) -> None:
    """The OpenAI name max_completion_tokens reaches DeepInfra as max_tokens."""
    chat = await client.chat.completions.create(
        model=CHAT_MODEL, messages=HELLO, max_completion_tokens=3
    )
    assert emu.requests[0].json["max_tokens"] == 3
    assert "max_completion_tokens" not in emu.requests[0].json
    assert chat.usage is not None
    assert chat.usage.completion_tokens == 3
    with pytest.raises(ValueError, match="max_completion_tokens"):
        await client.chat.completions.create(
            model=CHAT_MODEL, messages=HELLO, max_tokens=4, max_completion_tokens=3
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "", "messages": HELLO}, ValueError, "model"),
        ({"model": 3, "messages": HELLO}, TypeError, "model"),
        ({"model": CHAT_MODEL, "messages": []}, ValueError, "messages"),
        ({"model": CHAT_MODEL, "messages": "hi"}, TypeError, "messages"),
        ({"model": CHAT_MODEL, "messages": [42]}, TypeError, r"messages\[0\]"),
        ({"model": CHAT_MODEL, "messages": HELLO, "max_tokens": 0}, ValueError, "max_tokens"),
        ({"model": CHAT_MODEL, "messages": HELLO, "max_tokens": "5"}, TypeError, "max_tokens"),
        ({"model": CHAT_MODEL, "messages": HELLO, "temperature": "hot"}, TypeError, "temperature"),
        ({"model": CHAT_MODEL, "messages": HELLO, "stream": "yes"}, TypeError, "stream"),
        ({"model": CHAT_MODEL, "messages": HELLO, "max_token": 5}, TypeError, "max_token"),
        ({"model": CHAT_MODEL, "messages": HELLO, "stop": [1]}, TypeError, "stop"),
    ],
)
async def test_bad_arguments_fail_before_sending(
    client: DeepInfra, emu: Emulator, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    """Bad arguments raise a TypeError or ValueError naming the argument; nothing is sent."""
    with pytest.raises(error, match=match):
        await client.chat.completions.create(**kwargs)
    assert emu.requests == []


async def test_server_errors_are_typed(client: DeepInfra, emu: Emulator) -> None:
    """An unknown model is a NotFoundError; a body the server rejects is a 422 error."""
    with pytest.raises(NotFoundError, match="does not exist"):
        await client.chat.completions.create(model="nobody/nothing", messages=HELLO)
    with pytest.raises(UnprocessableEntityError, match="role"):
        await client.chat.completions.create(
            model=CHAT_MODEL, messages=[{"role": "wizard", "content": "x"}]
        )


async def test_a_mismatched_body_is_a_validation_error(client: DeepInfra, emu: Emulator) -> None:
    """A 200 whose body is not a completion raises ResponseValidationError with the path."""
    emu.faults.add("/v1/openai/chat/completions", status=200, body={"id": "x", "choices": "no"})
    with pytest.raises(ResponseValidationError) as info:
        await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO)
    assert "ChatCompletion" in str(info.value)
    assert "choices" in str(info.value)
    assert info.value.body == {"id": "x", "choices": "no"}


async def test_request_id_header_reaches_the_result(client: DeepInfra, emu: Emulator) -> None:
    """An x-request-id response header becomes the result's request_id."""
    emu.faults.add(
        "/v1/openai/models",
        status=200,
        body={"object": "list", "data": []},
        headers={"x-request-id": "rid-7"},
    )
    models = await client.models.list()
    assert models.request_id == "rid-7"
    assert models.data == []


async def test_models_list(client: DeepInfra, emu: Emulator) -> None:
    """models.list() returns typed models; with_metadata asks for their metadata."""
    models = await client.models.list(with_metadata=True)
    ids = [m.id for m in models.data]
    assert CHAT_MODEL in ids
    assert emu.requests[0].query == {"filter": "with_meta"}


async def test_embeddings_float_and_base64(client: DeepInfra, emu: Emulator) -> None:
    """Embeddings come back as floats, whether sent as floats or base64."""
    as_float = await client.embeddings.create(model=EMBED_MODEL, input=["a", "b"])
    as_b64 = await client.embeddings.create(
        model=EMBED_MODEL, input=["a", "b"], encoding_format="base64"
    )
    assert isinstance(as_float, CreateEmbeddingResponse)
    assert [e.index for e in as_float.data] == [0, 1]
    assert len(as_float.data[0].embedding) == 1024
    # base64 carries float32: equal to the float answer rounded to float32.
    rounded = list(struct.unpack("<1024f", struct.pack("<1024f", *as_float.data[1].embedding)))
    assert as_b64.data[1].embedding == pytest.approx(rounded)
    assert emu.requests[1].json["encoding_format"] == "base64"
    assert as_float.usage is not None
    assert as_float.usage.prompt_tokens > 0


async def test_embeddings_validate_arguments(client: DeepInfra, emu: Emulator) -> None:
    """Embedding arguments are checked before sending, naming the argument."""
    with pytest.raises(ValueError, match="encoding_format"):
        await client.embeddings.create(
            model=EMBED_MODEL,
            input="a",
            encoding_format="int8",  # type: ignore[arg-type]
        )
    with pytest.raises(ValueError, match="1024"):
        await client.embeddings.create(model=EMBED_MODEL, input=["a"] * 1025)
    with pytest.raises(TypeError, match="input"):
        await client.embeddings.create(model=EMBED_MODEL, input=[])
    with pytest.raises(ValueError, match="dimensions"):
        await client.embeddings.create(model=EMBED_MODEL, input="a", dimensions=0)
    assert emu.requests == []


async def test_completions(client: DeepInfra, emu: Emulator) -> None:
    """completions.create() sends the raw prompt and returns a typed Completion."""
    completion = await client.completions.create(model=CHAT_MODEL, prompt="Once", max_tokens=4)
    assert completion.choices[0].text
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 4
    assert emu.requests[0].json == {"model": CHAT_MODEL, "prompt": "Once", "max_tokens": 4}


async def test_strict_converter_matches_the_emulator(client: DeepInfra) -> None:
    """Every emulator answer structures with forbid_extra_keys: the models track the wire."""
    strict = make_converter(forbid_extra_keys=True)
    response = await client.request(
        "POST",
        "/v1/openai/chat/completions",
        json={"model": CHAT_MODEL, "messages": HELLO, "n": 2},
    )
    strict.structure(response.json(), ChatCompletion)
    response = await client.request(
        "POST", "/v1/openai/embeddings", json={"model": EMBED_MODEL, "input": ["x"]}
    )
    strict.structure(response.json(), CreateEmbeddingResponse)


async def test_openai_prefix_v1_works(emu: Emulator) -> None:
    """openai_base_url may point at a server whose OpenAI prefix is /v1."""
    async with DeepInfra(emu.api_key, base_url=emu.url, openai_base_url=f"{emu.url}/v1") as c:
        chat = await c.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=2)
        models = await c.models.list()
    assert chat.choices[0].message.content
    assert models.data
    assert [r.path for r in emu.requests] == ["/v1/chat/completions", "/v1/models"]


async def test_calls_in_flight_keep_no_request_body(client: DeepInfra, emu: Emulator) -> None:
    """While a call waits for its answer, its coroutine holds no body dict and no options.

    The body is encoded before the request goes out; a process with thousands of requests
    open should keep only the bytes.
    """
    emu.faults.add("/v1/*", delay=0.5, times=None)
    calls: dict[str, Any] = {
        "chat": client.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=3),
        "chat stream": client.chat.completions.create(
            model=CHAT_MODEL, messages=HELLO, max_tokens=3, stream=True
        ),
        "completion": client.completions.create(model=CHAT_MODEL, prompt="Hi", max_tokens=3),
        "completion stream": client.completions.create(
            model=CHAT_MODEL, prompt="Hi", max_tokens=3, stream=True
        ),
        "embeddings": client.embeddings.create(model=EMBED_MODEL, input=["a"]),
        "text generation stream": client.inference.text_generation(
            CHAT_MODEL, "Hi", max_new_tokens=3, stream=True
        ),
    }
    tasks = {name: asyncio.create_task(coro) for name, coro in calls.items()}
    for _ in range(200):
        if len(emu.requests) >= len(tasks):
            break
        await asyncio.sleep(0.01)
    assert len(emu.requests) == len(tasks)
    for name, task in tasks.items():
        assert not task.done(), name
        frame = task.get_coro().cr_frame  # type: ignore[union-attr]
        assert frame is not None, name
        kept = {"body", "options", "params", "call"} & set(frame.f_locals)
        assert not kept, f"{name} keeps {sorted(kept)} while in flight"
    for task in tasks.values():
        result = await task
        if hasattr(result, "aclose"):
            async with result:
                assert [item async for item in result]
