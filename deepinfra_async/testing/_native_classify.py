"""Native embedding, reranking, classification and question-answering tasks.

Every output is deterministic: scores come from BLAKE2b digests of the emulator seed, the
model and the inputs (images by their SHA-256), so equal requests get equal answers.
Classification results are sorted by descending score, as Hugging Face pipelines list them.
Models billed by runtime report a synthetic runtime that grows with the input size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ._catalogue import estimated_cost, unit_cost
from ._embeddings import MAX_INPUTS, embed
from ._media import png_size
from ._native_base import NativeCall, NativeTask, Outcome, fractions, runtime_ms
from ._schema import Field
from ._text import VOCABULARY, count_words
from ._uploads import Upload
from ._wire import problem

__all__ = ["CLASSIFY_TASKS", "IMAGE_LABELS", "MASK"]

#: The mask token of fill-mask models.
MASK: Final = "[MASK]"
#: The labels the image classifier picks from.
IMAGE_LABELS: Final = (
    "tabby cat", "golden retriever", "red fox", "goldfish", "sports car", "mountain bike",
    "espresso", "pizza", "daisy", "lighthouse", "teapot", "umbrella", "violin", "sailboat",
    "snowmobile", "laptop", "backpack", "park bench", "volcano", "coral reef",
)  # fmt: skip
_OBJECTS: Final = ("person", "dog", "cat", "car", "bicycle", "chair", "bottle", "cup", "bird")
_SENTIMENTS: Final = ("positive", "negative", "neutral")
_ENTITIES: Final = ("PER", "ORG", "LOC")
_WORD: Final = re.compile(r"\w[\w'-]*")
_DEFAULT_IMAGE: Final = (640, 480)

Problem = dict[str, Any]


def _softmax(values: Sequence[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = math.fsum(exps)
    return [e / total for e in exps]


def _ranked(labels: Sequence[str], weights: Sequence[float], top: int) -> list[dict[str, Any]]:
    scores = _softmax([4 * w for w in weights])
    ranked = sorted(zip(labels, scores, strict=True), key=lambda pair: -pair[1])[:top]
    return [{"label": label, "score": score} for label, score in ranked]


def _by_runtime(call: NativeCall, output: dict[str, Any], size: float) -> Outcome:
    runtime = runtime_ms(8, 0.05, size)
    return Outcome(output, unit_cost(call.model, runtime / 1000), runtime)


def _image_key(upload: Upload) -> bytes:
    return upload.digest


# -- embeddings and reranking -------------------------------------------------------------


def _embeddings(call: NativeCall) -> Outcome:
    inputs: list[str] = call.body["inputs"]
    dimensions: int | None = call.body.get("dimensions")
    vectors = [embed(call.model, text, dimensions).tolist() for text in inputs]
    tokens = sum(count_words(text) for text in inputs)
    output = {"embeddings": vectors, "input_tokens": tokens}
    return Outcome(output, estimated_cost(call.model, tokens, 0), runtime_ms(5, 0.5, tokens))


def _check_rerank(body: Mapping[str, Any]) -> list[Problem]:
    query, queries = body.get("query"), body.get("queries")
    if query is None and queries is None:
        return [problem(["query"], "Field required", "missing")]
    documents = body.get("documents")
    if isinstance(queries, list) and isinstance(documents, list) and len(queries) != len(documents):
        msg = "queries must hold one query per document"
        return [problem(["queries"], msg, "value_error")]
    return []


def _rerank(call: NativeCall) -> Outcome:
    documents: list[str] = call.body["documents"]
    query = call.body.get("query")
    queries: list[str] = [query] * len(documents) if query is not None else call.body["queries"]
    scores, tokens = [], 0
    for question, document in zip(queries, documents, strict=True):
        asked = {w.lower() for w in _WORD.findall(question)}
        found = {w.lower() for w in _WORD.findall(document)}
        overlap = len(asked & found) / len(asked) if asked else 0.0
        (noise,) = fractions(call.emu.seed, call.model, question, document)
        scores.append(round(0.15 + 0.6 * overlap + 0.249 * noise, 6))
        tokens += count_words(question) + count_words(document)
    output = {"scores": scores, "input_tokens": tokens}
    return Outcome(output, estimated_cost(call.model, tokens, 0), runtime_ms(5, 0.5, tokens))


# -- text classification family -----------------------------------------------------------


def _text_classification(call: NativeCall) -> Outcome:
    text: str = call.body["input"]
    weights = fractions(call.emu.seed, call.model, text, count=len(_SENTIMENTS))
    return _by_runtime(call, {"results": _ranked(_SENTIMENTS, weights, 3)}, len(text))


def _names(text: str) -> list[tuple[int, int]]:
    """Return the spans of runs of capitalised words joined by single spaces."""
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        if not match.group()[0].isupper():
            continue
        start, end = match.span()
        if spans and text[spans[-1][1] : start] == " ":
            start = spans.pop()[0]
        spans.append((start, end))
    return spans


def _token_classification(call: NativeCall) -> Outcome:
    text: str = call.body["input"]
    results = []
    for start, end in _names(text):
        word = text[start:end]
        kind, score = fractions(call.emu.seed, call.model, word, count=2)
        results.append(
            {
                "entity_group": _ENTITIES[int(kind * len(_ENTITIES))],
                "score": round(0.85 + 0.149 * score, 6),
                "word": word,
                "start": start,
                "end": end,
            }
        )
    return _by_runtime(call, {"results": results}, len(text))


def _check_mask(body: Mapping[str, Any]) -> list[Problem]:
    text = body.get("input")
    if isinstance(text, str) and MASK not in text:
        msg = f"The input must contain the mask token {MASK}"
        return [problem(["input"], msg, "value_error")]
    return []


def _fill_mask(call: NativeCall) -> Outcome:
    text: str = call.body["input"]
    weights = fractions(call.emu.seed, call.model, text, count=len(VOCABULARY))
    results = []
    for ranked in _ranked(VOCABULARY, weights, 5):
        word = ranked["label"]
        results.append(
            {
                "sequence": text.replace(MASK, word, 1),
                "score": ranked["score"],
                "token": 1000 + VOCABULARY.index(word),
                "token_str": word,
            }
        )
    return _by_runtime(call, {"results": results}, len(text))


def _question_answering(call: NativeCall) -> Outcome:
    question: str = call.body["question"]
    context: str = call.body["context"]
    spans = [match.span() for match in _WORD.finditer(context)]
    first, width, score = fractions(call.emu.seed, call.model, question, context, count=3)
    if not spans:
        output: dict[str, Any] = {"answer": "", "score": 0.0, "start": 0, "end": 0}
        return _by_runtime(call, output, len(context))
    index = int(first * len(spans))
    last = index + int(width * min(3, len(spans) - index))
    start, end = spans[index][0], spans[last][1]
    output = {
        "answer": context[start:end],
        "score": round(0.3 + 0.69 * score, 6),
        "start": start,
        "end": end,
    }
    return _by_runtime(call, output, len(context) + len(question))


# -- image classification family ----------------------------------------------------------


def _image_classification(call: NativeCall) -> Outcome:
    image: Upload = call.body["image"]
    weights = fractions(call.emu.seed, call.model, _image_key(image), count=len(IMAGE_LABELS))
    return _by_runtime(call, {"results": _ranked(IMAGE_LABELS, weights, 5)}, 200)


def _zero_shot(call: NativeCall) -> Outcome:
    image: Upload = call.body["image"]
    labels: list[str] = call.body["candidate_labels"]
    weights = [
        fractions(call.emu.seed, call.model, _image_key(image), label)[0] for label in labels
    ]
    return _by_runtime(call, {"results": _ranked(labels, weights, len(labels))}, 200)


def _object_detection(call: NativeCall) -> Outcome:
    image: Upload = call.body["image"]
    width, height = png_size(image.head) or _DEFAULT_IMAGE
    values = fractions(call.emu.seed, call.model, _image_key(image), count=19)
    results: list[dict[str, Any]] = []
    for number in range(1 + int(values[0] * 3)):
        kind, score, x, y, w, h = values[1 + 6 * number : 7 + 6 * number]
        xmin, ymin = int(x * width * 0.6), int(y * height * 0.6)
        box = {
            "xmin": xmin,
            "ymin": ymin,
            "xmax": xmin + max(int((0.2 + 0.4 * w) * (width - xmin)), 1),
            "ymax": ymin + max(int((0.2 + 0.4 * h) * (height - ymin)), 1),
        }
        label = _OBJECTS[int(kind * len(_OBJECTS))]
        results.append({"label": label, "score": round(0.5 + 0.49 * score, 6), "box": box})
    results.sort(key=lambda result: -result["score"])
    return _by_runtime(call, {"results": results}, 400)


_IMAGE: Final = Field("image", "file", required=True)

#: Native tasks by name.
CLASSIFY_TASKS: Final[Mapping[str, NativeTask]] = {
    "embeddings": NativeTask(
        (
            Field("inputs", "str_list", required=True, low=1, high=MAX_INPUTS),
            Field("normalize", "bool"),
            Field("dimensions", "int", low=32, high=16384),
            Field("image", "file"),
        ),
        _embeddings,
    ),
    "reranker": NativeTask(
        (
            Field("query", "str"),
            Field("queries", "str_list", low=1),
            Field("documents", "str_list", required=True, low=1, high=MAX_INPUTS),
            Field("instruction", "str"),
        ),
        _rerank,
        check=_check_rerank,
    ),
    "text-classification": NativeTask(
        (Field("input", "str", required=True),), _text_classification
    ),
    "token-classification": NativeTask(
        (Field("input", "str", required=True),), _token_classification
    ),
    "fill-mask": NativeTask((Field("input", "str", required=True),), _fill_mask, _check_mask),
    "question-answering": NativeTask(
        (Field("question", "str", required=True), Field("context", "str", required=True)),
        _question_answering,
    ),
    "image-classification": NativeTask((_IMAGE,), _image_classification),
    "zero-shot-image-classification": NativeTask(
        (_IMAGE, Field("candidate_labels", "str_list", required=True, low=1)), _zero_shot
    ),
    "object-detection": NativeTask((_IMAGE,), _object_detection),
}
