import base64
import inspect
import json
import struct
import sys
from typing import Any, TypeVar

import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepinfra_async import types
from deepinfra_async.types import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    ChatCompletionTokenLogprob,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChoiceLogprobs,
    ChunkChoice,
    Completion,
    CompletionChoice,
    CompletionTokensDetails,
    CreateEmbeddingResponse,
    Embedding,
    EmbeddingUsage,
    Function,
    ImageURLPart,
    Model,
    ModelList,
    ModelMetadata,
    PromptTokensDetails,
    SystemMessage,
    TextPart,
    ToolMessage,
    TopLogprob,
    Usage,
    UserMessage,
    decode_base64_embedding,
    make_converter,
    message_to_dict,
)
from deepinfra_async.types._converter import converter

T = TypeVar("T")

strict = make_converter(forbid_extra_keys=True)

# The captured wire examples of the API reference (sections 2.3, 2.4, 2.6, 2.7).
CHAT_COMPLETION = """{
  "id": "chatcmpl-RXE8YP4fhWBTFLGpZWdMCq34",
  "object": "chat.completion",
  "created": 1732684855,
  "model": "meta-llama/Meta-Llama-3.1-70B-Instruct",
  "choices": [
    {
      "index": 0,
      "message": {"role": "assistant", "content": "…", "name": null, "tool_calls": null},
      "finish_reason": "stop"
    }
  ],
  "usage": {"prompt_tokens": 48, "total_tokens": 237, "completion_tokens": 189,
            "estimated_cost": 9.68e-05}
}"""
CHUNK_FIRST = (
    '{"id": "chatcmpl-RXE8", "object": "chat.completion.chunk", "created": 1732684855, '
    '"model": "meta-llama/Meta-Llama-3.1-70B-Instruct", "choices": [{"index": 0, "delta": '
    '{"role": "assistant", "content": "C", "tool_calls": null}, "finish_reason": null}], '
    '"usage": null}'
)
CHUNK_FINAL = (
    '{"id": "chatcmpl-RXE8", "object": "chat.completion.chunk", "created": 1732684855, '
    '"model": "meta-llama/Meta-Llama-3.1-70B-Instruct", "choices": [{"index": 0, "delta": {}, '
    '"finish_reason": "stop"}], "usage": {"prompt_tokens": 48, "total_tokens": 237, '
    '"completion_tokens": 189, "estimated_cost": 9.24e-05}}'
)
EMBEDDINGS = """{
  "object": "list",
  "model": "BAAI/bge-large-en-v1.5",
  "usage": {"prompt_tokens": 4, "total_tokens": 4},
  "data": [{"index": 0, "object": "embedding", "embedding": [0.0123, -0.0456, 0.0789]}]
}"""
MODELS = """{
  "object": "list",
  "data": [
    {
      "id": "deepseek-ai/DeepSeek-V3",
      "object": "model",
      "created": 1735000000,
      "owned_by": "…",
      "root": "deepseek-ai/DeepSeek-V3",
      "parent": null,
      "metadata": {
        "description": "…",
        "context_length": 163840,
        "max_tokens": 163840,
        "pricing": {"input_tokens": 0.38, "output_tokens": 0.89, "cache_read_tokens": 0.1},
        "discount": null,
        "tags": ["chat", "prompt_cache", "reasoning_effort"]
      }
    }
  ]
}"""

WIRE_EXAMPLES: list[tuple[str, type[Any]]] = [
    (CHAT_COMPLETION, ChatCompletion),
    (CHUNK_FIRST, ChatCompletionChunk),
    (CHUNK_FINAL, ChatCompletionChunk),
    (EMBEDDINGS, CreateEmbeddingResponse),
    (MODELS, ModelList),
]


def structure(text: str, cls: type[T]) -> T:
    """Structure as the endpoints do: through the hook cattrs generated for ``cls``."""
    result: T = converter.get_structure_hook(cls)(json.loads(text), cls)
    return result


def errors_of(data: Any, cls: type[Any], conv: cattrs.Converter = converter) -> list[str]:
    with pytest.raises(cattrs.BaseValidationError) as info:
        conv.structure(data, cls)
    return cattrs.transform_error(info.value)


# -- Wire examples ------------------------------------------------------------------------


