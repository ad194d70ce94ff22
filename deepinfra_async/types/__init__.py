"""Typed results and request messages of the OpenAI-compatible API.

Responses are frozen attrs classes named as in the OpenAI Python SDK; DeepInfra's extras
(``usage.estimated_cost``, ``reasoning_content``, ``service_tier``, ``request_id``) are typed
fields. ``make_converter()`` builds the cattrs converter that structures them from decoded
JSON.
"""

from ._converter import configure_converter, make_converter
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
from .models import Model, ModelList, ModelMetadata
from .shared import CompletionTokensDetails, PromptTokensDetails, Usage

__all__ = [
    "AssistantMessage",
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
    "Embedding",
    "EmbeddingUsage",
    "Function",
    "ImageURLPart",
    "Model",
    "ModelList",
    "ModelMetadata",
    "PromptTokensDetails",
    "SystemMessage",
    "TextPart",
    "ToolMessage",
    "TopLogprob",
    "Usage",
    "UserMessage",
    "configure_converter",
    "decode_base64_embedding",
    "make_converter",
    "message_to_dict",
]

# Show the public path in reprs and tracebacks. The type aliases (unions) have no module.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__code__")):
        _obj.__module__ = __name__
del _name, _obj
