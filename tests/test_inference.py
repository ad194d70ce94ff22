"""The native /v1/inference/{model} endpoint over loopback: every helper and upload form."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import psutil
import pytest

from deepinfra_async import AsyncStream, DeepInfra, NotFoundError, StreamError, data_url
from deepinfra_async.testing import Emulator
from deepinfra_async.types import InferenceResult, TextGenerationStreamEvent

from .conftest import CHAT_MODEL

WHISPER = "openai/whisper-large-v3"
AUDIO = b"RIFF" + bytes(range(256)) * 64
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(200)) * 10


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def drain(stream: AsyncStream[TextGenerationStreamEvent]) -> None:
    """Read a native stream to its end inside `async with`."""
    async with stream:
        async for _event in stream:
            pass


async def test_run_returns_output_status_and_cost(client: DeepInfra, emu: Emulator) -> None:
    """run() returns the model's output fields with request id, status, cost and runtime."""
    result = await client.inference.run(CHAT_MODEL, {"input": "Hello", "max_new_tokens": 4})
    assert isinstance(result, InferenceResult)
    assert result.output["results"][0]["generated_text"]
    assert "inference_status" not in result.output
    assert result.request_id
    assert result.status.status == "succeeded"
    assert result.status.cost is not None
    assert result.status.cost > 0
    assert emu.requests[0].path == f"/v1/inference/{CHAT_MODEL}"
    assert emu.requests[0].json == {"input": "Hello", "max_new_tokens": 4}


async def test_version_goes_in_the_query(client: DeepInfra, emu: Emulator) -> None:
    """version= pins a model version through the query string; the path keeps its slash."""
    await client.inference.run(CHAT_MODEL, {"input": "Hi"}, version="d8b79b42")
    assert emu.requests[0].path == f"/v1/inference/{CHAT_MODEL}"
    assert emu.requests[0].query == {"version": "d8b79b42"}


@pytest.mark.parametrize(
    "model",
    ["", "a//b", "../etc", "a/..", "a/b?x=1", "a/b#frag", "a b", "a/\tb", "a/b\x00", "a/%2e", "/a"],
)
async def test_invalid_model_ids_are_rejected_before_sending(
    client: DeepInfra, emu: Emulator, model: str
) -> None:
    """Empty ids, '..', '?', '#', whitespace and control characters raise; nothing is sent."""
    with pytest.raises(ValueError, match="model"):
        await client.inference.run(model, {"input": "x"})
    assert emu.requests == []


async def test_unknown_model_is_not_found(client: DeepInfra) -> None:
    """An unknown model answers 404 with DeepInfra's plain error body."""
    with pytest.raises(NotFoundError, match="Model not found"):
        await client.inference.run("nobody/nothing", {"input": "x"})


async def test_text_generation(client: DeepInfra) -> None:
    """text_generation() returns typed results with token counts and cost."""
    result = await client.inference.text_generation(CHAT_MODEL, "Hello", max_new_tokens=5)
    assert result.text
    assert len(result.text.split()) == 5
    assert result.num_tokens == 5
    assert result.status.cost is not None


async def test_text_generation_stream(client: DeepInfra) -> None:
    """A native stream yields token events; the last carries the full text and details."""
    plain = await client.inference.text_generation(CHAT_MODEL, "Hello", max_new_tokens=6)
    events: list[TextGenerationStreamEvent] = []
    async with await client.inference.text_generation(
        CHAT_MODEL, "Hello", max_new_tokens=6, stream=True
    ) as stream:
        events.extend([event async for event in stream])
    tokens = "".join(e.token.text for e in events if e.token is not None)
    assert events[-1].generated_text == plain.text
    assert tokens.strip() == plain.text.strip()
    assert events[-1].details is not None
    assert stream.received_text == tokens


async def test_text_generation_stream_in_band_error(client: DeepInfra) -> None:
    """An in-band error on a native stream raises StreamError with the tokens so far."""
    stream = await client.inference.text_generation(
        CHAT_MODEL,
        "Hello",
        stream=True,
        extra_body={"emulator": {"tokens": 30, "error_after": 3}},
    )
    with pytest.raises(StreamError) as info:
        await drain(stream)
    assert info.value.received
    assert info.value.error_type is not None


