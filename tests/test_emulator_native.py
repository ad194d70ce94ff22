"""The emulator's native /v1/inference routes, uploads, webhooks and OpenAI media routes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import math
import os
import struct
import time
import wave
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from aiohttp import web

from deepinfra_async.testing import Emulator, UploadRecord, WebhookDelivery

from .conftest import serve

LLAMA = "meta-llama/Meta-Llama-3-8B-Instruct"
BGE = "BAAI/bge-large-en-v1.5"
RERANKER = "Qwen/Qwen3-Reranker-4B"
FLUX = "black-forest-labs/FLUX-1-schnell"
WHISPER = "openai/whisper-large-v3"
KOKORO = "hexgrad/Kokoro-82M"
ORPHEUS = "canopylabs/orpheus-3b-0.1-ft"
FINBERT = "ProsusAI/finbert"
NER = "Davlan/bert-base-multilingual-cased-ner-hrl"
BERT = "bert-base-cased"
VIT = "google/vit-base-patch16-224"
CLIP = "openai/clip-vit-base-patch32"
YOLOS = "hustvl/yolos-small"
SQUAD = "deepset/roberta-base-squad2"
DONE = "[DONE]"
NOT_FOUND = {"error": "Model not found"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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


def native(model: str) -> str:
    return f"/v1/inference/{model}"


async def call(http: aiohttp.ClientSession, model: str, body: Any) -> tuple[int, Any]:
    async with http.post(native(model), json=body) as response:
        return response.status, await response.json()


async def call_form(http: aiohttp.ClientSession, path: str, form: aiohttp.FormData) -> Any:
    async with http.post(path, data=form) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def form(**fields: str | tuple[str, bytes, str]) -> aiohttp.FormData:
    """A multipart form: strings are text fields, (filename, data, type) tuples are files."""
    data = aiohttp.FormData()
    for name, value in fields.items():
        if isinstance(value, tuple):
            data.add_field(name, value[1], filename=value[0], content_type=value[2])
        else:
            data.add_field(name, value)
    return data


def make_wav(seconds: float, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(bytes(2 * round(seconds * rate)))
    return buffer.getvalue()


def make_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = (b"\x00" + b"\x10\x20\x30" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(raw))
    return PNG_SIGNATURE + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def png_info(data: bytes) -> tuple[int, int, int]:
    """Check a PNG's structure and CRCs; return its width, height and pixel bytes."""
    assert data.startswith(PNG_SIGNATURE)
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        offset += 12 + length
    width, height = struct.unpack(">II", header[:8])
    return width, height, len(zlib.decompress(idat))


def split_sse(raw: bytes) -> list[str]:
    text = raw.decode()
    events = text.split("\n\n")[:-1] if text else []
    assert all(event.startswith("data: ") and "\n" not in event for event in events)
    return [event[len("data: ") :] for event in events]