def test_chat_completion_wire_example() -> None:
    """The captured non-streaming chat completion structures with DeepInfra's cost."""
    completion = structure(CHAT_COMPLETION, ChatCompletion)
    assert completion.id == "chatcmpl-RXE8YP4fhWBTFLGpZWdMCq34"
    assert completion.object == "chat.completion"
    assert completion.created == 1732684855
    assert completion.model == "meta-llama/Meta-Llama-3.1-70B-Instruct"
    assert completion.choices == [
        Choice(
            index=0,
            message=ChatCompletionMessage(role="assistant", content="…"),
            finish_reason="stop",
        )
    ]
    assert completion.usage == Usage(
        prompt_tokens=48, completion_tokens=189, total_tokens=237, estimated_cost=9.68e-05
    )
    assert completion.request_id is None


def test_stream_chunks_wire_example() -> None:
    """The captured chunks: a content delta, then an empty delta with finish reason and usage."""
    first = structure(CHUNK_FIRST, ChatCompletionChunk)
    assert first.object == "chat.completion.chunk"
    assert first.choices == [ChunkChoice(index=0, delta=ChoiceDelta(role="assistant", content="C"))]
    assert first.usage is None
    final = structure(CHUNK_FINAL, ChatCompletionChunk)
    assert final.choices == [ChunkChoice(index=0, delta=ChoiceDelta(), finish_reason="stop")]
    assert final.usage is not None
    assert final.usage.estimated_cost == 9.24e-05
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (48, 189)
    assert final.usage.total_tokens == 237


def test_embeddings_wire_example() -> None:
    """The captured embeddings response structures, usage without a cost included."""
    response = structure(EMBEDDINGS, CreateEmbeddingResponse)
    assert response.model == "BAAI/bge-large-en-v1.5"
    assert response.object == "list"
    assert response.data == [Embedding(index=0, embedding=[0.0123, -0.0456, 0.0789])]
    assert response.usage == EmbeddingUsage(prompt_tokens=4, total_tokens=4)


def test_models_wire_example() -> None:
    """The models list structures with metadata, pricing and tags."""
    models = structure(MODELS, ModelList)
    assert models.object == "list"
    (model,) = models.data
    assert model.id == "deepseek-ai/DeepSeek-V3"
    assert (model.object, model.created, model.owned_by) == ("model", 1735000000, "…")
    assert (model.root, model.parent) == ("deepseek-ai/DeepSeek-V3", None)
    assert model.metadata == ModelMetadata(
        description="…",
        context_length=163840,
        max_tokens=163840,
        pricing={"input_tokens": 0.38, "output_tokens": 0.89, "cache_read_tokens": 0.1},
        tags=["chat", "prompt_cache", "reasoning_effort"],
    )


@pytest.mark.parametrize(("text", "cls"), WIRE_EXAMPLES)
def test_strict_converter_accepts_wire_examples(text: str, cls: type[Any]) -> None:
    """Every wire example uses only known keys, and request_id injection is accepted."""
    data = json.loads(text)
    data["request_id"] = "req-1"
    result = strict.structure(data, cls)
    assert result.request_id == "req-1"
    assert result == converter.structure(data, cls)


# -- DeepInfra extras ---------------------------------------------------------------------


def test_reasoning_and_tool_call_deltas() -> None:
    """A streamed delta carries reasoning_content and tool-call fragments."""
    data = {
        "id": "c",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "reasoning_content": "thinking",
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"ci'},
                        },
                        {"index": 1, "function": {"arguments": 'ty": "Oslo"}'}},
                    ],
                },
            }
        ],
    }
    delta = converter.structure(data, ChatCompletionChunk).choices[0].delta
    assert delta.reasoning_content == "thinking"
    assert delta.content is None
    assert delta.tool_calls == [
        ChoiceDeltaToolCall(
            index=1,
            id="call_1",
            type="function",
            function=ChoiceDeltaToolCallFunction(name="get_weather", arguments='{"ci'),
        ),
        ChoiceDeltaToolCall(
            index=1, function=ChoiceDeltaToolCallFunction(arguments='ty": "Oslo"}')
        ),
    ]


