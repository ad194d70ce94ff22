"""Endpoint groups: each builds its requests, sends them, and structures the answers."""

from .chat import Chat, ChatCompletionOptions, ChatCompletions, ChatCompletionStream
from .completions import CompletionOptions, Completions
from .embeddings import Embeddings
from .inference import Inference
from .media import Audio, Images, Speech, Transcriptions, Translations
from .models import Models

__all__ = [
    "Audio",
    "Chat",
    "ChatCompletionOptions",
    "ChatCompletionStream",
    "ChatCompletions",
    "CompletionOptions",
    "Completions",
    "Embeddings",
    "Images",
    "Inference",
    "Models",
    "Speech",
    "Transcriptions",
    "Translations",
]