async def eventually(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met within 5 s")


def check_envelope(body: dict[str, Any], *, llm: bool = False) -> dict[str, Any]:
    rid = body["request_id"]
    assert isinstance(rid, str)
    assert len(rid) == 24
    assert rid.isalnum()
    status: dict[str, Any] = body["inference_status"]
    assert status["status"] == "succeeded"
    assert isinstance(status["runtime_ms"], int)
    assert isinstance(status["cost"], float)
    assert status["cost"] > 0
    assert ("tokens_input" in status) is llm
    return status


# -- text generation ----------------------------------------------------------------------


async def test_text_generation_shape_and_envelope(http: aiohttp.ClientSession) -> None:
    """Native text generation answers results, token counts and an LLM inference_status."""
    status, body = await call(http, LLAMA, {"input": "Hello there friend", "max_new_tokens": 5})
    assert status == 200
    info = check_envelope(body, llm=True)
    assert (info["tokens_input"], info["tokens_generated"]) == (3, 5)
    assert info["cost"] == pytest.approx((3 * 0.03 + 5 * 0.06) / 1e6)
    assert len(body["results"][0]["generated_text"].split()) == 5
    assert (body["num_tokens"], body["num_input_tokens"]) == (5, 3)


async def test_text_generation_is_deterministic(http: aiohttp.ClientSession) -> None:
    """The same input gives the same text (and new request ids); num_responses gives several."""
    request = {"input": "Hi", "num_responses": 2, "emulator": {"tokens": 6}}
    _, first = await call(http, LLAMA, request)
    _, second = await call(http, LLAMA, request)
    assert first["results"] == second["results"]
    assert first["request_id"] != second["request_id"]
    texts = [result["generated_text"] for result in first["results"]]
    assert len(texts) == 2
    assert texts[0] != texts[1]
    assert first["num_tokens"] == 12


async def test_text_generation_stop_sequence(http: aiohttp.ClientSession) -> None:
    """A stop string cuts the text after the word that completes it."""
    _, full = await call(http, LLAMA, {"input": "Hi"})
    words = full["results"][0]["generated_text"].split()
    _, cut = await call(http, LLAMA, {"input": "Hi", "stop": [words[3]]})
    kept = cut["results"][0]["generated_text"].split()
    assert kept == words[: words.index(words[3]) + 1]


async def stream_events(
    http: aiohttp.ClientSession, body: dict[str, Any], model: str = LLAMA
) -> list[str]:
    async with http.post(native(model), json={**body, "stream": True}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        return split_sse(await response.read())


async def test_native_stream_framing_ends_with_eos(http: aiohttp.ClientSession) -> None:
    """Token events, then the special </s> event with generated_text and details, then [DONE]."""
    payloads = await stream_events(http, {"input": "Hello there", "emulator": {"tokens": 4}})
    assert payloads[-1] == DONE
    events = [json.loads(p) for p in payloads[:-1]]
    assert len(events) == 5
    for event in events[:-1]:
        assert set(event) == {"token", "generated_text", "details"}
        assert (event["generated_text"], event["details"]) == (None, None)
        token = event["token"]
        assert isinstance(token["id"], int)
        assert token["logprob"] <= 0
        assert token["special"] is False
    last = events[-1]
    assert last["token"]["special"] is True
    text = "".join(event["token"]["text"] for event in events[:-1])
    assert last["generated_text"] == text
    assert last["details"] == {
        "finish_reason": "eos_token",
        "generated_tokens": 4,
        "input_length": 2,
    }
    _, body = await call(http, LLAMA, {"input": "Hello there", "emulator": {"tokens": 4}})
    assert body["results"][0]["generated_text"] == text


async def test_native_stream_length_finish_on_last_token(http: aiohttp.ClientSession) -> None:
    """When max_new_tokens cuts the text, the last word token carries generated_text and details."""
    payloads = await stream_events(http, {"input": "Hi", "max_new_tokens": 3, "emulator": {}})
    events = [json.loads(p) for p in payloads[:-1]]
    assert payloads[-1] == DONE
    assert len(events) == 3
    assert events[-1]["token"]["special"] is False
    assert events[-1]["details"]["finish_reason"] == "length"
    assert events[-1]["generated_text"] == "".join(e["token"]["text"] for e in events)
    assert events[1]["token"]["text"].startswith(" ")


async def test_native_stream_controls_and_stats(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """error_after sends the in-band error frame; the stream is recorded in emu.streams."""
    controls = {"tokens": 8, "error_after": 2, "error_type": "overloaded", "error_message": "busy"}
    payloads = await stream_events(http, {"input": "Hi", "emulator": controls})
    assert len(payloads) == 3
    assert DONE not in payloads
    assert json.loads(payloads[-1]) == {"error_type": "overloaded", "error_message": "busy"}
    stats = emu.streams[-1]
    assert (stats.path, stats.model) == (native(LLAMA), LLAMA)
    assert (stats.events_written, stats.finished) == (3, True)


@pytest.mark.parametrize("kind", ["drop", "stall"])
async def test_native_stream_drop_and_stall(
    emu: Emulator, http: aiohttp.ClientSession, kind: str
) -> None:
    """drop_after closes the connection and stall_after stops sending, after exactly k events."""
    body = {"input": "Hi", "stream": True, "emulator": {f"{kind}_after": 2}}
    timeout = aiohttp.ClientTimeout(sock_read=0.3)
    received = bytearray()
    error: BaseException | None = None
    async with http.post(native(LLAMA), json=body, timeout=timeout) as response:
        try:
            async for piece in response.content.iter_any():
                received += piece
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = exc
    expected = aiohttp.ClientPayloadError if kind == "drop" else TimeoutError
    assert isinstance(error, expected)
    assert len(split_sse(bytes(received))) == 2
    assert (emu.streams[-1].events_written, emu.streams[-1].finished) == (2, False)


async def test_native_stream_mid_stream_fault(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """faults.add(path, after_events=k, error=...) interrupts a native stream once."""
    error = {"error_type": "internal_error", "error_message": "boom"}
    fault = emu.faults.add("/v1/inference/*", after_events=1, error=error)
    payloads = await stream_events(http, {"input": "Hi"})
    assert len(payloads) == 2
    assert json.loads(payloads[-1]) == error
    assert (fault.hits, fault.remaining) == (1, 0)
    payloads = await stream_events(http, {"input": "Hi"})
    assert payloads[-1] == DONE


async def test_pre_header_fault_applies_to_native(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """A status fault on a native path answers before the handler runs."""
    emu.faults.add("/v1/inference/*", status=429, retry_after=2)
    async with http.post(native(FINBERT), json={"input": "x"}) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "2"


# -- embeddings and reranking ------------------------------------------------------------


async def test_native_embeddings_match_the_openai_route(http: aiohttp.ClientSession) -> None:
    """Native embeddings equal the OpenAI route's vectors and report input tokens and cost."""
    inputs = ["the quick fox", "hello"]
    status, body = await call(http, BGE, {"inputs": inputs, "normalize": True})
    assert status == 200
    check_envelope(body)
    assert body["input_tokens"] == 4
    async with http.post("/v1/openai/embeddings", json={"model": BGE, "input": inputs}) as r:
        openai = await r.json()
    assert body["embeddings"] == [item["embedding"] for item in openai["data"]]
    assert len(body["embeddings"][0]) == 1024
    assert math.fsum(x * x for x in body["embeddings"][1]) == pytest.approx(1, abs=1e-5)


async def test_reranker_scores_query_and_queries_forms(http: aiohttp.ClientSession) -> None:
    """Scores are in [0, 1] in document order; the queries form gives the same scores."""
    documents = ["the red fox jumps", "bread and tea", "a fox"]
    _, one = await call(http, RERANKER, {"query": "red fox", "documents": documents})
    _, many = await call(http, RERANKER, {"queries": ["red fox"] * 3, "documents": documents})
    check_envelope(one)
    assert one["scores"] == many["scores"]
    assert len(one["scores"]) == 3
    assert all(0 <= score <= 1 for score in one["scores"])
    assert one["scores"][0] > one["scores"][1]
    assert one["input_tokens"] == 6 + 4 + 3 + 2
    _, again = await call(http, RERANKER, {"query": "red fox", "documents": documents})
    assert again["scores"] == one["scores"]


async def test_reranker_validation(http: aiohttp.ClientSession) -> None:
    """Neither query nor queries, or a queries list of the wrong length, is a 422."""
    status, body = await call(http, RERANKER, {"documents": ["a"]})
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "query"]
    status, body = await call(http, RERANKER, {"queries": ["a"], "documents": ["a", "b"]})
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "queries"]


# -- text to image and hosted images -----------------------------------------------------


async def test_text_to_image_answers_valid_deterministic_pngs(http: aiohttp.ClientSession) -> None:
    """Images are valid PNG data URLs of the requested size; the same seed gives the same PNG."""
    request = {"prompt": "a red fox", "num_images": 2, "width": 256, "height": 128, "seed": 7}
    status, body = await call(http, FLUX, request)
    assert status == 200
    info = check_envelope(body)
    assert info["cost"] == pytest.approx(2 * 0.0005 * 256 * 128 / 1024**2)
    assert body["seed"] == 7
    assert body["nsfw_content_detected"] == [False, False]
    assert len(body["images"]) == 2
    prefix = "data:image/png;base64,"
    pngs = [base64.b64decode(image.removeprefix(prefix)) for image in body["images"]]
    assert all(image.startswith(prefix) for image in body["images"])
    assert png_info(pngs[0]) == (256, 128, 128 * (1 + 3 * 256))
    assert pngs[0] != pngs[1]
    _, again = await call(http, FLUX, request)
    assert again["images"] == body["images"]
    _, other = await call(http, FLUX, {**request, "seed": 8})
    assert other["images"] != body["images"]


async def test_image_urls_are_served_without_auth(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """With image_urls the images are emulator URLs that answer image/png without a key."""
    request = {"prompt": "fox", "width": 128, "height": 128, "emulator": {"image_urls": True}}
    _, body = await call(http, FLUX, request)
    (url,) = body["images"]
    assert url.startswith(f"{emu.url}/v1/images/")
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(url) as response:
            assert response.status == 200
            assert response.content_type == "image/png"
            assert png_info(await response.read())[:2] == (128, 128)
        async with anonymous.get(f"{emu.url}/v1/images/unknown") as response:
            assert response.status == 404
            assert await response.json() == {"error": "Image not found"}


# -- speech recognition and synthesis ----------------------------------------------------


async def test_speech_recognition_over_multipart_and_data_url(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """The same audio gives the same transcript as a file part or a data URL, and is recorded."""
    audio = make_wav(4.0)
    by_part = await call_form(
        http, native(WHISPER), form(audio=("a.wav", audio, "audio/wav"), language="en")
    )
    status, by_url = await call(http, WHISPER, {"audio": data_url(audio, "audio/wav")})
    assert status == 200
    check_envelope(by_part)
    for key in ("text", "segments", "language", "input_length_ms"):
        assert by_part[key] == by_url[key]
    assert by_part["input_length_ms"] == 4000
    assert by_part["language"] == "en"
    assert len(by_part["text"].split()) == 10
    segment = by_part["segments"][0]
    assert set(segment) >= {"id", "seek", "start", "end", "text", "tokens", "temperature"}
    assert set(segment) >= {"avg_logprob", "compression_ratio", "no_speech_prob", "words"}
    assert set(segment["words"][0]) == {"text", "start", "end", "confidence"}
    assert by_part["segments"][-1]["end"] == 4.0
    digest = hashlib.sha256(audio).hexdigest()
    assert emu.uploads == [
        UploadRecord(native(WHISPER), "audio", "a.wav", "audio/wav", len(audio), digest),
        UploadRecord(native(WHISPER), "audio", None, "audio/wav", len(audio), digest),
    ]
    _, other = await call(http, WHISPER, {"audio": data_url(make_wav(4.0, 8000), "audio/wav")})
    assert other["text"] != by_url["text"]


async def test_text_to_speech_raw_and_json(http: aiohttp.ClientSession) -> None:
    """Kokoro answers a raw WAV whose length follows the text; Orpheus a JSON data URL."""
    lengths = []
    for text in ("Hello", "Hello there, how are you today?"):
        async with http.post(native(KOKORO), json={"text": text}) as response:
            assert response.status == 200
            assert response.content_type == "audio/wav"
            raw = await response.read()
        with wave.open(io.BytesIO(raw)) as reader:
            lengths.append(reader.getnframes())
            assert reader.getframerate() == 24000
    assert lengths[1] > lengths[0]
    status, body = await call(http, ORPHEUS, {"text": "Hello"})
    assert status == 200
    check_envelope(body)
    assert body["audio"].startswith("data:audio/wav;base64,")
    decoded = base64.b64decode(body["audio"].partition(",")[2])
    with wave.open(io.BytesIO(decoded)) as reader:
        assert reader.getnframes() == lengths[0]


# -- classification family ---------------------------------------------------------------


async def test_text_tasks_shapes(http: aiohttp.ClientSession) -> None:
    """Text classification, NER, fill-mask and question answering answer their native shapes."""
    _, body = await call(http, FINBERT, {"input": "Stocks rallied today"})
    check_envelope(body)
    assert {r["label"] for r in body["results"]} == {"positive", "negative", "neutral"}
    assert math.fsum(r["score"] for r in body["results"]) == pytest.approx(1)
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)

    text = "Alice met Bob Smith in Paris"
    _, body = await call(http, NER, {"input": text})
    words = [(r["word"], text[r["start"] : r["end"]]) for r in body["results"]]
    assert words == [("Alice", "Alice"), ("Bob Smith", "Bob Smith"), ("Paris", "Paris")]
    assert all(r["entity_group"] in {"PER", "ORG", "LOC"} for r in body["results"])

    _, body = await call(http, BERT, {"input": "Paris is the [MASK] of France."})
    assert len(body["results"]) == 5
    for result in body["results"]:
        assert result["sequence"] == f"Paris is the {result['token_str']} of France."
        assert isinstance(result["token"], int)

    context = "The emulator runs on loopback and answers every native task."
    _, body = await call(http, SQUAD, {"question": "Where does it run?", "context": context})
    check_envelope(body)
    assert body["answer"] == context[body["start"] : body["end"]]
    assert body["answer"]
    assert 0 < body["score"] <= 1


async def test_fill_mask_requires_the_mask_token(http: aiohttp.ClientSession) -> None:
    """A fill-mask input without [MASK] is a 422 located at input."""
    status, body = await call(http, BERT, {"input": "no mask here"})
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "input"]
    assert body["detail"][0]["type"] == "value_error"


async def test_image_tasks_over_json_and_multipart(http: aiohttp.ClientSession) -> None:
    """Image tasks answer the same over data URLs and file parts; boxes fit the PNG."""
    png = make_png(320, 200)
    labels = ["dog", "cat", "fox"]
    _, by_url = await call(
        http, CLIP, {"image": data_url(png, "image/png"), "candidate_labels": labels}
    )
    by_part = await call_form(
        http,
        native(CLIP),
        form(image=("p.png", png, "image/png"), candidate_labels=json.dumps(labels)),
    )
    assert by_url["results"] == by_part["results"]
    assert sorted(r["label"] for r in by_url["results"]) == sorted(labels)
    assert math.fsum(r["score"] for r in by_url["results"]) == pytest.approx(1)

    _, body = await call(http, VIT, {"image": data_url(png, "image/png")})
    check_envelope(body)
    assert len(body["results"]) == 5
    assert all(0 < r["score"] < 1 for r in body["results"])

    body = await call_form(http, native(YOLOS), form(image=("p.png", png, "image/png")))
    assert body["results"]
    for result in body["results"]:
        box = result["box"]
        assert 0 <= box["xmin"] < box["xmax"] <= 320
        assert 0 <= box["ymin"] < box["ymax"] <= 200
        assert isinstance(result["label"], str)


async def test_multipart_text_fields_are_decoded(http: aiohttp.ClientSession) -> None:
    """Numbers, booleans and JSON objects arrive as text and are decoded by the field's type."""
    fields = form(
        prompt="fox",
        num_images="2",
        width="128",
        height="128",
        use_compel="true",
        emulator=json.dumps({"image_urls": True}),
    )
    body = await call_form(http, native(FLUX), fields)
    assert len(body["images"]) == 2
    assert all(url.startswith("http://127.0.0.1") for url in body["images"])
    async with http.post(native(FLUX), data=form(prompt="fox", num_images="two")) as response:
        assert response.status == 422
        problem = (await response.json())["detail"][0]
    assert (problem["loc"], problem["type"]) == (["body", "num_images"], "int_type")


# -- errors and routing -------------------------------------------------------------------


async def test_unknown_model_deploy_and_version(emu: Emulator, http: aiohttp.ClientSession) -> None:
    """Unknown models and deploy ids are 404 Model not found; deployments and ?version= work."""
    assert await call(http, "nobody/nothing", {"input": "x"}) == (404, NOT_FOUND)
    async with http.post("/v1/inference/deploy/missing", json={"input": "x"}) as response:
        assert (response.status, await response.json()) == (404, NOT_FOUND)
    path = "/v1/inference/deploy/emu-deploy-llama3-8b"
    async with http.post(path, json={"input": "Hi", "max_new_tokens": 2}) as response:
        assert response.status == 200
        assert (await response.json())["num_tokens"] == 2
    assert emu.requests[-1].model == LLAMA
    async with http.post(native(FINBERT), params={"version": "abc123"}, json={"input": "x"}) as r:
        assert r.status == 200
    assert emu.requests[-1].query == {"version": "abc123"}
    assert emu.requests[-1].model == FINBERT


async def test_auth_is_checked_before_the_model(emu: Emulator) -> None:
    """A native call without a key is 401 even for an unknown model."""
    async with (
        aiohttp.ClientSession(emu.url) as session,
        session.post(native("nobody/nothing"), json={}) as response,
    ):
        assert response.status == 401
        assert (await response.json())["error"]["message"] == "Not authenticated"


@pytest.mark.parametrize(
    ("model", "body", "loc", "kind"),
    [
        (FINBERT, {}, ["body", "input"], "missing"),
        (FINBERT, {"input": 3}, ["body", "input"], "string_type"),
        (FINBERT, None, ["body"], "missing"),
        (BGE, {"inputs": "one"}, ["body", "inputs"], "list_type"),
        (FLUX, {"prompt": "x", "width": 5000}, ["body", "width"], "less_than_equal"),
        (WHISPER, {"audio": "not a url"}, ["body", "audio"], "value_error"),
        (WHISPER, {}, ["body", "audio"], "missing"),
        (
            LLAMA,
            {"input": "x", "emulator": {"nope": 1}},
            ["body", "emulator", "nope"],
            "extra_forbidden",
        ),
    ],
)
async def test_validation_errors_are_fastapi_shaped(
    http: aiohttp.ClientSession, model: str, body: Any, loc: list[str], kind: str
) -> None:
    """Missing or mistyped fields answer 422 with FastAPI's detail list."""
    async with http.post(native(model), json=body) as response:
        assert response.status == 422
        detail = (await response.json())["detail"]
    assert {"loc": loc, "type": kind} == {"loc": detail[0]["loc"], "type": detail[0]["type"]}
    assert isinstance(detail[0]["msg"], str)


async def test_malformed_multipart_is_400(http: aiohttp.ClientSession) -> None:
    """A multipart body that cannot be parsed answers 400 with a detail message."""
    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
    async with http.post(native(FINBERT), data=b"garbage", headers=headers) as response:
        assert response.status == 400
        assert (await response.json()) == {"detail": "There was an error parsing the body"}


# -- webhooks ------------------------------------------------------------------------------


@pytest.fixture
async def hook() -> AsyncIterator[tuple[str, list[Any]]]:
    """A loopback server that records the JSON bodies POSTed to /hook."""
    received: list[Any] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    async with serve(app) as base_url:
        yield f"{base_url}/hook", received


async def test_webhook_is_queued_then_delivered(
    emu: Emulator, http: aiohttp.ClientSession, hook: tuple[str, list[Any]]
) -> None:
    """A webhook call answers queued at once, then the full result is POSTed to the URL."""
    url, received = hook
    status, body = await call(http, FINBERT, {"input": "Stocks fell", "webhook": url})
    assert status == 200
    assert set(body) == {"request_id", "inference_status"}
    assert body["inference_status"] == {"status": "queued", "runtime_ms": 0, "cost": 0.0}
    await eventually(lambda: bool(emu.webhooks) and emu.webhooks[0].finished)
    (delivery,) = emu.webhooks
    assert (delivery.url, delivery.status, delivery.error) == (url, 200, None)
    assert delivery.delivered
    (payload,) = received
    assert payload["request_id"] == body["request_id"] == delivery.request_id
    check_envelope(payload)
    _, direct = await call(http, FINBERT, {"input": "Stocks fell"})
    assert payload["results"] == direct["results"]


async def test_webhook_to_a_remote_host_is_never_sent(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """A webhook URL off loopback is recorded as not delivered, without any attempt."""
    status, _ = await call(http, KOKORO, {"text": "hi", "webhook": "https://example.com/hook"})
    assert status == 200
    (delivery,) = emu.webhooks
    assert isinstance(delivery, WebhookDelivery)
    assert (delivery.finished, delivery.attempts, delivery.status) == (True, 0, None)
    assert delivery.error is not None
    assert "loopback" in delivery.error
    assert delivery.payload["audio"].startswith("data:audio/wav;base64,")


async def test_aclose_cancels_pending_webhooks() -> None:
    """Closing the emulator cancels a delivery whose receiver never answers."""
    entered = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        entered.set()
        await asyncio.sleep(30)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hang)
    async with serve(app, shutdown_timeout=0.1) as base_url:
        url = f"{base_url}/hook"
        emu = Emulator(api_key="k")
        await emu.start()
        headers = {"Authorization": "Bearer k"}
        async with aiohttp.ClientSession(emu.url, headers=headers) as session:
            async with session.post(native(FINBERT), json={"input": "x", "webhook": url}) as r:
                assert r.status == 200
            await asyncio.wait_for(entered.wait(), 5)
        started = time.monotonic()
        await emu.aclose()
        assert time.monotonic() - started < 2
        (delivery,) = emu.webhooks
        assert delivery.finished
        assert delivery.error is not None
        assert delivery.error.startswith("cancelled")


# -- OpenAI-compatible media routes --------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/v1/openai", "/v1"])
async def test_openai_image_generations(
    emu: Emulator, http: aiohttp.ClientSession, prefix: str
) -> None:
    """b64_json (default) and url answers carry the same PNGs of the requested size."""
    request = {"model": FLUX, "prompt": "a fox", "n": 2, "size": "192x128"}
    async with http.post(f"{prefix}/images/generations", json=request) as response:
        assert response.status == 200
        body = await response.json()
    assert isinstance(body["created"], int)
    assert len(body["data"]) == 2
    item = body["data"][0]
    assert (item["url"], item["revised_prompt"]) == (None, None)
    png = base64.b64decode(item["b64_json"])
    assert png_info(png)[:2] == (192, 128)
    request["response_format"] = "url"
    async with http.post(f"{prefix}/images/generations", json=request) as response:
        urls = [entry["url"] for entry in (await response.json())["data"]]
    assert urls[0].startswith(f"{emu.url}/v1/images/")
    async with aiohttp.ClientSession() as anonymous, anonymous.get(urls[0]) as response:
        assert await response.read() == png


async def test_openai_image_errors(http: aiohttp.ClientSession) -> None:
    """Bad n or size is 422, an unknown model 404 and a non-image model 400, OpenAI style."""
    path = "/v1/openai/images/generations"
    for bad, field in (({"n": 5}, "n"), ({"size": "huge"}, "size")):
        async with http.post(path, json={"prompt": "x", **bad}) as response:
            assert response.status == 422
            assert (await response.json())["detail"][0]["loc"] == ["body", field]
    async with http.post(path, json={"model": "no/model", "prompt": "x"}) as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "model_not_found"
    async with http.post(path, json={"model": LLAMA, "prompt": "x"}) as response:
        assert response.status == 400


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("wav", "audio/wav", b"RIFF"),
        ("mp3", "audio/mpeg", b"\xff\xfb"),
        ("opus", "audio/ogg", b"OggS"),
        ("flac", "audio/flac", b"fLaC"),
        ("pcm", "audio/pcm", b""),
    ],
)
async def test_openai_speech_formats(
    http: aiohttp.ClientSession, fmt: str, content_type: str, magic: bytes
) -> None:
    """Speech answers raw bytes with the format's content type and Content-Length."""
    request = {"model": KOKORO, "input": "Hello there", "voice": "af_bella"}
    request["response_format"] = fmt
    async with http.post("/v1/audio/speech", json=request) as response:
        assert response.status == 200
        assert response.content_type == content_type
        data = await response.read()
        assert int(response.headers["Content-Length"]) == len(data)
    assert data.startswith(magic)
    assert len(data) > 1000
    if fmt == "wav":
        with wave.open(io.BytesIO(data)) as reader:
            assert reader.getnframes() == round(0.05 * len("Hello there") * 24000)


async def test_openai_speech_large_body_streams_to_disk(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """audio_bytes makes a large body that arrives in many chunks and can be written to disk."""
    size = 5_000_000
    request = {"model": KOKORO, "input": "hi", "emulator": {"audio_bytes": size}}
    target = tmp_path / "speech.wav"
    chunks = 0
    async with http.post("/v1/openai/audio/speech", json=request) as response:
        assert response.headers["Content-Length"] == str(size)
        with target.open("wb") as out:
            async for chunk in response.content.iter_chunked(65536):
                out.write(chunk)
                chunks += 1
    assert target.stat().st_size == size
    assert chunks > 10
    assert target.read_bytes()[:4] == b"RIFF"


async def test_openai_speech_validation(http: aiohttp.ClientSession) -> None:
    """A bad response_format is 422 and a non-speech model 400."""
    request = {"model": KOKORO, "input": "x", "response_format": "aac"}
    async with http.post("/v1/audio/speech", json=request) as response:
        assert response.status == 422
    async with http.post("/v1/audio/speech", json={"model": FLUX, "input": "x"}) as response:
        assert response.status == 400


def transcription_form(audio: bytes, fmt: str, *granularities: str) -> aiohttp.FormData:
    data = form(file=("speech.wav", audio, "audio/wav"), model=WHISPER, response_format=fmt)
    data.add_field("temperature", "0")
    for granularity in granularities:
        data.add_field("timestamp_granularities[]", granularity)
    return data


async def test_openai_transcriptions_every_format(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """json, verbose_json, text, srt and vtt carry the same transcript; the upload is recorded."""
    audio = make_wav(6.0)
    path = "/v1/openai/audio/transcriptions"
    bodies: dict[str, Any] = {}
    for fmt in ("json", "verbose_json", "text", "srt", "vtt"):
        async with http.post(path, data=transcription_form(audio, fmt, "word")) as response:
            assert response.status == 200
            expected = "application/json" if "json" in fmt else "text/plain"
            assert response.content_type == expected
            bodies[fmt] = await response.json() if "json" in fmt else await response.text()
    text = bodies["json"]["text"]
    assert set(bodies["json"]) == {"text"}
    verbose = bodies["verbose_json"]
    assert (verbose["task"], verbose["language"], verbose["duration"]) == (
        "transcribe",
        "english",
        6.0,
    )
    assert verbose["text"] == text
    assert "segments" not in verbose
    assert " ".join(word["word"] for word in verbose["words"]) == text.lower().replace(".", "")
    assert bodies["text"] == text + "\n"
    assert bodies["srt"].startswith("1\n00:00:00,000 --> 00:00:")
    assert bodies["vtt"].startswith("WEBVTT\n\n00:00:00.000 --> ")
    assert len(emu.uploads) == 5
    assert {record.sha256 for record in emu.uploads} == {hashlib.sha256(audio).hexdigest()}
    async with http.post(path, data=transcription_form(audio, "verbose_json")) as response:
        verbose = await response.json()
    assert set(verbose["segments"][0]) >= {"id", "seek", "start", "end", "text", "tokens"}
    assert "words" not in verbose


async def test_openai_translations(http: aiohttp.ClientSession) -> None:
    """Translations report the translate task in English, with the same words as transcription."""
    audio = make_wav(2.0)
    data = transcription_form(audio, "verbose_json")
    data.add_field("language", "de")
    async with http.post("/v1/audio/translations", data=data) as response:
        body = await response.json()
    assert (body["task"], body["language"]) == ("translate", "english")
    async with http.post("/v1/audio/transcriptions", data=transcription_form(audio, "json")) as r:
        assert (await r.json())["text"] == body["text"]


async def test_transcription_requires_a_file(http: aiohttp.ClientSession) -> None:
    """A transcription form without its file part is a 422 located at file."""
    async with http.post("/v1/audio/transcriptions", data=form(model=WHISPER)) as response:
        assert response.status == 422
        assert (await response.json())["detail"][0]["loc"] == ["body", "file"]


# -- uploads --------------------------------------------------------------------------------


async def test_uploads_are_recorded_not_logged_and_reset(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    """Multipart bodies are never logged as JSON; upload records are cleared by reset()."""
    png = make_png(8, 8)
    await call_form(http, native(VIT), form(image=("tiny.png", png, "image/png")))
    assert emu.requests[-1].json is None
    assert emu.requests[-1].model == VIT
    (record,) = emu.uploads
    assert (record.path, record.field, record.filename) == (native(VIT), "image", "tiny.png")
    assert (record.size, record.sha256) == (len(png), hashlib.sha256(png).hexdigest())
    emu.reset()
    assert emu.uploads == []


async def test_large_multipart_upload_is_streamed(
    emu: Emulator, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """A 50 MB file part arrives with the right SHA-256 while RSS grows by less than 32 MB."""
    source = tmp_path / "big.wav"
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with source.open("wb") as out:
        for index in range(50):
            piece = block[index:] + block[:index]
            out.write(piece)
            digest.update(piece)
    process = psutil.Process()
    await call(http, FINBERT, {"input": "warm up"})
    baseline = peak = process.memory_info().rss
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    try:
        with source.open("rb") as handle:
            data = aiohttp.FormData()
            data.add_field("audio", handle, filename="big.wav", content_type="audio/wav")
            body = await call_form(http, native(WHISPER), data)
    finally:
        done.set()
        await sampler
    peak = max(peak, process.memory_info().rss)
    (record,) = emu.uploads
    assert (record.size, record.sha256) == (50 << 20, digest.hexdigest())
    assert body["input_length_ms"] > 0
    assert peak - baseline < 32 << 20