def test_completion_extras_tool_calls_logprobs_and_details() -> None:
    """Tool calls, logprobs, token details and service_tier land in typed fields."""
    data = {
        "id": "c",
        "created": 1,
        "model": "m",
        "service_tier": "flex",
        "system_fingerprint": "fp",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "reasoning_content": "plan",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "logprobs": {
                    "content": [
                        {
                            "token": "a",
                            "logprob": -0.5,
                            "bytes": [97],
                            "top_logprobs": [{"token": "b", "logprob": -1}],
                        }
                    ]
                },
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "estimated_cost": 0,
            "prompt_tokens_details": {"cached_tokens": 8, "cache_write_tokens": None},
            "completion_tokens_details": {"reasoning_tokens": 3},
        },
    }
    completion = converter.structure(data, ChatCompletion)
    assert (completion.service_tier, completion.system_fingerprint) == ("flex", "fp")
    message = completion.choices[0].message
    assert message.reasoning_content == "plan"
    assert message.tool_calls == [
        ChatCompletionMessageToolCall(id="call_1", function=Function(name="f", arguments="{}"))
    ]
    assert completion.choices[0].logprobs == ChoiceLogprobs(
        content=[
            ChatCompletionTokenLogprob(
                token="a",
                logprob=-0.5,
                bytes=[97],
                top_logprobs=[TopLogprob(token="b", logprob=-1.0)],
            )
        ]
    )
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens_details == PromptTokensDetails(cached_tokens=8)
    assert usage.completion_tokens_details == CompletionTokensDetails(reasoning_tokens=3)
    assert usage.estimated_cost == 0.0
    assert type(usage.estimated_cost) is float


def test_completion_and_streamed_completion_chunk() -> None:
    """Legacy completions structure, logprobs kept as the server's dict."""
    logprobs = {"tokens": ["Hi"], "token_logprobs": [-0.1]}
    data = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "text": "Hi", "finish_reason": None, "logprobs": logprobs}],
        "usage": None,
    }
    completion = strict.structure(data, Completion)
    assert completion.choices == [CompletionChoice(index=0, text="Hi", logprobs=logprobs)]
    assert completion.choices[0].logprobs is logprobs
    assert completion.usage is None
    assert completion.object == "text_completion"


# -- Tolerance and strictness -------------------------------------------------------------


def test_unknown_keys_ignored_by_default() -> None:
    """New server fields at any depth do not break the default converter."""
    data = json.loads(CHUNK_FINAL)
    data["brand_new"] = {"x": 1}
    data["choices"][0]["stop_reason"] = 7
    data["choices"][0]["delta"]["audio"] = None
    data["usage"]["cost_breakdown"] = [1, 2]
    chunk = converter.structure(data, ChatCompletionChunk)
    assert chunk == structure(CHUNK_FINAL, ChatCompletionChunk)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), "extra fields found (brand_new) @ $"),
        (("choices", 0), "extra fields found (brand_new) @ $.choices[0]"),
        (("choices", 0, "delta"), "extra fields found (brand_new) @ $.choices[0].delta"),
        (("usage",), "extra fields found (brand_new) @ $.usage"),
    ],
)
def test_unknown_keys_rejected_by_strict_converter(
    path: tuple[str | int, ...], expected: str
) -> None:
    """make_converter(forbid_extra_keys=True) names an unknown key wherever it is."""
    data = json.loads(CHUNK_FINAL)
    target = data
    for step in path:
        target = target[step]
    target["brand_new"] = 1
    assert errors_of(data, ChatCompletionChunk, strict) == [expected]


def test_nulls_accepted_where_deepinfra_sends_them() -> None:
    """Null content, name, tool calls, usage, logprobs, details and metadata all read as None."""
    data = {
        "id": "c",
        "model": "m",
        "object": None,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "name": None,
                    "tool_calls": None,
                    "reasoning_content": None,
                },
                "finish_reason": None,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 1,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
            "estimated_cost": None,
        },
        "created": None,
        "service_tier": None,
        "system_fingerprint": None,
        "request_id": None,
    }
    del data["object"]  # absent rather than null: it has a default
    completion = strict.structure(data, ChatCompletion)
    assert completion.choices[0].message == ChatCompletionMessage()
    assert completion.usage == Usage(prompt_tokens=1)
    assert completion.created is None
    assert completion.object == "chat.completion"
    models = strict.structure(
        {"data": [{"id": "a", "metadata": None}, {"id": "b", "metadata": {"tags": None}}]},
        ModelList,
    )
    assert models.data == [Model(id="a"), Model(id="b", metadata=ModelMetadata(tags=[]))]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"choices": "x"}, "invalid value for type, expected list @ $.choices"),
        ({"choices": ["x"]}, "invalid value for type, expected ChunkChoice @ $.choices[0]"),
        ({"id": 5}, "invalid value for type, expected str @ $.id"),
        ({"id": None}, "invalid value for type, expected str @ $.id"),
        ({"created": "soon"}, "invalid value for type, expected int | None @ $.created"),
        ({"created": True}, "invalid value for type, expected int | None @ $.created"),
        (
            {"usage": "x"},
            "invalid value for type, expected deepinfra_async.types.Usage | None @ $.usage",
        ),
        ({"model": []}, "invalid value for type, expected str @ $.model"),
    ],
)
def test_wrong_types_raise_cattrs_errors(change: dict[str, Any], expected: str) -> None:
    """A value of the wrong JSON type is reported with its path, never coerced."""
    data = {**json.loads(CHUNK_FIRST), **change}
    assert errors_of(data, ChatCompletionChunk) == [expected]


