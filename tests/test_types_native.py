import base64
import copy
import inspect
import json
from typing import Any, TypeVar

import attrs
import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepinfra_async import types
from deepinfra_async.types import (
    BoundingBox,
    DetectedObject,
    EmbeddingsResult,
    FillMaskResult,
    GeneratedImage,
    GeneratedText,
    Image,
    ImageClassificationResult,
    ImagesResponse,
    InferenceResult,
    InferenceStatus,
    LabelScore,
    MaskFill,
    ObjectDetectionResult,
    QuestionAnsweringResult,
    RerankResult,
    Segment,
    SpeechRecognitionResult,
    StreamToken,
    TextClassificationResult,
    TextGenerationResult,
    TextGenerationStreamEvent,
    TextToImageResult,
    TextToSpeechResult,
    TokenClassificationResult,
    TokenEntity,
    Transcription,
    TranscriptionSegment,
    TranscriptionWord,
    Word,
    ZeroShotImageClassificationResult,
    inference_result,
    is_data_url,
    make_converter,
    parse_data_url,
)
from deepinfra_async.types._converter import converter

T = TypeVar("T")

strict = make_converter(forbid_extra_keys=True)

# The smallest valid PNG signature plus header bytes: enough to tell real decoding apart.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WAV = b"RIFF$\x00\x00\x00WAVEfmt "

# The envelopes of reference section 3.2: a non-LLM model (runtime, no tokens) and an LLM
# (tokens, no runtime).
ENVELOPE: dict[str, Any] = {
    "request_id": "RfMWDr1NXCd7cnaegcm3A8q0",
    "inference_status": {"status": "succeeded", "runtime_ms": 1285, "cost": 0.004639499820768833},
}
STATUS = InferenceStatus(status="succeeded", runtime_ms=1285, cost=0.004639499820768833)
LLM_ENVELOPE: dict[str, Any] = {
    "request_id": "R7kQx2",
    "inference_status": {
        "status": "succeeded",
        "cost": 0.0000123,
        "tokens_input": 13,
        "tokens_generated": 9,
    },
}
LLM_STATUS = InferenceStatus(
    status="succeeded", cost=0.0000123, tokens_input=13, tokens_generated=9
)

