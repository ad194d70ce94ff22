"""Endpoint groups: each builds its requests, sends them, and structures the answers."""

from .chat import Chat, ChatCompletionOptions, ChatCompletions, ChatCompletionStream
from .completions import CompletionOptions, Completions
from .embeddings import Embeddings
from .models import Models

__all__ = [
    "Chat",
    "ChatCompletionOptions",
    "ChatCompletionStream",
    "ChatCompletions",
    "CompletionOptions",
    "Completions",
    "Embeddings",
    "Models",
]
