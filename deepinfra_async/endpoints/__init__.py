"""Endpoint groups: each builds its requests, sends them, and structures the answers."""

from .chat import Chat, ChatCompletionOptions, ChatCompletions, ChatCompletionStream
from .completions import CompletionOptions, Completions
from .embeddings import Embeddings
from .files import Batches, Files
from .inference import Inference
from .media import Audio, Images, Speech, Transcriptions, Translations
from .models import Models

__all__ = [
    "Audio",
    "Batches",
    "Chat",
    "ChatCompletionOptions",
    "ChatCompletionStream",
    "ChatCompletions",
    "CompletionOptions",
    "Completions",
    "Embeddings",
    "Files",
    "Images",
    "Inference",
    "Models",
    "Speech",
    "Transcriptions",
    "Translations",
]