# One realistic response per task of reference section 3.3, envelope included, with the
# object it must structure into.
NATIVE_EXAMPLES: list[tuple[str, dict[str, Any], Any]] = [
    (
        "text-generation",
        {
            **LLM_ENVELOPE,
            "results": [{"generated_text": "Hello! How can I help?"}],
            "num_tokens": 9,
            "num_input_tokens": 13,
        },
        TextGenerationResult(
            results=[GeneratedText(generated_text="Hello! How can I help?")],
            num_tokens=9,
            num_input_tokens=13,
            request_id="R7kQx2",
            status=LLM_STATUS,
        ),
    ),
    (
        "embeddings",
        {
            **ENVELOPE,
            "embeddings": [[0.0123, -0.0456, 0.0789], [0.5, 0.25, -1.0]],
            "input_tokens": 7,
        },
        EmbeddingsResult(
            embeddings=[[0.0123, -0.0456, 0.0789], [0.5, 0.25, -1.0]],
            input_tokens=7,
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "reranker",
        {**ENVELOPE, "scores": [0.98, 0.02, 0.4], "input_tokens": 31},
        RerankResult(
            scores=[0.98, 0.02, 0.4],
            input_tokens=31,
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "automatic-speech-recognition",
        {
            **ENVELOPE,
            "text": " Hello world. Bye.",
            "segments": [
                {
                    "id": 0,
                    "seek": 0,
                    "start": 0.0,
                    "end": 1.5,
                    "text": " Hello world.",
                    "tokens": [50364, 2425, 1002, 13, 50439],
                    "temperature": 0.0,
                    "avg_logprob": -0.21,
                    "compression_ratio": 0.62,
                    "no_speech_prob": 0.011,
                    "confidence": 0.93,
                    "words": [
                        {"text": "Hello", "start": 0.0, "end": 0.6, "confidence": 0.95},
                        {"text": "world.", "start": 0.7, "end": 1.5, "confidence": 0.91},
                    ],
                },
                {"id": 1, "seek": 150, "start": 2, "end": 2.5, "text": " Bye.", "words": None},
            ],
            "language": "en",
            "input_length_ms": 2500,
        },
        SpeechRecognitionResult(
            text=" Hello world. Bye.",
            segments=[
                Segment(
                    id=0,
                    seek=0,
                    start=0.0,
                    end=1.5,
                    text=" Hello world.",
                    tokens=[50364, 2425, 1002, 13, 50439],
                    temperature=0.0,
                    avg_logprob=-0.21,
                    compression_ratio=0.62,
                    no_speech_prob=0.011,
                    confidence=0.93,
                    words=[
                        Word(text="Hello", start=0.0, end=0.6, confidence=0.95),
                        Word(text="world.", start=0.7, end=1.5, confidence=0.91),
                    ],
                ),
                Segment(id=1, seek=150, start=2.0, end=2.5, text=" Bye."),
            ],
            language="en",
            input_length_ms=2500,
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "object-detection",
        {
            **ENVELOPE,
            "results": [
                {
                    "label": "cat",
                    "score": 0.9982,
                    "box": {"xmin": 12, "ymin": 40, "xmax": 310, "ymax": 228},
                },
                {
                    "label": "remote",
                    "score": 0.75,
                    "box": {"xmin": 40.5, "ymin": 70.25, "xmax": 175, "ymax": 117},
                },
            ],
        },
        ObjectDetectionResult(
            results=[
                DetectedObject(
                    label="cat",
                    score=0.9982,
                    box=BoundingBox(xmin=12.0, ymin=40.0, xmax=310.0, ymax=228.0),
                ),
                DetectedObject(
                    label="remote",
                    score=0.75,
                    box=BoundingBox(xmin=40.5, ymin=70.25, xmax=175.0, ymax=117.0),
                ),
            ],
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "image-classification",
        {
            **ENVELOPE,
            "results": [
                {"label": "tabby, tabby cat", "score": 0.72},
                {"label": "Egyptian cat", "score": 0.21},
            ],
        },
        ImageClassificationResult(
            results=[
                LabelScore(label="tabby, tabby cat", score=0.72),
                LabelScore(label="Egyptian cat", score=0.21),
            ],
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "zero-shot-image-classification",
        {**ENVELOPE, "results": [{"label": "dog", "score": 0.96}, {"label": "cat", "score": 0.04}]},
        ZeroShotImageClassificationResult(
            results=[LabelScore(label="dog", score=0.96), LabelScore(label="cat", score=0.04)],
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "token-classification",
        {
            **ENVELOPE,
            "results": [
                {
                    "entity_group": "PER",
                    "score": 0.9987,
                    "word": "Wolfgang",
                    "start": 11,
                    "end": 19,
                },
                {"entity_group": "LOC", "score": 0.9991, "word": "Berlin", "start": 34, "end": 40},
            ],
        },
        TokenClassificationResult(
            results=[
                TokenEntity(entity_group="PER", score=0.9987, word="Wolfgang", start=11, end=19),
                TokenEntity(entity_group="LOC", score=0.9991, word="Berlin", start=34, end=40),
            ],
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "fill-mask",
        {
            **ENVELOPE,
            "results": [
                {
                    "sequence": "Paris is the capital of France.",
                    "score": 0.91,
                    "token": 2364,
                    "token_str": "capital",
                },
                {
                    "sequence": "Paris is the heart of France.",
                    "score": 0.03,
                    "token": 1758,
                    "token_str": "heart",
                },
            ],
        },
        FillMaskResult(
            results=[
                MaskFill(
                    sequence="Paris is the capital of France.",
                    score=0.91,
                    token=2364,
                    token_str="capital",
                ),
                MaskFill(
                    sequence="Paris is the heart of France.",
                    score=0.03,
                    token=1758,
                    token_str="heart",
                ),
            ],
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "text-classification",
        {
            **ENVELOPE,
            "results": [
                {"label": "positive", "score": 0.93},
                {"label": "neutral", "score": 0.05},
                {"label": "negative", "score": 0.02},
            ],
        },
        TextClassificationResult(
            results=[
                LabelScore(label="positive", score=0.93),
                LabelScore(label="neutral", score=0.05),
                LabelScore(label="negative", score=0.02),
            ],
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
    (
        "question-answering",
        {**ENVELOPE, "answer": "Paris", "score": 0.98, "start": 27, "end": 32},
        QuestionAnsweringResult(
            answer="Paris",
            score=0.98,
            start=27,
            end=32,
            request_id="RfMWDr1NXCd7cnaegcm3A8q0",
            status=STATUS,
        ),
    ),
]
NATIVE_IDS = [name for name, _, _ in NATIVE_EXAMPLES]


def errors_of(data: Any, cls: type[Any], conv: cattrs.Converter = converter) -> list[str]:
    with pytest.raises(cattrs.BaseValidationError) as info:
        conv.structure(data, cls)
    return cattrs.transform_error(info.value)


def structure(data: dict[str, Any], cls: type[T], conv: cattrs.Converter = converter) -> T:
    """Structure a copy as the endpoints do: through the hook generated for ``cls``."""
    result: T = conv.get_structure_hook(cls)(copy.deepcopy(data), cls)
    return result


# -- Native wire shapes -------------------------------------------------------------------


@pytest.mark.parametrize("conv", [converter, strict], ids=["default", "strict"])
@pytest.mark.parametrize(("name", "wire", "expected"), NATIVE_EXAMPLES, ids=NATIVE_IDS)
def test_native_examples_structure(
    conv: cattrs.Converter, name: str, wire: dict[str, Any], expected: Any
) -> None:
    """Each task's response, envelope included, structures field for field with both converters."""
    result = structure(wire, type(expected), conv)
    assert result == expected, name
    assert result.request_id == wire["request_id"]
    assert result.status.cost == wire["inference_status"]["cost"]
    assert result.status.runtime_ms == wire["inference_status"].get("runtime_ms")
    assert result.status.status == "succeeded"


def test_text_generation_example_of_the_reference() -> None:
    """The reference's text-generation response gives text, token counts and LLM cost."""
    result = structure(NATIVE_EXAMPLES[0][1], TextGenerationResult, strict)
    assert result.text == "Hello! How can I help?"
    assert (result.num_tokens, result.num_input_tokens) == (9, 13)
    assert result.status.cost == 0.0000123
    assert result.status.runtime_ms is None
    assert (result.status.tokens_input, result.status.tokens_generated) == (13, 9)
    assert result.request_id == "R7kQx2"


def test_text_property_is_empty_without_results() -> None:
    """TextGenerationResult.text is the first result's text, or "" when there is none."""
    assert TextGenerationResult(results=[]).text == ""
    two = [GeneratedText(generated_text="a"), GeneratedText(generated_text="b")]
    assert TextGenerationResult(results=two).text == "a"


@pytest.mark.parametrize(("name", "wire", "expected"), NATIVE_EXAMPLES, ids=NATIVE_IDS)
def test_missing_envelope_gives_the_default_status(
    name: str, wire: dict[str, Any], expected: Any
) -> None:
    """Without request_id and inference_status (or with nulls), the defaults apply."""
    bare = {k: v for k, v in wire.items() if k not in ("request_id", "inference_status")}
    for data in (bare, {**bare, "request_id": None, "inference_status": None}):
        result = structure(data, type(expected), strict)
        assert result.status == InferenceStatus(), name
        assert result.status.status == "unknown"
        assert result.request_id is None
        assert result == attrs.evolve(expected, request_id=None, status=InferenceStatus())


def test_partial_status_fills_the_rest_with_defaults() -> None:
    """A queued webhook answer carries only a status; the other fields stay None."""
    result = structure(
        {"results": [], "inference_status": {"status": "queued"}}, TextClassificationResult, strict
    )
    assert result.status == InferenceStatus(status="queued")
    assert result.status.cost is None


def test_strict_converter_rejects_unknown_envelope_and_output_keys() -> None:
    """Drift in the output or inside inference_status is reported by the strict converter only."""
    wire = {**ENVELOPE, "answer": "Paris", "score": 0.98, "new_field": 1}
    wire["inference_status"] = {**ENVELOPE["inference_status"], "tokens_cached": 3}
    assert structure(wire, QuestionAnsweringResult).answer == "Paris"
    assert errors_of(wire, QuestionAnsweringResult, strict) == [
        "extra fields found (tokens_cached) @ $.status",
        "extra fields found (new_field) @ $",
    ]


@pytest.mark.parametrize(
    ("cls", "data", "expected"),
    [
        (
            RerankResult,
            {"scores": [0.5], "inference_status": "succeeded"},
            "invalid value for type, expected InferenceStatus @ $.status",
        ),
        (
            RerankResult,
            {"scores": [0.5], "inference_status": [{"status": "succeeded"}]},
            "invalid value for type, expected InferenceStatus @ $.status",
        ),
        (
            RerankResult,
            {"scores": [0.5], "inference_status": {"cost": "0.1"}},
            "invalid value for type, expected float | None @ $.status.cost",
        ),
        (
            RerankResult,
            {"scores": [0.5], "inference_status": {"runtime_ms": 12.5}},
            "invalid value for type, expected int | None @ $.status.runtime_ms",
        ),
        (
            RerankResult,
            {"scores": "0.5"},
            "invalid value for type, expected list @ $.scores",
        ),
        (
            RerankResult,
            {"scores": [], "request_id": 7},
            "invalid value for type, expected str | None @ $.request_id",
        ),
        (
            EmbeddingsResult,
            {"embeddings": [[0.1], "AAAA"]},
            "invalid value for type, expected list @ $.embeddings[1]",
        ),
        (
            TextGenerationResult,
            {"results": [{"generated_text": None}]},
            "invalid value for type, expected str @ $.results[0].generated_text",
        ),
        (
            ObjectDetectionResult,
            {"results": [{"label": "cat", "score": 1, "box": {"xmin": "1"}}]},
            "invalid value for type, expected float @ $.results[0].box.xmin",
        ),
        (
            SpeechRecognitionResult,
            {"text": "x", "segments": [{"start": 0, "end": 1, "text": "x", "tokens": [1.5]}]},
            "invalid value for type, expected int @ $.segments[0].tokens[0]",
        ),
        (
            QuestionAnsweringResult,
            {"answer": "Paris", "score": True},
            "invalid value for type, expected float @ $.score",
        ),
    ],
)
def test_wrong_types_raise_cattrs_errors(cls: type[Any], data: Any, expected: str) -> None:
    """A value of the wrong JSON type is reported with its path, never coerced."""
    assert expected in errors_of(data, cls)
    assert expected in errors_of(data, cls, strict)


def test_status_numbers_are_checked_not_coerced() -> None:
    """An integral cost widens to float and an integral runtime float narrows to int."""
    data = {"scores": [], "inference_status": {"cost": 0, "runtime_ms": 12.0}}
    status = structure(data, RerankResult).status
    assert status == InferenceStatus(cost=0.0, runtime_ms=12)
    assert type(status.cost) is float
    assert type(status.runtime_ms) is int


def test_status_is_written_back_under_the_wire_key() -> None:
    """Unstructuring a native result writes inference_status, never status."""
    expected = NATIVE_EXAMPLES[0][2]
    data = converter.unstructure(expected)
    assert "status" not in data
    assert data["inference_status"]["tokens_generated"] == 9
    assert data["request_id"] == "R7kQx2"


@attrs.frozen(kw_only=True)
class CustomModelResult:
    """A result class a user defines for a custom model, structured by our converter."""

    caption: str
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


def test_any_class_with_a_status_field_reads_inference_status() -> None:
    """The rename applies to every attrs class with a status: InferenceStatus field."""
    result = structure({**ENVELOPE, "caption": "a cat"}, CustomModelResult, strict)
    assert result.status == STATUS
    assert result.request_id == "RfMWDr1NXCd7cnaegcm3A8q0"


# -- The generic split --------------------------------------------------------------------


def test_inference_result_splits_output_from_envelope() -> None:
    """Every key but request_id and inference_status is output; the input is left alone."""
    wire = {**ENVELOPE, "text": "Hello World", "extra": {"k": [1, 2]}}
    before = copy.deepcopy(wire)
    result = inference_result(wire)
    assert result.output == {"text": "Hello World", "extra": {"k": [1, 2]}}
    assert result.output["extra"] is wire["extra"]
    assert result.status == STATUS
    assert result.status.cost == 0.004639499820768833
    assert result.status.runtime_ms == 1285
    assert result.request_id == "RfMWDr1NXCd7cnaegcm3A8q0"
    assert wire == before


def test_inference_result_without_envelope() -> None:
    """A body without an envelope (or with nulls) gives the default status and no request id."""
    for wire in (
        {"video": "https://x/v.mp4"},
        {"video": "https://x/v.mp4", "request_id": None, "inference_status": None},
    ):
        result = inference_result(wire)
        assert result == InferenceResult(output={"video": "https://x/v.mp4"})
        assert result.status.status == "unknown"


def test_inference_result_checks_status_numbers() -> None:
    """Status fields follow the converter's rules: int widens to float, integral float to int."""
    result = inference_result(
        {"inference_status": {"status": "failed", "cost": 0, "runtime_ms": 0.0, "new": 1}}
    )
    assert result.status == InferenceStatus(status="failed", cost=0.0, runtime_ms=0)
    assert type(result.status.cost) is float
    assert type(result.status.runtime_ms) is int
    assert result.output == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{"text": "x"}], "must be a JSON object, got list"),
        ("{}", "must be a JSON object, got str"),
        ({"inference_status": "succeeded"}, "inference_status must be an object or null, got str"),
        ({"inference_status": [1]}, "inference_status must be an object or null, got list"),
        ({"request_id": 5}, "request_id must be a string or null, got int"),
        ({"inference_status": {"status": None}}, "inference_status.status: expected a string"),
        ({"inference_status": {"cost": "0.1"}}, "inference_status.cost: expected a number"),
        ({"inference_status": {"runtime_ms": 1.5}}, "inference_status.runtime_ms: expected an"),
        ({"inference_status": {"tokens_input": True}}, "inference_status.tokens_input: expected"),
        ({"inference_status": {"tokens_generated": "9"}}, "inference_status.tokens_generated"),
    ],
)
def test_inference_result_rejects_bad_shapes(data: Any, message: str) -> None:
    """A non-object body or envelope, or a mistyped envelope field, raises TypeError."""
    with pytest.raises(TypeError, match=message):
        inference_result(data)


def test_converter_structures_inference_result_by_splitting() -> None:
    """converter.structure(x, InferenceResult) splits like inference_result and round-trips."""
    wire = {**ENVELOPE, "text": "Hello World"}
    result = converter.structure(wire, InferenceResult)
    assert result == inference_result(wire)
    back = converter.unstructure(result)
    assert back["text"] == "Hello World"
    assert back["request_id"] == ENVELOPE["request_id"]
    assert back["inference_status"]["runtime_ms"] == 1285
    assert strict.structure(back, InferenceResult) == result


# -- Embeddings ---------------------------------------------------------------------------


def test_embedding_vectors_pass_through_by_identity() -> None:
    """Each vector is the parser's list itself: no copy and no per-item conversion."""
    vectors = [[0.5] * 4096, [0, 1, -1]]
    result = converter.structure({"embeddings": vectors, "input_tokens": 3}, EmbeddingsResult)
    assert len(result.embeddings) == 2
    assert result.embeddings[0] is vectors[0]
    assert result.embeddings[1] is vectors[1]
    assert [type(v) for v in result.embeddings[1]] == [int, int, int]
    scores = [0.9, 0.1]
    assert converter.structure({"scores": scores}, RerankResult).scores is scores


# -- Native streaming ---------------------------------------------------------------------


def test_stream_events_of_the_reference() -> None:
    """A token event and a final event with the whole text and details structure."""
    line = (
        '{"token": {"id": 988, "text": " where", "logprob": -0.39575195, "special": false}, '
        '"generated_text": null, "details": null}'
    )
    event = strict.structure(json.loads(line), TextGenerationStreamEvent)
    assert event == TextGenerationStreamEvent(
        token=StreamToken(id=988, text=" where", logprob=-0.39575195)
    )
    details = {"finish_reason": "eos_token", "generated_tokens": 9}
    final = strict.structure(
        {
            "token": {"id": 2, "text": "</s>", "logprob": -0.01, "special": True},
            "generated_text": "Hello! How can I help?",
            "details": details,
        },
        TextGenerationStreamEvent,
    )
    assert final.token == StreamToken(id=2, text="</s>", logprob=-0.01, special=True)
    assert final.generated_text == "Hello! How can I help?"
    assert final.details is details


def test_stream_events_tolerate_new_keys_by_default() -> None:
    """TGI's index and top_tokens are ignored by default and reported by the strict converter."""
    data = {"index": 3, "token": {"id": 5, "text": "a"}, "top_tokens": None}
    event = converter.structure(data, TextGenerationStreamEvent)
    assert event == TextGenerationStreamEvent(token=StreamToken(id=5, text="a"))
    assert event.token is not None
    assert event.token.special is False
    assert errors_of(data, TextGenerationStreamEvent, strict) == [
        "extra fields found (index, top_tokens) @ $"
    ]
    assert converter.structure({}, TextGenerationStreamEvent) == TextGenerationStreamEvent()


# -- Media built by code ------------------------------------------------------------------


def test_text_to_image_result_from_the_wire() -> None:
    """The text-to-image response splits and its data URL decodes into a GeneratedImage."""
    png_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    wire = {**ENVELOPE, "images": [png_url], "nsfw_content_detected": [False], "seed": 42}
    split = inference_result(wire)
    assert is_data_url(split.output["images"][0])
    data, content_type = parse_data_url(split.output["images"][0])
    result = TextToImageResult(
        images=[GeneratedImage(data=data, content_type=content_type)],
        nsfw_content_detected=split.output["nsfw_content_detected"],
        seed=split.output["seed"],
        request_id=split.request_id,
        status=split.status,
    )
    assert result.images == [GeneratedImage(data=PNG, content_type="image/png")]
    assert result.nsfw_content_detected == [False]
    assert result.seed == 42
    assert result.status.cost == 0.004639499820768833
    assert result.request_id == "RfMWDr1NXCd7cnaegcm3A8q0"
    assert f"<{len(PNG)} bytes>" in repr(result.images[0])
    assert TextToImageResult(images=[]).status == InferenceStatus()


def test_text_to_speech_result_from_the_wire() -> None:
    """A JSON text-to-speech answer's audio data URL decodes into TextToSpeechResult."""
    wire = {**ENVELOPE, "audio": "data:audio/wav;base64," + base64.b64encode(WAV).decode()}
    split = inference_result(wire)
    audio, content_type = parse_data_url(split.output["audio"])
    result = TextToSpeechResult(
        audio=audio, content_type=content_type, request_id=split.request_id, status=split.status
    )
    assert (result.audio, result.content_type) == (WAV, "audio/wav")
    assert result.status.runtime_ms == 1285
    assert repr(result).startswith(f"TextToSpeechResult(audio=<{len(WAV)} bytes>, ")


def test_speech_recognition_words_flatten_the_segments() -> None:
    """The words property lists every segment's words in order, skipping empty ones."""
    result = structure(NATIVE_EXAMPLES[3][1], SpeechRecognitionResult)
    assert [w.text for w in result.words] == ["Hello", "world."]
    assert result.words[1] == Word(text="world.", start=0.7, end=1.5, confidence=0.91)
    three = [
        Segment(start=0, end=1, text="a", words=[Word(text="a", start=0, end=1)]),
        Segment(start=1, end=2, text="", words=[]),
        Segment(
            start=2,
            end=3,
            text="b c",
            words=[Word(text="b", start=2, end=2.5), Word(text="c", start=2.5, end=3)],
        ),
    ]
    flat = SpeechRecognitionResult(text="a b c", segments=three).words
    assert [w.text for w in flat] == ["a", "b", "c"]
    bare = strict.structure({"text": "hi"}, SpeechRecognitionResult)
    assert (bare.segments, bare.words, bare.language) == ([], [], None)


# -- Data URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("data:image/png;base64," + base64.b64encode(PNG).decode(), (PNG, "image/png")),
        ("DATA:image/jpeg;BASE64,/9j/", (b"\xff\xd8\xff", "image/jpeg")),
        ("data:audio/wav;base64,SGk", (b"Hi", "audio/wav")),
        ("data:audio/wav;base64,SGk%3D", (b"Hi", "audio/wav")),
        ("data:;base64,SGk=", (b"Hi", "text/plain;charset=US-ASCII")),
        ("data:,A%20brief%20note", (b"A brief note", "text/plain;charset=US-ASCII")),
        ("data:,Hello%2C%20World%21", (b"Hello, World!", "text/plain;charset=US-ASCII")),
        ("data:;charset=utf-8,caf%C3%A9", ("café".encode(), "text/plain;charset=utf-8")),
        (
            "data:text/plain;charset=iso-8859-7,%be%fe%be",
            (b"\xbe\xfe\xbe", "text/plain;charset=iso-8859-7"),
        ),
        ("data:application/json,{}", (b"{}", "application/json")),
        ("data:image/png;base64,", (b"", "image/png")),
    ],
)
def test_parse_data_url(url: str, expected: tuple[bytes, str]) -> None:
    """Base64 and percent-encoded payloads decode; the media type keeps its parameters."""
    assert is_data_url(url)
    assert parse_data_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://images.deepinfra.com/x.png", "expected a data URL"),
        ("", "expected a data URL"),
        ("data:image/png;base64", "needs a ',' before its payload"),
        ("data:image/png;base64,iVBO!RW0", "base64 payload of a data URL is invalid"),
        ("data:image/png;base64,A", "base64 payload of a data URL is invalid"),
        ("data:png;base64,AAAA", "must be 'type/subtype', got 'png'"),
    ],
)
def test_parse_data_url_errors(url: str, message: str) -> None:
    """Anything but a well-formed data URL raises ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        parse_data_url(url)


def test_parse_data_url_error_shows_only_the_start_of_a_long_value() -> None:
    """The message quotes the first characters, never a megabyte of payload."""
    url = "data:image/png;base64," + "A" * 1_000_001
    with pytest.raises(ValueError, match="invalid") as info:
        parse_data_url(url)
    assert len(str(info.value)) < 200
    assert "data:image/png;base64,AAAA" in str(info.value)


def test_is_data_url() -> None:
    """Only values with the data: scheme (any case) are data URLs."""
    assert is_data_url("data:,x")
    assert is_data_url("Data:image/png;base64,AA==")
    assert not is_data_url("https://x/data:y")
    assert not is_data_url("dat")
    assert not is_data_url("")


# -- OpenAI-compatible images and audio ---------------------------------------------------


def test_images_response_wire_example_and_decode() -> None:
    """The reference's images response structures, and decode() returns the image bytes."""
    wire = {
        "created": 1731500000,
        "data": [{"b64_json": base64.b64encode(PNG).decode(), "revised_prompt": None, "url": None}],
    }
    for conv in (converter, strict):
        response = structure({**wire, "request_id": "r1"}, ImagesResponse, conv)
        assert response.created == 1731500000
        assert response.request_id == "r1"
        (image,) = response.data
        assert image.decode() == PNG
        assert (image.url, image.revised_prompt) == (None, None)
        assert "base64 characters>" in repr(image)


def test_image_decode_errors() -> None:
    """decode() names the problem: a URL-only image, or b64_json that is not base64."""
    with pytest.raises(ValueError, match=r"no b64_json .*download it from 'https://x/i\.png'"):
        Image(url="https://x/i.png").decode()
    with pytest.raises(ValueError, match=r"response_format='b64_json'\)$"):
        Image().decode()
    with pytest.raises(ValueError, match="not valid base64"):
        Image(b64_json="iVBO!RW0").decode()
    assert errors_of({"data": [{"b64_json": 5}]}, ImagesResponse) == [
        "invalid value for type, expected str | None @ $.data[0].b64_json"
    ]


def test_transcription_verbose_json_example() -> None:
    """The reference's verbose_json transcription structures with segments and words."""
    wire = {
        "task": "transcribe",
        "language": "english",
        "duration": 8.47,
        "text": "Hello there.",
        "segments": [
            {
                "id": 0,
                "seek": 0,
                "start": 0.0,
                "end": 1.2,
                "text": " Hello there.",
                "tokens": [50364, 2425, 456, 13],
                "temperature": 0.0,
                "avg_logprob": -0.3,
                "compression_ratio": 0.8,
                "no_speech_prob": 0.02,
            }
        ],
        "words": [
            {"word": "Hello", "start": 0.0, "end": 0.5},
            {"word": "there.", "start": 0.6, "end": 1},
        ],
    }
    expected = Transcription(
        text="Hello there.",
        task="transcribe",
        language="english",
        duration=8.47,
        segments=[
            TranscriptionSegment(
                id=0,
                seek=0,
                start=0.0,
                end=1.2,
                text=" Hello there.",
                tokens=[50364, 2425, 456, 13],
                temperature=0.0,
                avg_logprob=-0.3,
                compression_ratio=0.8,
                no_speech_prob=0.02,
            )
        ],
        words=[
            TranscriptionWord(word="Hello", start=0.0, end=0.5),
            TranscriptionWord(word="there.", start=0.6, end=1.0),
        ],
        request_id="r2",
    )
    assert structure({**wire, "request_id": "r2"}, Transcription, strict) == expected
    assert structure({"text": "Hi"}, Transcription, strict) == Transcription(text="Hi")
    assert errors_of({"text": "x", "duration": "8s"}, Transcription) == [
        "invalid value for type, expected float | None @ $.duration"
    ]


# -- Round trips --------------------------------------------------------------------------

ints = st.integers(min_value=0, max_value=2**53)
floats = st.floats(allow_nan=False, allow_infinity=False)
text = st.text(max_size=8)


def opt(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


statuses = st.builds(
    InferenceStatus,
    status=st.sampled_from(["unknown", "queued", "running", "succeeded", "failed"]),
    cost=opt(floats),
    runtime_ms=opt(ints),
    tokens_input=opt(ints),
    tokens_generated=opt(ints),
)
text_generation_results = st.builds(
    TextGenerationResult,
    results=st.lists(st.builds(GeneratedText, generated_text=text), max_size=2),
    num_tokens=opt(ints),
    num_input_tokens=opt(ints),
    request_id=opt(text),
    status=statuses,
)
words = st.builds(Word, text=text, start=floats, end=floats, confidence=opt(floats))
speech_results = st.builds(
    SpeechRecognitionResult,
    text=text,
    segments=st.lists(
        st.builds(
            Segment,
            id=opt(ints),
            seek=opt(ints),
            start=floats,
            end=floats,
            text=text,
            tokens=opt(st.lists(ints, max_size=3)),
            temperature=opt(floats),
            avg_logprob=opt(floats),
            compression_ratio=opt(floats),
            no_speech_prob=opt(floats),
            confidence=opt(floats),
            words=opt(st.lists(words, max_size=2)),
        ),
        max_size=2,
    ),
    language=opt(text),
    input_length_ms=opt(ints),
    request_id=opt(text),
    status=statuses,
)
detections = st.builds(
    ObjectDetectionResult,
    results=st.lists(
        st.builds(
            DetectedObject,
            label=text,
            score=floats,
            box=st.builds(BoundingBox, xmin=floats, ymin=floats, xmax=floats, ymax=floats),
        ),
        max_size=2,
    ),
    request_id=opt(text),
    status=statuses,
)
embeddings_results = st.builds(
    EmbeddingsResult,
    embeddings=st.lists(st.lists(floats, max_size=4), max_size=2),
    input_tokens=opt(ints),
    request_id=opt(text),
    status=statuses,
)
transcriptions = st.builds(
    Transcription,
    text=text,
    task=opt(text),
    language=opt(text),
    duration=opt(floats),
    segments=opt(
        st.lists(
            st.builds(
                TranscriptionSegment,
                id=opt(ints),
                seek=opt(ints),
                start=floats,
                end=floats,
                text=text,
                tokens=opt(st.lists(ints, max_size=3)),
                temperature=opt(floats),
                avg_logprob=opt(floats),
                compression_ratio=opt(floats),
                no_speech_prob=opt(floats),
            ),
            max_size=2,
        )
    ),
    words=opt(
        st.lists(st.builds(TranscriptionWord, word=text, start=floats, end=floats), max_size=2)
    ),
    request_id=opt(text),
)
images_responses = st.builds(
    ImagesResponse,
    created=opt(ints),
    data=st.lists(
        st.builds(Image, b64_json=opt(text), url=opt(text), revised_prompt=opt(text)), max_size=2
    ),
    request_id=opt(text),
)


@settings(deadline=None, max_examples=60)
@given(
    st.one_of(
        text_generation_results,
        speech_results,
        detections,
        embeddings_results,
        transcriptions,
        images_responses,
    )
)
def test_round_trip(value: Any) -> None:
    """structure(unstructure(x)) == x through JSON, with the default and strict converters."""
    data = json.loads(json.dumps(converter.unstructure(value)))
    assert converter.structure(data, type(value)) == value
    assert strict.structure(data, type(value)) == value


@settings(deadline=None, max_examples=40)
@given(
    st.builds(
        InferenceResult,
        output=st.dictionaries(
            text.filter(lambda k: k not in ("request_id", "inference_status")),
            st.none() | st.booleans() | ints | text,
            max_size=3,
        ),
        status=statuses,
        request_id=opt(text),
    )
)
def test_inference_result_round_trip(value: InferenceResult) -> None:
    """An InferenceResult unstructures to the flat wire shape that splits back into it."""
    data = json.loads(json.dumps(converter.unstructure(value)))
    assert inference_result(data) == value
    assert converter.structure(data, InferenceResult) == value


# -- Public surface -----------------------------------------------------------------------


def test_native_modules_declare_sorted_all_reexported_with_public_module() -> None:
    """Each new types module has a sorted __all__, re-exported with the public module path."""
    from deepinfra_async.types import audio, images, inference, inference_media, inference_tasks

    assert types.__all__ == sorted(types.__all__)
    for module in (audio, images, inference, inference_media, inference_tasks):
        assert module.__all__ == sorted(module.__all__), module.__name__
        for name in module.__all__:
            value = getattr(module, name)
            assert getattr(types, name) is value, name
            assert name in types.__all__, name
            assert inspect.isclass(value) or inspect.isfunction(value), name
            assert value.__module__ == "deepinfra_async.types", name
    assert repr(TextGenerationResult).startswith(
        "<class 'deepinfra_async.types.TextGenerationResult'"
    )