def test_missing_required_key_and_nested_errors_are_all_reported() -> None:
    """Every mismatch in a response is reported, each with its own path."""
    data = json.loads(CHUNK_FIRST)
    del data["id"]
    data["choices"][0]["delta"]["content"] = 5
    data["choices"][0]["index"] = "0"
    assert errors_of(data, ChatCompletionChunk) == [
        "required field missing @ $.id",
        "invalid value for type, expected int @ $.choices[0].index",
        "invalid value for type, expected str | None @ $.choices[0].delta.content",
    ]


def test_numbers_are_checked_not_coerced() -> None:
    """Ints widen to float and integral floats narrow to int; strings and bools do not pass."""
    usage = converter.structure(
        {"prompt_tokens": 3.0, "total_tokens": 3, "estimated_cost": 1}, Usage
    )
    assert usage == Usage(prompt_tokens=3, total_tokens=3, estimated_cost=1.0)
    assert type(usage.prompt_tokens) is int
    assert errors_of({"prompt_tokens": 2.5}, Usage) == [
        "invalid value for type, expected int @ $.prompt_tokens"
    ]
    assert errors_of({"prompt_tokens": False}, Usage) == [
        "invalid value for type, expected int @ $.prompt_tokens"
    ]
    assert errors_of({"estimated_cost": "0.1"}, Usage) == [
        "invalid value for type, expected float | None @ $.estimated_cost"
    ]


def test_our_converter_leaves_cattrs_global_converter_alone() -> None:
    """Hooks live on our converters only; cattrs' global converter still coerces as before."""
    assert make_converter() is not converter
    assert make_converter() is not cattrs.global_converter
    assert cattrs.structure(5, str) == "5"
    with pytest.raises(TypeError):
        converter.structure(5, str)


# -- Embeddings ---------------------------------------------------------------------------


def test_embedding_list_is_taken_without_copying() -> None:
    """The parser's list of floats becomes the field as it is: no copy, no conversion."""
    vector = [0.5] * 4096
    data = {"model": "m", "data": [{"index": 0, "embedding": vector}]}
    response = converter.structure(data, CreateEmbeddingResponse)
    assert response.data[0].embedding is vector
    assert errors_of({"index": 0, "embedding": "AAAA"}, Embedding) == [
        "invalid value for type, expected list @ $.embedding"
    ]


def test_decode_base64_embedding_matches_struct() -> None:
    """Base64 embeddings decode as little-endian float32, as struct packs them."""
    values = [0.5, -1.25, 3.0, 0.0, 1e-3, -123456.789]
    packed = struct.pack(f"<{len(values)}f", *values)
    decoded = decode_base64_embedding(base64.b64encode(packed).decode())
    assert decoded == list(struct.unpack(f"<{len(values)}f", packed))
    assert decoded[:4] == [0.5, -1.25, 3.0, 0.0]
    assert all(type(v) is float for v in decoded)
    assert decode_base64_embedding("") == []