async def test_embeddings_and_rerank(client: DeepInfra, emu: Emulator) -> None:
    """Native embeddings give one vector per input; rerank one score per document."""
    vectors = await client.inference.embeddings("BAAI/bge-large-en-v1.5", ["a", "b", "c"])
    assert len(vectors.embeddings) == 3
    assert len(vectors.embeddings[0]) == 1024
    scores = await client.inference.rerank(
        "Qwen/Qwen3-Reranker-4B", "capital of France", ["Paris is", "Bananas are"]
    )
    assert len(scores.scores) == 2
    assert all(0.0 <= s <= 1.0 for s in scores.scores)
    assert emu.requests[1].json == {
        "query": "capital of France",
        "documents": ["Paris is", "Bananas are"],
    }


async def test_text_to_image_data_urls_and_urls(client: DeepInfra, emu: Emulator) -> None:
    """Images arrive as decoded bytes whether the server sent data URLs or URLs."""
    inline = await client.inference.text_to_image(
        "black-forest-labs/FLUX-1-schnell", "a red fox", num_images=2, seed=7
    )
    linked = await client.inference.text_to_image(
        "black-forest-labs/FLUX-1-schnell",
        "a red fox",
        num_images=2,
        seed=7,
        extra_body={"emulator": {"image_urls": True}},
    )
    assert len(inline.images) == 2
    assert inline.images[0].data.startswith(b"\x89PNG")
    assert [i.data for i in linked.images] == [i.data for i in inline.images]
    assert linked.images[0].url is not None
    assert inline.status.cost is not None
    # The image download is an ordinary GET on the emulator's own origin.
    assert emu.requests[-1].method == "GET"


@pytest.mark.parametrize("form", ["bytes", "path", "file", "tuple", "data_url"])
async def test_speech_recognition_upload_forms(
    client: DeepInfra, emu: Emulator, tmp_path: Path, form: str
) -> None:
    """Audio as bytes, a Path, a file, a (name, file, type) tuple or a data URL arrives intact."""
    path = tmp_path / "clip.wav"
    path.write_bytes(AUDIO)
    audio: Any = {
        "bytes": AUDIO,
        "path": path,
        "file": io.BytesIO(AUDIO),
        "tuple": ("clip.wav", AUDIO, "audio/wav"),
        "data_url": data_url(AUDIO, "audio/wav"),
    }[form]
    result = await client.inference.speech_recognition(WHISPER, audio, language="en")
    assert result.text
    assert result.segments
    upload = emu.uploads[-1]
    assert upload.sha256 == sha(AUDIO)
    assert upload.size == len(AUDIO)
    if form != "data_url":
        assert upload.field == "audio"
        assert emu.requests[-1].json is None
    if form in ("path", "tuple"):
        assert upload.filename == "clip.wav"


async def test_file_objects_are_left_open_and_rewound_for_retries(
    client: DeepInfra, emu: Emulator
) -> None:
    """A retried upload resends the whole file object, and the caller's file stays open."""
    emu.faults.add(f"/v1/inference/{WHISPER}", status=503, times=1)
    handle = io.BytesIO(AUDIO)
    await client.inference.speech_recognition(WHISPER, handle)
    assert len(emu.requests) == 2
    assert [u.sha256 for u in emu.uploads] == [sha(AUDIO)]
    assert not handle.closed


async def test_missing_file_is_rejected_before_sending(
    client: DeepInfra, emu: Emulator, tmp_path: Path
) -> None:
    """A Path that does not exist raises ValueError naming the field; nothing is sent."""
    with pytest.raises(ValueError, match="audio: no such file"):
        await client.inference.speech_recognition(WHISPER, tmp_path / "missing.wav")
    with pytest.raises(TypeError, match="audio"):
        await client.inference.speech_recognition(WHISPER, 42)  # type: ignore[arg-type]
    assert emu.requests == []


async def test_text_to_speech_raw_and_json(client: DeepInfra) -> None:
    """Speech comes back as audio bytes whether the server sent raw audio or a JSON data URL."""
    raw = await client.inference.text_to_speech("hexgrad/Kokoro-82M", "Hello there")
    wrapped = await client.inference.text_to_speech("canopylabs/orpheus-3b-0.1-ft", "Hello there")
    for result in (raw, wrapped):
        assert result.audio.startswith(b"RIFF")
        assert result.content_type == "audio/wav"
    assert wrapped.status.cost is not None


