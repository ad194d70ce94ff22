"""Native inference results of the smaller pipeline tasks.

Classification (text, image, zero-shot image, token), object detection, fill-mask and
question answering. Each is structured from the whole response by the converter, which
reads the ``status`` field from the ``inference_status`` key.
"""

import attrs

from .inference import InferenceStatus

__all__ = [
    "BoundingBox",
    "DetectedObject",
    "FillMaskResult",
    "ImageClassificationResult",
    "LabelScore",
    "MaskFill",
    "ObjectDetectionResult",
    "QuestionAnsweringResult",
    "TextClassificationResult",
    "TokenClassificationResult",
    "TokenEntity",
    "ZeroShotImageClassificationResult",
]

# -- Classification -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LabelScore:
    """A label and how well it fits the input.

    Attributes:
        label: The label, e.g. ``"positive"`` or ``"tabby cat"``.
        score: Its probability, from 0 to 1.

    .. versionadded:: 0.1.0
    """

    label: str
    score: float


@attrs.frozen(kw_only=True)
class TextClassificationResult:
    """The answer of a text classification model (sentiment, topic...).

    Attributes:
        results: The labels with their scores, best first as the server sends them.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    results: list[LabelScore]
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


@attrs.frozen(kw_only=True)
class ImageClassificationResult:
    """The answer of an image classification model.

    Attributes:
        results: The labels with their scores, best first as the server sends them.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    results: list[LabelScore]
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


@attrs.frozen(kw_only=True)
class ZeroShotImageClassificationResult:
    """The answer of a zero-shot image classification model (CLIP).

    Attributes:
        results: The ``candidate_labels`` of the request with their scores.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    results: list[LabelScore]
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


@attrs.frozen(kw_only=True)
class TokenEntity:
    """A named entity found in the input (a run of tokens with one entity type).

    Attributes:
        entity_group: The entity type, e.g. ``"PER"``, ``"ORG"``, ``"LOC"``.
        score: How sure the model is, from 0 to 1.
        word: The entity's text.
        start: Its first character in the input.
        end: The character after its last one.

    .. versionadded:: 0.1.0
    """

    entity_group: str
    score: float
    word: str
    start: int | None = None
    end: int | None = None


@attrs.frozen(kw_only=True)
class TokenClassificationResult:
    """The answer of a token classification (named entity recognition) model.

    Attributes:
        results: The entities, in input order.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    results: list[TokenEntity]
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


# -- Object detection ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BoundingBox:
    """Where an object is in an image, in pixels from the top-left corner.

    Attributes:
        xmin: The left edge.
        ymin: The top edge.
        xmax: The right edge.
        ymax: The bottom edge.

    .. versionadded:: 0.1.0
    """

    xmin: float
    ymin: float
    xmax: float
    ymax: float


@attrs.frozen(kw_only=True)
class DetectedObject:
    """An object found in an image.

    Attributes:
        label: What it is, e.g. ``"cat"``.
        score: How sure the model is, from 0 to 1.
        box: Where it is.

    .. versionadded:: 0.1.0
    """

    label: str
    score: float
    box: BoundingBox


@attrs.frozen(kw_only=True)
class ObjectDetectionResult:
    """The answer of an object detection model.

    Attributes:
        results: The objects found.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    results: list[DetectedObject]
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


# -- Fill-mask and question answering -----------------------------------------------------


@attrs.frozen(kw_only=True)
class MaskFill:
    """A candidate for the ``[MASK]`` token of the input.

    Attributes:
        sequence: The input with the mask filled in.
        score: The candidate's probability, from 0 to 1.
        token: Its token id.
        token_str: Its text.

    .. versionadded:: 0.1.0
    """

    sequence: str
    score: float
    token: int | None = None
    token_str: str


@attrs.frozen(kw_only=True)
class FillMaskResult:
    """The answer of a fill-mask model.

    Attributes:
        results: The candidates, best first as the server sends them.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    results: list[MaskFill]
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)


@attrs.frozen(kw_only=True)
class QuestionAnsweringResult:
    """The answer of an extractive question answering model.

    Attributes:
        answer: The answer, a span of the ``context`` of the request.
        score: How sure the model is, from 0 to 1.
        start: The answer's first character in the context.
        end: The character after its last one.
        request_id: DeepInfra's id for the request, when known.
        status: State, cost and runtime (``inference_status`` on the wire).

    .. versionadded:: 0.1.0
    """

    answer: str
    score: float
    start: int | None = None
    end: int | None = None
    request_id: str | None = None
    status: InferenceStatus = attrs.field(factory=InferenceStatus)