def test_decode_base64_embedding_on_big_endian_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a big-endian host the bytes are swapped before they are read natively."""
    values = [0.5, -1.25, 3.0]
    native = struct.pack(f"={len(values)}f", *values)
    swapped = b"".join(native[i : i + 4][::-1] for i in range(0, len(native), 4))
    monkeypatch.setattr(sys, "byteorder", "big" if sys.byteorder == "little" else "little")
    assert decode_base64_embedding(base64.b64encode(swapped).decode()) == values


@pytest.mark.parametrize("data", ["not base64!", base64.b64encode(b"\x00" * 6).decode()])
def test_decode_base64_embedding_rejects_bad_input(data: str) -> None:
    """Invalid base64 or a size that is not whole float32 values raises ValueError."""
    with pytest.raises(ValueError, match=r"."):
        decode_base64_embedding(data)


# -- Request messages ---------------------------------------------------------------------


def test_messages_unstructure_without_nones_and_role_first() -> None:
    """Each message class becomes its wire dict, role first, unset fields left out."""
    call = ChatCompletionMessageToolCall(id="call_1", function=Function(name="f", arguments="{}"))
    cases: list[tuple[Any, dict[str, Any]]] = [
        (SystemMessage("Be brief."), {"role": "system", "content": "Be brief."}),
        (
            SystemMessage("Be brief.", name="ops"),
            {"role": "system", "content": "Be brief.", "name": "ops"},
        ),
        (UserMessage("Hi"), {"role": "user", "content": "Hi"}),
        (AssistantMessage(), {"role": "assistant"}),
        (
            AssistantMessage(tool_calls=[call], reasoning_content="r"),
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "function": {"name": "f", "arguments": "{}"},
                        "type": "function",
                    }
                ],
                "reasoning_content": "r",
            },
        ),
        (
            ToolMessage("sunny", tool_call_id="call_1"),
            {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
        ),
    ]
    for message, expected in cases:
        result = message_to_dict(message)
        assert result == expected
        assert next(iter(result)) == "role"
        assert converter.unstructure(message) == expected


def test_content_parts_have_the_nested_wire_shape() -> None:
    """Text and image parts nest as the API expects; dict parts pass through unchanged."""
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    message = UserMessage(
        [
            TextPart("What is this?"),
            ImageURLPart("data:image/png;base64,AAAA"),
            ImageURLPart("https://x/y.png", detail="low"),
            audio,
        ]
    )
    result = message_to_dict(message)
    assert result == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
            audio,
        ],
    }
    assert result["content"][3] is audio
    assert converter.unstructure(TextPart("a")) == {"type": "text", "text": "a"}


def test_answer_message_can_be_sent_back_as_history() -> None:
    """A ChatCompletionMessage from an answer becomes an assistant message without nulls."""
    completion = structure(CHAT_COMPLETION, ChatCompletion)
    assert message_to_dict(completion.choices[0].message) == {"role": "assistant", "content": "…"}


def test_message_to_dict_rejects_other_objects() -> None:
    """Anything but a message object is refused with a TypeError naming it."""
    for bad in (TextPart("x"), {"role": "user"}, "hello", None):
        with pytest.raises(TypeError, match="expected a message object"):
            message_to_dict(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content part"):
        message_to_dict(UserMessage([42]))  # type: ignore[list-item]
    with pytest.raises(TypeError, match="tool call"):
        message_to_dict(AssistantMessage(tool_calls=["x"]))  # type: ignore[list-item]


# -- Round trips --------------------------------------------------------------------------

ints = st.integers(min_value=0, max_value=2**53)
floats = st.floats(allow_nan=False, allow_infinity=False)
text = st.text(max_size=8)


def opt(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


usages = st.builds(
    Usage,
    prompt_tokens=ints,
    completion_tokens=ints,
    total_tokens=ints,
    estimated_cost=opt(floats),
    prompt_tokens_details=opt(
        st.builds(PromptTokensDetails, cached_tokens=opt(ints), cache_write_tokens=opt(ints))
    ),
    completion_tokens_details=opt(st.builds(CompletionTokensDetails, reasoning_tokens=opt(ints))),
)
top_logprobs = st.builds(
    TopLogprob, token=text, logprob=floats, bytes=opt(st.lists(st.integers(0, 255)))
)
logprobs = opt(
    st.builds(
        ChoiceLogprobs,
        content=opt(
            st.lists(
                st.builds(
                    ChatCompletionTokenLogprob,
                    token=text,
                    logprob=floats,
                    bytes=opt(st.lists(st.integers(0, 255))),
                    top_logprobs=st.lists(top_logprobs, max_size=2),
                ),
                max_size=2,
            )
        ),
    )
)
tool_calls = st.builds(
    ChatCompletionMessageToolCall,
    id=text,
    function=st.builds(Function, name=text, arguments=text),
    type=text,
)
chat_completions = st.builds(
    ChatCompletion,
    id=text,
    choices=st.lists(
        st.builds(
            Choice,
            index=ints,
            message=st.builds(
                ChatCompletionMessage,
                role=text,
                content=opt(text),
                reasoning_content=opt(text),
                tool_calls=opt(st.lists(tool_calls, max_size=2)),
                name=opt(text),
            ),
            finish_reason=opt(text),
            logprobs=logprobs,
        ),
        max_size=2,
    ),
    created=opt(ints),
    model=text,
    object=text,
    usage=opt(usages),
    service_tier=opt(text),
    system_fingerprint=opt(text),
    request_id=opt(text),
)
chunks = st.builds(
    ChatCompletionChunk,
    id=text,
    choices=st.lists(
        st.builds(
            ChunkChoice,
            index=ints,
            delta=st.builds(
                ChoiceDelta,
                role=opt(text),
                content=opt(text),
                reasoning_content=opt(text),
                tool_calls=opt(
                    st.lists(
                        st.builds(
                            ChoiceDeltaToolCall,
                            index=ints,
                            id=opt(text),
                            type=opt(text),
                            function=opt(
                                st.builds(
                                    ChoiceDeltaToolCallFunction,
                                    name=opt(text),
                                    arguments=opt(text),
                                )
                            ),
                        ),
                        max_size=2,
                    )
                ),
            ),
            finish_reason=opt(text),
            logprobs=logprobs,
        ),
        max_size=2,
    ),
    created=opt(ints),
    model=text,
    usage=opt(usages),
    request_id=opt(text),
)
embedding_responses = st.builds(
    CreateEmbeddingResponse,
    data=st.lists(
        st.builds(Embedding, index=ints, embedding=st.lists(floats, max_size=4), object=text),
        max_size=2,
    ),
    model=text,
    usage=opt(
        st.builds(EmbeddingUsage, prompt_tokens=ints, total_tokens=ints, estimated_cost=opt(floats))
    ),
    request_id=opt(text),
)
model_lists = st.builds(
    ModelList,
    data=st.lists(
        st.builds(
            Model,
            id=text,
            created=opt(ints),
            owned_by=opt(text),
            root=opt(text),
            parent=opt(text),
            metadata=opt(
                st.builds(
                    ModelMetadata,
                    description=opt(text),
                    context_length=opt(ints),
                    max_tokens=opt(ints),
                    pricing=opt(st.dictionaries(text, floats, max_size=3)),
                    tags=st.lists(text, max_size=3),
                    discount=opt(floats),
                )
            ),
        ),
        max_size=2,
    ),
    request_id=opt(text),
)
completions = st.builds(
    Completion,
    id=text,
    choices=st.lists(
        st.builds(
            CompletionChoice,
            index=ints,
            text=text,
            finish_reason=opt(text),
            logprobs=opt(st.dictionaries(text, st.integers(), max_size=2)),
        ),
        max_size=2,
    ),
    created=opt(ints),
    model=text,
    usage=opt(usages),
)


@settings(deadline=None, max_examples=60)
@given(st.one_of(chat_completions, chunks, embedding_responses, model_lists, completions))
def test_round_trip(value: Any) -> None:
    """structure(unstructure(x)) == x for the response models, strict converter included."""
    data = converter.unstructure(value)
    assert converter.structure(data, type(value)) == value
    assert strict.structure(json.loads(json.dumps(data)), type(value)) == value


# -- Public surface -----------------------------------------------------------------------


def test_exports_are_sorted_complete_and_show_the_public_module() -> None:
    """types.__all__ is sorted, lists every public name, and each shows the public path."""
    assert types.__all__ == sorted(types.__all__)
    public = {
        name
        for name, value in vars(types).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(types.__all__) == public
    for name in types.__all__:
        value = getattr(types, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__ == "deepinfra_async.types", name
    assert repr(ChatCompletion).startswith("<class 'deepinfra_async.types.ChatCompletion'")


def test_every_types_module_declares_a_sorted_all() -> None:
    """Each module of the types package has a sorted __all__ re-exported by the package."""
    from deepinfra_async.types import _converter, chat, completions, embeddings, models, shared

    for module in (chat, completions, embeddings, models, shared, _converter):
        assert module.__all__ == sorted(module.__all__), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
            if module is not _converter or name != "converter":
                assert name in types.__all__, name