async def test_classification_family(client: DeepInfra) -> None:
    """The classification helpers return typed results."""
    text = await client.inference.text_classification("ProsusAI/finbert", "Stocks rallied")
    tokens = await client.inference.token_classification(
        "Davlan/bert-base-multilingual-cased-ner-hrl", "Ada lives in Paris"
    )
    masked = await client.inference.fill_mask("bert-base-cased", "Paris is the [MASK] of France")
    image = await client.inference.image_classification("google/vit-base-patch16-224", IMAGE)
    zero = await client.inference.zero_shot_image_classification(
        "openai/clip-vit-base-patch32", IMAGE, ["dog", "cat"]
    )
    boxes = await client.inference.object_detection("hustvl/yolos-small", IMAGE)
    answer = await client.inference.question_answering(
        "deepset/roberta-base-squad2", "Where does Ada live?", "Ada lives in Paris."
    )
    assert text.results
    assert text.results[0].label
    assert tokens.results
    assert tokens.results[0].entity_group
    assert masked.results
    assert masked.results[0].sequence
    assert image.results
    assert sorted(r.label for r in zero.results) == ["cat", "dog"]
    assert sum(r.score for r in zero.results) == pytest.approx(1.0, abs=1e-6)
    assert boxes.results
    assert boxes.results[0].box.xmax >= boxes.results[0].box.xmin
    assert answer.start is not None
    assert answer.end is not None
    assert "Ada lives in Paris."[answer.start : answer.end] == answer.answer


async def test_webhook_returns_queued_at_once(client: DeepInfra, emu: Emulator) -> None:
    """With webhook=, the call returns at once with status 'queued'."""
    result = await client.inference.run(
        CHAT_MODEL, {"input": "Hi"}, webhook="http://127.0.0.1:9/hook"
    )
    assert result.status.status == "queued"
    assert emu.requests[0].json["webhook"] == "http://127.0.0.1:9/hook"
    with pytest.raises(ValueError, match="webhook"):
        await client.inference.run(CHAT_MODEL, {"input": "Hi"}, webhook="ftp://x")


async def test_openai_images_and_audio(client: DeepInfra, tmp_path: Path) -> None:
    """images.generate, audio.transcriptions and audio.speech work over the OpenAI routes."""
    images = await client.images.generate(
        model="black-forest-labs/FLUX-1-schnell", prompt="a fox", n=2
    )
    assert len(images.data) == 2
    assert images.data[0].decode().startswith(b"\x89PNG")
    linked = await client.images.generate(
        model="black-forest-labs/FLUX-1-schnell", prompt="a fox", response_format="url"
    )
    assert linked.data[0].url is not None
    text = await client.audio.transcriptions.create(file=AUDIO, model=WHISPER)
    verbose = await client.audio.transcriptions.create(
        file=("a.wav", AUDIO), model=WHISPER, response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )  # fmt: skip
    srt = await client.audio.transcriptions.create(file=AUDIO, model=WHISPER, response_format="srt")
    assert text.text
    assert verbose.segments
    assert isinstance(srt, str)
    assert "-->" in srt
    speech = await client.audio.speech.create(model="hexgrad/Kokoro-82M", input="Hello")
    assert (await speech.read()).startswith(b"RIFF")
    assert speech.content_type == "audio/wav"


async def test_speech_streams_to_disk(client: DeepInfra, tmp_path: Path) -> None:
    """A large speech body is written to disk chunk by chunk and arrives whole."""
    async with await client.audio.speech.create(
        model="hexgrad/Kokoro-82M",
        input="Hello",
        extra_body={"emulator": {"audio_bytes": 5_000_000}},
    ) as speech:
        written = await speech.write_to(tmp_path / "out.wav")
    assert written == 5_000_000
    assert (tmp_path / "out.wav").stat().st_size == 5_000_000
    chunks = 0
    again = await client.audio.speech.create(
        model="hexgrad/Kokoro-82M",
        input="Hello",
        extra_body={"emulator": {"audio_bytes": 1_000_000}},
    )
    async for _chunk in again.iter_bytes():
        chunks += 1
    assert chunks > 1
    with pytest.raises(RuntimeError, match="already read"):
        await again.read()


async def test_large_path_upload_streams_from_disk(
    client: DeepInfra, emu: Emulator, tmp_path: Path
) -> None:
    """A 200 MB file uploaded from a Path arrives intact while RSS grows by less than 32 MB."""
    path = tmp_path / "big.wav"
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for i in range(200):
            chunk = block[i:] + block[:i]
            digest.update(chunk)
            handle.write(chunk)
    process = psutil.Process()
    before = process.memory_info().rss
    peak = before
    task = asyncio.create_task(client.inference.run(WHISPER, files={"audio": path}))
    while not task.done():
        peak = max(peak, process.memory_info().rss)
        await asyncio.sleep(0.02)
    await task
    assert emu.uploads[-1].sha256 == digest.hexdigest()
    assert emu.uploads[-1].size == 200 << 20
    assert peak - before < 32 << 20
