"""Typed results and request messages of the OpenAI-compatible API.

Responses are frozen attrs classes named as in the OpenAI Python SDK; DeepInfra's extras
(``usage.estimated_cost``, ``reasoning_content``, ``service_tier``, ``request_id``) are typed
fields. The native per-model endpoint (``/v1/inference/{model}``) has a result class per
task, each with DeepInfra's ``inference_status`` as ``status``. ``make_converter()`` builds
the cattrs converter that structures them from decoded JSON.
"""

from ._converter import configure_converter, make_converter
from .audio import Transcription, TranscriptionSegment, TranscriptionWord
from .batches import (
    Batch,
    BatchError,
    BatchErrors,
    BatchList,
    BatchRequestCounts,
    FileDeleted,
    FileList,
    FileObject,
)
from .chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    ChatCompletionTokenLogprob,
    ChatMessage,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChoiceLogprobs,
    ChunkChoice,
    ContentPart,
    Function,
    ImageURLPart,
    SystemMessage,
    TextPart,
    ToolMessage,
    TopLogprob,
    UserMessage,
    message_to_dict,
)
from .completions import Completion, CompletionChoice
from .embeddings import (
    CreateEmbeddingResponse,
    Embedding,
    EmbeddingUsage,
    decode_base64_embedding,
)
from .images import Image, ImagesResponse
from .inference import (
    EmbeddingsResult,
    GeneratedText,
    InferenceResult,
    InferenceStatus,
    RerankResult,
    StreamToken,
    TextGenerationResult,
    TextGenerationStreamEvent,
    inference_result,
)
from .inference_media import (
    GeneratedImage,
    Segment,
    SpeechRecognitionResult,
    TextToImageResult,
    TextToSpeechResult,
    Word,
    is_data_url,
    parse_data_url,
)
from .inference_tasks import (
    BoundingBox,
    DetectedObject,
    FillMaskResult,
    ImageClassificationResult,
    LabelScore,
    MaskFill,
    ObjectDetectionResult,
    QuestionAnsweringResult,
    TextClassificationResult,
    TokenClassificationResult,
    TokenEntity,
    ZeroShotImageClassificationResult,
)
from .models import Model, ModelList, ModelMetadata
from .shared import CompletionTokensDetails, PromptTokensDetails, Usage

__all__ = [
    "AssistantMessage",
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchList",
    "BatchRequestCounts",
    "BoundingBox",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "ChatMessage",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "Completion",
    "CompletionChoice",
    "CompletionTokensDetails",
    "ContentPart",
    "CreateEmbeddingResponse",
    "DetectedObject",
    "Embedding",
    "EmbeddingUsage",
    "EmbeddingsResult",
    "FileDeleted",
    "FileList",
    "FileObject",
    "FillMaskResult",
    "Function",
    "GeneratedImage",
    "GeneratedText",
    "Image",
    "ImageClassificationResult",
    "ImageURLPart",
    "ImagesResponse",
    "InferenceResult",
    "InferenceStatus",
    "LabelScore",
    "MaskFill",
    "Model",
    "ModelList",
    "ModelMetadata",
    "ObjectDetectionResult",
    "PromptTokensDetails",
    "QuestionAnsweringResult",
    "RerankResult",
    "Segment",
    "SpeechRecognitionResult",
    "StreamToken",
    "SystemMessage",
    "TextClassificationResult",
    "TextGenerationResult",
    "TextGenerationStreamEvent",
    "TextPart",
    "TextToImageResult",
    "TextToSpeechResult",
    "TokenClassificationResult",
    "TokenEntity",
    "ToolMessage",
    "TopLogprob",
    "Transcription",
    "TranscriptionSegment",
    "TranscriptionWord",
    "Usage",
    "UserMessage",
    "Word",
    "ZeroShotImageClassificationResult",
    "configure_converter",
    "decode_base64_embedding",
    "inference_result",
    "is_data_url",
    "make_converter",
    "message_to_dict",
    "parse_data_url",
]

# Show the public path in reprs and tracebacks. The type aliases (unions) have no module.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__code__")):
        _obj.__module__ = __name__
del _name, _obj
